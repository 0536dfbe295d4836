"""Batched augmentation for handwriting, in torch: a few tensor ops per batch (docs/model.md).

Writing conventions MNIST under-represents are drawn onto its digits first (flagged and footed 1s,
crossed 7s, slashed 0s, looped 2s), so that `augment` then turns and thickens the new stroke with
the digit. A flag leaves the 1's top at 20–55° from the stem, a 7's bar about 90°: it stays a flag.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from serving.contract import FIELD

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


IDX = torch.arange(FIELD, dtype=torch.float32)  # pixel rows or columns
_YS, _XS = torch.meshgrid(IDX, IDX, indexing="ij")
GRID = torch.stack([_XS.reshape(-1), _YS.reshape(-1)], 1)  # (784, 2) pixel centres as (x, y)


@dataclass(frozen=True)
class ConventionConfig:
    flag_1: float = 0.5  # share of 1s given a flag
    foot_1: float = 0.3  # share of flagged 1s that also get a foot
    bar_7: float = 0.4
    slash_0: float = 0.12
    loop_2: float = 0.2


def render_polyline(points: torch.Tensor, width: torch.Tensor) -> torch.Tensor:
    """points (N, K, 2) as (x, y) pixels, width (N,) → (N, FIELD, FIELD) anti-aliased ink in [0, 1]."""
    a, b = points[:, :-1], points[:, 1:]
    ab = (b - a)[:, :, None]  # (N, S, 1, 2)
    ap = GRID[None, None] - a[:, :, None]  # (N, S, 784, 2)
    t = ((ap * ab).sum(-1) / (ab * ab).sum(-1).clamp_min(1e-6)).clamp(0, 1)
    distance = (ap - t[..., None] * ab).norm(dim=-1).amin(1)  # (N, 784)
    return (width[:, None] / 2 + 0.5 - distance).clamp(0, 1).view(-1, FIELD, FIELD)


def bezier(p0: torch.Tensor, p1: torch.Tensor, bend: torch.Tensor) -> torch.Tensor:
    """A quadratic curve from p0 to p1 (N, 2), in 6 segments, its middle pushed sideways by bend × length."""
    d = p1 - p0
    normal = torch.stack([-d[:, 1], d[:, 0]], 1)
    control = (p0 + p1) / 2 + bend[:, None] * normal
    t = torch.linspace(0, 1, 7)[None, :, None]
    return (1 - t) ** 2 * p0[:, None] + 2 * (1 - t) * t * control[:, None] + t**2 * p1[:, None]


def ellipse(centre: torch.Tensor, rx: torch.Tensor, ry: torch.Tensor) -> torch.Tensor:
    angle = torch.linspace(0, 2 * math.pi, 13)[None]  # 12 segments
    return torch.stack([centre[:, :1] + rx[:, None] * torch.cos(angle),
                        centre[:, 1:] + ry[:, None] * torch.sin(angle)], -1)


def pen_width(x: torch.Tensor) -> torch.Tensor:
    """Stroke width of each digit (N, FIELD, FIELD): a stroke of width w and length L has area wL and an
    outline of 2L, and the outline is what the gradient magnitude adds up."""
    gy, gx = torch.gradient(x, dim=(1, 2))
    outline = (gx * gx + gy * gy).sqrt().sum((1, 2)).clamp_min(1e-3)
    return (2 * x.sum((1, 2)) / outline).clamp(1.2, 4.5)


def ink_extent(x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Top, bottom, left, right of each digit's ink (> 0.5), and its height (at least 6 rows)."""
    rows, cols = (x > 0.5).any(2), (x > 0.5).any(1)
    top, bottom = torch.where(rows, IDX, FIELD).amin(1), torch.where(rows, IDX, -FIELD).amax(1)
    left, right = torch.where(cols, IDX, FIELD).amin(1), torch.where(cols, IDX, -FIELD).amax(1)
    return top, bottom, left, right, (bottom - top).clamp_min(6)


def row_centre(x: torch.Tensor, rows: torch.Tensor, fallback: torch.Tensor) -> torch.Tensor:
    """Ink-weighted mean column of the rows rows±1 of each digit (fallback where they hold none)."""
    near = ((IDX[None] - rows[:, None]).abs() <= 1).float()  # (N, FIELD) row weights
    weights = (x * near[:, :, None]).sum(1)  # (N, FIELD) per column
    total = weights.sum(1)
    return torch.where(total > 0.5, (weights * IDX).sum(1) / total.clamp_min(1e-6), fallback)


