"""Datasets for the Training Lab: ``shapes`` drawn by code, and three torchvision classics.

Every dataset comes out the same way, as two :class:`Split` objects holding uint8 images
``(N, 3, H, W)`` and int64 labels in memory; :func:`to_input` turns a batch into the normalised
float input the models take (ImageNet mean/std, like the trace page's preprocessing, so weights
trained here read pictures there the same way).

``shapes`` needs no files: sample ``i`` of a split is drawn from a random generator seeded with
``(seed, split, i)``, so the same seed gives the same pictures on every machine. The torchvision
sets are read from a data folder; when their files are missing and cannot be downloaded, loading
raises :class:`DatasetUnavailable` with one line saying so and where the files go.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import Tensor
from torch.nn import functional as F

from resnet_core.errors import UserError, check_stop
from resnet_core.images import IMAGENET_MEAN, IMAGENET_STD
from resnet_core.settings import data_dir, download_blocked

__all__ = [
    "DATASETS",
    "MAX_SIZE",
    "MIN_SIZE",
    "SHAPES_CLASSES",
    "DatasetUnavailable",
    "Split",
    "available",
    "check_image_size",
    "load_dataset",
    "num_classes",
    "shape_grid",
    "shape_image",
    "shapes_split",
    "to_input",
]

SHAPES_CLASSES: tuple[str, ...] = (
    "circle",
    "square",
    "triangle",
    "star",
    "cross",
    "ring",
    "crescent",
    "stripes",
    "checkerboard",
    "dots",
)
DATASETS: tuple[str, ...] = ("shapes", "cifar10", "fashionmnist", "mnist")
MIN_SIZE, MAX_SIZE = 16, 224  # pixels per side the datasets can be drawn or resized to
_SPLIT_IDS = {"train": 0, "val": 1}


class DatasetUnavailable(UserError):
    """A dataset whose files are missing and cannot be downloaded; the message is one line.

    The message names no server path (learners see it); ``folder`` is where the files belong,
    for the command line and whoever runs the server.
    """

    def __init__(self, message: str, folder: Path) -> None:
        super().__init__(message)
        self.folder = folder


@dataclass(frozen=True)
class Split:
    """One split in memory: uint8 images (N, 3, H, W), int64 labels (N,), class names."""

    images: Tensor
    labels: Tensor
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)


# ---------------------------------------------------------------------------------------------
# shapes: drawn by code


def _random_colour(rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 256, size=3).astype(np.float32)


def _contrasting_colour(rng: np.random.Generator, background: np.ndarray) -> np.ndarray:
    """A random colour far enough from ``background`` to be seen (Euclidean RGB distance > 120)."""
    for _ in range(50):
        colour = _random_colour(rng)
        if np.linalg.norm(colour - background) > 120:
            return colour
    return 255.0 - background


def _polygon(cx: float, cy: float, radii: list[float], angle: float) -> list[tuple[float, float]]:
    """Vertices at evenly spaced angles starting from ``angle``, one radius per vertex."""
    step = 2 * math.pi / len(radii)
    return [
        (cx + r * math.cos(angle + k * step), cy + r * math.sin(angle + k * step))
        for k, r in enumerate(radii)
    ]


def _cross(cx: float, cy: float, r: float, angle: float) -> list[tuple[float, float]]:
    """A plus sign of half-length ``r`` and arm half-width ``r / 3``, rotated by ``angle``."""
    a = r / 3
    outline = [(a, r), (-a, r), (-a, a), (-r, a), (-r, -a), (-a, -a)]
    outline += [(-x, -y) for x, y in outline]  # the other half, turned by 180 degrees
    cos, sin = math.cos(angle), math.sin(angle)
    return [(cx + x * cos - y * sin, cy + x * sin + y * cos) for x, y in outline]


def _outline_mask(label: int, size: int, cx: float, cy: float, r: float, angle: float) -> np.ndarray:
    """Mask (size, size) in [0, 1] of the classes drawn as outlines: circle ... crescent."""
    mask = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(mask)
    box = (cx - r, cy - r, cx + r, cy + r)
    name = SHAPES_CLASSES[label]
    if name == "circle":
        draw.ellipse(box, fill=255)
    elif name == "square":
        draw.polygon(_polygon(cx, cy, [r] * 4, angle), fill=255)
    elif name == "triangle":
        draw.polygon(_polygon(cx, cy, [r * 1.1] * 3, angle), fill=255)
    elif name == "star":
        draw.polygon(_polygon(cx, cy, [r * 1.1, r * 0.45] * 5, angle), fill=255)
    elif name == "cross":
        draw.polygon(_cross(cx, cy, r, angle), fill=255)
    elif name == "ring":
        draw.ellipse(box, fill=255)
        inner = r * 0.6
        draw.ellipse((cx - inner, cy - inner, cx + inner, cy + inner), fill=0)
    elif name == "crescent":
        draw.ellipse(box, fill=255)
        dx, dy = 0.55 * r * math.cos(angle), 0.55 * r * math.sin(angle)
        draw.ellipse((cx + dx - r, cy + dy - r, cx + dx + r, cy + dy + r), fill=0)
    return np.asarray(mask, dtype=np.float32) / 255


def _pattern_mask(label: int, size: int, cx: float, cy: float, r: float, angle: float) -> np.ndarray:
    """Mask (size, size) in [0, 1] of the classes drawn as patterns inside a disk: stripes, checks, dots."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    x, y = xs - cx, ys - cy
    u = x * math.cos(angle) + y * math.sin(angle)  # coordinates rotated by angle
    v = -x * math.sin(angle) + y * math.cos(angle)
    period = r / 2
    inside = (x**2 + y**2) <= (r * 1.15) ** 2
    name = SHAPES_CLASSES[label]
    if name == "stripes":
        pattern = np.mod(u, period) < period / 2
    elif name == "checkerboard":
        pattern = (np.floor(u / period) + np.floor(v / period)) % 2 == 0
    else:  # dots on a square grid
        du = np.mod(u, period) - period / 2
        dv = np.mod(v, period) - period / 2
        pattern = du**2 + dv**2 <= (period * 0.3) ** 2
    return (pattern & inside).astype(np.float32)


