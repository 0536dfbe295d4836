"""How far each pixel lies from the paper towards the ink, whatever the colours, and those
contrasts brought to 0 (paper) … 1 (full ink)."""

from __future__ import annotations

import numpy as np

from serving.decode import NoDigitError
from serving.stats import GREY_LEVELS, otsu_threshold, quantile_from_hist

MIN_CONTRAST = 0.08  # ink must differ from paper by this much (0..1 colour distance)
BORDER = 0.03  # the border the paper's colour is read from: this share of the shorter side
FAR_RANK = 0.9995  # the ink's colour is read near the farthest pixel from the paper, not at the
# single farthest: it may be noise ...
FAR = 0.25  # ... from the pixels at least half as far (a quarter of the squared distance)
HIST_BINS = 256
PAPER_NOISE = 0.99  # the paper's noise floor: this quantile of the paper's side of the histogram
FLOOR_UNDER_THRESHOLD = 0.8  # ... and never above this share of the paper/ink threshold
FULL_INK = 0.9  # full ink: this quantile of the ink's side
MIN_INK_RANGE = 0.05  # paper floor and full ink closer than this: no clear strokes
INK_LEVEL = 0.35  # normalized ink above this is a stroke


def border_pixels(a: np.ndarray) -> np.ndarray:
    """The pixels of the picture's border (BORDER of its shorter side wide), flattened."""
    h, w = a.shape[:2]
    k = max(1, round(BORDER * min(h, w)))
    return np.concatenate([side.reshape(-1, *a.shape[2:]) for side in (a[:k], a[-k:], a[:, :k], a[:, -k:])])


def contrast_map(pixels: np.ndarray) -> np.ndarray:
    """Per pixel of uint8 `pixels` (H, W) or (H, W, C), how far it lies from the paper (the border's
    median colour) towards the ink (the mean of the pixels at least half as far as the farthest),
    0 … 1: a projection that works for any pair of colours and decides polarity at the same time."""
    if pixels.ndim == 2:
        return grey_contrast_map(pixels)
    rgb = pixels.astype(np.float32) * (1 / 255)
    paper = np.median(border_pixels(rgb), axis=0).astype(np.float32)
    diff = rgb - paper
    distance2 = np.einsum("ijk,ijk->ij", diff, diff).ravel()
    rank = far_rank(distance2.size)
    far = distance2 >= FAR * np.partition(distance2, rank)[rank]
    return project_on_ink(diff, diff.reshape(-1, diff.shape[2])[far].mean(axis=0))


def grey_contrast_map(grey: np.ndarray) -> np.ndarray:
    """contrast_map for one channel, worked out once per grey level (256) instead of per pixel."""
    return np.take(grey_contrast_levels(grey, np.bincount(grey.ravel(), minlength=256)), grey)


def grey_contrast_levels(grey: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """contrast_map's value for each of the 256 grey levels; `counts`: the picture's histogram."""
    # The paper level exactly as the colour path computes it, so that ties fall the same way.
    paper = np.median(GREY_LEVELS[border_pixels(grey)])
    diff = (GREY_LEVELS - paper)[:, None]  # per level, as a one-channel colour
    distance2 = diff[:, 0] ** 2
    by_distance = np.argsort(distance2, kind="stable")
    rank_level = by_distance[np.searchsorted(np.cumsum(counts[by_distance]), far_rank(grey.size), "right")]
    far = distance2 >= FAR * distance2[rank_level]
    direction = (diff[far, 0] * counts[far]).sum(keepdims=True) / counts[far].sum()
    return project_on_ink(diff, direction)


def far_rank(n: int) -> int:
    """The rank of the farthest pixel from the paper that counts (FAR_RANK)."""
    return int(FAR_RANK * (n - 1))


def project_on_ink(diff: np.ndarray, direction: np.ndarray) -> np.ndarray:
    strength2 = float(direction @ direction)
    if strength2 < MIN_CONTRAST**2:
        raise NoDigitError("no digit found: the image is blank (no ink differs from the "
                           "background). Draw or photograph a digit with clear contrast.")
    return np.clip(diff @ (direction / strength2), 0, 1).astype(np.float32)


def normalize_ink(levels: np.ndarray, counts: np.ndarray | None = None) -> np.ndarray:
    """Contrasts → paper noise 0, full ink 1, keeping the anti-aliased edges in between; the paper's
    noise floor and full ink's level read from the contrasts' histogram. With `counts`, `levels`
    is a table (a picture of 256 levels: the contrast of each, and how many pixels have it)."""
    bins = np.minimum((levels * HIST_BINS).astype(np.int32), HIST_BINS - 1)
    hist = np.bincount(bins.ravel(), counts, minlength=HIST_BINS)
    threshold = otsu_threshold(hist)
    split = round(threshold * HIST_BINS)
    paper, ink = hist[:split], hist[split:]
    if ink.sum() == 0:
        raise NoDigitError("no digit found: the image holds no ink. Draw or photograph a digit.")
    floor = quantile_from_hist(paper, PAPER_NOISE) if paper.sum() else 0.0
    floor = min(floor, threshold * FLOOR_UNDER_THRESHOLD)
    # Above the threshold, less one bin (back from quantile_from_hist's upper edge to the lower one).
    top = threshold + quantile_from_hist(ink, FULL_INK) - 1 / HIST_BINS
    if top - floor < MIN_INK_RANGE:
        raise NoDigitError("no digit found: the image has no clear strokes")
    return np.clip((levels - floor) * (1 / (top - floor)), 0, 1)


def ink_mask(ink: np.ndarray) -> np.ndarray:
    return ink > INK_LEVEL
