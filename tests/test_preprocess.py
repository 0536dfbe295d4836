"""Preprocessing: any image → MNIST-style 28×28, for every mode, polarity and transparency."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from examples.make import draw_digits, paper_photo
from serving.decode import InputError, NoDigitError
from serving.preprocess import to_mnist
from training.data import load_mnist


def png_bytes(image: Image.Image, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **params)
    return buffer.getvalue()


def looks_like_mnist(x: np.ndarray) -> None:
    """Shape, range, the 20×20 box and the centre of mass, as LeCun's recipe leaves them."""
    assert x.shape == (28, 28) and x.dtype == np.float32
    assert x.min() >= 0 and x.max() == pytest.approx(1.0)
    rows, cols = np.nonzero(x > 0.05)
    height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
    assert 18 <= max(height, width) <= 22, (height, width)
    mass = x.sum()
    cy = (x.sum(axis=1) * np.arange(28)).sum() / mass
    cx = (x.sum(axis=0) * np.arange(28)).sum() / mass
    assert abs(cy - 14) <= 0.75 and abs(cx - 14) <= 0.75  # where MNIST's centres of mass are


def reference() -> np.ndarray:
    return to_mnist(draw_digits((300, 300), "7", "black", "white", 16))


def similar(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation after a slight blur, so a half-pixel shift of a thin stroke doesn't dominate."""
    def blur(x: np.ndarray) -> np.ndarray:
        p = np.pad(np.asarray(x, np.float64), 1)
        return sum(p[dy : dy + 28, dx : dx + 28] for dy in range(3) for dx in range(3))
    return float(np.corrcoef(blur(a).ravel(), blur(b).ravel())[0, 1])


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA", "P", "PA", "I;16", "CMYK", "1", "I", "F"])
def test_every_pil_mode_gives_the_same_digit(mode):
    base = draw_digits((300, 300), "7", "black", "white", 16).convert("L")
    if mode == "I;16":
        image = Image.fromarray(np.asarray(base).astype(np.uint16) * 257)
    elif mode == "F":
        image = Image.fromarray(np.asarray(base).astype(np.float32) / 255)
    else:
        image = base.convert(mode)
    out = to_mnist(image)
    looks_like_mnist(out)
    assert similar(out, reference()) > 0.9


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP"])
def test_formats_pillow_reads(fmt):
    buffer = io.BytesIO()
    draw_digits((300, 300), "7", "black", "white", 16).save(buffer, fmt)
    assert similar(to_mnist(buffer.getvalue()), reference()) > 0.85


@pytest.mark.parametrize("ink,paper", [
    ("black", "white"),  # pen on paper
    ("white", "black"),  # chalk, MNIST itself
    ((20, 60, 200), (245, 240, 225)),  # blue ballpoint on cream paper
    ((220, 30, 30), (51, 51, 51)),  # Gradio's red brush on the dark theme's #333333
    ((160, 160, 160), (250, 250, 250)),  # faint pencil
])
def test_polarity_and_colours_are_found(ink, paper):
    out = to_mnist(draw_digits((300, 300), "7", ink, paper, 16))
    looks_like_mnist(out)
    assert similar(out, reference()) > 0.85


def test_coloured_strokes_on_transparent_background():
    image = draw_digits((300, 300), "7", (200, 30, 30, 255), (0, 0, 0, 0), 16, mode="RGBA")
    assert similar(to_mnist(png_bytes(image)), reference()) > 0.9
    palette = image.convert("P")  # palette with a transparent index
    assert similar(to_mnist(palette), reference()) > 0.85


def test_uneven_light_shadow_and_jpeg_noise():
    photo = paper_photo(draw_digits((600, 600), "7", (40, 40, 60), (230, 225, 215), 32), seed=0)
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=60)
    out = to_mnist(buffer.getvalue())
    looks_like_mnist(out)
    assert similar(out, reference()) > 0.8
    assert out[:, :3].max() < 0.2 and out[:3].max() < 0.2  # no shadow blobs at the edges


