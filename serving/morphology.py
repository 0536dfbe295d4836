"""Dilation and erosion by a square (grey or binary), in numpy alone: the one implementation that
the ink finder, the photo-of-paper path and the number reader share."""

from __future__ import annotations

import numpy as np


def sliding(a: np.ndarray, size: int, axis: int, op: np.ufunc = np.maximum) -> np.ndarray:
    """`op` (np.maximum: dilation, np.minimum: erosion) over a centred window of `size` along
    `axis`, in O(log size) array passes; the edges repeat outwards."""
    a = np.moveaxis(a, axis, 0)
    n = a.shape[0]
    before = size // 2
    x = np.pad(a, [(before, size - 1 - before)] + [(0, 0)] * (a.ndim - 1), mode="edge")
    m, span = x, 1
    while 2 * span <= size:  # m[i] = op(x[i : i + span]) with span doubling
        m = op(m[:-span], m[span:])
        span *= 2
    out = op(m[:n], m[size - span : size - span + n])  # two windows of `span` cover `size`
    return np.moveaxis(out, 0, axis)


def dilate(a: np.ndarray, size: int) -> np.ndarray:
    """Each pixel of a 2-D array the maximum of the size×size square around it."""
    return sliding(sliding(a, size, 0), size, 1)


def erode(a: np.ndarray, size: int) -> np.ndarray:
    """Each pixel of a 2-D array the minimum of the size×size square around it."""
    return sliding(sliding(a, size, 0, np.minimum), size, 1, np.minimum)
