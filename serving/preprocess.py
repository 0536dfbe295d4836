"""Any image → the 28×28 input MNIST would have made of it.

MNIST's own recipe: find the ink, fit it in a 20×20 box keeping its aspect ratio (anti-aliased),
centre it by its centre of mass in a 28×28 field, white on black. Getting there from real inputs
means: decoding safely, any mode and orientation, telling ink from paper whatever the colours
(dark on light, light on dark, coloured strokes on a transparent layer), evening out shadows,
and ignoring JPEG noise and specks without losing faint thin strokes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from serving.components import Components, label_components, true_pixels
from serving.decode import (  # noqa: F401 - the errors and ImageSource are this module's API too
    ImageSource,
    InputError,
    NoDigitError,
    open_image,
    shrink,
    to_standard_mode,
)
from serving.paper import clear_marks, hysteresis, page_marks, paper_ink, sliding_max, stretch_ink

WORK_SIDE = 128  # ink analysis for a single digit happens at most at this size (≥ 6× the 20-px box)
SMALL_SIDE = 400  # pictures this small are drawings or crops, not phone photos of a page
PHOTO_SIDE = 640  # photos of paper are read at this size: a digit a tenth of its height is 64 px
MIN_CONTRAST = 0.08  # ink must differ from paper by this much (0..1 colour distance)
BOX = 20  # MNIST fits the digit in 20×20 ...
MNIST_STROKE = 0.12  # MNIST's median stroke width as a share of that box (2.45 px of 20)
STROKE_FLOOR = 0.8  # strokes are thickened up to this share of it; thin ones are MNIST too
FIELD = 28  # ... centred by mass in 28×28
INK_LEVEL = 0.35  # normalized ink above this is a stroke
FAINT_INK = 0.12  # ... and above this too in a photo, where it joins a stroke (hysteresis)
SEEDS = 4  # in a photo, the heaviest pieces that each seed a candidate digit
UNLIKE_A_DIGIT_WEIGHT = 0.3  # ... and how much a straight line's or a page-wide group's ink counts
PAGE_WIDE = 0.75  # a group of pieces across this share of the photo is the page's, not a digit


@dataclass(frozen=True)
class InkMap:
    ink: np.ndarray  # (h, w) float32 in [0, 1], 1 = full ink
    source_size: tuple[int, int]  # (width, height) of the input after EXIF rotation
    # The ink's connected pieces, when the path that found them knows better than one threshold
    # on `ink` (photos: faint pencil joined to the strokes it belongs to); None: ink_mask(ink)'s.
    pieces: Components | None = None

    @property
    def photo(self) -> bool:
        """Whether the ink was found by the photo-of-paper path (lighting, lines, page marks)."""
        return self.pieces is not None

    @property
    def mask(self) -> np.ndarray:
        """Where the ink is."""
        return ink_mask(self.ink) if self.pieces is None else self.pieces.labels > 0

    def components(self) -> Components:
        return label_components(ink_mask(self.ink)) if self.pieces is None else self.pieces


# ---------------------------------------------------------------- ink


def layer_alpha(layer) -> np.ndarray:
    if isinstance(layer, np.ndarray) and layer.ndim == 3 and layer.shape[2] == 4 and layer.dtype == np.uint8:
        return layer[:, :, 3]  # Gradio's numpy layers: skip the round trip through PIL
    return np.asarray(to_standard_mode(open_image(layer)).convert("RGBA"))[:, :, 3]


def ink_from_alpha_layers(value: dict) -> np.ndarray | None:
    """The strokes of a Gradio sketch: the union of its layers' alpha, whatever the theme."""
    alphas = [layer_alpha(layer) for layer in value.get("layers") or [] if layer is not None]
    alphas = [a for a in alphas if a.shape == alphas[0].shape] if alphas else []
    if not alphas or not any(a.any() for a in alphas):
        return None
    return np.maximum.reduce(alphas)


