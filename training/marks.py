"""Marks that are not digits, and digits, drawn as people draw them: the not-a-digit check's data.

Every picture goes through serving's own preprocessing, so the check learns what the served model
is handed, and not the difference between one pipeline and another.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from examples.make import pen_line
from examples.strokes import DIGIT_STROKES, smooth
from serving.decode import InputError
from serving.preprocess import to_mnist

Stroke = list[tuple[float, float]]

# Signs as pen strokes in a unit box (x right, y down). Letters are left out: drawn with this same
# pen and set against ten templates of digits, they taught the check that a hand-drawn stroke it
# had not seen as a digit was a mark, and it flagged clean fine-pen digits.
GLYPHS: dict[str, list[Stroke]] = {
    "X": [[(0.1, 0), (0.9, 1)], [(0.9, 0), (0.1, 1)]],
    "x": [[(0.2, 0.3), (0.8, 1)], [(0.8, 0.3), (0.2, 1)]],
    "=": [[(0.1, 0.35), (0.9, 0.35)], [(0.1, 0.65), (0.9, 0.65)]],
    "+": [[(0.1, 0.5), (0.9, 0.5)], [(0.5, 0.1), (0.5, 0.9)]],
    "#": [[(0.35, 0), (0.3, 1)], [(0.7, 0), (0.65, 1)], [(0.05, 0.35), (0.95, 0.35)],
          [(0.05, 0.65), (0.95, 0.65)]],
    "%": [[(0.85, 0), (0.15, 1)], [(0.2, 0.05), (0.35, 0.15), (0.2, 0.3), (0.08, 0.17), (0.2, 0.05)],
          [(0.8, 0.7), (0.92, 0.83), (0.8, 0.97), (0.65, 0.85), (0.8, 0.7)]],
    "?": [[(0.2, 0.25), (0.45, 0.02), (0.75, 0.15), (0.7, 0.4), (0.5, 0.55), (0.5, 0.75)],
          [(0.5, 0.95), (0.51, 0.97)]],
    "!": [[(0.5, 0), (0.5, 0.72)], [(0.5, 0.94), (0.51, 0.96)]],
    "<": [[(0.85, 0.1), (0.15, 0.5), (0.85, 0.9)]],
    ">": [[(0.15, 0.1), (0.85, 0.5), (0.15, 0.9)]],
    "~": [[(0.05, 0.55), (0.3, 0.4), (0.6, 0.6), (0.95, 0.45)]],
    "@": [[(0.65, 0.4), (0.45, 0.3), (0.35, 0.55), (0.55, 0.65), (0.65, 0.4), (0.7, 0.65), (0.9, 0.5),
           (0.8, 0.15), (0.5, 0.02), (0.15, 0.2), (0.1, 0.6), (0.4, 0.95), (0.8, 0.85)]],
    "tick": [[(0.1, 0.55), (0.35, 0.9), (0.9, 0.05)]],
    "star": [[(0.5, 0), (0.5, 1)], [(0.07, 0.25), (0.93, 0.75)], [(0.93, 0.25), (0.07, 0.75)]],
}


def scribble(rng: np.random.Generator) -> list[Stroke]:
    """A tangle: one stroke turning many times inside the box."""
    return [[tuple(rng.uniform(0, 1, 2)) for _ in range(int(rng.integers(6, 16)))]]


def hatching(rng: np.random.Generator) -> list[Stroke]:
    """Parallel strokes at one angle, and sometimes a second set across them."""
    strokes = []
    for angle in rng.uniform(-math.pi, math.pi, int(rng.integers(1, 3))):
        dx, dy = math.cos(angle) / 2, math.sin(angle) / 2
        for c in np.linspace(-0.35, 0.35, int(rng.integers(3, 8))):
            cx, cy = 0.5 - dy * c * 2, 0.5 + dx * c * 2
            strokes.append([(cx - dx, cy - dy), (cx + dx, cy + dy)])
    return strokes


def dash(rng: np.random.Generator) -> list[Stroke]:
    """A short stroke within 30° of level (a steep one is how a 1 is written)."""
    angle = rng.uniform(-30, 30) * math.pi / 180
    dx, dy = math.cos(angle) / 2, math.sin(angle) / 2
    return [[(0.5 - dx, 0.5 - dy), (0.5 + dx, 0.5 + dy)]]


def wave(rng: np.random.Generator) -> list[Stroke]:
    """A wavy line or zig-zag along the box."""
    turns = int(rng.integers(3, 9))
    return [[(i / turns, 0.5 + (0.25 if i % 2 else -0.25) * rng.uniform(0.4, 1)) for i in range(turns + 1)]]


def spiral(rng: np.random.Generator) -> list[Stroke]:
    turns = rng.uniform(1.5, 3.5)
    angles = np.linspace(0.05, 1, 40) * turns * 2 * math.pi
    radii = np.linspace(0.05, 1, 40) / 2
    return [[(0.5 + r * math.cos(a), 0.5 + r * math.sin(a)) for r, a in zip(radii, angles, strict=True)]]


SHAPES = {"dash": dash, "scribble": scribble, "hatching": hatching, "wave": wave, "spiral": spiral,
          "glyph": lambda rng: GLYPHS[list(GLYPHS)[int(rng.integers(len(GLYPHS)))]]}
KINDS = ("dot", "blob", *SHAPES)


def jittered(strokes: list[Stroke], rng: np.random.Generator, wobble: float = 0.03) -> list[Stroke]:
    """The strokes turned, sheared and stretched a little, each point moved a little, as a hand would."""
    angle, shear = rng.uniform(-0.3, 0.3), rng.uniform(-0.3, 0.3)
    sx, sy = rng.uniform(0.6, 1.2, 2)
    cos, sin = math.cos(angle), math.sin(angle)
    out = []
    for stroke in strokes:
        points = []
        for x, y in stroke:
            x, y = (x - 0.5) * sx + shear * (y - 0.5), (y - 0.5) * sy
            x, y = cos * x - sin * y, sin * x + cos * y
            points.append((0.5 + x + rng.normal(0, wobble), 0.5 + y + rng.normal(0, wobble)))
        out.append(smooth(points, 5) if len(points) > 2 else points)
    return out


def draw(strokes: list[Stroke], rng: np.random.Generator, pen: float | None = None,
         dots: int = 0, filled: bool = False) -> Image.Image:
    """The strokes in dark ink on light paper, at a random size, place and pen."""
    side = int(rng.integers(96, 320))
    box = side * rng.uniform(0.35, 0.85)
    x0, y0 = rng.uniform(0.05 * side, side - box - 0.05 * side, 2)
    pen = pen if pen is not None else box * rng.uniform(0.03, 0.14)
    paper, ink = int(rng.integers(200, 256)), int(rng.integers(0, 90))
    image = Image.new("L", (side, side), paper)
    pencil = ImageDraw.Draw(image)
    for stroke in strokes:
        points = [(x0 + x * box, y0 + y * box) for x, y in stroke]
        if filled:
            pencil.polygon(points, fill=ink)
        pen_line(pencil, points, pen, ink)
    for _ in range(dots):
        r = pen * rng.uniform(0.8, 3)
        x, y = x0 + rng.uniform(0, box), y0 + rng.uniform(0, box)
        pencil.ellipse((x - r, y - r, x + r, y + r), fill=ink)
    return image.filter(ImageFilter.GaussianBlur(rng.uniform(0, 1.2)))


def mark_image(rng: np.random.Generator) -> Image.Image:
    kind = KINDS[int(rng.integers(len(KINDS)))]
    if kind == "dot":  # a tap, or a few
        return draw([], rng, pen=rng.uniform(3, 12), dots=int(rng.integers(1, 4)))
    if kind == "blob":  # a filled patch: a smudge, a blot, a coloured-in box
        corners = [(0.5 + 0.4 * math.cos(a), 0.5 + 0.4 * math.sin(a)) for a in np.linspace(0, 6.3, 7)]
        return draw(jittered([corners], rng, wobble=0.06), rng, filled=True)
    return draw(jittered(SHAPES[kind](rng), rng), rng)


def drawn_digit(digit: int, rng: np.random.Generator) -> Image.Image:
    """A digit as a pen on the pad would draw it (examples.strokes), jittered; some 7s crossed and
    some 1s flagged, as European hands write them."""
    strokes = DIGIT_STROKES[digit]
    if digit == 7 and rng.random() < 0.4:
        strokes = [*strokes, [(0.35, 0.5), (0.75, 0.48)]]
    if digit == 1 and rng.random() < 0.5:
        strokes = [[(0.2, 0.35), *strokes[0][1:]]]
    return draw(jittered(strokes, rng, wobble=0.02), rng)


def mnist_on_paper(image: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """An MNIST digit as dark ink on light paper, scaled up, half of them with a finer pen (a pen on a
    pad is often far finer than MNIST's, and the check must not learn the pen's width)."""
    side = int(rng.integers(56, 240))
    paper = Image.fromarray(255 - image).resize((side, side), Image.BILINEAR)
    if rng.random() < 0.5:
        finer = int(side / 10 * rng.uniform(0.2, 0.6)) // 2 * 2 + 1
        paper = paper.filter(ImageFilter.MaxFilter(finer)) if finer >= 3 else paper
    return paper.filter(ImageFilter.GaussianBlur(rng.uniform(0, 1)))


def pictures(mnist_images: np.ndarray, marks: int, drawn: int,
             seed: int) -> Iterator[tuple[int, Image.Image]]:
    """(label, picture), one at a time: 0 for a digit (every MNIST image given, and `drawn`
    pad-like digits), 1 for a mark (`marks` of them)."""
    rng = np.random.default_rng(seed)
    for image in mnist_images:
        yield 0, mnist_on_paper(image, rng)
    for _ in range(drawn):
        yield 0, drawn_digit(int(rng.integers(10)), rng)
    for _ in range(marks):
        yield 1, mark_image(rng)


def make_set(mnist_images: np.ndarray, marks: int, drawn: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """pictures(...) as serving hands them to the digit model, (N, 28, 28) float32, and their labels;
    one in which serving finds nothing to read is left out."""
    inputs, labels = [], []
    for label, picture in pictures(mnist_images, marks, drawn, seed):
        try:
            inputs.append(to_mnist(picture))
        except InputError:
            continue
        labels.append(label)
    return np.stack(inputs).astype(np.float32), np.array(labels, np.int64)
