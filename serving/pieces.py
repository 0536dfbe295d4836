"""Which of the ink's connected pieces make the digit: not a frame or a ruled line along the edge,
not the page's rim or a patch of shadow in a photo, but the largest piece and those near it."""

from __future__ import annotations

import numpy as np

from serving.components import Components, true_pixels
from serving.morphology import erode

MIN_PIECE_AREA = 3  # pixels: a piece smaller than this is a speck, never a digit
SEEDS = 4  # in a photo, the heaviest pieces that each seed a candidate digit
UNLIKE_A_DIGIT_WEIGHT = 0.3  # ... and how much a straight line's or a page-wide group's ink counts
PAGE_WIDE = 0.75  # a group of pieces across this share of the photo is the page's, not a digit
EDGE_BAND = 0.05  # a rule along the edge lies within this share of the side (at least 2 px) ...
LINE_ASPECT = 6  # ... is this many times as long as it is thick ...
LINE_LENGTH = 0.4  # ... and spans this share of the side
EDGE_TOUCH = 0.02  # a frame reaches within this share of each side ...
FRAME_FILL = 0.2  # ... and inks less than this share of its box
SPECK = 0.01  # a piece under this share of the largest one's area (or 2 px) is a speck
GROW_TURNS = 8  # the digit takes in the pieces near it in at most this many turns ...
NEAR = 0.2  # ... within this share of its size (and 2 px) of its box
STRAIGHT = 0.01  # a straight line: variance across it under this share of the variance along it
SOLID_LOOK_AT = 6  # solid_blobs looks at the largest pieces only
SOLID_SQUARE = 0.35  # a solid piece holds a square this share of its longer side across


def edge_artifacts(components: Components, shape: tuple[int, int]) -> np.ndarray:
    """Which components are a frame or a ruled line along the image's edge, not writing. It needs
    only the pieces' boxes, so it serves every picture and the number reader; in a photo,
    serving.paper's line_mask and page_edges find printed lines and the page's edge by their own
    evidence (the darkness, the light on either side)."""
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
    (grown in turns, so a digit in broken strokes comes whole while specks across the page don't).
    With `ink` (a photo), where the page leaves shadow and what is left of a line or of its rim,
    the few heaviest pieces each seed a group, and the group with the most ink wins."""
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
    candidate &= ~spans_the_page(*components.boxes.T, shape)
    best, best_score = None, -1.0
    for seed in np.argsort(-mass)[:SEEDS]:
        if mass[seed] <= 0:
            break
        group = grow_group(components, np.arange(components.count) == seed, candidate)
        # As wide or as tall as most of the photo (the page's rim, a row of a line's remains), or
        # one straight line: more likely the page's than a digit.
        unlike = spans_the_page(*components.box(group), shape) or is_straight(components, group)
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


Side = int | np.ndarray


def spans_the_page(x0: Side, y0: Side, x1: Side, y1: Side, shape: tuple[int, int]) -> bool | np.ndarray:
    """Whether boxes (scalars or arrays of their sides) are as wide or as tall as most of the photo."""
    h, w = shape
    return (x1 - x0 > PAGE_WIDE * w) | (y1 - y0 > PAGE_WIDE * h)


def is_straight(components: Components, group: np.ndarray) -> bool:
    """Whether the pixels of the components in `group` lie along one straight line: their spread
    across their main direction under a tenth of the spread along it (a line's remains, the
    page's rim)."""
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
    x0, y0, x1, y1 = components.box(keep - 1)
    crop = ink[y0:y1, x0:x1].copy()
    unwanted = np.ones(components.count + 1, bool)  # by label: specks and neighbours in the box
    unwanted[0] = False
    unwanted[keep] = False
    crop[unwanted[components.labels[y0:y1, x0:x1]]] = 0
    return crop
