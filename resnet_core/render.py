"""Activations to pictures: numpy arrays the page (or anyone) can show. No plotting library needed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from resnet_core.images import IMAGENET_MEAN, IMAGENET_STD

__all__ = ["FeatureGrid", "colorize", "feature_grid", "input_picture", "most_active", "residual_panels"]

# Viridis at five stops (dark purple -> yellow); linear interpolation between them is close enough
# for feature maps and keeps the engine free of matplotlib.
_VIRIDIS = np.array(
    [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], dtype=np.float32
)
_LUT = np.stack(
    [np.interp(np.linspace(0, 4, 256), np.arange(5), _VIRIDIS[:, c]) for c in range(3)], axis=1
).astype(np.uint8)


@dataclass(frozen=True)
class FeatureGrid:
    """A tiled picture of several channels and which channel sits in each tile (row-major)."""

    image: np.ndarray  # (H, W, 3) uint8
    channels: tuple[int, ...]


def colorize(values: np.ndarray) -> np.ndarray:
    """Map a 2-D array to viridis RGB, scaled between its own min and max: (H, W) -> (H, W, 3) uint8."""
    low, high = float(values.min()), float(values.max())
    scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
    return _LUT[np.clip((scaled * 255).astype(np.int64), 0, 255)]


def most_active(activation: Tensor, count: int) -> tuple[int, ...]:
    """Indices of the ``count`` channels with the highest mean activation, strongest first."""
    means = activation.float().mean(dim=(1, 2))  # (C, H, W) -> (C,)
    return tuple(torch.argsort(means, descending=True)[:count].tolist())


def feature_grid(
    activation: Tensor, count: int = 16, columns: int = 8, gap: int = 2, min_cell: int = 48
) -> FeatureGrid:
    """Tile the ``count`` most active channels of a (C, H, W) activation, each on its own scale.

    Maps smaller than ``min_cell`` pixels are enlarged by repeating pixels, so a 7 x 7 map shows
    49 crisp squares rather than a blur.
    """
    channels = most_active(activation, count)
    scale = max(1, -(-min_cell // activation.shape[1]))
    activation = activation.repeat_interleave(scale, dim=1).repeat_interleave(scale, dim=2)
    _, height, width = activation.shape
    rows = -(-len(channels) // columns)
    grid = np.full((rows * (height + gap) - gap, columns * (width + gap) - gap, 3), 255, np.uint8)
    maps = activation[list(channels)].float().numpy()
    for slot, values in enumerate(maps):
        top = (slot // columns) * (height + gap)
        left = (slot % columns) * (width + gap)
        grid[top : top + height, left : left + width] = colorize(values)
    return FeatureGrid(grid, channels)


def input_picture(x: Tensor) -> np.ndarray:
    """Undo the normalisation of a (3, H, W) model input: what the network actually sees, (H, W, 3) uint8."""
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    pixels = (x.float() * std + mean).clamp(0, 1)
    return (pixels.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)  # (3, H, W) -> (H, W, 3)


def residual_panels(x: Tensor, fx: Tensor, out: Tensor, channel: int) -> dict[str, np.ndarray]:
    """One channel of x, F(x) and ReLU(F(x) + x), as 2-D float arrays for a side-by-side view."""
    return {
        "x (shortcut)": x[channel].float().numpy(),
        "F(x) (residual branch)": fx[channel].float().numpy(),
        "ReLU(F(x) + x)": out[channel].float().numpy(),
    }
