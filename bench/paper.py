"""Accuracy on phone photos of digits written on notebook paper, made here with a fixed seed.

What the photos hold and what is measured: docs/photos.md ("What it reads"). Exit status 0 when
every target is met, else 1. --figure draws that page's picture. --page reads the same photos as the
page reader does (python -m serving --page): right when it finds that one digit and nothing else.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from bench.common import centred_grid, encoded, machine_line, made_images_parser, md_table, timed
from bench.redrawn import FINE, digit_box, disk_filter, thin, upscale
from examples.make import pen_line
from examples.strokes import digit_strokes
from serving.card import ModelError
from serving.contrast import border_pixels, contrast_map, normalize_ink
from serving.decode import open_image, shrink
from serving.explain import seen_pixels
from serving.ink import WORK_SIDE, InkMap, ink_map
from serving.preprocess import digit_and_others, to_mnist
from serving.reader import Reader
from serving.result import PHOTO_UNSURE_BELOW, UNSURE_BELOW
from training.data import DataError, load_mnist

PAPERS = ("plain", "ruled", "squared", "dotted")
INKS = ("blue", "black", "pencil")
SIZES = ((0.10, 0.20), (0.20, 0.35), (0.35, 0.60))  # digit height as a share of the photo's
TARGET_OVERALL, TARGET_EACH = 0.98, 0.95
REFRAMES = 20  # framings tried for a page whose writing must stay in the photo ...
FRAME_MARGIN = 0.01  # ... clear of its sides by this share of the longer one


@dataclass(frozen=True)
class Photo:
    jpeg: bytes
    label: int
    paper: str
    ink: str
    height_share: float


def mnist_ink(digit: np.ndarray, height: int, rng: np.random.Generator) -> np.ndarray:
    """An MNIST digit's own strokes at `height` pixels, thinned towards a pen's width."""
    box = np.pad(digit_box(digit), 1)  # a margin, so no stroke is cut flat at the box's edge
    fine = upscale(box, FINE, rng)
    if rng.random() < 0.7:
        fine = thin(fine, rng, box)
    elif rng.random() < 0.5:
        fine = disk_filter(fine, rng.uniform(1, 3), grow=True)
    return upscale(fine, height / fine.shape[0], rng)


def template_ink(label: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """The project's pen strokes for `label`, jittered and slanted, with a pen of 2–7 pixels."""
    width = round(height * rng.uniform(0.5, 0.75))
    pen = int(rng.integers(2, 8)) * 2  # drawn at twice the size (a margin of a pen's width), then halved
    slant = rng.uniform(-0.25, 0.25)
    strokes = []
    for stroke in digit_strokes(label, pen, pen, 2 * width, 2 * height):
        jitter = rng.normal(0, 0.025 * height, (len(stroke), 2))
        strokes.append([(x + slant * (height + pen - y) + jx, y + jy)
                        for (x, y), (jx, jy) in zip(stroke, jitter, strict=True)])
    return reduced_strokes(strokes, (width + pen, height + pen), pen, 2)


def reduced_strokes(strokes: list[list[tuple[float, float]]], size: tuple[int, int], width: float,
                    scale: int = FINE) -> np.ndarray:
    """Ink coverage in 0–1 of `size` (w, h): the strokes (in pixels of the size × scale canvas) drawn
    `scale` times larger with a pen `width` wide there, then reduced, so that their edges are soft."""
    image = Image.new("L", (size[0] * scale, size[1] * scale), 0)
    draw = ImageDraw.Draw(image)
    for stroke in strokes:
        pen_line(draw, stroke, width, 255)
    return np.asarray(image.resize(size, Image.Resampling.BOX), np.float32) / 255


