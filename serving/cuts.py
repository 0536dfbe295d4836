"""Candidate cuts through connected ink: top-to-bottom paths that cross as little ink as they can.

Digits that touch or overlap are one connected region. Where two of them meet, a cut from the
top of the region to its bottom can pass between their strokes, crossing only the little ink
where they join. Two kinds of cut are tried: straight lines at a few slants (digits lean, and so
do the gaps between them), and seams, the shortest paths over the ink within a band around each
column, which bend round a loop that leans into the neighbour (the "drop-fall" idea). The cuts
are only candidates; which of them are real is left to the digit model (serving.split).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

CUT_HEIGHT = 40  # the search runs at this many pixels per digit height: strokes stay a few
# pixels wide, and the work no longer grows with the image
BAND = 0.25  # a seam may wander this far (share of the digit height) from its starting column,
# enough to pass a neighbour's overhanging stroke, not enough to go round a whole digit
SLANT_COST = 0.3  # each sideways step of a seam costs this much ink: it bends round a stroke
# rather than cross it, but doesn't wander into a digit's open middle
SLOPES = np.array([-0.45, -0.3, -0.15, 0.0, 0.15, 0.3])  # columns per row: handwriting leans
# right, so the gap between two digits runs from top right to bottom left (negative) more often
LONGEST = 0.8  # no stretch of a region wider than this share of the digit height is left uncut
EDGE = 0.1  # a cut this close (share of the digit height) to the region's side cuts off nothing
SPACING = 0.08  # cuts whose mean columns are closer than this share of the digit height are one


def seams(small: np.ndarray, band: int) -> tuple[np.ndarray, np.ndarray]:
    """From every column, the cheapest top-to-bottom path staying within ±band of it.

    Returns (costs (w,), paths (w, h) columns). Each row the path moves at most one column.
    """
    h, w = small.shape
    offsets = np.arange(-band, band + 1)
    columns = np.arange(w)[:, None] + offsets[None, :]
    outside = (columns < 0) | (columns >= w)
    columns = np.clip(columns, 0, w - 1)
    cost = np.where(outside, np.inf, small[0, columns])
    steps = np.zeros((h, w, len(offsets)), np.int8)
    for r in range(1, h):
        from_left = np.full_like(cost, np.inf)  # arriving at offset d from offset d - 1
        from_left[:, 1:] = cost[:, :-1] + SLANT_COST
        from_right = np.full_like(cost, np.inf)
        from_right[:, :-1] = cost[:, 1:] + SLANT_COST
        best = np.minimum(cost, np.minimum(from_left, from_right))
        steps[r] = np.where(best == cost, 0, np.where(best == from_left, -1, 1))
        cost = best + np.where(outside, np.inf, small[r, columns])
    end = np.argmin(cost, axis=1)
    totals = cost[np.arange(w), end]
    at = np.empty((w, h), np.int64)
    at[:, h - 1] = end
    for r in range(h - 1, 0, -1):
        at[:, r - 1] = at[:, r] + steps[r, np.arange(w), at[:, r]]
    return totals, np.arange(w)[:, None] + offsets[at]


def lines(small: np.ndarray, slopes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every straight cut through the image: each slope (columns per row) through each column at
    mid-height. Returns (costs (n,), paths (n, h) columns), costs being the ink crossed."""
    h, w = small.shape
    rows = np.arange(h) - (h - 1) / 2
    paths = np.rint(np.arange(w)[None, :, None] + slopes[:, None, None] * rows[None, None, :])
    paths = paths.astype(np.int64).reshape(-1, h)
    inside = (paths >= 0) & (paths < w)
    costs = np.where(inside, small[np.arange(h)[None, :], np.clip(paths, 0, w - 1)], 0).sum(axis=1)
    return costs, np.clip(paths, 0, w)


def pick(costs: np.ndarray, means: np.ndarray, spacing: float, limit: int, width: int,
         longest: float) -> np.ndarray:
    """Cuts among the local minima of cost (slopes, columns) along the columns: the cheapest,
    no two closer than spacing, up to limit; then, wherever more than `longest` columns are left
    without a cut, the cheapest one there (a true cut through heavy overlap may cost more than
    a cut through a loop elsewhere). Returns flat indices."""
    padded = np.pad(costs, ((0, 0), (1, 1)), constant_values=np.inf)
    minima = np.flatnonzero((costs <= padded[:, :-2]) & (costs <= padded[:, 2:]))
    costs, means = costs.ravel(), means.ravel()
    minima = minima[np.isfinite(costs[minima])]
    order = minima[np.argsort(costs[minima], kind="stable")]
    chosen: list[int] = []

    def spaced(i: int) -> bool:
        return all(abs(means[i] - means[j]) >= spacing for j in chosen)

    for i in order:
        if len(chosen) == limit:
            break
        if spaced(i):
            chosen.append(int(i))
    while True:
        ends = np.sort(np.concatenate([[0.0, width], means[chosen]]))
        lonely = [i for i in order if spaced(i)
                  and np.diff(ends[np.searchsorted(ends, means[i]) - 1 :][:2])[0] > longest]
        if not lonely:
            return np.array(chosen, np.int64)
        chosen.append(int(lonely[0]))


def shrink_to_cut_scale(ink: np.ndarray, height: float) -> tuple[np.ndarray, float]:
    """The region's ink at CUT_HEIGHT pixels per digit height (never enlarged), and the factor."""
    factor = min(1.0, CUT_HEIGHT / height)
    size = (max(1, round(ink.shape[1] * factor)), max(1, round(ink.shape[0] * factor)))
    if factor == 1.0:
        return ink.astype(np.float32), factor
    return np.asarray(Image.fromarray(ink.astype(np.float32), "F").resize(size, Image.Resampling.BOX)), factor


def find_cuts(ink: np.ndarray, height: float, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidate cuts through a region's ink (h, w) at cut scale; `height`: the digit height.

    Two kinds: straight lines at a few slants, and seams that bend round strokes. Of each kind,
    up to `limit` of the cheapest (and more where a stretch would be left uncut). Returns the
    cuts (K, h) int: per cut and row, the first column right of the cut, ordered left to right
    by mean; and the ink each crosses (K,).
    """
    h, w = ink.shape
    edge = max(1.0, EDGE * height)
    found, crossed = [], []
    for costs, paths, shape in (lines(ink, SLOPES) + ((len(SLOPES), w),),
                                seams(ink, max(1, round(BAND * height))) + ((1, w),)):
        means = paths.mean(axis=1)
        costs = np.where((means >= edge) & (means <= w - edge), costs, np.inf)
        chosen = pick(costs.reshape(shape), means.reshape(shape), SPACING * height, limit,
                      w, LONGEST * height)
        found.append(paths[chosen])
        crossed.append(costs[chosen])
    cuts, first = np.unique(np.concatenate(found), axis=0, return_index=True)
    order = np.argsort(cuts.mean(axis=1), kind="stable")
    return cuts[order], np.concatenate(crossed)[first][order]


def between(ink: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The ink lying between two cuts (per row: left ≤ column < right), zero elsewhere."""
    columns = np.arange(ink.shape[1])[None, :]
    return np.where((columns >= left[:, None]) & (columns < right[:, None]), ink, 0)
