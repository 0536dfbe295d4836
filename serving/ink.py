"""Where the ink is in a picture, white on black, and the route that finds it: strokes on a
transparent field (their alpha), a drawing or clean scan (serving.contrast), or a photo of paper
(serving.photo) when the picture is not clean."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from serving.components import Components, label_components
from serving.contrast import (
    MIN_CONTRAST,
    border_pixels,
    contrast_map,
    grey_contrast_levels,
    ink_mask,
    normalize_ink,
)
from serving.decode import ImageSource, NoDigitError, fewest_channels, open_image, shrink, to_standard_mode
from serving.frames import without_frames
from serving.photo import photo_ink
from serving.stats import GREY_LEVELS, dilate, quantile

WORK_SIDE = 128  # ink analysis for a single digit happens at most at this size (≥ 6× the 20-px box)
SMALL_SIDE = 400  # pictures this small are drawings or crops, not phone photos of a page
PHOTO_SIDE = 640  # photos of paper are read at this size: a digit a tenth of its height is 64 px
TRANSPARENT = 128  # alpha under this is see-through; a picture more than SEE_THROUGH of it so
SEE_THROUGH = 0.5  # is strokes on a transparent field
PAPER_ALPHA = 0.5  # the paper's colour is read from pixels at least this opaque
INKED = 0.1  # clean: no more than MAX_INKED of the picture is inked (this far towards full ink)
MAX_INKED = 0.5
BORDER_SHARE = 0.9  # ... and this share of the border lies closer to the paper than
EVEN_BORDER = 0.12  # ... this (an even border that is the paper)
STROKE = 0.5  # flat: apart from strokes (contrast above this) and their soft edges (within
STROKE_EDGE = 5  # this square around them), ...
MID_TONE = 0.12  # ... no more than MAX_STRAY of the picture is mid-tone (above this) ...
MAX_STRAY = 0.01
MAX_GRAIN = 0.015  # ... and the border's contrast varies by less than this (no paper grain)


@dataclass(frozen=True)
class InkMap:
    ink: np.ndarray  # (h, w) float32 in [0, 1], 1 = full ink
    # The ink's connected pieces, when the path that found them knows better than one threshold
    # on `ink` (photos: faint pencil joined to the strokes it belongs to); None: ink_mask(ink)'s.
    pieces: Components | None = None

    @property
    def photo(self) -> bool:
        """Whether the ink was found by the photo-of-paper path (lighting, lines, page marks)."""
        return self.pieces is not None

    def components(self) -> Components:
        return label_components(ink_mask(self.ink)) if self.pieces is None else self.pieces


def ink_map(source: ImageSource, work_side: int = WORK_SIDE) -> InkMap:
    """Decodes `source` and returns where the ink is, white-on-black, at most work_side pixels."""
    image = to_standard_mode(open_image(source))
    if image.mode == "RGBA":
        alpha = np.asarray(image.getchannel("A"))
        if (alpha < TRANSPARENT).mean() > SEE_THROUGH:
            return InkMap(alpha_ink(alpha, work_side))
        image = on_paper(image)
    side = max(image.size)
    image = shrink(image, max(work_side, PHOTO_SIDE))  # the most any path reads: shrink once
    raw = np.asarray(shrink(fewest_channels(image), work_side))  # a grey RGB scan reduced as grey
    if raw.ndim == 3 and (raw[..., 0] == raw[..., 1]).all() and (raw[..., 1] == raw[..., 2]).all():
        raw = np.ascontiguousarray(raw[..., 0])  # a colour picture that shrinking made grey
    try:
        ink = clean_ink(raw, side)
    except NoDigitError:
        if side <= SMALL_SIDE:
            raise
        ink = None  # faint writing in a big photo can be lost at this size: look closer
    ink, pieces, _ = without_frames(*photo_ink(image)) if ink is None else without_frames(ink)
    return InkMap(ink, pieces)


def alpha_ink(alpha: np.ndarray, work_side: int) -> np.ndarray:
    """Strokes on a transparent field: the alpha (uint8) is the ink, at most work_side pixels."""
    alpha = np.asarray(shrink(Image.fromarray(alpha), work_side))
    if GREY_LEVELS[alpha.max()] < MIN_CONTRAST:
        raise NoDigitError("no digit found: the image is fully transparent. Draw a digit.")
    counts = np.bincount(alpha.ravel(), minlength=256)
    return np.take(normalize_ink(GREY_LEVELS, counts), alpha)


def on_paper(image: Image.Image) -> Image.Image:
    """A mostly opaque RGBA picture as RGB, its few transparent pixels laid on the paper colour."""
    rgba = np.asarray(image.convert("RGBA"), np.float32) / 255
    rgb, a = rgba[..., :3], rgba[..., 3:]
    paper = np.median(rgb[a[..., 0] >= PAPER_ALPHA], axis=0)
    return Image.fromarray(np.rint((rgb * a + paper * (1 - a)) * 255).astype(np.uint8))


def clean_ink(raw: np.ndarray, side: int) -> np.ndarray | None:
    """The normalized ink of a drawing or clean scan (`raw`: uint8 at the working size, `side`: the
    picture's longer side); None when it is not clean (clean_border, and beyond a drawing's canvas
    is_flat: on a small one the photo path would hollow thick strokes) and must be read as a photo."""
    if raw.ndim == 3:
        t = contrast_map(raw)
        border = border_pixels(t)
        if not clean_border(border, np.count_nonzero(t >= INKED) / t.size):
            return None
        return normalize_ink(t) if side <= SMALL_SIDE or is_flat(t, border) else None
    counts = np.bincount(raw.ravel(), minlength=256)
    levels = grey_contrast_levels(raw, counts)
    border = np.take(levels, border_pixels(raw))
    if not clean_border(border, counts[levels >= INKED].sum() / raw.size):
        return None
    if side > SMALL_SIDE and not is_flat(np.take(levels, raw), border):
        return None
    return np.take(normalize_ink(levels, counts), raw)


def clean_border(border: np.ndarray, inked_share: float) -> bool:
    """An even border that is the paper, and no more than half the picture inked."""
    return quantile(border, BORDER_SHARE) < EVEN_BORDER and inked_share < MAX_INKED


def is_flat(t: np.ndarray, border: np.ndarray) -> bool:
    """A border without grain, and no mid-tones away from the strokes' own soft edges (printed
    lines, shading, faint pencil): anything else is read as a photo of paper, which costs more."""
    near_ink = dilate(t > STROKE, STROKE_EDGE)
    stray = ((t > MID_TONE) & (t < STROKE) & ~near_ink).mean()
    return float(border.std()) < MAX_GRAIN and float(stray) < MAX_STRAY
