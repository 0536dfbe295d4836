"""Any image → the 28×28 input MNIST would have made of it.

MNIST's own recipe: find the ink, fit it in a 20×20 box keeping its aspect ratio (anti-aliased),
centre it by its centre of mass in a 28×28 field, white on black. Getting there from real inputs
takes one module a step:

    serving.decode      bytes, path, PIL image or array → an upright PIL image, or an InputError
    serving.ink         where the ink is, by the route the picture needs:
      serving.contrast    a drawing or clean scan: paper → ink contrast, whatever the colours
      serving.photo       a photo of paper: light, ruled lines and the page's marks taken out
    serving.pieces      which of the ink's pieces make the digit
    serving.field       the digit's crop fitted in MNIST's field
"""

from __future__ import annotations

import numpy as np

from serving.decode import ImageSource, NoDigitError
from serving.field import fit_to_field
from serving.grouping import group_digits
from serving.ink import InkMap, ink_map
from serving.pieces import MIN_PIECE_AREA, crop_digit, digit_components


def to_mnist(source: ImageSource) -> np.ndarray:
    """The 28×28 float32 image in [0, 1] (white on black) that the model should see. Raises
    InputError for what can't be read, NoDigitError for what holds no digit."""
    return digit_input(ink_map(source))


def digit_input(found: InkMap) -> np.ndarray:
    """The model's 28×28 input from the ink found in a picture: the digit's pieces, cropped,
    fitted in 20×20 and centred by mass."""
    return digit_and_others(found)[0]


def digit_and_others(found: InkMap) -> tuple[np.ndarray, bool]:
    """digit_input, and whether the picture seems to hold more than one digit (its pieces make
    several digits as a number's would be grouped: the digit read is then only one of them)."""
    ink = found.ink
    components = found.components()
    if components.count == 0 or components.area.max() < MIN_PIECE_AREA:
        raise NoDigitError("no digit found: only specks of ink. Draw or photograph a digit.")
    keep = digit_components(components, ink.shape, ink if found.photo else None)
    several = components.count > 1 and len(group_digits(components, ink.shape)) > 1
    return fit_to_field(crop_digit(ink, components, keep)), several
