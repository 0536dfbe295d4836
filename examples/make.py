"""Makes the example images the demo offers: python -m examples.make

Every image is drawn here from examples/strokes.py (no third-party pictures), imitating how
people send digits.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from examples.strokes import digit_strokes

HERE = Path(__file__).resolve().parent


def pen_line(draw: ImageDraw.ImageDraw, points: Sequence[tuple[float, float]], width: float, fill) -> None:
    """A stroke of a round-tipped pen through `points` (a dot when there is one point)."""
    if len(points) > 1:
        draw.line(list(points), fill=fill, width=max(1, round(width)), joint="curve")
    r = width / 2
    for x, y in (points[0], points[-1]):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)


def draw_digits(size: tuple[int, int], digits: str, ink, paper, pen: int, mode: str = "RGB",
                slant: float = 0.0) -> Image.Image:
    image = Image.new(mode, size, paper)
    draw = ImageDraw.Draw(image)
    w, h = size
    cell = w / (len(digits) + 0.6)
    for i, ch in enumerate(digits):
        box = (cell * (0.3 + i) + cell * 0.12, h * 0.15, cell * 0.76, h * 0.7)
        for stroke in digit_strokes(int(ch), *box):
            pen_line(draw, [(x + slant * (y - h / 2), y) for x, y in stroke], pen, ink)
    return image


def paper_photo(image: Image.Image, seed: int) -> Image.Image:
    """Uneven light, a soft shadow and sensor noise, as a phone photo of paper has."""
    rng = np.random.default_rng(seed)
    a = np.asarray(image, np.float32)
    h, w = a.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    light = 1.0 - 0.25 * (xx / w) - 0.1 * (yy / h)
    shadow = 1 - 0.3 * np.exp(-(((xx - 0.15 * w) / (0.25 * w)) ** 2 + ((yy - 0.85 * h) / (0.3 * h)) ** 2))
    a = a * (light * shadow)[..., None] + rng.normal(0, 6, a.shape)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.8))


def save_jpeg(image: Image.Image, path: Path, exif_orientation: int | None = None) -> None:
    exif = Image.Exif()
    if exif_orientation:
        exif[0x0112] = exif_orientation
    image.save(path, "JPEG", quality=80, exif=exif.tobytes())


def main() -> None:
    draw_digits((400, 400), "3", "black", "white", 26).save(HERE / "3_marker.png")
    save_jpeg(paper_photo(draw_digits((600, 600), "7", (30, 50, 160), (235, 230, 220), 7), 1),
              HERE / "7_ballpoint_photo.jpg")
    draw_digits((300, 300), "2", (150, 150, 150), (250, 250, 250), 3, slant=0.1).save(
        HERE / "2_pencil.png")
    draw_digits((400, 400), "5", (235, 235, 225), (35, 60, 45), 20).save(HERE / "5_chalkboard.png")
    draw_digits((400, 400), "8", (220, 40, 40, 255), (0, 0, 0, 0), 22, mode="RGBA").save(
        HERE / "8_transparent.png")
    # Stored sideways (as a phone's sensor does) with EXIF "rotate 90° clockwise to view".
    upright = paper_photo(draw_digits((480, 640), "4", (20, 20, 20), (240, 238, 230), 12), 2)
    save_jpeg(upright.transpose(Image.Transpose.ROTATE_90), HERE / "4_phone_exif.jpg", 6)
    draw_digits((900, 300), "2026", "black", "white", 18).save(HERE / "number_2026.png")
    save_jpeg(paper_photo(draw_digits((1000, 320), "1984", (25, 40, 140), (236, 232, 222), 9), 3),
              HERE / "number_1984_photo.jpg")


if __name__ == "__main__":
    main()
