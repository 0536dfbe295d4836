"""Accuracy on MNIST test digits re-drawn the way users draw them, against the raw 28×28 digits.

Each sampled test digit is re-drawn once, as one of VARIANTS, and read through the serving path
(Predictor.predict_batch); the same digits fed raw give the baseline. Exit status 0 when
re-drawing costs at most MAX_DROP points of accuracy, else 1. Every image is a function of (seed,
test index), so a small --count draws the same pictures for the digits it shares with a full run.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
from PIL import Image, ImageFilter

from bench.common import centred_grid, encoded, made_images_parser, md_table, timed
from serving.card import ModelError
from serving.decode import ImageSource
from serving.predictor import Predictor
from training.data import DataError, load_mnist

MAX_DROP = 0.5  # points of accuracy the re-drawn digits may lose against the raw ones
CHUNK = 200  # images made and read at a time: 200 canvases of 800² RGBA stay well under 1 GB
# Stroke width is changed on a grid FINE times MNIST's, before the digit is enlarged to its
# canvas: fine enough for round pen tips, small enough that a disk filter costs little.
FINE = 4

Colour = tuple[int, int, int]
BLACK: Colour = (0, 0, 0)
WHITE: Colour = (255, 255, 255)
DARK_SKETCH: Colour = (0x33, 0x33, 0x33)  # Gradio's sketch background in the dark theme
GRADIO_BRUSHES: list[Colour] = [(204, 50, 50), (173, 204, 50), (50, 204, 112), (50, 112, 204),
                                (173, 50, 204)]  # gr.Brush's default palette
RESAMPLERS = (Image.Resampling.BILINEAR, Image.Resampling.BICUBIC)


@dataclass(frozen=True)
class Redrawn:
    source: ImageSource  # what a user or API client would send
    ink: np.ndarray  # (H, W) float32 in [0, 1]: the stroke as drawn, kept to check the rendering
    paper: Colour  # background colour the stroke was drawn on
    colour: Colour  # the stroke's colour


def digit_box(digit: np.ndarray) -> np.ndarray:
    """The digit's bounding box out of its 28×28 field, as float ink in [0, 1]."""
    rows, cols = np.flatnonzero(digit.max(axis=1)), np.flatnonzero(digit.max(axis=0))
    return digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.float32) / 255


def upscale(patch: np.ndarray, factor: float, rng: np.random.Generator) -> np.ndarray:
    """Enlarges the ink smoothly; float mode so bicubic overshoot is clipped, not wrapped."""
    h, w = patch.shape
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    resample = RESAMPLERS[int(rng.integers(len(RESAMPLERS)))]
    return np.clip(np.asarray(Image.fromarray(patch, "F").resize(size, resample)), 0, 1)


def random_canvas(rng: np.random.Generator) -> tuple[int, int]:
    """(width, height) of a drawing area: square mostly, as sketch pads are, else up to 4:3."""
    width = int(rng.integers(280, 801))
    if rng.random() < 0.6:
        return width, width
    return width, int(np.clip(width * rng.uniform(0.75, 1.33), 280, 800))


def put(patch: np.ndarray, canvas: tuple[int, int], rng: np.random.Generator,
        spread: float) -> np.ndarray:
    """The patch on an empty canvas; spread 0 = centred, 1 = anywhere it fits whole."""
    width, height = canvas
    h, w = patch.shape
    ink = np.zeros((height, width), np.float32)
    x = round((width - w) * (0.5 + spread * rng.uniform(-0.5, 0.5)))
    y = round((height - h) * (0.5 + spread * rng.uniform(-0.5, 0.5)))
    ink[y : y + h, x : x + w] = patch
    return ink


def disk_filter(patch: np.ndarray, radius: float, grow: bool) -> np.ndarray:
    """Grey dilation (grow) or erosion by a disk, with a margin so growth isn't clipped."""
    r = int(radius)
    if r < 1:
        return patch
    margin = r if grow else 0
    padded = np.pad(patch, r + margin)  # outside the box is paper, so erosion eats the edges too
    h, w = patch.shape[0] + 2 * margin, patch.shape[1] + 2 * margin
    combine = np.maximum if grow else np.minimum
    out = padded[r : r + h, r : r + w].copy()
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if dy * dy + dx * dx <= radius * radius:
                combine(out, padded[r + dy : r + dy + h, r + dx : r + dx + w], out=out)
    return out


