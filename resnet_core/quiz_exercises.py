"""Hands-on exercises that run real PyTorch: the shape-mismatch lab and "predict the output".

Both take numbers and choices only (never code a learner typed) and return frozen dataclasses of
values. The lab builds a residual block from a ``BlockSpec``, pushes a tensor through it one op at
a time and records each shape, or the exact text of the exception PyTorch raises at the add.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
from torch import Tensor, nn

from resnet_core.models import BasicBlock, count_params

__all__ = [
    "LAB_STEPS",
    "SHORTCUTS",
    "BlockSpec",
    "LabResult",
    "LabStep",
    "Prediction",
    "SimpleResBlock",
    "block_shortcut_params",
    "explain_simple_res_block",
    "predict_output",
    "run_block",
    "simple_res_block_code",
]

# Shortcut choices of the lab, with what each one does to x before the add.
SHORTCUTS: dict[str, str] = {
    "identity": "x unchanged (no parameters)",
    "projection": "1×1 conv with stride, then BatchNorm",
    "none": "no shortcut: a plain block, nothing is added",
}
LAB_STEPS: tuple[str, ...] = ("input", "conv1", "bn1 + relu", "conv2 + bn2", "shortcut", "add", "output")
_DIM_NAMES: dict[int, str] = {0: "batch", 1: "channels", 2: "height", 3: "width"}


@dataclass(frozen=True)
class BlockSpec:
    """One residual block of the lab: what the learner picks with widgets."""

    in_channels: int = 64  # channels of the input x
    size: int = 32  # height = width of the input x
    out_channels: int = 128  # channels after conv1 and conv2
    stride: int = 2  # stride of conv1 (and of the projection shortcut)
    shortcut: str = "identity"  # one of SHORTCUTS

    def validate(self) -> None:
        """Raise ValueError naming the first field that is out of range."""
        for name in ("in_channels", "size", "out_channels"):
            if not 1 <= getattr(self, name) <= 1024:
                raise ValueError(f"{name} must be between 1 and 1024, got {getattr(self, name)}")
        if self.stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {self.stride}")
        if self.shortcut not in SHORTCUTS:
            raise ValueError(f"shortcut must be one of {', '.join(SHORTCUTS)}, got {self.shortcut!r}")


@dataclass(frozen=True)
class LabStep:
    """One op of the block and the shape it produced (None: not reached or not in this block)."""

    name: str
    op: str
    shape: tuple[int, ...] | None


@dataclass(frozen=True)
class LabResult:
    """What running a ``BlockSpec`` gave: per-step shapes, or PyTorch's error and how to fix it."""

    spec: BlockSpec
    steps: tuple[LabStep, ...]
    error: str | None = None  # PyTorch's exception text, verbatim
    broken: tuple[str, ...] = ()  # dimensions that differ at the add: "channels", "height", "width"
    explanation: tuple[tuple[str, str], ...] = ()  # (heading, text) pairs, in reading order
    fix: BlockSpec | None = None  # a spec that runs (verified by running it)

    @property
    def ok(self) -> bool:
        """True when the block ran to the end."""
        return self.error is None

    def shape(self, name: str) -> tuple[int, ...] | None:
        """Shape recorded at step ``name``."""
        return next(step.shape for step in self.steps if step.name == name)


