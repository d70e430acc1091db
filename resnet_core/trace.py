"""One forward pass that records every stage of the pipeline and every residual block.

:class:`Tracer` wraps torchvision's ``create_feature_extractor``: a separate graph module that
shares the model's parameters but keeps nothing between calls, so one cached model can serve
every browser session. F(x) is recorded as the output of the branch's last BatchNorm, before the
addition and the final ReLU. A plain twin has no addition, so its final ``ReLU(inplace=True)``
would overwrite the recorded F(x) with the block output: that ReLU runs out of place, in the
traced graph only. (``out += identity`` needs no such care: tracing records it as ``out + identity``.)
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torchvision.models.feature_extraction import create_feature_extractor

from resnet_core.models import count_params, residual_blocks
from resnet_core.stages import BRANCHES, SHORTCUTS, STAGES, Stage

__all__ = [
    "BlockTrace",
    "Prediction",
    "StageTrace",
    "Stats",
    "Trace",
    "Tracer",
    "change_ratio",
    "change_words",
    "explain",
    "seed_shape",
    "shortcut_text",
    "stats_of",
]


@dataclass(frozen=True)
class Stats:
    """Summary of one activation tensor."""

    mean: float
    std: float
    min: float
    max: float
    zeros: float  # fraction of exactly-zero entries (what ReLU switched off)


@dataclass(frozen=True)
class BlockTrace:
    """One residual block: out = ReLU(F(x) + shortcut(x))."""

    name: str  # qualified module name, e.g. "layer1.0"
    kind: str  # "BasicBlock" or "Bottleneck"
    input_shape: tuple[int, ...]  # (C, H, W), no batch dimension
    output_shape: tuple[int, ...]
    params: int
    macs: int  # multiply-accumulates of its convolutions
    shortcut: str  # "identity", "projection" (1x1 conv) or "none" (plain twin)
    shortcut_stride: int
    stats: Stats  # of the block output
    x: Tensor  # what the shortcut carries: the input, or its 1x1 projection (C, H, W)
    fx: Tensor  # the residual branch F(x) before the addition (C, H, W)
    out: Tensor  # ReLU(F(x) + x): the block's output (C, H, W)


@dataclass(frozen=True)
class StageTrace:
    """One of the six stages: shapes, cost, statistics and the activation it produces."""

    stage: Stage
    input_shape: tuple[int, ...]  # no batch dimension, channels first
    output_shape: tuple[int, ...]
    params: int
    macs: int
    stats: Stats
    activation: Tensor  # (C, H, W) for maps, (N,) for vectors
    blocks: tuple[BlockTrace, ...]  # the residual blocks the stage covers (may be empty)


@dataclass(frozen=True)
class Prediction:
    """One class and its softmax probability."""

    index: int
    label: str
    prob: float


@dataclass(frozen=True)
class Trace:
    """Everything one image's trip through the network recorded."""

    stages: tuple[StageTrace, ...]
    logits: Tensor  # (num_classes,)
    top_k: tuple[Prediction, ...]

    def stage(self, key: str) -> StageTrace:
        """The stage called ``key``."""
        return next(s for s in self.stages if s.stage.key == key)


def stats_of(t: Tensor) -> Stats:
    """Mean, std, min, max and fraction of zeros of ``t``.

    Four fast reductions (``std_mean`` is several times slower on the CPU): the standard deviation
    comes from the root mean square, std² = rms² - mean².
    """
    t = t.detach()
    count = t.numel()
    mean = t.mean().item()
    rms = torch.linalg.vector_norm(t).item() / math.sqrt(count)
    low, high = torch.aminmax(t)
    zeros = 1 - torch.count_nonzero(t).item() / count
    return Stats(mean, math.sqrt(max(rms * rms - mean * mean, 0.0)), low.item(), high.item(), zeros)


def seed_shape(shape: Sequence[int]) -> str:
    """The lesson's notation: (C, H, W) -> "224 × 224 × 3"; (N,) -> "256"."""
    if len(shape) == 3:
        channels, height, width = shape
        return f"{height} × {width} × {channels}"
    return " × ".join(str(d) for d in shape)


def shortcut_text(block: BlockTrace) -> str:
    """How x reaches the addition: "identity shortcut" or "1×1 projection shortcut, stride 2"."""
    if block.shortcut == "projection":
        return f"1×1 projection shortcut, stride {block.shortcut_stride}"
    return f"{block.shortcut} shortcut" if block.shortcut != "none" else "no shortcut (plain)"