def survives(thinned: np.ndarray, box: np.ndarray) -> bool:
    """Whether every solid pixel of the MNIST digit still holds some ink after thinning."""
    h, w = box.shape  # the fine grid is exactly FINE times the box
    coarse = thinned.reshape(h, FINE, w, FINE).mean(axis=(1, 3))
    return bool((coarse[box >= 0.5] > 0.15).all())


def thin(fine: np.ndarray, rng: np.random.Generator, box: np.ndarray) -> np.ndarray:
    """Erodes 0.3–0.6 MNIST pixels a side, backing off until no part of the digit vanishes: MNIST
    strokes are 2–3 pixels wide and some faint, so a fixed erosion would cut some digits apart."""
    radius = rng.uniform(0.3, 0.6) * FINE
    while radius >= 1:
        thinned = disk_filter(fine, radius, grow=False)
        if survives(thinned, box):
            return thinned
        radius -= 0.5
    return fine


def paint(ink: np.ndarray, paper: Colour, colour: Colour) -> np.ndarray:
    """(H, W, 3) uint8: the stroke blended over the paper by its coverage (anti-aliased edges)."""
    p, c = np.asarray(paper, np.float32), np.asarray(colour, np.float32)
    return np.rint(p + (c - p) * ink[..., None]).astype(np.uint8)


def placed(patch: np.ndarray, rng: np.random.Generator, canvas: tuple[int, int], share: tuple[float, float],
           spread: float) -> np.ndarray:
    """Ink scaled to a random share of the canvas height (narrower if the width demands), put on it."""
    height_share, (h, w) = rng.uniform(*share), patch.shape
    fitted = upscale(patch, min(height_share * canvas[1] / h, 0.9 * canvas[0] / w), rng)
    return put(fitted, canvas, rng, spread)


# Each takes a 28×28 uint8 MNIST digit and a generator, and returns the digit re-drawn. They
# also vary the container (array of each shape, PIL image, PNG or JPEG bytes) so the
# decoding paths are exercised too.


def big_canvas(digit: np.ndarray, rng: np.random.Generator) -> Redrawn:
    """The whole 28×28 field enlarged 5–12× and centred on a 280–800 pixel square, as a grey array."""
    field = upscale(digit.astype(np.float32) / 255, rng.uniform(5, 12), rng)
    side = int(rng.integers(max(280, field.shape[0]), 801))
    ink = put(field, (side, side), rng, spread=0)
    return Redrawn(paint(ink, BLACK, WHITE)[..., 0], ink, BLACK, WHITE)


def off_centre(digit: np.ndarray, rng: np.random.Generator) -> Redrawn:
    """30–70% of the canvas height, anywhere on it, white on black RGB."""
    ink = placed(digit_box(digit), rng, random_canvas(rng), (0.3, 0.7), spread=1)
    return Redrawn(paint(ink, BLACK, WHITE), ink, BLACK, WHITE)


def restroked(digit: np.ndarray, rng: np.random.Generator, thick: bool) -> Redrawn:
    """Strokes thickened (sent as a PIL image) or thinned (a grey array), either polarity."""
    canvas, box = random_canvas(rng), digit_box(digit)
    fine = upscale(box, FINE, rng)
    if thick:  # 0.5–1.2 MNIST pixels more a side: strokes a fifth of the digit's height, a marker's
        fine, share = disk_filter(fine, rng.uniform(0.5, 1.2) * FINE, grow=True), (0.4, 0.75)
    else:
        fine, share = thin(fine, rng, box), (0.45, 0.8)
    ink = placed(fine, rng, canvas, share, spread=0.5)
    paper, colour = (BLACK, WHITE) if rng.random() < 0.5 else (WHITE, BLACK)
    picture = paint(ink, paper, colour)
    return Redrawn(Image.fromarray(picture) if thick else picture[..., 0], ink, paper, colour)


def black_on_white(digit: np.ndarray, rng: np.random.Generator) -> Redrawn:
    """Dark ink on light paper, sent as a greyscale PNG file."""
    ink = placed(digit_box(digit), rng, random_canvas(rng), (0.45, 0.8), spread=0.3)
    paper, colour = (int(rng.integers(235, 256)),) * 3, (int(rng.integers(0, 40)),) * 3
    return Redrawn(encoded(Image.fromarray(paint(ink, paper, colour)[..., 0])), ink, paper, colour)


def coloured_ink(digit: np.ndarray, rng: np.random.Generator) -> Redrawn:
    """Red or blue strokes on white, as RGB."""
    ink = placed(digit_box(digit), rng, random_canvas(rng), (0.45, 0.8), spread=0.3)
    colour = GRADIO_BRUSHES[0] if rng.random() < 0.5 else GRADIO_BRUSHES[3]
    return Redrawn(paint(ink, WHITE, colour), ink, WHITE, colour)


