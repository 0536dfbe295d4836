"""The regions of ink on a line grouped into digits, left to right: frames, edge lines and specks
dropped, then regions joined one pair at a time (_next_join). Every rule compares sizes with the
digit height (the tallest clear region), never pixels, so it works at any scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from serving.components import Components
from serving.pieces import MIN_PIECE_AREA, edge_artifacts

SPECK_AREA = 0.01  # regions below this share of the largest one's area are noise
MAX_REGIONS = 300  # at most this many regions (the biggest) are grouped into digits
X_OVERLAP = 0.5  # join regions whose x-ranges overlap by this share of the narrower one ...
# ... or touch at all (no empty column between them) when one of them is short. Not even one empty
# column: with a 1-px gap on paper, nearly touching digits are often just 1-2 columns apart.
SHORT_HEIGHT = 0.75  # short: under this share of the typical digit height
JOIN_GAP_Y = 0.5  # regions are joined only when at most this many digit heights apart vertically
SUBSTANTIAL_AREA = 0.2  # groups this big (share of the largest) set the digit height (the
# tallest of them, as a broken digit's pieces would pull a median down) and typical ink area
LIGHT_AREA = 0.3  # light: less ink than this share of a typical digit (a "1" has about 0.5)
PIECE_HEIGHT = 0.4  # a light group shorter than this share of the digit height is a piece
FLAT_HEIGHT = 0.35  # a group under this share of the digit height ...
BAR_AREA = 0.5  # ... and under this share of a typical digit's ink, or filling this share of its
BAR_FILL = 0.5  # box (one straight stroke), is a bar (a 5's), no digit
DOTTED_COVERAGE = 0.8  # a group with ink in fewer of its rows than this is a dotted stroke
BESIDE_GAP = 0.1  # a loose piece this close (in digit heights) to a digit joins it ...
LOOSE_GAP = 0.25  # ... and this close to another loose piece
BAR_GAP = 0.3  # a flat bar joins the nearest digit this close (MNIST's 5s fling it far)
SPECK_HEIGHT = 0.25  # what joined nothing is dropped if shorter than this share of the digit height,
SPECK_INK = 0.1  # or a light short piece with less ink than this share of a digit


class _Groups:
    """Regions joined into groups one pair at a time, in the order of their first region: each
    group's regions, box and ink area."""

    def __init__(self, boxes: np.ndarray, area: np.ndarray) -> None:
        self.members = [[i] for i in range(len(boxes))]
        self.region_boxes = boxes.astype(np.int64)
        self.boxes = self.region_boxes.copy()
        self.areas = area.copy()

    def join(self, i: int, j: int) -> None:
        """Group j (by position) joins group i, the one before it."""
        self.members[i] += self.members.pop(j)
        self.boxes[i] = np.concatenate([np.minimum(self.boxes[i, :2], self.boxes[j, :2]),
                                        np.maximum(self.boxes[i, 2:], self.boxes[j, 2:])])
        self.areas[i] += self.areas[j]
        self.boxes, self.areas = np.delete(self.boxes, j, axis=0), np.delete(self.areas, j)

    def row_coverage(self) -> np.ndarray:
        """Per group, the share of its box's rows that hold ink: under 1 for a dotted stroke."""
        out, tops, bottoms = [], self.boxes[:, 1].tolist(), self.boxes[:, 3].tolist()
        for y0, y1, members in zip(tops, bottoms, self.members, strict=True):
            rows = np.zeros(y1 - y0, bool)
            for m in members:
                rows[self.region_boxes[m, 1] - y0 : self.region_boxes[m, 3] - y0] = True
            out.append(rows.mean())
        return np.array(out)


@dataclass(frozen=True)
class _Sizes:
    height: float  # typical digit height, from the groups of a clear size
    short: np.ndarray  # per group: too short to be a whole digit on its own
    loose: np.ndarray  # light and short or gappy, or flat: a piece that may join a digit beside it
    flat: np.ndarray  # far too short and light for a digit: a bar that belongs to a digit
    speck: np.ndarray  # too small to read if it joined nothing: a dot, dirt, a stray dash


def _sizes(groups: _Groups) -> _Sizes:
    boxes, areas = groups.boxes, groups.areas
    heights = boxes[:, 3] - boxes[:, 1]
    substantial = areas >= SUBSTANTIAL_AREA * areas.max()
    height = float(heights[substantial].max())
    # The typical ink of a digit: from full-height groups, as a 5's heavy bar is no digit.
    full = substantial & (heights >= SHORT_HEIGHT * height)
    typical_area = float(np.median(areas[full]))
    light = areas < LIGHT_AREA * typical_area
    short = heights < SHORT_HEIGHT * height
    piece = light & (heights < PIECE_HEIGHT * height)  # a "1" is light too, but tall
    # A bar is flat and either carries less ink than a digit or is one straight stroke filling
    # its box; a wide flat "2" can be about as flat, but is heavier and leaves its box half empty.
    fill = areas / np.maximum((boxes[:, 2] - boxes[:, 0]) * heights, 1)
    flat = (heights < FLAT_HEIGHT * height) & ((areas < BAR_AREA * typical_area) | (fill >= BAR_FILL))
    loose = piece | flat | (light & (groups.row_coverage() < DOTTED_COVERAGE))
    # Area alone can't tell: a thin "1" next to a thick "6" has a tenth of its ink.
    speck = (heights < SPECK_HEIGHT * height) | ((areas < SPECK_INK * typical_area) & piece)
    return _Sizes(height, short, loose, flat, speck)