SMALL_CHANGE = 0.5  # |F(x)| / |x| below this: a small correction


def change_ratio(block: BlockTrace) -> float:
    """|F(x)| / |x| (L2 norms over the whole block): how large the correction is next to what it is added to."""
    return float(torch.linalg.vector_norm(block.fx) / torch.linalg.vector_norm(block.x).clamp_min(1e-12))


def change_words(ratio: float) -> str:
    """What a measured |F(x)| / |x| means, in words: the rule the skip panel's caption follows."""
    if ratio < SMALL_CHANGE:
        return "a small correction: the block mostly passes its input on"
    if ratio < 1:
        return "a large correction, though still smaller than the input it is added to"
    if ratio == 1:  # the page rounds to whole percent first: "100 %" is as large, not larger
        return "F(x) is as large as x: a correction the size of the input itself"
    return "F(x) outweighs x: the block rewrites its input more than it corrects it"


def explain(stage: StageTrace) -> str:
    """The stage's paragraph with {branch} and {shortcut} filled from its first traced block."""
    if not stage.blocks:
        return stage.stage.explain
    block = stage.blocks[0]
    return stage.stage.explain.format(branch=BRANCHES.get(block.kind, block.kind),
                                      shortcut=SHORTCUTS.get(block.shortcut, block.shortcut))


SELECTORS: dict[str, Callable[[nn.Module, list[str]], tuple[str, ...]]] = {
    "input": lambda model, blocks: (),
    "stem": lambda model, blocks: ("conv1", "bn1", "relu", "maxpool"),
    "first_block": lambda model, blocks: tuple(blocks[:1]),
    "other_blocks": lambda model, blocks: tuple(blocks[1:]),
    "pool": lambda model, blocks: ("avgpool",),
    "classifier": lambda model, blocks: ("fc",),
}


class Tracer:
    """Records a ResNet's stages and blocks in one forward pass; holds no per-call state."""

    def __init__(self, model: nn.Module, categories: Sequence[str], input_size: int = 224) -> None:
        self.model = model.eval()
        self.categories = tuple(categories)
        self.modules = dict(model.named_modules())
        self.params = {name: count_params(m) for name, m in self.modules.items()}
        self.blocks = [name for name, _ in residual_blocks(model)]
        self.stage_modules = {s.key: SELECTORS[s.selects](model, self.blocks) for s in STAGES}
        self.block_inputs = _block_input_nodes(self.blocks)
        nodes = [names[-1] for names in self.stage_modules.values() if names]
        for name in self.blocks:
            block = self.modules[name]
            nodes += [name, self.block_inputs[name], f"{name}.{_branch_tail(block)}"]
            if getattr(block, "downsample", None) is not None:
                nodes.append(f"{name}.downsample")
        self.extractor = _no_inplace_relu_on_recorded(
            create_feature_extractor(model, return_nodes={n: n for n in dict.fromkeys(nodes)})
        )
        costed = [n for n, m in self.modules.items() if isinstance(m, (nn.Conv2d, nn.Linear))]
        # A shape-only twin on the "meta" device: costing it never touches the shared model.
        shapes_only = copy.deepcopy(model).to("meta")
        self.cost_extractor = create_feature_extractor(shapes_only, return_nodes={n: n for n in costed})
        self.input_size = input_size
        self.macs_at_input_size = self._macs((1, 3, input_size, input_size))

    def _macs(self, shape: tuple[int, ...]) -> dict[str, int]:
        """Multiply-accumulates of every conv and linear layer for one image of ``shape``.

        Runs the graph on shape-only "meta" tensors: no arithmetic, only shapes.
        """
        with torch.inference_mode():
            outputs = self.cost_extractor(torch.empty(shape, device="meta"))
        return {name: _layer_macs(self.modules[name], out[0]) for name, out in outputs.items()}

    @torch.inference_mode()
    def __call__(self, x: Tensor, top_k: int = 5) -> Trace:
        """Trace a batch of one image ``x`` of shape (1, 3, H, W)."""
        if x.dim() != 4 or x.shape[0] != 1:
            raise ValueError(f"expected one image of shape (1, 3, H, W), got {tuple(x.shape)}")
        out = {name: t[0] for name, t in self.extractor(x).items()}  # drop the batch dimension
        same_size = x.shape[-2:] == (self.input_size, self.input_size)
        macs = self.macs_at_input_size if same_size else self._macs(tuple(x.shape))
        blocks = {name: self._block(name, out, macs) for name in self.blocks}
        stages = []
        previous = x[0]
        for stage in STAGES:
            names = self.stage_modules[stage.key]
            activation = out[names[-1]] if names else previous
            stages.append(
                StageTrace(
                    stage=stage,
                    input_shape=self._input_shape(names, previous),
                    output_shape=tuple(activation.shape),
                    params=sum(self.params[n] for n in names),
                    macs=sum(v for k, v in macs.items() if _covered(k, names)),
                    stats=stats_of(activation),
                    activation=activation,
                    blocks=tuple(blocks[n] for n in names if n in blocks),
                )
            )
            previous = activation
        logits = previous
        return Trace(tuple(stages), logits, self._top_k(logits, top_k))

    def _input_shape(self, names: tuple[str, ...], previous: Tensor) -> tuple[int, ...]:
        """What the stage's first module receives: a linear layer sees the flattened vector."""
        first = self.modules.get(names[0]) if names else None
        if isinstance(first, nn.Linear):
            return (first.in_features,)
        return tuple(previous.shape)

    def _block(self, name: str, out: dict[str, Tensor], macs: dict[str, int]) -> BlockTrace:
        block = self.modules[name]
        x_in = out[self.block_inputs[name]]
        has_projection = getattr(block, "downsample", None) is not None
        skip = getattr(block, "skip", True)
        shortcut = "projection" if has_projection else ("identity" if skip else "none")
        return BlockTrace(
            name=name,
            kind=type(block).__name__,
            input_shape=tuple(x_in.shape),
            output_shape=tuple(out[name].shape),
            params=self.params[name],
            macs=sum(v for k, v in macs.items() if _covered(k, (name,))),
            shortcut=shortcut,
            shortcut_stride=block.downsample[0].stride[0] if has_projection else 1,
            stats=stats_of(out[name]),
            x=out[f"{name}.downsample"] if has_projection else x_in,
            fx=out[f"{name}.{_branch_tail(block)}"],
            out=out[name],
        )

    def _top_k(self, logits: Tensor, k: int) -> tuple[Prediction, ...]:
        probs = torch.softmax(logits, dim=0)
        values, indices = torch.topk(probs, min(k, probs.numel()))
        return tuple(
            Prediction(i, self._label(i), p) for p, i in zip(values.tolist(), indices.tolist(), strict=True)
        )

    def _label(self, index: int) -> str:
        return self.categories[index] if index < len(self.categories) else f"class {index}"


