"""Safe image loading: any common format in, an RGB picture or a one-line reason out.

Every error a user can cause (empty file, not an image, truncated, decompression bomb, absurd
shape, too large) is an :class:`ImageError` whose message is one plain sentence, never a
traceback. Preprocessing into a model input lives here too.
"""

from __future__ import annotations

import functools
import io
import stat
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import Tensor

from resnet_core.errors import UserError, one_line

__all__ = [
    "ALLOWED_FORMATS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "MAX_ASPECT",
    "MAX_BYTES",
    "MAX_PIXELS",
    "MIN_SIDE",
    "ImageError",
    "LoadedImage",
    "load_image",
    "load_image_file",
    "read_image",
    "read_image_file",
    "to_model_input",
    "to_rgb",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

ALLOWED_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP", "GIF": "GIF", "BMP": "BMP", "TIFF": "TIFF"}
MAX_BYTES = 20 * 1024 * 1024  # matches server.maxUploadSize = 20 in .streamlit/config.toml
MAX_PIXELS = 40_000_000  # 40 megapixels: any phone photo fits, a decompression bomb does not
MAX_ASPECT = 20.0  # width/height (or height/width) above this is not a photo
MIN_SIDE = 16  # pixels; smaller cannot show anything after resizing to 224


ORIENTATION_TAG = 0x0112
MODE_NOTES = {  # what converting from each unusual mode means, in words
    "CMYK": "converted from CMYK (print colours) to RGB.",
    "I;16": "16-bit greyscale scaled down to 8 bits.",
    "I;16B": "16-bit greyscale scaled down to 8 bits.",
    "I;16L": "16-bit greyscale scaled down to 8 bits.",
    "I": "32-bit greyscale scaled down to 8 bits.",
    "F": "floating-point greyscale scaled down to 8 bits.",
    "L": "greyscale: the same values fill the red, green and blue channels.",
    "1": "black-and-white: the same values fill the red, green and blue channels.",
}


class ImageError(UserError):
    """A file the app refuses, with a one-line reason a learner can act on."""


@dataclass(frozen=True)
class LoadedImage:
    """A decoded RGB picture and what was done to make it one, in plain words."""

    image: Image.Image
    notes: tuple[str, ...]  # e.g. "animated GIF: the first of 3 frames is used"


def read_image(data: bytes, name: str = "upload") -> LoadedImage:
    """Decode ``data`` into RGB with notes on any conversion, or raise :class:`ImageError`."""
    if len(data) == 0:
        raise ImageError(f"{name} is empty (0 bytes).")
    if len(data) > MAX_BYTES:
        raise ImageError(f"{name} is {len(data) / 2**20:.1f} MB; the limit is {MAX_BYTES // 2**20} MB.")
    if zipfile.is_zipfile(io.BytesIO(data)):
        raise ImageError(
            f"{name} is also a ZIP archive (a polyglot file that hides other files); upload a plain image."
        )
    image = _open(data, name)
    _check_geometry(image, name)
    try:
        image.load()
    except (OSError, SyntaxError, ValueError) as error:  # PIL reports truncation as OSError
        raise ImageError(f"{name} is truncated or corrupt ({one_line(error)}).") from None
    return _normalise(image)


def load_image(data: bytes, name: str = "upload") -> Image.Image:
    """Decode ``data`` into an RGB image, or raise :class:`ImageError` with a one-line reason."""
    return read_image(data, name).image


def read_image_file(path: str | Path) -> LoadedImage:
    """Read and decode an image file from disk (same checks as :func:`read_image`).

    Only a regular file is opened (a FIFO would block, ``/dev/zero`` never ends), and never more
    than MAX_BYTES + 1 bytes of it are read, whatever its size says.
    """
    path = Path(path)
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise ImageError(f"{path} is a folder, not an image file.")
        if not stat.S_ISREG(info.st_mode):
            raise ImageError(f"{path} is not a regular file (a device, a pipe or a socket).")
        if info.st_size > MAX_BYTES:
            raise ImageError(f"{path.name} is {info.st_size / 2**20:.1f} MB; the limit is {MAX_BYTES // 2**20} MB.")
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ImageError(f"{path} does not exist.") from None
    except PermissionError:
        raise ImageError(f"{path} cannot be read (permission denied).") from None
    except OSError as error:
        raise ImageError(f"{path} cannot be read ({one_line(error)}).") from None
    if len(data) > MAX_BYTES:
        raise ImageError(f"{path.name} is over {MAX_BYTES // 2**20} MB; the limit is {MAX_BYTES // 2**20} MB.")
    return read_image(data, path.name)


def load_image_file(path: str | Path) -> Image.Image:
    """Read and decode an image file from disk into RGB."""
    return read_image_file(path).image


def _open(data: bytes, name: str) -> Image.Image:
    """Open lazily (header only) and check the format."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(
            f"{name} declares an enormous picture (a decompression bomb); the limit is "
            f"{MAX_PIXELS // 1_000_000} megapixels."
        ) from None
    except UnidentifiedImageError:
        raise ImageError(
            f"{name} is not an image this app can read (use JPEG, PNG, WebP, GIF, BMP or TIFF)."
        ) from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageError(f"{name} is truncated or corrupt ({one_line(error)}).") from None
    if image.format not in ALLOWED_FORMATS:
        raise ImageError(
            f"{name} is a {image.format} file; use JPEG, PNG, WebP, GIF, BMP or TIFF."
        )
    return image


def _check_geometry(image: Image.Image, name: str) -> None:
    """Refuse bombs, slivers and specks before any pixel is decoded."""
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageError(
            f"{name} is {width}×{height} = {width * height:,} pixels; the limit is {MAX_PIXELS:,} "
            f"({MAX_PIXELS // 1_000_000} megapixels, a guard against decompression bombs)."
        )
    if max(width, height) / max(min(width, height), 1) > MAX_ASPECT:
        raise ImageError(
            f"{name} is {width}×{height} pixels, an aspect ratio over {MAX_ASPECT:.0f}:1; "
            "crop it closer to a square."
        )
    if min(width, height) < MIN_SIDE:
        raise ImageError(f"{name} is only {width}×{height} pixels; each side needs at least {MIN_SIDE}.")


def to_rgb(image: Image.Image) -> Image.Image:
    """First frame, EXIF orientation applied, any mode to 8-bit RGB (alpha composited over white)."""
    return _normalise(image).image


def _normalise(image: Image.Image) -> LoadedImage:
    notes = []
    frames = getattr(image, "n_frames", 1)
    if frames > 1:
        image.seek(0)
        notes.append(f"animated image: the first of its {frames} frames is used.")
    if image.getexif().get(ORIENTATION_TAG, 1) != 1:
        notes.append("turned upright using its EXIF orientation tag.")
    image = ImageOps.exif_transpose(image)
    source_mode = image.mode
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        image = _high_depth_to_l(image)
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode == "La":  # premultiplied grey + alpha (TIFF): Pillow converts it to LA only
        image = image.convert("LA")
    if image.mode in ("LA", "PA", "RGBa"):
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image)
        notes.append("transparent areas are shown on white.")
    if source_mode in MODE_NOTES:
        notes.append(MODE_NOTES[source_mode])
    return LoadedImage(image.convert("RGB"), tuple(notes))


def _high_depth_to_l(image: Image.Image) -> Image.Image:
    """16-bit / 32-bit greyscale to 8-bit by scaling, not clipping (Pillow's convert clips at 255)."""
    values = np.asarray(image, dtype=np.float64)
    top = 65535.0 if image.mode.startswith("I;16") else max(float(values.max()), 1.0)
    scaled = np.clip(values / top * 255.0, 0, 255).round().astype(np.uint8)
    return Image.fromarray(scaled, mode="L")


@functools.lru_cache(maxsize=8)
def _preprocess(size: int):  # -> torchvision.transforms.v2.Compose
    from torchvision.transforms import v2 as T  # here: the training workers import this module, not torchvision

    return T.Compose(
        [
            T.PILToTensor(),
            T.Resize(size, antialias=True),
            T.CenterCrop(size),
            T.ToDtype(torch.float32, scale=True),
            T.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )


def to_model_input(image: Image.Image, size: int = 224) -> Tensor:
    """Resize the shorter side to ``size``, centre-crop, scale to [0, 1], normalise: (1, 3, size, size)."""
    return _preprocess(size)(image).unsqueeze(0)  # (3, H, W) -> (1, 3, H, W)