def _next_join(groups: _Groups) -> tuple[int, int] | None:
    """The pair of groups (their positions) to join next; None when all are settled."""
    boxes = groups.boxes
    size = _sizes(groups)
    x0, y0, x1, y1 = boxes.T
    overlap = np.minimum(x1[:, None], x1[None, :]) - np.maximum(x0[:, None], x0[None, :])
    narrower = np.maximum(np.minimum((x1 - x0)[:, None], (x1 - x0)[None, :]), 1)
    share = overlap / narrower
    gap_y = np.maximum(y0[:, None], y0[None, :]) - np.minimum(y1[:, None], y1[None, :])
    near_y = gap_y <= JOIN_GAP_Y * size.height
    np.fill_diagonal(near_y, False)
    # Stacked pieces: x-ranges overlapping strongly (5's bar over its body, dots of a vertical
    # stroke), or at all when one piece is too short to be a digit (7's bar, half of an open 4).
    # Two full-height digits slanting into each other overlap only a little and stay apart.
    either_short = size.short[:, None] | size.short[None, :]
    stacked = near_y & ((share >= X_OVERLAP) | ((overlap >= 0) & either_short))
    if stacked.any():
        i, j = np.unravel_index(np.argmax(np.where(stacked, share, -np.inf)), share.shape)
        return int(i), int(j)
    # Loose pieces side by side (dots of a dotted stroke, a bar off to the right) join across a
    # column gap: first each other, so that the pieces of one broken digit find each other
    # before a neighbour; then flat bars, to the nearer digit; then other loose pieces, to a digit
    # only when very close, as nearly touching digits must stay apart. Closest first in each.
    gaps = _box_gaps(boxes, boxes)
    loose, flat = size.loose, size.flat
    for allowed, limit in ((loose[:, None] & loose[None, :], LOOSE_GAP),
                           (flat[:, None] | flat[None, :], BAR_GAP),
                           (loose[:, None] | loose[None, :], BESIDE_GAP)):
        beside = near_y & allowed & (gaps <= limit * size.height)
        if beside.any():
            i, j = np.unravel_index(np.argmin(np.where(beside, gaps, np.inf)), gaps.shape)
            return int(i), int(j)
    return None


def _box_gaps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean gaps between every box of a (n, 4) and every box of b (m, 4); 0 where they touch."""
    dx = np.maximum(0, np.maximum(a[:, None, 0] - b[None, :, 2], b[None, :, 0] - a[:, None, 2]))
    dy = np.maximum(0, np.maximum(a[:, None, 1] - b[None, :, 3], b[None, :, 1] - a[:, None, 3]))
    return np.hypot(dx, dy)


def group_digits(components: Components, shape: tuple[int, int] | None) -> list[np.ndarray]:
    """Labels (1-based) of the regions that make each digit, digits ordered left to right. `shape`
    is the picture's, along whose edges frames and rules are left out; None for a crop of one (a
    number on a page), whose sides are no edge: a thin 1 at its end is no rule."""
    if components.count == 0:
        return []
    area = components.area.astype(np.float64)
    live = np.ones(components.count, bool)
    artifacts = edge_artifacts(components, shape) if shape else np.zeros(components.count, bool)
    if not artifacts.all():  # a frame alone is better read than nothing
        live &= ~artifacts
    largest = area[live].max()
    live &= area >= max(MIN_PIECE_AREA, SPECK_AREA * largest)
    index = np.flatnonzero(live)
    if len(index) > MAX_REGIONS:  # a textured photo: joining is quadratic, keep the biggest
        index = np.sort(index[np.argsort(area[index])[::-1][:MAX_REGIONS]])
    if len(index) == 0:
        return []
    groups = _Groups(components.boxes[index], area[index])
    # Joining one pair at a time and re-measuring lets a joined group take in further pieces and
    # lets the typical digit size settle as pieces become digits.
    while (pair := _next_join(groups)) is not None:
        groups.join(*sorted(pair))
    digits = np.flatnonzero(~_sizes(groups).speck)
    boxes = groups.boxes[digits]
    order = np.argsort((boxes[:, 0] + boxes[:, 2]) / 2, kind="stable")
    return [index[np.array(groups.members[digits[k]])] + 1 for k in order]
