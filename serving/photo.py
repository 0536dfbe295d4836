"""The ink of a photo of writing on paper: what is left once the page's light, lines and marks are
taken out (serving.paper), with faint pencil joined to the strokes it belongs to."""

from __future__ import annotations

import numpy as np
from PIL import Image

from serving.components import Components, label_components
from serving.contrast import INK_LEVEL, ink_mask
from serving.decode import NoDigitError
from serving.paper import clear_marks, hysteresis, page_marks, paper_ink, stretch_ink

FAINT_INK = 0.12  # ink above this joins a stroke (above INK_LEVEL) it touches (hysteresis)
MARK_ROUNDS = 4  # rounds of clearing the page's marks: each may bring fainter writing into view
BOARD_DARK = 0.4  # a picture darker than this in the middle, with a far bright tail, is light
# writing on a board


def photo_ink(image: Image.Image) -> tuple[np.ndarray, Components]:
    """Ink of a photo of paper, and its pieces: lighting divided out, ruled and grid lines and the
    page's marks removed (serving.paper). `image` is already at the size to read."""
    d, light = paper_ink(dark_on_light(np.asarray(image.convert("L"))))
    ink = stretch_ink(d)
    # Dark marks can outshine faint pencil; clearing them brings the writing (and fainter marks)
    # into view, so this goes round until only writing is left. What was writing in one round stays.
    writing = np.zeros(d.shape, bool)
    for _ in range(MARK_ROUNDS):
        components = label_components(ink_mask(ink))
        marks = page_marks(components, light)
        writing |= components.pixels(~marks)
        if not marks.any():
            break
        cleared = clear_marks(d, components, marks, writing)
        try:
            ink = stretch_ink(cleared)
        except NoDigitError:
            break  # nothing but marks: show them rather than nothing
        d = cleared
    # Pencil breaks into pieces joined by fainter grain: what is joined to strong ink is writing,
    # faint specks on their own (the paper's grain, what is left of dots and lines) are not.
    components = hysteresis(ink, FAINT_INK, INK_LEVEL)
    mask = components.labels > 0
    # What the faint ink adds may be the page's again (the rim, a line's ends): cleared the same way.
    marks = page_marks(components, light)
    if marks.any():
        kept = mask & (~components.pixels(marks) | writing)
        if kept.any():  # nothing but marks: show them rather than nothing
            mask, components = kept, label_components(kept)
    return np.where(mask, ink, 0).astype(np.float32), components


def dark_on_light(grey: np.ndarray) -> np.ndarray:
    """The picture as dark writing on light paper: only a dark picture whose far tail is bright is
    light writing on a board (not paper in shadow), and is turned over."""
    cumulative = np.cumsum(np.bincount(grey.ravel(), minlength=256))  # bytes: count, don't sort
    low, middle, high = np.searchsorted(cumulative, np.array([0.005, 0.5, 0.995]) * grey.size)
    if middle < BOARD_DARK * 255 and high - middle > middle - low:
        return 255 - grey
    return grey
