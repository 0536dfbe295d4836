"""Batched augmentation for handwriting, in torch so it runs as a few tensor ops per batch.

One resampling does rotation, scale, shear, shift and a smooth elastic wobble; then the stroke
is thinned or thickened (pen to marker) by mixing with a grey-level erosion or dilation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentConfig:
    rotate_deg: float = 10.0
    scale: tuple[float, float] = (0.85, 1.12)
    shear: float = 0.2  # tan of the shear angle, about ±11°
    shift_px: float = 2.5
    elastic_px: float = 1.0  # peak displacement of the smooth random field
    thin_prob: float = 0.2
    thick_prob: float = 0.3


def _uniform(n: int, low: float, high: float, gen: torch.Generator) -> torch.Tensor:
    return torch.rand(n, generator=gen) * (high - low) + low


def augment(x: torch.Tensor, gen: torch.Generator, cfg: AugmentConfig = AugmentConfig()) -> torch.Tensor:
    """x: (N, 1, FIELD, FIELD) floats in [0, 1], white on black. Returns a new batch of the same shape."""
    n, _, h, w = x.shape
    angle = _uniform(n, -cfg.rotate_deg, cfg.rotate_deg, gen) * math.pi / 180
    # Sampling grid maps output to input, so dividing by the scale enlarges the digit.
    inv_scale = 1 / _uniform(n, *cfg.scale, gen)
    shear = _uniform(n, -cfg.shear, cfg.shear, gen)
    shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * (2 * cfg.shift_px / w)
    cos, sin = torch.cos(angle) * inv_scale, torch.sin(angle) * inv_scale
    theta = torch.stack(
        [
            torch.stack([cos, -sin + shear * cos, shift[:, 0]], 1),
            torch.stack([sin, cos + shear * sin, shift[:, 1]], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta, (n, 1, h, w), align_corners=False)
    if cfg.elastic_px > 0:
        coarse = torch.randn(n, 2, 4, 4, generator=gen) * (2 * cfg.elastic_px / w)
        field = F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=False)
        grid = grid + field.permute(0, 2, 3, 1)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    # Stroke width: blend towards erosion (thin pen) or dilation (marker) by a random amount.
    pick = torch.rand(n, generator=gen)
    amount = torch.rand(n, 1, 1, 1, generator=gen)
    thin = (pick < cfg.thin_prob).view(n, 1, 1, 1)
    thick = ((pick >= cfg.thin_prob) & (pick < cfg.thin_prob + cfg.thick_prob)).view(n, 1, 1, 1)
    eroded = -F.max_pool2d(-out, 3, stride=1, padding=1)
    dilated = F.max_pool2d(out, 3, stride=1, padding=1)
    target = torch.where(thin, eroded, torch.where(thick, dilated, out))
    out = out + amount * (target - out)
    return out.clamp_(0, 1)