def sketch_image(value: dict) -> Image.Image:
    """A Gradio sketch value (any of background / layers / composite may be None) → one image.

    Strokes from the layers come back as an "LA" image: white ink whose alpha is the stroke.
    """
    strokes = ink_from_alpha_layers(value)
    if strokes is not None:
        return Image.merge("LA", (Image.new("L", strokes.shape[::-1], 255), Image.fromarray(strokes)))
    for key in ("composite", "background"):
        if value.get(key) is not None:
            return open_image(value[key])
    raise NoDigitError("no digit found: the sketch is empty. Draw a digit first.")


def border_pixels(a: np.ndarray) -> np.ndarray:
    h, w = a.shape[:2]
    k = max(1, round(0.03 * min(h, w)))
    return np.concatenate([a[:k].reshape(-1, *a.shape[2:]), a[-k:].reshape(-1, *a.shape[2:]),
                           a[:, :k].reshape(-1, *a.shape[2:]), a[:, -k:].reshape(-1, *a.shape[2:])])


def contrast_map(pixels: np.ndarray) -> np.ndarray:
    """Per pixel, how far it lies from the paper towards the ink colour (0 paper, 1 ink).

    `pixels` are uint8, grey (H, W) or colour (H, W, C). Paper is the median colour of the border;
    ink is the mean of the pixels at least half as far from it as the farthest ones (a small digit
    on a big canvas may cover well under 1%). Projecting on that paper→ink line works for any pair
    of colours (red on dark grey included) and decides polarity at the same time.
    """
    if pixels.ndim == 2:
        return grey_contrast_map(pixels)
    rgb = pixels.astype(np.float32) * (1 / 255)
    paper = np.median(border_pixels(rgb), axis=0).astype(np.float32)
    diff = rgb - paper
    distance2 = np.einsum("ijk,ijk->ij", diff, diff).ravel()
    rank = far_rank(distance2.size)
    far = distance2 >= 0.25 * np.partition(distance2, rank)[rank]
    return project_on_ink(diff, diff.reshape(-1, diff.shape[2])[far].mean(axis=0))


def grey_contrast_map(grey: np.ndarray) -> np.ndarray:
    """contrast_map for one channel, worked out once per grey level (256) instead of per pixel."""
    return np.take(grey_contrast_levels(grey, np.bincount(grey.ravel(), minlength=256)), grey)


GREY_LEVELS = np.arange(256, dtype=np.float32) * np.float32(1 / 255)  # a byte's level in 0..1