def sketch(digit: np.ndarray, rng: np.random.Generator, background: Colour | None) -> Redrawn:
    """A drawing on Gradio's sketch pad as the app hands it to serving: on `background`, the strokes'
    layer the browser sends (RGBA, transparent except the stroke); background None: the drawing
    flattened onto either theme's pad, opaque, as an API client may send it."""
    flat = background is None
    if flat:
        background = WHITE if rng.random() < 0.5 else DARK_SKETCH
    side = int(rng.integers(280, 801))  # the sketch pad is square
    ink = placed(digit_box(digit), rng, (side, side), (0.4, 0.8), spread=0.5)
    # The brush: black (light theme) or white (dark theme) half the time, else a colour of Gradio's palette.
    if rng.random() < 0.5:
        colour = BLACK if background == WHITE else WHITE
    else:
        colour = GRADIO_BRUSHES[int(rng.integers(len(GRADIO_BRUSHES)))]
    if flat:
        opaque = np.dstack([paint(ink, background, colour), np.full(ink.shape, 255, np.uint8)])
        return Redrawn(opaque, ink, background, colour)
    layer = np.zeros(ink.shape + (4,), np.uint8)
    layer[ink > 0, :3] = colour
    layer[..., 3] = np.rint(ink * 255).astype(np.uint8)
    return Redrawn(Image.fromarray(layer, "RGBA"), ink, background, colour)


