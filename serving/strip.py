"""A line of ink → the fixed-height strip the sequence model reads: training builds its inputs
with this same function, so the model sees at serving time exactly what it learnt from."""

from __future__ import annotations

import numpy as np

from serving.contract import STRIP_HEIGHT
from serving.field import resized_to_peak

STRIP_INK = 26  # the ink's box fills this many of the STRIP_HEIGHT rows ...
STRIP_TOP = (STRIP_HEIGHT - STRIP_INK) // 2  # ... starting here
STRIP_PAD = 4  # empty columns either side: the first and last digit get context like the others
STRIP_INK_LEVEL = 0.05  # ink fainter than this is left out of the box (paper noise)
MAX_STRIP_WIDTH = 1024  # wider (a very long line) is squeezed: the model's cost grows with width


def to_strip(ink: np.ndarray) -> tuple[np.ndarray, tuple[int, int, float, float]]:
    """White-on-black ink (h, w) in [0, 1] → (STRIP_HEIGHT, W) float32, its box scaled to STRIP_INK
    rows (widths alike: no stretching), peak ink 1; and how strip columns map back: (left, top) of
    the ink box in `ink`, the x factor and the y factor (strip px per ink px)."""
    rows, cols = np.nonzero(ink >= STRIP_INK_LEVEL)
    if len(rows) == 0:
        raise ValueError("no ink to read")
    top, left = int(rows.min()), int(cols.min())
    crop = np.asarray(ink[top : rows.max() + 1, left : cols.max() + 1], np.float32)
    h, w = crop.shape
    fy = STRIP_INK / h
    fx = min(fy, (MAX_STRIP_WIDTH - 2 * STRIP_PAD) / w)
    size = (max(1, round(w * fx)), STRIP_INK)
    out = np.zeros((STRIP_HEIGHT, size[0] + 2 * STRIP_PAD), np.float32)
    out[STRIP_TOP : STRIP_TOP + STRIP_INK, STRIP_PAD : STRIP_PAD + size[0]] = resized_to_peak(crop, size, fy)
    return out, (left, top, size[0] / w, fy)