def grey_contrast_levels(grey: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """contrast_map's value for each of the 256 grey levels; `counts`: the picture's histogram."""
    # The paper level exactly as the colour path computes it (the median of the border's levels,
    # in float32), so that ties fall the same way.
    paper = level_median(border_pixels(grey))
    diff = (GREY_LEVELS - paper)[:, None]  # per level, as a one-channel colour
    distance2 = diff[:, 0] ** 2
    by_distance = np.argsort(distance2, kind="stable")
    rank_level = by_distance[np.searchsorted(np.cumsum(counts[by_distance]), far_rank(grey.size), "right")]
    far = distance2 >= 0.25 * distance2[rank_level]
    direction = (diff[far, 0] * counts[far]).sum(keepdims=True) / counts[far].sum()
    return project_on_ink(diff, direction)


def far_rank(n: int) -> int:
    return int(0.9995 * (n - 1))  # not the single farthest pixel: it may be noise


def project_on_ink(diff: np.ndarray, direction: np.ndarray) -> np.ndarray:
    strength2 = float(direction @ direction)
    if strength2 < MIN_CONTRAST**2:
        raise NoDigitError("no digit found: the image is blank (no ink differs from the "
                           "background). Draw or photograph a digit with clear contrast.")
    return np.clip(diff @ (direction / strength2), 0, 1).astype(np.float32)


HIST_BINS = 256


BIN_CENTRES = (np.arange(HIST_BINS) + 0.5) / HIST_BINS


def otsu_threshold(hist: np.ndarray) -> float:
    p = hist / max(hist.sum(), 1)
    omega = np.cumsum(p)
    mu = np.cumsum(p * BIN_CENTRES)
    between = (mu[-1] * omega - mu) ** 2 / np.maximum(omega * (1 - omega), 1e-12)
    return float((np.argmax(between) + 1) / len(hist))


def quantile_from_hist(hist: np.ndarray, q: float) -> float:
    """The q-quantile of the values counted in a histogram over [0, 1]."""
    cumulative = np.cumsum(hist)
    # + 1: the upper edge of the bin the quantile falls in, as a share of this histogram's bins.
    return float(np.searchsorted(cumulative, q * cumulative[-1]) + 1) / len(hist)


def normalize_ink(t: np.ndarray) -> np.ndarray:
    """Paper noise to 0, full ink to 1, keeping the anti-aliased edges in between."""
    return scale_ink(t, *ink_range(ink_histogram(t)))


def normalize_levels(levels: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """normalize_ink for a picture of 256 levels: `levels` the contrast of each, `counts` how many
    pixels have it. The same numbers, for a table of 256 instead of every pixel."""
    return scale_ink(levels, *ink_range(ink_histogram(levels, counts)))


def ink_histogram(t: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    bins = np.minimum((t * HIST_BINS).astype(np.int32), HIST_BINS - 1)
    return np.bincount(bins.ravel(), weights, minlength=HIST_BINS)


def ink_range(hist: np.ndarray) -> tuple[float, float]:
    """From the contrast's histogram: the paper's noise floor and full ink's level."""
    threshold = otsu_threshold(hist)
    split = round(threshold * HIST_BINS)
    paper, ink = hist[:split], hist[split:]
    if ink.sum() == 0:
        raise NoDigitError("no digit found: the image holds no ink. Draw or photograph a digit.")
    floor = quantile_from_hist(paper, 0.99) if paper.sum() else 0.0
    floor = min(floor, threshold * 0.8)
    # Above the threshold, less one bin (back from quantile_from_hist's upper edge to the lower one).
    top = threshold + quantile_from_hist(ink, 0.9) - 1 / HIST_BINS
    if top - floor < 0.05:
        raise NoDigitError("no digit found: the image has no clear strokes")
    return floor, top


def scale_ink(t: np.ndarray, floor: float, top: float) -> np.ndarray:
    return np.clip((t - floor) * (1 / (top - floor)), 0, 1)


def ink_map(source: ImageSource, work_side: int = WORK_SIDE) -> InkMap:
    """Decodes `source` and returns where the ink is, white-on-black, at most work_side pixels."""
    if isinstance(source, dict):
        image = sketch_image(source)
    else:
        image = open_image(source)
    source_size = image.size
    image = to_standard_mode(image) if image.mode != "LA" else image
    if image.mode in ("RGBA", "LA"):
        alpha = np.asarray(image.getchannel("A"))
        if (alpha < 128).mean() > 0.5:
            # Strokes on a transparent field: the alpha is the ink.
            small, _ = shrink(Image.fromarray(alpha), work_side)
            alpha = np.asarray(small)
            if GREY_LEVELS[alpha.max()] < MIN_CONTRAST:
                raise NoDigitError("no digit found: the image is fully transparent. Draw a digit.")
            counts = np.bincount(alpha.ravel(), minlength=256)
            return InkMap(np.take(normalize_levels(GREY_LEVELS, counts), alpha), source_size)
        # Mostly opaque: lay the few transparent pixels on the paper colour.
        rgba = np.asarray(image.convert("RGBA"), np.float32) / 255
        rgb, a = rgba[..., :3], rgba[..., 3:]
        paper = np.median(rgb[a[..., 0] >= 0.5], axis=0)
        image = Image.fromarray(np.rint((rgb * a + paper * (1 - a)) * 255).astype(np.uint8))
    side = max(image.size)
    photo_side = max(work_side, PHOTO_SIDE)
    image, _ = shrink(image, photo_side)  # the most any path reads: shrink once
    small, _ = shrink(image, work_side)
    raw = np.asarray(small)
    if raw.ndim == 3 and (raw[..., 0] == raw[..., 1]).all() and (raw[..., 1] == raw[..., 2]).all():
        raw = np.ascontiguousarray(raw[..., 0])  # grey in RGB clothing: a third of the work
    try:
        ink = clean_ink(raw, side)
    except NoDigitError:
        if side <= SMALL_SIDE:
            raise
        ink = None  # faint writing in a big photo can be lost at this size: look closer
    if ink is None:
        return photo_ink_map(image, source_size)
    return InkMap(ink, source_size)


def clean_ink(raw: np.ndarray, side: int) -> np.ndarray | None:
    """The normalized ink of a drawing or clean scan (`raw`: uint8 at the working size, `side`:
    the picture's longer side); None when it is not clean and must be read as a photo. A grey
    picture is worked out per grey level, and its map looked up only where it is needed.

    Clean: an even border that is also the paper (a page framed by the desk has an even border
    too), with no more than half the picture inked. A drawing's canvas (side ≤ SMALL_SIDE) needs
    no more: the photo path's light estimate would hollow the thick strokes that small canvases
    have. A larger picture must also be flat (is_flat)."""
    if raw.ndim == 3:
        t = contrast_map(raw)
        border = border_pixels(t)
        if not clean_border(border, np.count_nonzero(t >= 0.1) / t.size):
            return None
        return normalize_ink(t) if side <= SMALL_SIDE or is_flat(t, border) else None
    counts = np.bincount(raw.ravel(), minlength=256)
    levels = grey_contrast_levels(raw, counts)
    border = np.take(levels, border_pixels(raw))
    if not clean_border(border, counts[levels >= 0.1].sum() / raw.size):
        return None
    if side > SMALL_SIDE and not is_flat(np.take(levels, raw), border):
        return None
    return np.take(normalize_levels(levels, counts), raw)


def clean_border(border: np.ndarray, inked_share: float) -> bool:
    """An even border that is the paper, and no more than half the picture inked (at a tenth of
    full ink or above)."""
    return quantile(border, 0.9) < 0.12 and inked_share < 0.5


def is_flat(t: np.ndarray, border: np.ndarray) -> bool:
    """A border without grain, and no mid-tones away from the strokes' own soft edges (printed
    lines, shading, faint pencil): anything else is read as a photo of paper, which costs more."""
    near_ink = sliding_max(sliding_max(t > 0.5, 5, 0), 5, 1)
    stray = ((t > 0.12) & (t < 0.5) & ~near_ink).mean()
    return float(border.std()) < 0.015 and float(stray) < 0.01


def level_median(values: np.ndarray) -> np.float32:
    """np.median of GREY_LEVELS[values] for 1-D bytes, in float32, without its overhead on small
    arrays: the bytes' middle pair, looked up (the order is the same)."""
    low, high = (len(values) - 1) // 2, len(values) // 2
    return GREY_LEVELS[np.partition(values, (low, high))[[low, high]]].mean()  # as np.median


def quantile(values: np.ndarray, q: float) -> float:
    """np.quantile's default (linear) for a 1-D array, without its overhead on small arrays."""
    position = q * (len(values) - 1)
    below = int(position)
    above = min(below + 1, len(values) - 1)
    low, high = np.partition(values, (below, above))[[below, above]]
    return float(low + (high - low) * (position - below))


def photo_ink_map(image: Image.Image, source_size: tuple[int, int]) -> InkMap:
    """Ink of a photo of paper: lighting divided out, ruled and grid lines removed (serving.paper).
    `image` is already at the size to read."""
    grey = np.asarray(image.convert("L"))
    # Writing on paper is dark on light, even where a shadow or the desk takes much of the
    # picture; only a dark picture whose far tail is bright is light writing on a board.
    cumulative = np.cumsum(np.bincount(grey.ravel(), minlength=256))  # bytes: count, don't sort
    low, middle, high = np.searchsorted(cumulative, np.array([0.005, 0.5, 0.995]) * grey.size)
    if middle < 0.4 * 255 and high - middle > middle - low:
        grey = 255 - grey
    d, light = paper_ink(grey)
    ink = stretch_ink(d)
    # Dark marks can outshine faint pencil so that only they pass for ink; clearing them brings
    # the writing (and fainter marks) into view, so this goes round until only writing is left.
    # What was writing in one round stays: a faint line's end that joins it later is not its.
    writing = np.zeros(d.shape, bool)
    for _ in range(4):
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
    # Pencil breaks into pieces above the ink threshold joined by fainter grain: what is
    # joined to strong ink belongs to the writing; faint specks on their own (the grain of
    # the paper, what is left of dots and lines) are nobody's strokes.
    components = hysteresis(ink, FAINT_INK, INK_LEVEL)
    mask = components.labels > 0
    # What the faint ink adds may be the page's again (the rim, a line's ends): cleared the same way.
    marks = page_marks(components, light)
    if marks.any():
        kept = mask & (~components.pixels(marks) | writing)
        if kept.any():  # nothing but marks: show them rather than nothing
            mask, components = kept, label_components(kept)
    return InkMap(np.where(mask, ink, 0).astype(np.float32), source_size, components)


# ---------------------------------------------------------------- the digit


def edge_artifacts(components: Components, shape: tuple[int, int]) -> np.ndarray:
    """Which components are a frame or a ruled line along the image's edge, not writing."""
    h, w = shape
    x0, y0, x1, y1 = components.boxes.T
    bw, bh = x1 - x0, y1 - y0
    band_x, band_y = max(2, 0.05 * w), max(2, 0.05 * h)
    touches = [x0 <= 0.02 * w, y0 <= 0.02 * h, x1 >= w - 0.02 * w, y1 >= h - 0.02 * h]
    frame = np.logical_and.reduce(touches) & (components.area < 0.2 * bw * bh)
    horizontal = (bw > 6 * bh) & (bw > 0.4 * w) & ((y1 <= band_y) | (y0 >= h - band_y))
    vertical = (bh > 6 * bw) & (bh > 0.4 * h) & ((x1 <= band_x) | (x0 >= w - band_x))
    return frame | horizontal | vertical


def digit_components(components: Components, shape: tuple[int, int],
                     ink: np.ndarray | None = None) -> np.ndarray:
    """Labels (1-based) of the components that make the digit: the largest, and the pieces near it
    (grown in turns, so a digit in broken strokes comes whole while specks across the page don't).

    With `ink` (a photo), the page leaves more behind than specks: patches of shadow, what is
    left of a line or of the page's rim. There the few heaviest pieces each seed a group, and
    the group with the most ink wins, a straight line's or a page-wide group's counting for less."""
    area = components.area.astype(np.float64)
    artifacts = edge_artifacts(components, shape)
    if ink is not None:
        artifacts |= solid_blobs(components)
    if not artifacts.all():
        area = np.where(artifacts, 0, area)
    candidate = area >= max(2, 0.01 * area.max())
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
        unlike = unlike_a_digit(components, group)
        score = float(mass[group].sum()) * (UNLIKE_A_DIGIT_WEIGHT if unlike else 1)
        if score > best_score:
            best, best_score = group, score
    return np.flatnonzero(best) + 1


def grow_group(components: Components, keep: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    """The pieces near `keep`, added in turns (at most 8) within a fifth of the group's size."""
    b = components.boxes
    for _ in range(8):
        x0, y0, x1, y1 = components.box(keep)
        margin_x, margin_y = 0.2 * (x1 - x0) + 2, 0.2 * (y1 - y0) + 2
        near = ((b[:, 2] > x0 - margin_x) & (b[:, 0] < x1 + margin_x)
                & (b[:, 3] > y0 - margin_y) & (b[:, 1] < y1 + margin_y))
        grown = keep | (near & candidate)
        if (grown == keep).all():
            break
        keep = grown
    return keep


def unlike_a_digit(components: Components, group: np.ndarray) -> bool:
    """Whether a group of pieces is more likely the page's than a digit: as wide or as tall as most
    of the photo (the page's rim, a row of a line's remains), or one straight line."""
    spans = bool(spans_the_page(*components.box(group), components.labels.shape))
    return spans or is_straight(components, group)


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
    if len(xs) < 3:
        return False
    minor, major = np.linalg.eigvalsh(np.cov(xs, ys))
    return minor < 0.01 * major


def solid_blobs(components: Components, look_at: int = 6) -> np.ndarray:
    """Which of the `look_at` largest components are solid rather than strokes: a square about a
    third as wide as the component's longer side fits inside (a digit's strokes are thinner than
    that, even a marker's; a patch of shadow or the desk is not)."""
    out = np.zeros(components.count, bool)
    for i in np.argsort(-components.area)[:look_at]:
        x0, y0, x1, y1 = components.boxes[i]
        side = max(3, round(0.35 * max(x1 - x0, y1 - y0))) | 1
        if min(x1 - x0, y1 - y0) < side:
            continue
        inside = np.pad(components.labels[y0:y1, x0:x1] == i + 1, 1)  # outside the box: not it
        eroded = sliding_max(sliding_max(inside, side, 0, np.minimum), side, 1, np.minimum)
        out[i] = bool(eroded.any())
    return out


def even_stroke(ink: np.ndarray) -> np.ndarray:
    """A cropped digit whose strokes are much thinner than MNIST's (a pen across a big digit)
    thickened towards them, so that shrinking it to 20 px leaves a stroke, not a faint trace.

    A stroke of width w and length L has area wL and an outline 2L long, which is what the
    gradient magnitude adds up; MNIST's strokes measured this way are 12% of the box.
    """
    if min(ink.shape) < 2:
        return ink  # a line one pixel thin: no outline to measure (np.gradient needs two)
    gy, gx = gradient(ink, 0), gradient(ink, 1)
    outline = float(np.sqrt(gx * gx + gy * gy).sum())
    if outline <= 0:
        return ink
    width = 2 * float(ink.sum()) / outline
    grow = round(STROKE_FLOOR * MNIST_STROKE * max(ink.shape) - width)
    if grow < 3:  # a pixel or two at this size is lost in the shrink to 20 px anyway
        return ink
    margin = grow // 2 + 1
    padded = np.pad(ink, margin)
    return sliding_max(sliding_max(padded, grow + 1, 0), grow + 1, 1)


def gradient(a: np.ndarray, axis: int) -> np.ndarray:
    """np.gradient along one axis of a 2-D array (central differences inside, one-sided at the
    ends), without its overhead on small arrays."""
    a = a if axis == 0 else a.T
    out = np.empty_like(a)
    np.subtract(a[2:], a[:-2], out=out[1:-1])
    out[1:-1] *= 0.5
    np.subtract(a[1], a[0], out=out[0])
    np.subtract(a[-1], a[-2], out=out[-1])
    return out if axis == 0 else out.T


def fit_to_field(ink: np.ndarray) -> np.ndarray:
    """A cropped digit → 28×28: longer side to 20 pixels (area-averaged), centred by mass."""
    ink = even_stroke(ink)
    h, w = ink.shape
    factor = BOX / max(h, w)
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    resample = Image.Resampling.BOX if factor < 1 else Image.Resampling.BILINEAR
    patch = np.asarray(Image.fromarray(np.ascontiguousarray(ink, np.float32), "F").resize(size, resample))
    peak = patch.max()
    if peak <= 0:
        raise NoDigitError("no digit found")
    patch = patch / peak  # in [0, 1]: box and bilinear weights are never negative
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


def crop_digit(ink: np.ndarray, components: Components, keep: np.ndarray) -> np.ndarray:
    boxes = components.boxes[keep - 1]
    x0, y0 = boxes[:, :2].min(axis=0)
    x1, y1 = boxes[:, 2:].max(axis=0)
    crop = ink[y0:y1, x0:x1].copy()
    unwanted = np.ones(components.count + 1, bool)  # by label: specks and neighbours in the box
    unwanted[0] = False
    unwanted[keep] = False
    crop[unwanted[components.labels[y0:y1, x0:x1]]] = 0
    return crop


def ink_mask(ink: np.ndarray) -> np.ndarray:
    return ink > INK_LEVEL


def to_mnist(source: ImageSource) -> np.ndarray:
    """The 28×28 float32 image in [0, 1] (white on black) that the model should see.

    Raises InputError for what can't be read, NoDigitError for what holds no digit.
    """
    return digit_input(ink_map(source))


def digit_input(found: InkMap) -> np.ndarray:
    """The model's 28×28 input from the ink found in a picture: the digit's pieces, cropped,
    fitted in 20×20 and centred by mass."""
    ink = found.ink
    components = found.components()
    if components.count == 0 or components.area.max() < 3:
        raise NoDigitError("no digit found: only specks of ink. Draw or photograph a digit.")
    keep = digit_components(components, ink.shape, ink if found.photo else None)
    return fit_to_field(crop_digit(ink, components, keep))
