"""Pages of handwritten numbers, photographed: made here with a fixed seed, read by the page reader.

    python -m bench.pages [--count 1000] [--seed 0] [--peers] [--dump DIR]

Each page holds 1–8 numbers of MNIST *test* digits (1–6 digits each, some with a leading minus
or a decimal point) on 1–6 lines, written in blue or black ballpoint or pencil on plain, ruled or
squared paper, then photographed as bench.paper photographs one digit: a little perspective and
tilt, uneven light and a shadow edge, blur, sensor noise and JPEG. The truth is the numbers in
reading order. Prints pages read exactly and numbers read right, per paper, ink, count, sign and
decimal, and the time per page; with --peers, RapidOCR and Tesseract read the same pages (an
optional extra: they are never serving dependencies). Exit status 0 when every target is met.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from bench.paper import INK_COLOURS, ink_texture, lighting, mnist_ink, pattern, perspective

PAPERS = ("plain", "ruled", "squared")
INKS = ("blue", "black", "pencil")
PAGE_SIZE = (900, 1200)
SIGNED, DECIMAL = 0.25, 0.3  # shares of numbers with a leading minus, with a decimal point
NUMBER_GAP = (2.0, 5.0)  # between numbers on a line, in digit heights
DIGIT_GAP = (0.08, 0.35)  # between the characters of a number, in digit heights


@dataclass(frozen=True)
class Page:
    jpeg: bytes
    numbers: list[str]  # in reading order: top to bottom, then left to right
    paper: str
    ink: str


def number_text(rng: np.random.Generator) -> str:
    digits = "".join(str(d) for d in rng.integers(0, 10, int(rng.integers(1, 7))))
    if len(digits) > 1 and rng.random() < DECIMAL:
        k = int(rng.integers(1, len(digits)))
        digits = digits[:k] + "." + digits[k:]
    return ("-" if rng.random() < SIGNED else "") + digits


def mark(kind: str, height: int, pen: float, rng: np.random.Generator) -> np.ndarray:
    """A minus sign (a short bar, a little tilted) or a decimal point (a blob or a short dab), as
    ink coverage in 0–1, drawn at 4× and reduced."""
    k = 4
    if kind == "-":
        length = rng.uniform(0.3, 0.6) * height
        tilt = np.tan(np.radians(rng.uniform(-8, 8))) * length
        points = [(0.0, max(tilt, 0.0)), (length, max(-tilt, 0.0))]
    else:
        size = rng.uniform(0.06, 0.14) * height
        points = [(0.0, 0.0)] if rng.random() < 0.6 else [(0.0, size), (size * 0.6, 0.0)]
    pad = pen + 2
    w = int(max(p[0] for p in points) + 2 * pad + 1)
    h = int(max(p[1] for p in points) + 2 * pad + 1)
    image = Image.new("L", (w * k, h * k), 0)
    draw = ImageDraw.Draw(image)
    scaled = [((x + pad) * k, (y + pad) * k) for x, y in points]
    r = pen * k / 2 * (1.6 if kind == "." else 1.0)
    for x, y in (scaled[0], scaled[-1]):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    if len(scaled) > 1:
        draw.line(scaled, fill=255, width=max(1, round(2 * r)))
    return np.asarray(image.resize((w, h), Image.Resampling.BOX), np.float32) / 255


def write_number(text: str, digits: dict[str, list[np.ndarray]], height: int,
                 rng: np.random.Generator) -> np.ndarray:
    """The number's ink coverage: its characters side by side on one baseline."""
    pen = max(2.0, height * rng.uniform(0.06, 0.1))
    glyphs = []
    for ch in text:
        if ch.isdigit():
            pool = digits[ch]
            glyph = mnist_ink(pool[int(rng.integers(len(pool)))], height, rng)
        else:
            glyph = mark(ch, height, pen, rng)
        glyphs.append((ch, glyph))
    gaps = [int(rng.uniform(*DIGIT_GAP) * height) for _ in glyphs]
    width = sum(g.shape[1] for _, g in glyphs) + sum(gaps[:-1])
    out = np.zeros((height + 4, width + 2), np.float32)
    x = 1
    for (ch, glyph), gap in zip(glyphs, gaps, strict=True):
        gh, gw = glyph.shape
        y = {"-": height // 2 - gh // 2, ".": height - gh + 2}.get(ch, (height - gh) // 2)
        y = int(np.clip(y + rng.integers(-2, 3), 0, out.shape[0] - gh))
        region = out[y : y + gh, x : x + gw]
        np.maximum(region, glyph[: region.shape[0], : region.shape[1]], out=region)
        x += gw + gap
    return out


def lay_out(count: int, rng: np.random.Generator) -> list[int]:
    """How many numbers stand on each line (1–3, at most 6 lines)."""
    lines: list[int] = []
    left = count
    while left:
        room = 6 - len(lines)
        take = left if room == 1 else int(rng.integers(max(1, left - 3 * (room - 1)), min(3, left) + 1))
        lines.append(take)
        left -= take
    return lines


def write_page(numbers: list[list[str]], digits: dict[str, list[np.ndarray]],
               rng: np.random.Generator) -> np.ndarray:
    """Ink coverage of the page: each line's numbers left to right, the lines top to bottom."""
    w, h = PAGE_SIZE
    coverage = np.zeros((h, w), np.float32)
    height = int(rng.integers(40, 85))
    pitch = (0.82 * h) / max(len(numbers), 1)
    for row, line in enumerate(numbers):
        inks = [write_number(text, digits, height, rng) for text in line]
        gaps = [int(rng.uniform(*NUMBER_GAP) * height) for _ in inks[1:]]
        total = sum(i.shape[1] for i in inks) + sum(gaps)
        scale = min(1.0, 0.86 * w / total)
        x = int(rng.uniform(0.06, max(0.07, 0.94 - total * scale / w)) * w)
        y = int(0.08 * h + row * pitch + rng.uniform(0, max(1.0, min(pitch - height * 1.3, 0.3 * pitch))))
        for k, ink in enumerate(inks):
            if scale < 1:
                ink = np.asarray(Image.fromarray(ink, "F").resize(
                    (max(1, int(ink.shape[1] * scale)), max(1, int(ink.shape[0] * scale)))))
            ih, iw = ink.shape
            region = coverage[y : y + ih, x : x + iw]
            np.maximum(region, ink[: region.shape[0], : region.shape[1]], out=region)
            x += iw + (int(gaps[k] * scale) if k < len(gaps) else 0)
    return coverage


def photograph(coverage: np.ndarray, paper: str, ink: str, rng: np.random.Generator) -> bytes:
    """The page on paper, in ink, photographed (as bench.paper.make_photo does for one digit)."""
    h, w = coverage.shape
    coverage = ink_texture(coverage, ink, rng)
    white = rng.uniform(215, 250)
    picture = np.empty((h, w, 3), np.float32)
    picture[:] = [white, white - rng.uniform(0, 8), white - rng.uniform(2, 18)]
    for layer, colour in pattern((w, h), paper, rng):
        a = np.asarray(layer, np.float32)[..., None] / 255 * rng.uniform(0.5, 1.0)
        picture = picture * (1 - a) + colour * a
    c = coverage[..., None]
    picture = picture * (1 - c) + INK_COLOURS[ink](rng) * c
    desk = rng.integers(40, 160, 3)
    image = Image.fromarray(np.clip(picture, 0, 255).astype(np.uint8))
    if rng.random() < 0.5:
        fill = tuple(int(v) for v in desk)
        image = image.rotate(rng.uniform(-4, 4), Image.Resampling.BICUBIC, fillcolor=fill)
    image = perspective(image, desk, rng)
    lit = np.asarray(image, np.float32) * lighting((h, w), rng)[..., None]
    lit += rng.normal(0, rng.uniform(1.5, 5), lit.shape).astype(np.float32)
    image = Image.fromarray(np.clip(lit, 0, 255).astype(np.uint8))
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=int(rng.integers(60, 93)))
    return out.getvalue()


def make_page(digits: dict[str, list[np.ndarray]], paper: str, ink: str, rng: np.random.Generator) -> Page:
    count = int(rng.integers(1, 9))
    lines = [[number_text(rng) for _ in range(n)] for n in lay_out(count, rng)]
    jpeg = photograph(write_page(lines, digits, rng), paper, ink, rng)
    return Page(jpeg, [text for line in lines for text in line], paper, ink)


def pages(count: int, seed: int, images: np.ndarray, labels: np.ndarray) -> list[Page]:
    """`count` pages, papers and inks in turn, their digits drawn from `images` (MNIST test)."""
    digits = {str(d): [images[i] for i in np.flatnonzero(labels == d)] for d in range(10)}
    return [make_page(digits, PAPERS[i % len(PAPERS)], INKS[(i // len(PAPERS)) % len(INKS)],
                      np.random.default_rng((seed, i))) for i in range(count)]