def lighting(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A multiplicative light field: a gentle gradient across the page and a soft-edged shadow."""
    y, x = centred_grid(shape)
    angle, shadow_angle = rng.uniform(0, 2 * np.pi, 2)
    gradient = 1 + rng.uniform(0.1, 0.25) * (x * np.cos(angle) + y * np.sin(angle))
    along = x * np.cos(shadow_angle) + y * np.sin(shadow_angle)  # the shadow covers one side
    edge, softness = rng.uniform(0.2, 0.45), rng.uniform(0.04, 0.12)
    shadow = rng.uniform(0.15, 0.35) / (1 + np.exp(-(along - edge) / softness))
    return gradient * (1 - shadow)


def photo_jpeg(digit: np.ndarray, rng: np.random.Generator) -> Redrawn:
    """A pen digit on paper photographed: off-white page, shading, noise, blur, JPEG quality 75."""
    scale = rng.uniform(0.6, 1.25)
    landscape = rng.random() < 0.5
    canvas = (round((640 if landscape else 480) * scale), round((480 if landscape else 640) * scale))
    ink = placed(digit_box(digit), rng, canvas, (0.35, 0.6), spread=0.5)
    white = int(rng.integers(205, 240))
    paper: Colour = (white, white - 4, white - 12)  # warm, as paper under indoor light
    colour: Colour = tuple(int(v) for v in rng.integers(20, 70, 3))  # ballpoint or pencil
    pressure = rng.uniform(0.8, 1.0)  # a pen never covers the paper fully
    picture = paint(ink * pressure, paper, colour).astype(np.float32) * lighting(ink.shape, rng)[..., None]
    picture += rng.normal(0, rng.uniform(2, 6), picture.shape).astype(np.float32)
    image = Image.fromarray(np.clip(picture, 0, 255).astype(np.uint8))
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.2)))  # focus and camera shake
    return Redrawn(encoded(image, "JPEG", quality=75), ink, paper, colour)


VARIANTS: dict[str, Callable[[np.ndarray, np.random.Generator], Redrawn]] = {
    "big-canvas": big_canvas,
    "off-centre": off_centre,
    "thick-strokes": partial(restroked, thick=True),
    "thin-strokes": partial(restroked, thick=False),
    "black-on-white": black_on_white,
    "coloured-ink": coloured_ink,
    "sketch-light": partial(sketch, background=WHITE),
    "sketch-dark": partial(sketch, background=DARK_SKETCH),
    "sketch-composite-only": partial(sketch, background=None),
    "sketch-background-only": partial(sketch, background=None),
    "photo-jpeg": photo_jpeg,
}


def redraw(digit: np.ndarray, variant: str, seed: int, index: int) -> Redrawn:
    """Test digit `index` re-drawn as `variant`; the same (seed, index) always gives the same picture."""
    return VARIANTS[variant](digit, np.random.default_rng((seed, index)))


@dataclass(frozen=True)
class Outcome:
    index: int  # in the MNIST test set
    variant: str
    label: int
    raw: int  # the model's answer on the raw 28×28 image
    redrawn: int | None  # its answer through the serving path; None when it refused the input
    error: str | None = None


def sample(count: int, seed: int, total: int) -> list[tuple[int, str]]:
    """(test index, variant) pairs: a seeded random subset, variants dealt out in turn."""
    names = list(VARIANTS)
    order = np.random.default_rng(seed).permutation(total)[:count]
    return [(int(i), names[k % len(names)]) for k, i in enumerate(order)]


def evaluate(predictor: Predictor, images: np.ndarray, labels: np.ndarray, picks: Sequence[tuple[int, str]],
             seed: int) -> list[Outcome]:
    picked = images[np.array([i for i, _ in picks], np.int64)].astype(np.float32) / 255
    raw = np.concatenate([predictor.probabilities(picked[i : i + 1000]).argmax(axis=1)
                          for i in range(0, len(picked), 1000)])
    outcomes = []
    for start in range(0, len(picks), CHUNK):
        chunk = picks[start : start + CHUNK]
        sources = [redraw(images[i], variant, seed, i).source for i, variant in chunk]
        for k, ((i, variant), result) in enumerate(zip(chunk, predictor.predict_batch(sources), strict=True)):
            refused = isinstance(result, Exception)
            outcomes.append(Outcome(i, variant, int(labels[i]), int(raw[start + k]),
                                    None if refused else result.digit, str(result) if refused else None))
    return outcomes


def accuracy(outcomes: Sequence[Outcome], raw: bool = False) -> float:
    right = sum((o.raw if raw else o.redrawn) == o.label for o in outcomes)
    return 100 * right / max(len(outcomes), 1)


def table(outcomes: Sequence[Outcome]) -> str:
    rows = []
    for name in [*VARIANTS, "all"]:
        if picked := [o for o in outcomes if name in ("all", o.variant)]:
            redrawn, raw = accuracy(picked), accuracy(picked, raw=True)
            rows.append(["**all**" if name == "all" else name, len(picked), f"{redrawn:.2f}%", f"{raw:.2f}%",
                         f"{redrawn - raw:+.2f}", sum(o.redrawn is None for o in picked)])
    header = ["variant", "images", "accuracy", "raw accuracy", "delta vs raw (points)", "refused"]
    return md_table(header, rows)


def verdict(outcomes: Sequence[Outcome]) -> tuple[bool, str]:
    redrawn, raw = accuracy(outcomes), accuracy(outcomes, raw=True)
    lost = sum(o.raw == o.label and o.redrawn != o.label for o in outcomes)
    gained = sum(o.raw != o.label and o.redrawn == o.label for o in outcomes)
    passed = raw - redrawn <= MAX_DROP
    text = (f"re-drawn accuracy: {redrawn:.2f}% ({len(outcomes)} images)\n"
            f"raw accuracy:      {raw:.2f}% (the same test digits as 28×28 arrays)\n"
            f"delta: {redrawn - raw:+.2f} points ({lost} lost, {gained} gained by re-drawing)\n"
            f"{'PASS' if passed else 'FAIL'}: re-drawn accuracy must be within {MAX_DROP} points of raw")
    return passed, text


def main(argv: list[str] | None = None) -> int:
    args = made_images_parser(__doc__, 10_000, "test digits to re-draw (default: all)").parse_args(argv)
    try:
        predictor = Predictor(args.model, verify=not args.no_verify)
        mnist = load_mnist()
    except (ModelError, DataError, OSError) as err:
        print(err, file=sys.stderr)
        return 2
    total = len(mnist.test_images)
    if not 1 <= args.count <= total:
        print(f"--count must be between 1 and {total}", file=sys.stderr)
        return 2
    outcomes, seconds = timed(lambda: evaluate(predictor, mnist.test_images, mnist.test_labels,
                                               sample(args.count, args.seed, total), args.seed))
    print(f"model {args.model}, seed {args.seed}: {len(outcomes)} test digits re-drawn and read in "
          f"{seconds:.1f} s ({1000 * seconds / len(outcomes):.1f} ms each)\n")
    print(table(outcomes))
    passed, text = verdict(outcomes)
    print("\n" + text)
    lost = [o for o in outcomes if o.raw == o.label and o.redrawn != o.label]
    if lost:
        print("\nright raw, wrong re-drawn:")
    for o in lost[:20]:
        print(f"  test #{o.index} ({o.variant}, label {o.label}): "
              + (f"refused: {o.error}" if o.redrawn is None else f"read {o.redrawn}"))
    if len(lost) > 20:
        print(f"  ... and {len(lost) - 20} more")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
