"""Connected components of a binary mask (8-connected), in numpy alone: on horizontal runs of ink
rather than pixels, joined by array passes over the pairs of runs that touch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Components:
    labels: np.ndarray  # (H, W) int32, 0 = background, 1..count = components
    count: int
    area: np.ndarray  # (count,) pixels per component, index i for label i + 1
    boxes: np.ndarray  # (count, 4) x0, y0, x1, y1 (exclusive ends)

    def box(self, which: np.ndarray) -> tuple[int, int, int, int]:
        """The box (x0, y0, x1, y1) around the components flagged in `which` ((count,) bool)."""
        x0, y0 = self.boxes[which, :2].min(axis=0)
        x1, y1 = self.boxes[which, 2:].max(axis=0)
        return int(x0), int(y0), int(x1), int(y1)

    def pixels(self, which: np.ndarray, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """Where the components flagged in `which` ((count,) bool) lie, as an (H, W) bool mask, or
        within `box` only."""
        x0, y0, x1, y1 = box or (0, 0, self.labels.shape[1], self.labels.shape[0])
        # np.take: twice as fast as indexing with [] on a page's map.
        return np.take(np.concatenate(([False], which)), self.labels[y0:y1, x0:x1])


def true_pixels(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.nonzero for a 2-D bool mask, found in the flat array (much faster than np.nonzero in 2-D)."""
    return np.divmod(np.flatnonzero(mask), mask.shape[1])


def label_components(mask: np.ndarray) -> Components:
    """The 8-connected components of a 2-D bool mask, labelled 1..count in the order of their
    first pixel (as np.unique of a flood fill's labels would give)."""
    h, w = mask.shape
    padded = np.zeros((h, w + 2), np.int8)
    padded[:, 1:-1] = mask
    edges = np.diff(padded, axis=1)
    # One scan for both ends: in row-major order each run's start (+1) comes just before its end.
    edge_row, edge_col = true_pixels(edges != 0)
    run_row, run_start, run_end = edge_row[::2], edge_col[::2], edge_col[1::2]  # end exclusive
    if len(run_row) == 0:
        return Components(np.zeros((h, w), np.int32), 0, np.zeros(0, np.int64), np.zeros((0, 4), np.int64))
    run_label, count = join_runs(run_row, run_start, run_end, w)

    lengths = run_end - run_start
    area = np.bincount(run_label, weights=lengths, minlength=count).astype(np.int64)
    boxes = np.tile(np.array([w, h, 0, 0], np.int64), (count, 1))  # each side to be min- or max-ed
    np.minimum.at(boxes[:, 0], run_label, run_start)
    np.minimum.at(boxes[:, 1], run_label, run_row)
    np.maximum.at(boxes[:, 2], run_label, run_end)
    np.maximum.at(boxes[:, 3], run_label, run_row + 1)

    labels = np.zeros(h * w, np.int32)
    # Each run's flat start (row * w + start) less where its pixels begin among all runs' pixels:
    # adding the running count 0, 1, 2, ... then gives every ink pixel's flat index.
    offsets = np.repeat(run_row * w + run_start - np.cumsum(lengths) + lengths, lengths)
    labels[offsets + np.arange(lengths.sum())] = np.repeat(run_label + 1, lengths)
    return Components(labels.reshape(h, w), count, area, boxes)


def join_runs(run_row: np.ndarray, run_start: np.ndarray, run_end: np.ndarray,
              w: int) -> tuple[np.ndarray, int]:
    """Horizontal runs of ink (row-major order) → each run's component (0-based, numbered in the
    order of each component's first run) and the number of components."""
    n_runs = len(run_row)
    # For each run, the runs of the row above that touch it (8-connectivity), found by search.
    stride = w + 2
    start_keys = run_row * stride + run_start
    end_keys = run_row * stride + run_end
    above = (run_row - 1) * stride
    first = np.searchsorted(end_keys, above + run_start, side="left")
    last = np.searchsorted(start_keys, above + run_end, side="right")
    has_row_above = run_row > 0
    counts = np.where(has_row_above, np.maximum(last - first, 0), 0)
    lower = np.repeat(np.arange(n_runs), counts)
    # A ragged arange: for run i, 0 .. counts[i]-1 (the position minus where run i's pairs begin).
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    upper = np.repeat(first, counts) + within

    # Each run's root: the first run of its component. Hooking each pair's later root onto the
    # earlier and jumping pointers until no pair spans two roots takes a few array passes, where a
    # union-find loop in Python visits every pair.
    roots = np.arange(n_runs)
    while True:
        a, b = roots[lower], roots[upper]
        apart = a != b
        if not apart.any():
            break
        lower, upper, a, b = lower[apart], upper[apart], a[apart], b[apart]
        np.minimum.at(roots, np.maximum(a, b), np.minimum(a, b))
        while not np.array_equal(jumped := roots[roots], roots):
            roots = jumped
    # Labels in the order of the roots (each its component's first run), as np.unique would give.
    is_root = roots == np.arange(n_runs)
    return (np.cumsum(is_root) - 1)[roots], int(np.count_nonzero(is_root))
