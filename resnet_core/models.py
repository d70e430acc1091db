"""Model builders: the seed's pipeline model, torchvision's ResNets and the CIFAR ResNet of He et al.

Reads small to large, like torchvision's ``models/resnet.py``: conv helpers, the two block types
(each with a ``skip`` switch so a *plain twin* can be built), the network, then builders over a
table. Block attribute names (``conv1``, ``bn1``, ``downsample`` ...) match torchvision's, so the
tracer treats both families alike.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from resnet_core.errors import UserError

__all__ = [
    "CIFAR_DEPTHS",
    "MODEL_NAMES",
    "SHORTCUTS",
    "TORCHVISION_MODELS",
    "BasicBlock",
    "Bottleneck",
    "CifarResNetConfig",
    "PaddedIdentity",
    "ResNet",
    "build_model",
    "check_cifar_depth",
    "cifar_resnet",
    "count_params",
    "init_weights",
    "is_residual_block",
    "residual_blocks",
    "seed_resnet",
]


CIFAR_DEPTHS: tuple[int, ...] = (8, 14, 20, 32, 44, 56, 110)  # 6n+2; He et al. 2016 Table 6 uses 20 to 110
# He et al. 2016, sec. 3.3: where a shortcut changes shape, (A) pads the identity with zeros (no
# parameters) or (B) projects it with a 1x1 conv. Their CIFAR nets (sec. 4.2) use A throughout.
SHORTCUTS: tuple[str, ...] = ("A", "B")


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """3x3 convolution with padding (no bias: BatchNorm follows)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution: the projection shortcut and the bottleneck's channel mixer."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


def _norm(channels: int, batch_norm: bool) -> nn.Module:
    """BatchNorm2d, or Identity when BatchNorm is switched off (the vanishing-gradient demo)."""
    return nn.BatchNorm2d(channels) if batch_norm else nn.Identity()


