"""Any image → the 28×28 input MNIST would have made of it: the ink found (serving.ink), the
pieces that make the digit chosen (serving.pieces) and fitted in MNIST's field (serving.field)."""

from __future__ import annotations

import numpy as np

from serving.decode import ImageSource, NoDigitError
from serving.field import fit_to_field
from serving.ink import InkMap, ink_map
from serving.pieces import MIN_PIECE_AREA, crop_digit, digit_components, group_digits


def to_mnist(source: ImageSource) -> np.ndarray:
    """The 28×28 float32 image in [0, 1] (white on black) that the model should see. Raises
    InputError for what can't be read, NoDigitError for what holds no digit."""
    return digit_and_others(ink_map(source))[0]


def digit_and_others(found: InkMap) -> tuple[np.ndarray, bool]:
    """The model's 28×28 input from the ink found in a picture, and whether the picture seems to
    hold more than one digit (its pieces make several digits as a number's would be grouped: the
    digit read is then only one of them)."""
    ink = found.ink
    components = found.components()
    if components.count == 0 or components.area.max() < MIN_PIECE_AREA:
        raise NoDigitError("no digit found: only specks of ink. Draw or photograph a digit.")
    keep = digit_components(components, ink.shape, ink if found.photo else None)
    several = components.count > 1 and len(group_digits(components, ink.shape)) > 1
    return fit_to_field(crop_digit(ink, components, keep)), several
