"""The sequence reader of whole numbers, and the synthetic numbers it learns from.

NumberNet: a small fully convolutional net read by CTC. Input (N, 1, STRIP_HEIGHT, W) raw [0, 1]
ink, white on black, as serving.strip.to_strip makes it; output (N, W // 2, CLASSES)
log-probabilities per column pair, class BLANK being CTC's blank. Convolutional only, so it takes
any width, exports to ONNX with a dynamic width, and costs the same per column however long the
number.

compose_number: 1 to MAX_DIGITS MNIST digits written on a line, from apart to overlapping by
MAX_OVERLAP of the digit height, with size, slant-free jitter up and down, stroke thickness
varied; then to_strip, exactly as serving reads a region.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageFilter
from torch import nn

from serving.contract import BLANK, STRIP_HEIGHT
from serving.strip import to_strip
from training.model import conv_bn

CLASSES = BLANK + 1  # the ten digits and CTC's blank
MAX_DIGITS = 6
MAX_OVERLAP = 1 / 6  # ink overlapping by up to this share of the digit height
MAX_APART = 0.5  # gaps up to this share of the height: beyond it regions are apart anyway


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
    digits: list[int]


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
    gap = share * height
    if gap < 0:
        gap = max(gap, -0.6 * narrow)  # a narrow "1" is not swallowed whole
    return int(np.floor(gap))


def compose_number(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
                   length: int | None = None) -> Composed:
    n = int(length if length is not None else rng.integers(1, MAX_DIGITS + 1))
    picks = rng.integers(0, len(images), n)
    scale = float(rng.uniform(1.5, 3.5))
    height = 20 * scale
    patches = [digit_patch(images[i], scale * rng.uniform(0.85, 1.15), rng.uniform(0.85, 1.15))
               for i in picks]
    gaps = [draw_gap(rng, height, min(a.shape[1], b.shape[1]))
            for a, b in zip(patches[:-1], patches[1:], strict=True)]
    margin = 4
    jitter = [int(rng.uniform(-0.1, 0.1) * height) for _ in patches]
    width = 2 * margin + sum(p.shape[1] for p in patches) + sum(gaps)
    canvas_h = 2 * margin + max(p.shape[0] for p in patches) + 2 * int(0.1 * height) + 2
    canvas = np.zeros((canvas_h, max(width, 2 * margin + 1)), np.uint8)
    x = margin
    for k, patch in enumerate(patches):
        ph, pw = patch.shape
        y = canvas_h // 2 - ph // 2 + jitter[k]
        region = canvas[y : y + ph, x : x + pw]
        np.maximum(region, patch[: region.shape[0], : region.shape[1]], out=region)
        x += pw + (gaps[k] if k < len(gaps) else 0)
    pen = rng.uniform()
    image = Image.fromarray(canvas)
    if pen < 0.25:
        image = image.filter(ImageFilter.MaxFilter(3))  # a broader pen
    elif pen < 0.4 and scale > 2.2:
        image = image.filter(ImageFilter.MinFilter(3))  # a finer one
    strip, _ = to_strip(np.asarray(image, np.float32) / 255)
    if rng.uniform() < 0.5:
        strip = np.clip(strip * rng.uniform(0.7, 1.0) + rng.normal(0, 0.03, strip.shape) * (strip > 0),
                        0, 1).astype(np.float32)
    return Composed(strip, [int(labels[i]) for i in picks])


def batch_of(numbers: list[Composed]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Strips padded right to the widest → (x, targets, input lengths, target lengths) for CTC."""
    widest = max(c.strip.shape[1] for c in numbers)
    x = np.zeros((len(numbers), 1, numbers[0].strip.shape[0], widest), np.float32)
    for k, c in enumerate(numbers):
        x[k, 0, :, : c.strip.shape[1]] = c.strip
    targets = torch.tensor([d for c in numbers for d in c.digits], dtype=torch.long)
    input_lengths = torch.tensor([c.strip.shape[1] // 2 for c in numbers], dtype=torch.long)
    target_lengths = torch.tensor([len(c.digits) for c in numbers], dtype=torch.long)
    return torch.from_numpy(x), targets, input_lengths, target_lengths
