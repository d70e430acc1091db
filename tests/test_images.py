"""Safe loading: every kind of bad file has its own one-line reason; odd good files become proper RGB."""

import errno
import io
import os
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
import torchvision.transforms.functional as TF
from PIL import Image
from torch.testing import assert_close
from torchvision.models import ResNet18_Weights

from resnet_core.images import (
    MAX_BYTES,
    ImageError,
    load_image,
    load_image_file,
    read_image,
    read_image_file,
    to_model_input,
    to_rgb,
)
from tests import hostile_files as hf

# torchvision's own ImageNet weights say how their inputs were normalised: the reference, not our constants.
IMAGENET = ResNet18_Weights.IMAGENET1K_V1.transforms()

REFUSED = [
    ("empty.png", hf.zero_bytes, "is empty"),
    ("list.png", hf.text_named_png, "is not an image this app can read"),
    ("half.jpg", hf.truncated_jpeg, "is truncated or corrupt"),
    ("bomb.png", hf.decompression_bomb, "megapixels"),
    ("dot.png", hf.one_pixel, "each side needs at least"),
    ("sliver.png", hf.sliver, "aspect ratio"),
    ("icon.ico", hf.ico_file, "is a ICO file"),
    ("both.png", hf.png_zip_polyglot, "is also a ZIP archive"),
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


def test_messages_name_the_file_or_say_upload():
    with pytest.raises(ImageError) as caught:
        read_image(b"")
    assert str(caught.value) == "upload is empty (0 bytes)."
    with pytest.raises(ImageError) as caught:
        load_image(hf.ico_file())
    assert str(caught.value) == "upload is a ICO file; use JPEG, PNG, WebP, GIF, BMP or TIFF."


def test_file_on_disk_is_named_by_its_file_name(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageError) as caught:
        read_image_file(tmp_path / "empty.png")
    assert str(caught.value) == "empty.png is empty (0 bytes)."


def test_truncated_pixels_are_reported_with_pillows_reason():
    with pytest.raises(ImageError) as caught:
        read_image(hf.truncated_jpeg(), "half.jpg")
    assert str(caught.value).startswith("half.jpg is truncated or corrupt (image file is truncated")


def test_a_warning_from_pillow_about_metadata_does_not_refuse_the_picture():
    with pytest.warns(UserWarning, match="Truncated File Read"):
        loaded = read_image(hf.tiff_with_broken_tag(), "scan.tif")
    assert loaded.image.size == (64, 48)


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


def _normalised(rgb: tuple[int, int, int]) -> torch.Tensor:
    """(value / 255 - mean) / std per channel, with torchvision's ImageNet mean and std."""
    mean, std = torch.tensor(IMAGENET.mean), torch.tensor(IMAGENET.std)
    return (torch.tensor(rgb) / 255 - mean) / std


@pytest.mark.parametrize("rgb", [(255, 0, 128), (0, 0, 0), (124, 116, 104)])
def test_model_input_of_a_plain_colour_is_that_colour_normalised(rgb):
    x = to_model_input(Image.new("RGB", (300, 260), rgb))
    expected = _normalised(rgb).view(1, 3, 1, 1).expand(1, 3, 224, 224)
    assert_close(x, expected)


def test_model_input_keeps_the_centre_of_a_wide_or_tall_picture():
    # 672 x 224 in three 224-wide bands: only the middle band (green) is left after the centre crop.
    wide = Image.new("RGB", (672, 224), (255, 0, 0))
    wide.paste((0, 255, 0), (224, 0, 448, 224))
    wide.paste((0, 0, 255), (448, 0, 672, 224))
    green = _normalised((0, 255, 0)).view(1, 3, 1, 1).expand(1, 3, 224, 224)
    assert_close(to_model_input(wide), green)
    assert_close(to_model_input(wide.rotate(90, expand=True)), green)


def test_model_input_matches_an_independent_pil_pipeline():
    # The reference resizes with Pillow (torchvision's v1 functional API on a PIL picture), then normalises.
    picture = hf.photo(150, 100)
    resized = TF.center_crop(TF.resize(picture, 112, antialias=True), 112)
    expected = TF.normalize(TF.to_tensor(resized), IMAGENET.mean, IMAGENET.std).unsqueeze(0)
    x = to_model_input(picture, size=112)
    assert x.shape == (1, 3, 112, 112)
    assert_close(x, expected, atol=3 / 255 / min(IMAGENET.std), rtol=0)  # two resamplers: a few levels apart


# --- the limits, at their exact boundaries, with files Pillow itself accepts ------------------------------


def _pillow_accepts(data: bytes) -> bool:
    """Pillow opens and decodes ``data`` without its own decompression-bomb warning or error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        Image.open(io.BytesIO(data)).load()
    return True


@pytest.mark.parametrize(
    ("width", "height"),
    [(8000, 5000), (5000, 8000)],  # 40,000,000 pixels exactly: the limit itself
)
def test_forty_megapixels_exactly_is_accepted(width, height):
    loaded = read_image(hf.blank_png(width, height), "big.png")
    assert loaded.image.size == (width, height) and loaded.image.mode == "RGB"


@pytest.mark.parametrize(
    ("width", "height", "shown"),
    [(8000, 5001, "40,008,000"), (5001, 8000, "40,008,000"), (8300, 5000, "41,500,000")],  # one row over; more
)
def test_one_row_over_forty_megapixels_is_refused_by_the_projects_own_check(width, height, shown):
    data = hf.blank_png(width, height)
    assert width * height < Image.MAX_IMAGE_PIXELS and _pillow_accepts(data)  # Pillow alone would decode it
    with pytest.raises(ImageError) as caught:
        read_image(data, "big.png")
    # the exact count: rounded to megapixels, one row over the limit read "40 megapixels; the limit is 40"
    assert str(caught.value) == (
        f"big.png is {width}×{height} = {shown} pixels; the limit is 40,000,000 "
        "(40 megapixels, a guard against decompression bombs)."
    )


def test_geometry_is_checked_before_any_pixel_is_decoded():
    header_only = hf.blank_png(8000, 5001)[:60]  # the size is declared, the pixels are cut off
    with pytest.raises(ImageError, match="the limit is 40,000,000"):
        read_image(header_only, "cut.png")


def test_a_bomb_pillow_only_warns_about_is_refused_as_a_bomb():
    data = hf.blank_png(10_000, 10_000)  # 100 megapixels: over Pillow's warning level, under its error level
    assert Image.MAX_IMAGE_PIXELS < 10_000 * 10_000 < 2 * Image.MAX_IMAGE_PIXELS
    with pytest.raises(ImageError) as caught:
        read_image(data, "warned.png")
    assert str(caught.value) == (
        "warned.png declares an enormous picture (a decompression bomb); the limit is 40 megapixels."
    )


@pytest.mark.parametrize(("width", "height"), [(320, 16), (16, 320), (16, 16), (4000, 200)])
def test_aspect_ratio_of_twenty_and_sides_of_sixteen_are_accepted(width, height):
    assert _pillow_accepts(hf.blank_png(width, height))
    assert read_image(hf.blank_png(width, height), "ok.png").image.size == (width, height)


@pytest.mark.parametrize(("width", "height"), [(321, 16), (16, 321), (4001, 200), (200, 4001), (1, 21)])
def test_aspect_ratio_just_over_twenty_is_refused(width, height):
    with pytest.raises(ImageError) as caught:
        read_image(hf.blank_png(width, height), "thin.png")
    assert str(caught.value) == (
        f"thin.png is {width}×{height} pixels, an aspect ratio over 20:1; crop it closer to a square."
    )


@pytest.mark.parametrize(("width", "height"), [(15, 16), (16, 15), (15, 15), (15, 300)])
def test_a_side_of_fifteen_pixels_is_refused(width, height):
    with pytest.raises(ImageError) as caught:
        read_image(hf.blank_png(width, height), "small.png")
    assert str(caught.value) == f"small.png is only {width}×{height} pixels; each side needs at least 16."


def test_upload_of_exactly_the_byte_limit_is_accepted_one_byte_more_is_not():
    picture = hf.png_bytes()
    padded = picture + b"\0" * (MAX_BYTES - len(picture))  # Pillow stops reading at the PNG's IEND chunk
    assert read_image(padded, "full.png").image.size == (64, 48)
    with pytest.raises(ImageError) as caught:
        read_image(padded + b"\0", "full.png")
    assert str(caught.value) == "full.png is 20.0 MB; the limit is 20 MB."


def test_file_on_disk_over_the_byte_limit_is_refused_without_reading_it(tmp_path, monkeypatch):
    path = tmp_path / "huge.png"
    path.write_bytes(hf.png_bytes())
    with path.open("ab") as f:
        f.truncate(MAX_BYTES + 1)  # sparse: no 20 MB written
    monkeypatch.setattr(type(path), "open", lambda self, *a, **k: pytest.fail("opened a file over the limit"))
    with pytest.raises(ImageError) as caught:
        read_image_file(path)
    assert str(caught.value) == "huge.png is 20.0 MB; the limit is 20 MB."


def test_file_on_disk_at_the_byte_limit_is_read(tmp_path):
    path = tmp_path / "full.png"
    path.write_bytes(hf.png_bytes())
    with path.open("ab") as f:
        f.truncate(MAX_BYTES)
    assert load_image_file(path).size == (64, 48)


def test_unreadable_file_is_explained(tmp_path, monkeypatch):
    path = tmp_path / "secret.png"
    path.write_bytes(hf.png_bytes())

    def denied(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(type(path), "open", denied)  # chmod does not stop root, which runs CI
    with pytest.raises(ImageError) as caught:
        read_image_file(path)
    assert str(caught.value) == f"{path} cannot be read (permission denied)."


def test_an_os_error_while_reading_is_explained_with_its_reason(tmp_path, monkeypatch):
    path = tmp_path / "scratched.png"
    path.write_bytes(hf.png_bytes())

    def failing(self, *args, **kwargs):
        raise OSError(errno.EIO, "Input/output error")  # a failing disk or a network share gone away

    monkeypatch.setattr(type(path), "open", failing)
    with pytest.raises(ImageError) as caught:
        read_image_file(path)
    assert str(caught.value) == f"{path} cannot be read ([Errno 5] Input/output error)."


def test_a_pipe_is_refused_by_its_type_without_opening_it(tmp_path):
    path = tmp_path / "picture.png"
    os.mkfifo(path)  # opening it to read would wait forever for a writer
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(read_image_file, path)
        try:
            with pytest.raises(ImageError) as caught:
                answer.result(timeout=10)
        except TimeoutError:
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))  # a writer comes and goes: the read ends
            pytest.fail("read_image_file opened the pipe and waited for a writer")
    assert str(caught.value) == f"{path} is not a regular file (a device, a pipe or a socket)."


@pytest.mark.parametrize(("extra", "refused"), [(0, False), (1, True), (5000, True)])
def test_a_file_larger_than_its_size_says_is_read_no_further_than_one_byte_past_the_limit(
    tmp_path, monkeypatch, extra, refused
):
    """A file can grow after stat() (or report a size of 0, as /proc does): the read itself stops at the limit."""
    path = tmp_path / "growing.png"
    path.write_bytes(hf.png_bytes())
    with path.open("ab") as f:
        f.truncate(MAX_BYTES + extra)  # sparse: no 20 MB written
    real_stat, real_open = type(path).stat, type(path).open
    read = []

    class Counted(io.BufferedReader):
        def read(self, size=-1):
            chunk = super().read(size)
            read.append(len(chunk))
            return chunk

    def small_stat(self, *args, **kwargs):
        fields = list(real_stat(self, *args, **kwargs))
        fields[6] = 1000  # st_size: what stat() said before the file grew
        return os.stat_result(fields)

    monkeypatch.setattr(type(path), "stat", small_stat)
    monkeypatch.setattr(type(path), "open", lambda self, mode="r": Counted(real_open(self, mode, buffering=0)))
    if refused:
        with pytest.raises(ImageError) as caught:
            read_image_file(path)
        assert str(caught.value) == "growing.png is over 20 MB; the limit is 20 MB."
    else:
        assert read_image_file(path).image.size == (64, 48)
    assert sum(read) == MAX_BYTES + min(extra, 1)  # at the limit all of it; past it, one byte more and no further


# --- every mode becomes RGB, with the note a learner sees ---------------------------------------------------


def test_greyscale_and_black_and_white_fill_all_three_channels():
    grey = Image.fromarray(np.arange(256, dtype=np.uint8).reshape(16, 16), "L")
    loaded = read_image(hf._encode(grey, "PNG"), "grey.png")
    rgb = np.asarray(loaded.image)
    assert loaded.notes == ("greyscale: the same values fill the red, green and blue channels.",)
    assert (rgb == np.asarray(grey)[..., None]).all()
    bits = read_image(hf.blank_png(16, 16), "bits.png")
    assert bits.notes == ("black-and-white: the same values fill the red, green and blue channels.",)
    assert (np.asarray(bits.image) == 0).all()


def test_thirty_two_bit_and_float_greyscale_are_scaled_by_their_largest_value():
    deep = np.array([[0, 1000], [500, 250]], dtype=np.int32).repeat(8, 0).repeat(8, 1)  # 16 x 16, max 1000
    loaded = read_image(hf._encode(Image.fromarray(deep), "TIFF"), "deep.tif")
    assert loaded.notes == ("32-bit greyscale scaled down to 8 bits.",)
    expected = np.round(deep / 1000 * 255).astype(np.uint8)  # 0, 255, 128 (127.5 to even), 64
    np.testing.assert_array_equal(np.asarray(loaded.image)[..., 1], expected)
    # A float picture whose largest value is under 1 is scaled by 1, not stretched: 0.5 -> 127.5 -> 128.
    faint = read_image(hf._encode(Image.fromarray(np.full((16, 16), 0.5, np.float32)), "TIFF"), "faint.tif")
    assert faint.notes == ("floating-point greyscale scaled down to 8 bits.",)
    assert (np.asarray(faint.image) == 128).all()
    black = read_image(hf._encode(Image.fromarray(np.zeros((16, 16), np.int32)), "TIFF"), "black.tif")
    assert (np.asarray(black.image) == 0).all()


def test_big_endian_sixteen_bit_tiff_is_scaled_not_clipped():
    values = np.arange(256, dtype=np.uint16).reshape(16, 16) * 257  # 0 ... 65535
    source = Image.frombytes("I;16B", (16, 16), values.astype(">u2").tobytes())
    loaded = read_image(hf._encode(source, "TIFF"), "deep.tif")
    assert Image.open(io.BytesIO(hf._encode(source, "TIFF"))).mode == "I;16B"
    assert loaded.notes == ("16-bit greyscale scaled down to 8 bits.",)
    np.testing.assert_array_equal(np.asarray(loaded.image)[..., 0], np.arange(256, dtype=np.uint8).reshape(16, 16))


def test_float_greyscale_is_scaled_in_double_precision_and_negative_values_become_black():
    # 0.3 is stored as 0.30000001 in float32: times 255 that is 76.500003, so 77 (float32 arithmetic gives 76.5 -> 76).
    values = np.array([[0.3, -1.0], [1.0, 0.3]], dtype=np.float32).repeat(8, 0).repeat(8, 1)
    loaded = read_image(hf._encode(Image.fromarray(values), "TIFF"), "float.tif")
    expected = np.array([[77, 0], [255, 77]], dtype=np.uint8).repeat(8, 0).repeat(8, 1)
    np.testing.assert_array_equal(np.asarray(loaded.image)[..., 2], expected)


@pytest.mark.parametrize("mode", ["LA", "PA"])
def test_modes_with_alpha_are_composited_over_white(mode):
    image = Image.new(mode, (16, 16), (0, 0))
    image.paste((1, 255), (8, 0, 16, 16))
    if mode == "PA":
        image.putpalette([0, 0, 0, 200, 30, 10] + [0] * 762)
    loaded = read_image(hf._encode(image, "TIFF"), f"{mode}.tif")
    assert Image.open(io.BytesIO(hf._encode(image, "TIFF"))).mode == mode
    assert loaded.image.getpixel((0, 0)) == (255, 255, 255)
    assert loaded.image.getpixel((12, 0)) == ((1, 1, 1) if mode == "LA" else (200, 30, 10))
    assert loaded.notes == ("transparent areas are shown on white.",)


@pytest.mark.parametrize(("alpha", "expected"), [(0, 255), (128, 157), (255, 60)])
def test_premultiplied_greyscale_alpha_is_composited_over_white(alpha, expected):
    # Grey 60 premultiplied by alpha a is stored as 60 * a / 255; over white it shows 60 * a / 255 + 255 - a:
    # at a = 128 that is 30 + 127 = 157.
    data = hf.tiff_grey_associated_alpha(grey=60 * alpha // 255, alpha=alpha)
    assert Image.open(io.BytesIO(data)).mode == "La"
    loaded = read_image(data, "la.tif")
    values = np.unique(np.asarray(loaded.image))  # one grey everywhere, the same in R, G and B
    assert len(values) == 1 and abs(int(values[0]) - expected) <= 1
    assert loaded.notes == ("transparent areas are shown on white.",)


def test_palette_without_transparency_keeps_its_colours_and_gets_no_note():
    image = Image.new("P", (16, 16), 0)
    image.putpalette([200, 30, 10, 0, 90, 250] + [0] * 762)
    image.paste(1, (8, 0, 16, 16))
    loaded = read_image(hf._encode(image, "PNG"), "palette.png")
    assert loaded.image.getpixel((0, 0)) == (200, 30, 10) and loaded.image.getpixel((12, 0)) == (0, 90, 250)
    assert loaded.notes == ()


def test_two_frame_animation_is_noted():
    frames = [Image.new("RGB", (16, 16), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    data = hf._encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    loaded = read_image(data, "two.gif")
    assert loaded.notes[0] == "animated image: the first of its 2 frames is used."
    assert loaded.image.getpixel((4, 4)) == (255, 0, 0)


def test_greyscale_with_alpha_is_composited_over_white():
    la = Image.new("LA", (32, 32), (0, 0))
    la.paste((100, 255), (16, 0, 32, 32))
    loaded = read_image(hf._encode(la, "PNG"), "la.png")
    assert loaded.image.getpixel((0, 0)) == (255, 255, 255)
    assert loaded.image.getpixel((20, 0)) == (100, 100, 100)
    assert loaded.notes == ("transparent areas are shown on white.",)


def test_plain_rgb_gets_no_note_and_upright_exif_gets_no_note():
    assert read_image(hf.png_bytes(), "plain.png").notes == ()
    exif = Image.Exif()
    exif[0x0112] = 1  # orientation 1: already upright
    upright = read_image(hf._encode(hf.photo(), "JPEG", exif=exif.tobytes()), "upright.jpg")
    assert upright.notes == () and upright.image.size == (64, 48)


def test_notes_say_what_was_done_to_an_upload():
    assert read_image(hf.animated_gif(), "anim.gif").notes[0] == "animated image: the first of its 3 frames is used."
    assert read_image(hf.exif_rotated_jpeg(), "phone.jpg").notes == ("turned upright using its EXIF orientation tag.",)
    assert read_image(hf.cmyk_jpeg(), "print.jpg").notes == ("converted from CMYK (print colours) to RGB.",)


def test_to_rgb_converts_an_already_open_picture():
    image = to_rgb(Image.open(io.BytesIO(hf.palette_png_with_transparency())))
    assert image.mode == "RGB"
    assert image.getpixel((2, 2)) == (255, 255, 255) and image.getpixel((30, 2)) == (0, 0, 255)


def test_a_file_cut_inside_its_header_is_reported_as_truncated():
    with pytest.raises(ImageError) as caught:
        read_image(hf.png_bytes()[:20], "cut.png")  # the IHDR chunk ends after 33 bytes: Pillow fails while opening
    assert str(caught.value) == "cut.png is truncated or corrupt (Truncated File Read)."


def test_every_bundled_sample_loads_as_rgb():
    from resnet_core.samples import SAMPLES, sample_path

    for sample in SAMPLES:
        image = load_image_file(sample_path(sample.key))
        assert image.mode == "RGB" and min(image.size) >= 224
