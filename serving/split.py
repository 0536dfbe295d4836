"""Splitting a region of connected ink into the digits it holds, with the digit model as judge.

A region wider than a narrow digit may be several digits that touch or overlap. Candidate cuts
(serving.cuts) divide it; every run of ink between two cuts, the whole region included, is a
candidate digit, fitted like any other (fit_to_field) so the model can read it. The model reads
all of them in one batch, and dynamic programming over the cuts keeps the segmentation whose
digits the model is surest of: the sum of the log-probabilities of the digits read, less a
penalty per digit, so that a digit is not cut into pieces the model happens to like.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from serving.cuts import between, find_cuts, shrink_to_cut_scale
from serving.preprocess import fit_to_field, ink_mask

SPLIT_WIDTH = 0.6  # a region narrower than this share of the digit height is one digit (two
# MNIST "1"s side by side are about as wide as this)
CUTS_PER_HEIGHT = 1.5  # candidate cuts of each kind per digit height of width: true cuts
# between digits compete with cuts through a loop or a wide stroke
MAX_PIECE_WIDTH = 1.5  # a candidate digit wider than this share of the digit height is not one
MIN_PIECE_HEIGHT = 0.35  # nor one shorter than this share (a sliver cut off a stroke)
MIN_PIECE_WIDTH = 0.08  # nor one narrower (a thin "1" is still wider)
DIGIT_PENALTY = 0.4  # log-probability a segmentation pays for each digit it reads
CUT_COST = 2.0  # log-probability a reading pays per digit height of ink its cuts cross
WIDE_FROM = 1.0  # a digit wider than this share of the digit height is unusual ...
WIDE_COST = 3.0  # ... and pays this much log-probability per digit height beyond it

Box = tuple[int, int, int, int]  # x0, y0, x1, y1: pixels, ends exclusive (PIL's crop convention)


@dataclass(frozen=True)
class Candidates:
    """The candidate digits of one region: spans between cut indices, each with its model input."""

    bounds: int  # cut indices run 0 (the region's left edge) to bounds - 1 (its right edge)
    height: float  # the typical digit height, in the region's pixels
    width: int  # the region's own width
    crossed: np.ndarray  # (bounds,) per cut, the ink it crosses in digit heights (0 at the edges)
    spans: list[tuple[int, int]]  # (first cut, last cut) of each candidate digit
    inputs: np.ndarray  # (P, 28, 28) float32, same order
    boxes: list[Box]  # the candidates' ink boxes in the region's pixels


def may_hold_several(width: int, height: float) -> bool:
    return width > SPLIT_WIDTH * height


def ink_box(piece: np.ndarray) -> Box | None:
    rows, cols = np.nonzero(ink_mask(piece))
    if len(rows) == 0:
        return None
    return int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1


def candidates(ink: np.ndarray, height: float) -> Candidates:
    """The candidate digits in a region's ink (h, w), the region as a whole excepted.

    height is the typical digit height in the same pixels.
    """
    full_width = ink.shape[1]
    ink, factor = shrink_to_cut_scale(ink, height)
    height *= factor
    h, w = ink.shape
    cuts, crossed = find_cuts(ink, height, int(np.ceil(CUTS_PER_HEIGHT * w / height)))
    edges = np.concatenate([np.zeros((1, h), np.int64), cuts, np.full((1, h), w, np.int64)])
    means = edges.mean(axis=1)
    spans, inputs, boxes = [], [], []
    for i in range(len(edges) - 1):
        for j in range(i + 1, len(edges)):
            if (i, j) == (0, len(edges) - 1):
                continue  # the whole region is read as it would be without splitting
            if means[j] - means[i] > MAX_PIECE_WIDTH * height:
                break
            if (edges[j] < edges[i]).any():
                continue  # the cuts cross: no reading uses both
            piece = between(ink, edges[i], edges[j])
            box = ink_box(piece)
            if box is None or box[3] - box[1] < MIN_PIECE_HEIGHT * height \
                    or box[2] - box[0] < MIN_PIECE_WIDTH * height:
                continue
            spans.append((i, j))
            inputs.append(fit_to_field(piece[box[1] : box[3], box[0] : box[2]]))
            boxes.append(box)
    stacked = np.stack(inputs).astype(np.float32) if inputs else np.zeros((0, 28, 28), np.float32)
    # Boxes back in the region's pixels, rounded outwards.
    scaled = [(int(x0 / factor), int(y0 / factor), int(np.ceil(x1 / factor)), int(np.ceil(y1 / factor)))
              for x0, y0, x1, y1 in boxes]
    crossed = np.concatenate([[0.0], crossed / height, [0.0]])
    return Candidates(len(edges), height / factor, full_width, crossed, spans, stacked, scaled)


def score(probs: np.ndarray, widths: np.ndarray, height: float) -> np.ndarray:
    """How much each candidate adds to a reading: the log-probability of the digit read, less the
    penalty per digit, less a cost for being wider than a digit usually is (the model alone can
    read two overlapping digits as one wide one with confidence)."""
    wide = np.maximum(0.0, widths / height - WIDE_FROM)
    return np.log(np.maximum(probs.max(axis=1), 1e-12)) - WIDE_COST * wide - DIGIT_PENALTY


def best_split(found: Candidates, whole: np.ndarray, probs: np.ndarray) -> list[int] | None:
    """The candidates (indices) making the likeliest reading, or None when the region is one digit.

    whole: the model's probabilities for the region read whole; probs: for each candidate.
    """
    last = found.bounds - 1
    widths = np.array([b[2] - b[0] for b in found.boxes], np.float64)
    # A cut through a stroke is less likely a boundary than one through a thin join.
    gain = score(probs, widths, found.height) - CUT_COST * found.crossed[[j for _, j in found.spans]]
    best = np.full(found.bounds, -np.inf)
    best[0] = 0.0
    came: list[int] = [-1] * found.bounds
    for k in np.argsort([j for _, j in found.spans], kind="stable"):
        i, j = found.spans[k]
        if best[i] + gain[k] > best[j]:
            best[j], came[j] = best[i] + gain[k], int(k)
    whole_score = float(score(whole[None], np.array([found.width], np.float64), found.height)[0])
    if best[last] <= whole_score:
        return None
    chosen, at = [], last
    while at != 0:
        chosen.append(came[at])
        at = found.spans[came[at]][0]
    return chosen[::-1]