class PaddedIdentity(nn.Module):
    """Option A shortcut (He et al. 2016, sec. 3.3): the identity, subsampled by ``stride``, its new
    channels zeros. No parameters, so a ResNet with it has exactly its plain twin's parameters."""

    def __init__(self, in_planes: int, out_planes: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.extra = out_planes - in_planes

    def forward(self, x: Tensor) -> Tensor:
        x = x[:, :, :: self.stride, :: self.stride]  # (B, C, H, W) -> (B, C, H/s, W/s)
        return F.pad(x, (0, 0, 0, 0, 0, self.extra))  # (B, C, H/s, W/s) -> (B, C + extra, H/s, W/s)


def _shortcut(
    in_planes: int, out_planes: int, stride: int, batch_norm: bool, option: str = "B"
) -> nn.Module | None:
    """Where the shape changes, option A (zero padding) or B (projection: 1x1 conv + BN); else None (identity)."""
    if stride == 1 and in_planes == out_planes:
        return None
    if option == "A":
        return PaddedIdentity(in_planes, out_planes, stride)
    return nn.Sequential(conv1x1(in_planes, out_planes, stride), _norm(out_planes, batch_norm))


class BasicBlock(nn.Module):
    """Two 3x3 convolutions; with ``skip`` the input is added back before the last ReLU."""

    expansion = 1

    def __init__(
        self,
        in_planes: int,
        planes: int,
        stride: int = 1,
        skip: bool = True,
        batch_norm: bool = True,
        shortcut: str = "B",
    ) -> None:
        super().__init__()
        self.skip = skip
        self.conv1 = conv3x3(in_planes, planes, stride)
        self.bn1 = _norm(planes, batch_norm)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = _norm(planes, batch_norm)
        # A plain twin has no shortcut at all, so it also has no projection parameters.
        self.downsample = _shortcut(in_planes, planes, stride, batch_norm, shortcut) if skip else None
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x

        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)

        out = self.conv2(out)
        out = self.bn2(out)

        if self.skip:
            if self.downsample is not None:
                identity = self.downsample(x)
            out = out + identity
        out = self.relu(out)

        return out


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3, 1x1 expand (x4); with ``skip`` the input is added back before the last ReLU."""

    expansion = 4

    def __init__(
        self,
        in_planes: int,
        planes: int,
        stride: int = 1,
        skip: bool = True,
        batch_norm: bool = True,
        shortcut: str = "B",
    ) -> None:
        super().__init__()
        out_planes = planes * self.expansion
        self.skip = skip
        self.conv1 = conv1x1(in_planes, planes)
        self.bn1 = _norm(planes, batch_norm)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = _norm(planes, batch_norm)
        self.conv3 = conv1x1(planes, out_planes)
        self.bn3 = _norm(out_planes, batch_norm)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _shortcut(in_planes, out_planes, stride, batch_norm, shortcut) if skip else None
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x

        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)

        out = self.conv2(out)
        out = self.bn2(out)
        out = self.relu(out)

        out = self.conv3(out)
        out = self.bn3(out)

        if self.skip:
            if self.downsample is not None:
                identity = self.downsample(x)
            out = out + identity
        out = self.relu(out)

        return out


class ResNet(nn.Module):
    """Stem, residual stages, global average pool, fully connected layer.

    ``stem="imagenet"`` is the 7x7 stride-2 conv + 3x3 stride-2 max-pool of the ImageNet ResNets;
    ``stem="cifar"`` is the single 3x3 conv of He et al. 2016, section 4.2 (no pooling).
    Each stage is a list of ``(block_type, planes, stride)``; ``shortcut`` ("A" or "B") is what
    the blocks do where the shape changes.
    """

    def __init__(
        self,
        stages: list[list[tuple[type[nn.Module], int, int]]],
        num_classes: int,
        stem: str = "imagenet",
        stem_width: int = 64,
        skip: bool = True,
        batch_norm: bool = True,
        shortcut: str = "B",
    ) -> None:
        super().__init__()
        self.skip = skip
        if stem == "imagenet":
            self.conv1 = nn.Conv2d(3, stem_width, kernel_size=7, stride=2, padding=3, bias=False)
            self.maxpool: nn.Module = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        else:
            self.conv1 = conv3x3(3, stem_width)
            self.maxpool = nn.Identity()
        self.bn1 = _norm(stem_width, batch_norm)
        self.relu = nn.ReLU(inplace=True)
        in_planes = stem_width
        for index, stage in enumerate(stages, start=1):
            blocks = []
            for block_type, planes, stride in stage:
                blocks.append(block_type(in_planes, planes, stride, skip, batch_norm, shortcut))
                in_planes = planes * block_type.expansion
            self.add_module(f"layer{index}", nn.Sequential(*blocks))
        self.num_stages = len(stages)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(in_planes, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv1(x)
        x = self.bn1(x)
        x = self.relu(x)
        x = self.maxpool(x)
        for index in range(1, self.num_stages + 1):
            x = getattr(self, f"layer{index}")(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)  # (B, C, 1, 1) -> (B, C)
        x = self.fc(x)
        return x


def seed_resnet(num_classes: int = 1000, skip: bool = True, batch_norm: bool = True) -> ResNet:
    """The seed lesson's Data Flow at 224x224: 56x56x64 -> residual block -> ... -> 56x56x256 -> 1000.

    Stage 3 is one basic block (two 3x3 convs + identity add, 64 -> 64). Stage 4 stacks two
    bottleneck blocks, as in ResNet-50's first stage: the first widens 64 -> 256 through a 1x1
    projection shortcut, the second keeps 256 with an identity shortcut.
    """
    layer1 = [(BasicBlock, 64, 1), (Bottleneck, 64, 1), (Bottleneck, 64, 1)]
    return ResNet([layer1], num_classes, stem="imagenet", skip=skip, batch_norm=batch_norm)



def init_weights(model: nn.Module, generator: torch.Generator | None = None) -> nn.Module:
    """torchvision's ResNet initialisation, drawn from ``generator`` (torch's global one when None).

    Convs: Kaiming normal, fan-out (He et al. 2015); BatchNorm: weight 1, bias 0; Linear: PyTorch's
    default (Kaiming uniform with a = sqrt(5), bias uniform in +-1/sqrt(fan_in)). A generator that
    belongs to the caller makes the weights independent of whatever other threads draw meanwhile.
    """
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu", generator=generator)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
                bound = 1 / math.sqrt(m.in_features)
                nn.init.uniform_(m.bias, -bound, bound, generator=generator)
    return model


def check_cifar_depth(depth: int, label: str = "depth") -> None:
    """Raise a UserError naming ``label`` unless ``depth`` is 6n+2 with n >= 1."""
    if depth < 8 or (depth - 2) % 6 != 0:
        usual = ", ".join(str(d) for d in CIFAR_DEPTHS)
        raise UserError(f"{label} must be 6n+2 ({usual}, ...), got {depth}")


@dataclass(frozen=True)
class CifarResNetConfig:
    """The CIFAR ResNet of He et al. 2016, section 4.2: depth 6n+2, stages of 16/32/64 channels.

    With option A shortcuts (the paper's) a ResNet and its plain twin have the same parameters:
    269,722 for ResNet-20 at width 1 and 10 classes, as in the paper's Table 6 (0.27M).
    """

    depth: int = 20  # 6n+2 (CIFAR_DEPTHS)
    num_classes: int = 10  # classes of the dataset
    skip: bool = True  # False builds the plain twin: same layers, no shortcuts
    batch_norm: bool = True  # False removes every BatchNorm (vanishing-gradient demo)
    width: float = 1.0  # multiplier on 16/32/64 channels
    shortcut: str = "A"  # where channels double: "A" zero-pads the identity (paper), "B" projects (1x1 conv)


def cifar_resnet(config: CifarResNetConfig) -> ResNet:
    """Build the CIFAR ResNet (or its plain twin) described by ``config``."""
    check_cifar_depth(config.depth)
    if not config.width > 0:
        raise UserError(f"width must be positive, got {config.width}")
    if config.shortcut not in SHORTCUTS:
        raise UserError(f"shortcut must be A or B, got {config.shortcut!r}")
    n = (config.depth - 2) // 6
    widths = [max(1, round(w * config.width)) for w in (16, 32, 64)]
    stages = [
        [(BasicBlock, width, 2 if (index > 0 and block == 0) else 1) for block in range(n)]
        for index, width in enumerate(widths)
    ]
    return ResNet(
        stages,
        config.num_classes,
        stem="cifar",
        stem_width=widths[0],
        skip=config.skip,
        batch_norm=config.batch_norm,
        shortcut=config.shortcut,
    )


# torchvision's builders, by name in torchvision.models. torchvision is imported only when one is
# built: it costs 1.7 s of start-up, and the training workers never need it.
TORCHVISION_MODELS: tuple[str, ...] = ("resnet18", "resnet34", "resnet50")
MODEL_NAMES: tuple[str, ...] = ("seed", *TORCHVISION_MODELS)


def build_model(name: str, num_classes: int = 1000, generator: torch.Generator | None = None) -> nn.Module:
    """Build an untrained pipeline model by name: ``seed``, ``resnet18``, ``resnet34`` or ``resnet50``.

    With ``generator`` its weights are drawn from that generator alone (reproducible, thread-safe).
    """
    if name == "seed":
        model: nn.Module = seed_resnet(num_classes)
    elif name in TORCHVISION_MODELS:
        import torchvision.models

        model = getattr(torchvision.models, name)(weights=None, num_classes=num_classes)
    else:
        raise UserError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")
    return init_weights(model, generator) if generator is not None else model


def is_residual_block(module: nn.Module) -> bool:
    """True for this project's blocks and torchvision's."""
    if isinstance(module, (BasicBlock, Bottleneck)):
        return True
    torchvision_resnet = sys.modules.get("torchvision.models.resnet")  # its blocks exist once it is imported
    return torchvision_resnet is not None and isinstance(
        module, (torchvision_resnet.BasicBlock, torchvision_resnet.Bottleneck)
    )


def residual_blocks(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Every residual block of ``model`` in forward order, with its qualified name (``layer1.0``)."""
    return [(name, module) for name, module in model.named_modules() if is_residual_block(module)]


def count_params(module: nn.Module) -> int:
    """Number of parameters (weights and biases) in ``module``."""
    return sum(p.numel() for p in module.parameters())