def _branch_tail(block: nn.Module) -> str:
    """The last module of the residual branch F(x): bn3 in a bottleneck, bn2 in a basic block."""
    return "bn3" if hasattr(block, "bn3") else "bn2"


def _block_input_nodes(blocks: list[str]) -> dict[str, str]:
    """For each block, the node that feeds it: the stem's output, then each previous block's.

    Every model here is a torchvision-style ResNet whose blocks run one after another.
    """
    inputs = {}
    previous = "maxpool"
    for name in blocks:
        inputs[name] = previous
        previous = name
    return inputs


def _covered(node: str, names: Sequence[str]) -> bool:
    return any(node == n or node.startswith(n + ".") for n in names)


def _layer_macs(module: nn.Module, output: Tensor) -> int:
    """Multiply-accumulates of one conv or linear layer for one image, from its output shape."""
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return output.numel() * (module.in_channels // module.groups) * kh * kw
    return module.in_features * module.out_features


def _no_inplace_relu_on_recorded(graph_module: torch.fx.GraphModule) -> torch.fx.GraphModule:
    """Run an in-place ReLU out of place when its input is a recorded tensor, in the traced graph only.

    In a plain twin the final ReLU takes the last BatchNorm's output, the recorded F(x); in place it
    would turn F(x) into the block output. The shared model keeps its in-place ReLUs.
    """
    graph = graph_module.graph
    output = next(node for node in graph.nodes if node.op == "output")
    recorded = set(output.args[0].values())
    for node in list(graph.nodes):
        if node.op != "call_module" or node.args[0] not in recorded:
            continue
        module = graph_module.get_submodule(node.target)
        if isinstance(module, nn.ReLU) and module.inplace:
            with graph.inserting_after(node):
                out_of_place = graph.call_function(torch.relu, node.args)
            node.replace_all_uses_with(out_of_place)
            graph.erase_node(node)
    graph_module.recompile()
    return graph_module