def flag_1(x: torch.Tensor, gen: torch.Generator, foot: float) -> list[torch.Tensor]:
    n = len(x)
    top, bottom, left, right, height = ink_extent(x)
    top_x = row_centre(x, top, (left + right) / 2)
    bottom_x = row_centre(x, bottom, (left + right) / 2)
    stem = torch.stack([bottom_x - top_x, bottom - top], 1)
    stem = stem / stem.norm(dim=1, keepdim=True).clamp_min(1e-6)  # pointing down the 1
    turn = uniform(n, 20, 55, gen) * math.pi / 180  # towards the left, away from the stem
    cos, sin = torch.cos(turn), torch.sin(turn)
    direction = torch.stack([stem[:, 0] * cos - stem[:, 1] * sin, stem[:, 0] * sin + stem[:, 1] * cos], 1)
    start = torch.stack([top_x, top], 1)
    strokes = [bezier(start, start + direction * (height * uniform(n, 0.25, 0.6, gen))[:, None],
                      uniform(n, -0.12, 0.12, gen))]
    has_foot = torch.rand(n, generator=gen) < foot
    half = height * uniform(n, 0.12, 0.28, gen)
    base = torch.stack([bottom_x, bottom], 1)
    tilt = uniform(n, -0.12, 0.12, gen) * half
    foot_line = bezier(base - torch.stack([half * uniform(n, 0.7, 1.3, gen), -tilt], 1),
                       base + torch.stack([half, tilt], 1), uniform(n, -0.08, 0.08, gen))
    # Without a foot the "foot" is the same flag again, so every digit gets two polylines.
    strokes.append(torch.where(has_foot[:, None, None], foot_line, strokes[0]))
    return strokes


def bar_7(x: torch.Tensor, gen: torch.Generator) -> list[torch.Tensor]:
    n = len(x)
    top, bottom, left, right, height = ink_extent(x)
    y = top + height * uniform(n, 0.42, 0.62, gen)
    cx = row_centre(x, y.round(), (left + right) / 2)
    reach_left, reach_right = height * uniform(n, 0.12, 0.28, gen), height * uniform(n, 0.12, 0.28, gen)
    tilt = uniform(n, -0.15, 0.15, gen)
    p0 = torch.stack([cx - reach_left, y + tilt * reach_left], 1)
    p1 = torch.stack([cx + reach_right, y - tilt * reach_right], 1)
    return [bezier(p0, p1, uniform(n, -0.1, 0.1, gen))]


def slash_0(x: torch.Tensor, gen: torch.Generator) -> list[torch.Tensor]:
    n = len(x)
    top, bottom, left, right, _ = ink_extent(x)
    centre = torch.stack([(left + right) / 2, (top + bottom) / 2], 1)
    angle = uniform(n, 45, 90, gen) * math.pi / 180  # from a diagonal to an upright inner stroke
    reach = uniform(n, 0.5, 0.95, gen)
    half = torch.stack([torch.cos(angle) * (right - left) / 2, -torch.sin(angle) * (bottom - top) / 2], 1)
    half = half * reach[:, None]
    return [bezier(centre - half, centre + half, uniform(n, -0.1, 0.1, gen))]


def loop_2(x: torch.Tensor, gen: torch.Generator) -> list[torch.Tensor]:
    """A small loop where a 2's diagonal meets its base (its lowest-left ink)."""
    n = len(x)
    top, bottom, left, right, height = ink_extent(x)
    low = (IDX[None] >= (bottom - 0.25 * height)[:, None]).float()
    cols = ((x > 0.5).float() * low[:, :, None]).amax(1)  # columns with ink in the bottom quarter
    corner_x = torch.where(cols > 0, IDX, float(FIELD)).amin(1)
    corner_x = torch.minimum(corner_x, right)
    r = height * uniform(n, 0.08, 0.14, gen)
    centre = torch.stack([corner_x + r * uniform(n, 0.6, 1.2, gen),
                          bottom - r * uniform(n, 0.8, 1.3, gen)], 1)
    return [ellipse(centre, r * uniform(n, 0.8, 1.25, gen), r)]


def add_conventions(x: torch.Tensor, y: torch.Tensor, gen: torch.Generator,
                    cfg: ConventionConfig = ConventionConfig()) -> torch.Tensor:
    """x: (N, 1, FIELD, FIELD) in [0, 1] white on black, y: (N,) labels. Returns a new batch."""
    out = x.clone()
    pick = torch.rand(len(x), generator=gen)
    for digit, share, make in ((1, cfg.flag_1, lambda d: flag_1(d, gen, cfg.foot_1)),
                               (7, cfg.bar_7, lambda d: bar_7(d, gen)),
                               (0, cfg.slash_0, lambda d: slash_0(d, gen)),
                               (2, cfg.loop_2, lambda d: loop_2(d, gen))):
        chosen = torch.nonzero((y == digit) & (pick < share)).flatten()
        if len(chosen) == 0:
            continue
        digits = out[chosen, 0]
        width = pen_width(digits) * uniform(len(chosen), 0.85, 1.15, gen)
        peak = digits.flatten(1).amax(1).clamp_min(0.5)[:, None, None]
        strokes = torch.stack([render_polyline(p, width) for p in make(digits)]).amax(0)
        out[chosen, 0] = torch.maximum(digits, strokes * peak)
    return out
