"""The sequence reader of whole numbers, and the synthetic numbers it learns from (docs/numbers.md).

NumberNet is fully convolutional and read by CTC, so it takes any width. compose_number writes MNIST
digits on a line and makes the strip exactly as serving reads a region.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter
from torch import nn

from examples.make import pen_line
from serving.contract import BLANK, MINUS, POINT, STRIP_HEIGHT
from serving.strip import to_strip
from training.model import conv_bn

CLASSES = BLANK + 1  # SYMBOLS (ten digits, minus, point) and, last, CTC's blank
MAX_DIGITS = 6
MAX_OVERLAP = 1 / 6  # ink overlapping by up to this share of the digit height
MAX_APART = 0.5  # gaps up to this share of the height: beyond it regions are apart anyway
SIGNED = 0.3  # share of numbers written with a leading minus sign ...
DECIMAL = 0.35  # ... and with a decimal point between two of their digits
SPECKED = 0.3  # share of numbers with paper specks that are not points (too small, too faint)
SUPERSAMPLE = 4  # marks are drawn this much larger, then reduced: anti-aliased like MNIST's strokes


def conv1d_bn(c_in: int, c_out: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv1d(c_in, c_out, kernel, padding=kernel // 2, bias=False),
                         nn.BatchNorm1d(c_out), nn.ReLU(inplace=True))


class NumberNet(nn.Module):
    def __init__(self, width: int = 24) -> None:
        super().__init__()
        self.config = {"width": width}  # what a checkpoint saves to rebuild it
        w = width
        self.features = nn.Sequential(
            conv_bn(1, w), nn.MaxPool2d(2),  # STRIP_HEIGHT / 2 rows × W/2
            conv_bn(w, 2 * w), nn.MaxPool2d((2, 1)),  # / 4 × W/2
            conv_bn(2 * w, 3 * w), nn.MaxPool2d((2, 1)),  # / 8 × W/2
            conv_bn(3 * w, 3 * w),
            # Rows folded into channels: one feature vector per column pair.
            nn.Conv2d(3 * w, 4 * w, (STRIP_HEIGHT // 8, 1), bias=False), nn.BatchNorm2d(4 * w),
            nn.ReLU(inplace=True),
        )
        # Along the line: each column pair sees about two digit widths, enough to tell where one
        # digit ends and which strokes belong to the neighbour.
        self.sequence = nn.Sequential(conv1d_bn(4 * w, 4 * w, 5), conv1d_bn(4 * w, 4 * w, 5),
                                      nn.Dropout(0.1), nn.Conv1d(4 * w, CLASSES, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, STRIP_HEIGHT, W) raw [0, 1] → (N, W // 2, CLASSES) log-probabilities."""
        features = self.features(x).squeeze(2)  # (N, C, W/2)
        return torch.log_softmax(self.sequence(features), dim=1).transpose(1, 2)


@dataclass(frozen=True)
class Composed:
    strip: np.ndarray  # (STRIP_HEIGHT, W) float32, what the model reads
    symbols: list[int]  # indices in serving.contract.SYMBOLS


def digit_patch(image28: np.ndarray, scale: float, aspect: float) -> np.ndarray:
    rows, cols = np.nonzero(image28)
    crop = image28[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    size = (max(1, round(crop.shape[1] * scale * aspect)), max(1, round(crop.shape[0] * scale)))
    return np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.BILINEAR))


def draw_gap(rng: np.random.Generator, height: float, narrow: int) -> int:
    """Pixels between two neighbours' patches: half the time overlapping, more often close than far."""
    share = -MAX_OVERLAP + (MAX_APART + MAX_OVERLAP) * rng.uniform() ** 2
    if rng.uniform() < 0.1:
        share = 0.0  # patches abutting exactly: the ink of both reaches the seam
    return int(np.floor(max(share * height, -0.6 * narrow)))  # a narrow "1" is not swallowed whole


def minus_patch(rng: np.random.Generator, height: float, pen: float) -> np.ndarray:
    """A minus sign as people write it: a short bar, a little tilted, as thick as the pen."""
    length, thick = rng.uniform(0.3, 0.7) * height, pen * rng.uniform(0.8, 1.3)
    tilt = np.tan(np.radians(rng.uniform(-10, 10))) * length
    return stroke_patch([(0, max(tilt, 0)), (length, max(-tilt, 0))], thick)


def point_patch(rng: np.random.Generator, height: float, pen: float) -> np.ndarray:
    """A decimal point: a round blob, or a short stroke (a pen touched down and moved a little)."""
    size = max(pen, rng.uniform(0.08, 0.18) * height)
    if rng.uniform() < 0.6:
        return stroke_patch([(0, 0)], size)
    angle = np.radians(rng.uniform(20, 80))
    return stroke_patch([(0, 0), (size * np.cos(angle), size * np.sin(angle))], pen * rng.uniform(0.9, 1.3))


def stroke_patch(points: list[tuple[float, float]], thick: float) -> np.ndarray:
    """White-on-black uint8 patch of a polyline (one point: a dot) `thick` pixels wide."""
    k = SUPERSAMPLE
    pad = thick / 2 + 1
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    w, h = int(np.ceil(max(xs) - min(xs) + 2 * pad)), int(np.ceil(max(ys) - min(ys) + 2 * pad))
    big = Image.new("L", (w * k, h * k), 0)
    scaled = [((x - min(xs) + pad) * k, (y - min(ys) + pad) * k) for x, y in points]
    pen_line(ImageDraw.Draw(big), scaled, thick * k, 255)
    return np.asarray(big.resize((w, h), Image.Resampling.BOX))