def test_thin_faint_strokes_survive_a_big_canvas():
    out = to_mnist(draw_digits((1200, 1200), "7", (170, 170, 170), "white", 3))
    looks_like_mnist(out)
    assert (out > 0.5).sum() > 25  # the stroke is still there, not noise


def test_exif_rotation_is_applied():
    upright = draw_digits((200, 400), "1", "black", "white", 14)
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # as a phone sensor stores it
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"
    buffer = io.BytesIO()
    stored.save(buffer, "JPEG", exif=exif.tobytes())
    out = to_mnist(buffer.getvalue())
    rows, cols = np.nonzero(out > 0.3)
    assert np.ptp(rows) > 2 * np.ptp(cols)  # a tall 1, not a lying one


def test_mnist_digits_pass_through_nearly_unchanged():
    mnist = load_mnist()
    for image in mnist.test_images[:20]:
        assert similar(to_mnist(image), image / 255) > 0.85


def test_specks_and_frames_are_ignored():
    image = draw_digits((300, 300), "7", "black", "white", 16)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 299, 299), outline="black", width=3)  # a frame at the edge
    draw.ellipse((10, 270, 14, 274), fill="black")  # a speck of dust far away
    assert similar(to_mnist(image), reference()) > 0.9


def test_detached_pieces_stay_with_the_digit():
    image = draw_digits((300, 300), "5", "black", "white", 16)
    gap = Image.new("RGB", (300, 300), "white")
    gap.paste(image.crop((0, 0, 300, 60)), (0, 0))
    gap.paste(image.crop((0, 75, 300, 300)), (0, 75))  # the top bar of the 5, cut loose
    rows, cols = np.nonzero(to_mnist(gap) > 0.3)
    assert rows.min() <= 5  # the bar is still at the top of the 20-px box


@pytest.mark.parametrize("theme_background", [(255, 255, 255, 255), (51, 51, 51, 255)])
def test_strokes_on_a_transparent_field_and_flattened_on_either_theme(theme_background):
    strokes = draw_digits((400, 400), "7", (37, 99, 235, 255), (0, 0, 0, 0), 21, mode="RGBA")
    from_alpha = to_mnist(strokes)
    assert similar(from_alpha, reference()) > 0.9
    flat = Image.alpha_composite(Image.new("RGBA", strokes.size, theme_background), strokes)
    assert similar(to_mnist(np.asarray(flat)), from_alpha) > 0.95


@pytest.mark.parametrize("image", [
    Image.new("L", (300, 300), 255),
    Image.new("L", (300, 300), 0),
    Image.new("RGB", (300, 300), (51, 51, 51)),
    Image.new("RGBA", (300, 300), (0, 0, 0, 0)),
    Image.new("L", (1, 1), 0),
    Image.fromarray(np.random.default_rng(0).normal(200, 3, (300, 300)).clip(0, 255).astype(np.uint8)),
], ids=["white", "black", "dark-grey", "transparent", "1x1", "paper-noise"])
def test_blank_images_are_no_digit_not_a_guess(image):
    with pytest.raises(NoDigitError):
        to_mnist(image)


def test_tiny_images_still_work_when_they_hold_a_digit():
    small = draw_digits((300, 300), "7", "black", "white", 24).resize((10, 10), Image.BOX)
    looks_like_mnist(to_mnist(small))


@pytest.mark.parametrize("payload,message", [
    (b"", "empty"),
    (b"hello, not an image", "not an image"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "not an image"),
], ids=["empty", "text", "svg"])
def test_unreadable_files_say_why(payload, message):
    with pytest.raises(InputError, match=message):
        to_mnist(payload)


