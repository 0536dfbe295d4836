"""A cropped digit → the 28×28 field MNIST would have made of it: strokes evened towards MNIST's
width, the longer side fitted to 20 pixels, centred by mass."""

from __future__ import annotations

import numpy as np
from PIL import Image

from serving.contract import FIELD
from serving.decode import NoDigitError
from serving.stats import dilate

BOX = 20  # MNIST fits the digit in 20×20, centred by mass in the FIELD×FIELD field
MNIST_STROKE = 0.12  # MNIST's median stroke width as a share of that box (2.45 px of 20)
STROKE_FLOOR = 0.8  # strokes are thickened up to this share of it; thin ones are MNIST too
MIN_GROW = 3  # pixels: a pixel or two at the crop's size is lost in the shrink to 20 px anyway


def resized_to_peak(ink: np.ndarray, size: tuple[int, int], factor: float) -> np.ndarray:
    """`ink` resized to `size` (width, height), area-averaged when shrinking (factor < 1) and
    bilinear when enlarging, then divided by its peak (all zeros when it holds no ink)."""
    resample = Image.Resampling.BOX if factor < 1 else Image.Resampling.BILINEAR
    patch = np.asarray(Image.fromarray(np.ascontiguousarray(ink, np.float32), "F").resize(size, resample))
    peak = patch.max()
    return patch / peak if peak > 0 else patch


def even_stroke(ink: np.ndarray) -> np.ndarray:
    """A cropped digit whose strokes are much thinner than MNIST's (a pen across a big digit)
    thickened towards them, so that shrinking it to 20 px leaves a stroke, not a faint trace. A
    stroke of width w and length L has area wL and an outline 2L long, which is what the gradient
    magnitude adds up; MNIST's strokes measured this way are 12% of the box."""
    if min(ink.shape) < 2:
        return ink  # a line one pixel thin: no outline to measure (np.gradient needs two)
    gy, gx = np.gradient(ink)
    outline = float(np.sqrt(gx * gx + gy * gy).sum())
    if outline <= 0:
        return ink
    width = 2 * float(ink.sum()) / outline
    grow = round(STROKE_FLOOR * MNIST_STROKE * max(ink.shape) - width)
    if grow < MIN_GROW:
        return ink
    return dilate(np.pad(ink, grow // 2 + 1), grow + 1)


def fit_to_field(ink: np.ndarray) -> np.ndarray:
    """A cropped digit → 28×28: longer side to 20 pixels (area-averaged), centred by mass."""
    ink = even_stroke(ink)
    h, w = ink.shape
    factor = BOX / max(h, w)
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    patch = resized_to_peak(ink, size, factor)
    if patch.max() <= 0:
        raise NoDigitError("no digit found")
    ph, pw = patch.shape
    mass = patch.sum()
    cy = (patch.sum(axis=1) * np.arange(ph)).sum() / mass
    cx = (patch.sum(axis=0) * np.arange(pw)).sum() / mass
    # MNIST's centres of mass sit at (14.0, 14.0) in pixel indices (measured on its test set).
    top = min(max(round(FIELD / 2 - cy), 0), FIELD - ph)
    left = min(max(round(FIELD / 2 - cx), 0), FIELD - pw)
    field = np.zeros((FIELD, FIELD), np.float32)
    field[top : top + ph, left : left + pw] = patch
    return field
