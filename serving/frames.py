"""Printed lines around handwriting (a form's field, a row of comb boxes, a table's cells), found by
their shape (straight runs across much of the picture, joined to straight uprights) and taken out
of the ink, when they leave writing inside them: a ruler-straight 4 is all frame, and stays."""

from __future__ import annotations

import numpy as np

from serving.components import Components, label_components
from serving.stats import dilate, sliding

LINE_RUN = 0.2  # a printed rule runs straight across this share of the picture's width ...
MIN_RULE = 16  # ... and this many pixels (a thick digit in a picture MNIST's size has bars of 13)
UPRIGHT_RUN = 0.08  # ... its uprights (a box's sides, a comb's teeth) this share of its height
MIN_UPRIGHTS = 2  # a frame: a rule joined to at least this many uprights ...
TOOTH = 0.3  # ... each as long as this share of the writing's height, the rule as long as
RULE = 1.0  # ... this many times the writing's height
THIN = 8  # a printed rule is at least this many times as long as it is thick (a pen's bar is not)
MIN_WRITING = 0.2  # ... that leaves at least this share of the ink as writing ...
INSIDE = 0.1  # ... within its span (give or take this share of its width) ...
ONE_SIDE = 0.1  # ... on one side of each rule (a digit's own bar has writing on both: a 4's)
FAINT = 0.1  # a thin printed line reduced to the working size is faint: ink above this may be one


def straight_runs(mask: np.ndarray, length: float, axis: int) -> np.ndarray:
    """The pixels of `mask` in a straight run of at least `length` along `axis` (an opening)."""
    size = max(2, int(length))
    if mask.shape[axis] < size:
        return np.zeros_like(mask)
    opened = sliding(mask.astype(np.uint8), size, axis, np.minimum)
    return sliding(opened, size, axis).astype(bool) & mask


def longest_run(flags: np.ndarray) -> int:
    """The length of the longest run of True in a 1-D bool array."""
    ends = np.flatnonzero(np.diff(np.concatenate(([0], flags.view(np.int8), [0]))))
    return int((ends[1::2] - ends[::2]).max(initial=0))


Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (ends exclusive)


def frame_lines(mask: np.ndarray) -> tuple[np.ndarray, list[Box]]:
    """Where a mask of ink has printed frames around writing (bool, like mask), and each frame's box."""
    h, w = mask.shape
    rules = straight_runs(mask, max(MIN_RULE, LINE_RUN * w), 1)
    if not rules.any():
        return rules, []
    uprights = straight_runs(mask, max(6, UPRIGHT_RUN * h), 0) & ~rules
    # A frame spans at least the writing's height, and the writing covers at least the rows of the
    # ink outside every straight run; no frame is wider than the widest run of columns they reach.
    # Most drawings fail this, and skip the labelling and the tests of each frame below.
    structure = rules | uprights
    rows = np.flatnonzero((mask & ~structure).any(axis=1))
    if rows.size and longest_run(structure.any(axis=0)) < RULE * (rows[-1] - rows[0] + 1):
        return np.zeros_like(mask), []
    frames = label_components(structure)
    found, boxes = np.zeros_like(mask), []
    for i in range(frames.count):
        frame = frames.labels == i + 1
        if frames_writing(frame, rules & frame, uprights & frame, mask & ~frame, frames.boxes[i]):
            found |= frame
            boxes.append(tuple(int(v) for v in frames.boxes[i]))
    return found, boxes


def frames_writing(frame: np.ndarray, rules: np.ndarray, uprights: np.ndarray, writing: np.ndarray,
                   box: np.ndarray) -> bool:
    """Whether a structure of straight runs is a printed frame around the writing: a rule as long
    as the writing is tall, joined to uprights, with writing inside its span, on one side of each."""
    rows = np.flatnonzero(writing.any(axis=1))
    if rows.size == 0 or np.count_nonzero(writing) < MIN_WRITING * np.count_nonzero(frame | writing):
        return False
    tall = rows[-1] - rows[0] + 1
    columns = np.flatnonzero(writing.any(axis=0))
    x0, _, x1, _ = box
    margin = INSIDE * (x1 - x0)
    # The cheap tests first: a digit's own bars, in every drawing of one, fail them.
    if x1 - x0 < RULE * tall or columns[0] < x0 - margin or columns[-1] >= x1 + margin:
        return False
    teeth, lines = label_components(uprights), label_components(rules)
    lengths = lines.boxes[:, 2] - lines.boxes[:, 0]
    return (np.count_nonzero(teeth.boxes[:, 3] - teeth.boxes[:, 1] >= TOOTH * tall) >= MIN_UPRIGHTS
            and bool((lengths >= THIN * lines.area / lengths).all())
            and writing_on_one_side(lines, writing))


def writing_on_one_side(rules: Components, writing: np.ndarray) -> bool:
    """Whether each rule (a frame's straight run across) has the writing on one side of it only:
    a box's top has it below, its base above."""
    for x0, y0, x1, y1 in rules.boxes:
        above, below = np.count_nonzero(writing[:y0, x0:x1]), np.count_nonzero(writing[y1:, x0:x1])
        if min(above, below) > ONE_SIDE * max(1, above + below):
            return False
    return True


def without_frames(ink: np.ndarray, pieces: Components | None = None
                   ) -> tuple[np.ndarray, Components | None, list[Box]]:
    """The ink, and its pieces where the path that found them knows them (a photo's), less any
    printed frame around the writing (the same arrays when there is none); and the frames' boxes."""
    lines, boxes = frame_lines(ink > FAINT)
    if not boxes:
        return ink, pieces, boxes
    lines = dilate(lines, 3)  # and the line's soft edges
    ink = np.where(lines, 0, ink).astype(ink.dtype)
    return ink, None if pieces is None else label_components((pieces.labels > 0) & ~lines), boxes
