"""Batched augmentation for handwriting, in torch so it runs as a few tensor ops per batch.

One resampling does rotation, scale, shear, shift and a smooth elastic wobble; then the stroke
is thinned or thickened (pen to marker) by mixing with a grey-level erosion or dilation.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

ROTATE_DEG = 10.0
SCALE = (0.85, 1.12)
SHEAR = 0.2  # tan of the shear angle, about ±11°
SHIFT_PX = 2.5
ELASTIC_PX = 1.0  # peak displacement of the smooth random field
THIN_SHARE = 0.2  # share of digits written with a thinner pen ...
THICK_SHARE = 0.3  # ... and with a thicker one


def uniform(n: int, low: float, high: float, gen: torch.Generator) -> torch.Tensor:
    return torch.rand(n, generator=gen) * (high - low) + low


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """x: (N, 1, FIELD, FIELD) floats in [0, 1], white on black. Returns a new batch of the same shape."""
    n, _, h, w = x.shape
    angle = uniform(n, -ROTATE_DEG, ROTATE_DEG, gen) * math.pi / 180
    # Sampling grid maps output to input, so dividing by the scale enlarges the digit.
    inv_scale = 1 / uniform(n, *SCALE, gen)
    shear = uniform(n, -SHEAR, SHEAR, gen)
    shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * (2 * SHIFT_PX / w)
    cos, sin = torch.cos(angle) * inv_scale, torch.sin(angle) * inv_scale
    theta = torch.stack([torch.stack([cos, -sin + shear * cos, shift[:, 0]], 1),
                         torch.stack([sin, cos + shear * sin, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, (n, 1, h, w), align_corners=False)
    coarse = torch.randn(n, 2, 4, 4, generator=gen) * (2 * ELASTIC_PX / w)
    field = F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=False)
    grid = grid + field.permute(0, 2, 3, 1)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    # Stroke width: blend towards erosion (thin pen) or dilation (marker) by a random amount.
    pick = torch.rand(n, generator=gen)
    amount = torch.rand(n, 1, 1, 1, generator=gen)
    thin = (pick < THIN_SHARE).view(n, 1, 1, 1)
    thick = ((pick >= THIN_SHARE) & (pick < THIN_SHARE + THICK_SHARE)).view(n, 1, 1, 1)
    eroded = -F.max_pool2d(-out, 3, stride=1, padding=1)
    dilated = F.max_pool2d(out, 3, stride=1, padding=1)
    target = torch.where(thin, eroded, torch.where(thick, dilated, out))
    out = out + amount * (target - out)
    return out.clamp_(0, 1)
