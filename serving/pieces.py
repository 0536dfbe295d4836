"""Which of the ink's connected pieces make the digit: not a frame or a ruled line along the edge,
not the page's rim or a patch of shadow in a photo, but the largest piece and those near it; and the
pieces of a line grouped into digits, left to right (group_digits)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from serving.components import Components, true_pixels
from serving.stats import erode

MIN_PIECE_AREA = 3  # pixels: a piece smaller than this is a speck, never a digit
SEEDS = 4  # in a photo, the heaviest pieces that each seed a candidate digit
UNLIKE_A_DIGIT_WEIGHT = 0.3  # ... and how much a straight line's or a page-wide group's ink counts
PAGE_WIDE = 0.75  # a group of pieces across this share of the photo is the page's, not a digit
EDGE_BAND = 0.05  # a rule along the edge lies within this share of the side (at least 2 px) ...
LINE_ASPECT = 6  # ... is this many times as long as it is thick ...
LINE_LENGTH = 0.4  # ... and spans this share of the side
EDGE_TOUCH = 0.02  # a frame reaches within this share of each side ...
FRAME_FILL = 0.2  # ... and inks less than this share of its box
SPECK = 0.01  # a piece under this share of the largest one's area is a speck
GROW_TURNS = 8  # the digit takes in the pieces near it in at most this many turns ...
NEAR = 0.2  # ... within this share of its size (and 2 px) of its box
STRAIGHT = 0.01  # a straight line: variance across it under this share of the variance along it
SOLID_LOOK_AT = 6  # solid_blobs looks at the largest pieces only
SOLID_SQUARE = 0.35  # a solid piece holds a square this share of its longer side across
# Grouping a line's regions into digits: every rule compares sizes with the digit height (the
# tallest clear region), never pixels, so it works at any scale.
MAX_REGIONS = 300  # at most this many regions (the biggest) are grouped into digits
X_OVERLAP = 0.5  # join regions whose x-ranges overlap by this share of the narrower one, or at all
# (no empty column between them: nearly touching digits are often 1-2 columns apart) when one is short
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


def edge_artifacts(components: Components, shape: tuple[int, int]) -> np.ndarray:
    """Which components are a frame or a ruled line along the image's edge, not writing, by their
    boxes alone (in a photo, serving.paper also finds them by the darkness and the light)."""
    h, w = shape
    x0, y0, x1, y1 = components.boxes.T
    bw, bh = x1 - x0, y1 - y0
    band_x, band_y = max(2, EDGE_BAND * w), max(2, EDGE_BAND * h)
    touches = [x0 <= EDGE_TOUCH * w, y0 <= EDGE_TOUCH * h, x1 >= w - EDGE_TOUCH * w, y1 >= h - EDGE_TOUCH * h]
    frame = np.logical_and.reduce(touches) & (components.area < FRAME_FILL * bw * bh)
    horizontal = (bw > LINE_ASPECT * bh) & (bw > LINE_LENGTH * w) & ((y1 <= band_y) | (y0 >= h - band_y))
    vertical = (bh > LINE_ASPECT * bw) & (bh > LINE_LENGTH * h) & ((x1 <= band_x) | (x0 >= w - band_x))
    return frame | horizontal | vertical


def digit_components(components: Components, shape: tuple[int, int],
                     ink: np.ndarray | None = None) -> np.ndarray:
    """Labels (1-based) of the components that make the digit: the largest, and the pieces near it
    (grown in turns, so a broken digit comes whole while specks across the page don't). In a photo
    (`ink` given), the few heaviest pieces each seed a group, and the group with the most ink wins."""
    area = components.area.astype(np.float64)
    artifacts = edge_artifacts(components, shape)
    if ink is not None:
        artifacts |= solid_blobs(components)
    if not artifacts.all():
        area = np.where(artifacts, 0, area)
    candidate = area >= max(2, SPECK * area.max())
    if ink is None:
        return np.flatnonzero(grow_group(components, area == area.max(), candidate)) + 1
    inked = components.labels > 0
    mass = np.bincount(components.labels[inked], ink[inked], components.count + 1)[1:]
    mass = np.where(area > 0, mass, 0)
    # A piece spanning most of the photo (the page's rim) has a box that holds everything: it
    # may seed a group of its own but joins no other.
    candidate &= ~spans_the_page(components.boxes.T, shape)
    best, best_score = None, -1.0
    for seed in np.argsort(-mass)[:SEEDS]:
        if mass[seed] <= 0:
            break
        group = grow_group(components, np.arange(components.count) == seed, candidate)
        # As wide or as tall as most of the photo (the page's rim, a row of a line's remains), or
        # one straight line: more likely the page's than a digit.
        unlike = spans_the_page(components.box(group), shape) or is_straight(components, group)
        score = float(mass[group].sum()) * (UNLIKE_A_DIGIT_WEIGHT if unlike else 1)
        if score > best_score:
            best, best_score = group, score
    return np.flatnonzero(best) + 1


def grow_group(components: Components, keep: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    """The pieces near `keep`, added in turns (GROW_TURNS) within NEAR of the group's size."""
    b = components.boxes
    for _ in range(GROW_TURNS):
        x0, y0, x1, y1 = components.box(keep)
        margin_x, margin_y = NEAR * (x1 - x0) + 2, NEAR * (y1 - y0) + 2
        near = ((b[:, 2] > x0 - margin_x) & (b[:, 0] < x1 + margin_x)
                & (b[:, 3] > y0 - margin_y) & (b[:, 1] < y1 + margin_y))
        grown = keep | (near & candidate)
        if (grown == keep).all():
            break
        keep = grown
    return keep


def spans_the_page(box: tuple[int, int, int, int] | np.ndarray, shape: tuple[int, int]) -> bool | np.ndarray:
    """Whether a box (or (4, N) boxes' sides) is as wide or as tall as most of the photo."""
    x0, y0, x1, y1 = box
    h, w = shape
    return (x1 - x0 > PAGE_WIDE * w) | (y1 - y0 > PAGE_WIDE * h)


def is_straight(components: Components, group: np.ndarray) -> bool:
    """Whether the pixels of the components in `group` lie along one straight line (a line's
    remains, the page's rim): their spread across their main direction far under that along it."""
    ys, xs = true_pixels(components.pixels(group, components.box(group)))
    if len(xs) < 3:  # no spread to measure
        return False
    minor, major = np.linalg.eigvalsh(np.cov(xs, ys))
    return minor < STRAIGHT * major


def solid_blobs(components: Components) -> np.ndarray:
    """Which of the SOLID_LOOK_AT largest components are solid rather than strokes: a square about a
    third as wide as the component's longer side fits inside (a digit's strokes are thinner than
    that, even a marker's; a patch of shadow or the desk is not)."""
    out = np.zeros(components.count, bool)
    for i in np.argsort(-components.area)[:SOLID_LOOK_AT]:
        x0, y0, x1, y1 = components.boxes[i]
        side = max(3, round(SOLID_SQUARE * max(x1 - x0, y1 - y0))) | 1
        if min(x1 - x0, y1 - y0) < side:
            continue
        inside = np.pad(components.labels[y0:y1, x0:x1] == i + 1, 1)  # outside the box: not it
        out[i] = bool(erode(inside, side).any())
    return out


def crop_digit(ink: np.ndarray, components: Components, keep: np.ndarray) -> np.ndarray:
    """The ink in the box of the components labelled `keep`, without the others' ink in it."""
    kept = np.zeros(components.count, bool)
    kept[keep - 1] = True
    x0, y0, x1, y1 = box = components.box(kept)
    return np.where(components.pixels(~kept, box), 0, ink[y0:y1, x0:x1])


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
    size = _sizes(groups)
    x0, y0, x1, y1 = groups.boxes.T
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
    # gap, closest first: each other, so that a broken digit's pieces find each other before a
    # neighbour; then flat bars, to the nearer digit; then other loose pieces, to a digit only when
    # very close, as nearly touching digits must stay apart.
    gaps = np.hypot(np.maximum(0, -overlap), np.maximum(0, gap_y))  # between the boxes (0: touching)
    loose, flat = size.loose, size.flat
    for allowed, limit in ((loose[:, None] & loose[None, :], LOOSE_GAP),
                           (flat[:, None] | flat[None, :], BAR_GAP),
                           (loose[:, None] | loose[None, :], BESIDE_GAP)):
        beside = near_y & allowed & (gaps <= limit * size.height)
        if beside.any():
            i, j = np.unravel_index(np.argmin(np.where(beside, gaps, np.inf)), gaps.shape)
            return int(i), int(j)
    return None


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
    live &= area >= max(MIN_PIECE_AREA, SPECK * largest)
    index = np.flatnonzero(live)
    if len(index) > MAX_REGIONS:  # a textured photo: joining is quadratic, keep the biggest
        index = np.sort(index[np.argsort(area[index])[::-1][:MAX_REGIONS]])
    if len(index) == 0:
        return []
    groups = _Groups(components.boxes[index], area[index])
    # One pair at a time, re-measured: a joined group may take in more, and the digit size settles.
    while (pair := _next_join(groups)) is not None:
        groups.join(*sorted(pair))
    digits = np.flatnonzero(~_sizes(groups).speck)
    boxes = groups.boxes[digits]
    order = np.argsort((boxes[:, 0] + boxes[:, 2]) / 2, kind="stable")
    return [index[np.array(groups.members[digits[k]])] + 1 for k in order]
