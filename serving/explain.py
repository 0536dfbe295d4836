"""Where the model looked: a class's evidence as a 28×28 heatmap over the image the model saw.

The digit graph's CLASS_MAPS output is each net's last feature map weighted by its linear layer:
after global average pooling a class's logit is its map's mean plus a bias, so the map is an exact
account of where the evidence for that class lies (no gradients, no torch)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from serving.contract import FIELD, MAP_SIDE

CELL = FIELD // MAP_SIDE  # input pixels per class-map cell, each way
OVERLAY_SIDE = 224  # overlay's pixels a side: 8 per input pixel


def _bilinear_weights() -> np.ndarray:
    """(28, 7) weights that resample a 7-cell axis at the 28 pixel centres: cell i covers pixels
    4i..4i+3, so pixel y lies at cell coordinate (y + 0.5) / 4 - 0.5, clamped at the borders."""
    position = np.clip((np.arange(FIELD) + 0.5) / CELL - 0.5, 0, MAP_SIDE - 1)
    below = np.minimum(np.floor(position).astype(int), MAP_SIDE - 2)
    frac = position - below
    weights = np.zeros((FIELD, MAP_SIDE), np.float32)
    weights[np.arange(FIELD), below] = 1 - frac
    weights[np.arange(FIELD), below + 1] = frac
    return weights


RESAMPLE = _bilinear_weights()


def heatmap(class_map: np.ndarray) -> np.ndarray:
    """A class's (7, 7) evidence map → (28, 28) float32 in 0–1, aligned with the model's input: only
    evidence for the class (negative cells count as 0), the strongest pixel 1 (none: all zeros)."""
    heat = RESAMPLE @ np.maximum(np.asarray(class_map, np.float32), 0) @ RESAMPLE.T
    peak = heat.max()
    if peak <= 0:
        return np.zeros((FIELD, FIELD), np.float32)
    return np.clip(heat / peak, 0, 1).astype(np.float32)


def seen_pixels(model_input: np.ndarray) -> np.ndarray:
    """The model's input as the (28, 28) uint8 image it stands for (0 background, 255 ink)."""
    return np.clip(np.rint(np.asarray(model_input, np.float32) * 255), 0, 255).astype(np.uint8)


def overlay(model_input: np.ndarray, heat: np.ndarray) -> Image.Image:
    """The model's input (dimmed grey) under the heatmap in warm colours, enlarged to OVERLAY_SIDE a side."""
    grey = seen_pixels(model_input).astype(np.float32)[..., None].repeat(3, axis=2) * 0.6
    # A "hot" ramp: dark red where the evidence is weak, through orange, to pale yellow at its peak.
    warm = np.stack([np.clip(3 * heat, 0, 1), np.clip(3 * heat - 1, 0, 1), np.clip(3 * heat - 2, 0, 1)], 2)
    alpha = 0.75 * np.sqrt(heat)[..., None]  # faint evidence still shows
    pixels = grey * (1 - alpha) + 255 * warm * alpha
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).resize((OVERLAY_SIDE, OVERLAY_SIDE),
                                                                            Image.BILINEAR)