def test_truncated_and_bomb_images_are_refused():
    png = png_bytes(draw_digits((300, 300), "7", "black", "white", 16))
    with pytest.raises(InputError, match="truncated|could not be read"):
        to_mnist(png[: len(png) // 2])
    bomb = Image.new("1", (40_000, 40_000))
    with pytest.raises(InputError, match="megapixels"):
        to_mnist(png_bytes(bomb, optimize=True))


def test_small_digit_on_a_big_canvas_is_found():
    canvas = np.full((800, 800), 255, np.uint8)
    canvas[300:400, 400:410] = 0  # a 1 an eighth of the canvas tall: under 0.2% of the pixels
    looks_like_mnist(to_mnist(canvas))


def test_grey_contrast_map_equals_the_colour_path_on_one_channel() -> None:
    """The per-grey-level shortcut gives what the per-pixel colour path gives, ties included."""
    from serving.contrast import contrast_map, grey_contrast_map

    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (int(rng.integers(1, 60)), int(rng.integers(1, 60))), dtype=np.uint8)
              for _ in range(300)]
    images += [np.full((20, 20), 200, np.uint8), np.zeros((1, 1), np.uint8)]
    for low, high in ((0, 8), (100, 140), (250, 256)):  # few levels: many ties
        images += [rng.integers(low, high, (40, 40), dtype=np.uint8) for _ in range(30)]
    for grey in images:
        try:
            expected = contrast_map(grey[..., None])
        except NoDigitError:
            with pytest.raises(NoDigitError):
                grey_contrast_map(grey)
            continue
        assert np.abs(grey_contrast_map(grey) - expected).max() <= 1e-5


def test_small_array_statistics_match_numpy() -> None:
    """The clean path's quantile gives numpy's numbers without its overhead."""
    from serving.stats import quantile

    rng = np.random.default_rng(1)
    for n in (1, 2, 3, 10, 11, 2000):
        for values in (rng.random(n, dtype=np.float32), rng.integers(0, 4, n).astype(np.float32)):
            for q in (0.0, 0.1, 0.5, 0.9, 1.0):
                assert quantile(values, q) == pytest.approx(float(np.quantile(values, q)), abs=1e-7)


@pytest.mark.parametrize("ink, paper", [("black", "white"), ("white", "black"), ("#777777", "#eeeeee")])
def test_a_grey_drawing_is_read_per_grey_level_as_the_per_pixel_path_would(ink, paper):
    """Exactly the per-pixel contrast map and normalization, for a grey picture or a grey one
    in RGB, small or large."""
    from serving.contrast import grey_contrast_map, normalize_ink
    from serving.ink import clean_ink

    for side in (120, 600):
        drawn = draw_digits((512, 384), "38", ink, paper, 20).convert("L")
        grey = np.asarray(drawn.resize((128, 96), Image.Resampling.BOX))  # soft, many levels
        assert len(np.unique(grey)) > 10
        expected = normalize_ink(grey_contrast_map(grey))
        np.testing.assert_array_equal(clean_ink(grey, side), expected)
        np.testing.assert_allclose(clean_ink(np.dstack([grey] * 3), side), expected, atol=1e-5)


def corrupted(data: bytes, rng: np.random.Generator) -> bytes:
    """`data` cut short, or with a few bytes overwritten."""
    if rng.random() < 0.5:
        return data[: int(rng.integers(1, len(data)))]
    damaged = bytearray(data)
    for at in rng.integers(0, len(data), int(rng.integers(1, 12))):
        damaged[at] = int(rng.integers(256))
    return bytes(damaged)


def test_a_damaged_file_is_an_input_error_whatever_the_format():
    examples = Path(__file__).resolve().parent.parent / "examples"
    files = [(examples / name).read_bytes() for name in ("3_marker.png", "4_phone_exif.jpg")]
    for kind in ("GIF", "BMP", "TIFF", "WEBP"):
        out = io.BytesIO()
        draw_digits((64, 64), "7", "black", "white", 4).save(out, kind)
        files.append(out.getvalue())
    rng = np.random.default_rng(0)
    for data in files:
        for _ in range(20):
            try:
                to_mnist(corrupted(data, rng))
            except InputError:
                pass  # the one failure a damaged file may give; any other fails the test