def ink_texture(coverage: np.ndarray, ink: str, rng: np.random.Generator) -> np.ndarray:
    """Pencil is grainy and uneven; a ballpoint nearly covers the paper where it passes."""
    if ink != "pencil":
        return coverage * rng.uniform(0.85, 1.0)
    h, w = coverage.shape
    grain = rng.uniform(0.55, 1.0, (h, w)).astype(np.float32)
    blotch = np.asarray(Image.fromarray(rng.uniform(0.5, 1.0, (max(1, h // 24), max(1, w // 24)))
                                        .astype(np.float32), "F").resize((w, h), Image.Resampling.BILINEAR))
    return coverage * grain * blotch * rng.uniform(0.55, 0.9)


INK_COLOURS: dict[str, Callable[[np.random.Generator], np.ndarray]] = {
    "blue": lambda rng: np.array([rng.integers(15, 60), rng.integers(30, 80), rng.integers(120, 190)]),
    "black": lambda rng: np.full(3, rng.integers(15, 50)) + rng.integers(0, 10, 3),
    "pencil": lambda rng: np.full(3, rng.integers(60, 110)) + rng.integers(0, 8, 3),
}


def pattern(size: tuple[int, int], paper: str,
            rng: np.random.Generator) -> list[tuple[Image.Image, np.ndarray]]:
    """The page's printed pattern as (coverage image, colour) pairs, drawn at 2× for smooth lines."""
    w, h = size
    layers = []
    spacing = 2 * h * rng.uniform(0.035, 0.07) if paper == "ruled" else 2 * h * rng.uniform(0.022, 0.045)
    line = round(rng.uniform(1.5, 4))
    colour = np.array([rng.integers(120, 190), rng.integers(160, 205), rng.integers(200, 240)])
    if paper in ("ruled", "squared", "dotted"):
        image = Image.new("L", (2 * w, 2 * h), 0)
        draw = ImageDraw.Draw(image)
        rows = np.arange(rng.uniform(0, spacing), 2 * h, spacing)
        cols = np.arange(rng.uniform(0, spacing), 2 * w, spacing)
        if paper == "dotted":
            r = rng.uniform(1.5, 3.5)
            for y in rows:
                for x in cols:
                    draw.ellipse((x - r, y - r, x + r, y + r), fill=int(rng.integers(140, 256)))
        else:
            for y in rows:
                draw.line((0, y, 2 * w, y), fill=255, width=line)
            if paper == "squared":
                for x in cols:
                    draw.line((x, 0, x, 2 * h), fill=255, width=line)
        layers.append((image, colour if paper != "dotted" else np.full(3, rng.integers(120, 170))))
    if paper == "ruled" and rng.random() < 0.6:
        margin = Image.new("L", (2 * w, 2 * h), 0)
        x = 2 * w * rng.uniform(0.06, 0.18)
        ImageDraw.Draw(margin).line((x, 0, x, 2 * h), fill=255, width=line + 1)
        red = np.array([rng.integers(200, 235), rng.integers(70, 120), rng.integers(80, 130)])
        layers.append((margin, red))
    return [(image.resize(size, Image.Resampling.BOX), colour) for image, colour in layers]


def holes(picture: np.ndarray, desk: np.ndarray, rng: np.random.Generator) -> None:
    """Punched holes down the left edge of ruled paper, showing the desk."""
    h, w = picture.shape[:2]
    r = w * rng.uniform(0.015, 0.03)
    cx = w * rng.uniform(0.025, 0.05)
    yy, xx = np.mgrid[0:h, 0:w]
    for cy in (h * 0.2, h * 0.5, h * 0.8):
        picture[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = desk


def lighting(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Light across the page: a gradient, a vignette, often a shadow with a sharp or soft edge."""
    y, x = centred_grid(shape)
    angle, shadow_angle = rng.uniform(0, 2 * np.pi, 2)
    light = 1 + rng.uniform(0.05, 0.3) * (x * np.cos(angle) + y * np.sin(angle))
    light *= 1 - rng.uniform(0, 0.25) * (x * x + y * y)
    if rng.random() < 0.6:
        along = x * np.cos(shadow_angle) + y * np.sin(shadow_angle)
        edge, softness = rng.uniform(-0.3, 0.35), rng.choice([0.004, 0.015, 0.06])
        light *= 1 - rng.uniform(0.2, 0.5) / (1 + np.exp(-(along - edge) / softness))
    return light


def framing(size: tuple[int, int], rng: np.random.Generator, tilt: bool) -> tuple[float, tuple]:
    """How the phone frames the page: turned by an angle (half the time if `tilt`), then a little
    perspective (the coefficients of the map from output to input pixels)."""
    angle = rng.uniform(-4, 4) if tilt and rng.random() < 0.5 else 0.0
    w, h = size
    shrink = rng.uniform(0.0, 0.1) if rng.random() < 0.5 else 0.0
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)
    moved = corners + rng.normal(0, 0.02, (4, 2)) * [w, h]
    moved = (moved - [w / 2, h / 2]) * (1 - shrink) + [w / 2, h / 2] + rng.normal(0, shrink / 2, 2) * [w, h]
    # Solved from the four corner pairs.
    rows = [row for (x, y), (u, v) in zip(moved, corners, strict=True)
            for row in ([x, y, 1, 0, 0, 0, -u * x, -u * y], [0, 0, 0, x, y, 1, -v * x, -v * y])]
    return angle, tuple(np.linalg.solve(np.array(rows), corners.reshape(-1)))


def framed(image: Image.Image, angle: float, coefficients: tuple, fill: int | tuple[int, ...]) -> Image.Image:
    """The image as `framing` framed it; where the page doesn't reach, `fill` (the desk) shows."""
    if angle:
        image = image.rotate(angle, Image.Resampling.BICUBIC, fillcolor=fill)
    return image.transform(image.size, Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BICUBIC,
                           fillcolor=fill)


def all_in_frame(writing: np.ndarray, angle: float, coefficients: tuple) -> bool:
    """Whether framing keeps all the writing (ink coverage) in the photo, clear of its sides: each
    ink pixel taken forward through the turn and the perspective (the inverses of the maps PIL
    applies from output to input pixels)."""
    h, w = writing.shape
    ys, xs = np.nonzero(writing > 0.05)
    centre = np.array([w / 2, h / 2])
    a = -np.radians(angle)
    turn = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
    turned = (np.stack([xs, ys], 1) + 0.5 - centre) @ np.linalg.inv(turn).T + centre
    seen = np.c_[turned, np.ones(len(turned))] @ np.linalg.inv(np.append(coefficients, 1).reshape(3, 3)).T
    x, y = seen[:, 0] / seen[:, 2], seen[:, 1] / seen[:, 2]
    m = FRAME_MARGIN * max(w, h)
    return bool(((x >= m) & (x <= w - m) & (y >= m) & (y <= h - m)).all())


def make_photo(digit: np.ndarray, label: int, paper: str, ink: str, rng: np.random.Generator) -> Photo:
    w, h = (600, 800) if rng.random() < 0.7 else (800, 600)
    scale = rng.choice([0.8, 1.0, 1.0, 1.5])
    w, h = round(w * scale), round(h * scale)
    share = rng.uniform(*SIZES[int(rng.integers(len(SIZES)))])
    height = round(share * h)
    strokes = mnist_ink(digit, height, rng) if rng.random() < 0.6 else template_ink(label, height, rng)
    fit = min(1.0, 0.7 * w / strokes.shape[1], 0.8 * h / strokes.shape[0])
    if fit < 1:  # a wide digit in a narrow photo: smaller, never cut
        strokes = upscale(strokes, fit, rng)
    coverage = np.zeros((h, w), np.float32)
    sh, sw = strokes.shape
    y0 = int(rng.integers(int(0.08 * h), max(int(0.08 * h) + 1, h - sh - int(0.08 * h))))
    x0 = int(rng.integers(int(0.15 * w), max(int(0.15 * w) + 1, w - sw - int(0.08 * w))))
    coverage[y0 : y0 + sh, x0 : x0 + sw] = strokes[:sh, :sw]
    picture, desk = on_paper(coverage, paper, ink, rng)
    if paper == "ruled" and rng.random() < 0.3:
        holes(picture, desk, rng)
    return Photo(photographed(picture, desk, rng), label, paper, ink, share)


def on_paper(coverage: np.ndarray, paper: str, ink: str,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Ink coverage (0–1) written in `ink` on `paper`: the picture (float RGB) and the desk's colour."""
    coverage = ink_texture(coverage, ink, rng)
    h, w = coverage.shape
    white = rng.uniform(215, 250)
    picture = np.full((h, w, 3), [white, white - rng.uniform(0, 8), white - rng.uniform(2, 18)], np.float32)
    for layer, colour in pattern((w, h), paper, rng):
        a = np.asarray(layer, np.float32)[..., None] / 255 * rng.uniform(0.5, 1.0)
        picture = picture * (1 - a) + colour * a
    c = coverage[..., None]
    picture = picture * (1 - c) + INK_COLOURS[ink](rng) * c
    return picture, rng.integers(40, 160, 3)


def photographed(picture: np.ndarray, desk: np.ndarray, rng: np.random.Generator,
                 tilt: bool = False, writing: np.ndarray | None = None) -> bytes:
    """The page (float RGB) as a phone photographs it: turned a little half the time if `tilt`, a
    little perspective, uneven light, noise, blur, JPEG. Given the `writing` (ink coverage), framed
    again until none of it falls outside the photo (a reader can't read what isn't there)."""
    image = Image.fromarray(np.clip(picture, 0, 255).astype(np.uint8))
    for _ in range(REFRAMES):
        angle, coefficients = framing(image.size, rng, tilt)
        if writing is None or all_in_frame(writing, angle, coefficients):
            break
    image = framed(image, angle, coefficients, tuple(int(v) for v in desk))
    lit = np.asarray(image, np.float32) * lighting((image.height, image.width), rng)[..., None]
    lit += rng.normal(0, rng.uniform(1.5, 5), lit.shape).astype(np.float32)
    image = Image.fromarray(np.clip(lit, 0, 255).astype(np.uint8))
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.4)))
    return encoded(image, "JPEG", quality=int(rng.integers(60, 93)))


def photos(count: int, seed: int) -> list[Photo]:
    """`count` photos, papers and inks in turn, digits drawn from the MNIST test set."""
    data = load_mnist()
    picks = np.random.default_rng(seed).choice(len(data.test_labels), count, replace=False)
    return [make_photo(data.test_images[index], int(data.test_labels[index]), PAPERS[i % len(PAPERS)],
                       INKS[(i // len(PAPERS)) % len(INKS)], np.random.default_rng((seed, int(index))))
            for i, index in enumerate(picks)]


def size_name(photo: Photo) -> str:
    low, high = next((size for size in SIZES if photo.height_share < size[1]), SIZES[-1])
    return f"{low:.0%}–{high:.0%}"


DIGIT_UNSURE = (f'"not sure" note (confidence < {PHOTO_UNSURE_BELOW:.0%} on photos of paper, '
                f"< {UNSURE_BELOW:.0%} on drawings)")
PAGE_UNSURE = '"unsure" on a character of the page (or nothing read)'


def report(results: list[tuple[Photo, bool, bool]], flag: str = DIGIT_UNSURE) -> tuple[str, bool]:
    """The tables, and whether the targets are met; results are (photo, read right, flagged as not
    sure), `flag` says what flags an answer."""
    def rows(key: Callable[[Photo], str], names: Sequence[str]) -> list[list[object]]:
        hits = {name: [ok for p, ok, _ in results if key(p) == name] for name in names}
        return [[name, len(h), sum(h), f"{100 * sum(h) / max(1, len(h)):.1f}%"] for name, h in hits.items()]

    columns = ["photos", "right", "accuracy"]
    by_paper, by_ink = rows(lambda p: p.paper, PAPERS), rows(lambda p: p.ink, INKS)
    sizes = rows(size_name, [f"{low:.0%}–{high:.0%}" for low, high in SIZES])
    wrong = [unsure for _, ok, unsure in results if not ok]
    right = [unsure for _, ok, unsure in results if ok]
    overall = len(right) / len(results)
    lines = [
        f"overall: {len(right)}/{len(results)} = {100 * overall:.2f}%", "",
        md_table(["paper", *columns], by_paper), "",
        md_table(["ink", *columns], by_ink), "",
        md_table(["digit height", *columns], sizes), "",
        f"{flag}: catches {sum(wrong)} of {len(wrong)} misreads; "
        f"flags {sum(right)} of {len(right)} right answers",
    ]
    worst = min(row[2] / max(1, row[1]) for row in by_paper + by_ink)
    return "\n".join(lines), overall >= TARGET_OVERALL and worst >= TARGET_EACH


FIGURE_PICKS = (("ruled", "blue"), ("squared", "pencil"), ("dotted", "black"))
FIGURE_SIDE = 180  # pixels per panel


def flatten_uneven_paper(t: np.ndarray) -> np.ndarray:
    """What the app did to uneven paper before the paper path: subtract a smooth background (the
    contrast map opened with a window wider than any stroke), unless the border is clean."""
    if np.percentile(border_pixels(t), 90) < 0.12:
        return t
    small = Image.fromarray((t * 255).astype(np.uint8)).resize(
        (max(1, t.shape[1] // 5), max(1, t.shape[0] // 5)), Image.Resampling.BOX)
    background = small.filter(ImageFilter.MinFilter(9)).filter(ImageFilter.MaxFilter(9))
    background = background.filter(ImageFilter.BoxBlur(2)).resize(
        (t.shape[1], t.shape[0]), Image.Resampling.BILINEAR)
    return np.clip(t - np.asarray(background, np.float32) / 255, 0, 1)


def drawings_path_input(jpeg: bytes) -> np.ndarray:
    """What the model would see of a photo without the paper path: the drawings' contrast split
    as it was before that path, read at 128 px."""
    small = shrink(open_image(jpeg), WORK_SIDE)
    ink = normalize_ink(flatten_uneven_paper(contrast_map(np.asarray(small))))
    return digit_and_others(InkMap(ink))[0]


def panel(picture: Image.Image) -> Image.Image:
    """`picture` fitted in a FIGURE_SIDE square (28×28 inputs enlarged without smoothing)."""
    resample = Image.Resampling.NEAREST if picture.width <= 28 else Image.Resampling.BOX
    scale = FIGURE_SIDE / max(picture.size)
    return picture.resize((round(picture.width * scale), round(picture.height * scale)), resample)


def figure(made: list[Photo], out: Path) -> None:
    """For each FIGURE_PICKS kind, the photo with the largest digit among its first ten (big
    enough to see in a thumbnail): the photo, the drawings' path's input, the ink found, and the
    model's input now."""
    kinds = [[p for p in made if (p.paper, p.ink) == kind][:10] for kind in FIGURE_PICKS]
    picks = [max(photos, key=lambda p: p.height_share) for photos in kinds if photos]
    titles = ("photo", "without the paper path", "ink found (paper path)", "what the model sees")
    sheet = Image.new("RGB", (10 + (FIGURE_SIDE + 10) * 4, 30 + (FIGURE_SIDE + 10) * len(picks)), "white")
    draw = ImageDraw.Draw(sheet)
    for column, title in enumerate(titles):
        draw.text((10 + (FIGURE_SIDE + 10) * column, 10), title, fill="black")
    for row, photo in enumerate(picks):
        found = ink_map(photo.jpeg)
        seen = [seen_pixels(a) for a in (drawings_path_input(photo.jpeg), found.ink, to_mnist(photo.jpeg))]
        pictures = [Image.open(io.BytesIO(photo.jpeg)).convert("RGB"), *map(Image.fromarray, seen)]
        for column, picture in enumerate(pictures):
            sheet.paste(panel(picture), (10 + (FIGURE_SIDE + 10) * column, 30 + (FIGURE_SIDE + 10) * row))
    sheet.save(out, optimize=True)


def digit_results(reader: Reader, made: list[Photo]) -> list[tuple[Photo, bool, bool]]:
    """(photo, read right, flagged unsure) by the single-digit path, in one batch."""
    answers = reader.read_digits([photo.jpeg for photo in made])
    return [(photo, not isinstance(a, Exception) and a.digit == photo.label,
             isinstance(a, Exception) or a.unsure) for photo, a in zip(made, answers, strict=True)]


def page_results(reader: Reader, made: list[Photo]) -> list[tuple[Photo, bool, bool]]:
    """(photo, read right, flagged unsure) by the page reader: right when its one number is the digit."""
    out = []
    for photo in made:
        numbers = reader.read_page(photo.jpeg).numbers
        right = [n.number for n in numbers] == [str(photo.label)]
        out.append((photo, right, not numbers or any(c.unsure for n in numbers for c in n.characters)))
    return out


def main(argv: list[str] | None = None) -> int:
    p = made_images_parser(__doc__, 2000)
    p.add_argument("--figure", type=Path, default=None, help="draw the README's picture here (PNG)")
    p.add_argument("--page", action="store_true", help="read each photo as a page (the page reader)")
    args = p.parse_args(argv)
    try:
        reader = Reader(args.model, verify=not args.no_verify)
        made, made_s = timed(lambda: photos(args.count, args.seed))
    except (ModelError, DataError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    read = page_results if args.page else digit_results
    results, read_s = timed(lambda: read(reader, made))
    text, passed = report(results, PAGE_UNSURE if args.page else DIGIT_UNSURE)
    how = "as pages " if args.page else ""
    print(f"{machine_line()}\n{len(made)} photos made in {made_s:.1f} s, read {how}in {read_s:.1f} s "
          f"({1000 * read_s / len(made):.1f} ms each)\n\n{text}")
    if args.figure:
        figure(made, args.figure)
    print("PASS" if passed else f"FAIL: targets are ≥ {TARGET_OVERALL:.0%} overall and ≥ "
          f"{TARGET_EACH:.0%} for every paper and ink")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