def pen_width(patches: list[np.ndarray]) -> float:
    """The digits' stroke width: ink area over the length of the strokes' middle line, roughly."""
    ink = sum(float((p > 127).sum()) for p in patches)
    skeleton = sum(float((p > 127).any(axis=1).sum() + (p > 127).any(axis=0).sum()) for p in patches)
    return max(1.5, 1.6 * ink / max(skeleton, 1.0))


def compose_number(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> Composed:
    n = int(rng.integers(1, MAX_DIGITS + 1))
    picks = rng.integers(0, len(images), n)
    scale = float(rng.uniform(1.5, 3.5))
    height = 20 * scale
    # (patch, symbol, where on the line) of each mark, left to right
    written = [(digit_patch(images[i], scale * rng.uniform(0.85, 1.15), rng.uniform(0.85, 1.15)),
                int(labels[i]), "middle") for i in picks]
    pen = pen_width([patch for patch, _, _ in written])
    if n >= 2 and rng.uniform() < DECIMAL:
        written.insert(int(rng.integers(1, n)), (point_patch(rng, height, pen), POINT, "base"))
    if rng.uniform() < SIGNED:
        written.insert(0, (minus_patch(rng, height, pen), MINUS, "middle"))
    patches, symbols, places = zip(*written, strict=True)
    canvas = lay_out(patches, places, height, rng)
    if rng.uniform() < SPECKED:
        add_specks(canvas, rng, height)
    image = Image.fromarray(canvas)
    style = rng.uniform()
    if style < 0.25:
        image = image.filter(ImageFilter.MaxFilter(3))  # a broader pen
    elif style < 0.4 and scale > 2.2:
        image = image.filter(ImageFilter.MinFilter(3))  # a finer one
    strip, _ = to_strip(np.asarray(image, np.float32) / 255)
    if rng.uniform() < 0.5:
        strip = np.clip(strip * rng.uniform(0.7, 1.0) + rng.normal(0, 0.03, strip.shape) * (strip > 0),
                        0, 1).astype(np.float32)
    return Composed(strip, list(symbols))


def lay_out(patches: Sequence[np.ndarray], places: Sequence[str], height: float,
            rng: np.random.Generator) -> np.ndarray:
    """The patches side by side on one canvas: digits (and a minus) centred on the line with a
    little jitter, a point on the line's base."""
    gaps = [draw_gap(rng, height, min(a.shape[1], b.shape[1]))
            if places[k] == places[k + 1] == "middle" and max(a.shape[0], b.shape[0]) > 0.5 * height
            else int(rng.uniform(0.05, 0.35) * height)
            for k, (a, b) in enumerate(zip(patches[:-1], patches[1:], strict=True))]
    margin = 4
    tallest = max(p.shape[0] for p in patches)
    width = 2 * margin + sum(p.shape[1] for p in patches) + sum(gaps)
    canvas_h = 2 * margin + tallest + 2 * int(0.1 * height) + 2
    canvas = np.zeros((canvas_h, max(width, 2 * margin + 1)), np.uint8)
    base = canvas_h // 2 + tallest // 2
    x = margin
    for k, patch in enumerate(patches):
        ph, pw = patch.shape
        if places[k] == "base":
            y = base - ph - int(rng.uniform(-0.05, 0.08) * height)
        else:
            y = canvas_h // 2 - ph // 2 + int(rng.uniform(-0.1, 0.1) * height)
        y = min(max(y, 0), canvas_h - ph)
        region = canvas[y : y + ph, x : x + pw]
        np.maximum(region, patch[: region.shape[0], : region.shape[1]], out=region)
        x += pw + (gaps[k] if k < len(gaps) else 0)
    return canvas


def add_specks(canvas: np.ndarray, rng: np.random.Generator, height: float) -> None:
    """Paper texture: a few specks far smaller or fainter than any point a pen makes."""
    for _ in range(int(rng.integers(1, 5))):
        r = max(1, int(rng.uniform(0.01, 0.035) * height))
        y, x = int(rng.integers(0, canvas.shape[0] - r)), int(rng.integers(0, canvas.shape[1] - r))
        level = int(rng.uniform(0.15, 0.45) * 255)
        np.maximum(canvas[y : y + r, x : x + r], level, out=canvas[y : y + r, x : x + r])


def batch_of(numbers: list[Composed]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Strips padded right to the widest → (x, targets, input lengths, target lengths) for CTC."""
    widest = max(c.strip.shape[1] for c in numbers)
    x = np.zeros((len(numbers), 1, numbers[0].strip.shape[0], widest), np.float32)
    for k, c in enumerate(numbers):
        x[k, 0, :, : c.strip.shape[1]] = c.strip
    targets = torch.tensor([d for c in numbers for d in c.symbols], dtype=torch.long)
    input_lengths = torch.tensor([c.strip.shape[1] // 2 for c in numbers], dtype=torch.long)
    target_lengths = torch.tensor([len(c.symbols) for c in numbers], dtype=torch.long)
    return torch.from_numpy(x), targets, input_lengths, target_lengths
