"""How the served model reads writing conventions MNIST under-represents.

MNIST test digits get the strokes of CONVENTIONS (flagged 1s, crossed 7s, ...), drawn here as
wobbly PIL polylines on a grid SCALE× MNIST's, apart from the training augmentation
(training/conventions.py), so the benchmark does not grade the model on its own exercises. Exit
status 0 when every convention is read ≥ TARGET, else 1.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw

from bench.common import machine_line, made_images_parser, md_table
from examples.make import pen_line
from serving.card import ModelError
from serving.predictor import Predictor
from training.data import DataError, load_mnist

SCALE = 4  # strokes are drawn on a grid this many times MNIST's, then read as they are
TARGET = 0.98

Point = tuple[float, float]


def stroke_width(digit: np.ndarray) -> float:
    """Pen width of an MNIST digit in its own pixels: inked area over the height of its ink."""
    rows = np.flatnonzero((digit > 127).any(axis=1))
    length = max(1, rows[-1] - rows[0] + 1) if len(rows) else 1
    # A digit's strokes run about twice its height (up and down, or round).
    return float(np.clip((digit > 127).sum() / (2.2 * length), 1.3, 4.0))


def ink_rows(digit: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(digit > 127)
    return int(ys.min()), int(ys.max()), int(xs.min()), int(xs.max())


def centre_of_row(digit: np.ndarray, row: int) -> float:
    cols = np.flatnonzero(digit[int(np.clip(row, 0, 27))] > 127)
    return float(cols.mean()) if len(cols) else 14.0


def wobbly(start: Point, end: Point, rng: np.random.Generator, pieces: int = 4) -> list[Point]:
    """A hand-drawn line: the straight segment with a little sideways wobble at each knot."""
    (x0, y0), (x1, y1) = start, end
    length = math.hypot(x1 - x0, y1 - y0) or 1
    nx, ny = -(y1 - y0) / length, (x1 - x0) / length
    offsets = [0.0, *rng.normal(0, 0.04 * length, pieces - 1), 0.0]  # the ends stay put
    return [(x0 + i / pieces * (x1 - x0) + off * nx, y0 + i / pieces * (y1 - y0) + off * ny)
            for i, off in enumerate(offsets)]


def flag(digit: np.ndarray, rng: np.random.Generator) -> list[list[Point]]:
    top, bottom, _, _ = ink_rows(digit)
    height = bottom - top
    x_top, x_bottom = centre_of_row(digit, top), centre_of_row(digit, bottom)
    slope = math.atan2(x_bottom - x_top, bottom - top)  # the stem's lean from vertical, + = right
    angle = slope - math.radians(rng.uniform(25, 60))  # the flag leaves the stem down and left
    length = height * rng.uniform(0.25, 0.55)
    end = (x_top + length * math.sin(angle), top + length * math.cos(angle))
    strokes = [wobbly((x_top, top), end, rng)]
    if rng.random() < 0.4:
        half = height * rng.uniform(0.15, 0.3)
        strokes.append(wobbly((x_bottom - half, bottom), (x_bottom + half, bottom), rng))
    return strokes


def crossbar(digit: np.ndarray, rng: np.random.Generator) -> list[list[Point]]:
    top, bottom, _, _ = ink_rows(digit)
    y = top + (bottom - top) * rng.uniform(0.4, 0.65)
    x = centre_of_row(digit, round(y))
    half = (bottom - top) * rng.uniform(0.15, 0.3)
    tilt = rng.uniform(-0.1, 0.1) * half
    return [wobbly((x - half, y + tilt), (x + half, y - tilt), rng)]


def inner_stroke(digit: np.ndarray, rng: np.random.Generator) -> list[list[Point]]:
    top, bottom, left, right = ink_rows(digit)
    cx, cy = (left + right) / 2, (top + bottom) / 2
    reach = rng.uniform(0.55, 0.9)
    if rng.random() < 0.5:  # a slash, low left to high right
        return [wobbly((cx - reach * (cx - left), cy + reach * (bottom - cy)),
                       (cx + reach * (right - cx), cy - reach * (cy - top)), rng)]
    return [wobbly((cx, cy + reach * (bottom - cy)), (cx, cy - reach * (cy - top)), rng)]


def base_loop(digit: np.ndarray, rng: np.random.Generator) -> list[list[Point]]:
    top, bottom, left, _ = ink_rows(digit)
    r = (bottom - top) * rng.uniform(0.08, 0.14)
    low = digit[max(top, bottom - (bottom - top) // 4) : bottom + 1] > 127
    x = float(np.flatnonzero(low.any(axis=0)).min()) if low.any() else float(left)
    cx, cy = x + r, bottom - r
    angles = np.linspace(0, 2 * math.pi, 14)
    return [[(cx + r * rng.uniform(0.9, 1.2) * math.cos(a), cy + r * math.sin(a)) for a in angles]]


CONVENTIONS: dict[str, tuple[int, Callable[[np.ndarray, np.random.Generator], list[list[Point]]]]] = {
    "1 with a flag (some with a foot)": (1, flag),
    "7 with a crossbar": (7, crossbar),
    "0 with an inner stroke": (0, inner_stroke),
    "2 with a loop": (2, base_loop),
}


def rewrite(digit: np.ndarray, strokes: list[list[Point]], width: float) -> np.ndarray:
    """The digit enlarged SCALE× with the strokes drawn over it, uint8 white on black."""
    big = Image.fromarray(digit).resize((28 * SCALE, 28 * SCALE), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(big)
    pen = max(2, round(width * SCALE))
    for stroke in strokes:
        pen_line(draw, [((x + 0.5) * SCALE, (y + 0.5) * SCALE) for x, y in stroke], pen, 255)
    return np.asarray(big)

MOST_PER_CONVENTION = 980  # MNIST test's zeros: the fewest of the digits the conventions rewrite


def read(predictor: Predictor, images: list[np.ndarray]) -> np.ndarray:
    return np.array([-1 if isinstance(r, Exception) else r.digit for r in predictor.predict_batch(images)])


def evaluate(predictor: Predictor, count: int,
             seed: int) -> tuple[list[list[object]], dict[str, float], bool]:
    data = load_mnist()
    rows, confusions, passed = [], {}, True
    for name, (label, make) in CONVENTIONS.items():
        rng = np.random.default_rng((seed, label))
        picks = rng.choice(np.flatnonzero(data.test_labels == label), count, replace=False)
        plain = [data.test_images[i] for i in picks]
        written = [rewrite(d, make(d, rng), stroke_width(d)) for d in plain]
        plain_read, written_read = read(predictor, plain), read(predictor, written)
        accuracy = float((written_read == label).mean())
        passed &= accuracy >= TARGET
        rows.append([name, count, f"{100 * (plain_read == label).mean():.1f}%", f"{100 * accuracy:.1f}%"])
        if label == 1:
            confusions["flagged 1 read as 7"] = float((written_read == 7).mean())
        if label == 7:
            confusions["crossed 7 read as 1"] = float((written_read == 1).mean())
            confusions["plain 7 read as 1"] = float((plain_read == 1).mean())
    sevens = data.test_images[data.test_labels == 7]
    confusions["plain 7 read as 1 (all 1,028 test 7s)"] = float((read(predictor, list(sevens)) == 1).mean())
    return rows, confusions, passed


def main(argv: list[str] | None = None) -> int:
    p = made_images_parser(__doc__, 400, "test digits rewritten per convention")
    args = p.parse_args(argv)
    if not 0 < args.count <= MOST_PER_CONVENTION:
        p.error(f"--count must be 1–{MOST_PER_CONVENTION}: each convention rewrites that many different "
                f"MNIST test digits, and the test set holds {MOST_PER_CONVENTION} zeros, the fewest")
    try:
        rows, confusions, passed = evaluate(Predictor(args.model, verify=not args.no_verify),
                                            args.count, args.seed)
    except (ModelError, DataError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{machine_line()}\nmodel: {args.model}\n")
    print(md_table(["convention", "digits", "plain digit read right", "rewritten read right"], rows) + "\n")
    print(md_table(["confusion", "rate"], [[k, f"{100 * v:.2f}%"] for k, v in confusions.items()]))
    print("\nPASS" if passed else f"\nFAIL: every convention must be read ≥ {TARGET:.0%}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