class _LabBlock(nn.Module):
    """A BasicBlock whose shortcut is whatever the learner picked, even when it cannot work."""

    def __init__(self, spec: BlockSpec) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(spec.in_channels, spec.out_channels, 3, stride=spec.stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(spec.out_channels)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(spec.out_channels, spec.out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(spec.out_channels)
        self.downsample: nn.Module | None = None
        if spec.shortcut == "projection":
            self.downsample = nn.Sequential(
                nn.Conv2d(spec.in_channels, spec.out_channels, 1, stride=spec.stride, bias=False),
                nn.BatchNorm2d(spec.out_channels),
            )


def _ops(spec: BlockSpec) -> dict[str, str]:
    """What each step does, in words with this spec's numbers."""
    shortcut = {
        "identity": "identity: x as it is",
        "projection": f"1×1 conv {spec.in_channels}→{spec.out_channels}, stride {spec.stride} + BN",
        "none": "none (plain block)",
    }[spec.shortcut]
    return {
        "input": "x",
        "conv1": f"3×3 conv {spec.in_channels}→{spec.out_channels}, stride {spec.stride}, padding 1",
        "bn1 + relu": "BatchNorm, ReLU",
        "conv2 + bn2": f"3×3 conv {spec.out_channels}→{spec.out_channels}, padding 1, BatchNorm",
        "shortcut": shortcut,
        "add": "out + shortcut" if spec.shortcut != "none" else "nothing to add",
        "output": "ReLU (after the add)",
    }


def run_block(spec: BlockSpec) -> LabResult:
    """Build the block of ``spec``, run a (1, C, H, W) tensor through it, record every shape."""
    spec.validate()
    shapes: dict[str, tuple[int, ...] | None] = dict.fromkeys(LAB_STEPS)
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(0)
        block = _LabBlock(spec).eval()
        x = torch.randn(1, spec.in_channels, spec.size, spec.size)  # (N, C, H, W)
        shapes["input"] = tuple(x.shape)
        out = block.conv1(x)
        shapes["conv1"] = tuple(out.shape)
        out = block.relu(block.bn1(out))
        shapes["bn1 + relu"] = tuple(out.shape)
        out = block.bn2(block.conv2(out))
        shapes["conv2 + bn2"] = tuple(out.shape)
        if spec.shortcut != "none":
            identity = block.downsample(x) if block.downsample is not None else x
            shapes["shortcut"] = tuple(identity.shape)
            try:
                out = out + identity
            except RuntimeError as exc:
                return _failed(spec, shapes, str(exc))
            shapes["add"] = tuple(out.shape)
        shapes["output"] = tuple(block.relu(out).shape)
    return LabResult(spec, _steps(spec, shapes), explanation=_ok_explanation(spec, shapes))


def _steps(spec: BlockSpec, shapes: dict[str, tuple[int, ...] | None]) -> tuple[LabStep, ...]:
    ops = _ops(spec)
    return tuple(LabStep(name, ops[name], shapes[name]) for name in LAB_STEPS)


def _failed(spec: BlockSpec, shapes: dict[str, tuple[int, ...] | None], error: str) -> LabResult:
    """The add raised: name the dimensions that differ and find a spec that runs."""
    main, side = shapes["conv2 + bn2"] or (), shapes["shortcut"] or ()
    dims = [d for d in range(len(main)) if main[d] != side[d]]
    broken = tuple(_DIM_NAMES[d] for d in dims)
    clashes = _join([f"{_DIM_NAMES[d]} ({main[d]} on the main path, {side[d]} on the shortcut)" for d in dims])
    # The suggested fix is checked by running it, not just asserted in prose.
    fix: BlockSpec | None = replace(spec, shortcut="projection")
    if not run_block(fix).ok:
        fix = None
    why = []
    if "channels" in broken:
        why.append(f"conv1 (the first 3×3 conv) turns {spec.in_channels} channels into {spec.out_channels}")
    if "height" in broken:
        why.append(f"stride {spec.stride} shrinks {spec.size}×{spec.size} to {main[2]}×{main[3]}")
    explanation = (
        ("What broke", f"{clashes} differ between the two tensors being added."),
        (
            "Why",
            f"{_upper_first(_join(why))}, so the main path ends with {main}; the identity shortcut still "
            f"carries x unchanged, {side}. Tensors can only be added element by element when every "
            "dimension matches.",
        ),
        ("Reading the message", _reading(dims)),
        (
            "Fix",
            f"Use a 1×1 projection shortcut: a 1×1 conv {spec.in_channels}→{spec.out_channels} with "
            f"stride {spec.stride} turns x into {main} too.",
        ),
    )
    return LabResult(spec, _steps(spec, shapes), error=error, broken=broken, explanation=explanation, fix=fix)


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def _reading(dims: list[int]) -> str:
    """How to read PyTorch's message: which dimension it names, and why only one."""
    text = "Shapes are (batch, channels, height, width): dimension 1 is channels, 2 and 3 are height and width."
    if len(dims) < 2:
        return text
    return (
        f"{text} PyTorch names only dimension {dims[-1]}: it compares shapes from the last dimension "
        "backwards and stops at the first clash."
    )


def _ok_explanation(spec: BlockSpec, shapes: dict[str, tuple[int, ...] | None]) -> tuple[tuple[str, str], ...]:
    if spec.shortcut == "none":
        return (
            (
                "Runs, but no skip connection",
                f"This is a plain block: nothing is added, so the output {shapes['output']} comes from the "
                "two convolutions alone. Deep stacks of blocks without skip connections are hard to train.",
            ),
        )
    if spec.shortcut == "projection":
        return (
            (
                "It works",
                f"The 1×1 projection turns x {shapes['input']} into {shapes['shortcut']}, the same shape as "
                "the main path, so the add works. It costs parameters, so ResNets use it only where the "
                "shape changes.",
            ),
        )
    return (
        (
            "It works",
            f"Both paths have shape {shapes['add']}, so the identity shortcut adds x unchanged: "
            "a skip connection with no parameters at all.",
        ),
    )


def block_shortcut_params(in_channels: int, out_channels: int, stride: int) -> int:
    """Parameters in the shortcut of the app's BasicBlock: 0 for identity, 1×1 conv + BN for projection."""
    block = BasicBlock(in_channels, out_channels, stride)
    return count_params(block.downsample) if block.downsample is not None else 0


# --- "Predict the output": the seed's SimpleResBlock (practice question 3) ---------------------------

_CODE = """import torch
import torch.nn as nn

class SimpleResBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, kernel_size=3, padding=1)
        self.relu = nn.ReLU()
        self.conv.weight.data.fill_({weight})
        self.conv.bias.data.fill_({bias})

    def forward(self, x):
        out = self.conv(x)
        out = self.relu(out)
        out = out + x
        return out

block = SimpleResBlock()
input_tensor = {input_expr}
output = block(input_tensor)
print(output[0,0,0,0].item())"""


class SimpleResBlock(nn.Module):
    """The seed's block: one 3x3 conv (padding 1), ReLU, then ``out + x``; weights and bias filled."""

    def __init__(self, weight: float = 0.0, bias: float = 1.0, in_channels: int = 3, out_channels: int = 3) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
        self.relu = nn.ReLU()
        self.conv.weight.data.fill_(weight)
        self.conv.bias.data.fill_(bias)

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv(x)
        out = self.relu(out)
        out = out + x
        return out


@dataclass(frozen=True)
class Prediction:
    """The value the seed's code prints, as a float and exactly as ``print`` writes it."""

    weight: float
    bias: float
    input_value: float
    value: float
    printed: str

    def matches(self, guess: float, tolerance: float = 1e-3) -> bool:
        """True when a learner's number is the printed value (up to ``tolerance``)."""
        return math.isclose(guess, self.value, abs_tol=tolerance)


def _fmt(number: float) -> str:
    return repr(float(number))


def simple_res_block_code(weight: float = 0.0, bias: float = 1.0, input_value: float = 1.0) -> str:
    """The seed's code with these fill values written in (what the page shows)."""
    input_expr = "torch.ones(1, 3, 5, 5)" if input_value == 1.0 else f"torch.full((1, 3, 5, 5), {_fmt(input_value)})"
    return _CODE.format(weight=_fmt(weight), bias=_fmt(bias), input_expr=input_expr)


def predict_output(weight: float = 0.0, bias: float = 1.0, input_value: float = 1.0) -> Prediction:
    """Run the seed's SimpleResBlock with these fills and return what its ``print`` shows."""
    with torch.no_grad():
        block = SimpleResBlock(weight, bias)
        input_tensor = torch.full((1, 3, 5, 5), float(input_value))  # (N, C, H, W)
        output = block(input_tensor)
    value = output[0, 0, 0, 0].item()
    return Prediction(float(weight), float(bias), float(input_value), value, repr(value))


def explain_simple_res_block(weight: float = 0.0, bias: float = 1.0, input_value: float = 1.0) -> tuple[str, ...]:
    """Step-by-step reasoning for pixel [0, 0, 0, 0], worked out by hand (the tests compare it with torch)."""
    # Corner pixel: padding 1 puts 5 of the 9 kernel taps on zeros, so 2x2 taps x 3 channels = 12 inputs.
    conv = bias + 12 * weight * input_value
    relu = max(conv, 0.0)
    w, b, v = _fmt(weight), _fmt(bias), _fmt(input_value)
    if weight == 0:
        conv_step = (
            "The weights are all 0, so every product in the convolution is 0 and it outputs exactly "
            f"its bias: {b} everywhere (padding does not matter when the weights are 0)."
        )
    else:
        conv_step = (
            "Pixel [0, 0, 0, 0] is a corner. With padding 1, only 2×2 of the 3×3 kernel taps land on "
            f"the image, for each of the 3 input channels: 12 inputs of {v}, each times the weight {w}. "
            f"Conv = bias + 12 × weight × input = {b} + 12 × {w} × {v} = {_fmt(conv)}."
        )
    relu_step = (
        f"ReLU keeps {_fmt(conv)} (it is not negative)."
        if conv >= 0
        else f"ReLU turns {_fmt(conv)} into 0.0 (it is negative)."
    )
    add_step = f"The skip connection adds x = {v}: {_fmt(relu)} + {v} = {_fmt(relu + input_value)}."
    return conv_step, relu_step, add_step