def _clutter(rng: np.random.Generator, size: int, background: np.ndarray) -> np.ndarray:
    """Background (size, size, 3): a colour gradient crossed by a few thin random lines."""
    ys = np.linspace(0, 1, size, dtype=np.float32)[:, None, None]
    tint = (_random_colour(rng) - background) * 0.3
    canvas = Image.fromarray(np.clip(background + ys * tint, 0, 255).repeat(size, axis=1).astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    for _ in range(rng.integers(1, 5)):
        x0, y0, x1, y1 = rng.uniform(0, size, size=4)
        shade = np.clip(background + rng.uniform(-70, 70, size=3), 0, 255).astype(int)
        draw.line((x0, y0, x1, y1), fill=tuple(shade.tolist()), width=max(1, size // 48))
    return np.asarray(canvas, dtype=np.float32)


def _draw(label: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """One sample of class ``label`` as a uint8 array (size, size, 3)."""
    canvas = size * math.ceil(48 / size)  # draw small pictures larger, then shrink: smooth edges
    background = _random_colour(rng)
    foreground = _contrasting_colour(rng, background)
    r = rng.uniform(0.22, 0.36) * canvas
    cx, cy = rng.uniform(r, canvas - r, size=2)
    angle = rng.uniform(0, 2 * math.pi)
    clutter = _clutter(rng, canvas, background)
    if SHAPES_CLASSES[label] in ("stripes", "checkerboard", "dots"):
        mask = _pattern_mask(label, canvas, cx, cy, r, angle)
    else:
        mask = _outline_mask(label, canvas, cx, cy, r, angle)
    mask = mask[:, :, None]
    picture = clutter * (1 - mask) + foreground * mask
    picture += rng.normal(0, rng.uniform(4, 16), size=picture.shape)  # sensor noise
    image = Image.fromarray(np.clip(picture, 0, 255).astype(np.uint8))
    if canvas != size:
        image = image.resize((size, size), Image.Resampling.BOX)
    return np.asarray(image)


def check_image_size(image_size: int, label: str = "image size") -> None:
    """Raise a UserError naming ``label`` unless ``image_size`` is between MIN_SIZE and MAX_SIZE pixels."""
    if not MIN_SIZE <= image_size <= MAX_SIZE:
        raise UserError(f"{label} must be between {MIN_SIZE} and {MAX_SIZE} pixels, got {image_size}")


def _sample_rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, _SPLIT_IDS[split], index])


def shape_image(
    label: int, image_size: int = 224, seed: int = 0, index: int = 0, split: str = "val"
) -> Image.Image:
    """Sample ``index`` of class ``label`` as a PIL image (deterministic for its arguments)."""
    check_image_size(image_size)
    return Image.fromarray(_draw(label, image_size, _sample_rng(seed, split, index * 10 + label)))


def shapes_split(
    size: int,
    image_size: int,
    seed: int = 0,
    split: str = "train",
    stop: threading.Event | None = None,
    start: int = 0,
) -> Split:
    """``size`` shapes of ``image_size`` pixels, classes in turn (balanced), deterministic per seed.

    The generator is unlimited: sample ``k`` of a split is drawn from ``(seed, split, k)``, and
    ``start`` skips the first ``start`` samples, so ``start=epoch * size`` gives each epoch new
    pictures. ``stop`` is checked before every picture (errors.Interrupted when set).
    """
    check_image_size(image_size)
    labels = torch.arange(start, start + size, dtype=torch.int64) % len(SHAPES_CLASSES)
    images = np.empty((size, image_size, image_size, 3), dtype=np.uint8)
    for i, label in enumerate(labels.tolist()):
        check_stop(stop)
        images[i] = _draw(label, image_size, _sample_rng(seed, split, start + i))
    return Split(
        torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), labels, SHAPES_CLASSES
    )  # (N, 3, H, W)


def shape_grid(
    per_class: int = 4, image_size: int = 64, seed: int = 0
) -> list[tuple[str, list[Image.Image]]]:
    """``per_class`` samples of every class, for the page's sample grid."""
    return [
        (name, [shape_image(label, image_size, seed, index) for index in range(per_class)])
        for label, name in enumerate(SHAPES_CLASSES)
    ]


# ---------------------------------------------------------------------------------------------
# torchvision datasets: read from a data folder, downloaded only when reachable

_TORCHVISION = {
    # name: (torchvision class name, folder the files go in, host they download from)
    "cifar10": ("CIFAR10", "cifar-10-batches-py", "www.cs.toronto.edu"),
    "fashionmnist": (
        "FashionMNIST",
        "FashionMNIST/raw",
        "fashion-mnist.s3-website.eu-central-1.amazonaws.com",
    ),
    "mnist": ("MNIST", "MNIST/raw", "ossci-datasets.s3.amazonaws.com"),
}
_TORCHVISION_CLASSES = 10  # each of the three has ten classes


def available(name: str, folder: str | Path | None = None) -> bool:
    """Whether dataset ``name`` can be loaded without a download (shapes always; the others need their files)."""
    if name == "shapes":
        return True
    num_classes(name)  # an unknown name is refused here
    files = (Path(folder) if folder else data_dir()) / _TORCHVISION[name][1]
    return files.is_dir() and any(files.iterdir())


def num_classes(name: str) -> int:
    """How many classes dataset ``name`` has (known without loading it)."""
    if name == "shapes":
        return len(SHAPES_CLASSES)
    if name in _TORCHVISION:
        return _TORCHVISION_CLASSES
    raise UserError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")


def _torchvision_split(name: str, root: Path, train: bool, download: bool) -> Split:
    import torchvision.datasets as tvd

    class_name, _, _ = _TORCHVISION[name]
    dataset = getattr(tvd, class_name)(root=str(root), train=train, download=download)
    images = torch.as_tensor(np.asarray(dataset.data))
    # grey (N, H, W) or colour (N, H, W, 3) -> (N, 3, H, W)
    images = images[:, None].expand(-1, 3, -1, -1) if images.ndim == 3 else images.permute(0, 3, 1, 2)
    return Split(
        images.contiguous(), torch.as_tensor(dataset.targets, dtype=torch.int64), tuple(dataset.classes)
    )


def _load_torchvision(name: str, root: Path, allow_download: bool) -> tuple[Split, Split]:
    """Both splits of ``name`` from ``root``; one bounded download attempt when the files are missing."""
    try:
        return _torchvision_split(name, root, True, False), _torchvision_split(name, root, False, False)
    except RuntimeError:
        pass
    _, folder, host = _TORCHVISION[name]
    why = download_blocked(host) if allow_download else "downloads are not allowed here."
    if not why:
        try:
            return _torchvision_split(name, root, True, True), _torchvision_split(name, root, False, True)
        except (RuntimeError, OSError):
            why = f"the download from {host} failed."
    raise DatasetUnavailable(
        f"{name} is not in this server's data folder and cannot be downloaded ({why.rstrip('.')})",
        (root / folder).resolve(),
    )


def _subset(split: Split, size: int, seed: int) -> Split:
    """The first ``size`` samples of a fixed random order (the whole split when ``size`` is larger)."""
    if size >= len(split):
        return split
    order = torch.randperm(len(split), generator=torch.Generator().manual_seed(seed))[:size]
    return Split(split.images[order], split.labels[order], split.classes)


def load_dataset(
    name: str,
    image_size: int,
    train_size: int,
    val_size: int,
    seed: int = 0,
    folder: str | Path | None = None,
    allow_download: bool = True,
    stop: threading.Event | None = None,
) -> tuple[Split, Split]:
    """Train and validation splits of ``name`` (torchvision sets from ``folder``, default the server's data folder).

    Raises DatasetUnavailable when the files are missing and cannot be downloaded.
    """
    check_image_size(image_size)
    if name == "shapes":
        return shapes_split(train_size, image_size, seed, "train", stop), shapes_split(
            val_size, image_size, seed, "val", stop
        )
    num_classes(name)  # an unknown name is refused here
    train, val = _load_torchvision(name, Path(folder) if folder else data_dir(), allow_download)
    check_stop(stop)
    return _subset(train, train_size, seed), _subset(val, val_size, seed)


def to_input(images: Tensor, image_size: int | None = None) -> Tensor:
    """uint8 (B, 3, H, W) -> float (B, 3, S, S) in [0, 1], resized to ``image_size``, ImageNet-normalised."""
    x = images.float() / 255
    if image_size is not None and x.shape[-1] != image_size:
        x = F.interpolate(
            x, size=(image_size, image_size), mode="bilinear", antialias=True, align_corners=False
        )
    mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std
