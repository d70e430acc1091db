"""Which weights a pipeline model runs with, and saying so plainly.

``auto`` prefers torchvision's ImageNet weights (from the torch hub cache, or downloaded when the
network allows), then the project's bundled weights, then none. Architecture code knows nothing
of this; this module knows nothing of pages. Offline never crashes or hangs: a reachability probe
with a short timeout runs at most once per process and its answer is remembered.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import torch
from PIL import Image
from torch import Tensor, nn
from torchvision.models import ResNet18_Weights, ResNet34_Weights, ResNet50_Weights, WeightsEnum

from resnet_core.data import SHAPES_CLASSES
from resnet_core.errors import UserError, one_line
from resnet_core.images import to_model_input
from resnet_core.models import MODEL_NAMES, build_model
from resnet_core.samples import ASSETS
from resnet_core.settings import download_blocked, mark_unreachable

__all__ = [
    "BUNDLED_PATH",
    "IMAGENET_WEIGHTS",
    "LABELS",
    "WEIGHT_CHOICES",
    "LoadedModel",
    "WeightsError",
    "cached_checkpoint",
    "load_model",
]

WEIGHT_CHOICES = ("auto", "imagenet", "bundled", "none")
IMAGENET_WEIGHTS: dict[str, WeightsEnum] = {
    "resnet18": ResNet18_Weights.IMAGENET1K_V1,
    "resnet34": ResNet34_Weights.IMAGENET1K_V1,
    "resnet50": ResNet50_Weights.IMAGENET1K_V1,
}
BUNDLED_PATH = ASSETS / "seed_shapes.pt"
LABELS = {
    "imagenet": "ImageNet (torchvision IMAGENET1K_V1)",
    "bundled": "bundled (trained by this project on the 10 'shapes' classes)",
    "none": "untrained: predictions are meaningless, feature maps show random filters",
}
DOWNLOAD_TIMEOUT_S = 20.0  # per network read while downloading a checkpoint


class WeightsError(UserError):
    """Weights asked for by name that this model cannot have; the message says why."""


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to trace, with the honest story of its weights."""

    name: str  # seed, resnet18, resnet34, resnet50
    model: nn.Module
    weights: str  # what is in use: imagenet, bundled or none
    label: str  # one line for the banner and the CLI
    categories: tuple[str, ...]
    notes: tuple[str, ...]  # why the choice fell back, if it did
    preprocess: Callable[[Image.Image], Tensor]  # picture -> (1, 3, 224, 224)


def load_model(name: str, weights: str = "auto") -> LoadedModel:
    """Build ``name`` with the requested weights (auto, imagenet, bundled, none), in eval mode."""
    if name not in MODEL_NAMES:
        raise WeightsError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")
    if weights not in WEIGHT_CHOICES:
        raise WeightsError(f"unknown weights {weights!r}; choose one of {', '.join(WEIGHT_CHOICES)}")
    notes: list[str] = []
    order = _auto_order(name) if weights == "auto" else (weights,)
    for kind in order:
        loaded = _LOADERS[kind](name, notes)
        if loaded is not None:
            loaded.model.eval()
            return LoadedModel(name, loaded.model, kind, LABELS[kind], loaded.categories, tuple(notes),
                               loaded.preprocess)
    raise WeightsError(notes[-1] if notes else f"no {weights} weights for {name}")


def _auto_order(name: str) -> tuple[str, ...]:
    """What ``auto`` tries for this model, best first."""
    return ("imagenet", "none") if name in IMAGENET_WEIGHTS else ("bundled", "none")


@dataclass(frozen=True)
class _Built:
    model: nn.Module
    categories: tuple[str, ...]
    preprocess: Callable[[Image.Image], Tensor]


def _imagenet(name: str, notes: list[str]) -> _Built | None:
    enum = IMAGENET_WEIGHTS.get(name)
    if enum is None:
        notes.append(f"no ImageNet weights exist for the {name} model.")
        return None
    state = _imagenet_state_dict(enum, notes)
    if state is None:
        return None
    model = build_model(name)
    model.load_state_dict(state)
    transform = enum.transforms()
    return _Built(model, tuple(enum.meta["categories"]), lambda image: transform(image).unsqueeze(0))


def _bundled(name: str, notes: list[str]) -> _Built | None:
    if name != "seed":
        notes.append(f"bundled weights exist only for the seed model, not {name}.")
        return None
    if not BUNDLED_PATH.is_file():
        notes.append(f"bundled weights are missing ({BUNDLED_PATH.name} not in assets/).")
        return None
    state = _safe_load(BUNDLED_PATH, notes)
    if state is None:
        return None
    model = build_model(name, num_classes=len(SHAPES_CLASSES))
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return _Built(model, SHAPES_CLASSES, to_model_input)


def _untrained(name: str, notes: list[str]) -> _Built:
    model = build_model(name, generator=torch.Generator().manual_seed(0))  # the same random filters every time
    return _Built(model, tuple(f"class {i}" for i in range(1000)), to_model_input)


_LOADERS = {"imagenet": _imagenet, "bundled": _bundled, "none": _untrained}


def cached_checkpoint(enum: WeightsEnum) -> Path:
    """Where torch hub keeps ``enum``'s file: $TORCH_HOME/hub/checkpoints/<name from the URL>."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(enum.url).path).name


def _imagenet_state_dict(enum: WeightsEnum, notes: list[str]) -> dict[str, Tensor] | None:
    path = cached_checkpoint(enum)
    if path.is_file():
        return _safe_load(path, notes)
    reason = _download(enum.url, path)
    if reason:
        notes.append(f"ImageNet weights ({path.name}) are not in this server's torch hub cache and {reason}")
        return None
    return _safe_load(path, notes)


def _safe_load(path: Path, notes: list[str]) -> dict[str, Tensor] | None:
    """``torch.load`` with ``weights_only=True``; a corrupt or foreign file is reported and skipped."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # any unreadable checkpoint is skipped, not fatal
        notes.append(f"{path.name} could not be read as weights ({one_line(error)}); skipped.")
        return None
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        notes.append(f"{path.name} is not a state dict of tensors; skipped.")
        return None
    return state


def _download(url: str, path: Path) -> str:
    """Fetch ``url`` into ``path`` with bounded timeouts; return '' on success, else the reason."""
    host = urlparse(url).hostname or ""
    blocked = download_blocked(host)
    if blocked:
        return f"cannot be downloaded: {blocked}"
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
        tmp = Path(handle.name)
    try:
        with tmp.open("wb") as out, urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            while chunk := response.read(1 << 20):
                out.write(chunk)
        _check_hash(tmp, path.name)
        os.replace(tmp, path)
    except (OSError, ValueError) as error:
        tmp.unlink(missing_ok=True)
        why = f"{host} failed while downloading ({one_line(error)})."
        mark_unreachable(host, why)
        return f"cannot be downloaded: {why}"
    return ""


def _check_hash(path: Path, name: str) -> None:
    """torchvision file names end in the first hex digits of their SHA-256 (``resnet18-f37072fd.pth``)."""
    match = re.search(r"-([a-f0-9]+)\.", name)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if match and not digest.startswith(match.group(1)):
        raise ValueError(f"downloaded file does not match its checksum {match.group(1)}")
