"""The shared numpy helpers: a quantile without numpy's overhead on small arrays, histogram
statistics, dilation and erosion by a square, and the models' softmax."""

from __future__ import annotations

import numpy as np

GREY_LEVELS = np.arange(256, dtype=np.float32) * np.float32(1 / 255)  # a byte's level in 0..1


def quantile(values: np.ndarray, q: float) -> float:
    """np.quantile's default (linear) for a 1-D array, without its overhead on small arrays."""
    position = q * (len(values) - 1)
    below = int(position)
    above = min(below + 1, len(values) - 1)
    low, high = np.partition(values, (below, above))[[below, above]]
    return float(low + (high - low) * (position - below))


def median(values: np.ndarray, axis: int | None = None) -> float | np.ndarray:
    """np.median of an array without NaN, of all of it (a float) or along `axis`, without its
    overhead on small arrays."""
    ordered = np.sort(values, axis=axis)
    along = axis or 0  # np.sort flattens for axis None
    k = ordered.shape[along]
    middle = (np.take(ordered, (k - 1) // 2, axis=along) + np.take(ordered, k // 2, axis=along)) / 2
    return float(middle) if axis is None else middle


def otsu_threshold(hist: np.ndarray) -> float:
    """Otsu's threshold of a histogram over [0, 1]: the upper edge of the bin that best splits it
    in two classes (the largest variance between them)."""
    p = hist / max(hist.sum(), 1)
    omega = np.cumsum(p)
    mu = np.cumsum(p * ((np.arange(len(hist)) + 0.5) / len(hist)))  # × the bins' centres
    between = (mu[-1] * omega - mu) ** 2 / np.maximum(omega * (1 - omega), 1e-12)
    return float((np.argmax(between) + 1) / len(hist))


def quantile_from_hist(hist: np.ndarray, q: float) -> float:
    """The q-quantile of the values counted in a histogram over [0, 1]."""
    cumulative = np.cumsum(hist)
    # + 1: the upper edge of the bin the quantile falls in, as a share of this histogram's bins.
    return float(np.searchsorted(cumulative, q * cumulative[-1]) + 1) / len(hist)


def softmax(logits: np.ndarray) -> np.ndarray:
    """(N, K) logits → (N, K) probabilities, each row summing to 1."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def sliding(a: np.ndarray, size: int, axis: int, op: np.ufunc = np.maximum) -> np.ndarray:
    """`op` (np.maximum: dilation, np.minimum: erosion) over a centred window of `size` along
    `axis`, in O(log size) array passes; the edges repeat outwards. The result is laid out as `a`
    is (C order for C-ordered input): a transposed result would slow every later pass over it."""

    def along(start: int | None, stop: int | None) -> tuple[slice, ...]:
        return tuple(slice(start, stop) if i == axis else slice(None) for i in range(a.ndim))

    n = a.shape[axis]
    before = size // 2
    x = np.concatenate([np.repeat(a[along(0, 1)], before, axis=axis), a,
                        np.repeat(a[along(-1, None)], size - 1 - before, axis=axis)], axis=axis)
    m, span = x, 1
    while 2 * span <= size:  # m[i] = op(x[i : i + span]) with span doubling
        m = op(m[along(None, -span)], m[along(span, None)])
        span *= 2
    return op(m[along(None, n)], m[along(size - span, size - span + n)])  # two windows of `span` cover `size`


def dilate(a: np.ndarray, size: int) -> np.ndarray:
    """Each pixel of a 2-D array the maximum of the size×size square around it."""
    return sliding(sliding(a, size, 0), size, 1)


def erode(a: np.ndarray, size: int) -> np.ndarray:
    """Each pixel of a 2-D array the minimum of the size×size square around it."""
    return sliding(sliding(a, size, 0, np.minimum), size, 1, np.minimum)
