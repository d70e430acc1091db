"""Safe loading: every kind of bad file has its own one-line reason; odd good files become proper RGB."""

import numpy as np
import pytest
from PIL import Image

from resnet_core.images import MAX_BYTES, ImageError, load_image, load_image_file, to_model_input
from tests import hostile_files as hf

REFUSED = [
    ("empty.png", hf.zero_bytes, "is empty"),
    ("list.png", hf.text_named_png, "is not an image this app can read"),
    ("half.jpg", hf.truncated_jpeg, "is truncated or corrupt"),
    ("bomb.png", hf.decompression_bomb, "megapixels"),
    ("dot.png", hf.one_pixel, "each side needs at least"),
    ("sliver.png", hf.sliver, "aspect ratio"),
    ("icon.ico", hf.ico_file, "is a ICO file"),
]


@pytest.mark.parametrize(("name", "make", "reason"), REFUSED, ids=[r[0] for r in REFUSED])
def test_each_bad_file_has_its_own_one_line_message(name, make, reason):
    with pytest.raises(ImageError) as caught:
        load_image(make(), name)
    message = str(caught.value)
    assert reason in message
    assert message.startswith(name)
    assert "\n" not in message


def test_messages_differ_between_kinds_of_bad_file():
    messages = set()
    for name, make, _ in REFUSED:
        with pytest.raises(ImageError) as caught:
            load_image(make(), name)
        messages.add(str(caught.value).removeprefix(name))
    assert len(messages) == len(REFUSED)


def test_oversized_upload_is_refused_before_decoding():
    with pytest.raises(ImageError, match="the limit is 20 MB"):
        load_image(b"\0" * (MAX_BYTES + 1), "huge.jpg")


def test_missing_file_and_folder_are_explained(tmp_path):
    with pytest.raises(ImageError, match="does not exist"):
        load_image_file(tmp_path / "nope.jpg")
    with pytest.raises(ImageError, match="is a folder"):
        load_image_file(tmp_path)


def test_transparent_palette_pixels_become_white():
    image = load_image(hf.palette_png_with_transparency(), "p.png")
    assert image.mode == "RGB"
    assert image.getpixel((2, 2)) == (255, 255, 255)
    assert image.getpixel((30, 2)) == (0, 0, 255)


def test_rgba_is_composited_over_white():
    rgba = Image.new("RGBA", (32, 32), (255, 0, 0, 0))
    rgba.paste((0, 255, 0, 255), (16, 0, 32, 32))
    image = load_image(hf._encode(rgba, "PNG"), "a.png")
    assert image.getpixel((0, 0)) == (255, 255, 255)
    assert image.getpixel((20, 0)) == (0, 255, 0)


def test_sixteen_bit_greyscale_is_scaled_not_clipped():
    image = load_image(hf.png_16bit(), "deep.png")
    values = np.asarray(image)[..., 0]
    source = np.asarray(Image.open(__import__("io").BytesIO(hf.png_16bit())), dtype=np.float64)
    expected = np.round(source / 65535 * 255)
    np.testing.assert_array_equal(values, expected.astype(np.uint8))
    assert (values == 255).mean() < 0.01  # clipping at 255 would have saturated almost every pixel


def test_cmyk_jpeg_becomes_rgb_close_to_the_original():
    image = load_image(hf.cmyk_jpeg(), "print.jpg")
    assert image.mode == "RGB"
    difference = np.abs(np.asarray(image, np.int16) - np.asarray(hf.photo(), np.int16))
    assert difference.mean() < 12


def test_animated_gif_uses_its_first_frame():
    image = load_image(hf.animated_gif(), "anim.gif")
    assert image.getpixel((5, 5)) == (255, 0, 0)


def test_exif_orientation_is_applied():
    image = load_image(hf.exif_rotated_jpeg(), "phone.jpg")
    assert image.size == (30, 60)
    red, _, blue = image.getpixel((15, 5))  # the blue half is now on top
    assert blue > 200 and red < 60


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"])
def test_every_supported_format_loads(fmt):
    image = load_image(hf._encode(hf.photo(), fmt), f"photo.{fmt.lower()}")
    assert image.mode == "RGB" and image.size == (64, 48)


def test_model_input_is_normalised_224_crop():
    x = to_model_input(hf.photo(64, 48))
    assert x.shape == (1, 3, 224, 224)
    assert x.dtype.is_floating_point


def test_every_bundled_sample_loads_as_rgb():
    from resnet_core.samples import SAMPLES, sample_path

    for sample in SAMPLES:
        image = load_image_file(sample_path(sample.key))
        assert image.mode == "RGB" and min(image.size) >= 224
