"""Digits written in printed boxes: one digit in a form's field, a number one digit a comb box.

Scans made here with a fixed seed from MNIST *test* digits, sometimes touching the box. Prints
digits read right (read_digit) and rows read exactly (read_number and read_page).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from bench.common import made_images_parser, md_table
from serving import Reader
from training.data import load_mnist

INKS = ((20, 30, 120), (15, 15, 20), (60, 60, 70))  # blue and black ballpoint, soft pencil


def paper(width: int, height: int, rng: np.random.Generator) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGB", (width, height), tuple(int(v) for v in rng.integers(238, 256, 3)))
    return image, ImageDraw.Draw(image)


def write(image: Image.Image, digit: np.ndarray, box: tuple[float, float, float, float],
          rng: np.random.Generator) -> None:
    """An MNIST digit in the box (x0, y0, x1, y1), filling 55–85% of its height, in pen ink."""
    x0, y0, x1, y1 = box
    side = int((y1 - y0) * rng.uniform(0.75, 1.15))  # MNIST's 28 px hold the digit in their 20
    coverage = Image.fromarray(digit).resize((side, side), Image.BILINEAR)
    cx = (x0 + x1) / 2 + rng.uniform(-0.1, 0.1) * (x1 - x0)
    cy = (y0 + y1) / 2 + rng.uniform(-0.08, 0.08) * (y1 - y0)
    ink = Image.new("RGB", coverage.size, INKS[int(rng.integers(len(INKS)))])
    image.paste(ink, (int(cx - side / 2), int(cy - side / 2)), coverage)


def scanned(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0, 0.8)))
    noise = rng.normal(0, rng.uniform(0, 5), (image.height, image.width, 1))
    return Image.fromarray(np.clip(np.asarray(image) + noise, 0, 255).astype(np.uint8))


def field(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """One digit in a printed box well inside the picture."""
    side = int(rng.integers(70, 150))
    width = side + int(rng.integers(40, 200))
    height = int(side * rng.uniform(1.0, 1.3)) + int(rng.integers(40, 160))
    image, pen = paper(width, height, rng)
    x0, y0 = int(rng.integers(15, width - side - 15)), int(rng.integers(15, height - side - 15))
    print_colour = tuple(int(v) for v in rng.integers(0, 90, 3))
    pen.rectangle((x0, y0, x0 + side, y0 + side), outline=print_colour, width=int(rng.integers(1, 4)))
    write(image, digit, (x0, y0 + 0.1 * side, x0 + side, y0 + 0.9 * side), rng)
    return scanned(image, rng)


def comb(digits: list[np.ndarray], rng: np.random.Generator) -> Image.Image:
    """A row of cells, one digit in each: closed boxes sharing their sides, or a comb's teeth."""
    cell = int(rng.integers(45, 80))
    tall = int(cell * rng.uniform(1.15, 1.5))
    margin = int(rng.integers(20, 60))
    image, pen = paper(cell * len(digits) + 2 * margin, tall + 2 * margin, rng)
    colour, line = tuple(int(v) for v in rng.integers(0, 90, 3)), int(rng.integers(1, 4))
    x0, y0, y1 = margin, margin, margin + tall
    closed = rng.random() < 0.5
    pen.line((x0, y1, x0 + cell * len(digits), y1), fill=colour, width=line)
    if closed:
        pen.line((x0, y0, x0 + cell * len(digits), y0), fill=colour, width=line)
    for k in range(len(digits) + 1):
        x = x0 + k * cell
        pen.line((x, y0 if closed else y1 - tall * rng.uniform(0.3, 0.45), x, y1), fill=colour, width=line)
    for k, digit in enumerate(digits):
        write(image, digit, (x0 + k * cell, y0 + 0.12 * tall, x0 + (k + 1) * cell, y1 - 0.1 * tall), rng)
    return scanned(image, rng)


def cases(count: int, seed: int) -> Iterator[tuple[str, Image.Image, str]]:
    """(kind, picture, truth): `count` fields and `count` rows."""
    data = load_mnist()
    images, labels = data.test_images, data.test_labels
    rng = np.random.default_rng(seed)
    for _ in range(count):
        i = int(rng.integers(len(images)))
        yield "field", field(images[i], rng), str(labels[i])
    for _ in range(count):
        picks = rng.integers(len(images), size=int(rng.integers(3, 7)))
        yield "comb", comb([images[i] for i in picks], rng), "".join(str(labels[i]) for i in picks)


def main(argv: list[str] | None = None) -> int:
    args = made_images_parser(__doc__, 300, "fields, and as many rows of boxes").parse_args(argv)
    reader = Reader(args.model, verify=not args.no_verify)
    right = {"field": [], "comb": [], "comb (page)": []}
    for kind, picture, truth in cases(args.count, args.seed):
        if kind == "field":
            right["field"].append(str(reader.read_digit(picture).digit) == truth)
        else:
            right["comb"].append(reader.read_number(picture).number == truth)
            right["comb (page)"].append([n.number for n in reader.read_page(picture).numbers] == [truth])
    print(md_table(["what", "read right"], [(f"{what} ({len(hits)})", f"{100 * np.mean(hits):.1f}%")
                                           for what, hits in right.items()], "ll"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
