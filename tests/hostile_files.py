"""Makes the hostile-file corpus at test time: no binary file is copied from elsewhere."""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib

import numpy as np
from PIL import Image


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def photo(width: int = 64, height: int = 48) -> Image.Image:
    """A small colourful picture with structure (gradients), deterministic."""
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), (x + y) % 256], axis=-1)
    return Image.fromarray(rgb.astype(np.uint8), "RGB")


def png_bytes(width: int = 64, height: int = 48) -> bytes:
    return _encode(photo(width, height), "PNG")


def zero_bytes() -> bytes:
    return b""


def text_named_png() -> bytes:
    return b"this is a shopping list, not a picture\n" * 4


def truncated_jpeg() -> bytes:
    data = _encode(photo(256, 256), "JPEG", quality=90)
    return data[: len(data) // 2]


def _png(header: bytes, pixels: bytes) -> bytes:
    """A PNG file from its IHDR fields and its (uncompressed) pixel rows."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(pixels)) + chunk(b"IEND", b"")


def decompression_bomb() -> bytes:
    """A valid PNG header declaring 50000 x 50000 pixels, with a tiny (fake) body."""
    return _png(struct.pack(">IIBBBBB", 50_000, 50_000, 8, 2, 0, 0, 0), b"\0" * 64)


def blank_png(width: int, height: int) -> bytes:
    """A complete, valid black-and-white PNG of any size, a few kB even at 40 megapixels (rows of zero bits)."""
    row = b"\0" + b"\0" * ((width + 7) // 8)  # filter byte, then the packed bits
    return _png(struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0), row * height)  # bit depth 1, greyscale


def png_16bit() -> bytes:
    values = (np.arange(64 * 64, dtype=np.uint32).reshape(64, 64) * 16).astype(np.uint16)
    return _encode(Image.fromarray(values), "PNG")  # uint16 array -> mode I;16


def cmyk_jpeg() -> bytes:
    return _encode(photo().convert("CMYK"), "JPEG", quality=95)


def palette_png_with_transparency() -> bytes:
    image = Image.new("P", (32, 32), 0)
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * (256 * 3 - 6))
    image.paste(1, (16, 0, 32, 32))
    return _encode(image, "PNG", transparency=0)  # left half transparent, right half blue


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (32, 32), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    return _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def one_pixel() -> bytes:
    return _encode(Image.new("RGB", (1, 1), (255, 0, 0)), "PNG")


def sliver() -> bytes:
    return _encode(Image.new("RGB", (1, 10_000), (255, 0, 0)), "PNG")


def exif_rotated_jpeg() -> bytes:
    """A 60 x 30 picture whose EXIF orientation (6) says: rotate 90° clockwise to display it."""
    image = Image.new("RGB", (60, 30), (255, 0, 0))
    image.paste((0, 0, 255), (0, 0, 30, 30))  # left half blue
    exif = Image.Exif()
    exif[0x0112] = 6
    return _encode(image, "JPEG", quality=95, exif=exif.tobytes())


def _tiff_entry(data: bytes, tag: int) -> int:
    """Byte position of ``tag``'s 12-byte entry in the first IFD of a little-endian TIFF."""
    start = struct.unpack_from("<I", data, 4)[0]
    for position in range(start + 2, start + 2 + 12 * struct.unpack_from("<H", data, start)[0], 12):
        if struct.unpack_from("<H", data, position)[0] == tag:
            return position
    raise KeyError(tag)


def tiff_with_broken_tag() -> bytes:
    """A readable TIFF whose Software tag points past the end of the file: Pillow warns and reads the pixels."""
    data = bytearray(_encode(photo(), "TIFF", tiffinfo={305: "scanner software " * 4}))
    struct.pack_into("<I", data, _tiff_entry(data, 305) + 8, len(data) + 1000)
    return bytes(data)


def tiff_grey_associated_alpha(grey: int, alpha: int) -> bytes:
    """A 16 x 16 greyscale TIFF with premultiplied (associated) alpha: Pillow opens it in mode "La"."""
    data = bytearray(_encode(Image.new("LA", (16, 16), (grey, alpha)), "TIFF"))
    struct.pack_into("<I", data, _tiff_entry(data, 338) + 8, 1)  # ExtraSamples: 2 (unassociated) -> 1 (associated)
    return bytes(data)


def png_zip_polyglot() -> bytes:
    """A valid PNG with a ZIP archive appended: both readers accept it."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("payload.txt", "hello")
    return png_bytes() + archive.getvalue()


def ico_file() -> bytes:
    return _encode(photo(32, 32), "ICO")


# The corpus: (file name, maker, refused?, the specific message the CLI and the page must give).
CORPUS = [
    ("zero.png", zero_bytes, True, "is empty (0 bytes)"),
    ("shopping-list.png", text_named_png, True, "is not an image this app can read"),
    ("truncated.jpg", truncated_jpeg, True, "is truncated or corrupt"),
    ("bomb.png", decompression_bomb, True, "decompression bomb"),
    ("deep.png", png_16bit, False, "16-bit greyscale scaled down to 8 bits"),
    ("print.jpg", cmyk_jpeg, False, "converted from CMYK (print colours) to RGB"),
    ("palette.png", palette_png_with_transparency, False, "transparent areas are shown on white"),
    ("animated.gif", animated_gif, False, "the first of its 3 frames is used"),
    ("dot.png", one_pixel, True, "each side needs at least 16"),
    ("sliver.png", sliver, True, "an aspect ratio over 20:1"),
    ("rotated.jpg", exif_rotated_jpeg, False, "turned upright using its EXIF orientation tag"),
    ("polyglot.png", png_zip_polyglot, True, "is also a ZIP archive"),
]


def shown(markdown: str) -> str:
    """What a reader sees of Markdown whose learner text was escaped (pages.parts.text.plain): no backslashes."""
    return re.sub(r"\\(.)", r"\1", markdown)
