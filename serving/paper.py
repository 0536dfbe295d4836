"""A photo of writing on paper → where the ink is, with the paper's own marks taken out: its light
divided out (a closing, so a shadow's edge divides out instead of becoming a stroke), ruled and
squared lines cleared without breaking the strokes that cross them, and the page's other marks
(the desk, the rim, holes, dots) told apart from writing (docs/photos.md, "The steps")."""

from __future__ import annotations

import bisect

import numpy as np

from serving.components import Components, label_components
from serving.decode import NoDigitError
from serving.stats import dilate, erode, median, sliding

LINE_MIN_SPAN = 0.6  # a line crosses at least this share of the strips ...
LONE_LINE_SPAN = 0.85  # ... or this share when it has no parallel lines (a tall 1 may reach 60%)
TALL_STROKE_SPAN = 0.75  # a chain much darker than its family's lines, shorter than this, is writing
STRIP = 32  # pixels per strip: a line sloping 3° drifts under 2 pixels across one
LINK = 2  # rows a line may stray from its course between neighbouring strips
MAX_SLOPE = 6  # rows per strip: a page turned up to about 10°
MAX_LINE_HALF_WIDTH = 4  # rows either side of a line's centre that may be taken out with it
LINE_BASELINE_ROWS = 4 * MAX_LINE_HALF_WIDTH + 1  # a window wider than the widest line
MIN_INK_PIXELS = 20  # fewer pixels clear of the paper's grain than this are no writing
HOLE_SIDE = 0.07  # a punched hole is at most this share of the photo's longer side across
EDGE_BAND = 0.06  # share of each side along the photo's edges where only the page's rim lies
LIGHT_WINDOW = 0.12  # the paper's light: a closing this share of the longer side wide (≥ 15 px)
LINE_EDGE = 0.25  # a line's blurred edge ends where its profile falls below this share of its height
FAMILY_DARKER = 2.5  # a chain this many times darker than its family's lines is a stroke
LINE_INK = 1.6  # across a line, ink darker than this many times the line (+ LINE_INK_MARGIN) ...
LINE_INK_MARGIN = 0.05  # ... is writing that crosses it, and stays
FILL_REACH = 40  # rows a line's pixels are filled from, above and below (a line's band is narrower)
RIM_SIDES = 0.02  # the light either side of a long piece is read this share of the photo wide
RIM_LIGHT = 0.8  # one side this much darker than the other: the page's edge against the desk
THIN = 6  # a piece this many times as long as it is thick is a line
HOLE_ROUND = 1.5  # a punched hole's box is no more than this much longer one way than the other
HOLE_FILL = 0.65  # ... and it fills this share of it
LONG_LINE = 8  # a horizontal piece this many times as wide as tall ...
LONG_LINE_SPAN = 0.25  # ... across this share of the photo is a line's remains
DOT_AREA = 0.05  # dotted paper: pieces under this share of the largest one's area, ...
DOTS = 12  # ... at least this many of them, ...
DOT_SIZES = 3  # ... of at most this many times their median area
HOLE_MIN = 0.015  # a page's punched holes: filled blobs at least this share of its side across, ...
HOLE_OVAL = 2.5  # ... no longer one way than this (a photo at an angle squashes them), ...
HOLE_BAND = 0.15  # ... within this share of its side from an edge, two or more in a row, alike
HOLES_ALIKE = 1.5  # ... in area within this factor, ...
HOLES_APART = 4  # ... and this many of their sizes apart
LATTICE_DOT = 0.015  # a page's dotted paper: pieces at most this share of its side each way, ...
LATTICE_NEAR = 6  # ... each in a row of three, evenly spaced, with two of its nearest this many ...
LATTICE_EVEN = 0.2  # ... within this share of their spacing, in rows that run two ways: the
LATTICE_ONE_WAY = 0.8  # rows' doubled-angle directions add up to less than this share of their count
LATTICE_MAX = 6000  # more small pieces than a page of dots 15 px apart holds: grain, not a lattice
NEAREST_BLOCK = 512  # rows of distances computed at a time
GRAIN_FLOOR = 4  # stretch_ink: the paper's floor lies this many grains above its level ...
GRAIN_STRONG = 10  # ... and strong ink this many
STRONG_INK = 75  # full ink: this percentile of the strong ink
MIN_STRETCH = 0.05  # full ink closer to the floor than this: no clear writing


def closing(a: np.ndarray, size: int) -> np.ndarray:
    """Grey-level closing by a size×size square: dark details narrower than `size` filled in."""
    return erode(dilate(a, size), size)


def paper_light(grey: np.ndarray) -> np.ndarray:
    """The paper's brightness under each pixel, from uint8 grey: a closing wider than any stroke
    (on bytes: a quarter of the memory traffic of floats)."""
    return closing(grey, max(15, round(LIGHT_WINDOW * max(grey.shape))) | 1).astype(np.float32) * (1 / 255)


def darkness(grey: np.ndarray, light: np.ndarray) -> np.ndarray:
    """grey (H, W) in [0, 1], dark ink on light paper → 0 paper … 1 black ink, lighting divided out.
    A 3×3 mean joins the grains of pencil into strokes."""
    # In place: a photo's maps are large, and each fresh array costs more than the arithmetic.
    d = np.maximum(light, np.float32(1e-3))
    np.divide(grey, d, out=d)
    np.subtract(1, d, out=d)
    return box_mean_3x3(np.clip(d, 0, 1, out=d))


def box_mean_3x3(d: np.ndarray) -> np.ndarray:
    """d replaced by the mean over each pixel's 3×3 neighbourhood, the border repeated outwards
    (the far border's ink never wraps round to here)."""
    # Summed in the same order as over a padded copy; a border row or column (or both, in a photo
    # one pixel thin) takes itself for its missing neighbour.
    h, w = d.shape
    rows = np.empty_like(d)
    np.add(d[:-2], d[1:-1], out=rows[1:-1])
    rows[1:-1] += d[2:]
    rows[0], rows[-1] = d[0] + d[0] + d[min(1, h - 1)], d[max(h - 2, 0)] + d[-1] + d[-1]
    np.add(rows[:, :-2], rows[:, 1:-1], out=d[:, 1:-1])
    d[:, 1:-1] += rows[:, 2:]
    d[:, 0] = rows[:, 0] + rows[:, 0] + rows[:, min(1, w - 1)]
    d[:, -1] = rows[:, max(w - 2, 0)] + rows[:, -1] + rows[:, -1]
    return np.divide(d, np.float32(9), out=d)


def strip_profiles(d: np.ndarray) -> np.ndarray:
    """(strips, H): per strip of STRIP columns, each row's median darkness (of every other
    column: a line is wider than that, and the median costs half)."""
    h, w = d.shape
    n = max(1, w // STRIP)
    width = w // n
    # Sorting a strip's few values a row beats np.median's partition on rows this short.
    ordered = np.sort(d[:, : n * width].reshape(h, n, width)[:, :, ::2], axis=2)
    k = ordered.shape[2]
    return ((ordered[:, :, (k - 1) // 2] + ordered[:, :, k // 2]) * 0.5).T


def line_slope(peaks: np.ndarray) -> float:
    """The slope (rows per strip) at which the strips' peaks line up best: the page's rules share
    one slope, give or take perspective, and a photo may be turned a few degrees."""
    n, h = peaks.shape
    strip, row = np.nonzero(peaks | np.roll(peaks, 1, axis=1) | np.roll(peaks, -1, axis=1))
    slopes = np.arange(-MAX_SLOPE, MAX_SLOPE + 0.25, 0.25)
    offsets = np.rint(slopes[:, None] * (np.arange(n) - (n - 1) / 2)).astype(int)  # (K, n)
    aligned = row[None, :] - offsets[:, strip]  # where each peak lands once its strip is shifted
    inside = (aligned >= 0) & (aligned < h)
    flat = (np.arange(len(slopes))[:, None] * h + aligned)[inside]
    counts = np.bincount(flat, minlength=len(slopes) * h).reshape(len(slopes), h)
    return float(slopes[np.argmax((counts * counts).sum(axis=1))])


def link_peaks(peaks: np.ndarray, slope: float) -> list[np.ndarray]:
    """Chains of peak rows across strips: (strips,) arrays of row (or -1 where a strip has none).
    A chain is followed along its own slope once it has two points, else along the page's."""
    n = len(peaks)
    # Chains are plain lists while they grow: numpy scalars would make this loop several times slower.
    open_chains: list[tuple[list[int], int, int]] = []  # (rows, first strip, last strip)
    done: list[list[int]] = []
    hidden = max(2, n * (1 - LINE_MIN_SPAN))  # strips a line may pass hidden under writing
    for s, rows in enumerate(np.flatnonzero(p).tolist() for p in peaks):
        still_open = []
        for chain, first, last in open_chains:
            own = (chain[last] - chain[first]) / (last - first) if last > first else slope
            expected = chain[last] + own * (s - last)
            reach = min(LINK * (s - last), 2 * LINK + 2)
            best = nearest(rows, expected)
            if best is not None and abs(best - expected) <= reach:
                chain[s] = best
                rows.remove(best)
                still_open.append((chain, first, s))
            elif s - last <= hidden:
                still_open.append((chain, first, last))
            else:
                done.append(chain)
        for r in rows:
            chain = [-1] * n
            chain[s] = r
            still_open.append((chain, s, s))
        open_chains = still_open
    return [np.array(chain) for chain in done + [chain for chain, _, _ in open_chains]]


def nearest(rows: list[int], expected: float) -> int | None:
    """The row of sorted rows nearest to expected (the lower one on a tie), None if there is none."""
    i = bisect.bisect_left(rows, expected)
    if i == 0 or i == len(rows):
        return rows[min(i, len(rows) - 1)] if rows else None
    below, above = rows[i - 1], rows[i]
    return below if expected - below <= above - expected else above


def chain_rows(chain: np.ndarray, width: int, w: int) -> np.ndarray:
    """The row a chain's line crosses at each of the w columns: straight between the strips where
    it was seen, carried on along its slope past the first and last of them."""
    strips = np.flatnonzero(chain >= 0)
    centres = (strips + 0.5) * width - 0.5
    rows = chain[strips].astype(np.float64)
    slope = (rows[-1] - rows[0]) / (centres[-1] - centres[0]) if len(strips) > 1 else 0.0
    x = np.arange(w)
    inside = np.interp(x, centres, rows)
    return np.where(x < centres[0], rows[0] + slope * (x - centres[0]),
                    np.where(x > centres[-1], rows[-1] + slope * (x - centres[-1]), inside))


def line_half_width(profiles: np.ndarray, rows: np.ndarray, level: np.ndarray) -> int:
    """Rows either side of a line's centre that its blurred edges darken: out to where the line's
    profile (median over the strips it was seen in) falls below a quarter of its height."""
    h = profiles.shape[1]
    strips = np.arange(len(rows))
    strength = median(profiles[strips, rows])
    # Rows 2 .. MAX_LINE_HALF_WIDTH from the centre, above (first) and below, all at once.
    steps = np.arange(2, MAX_LINE_HALF_WIDTH + 1)
    outward = np.clip(rows[:, None, None] + np.array([-1, 1])[:, None] * steps, 0, h - 1)
    edge = median(profiles[strips[:, None, None], outward] - level[:, None, None], axis=0).max(axis=0)
    faded = np.flatnonzero(edge < LINE_EDGE * (strength - median(level)))
    return int(steps[faded[0]]) if len(faded) else MAX_LINE_HALF_WIDTH + 1


def line_mask(d: np.ndarray) -> np.ndarray:
    """Pixels of long, near-horizontal lines (ruled lines, grid lines) in darkness map d."""
    h, w = d.shape
    mask = np.zeros((h, w), bool)
    profiles = strip_profiles(d)
    n = len(profiles)
    if n < 4:
        return mask
    # The paper under each row: the profile opened by a window wider than any line; its level the
    # 30th percentile of the rises (a fine grid darkens a third of the rows), its grain down to the 10th.
    paper = sliding(sliding(profiles, LINE_BASELINE_ROWS, 1, np.minimum), LINE_BASELINE_ROWS, 1)
    rise = profiles - paper
    lighter = np.partition(rise, (h // 10, 3 * h // 10), axis=1)
    level = lighter[:, 3 * h // 10, None]
    spread = level - lighter[:, h // 10, None]
    floor = level + np.maximum(0.02, 4 * spread)  # faint lines too: only a long chain makes a line
    up, down = np.roll(profiles, 1, axis=1), np.roll(profiles, -1, axis=1)
    peaks = (rise > floor) & (profiles >= up) & (profiles >= down)
    width = w // n
    chains = [c for c in link_peaks(peaks, line_slope(peaks)) if (c >= 0).sum() >= LINE_MIN_SPAN * n]
    # Printed rules come in families; one long stroke alone may be a tall 1, unless it spans
    # nearly the whole page as a margin line does.
    if len(chains) < 3:
        chains = [c for c in chains if (c >= 0).sum() >= LONE_LINE_SPAN * n]
    strengths = [median(profiles[np.flatnonzero(c >= 0), c[c >= 0]]) for c in chains]
    if len(chains) >= 3:
        # Printed lines of one family are alike: a chain far darker than they that stops short of
        # crossing the page is a tall stroke (a 1 written across the lines), not one of them.
        across = [(c >= 0).sum() >= TALL_STROKE_SPAN * n for c in chains]
        family = float(np.median([s for s, a in zip(strengths, across, strict=True) if a] or strengths))
        printed = [s <= FAMILY_DARKER * family or a for s, a in zip(strengths, across, strict=True)]
        chains = [c for c, keep in zip(chains, printed, strict=True) if keep]
        strengths = [s for s, keep in zip(strengths, printed, strict=True) if keep]
    columns = np.arange(w)
    for chain, strength in zip(chains, strengths, strict=True):
        found = np.flatnonzero(chain >= 0)
        half = line_half_width(rise[found], chain[found], level[found, 0])
        rows = np.rint(chain_rows(chain, width, w)).astype(int) + np.arange(-half, half + 1)[:, None]
        inside = (rows >= 0) & (rows < h)
        r, c = rows[inside], np.broadcast_to(columns, rows.shape)[inside]
        # Ink darker than the line is writing across it, not the line.
        mask[r, c] |= d[r, c] <= LINE_INK * strength + LINE_INK_MARGIN
    return mask


def fill_from_neighbours(d: np.ndarray, mask: np.ndarray, axis: int = 0) -> np.ndarray:
    """Masked pixels replaced by interpolating between the nearest unmasked ones either side along
    `axis` (0: above and below, 1: left and right; within FILL_REACH pixels; without both, the one
    found is used)."""
    # Along rows, on the maps turned (views, no copy), as down columns.
    columns, mask = (d, mask) if axis == 0 else (d.T, mask.T)
    n = mask.shape[0]
    # Column by column, a run of masked pixels is a run of consecutive indices: the nearest
    # unmasked pixels are the ones just outside the pixel's run.
    flat = np.flatnonzero(mask.T)
    if len(flat) == 0:
        return d
    lines, at = np.divmod(flat, n)
    starts = np.ones(len(flat), bool)
    starts[1:] = (np.diff(flat) != 1) | (at[1:] == 0)
    run = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    last = np.append(first[1:], len(flat)) - 1
    before, after = at[first][run] - 1, at[last][run] + 1
    values, steps = [], []
    for neighbour, step in ((before, at - before), (after, after - at)):
        found = (neighbour >= 0) & (neighbour < n) & (step <= FILL_REACH)
        values.append(np.where(found, columns[np.clip(neighbour, 0, n - 1), lines], np.float32(np.nan)))
        steps.append(np.where(found, step, 0))
    before, after = values
    before = np.where(np.isnan(before), after, before)
    after = np.where(np.isnan(after), before, after)
    t = np.where(steps[0] + steps[1] > 0, steps[0] / np.maximum(steps[0] + steps[1], 1), 0)
    filled = np.nan_to_num(before + (after - before) * t, nan=0.0)
    out = d.copy()
    (out if axis == 0 else out.T)[at, lines] = filled
    return out


def remove_lines(d: np.ndarray) -> np.ndarray:
    """Ruled and grid lines, both directions, taken out of darkness map d."""
    d = fill_from_neighbours(d, line_mask(d))
    # Columns are searched as rows, and filled across without turning the map: a transposed copy of
    # it, or a result laid out in columns, would cost more than the search.
    return fill_from_neighbours(d, line_mask(d.T).T, axis=1)


def page_edges(components: Components, light: np.ndarray) -> np.ndarray:
    """Long thin components with a different light on their two sides: the page's edge against
    the desk (a dark rim that JPEG and resampling leave along it), not a stroke on the page."""
    h, w = light.shape
    out = np.zeros(components.count, bool)
    k = max(3, round(RIM_SIDES * max(h, w)))
    for i, (x0, y0, x1, y1) in enumerate(components.boxes):
        bw, bh = x1 - x0, y1 - y0
        if bh > THIN * bw:
            sides = light[y0:y1, max(0, x0 - k) : x0], light[y0:y1, x1 : x1 + k]
        elif bw > THIN * bh:
            sides = light[max(0, y0 - k) : y0, x0:x1], light[y1 : y1 + k, x0:x1]
        else:
            continue
        if min(side.size for side in sides) == 0:
            out[i] = True  # it runs along the photo's edge
            continue
        a, b = (float(side.mean()) for side in sides)
        out[i] = min(a, b) < RIM_LIGHT * max(a, b)
    return out


def page_marks(components: Components, light: np.ndarray) -> np.ndarray:
    """Which components are the page's, not writing (docs/photos.md, step 3): the desk, the rim, the
    page's edge, punched holes, dotted paper's specks of one size, long thin lines."""
    h, w = light.shape
    x0, y0, x1, y1 = components.boxes.T
    bw, bh, area = x1 - x0, y1 - y0, components.area
    edge = (x0 == 0) | (y0 == 0) | (x1 == w) | (y1 == h)
    band_x, band_y = EDGE_BAND * w, EDGE_BAND * h
    in_band = (x1 <= band_x) | (x0 >= w - band_x) | (y1 <= band_y) | (y0 >= h - band_y)
    # A punched hole is a few percent of the page across; a digit a tenth of its height or more
    # (a marker's thick 0 is as round and as filled).
    hole_sized = np.maximum(bw, bh) <= HOLE_SIDE * max(h, w)
    round_blob = ((bw >= 4) & (bw <= HOLE_ROUND * bh) & (bh <= HOLE_ROUND * bw)
                  & (area >= HOLE_FILL * bw * bh) & hole_sized)
    long_line = (bw > LONG_LINE * bh) & (bw > LONG_LINE_SPAN * w)  # no digit is a long thin horizontal line
    marks = edge | in_band | round_blob | long_line | page_edges(components, light)
    small = area < DOT_AREA * area.max()
    if small.sum() >= DOTS:
        marks |= small & (area <= DOT_SIZES * np.median(area[small]))
    return marks


def punched_holes(components: Components, shape: tuple[int, int]) -> np.ndarray:
    """Which pieces are a page's punched holes: filled blobs of a hole's size, each alone, alike, two
    or more in a row along an edge, far apart (HOLE_*; docs/numbers.md, "Notebook paper on a page")."""
    h, w = shape
    side = max(h, w)
    x0, y0, x1, y1 = components.boxes.T
    bw, bh, area = x1 - x0, y1 - y0, components.area
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    short, long = np.minimum(bw, bh), np.maximum(bw, bh)
    blob = ((area >= HOLE_FILL * bw * bh) & (short >= HOLE_MIN * side) & (long <= HOLE_SIDE * side)
            & (long <= HOLE_OVAL * short))
    k = np.flatnonzero(blob)
    # alone: no other piece of a size to matter within HOLES_APART / 2 of its size (a number's digits)
    reach = np.hypot(cx[k, None] - cx, cy[k, None] - cy) < HOLES_APART / 2 * long[k, None]
    reach &= (area >= area[k, None] / HOLES_APART) & (np.arange(components.count) != k[:, None])
    k = k[~reach.any(axis=1)]
    cx, cy, bw, bh, area, long = cx[k], cy[k], bw[k], bh[k], area[k], long[k]
    alike = np.maximum(area[:, None], area) <= HOLES_ALIKE * np.minimum(area[:, None], area)
    apart = np.hypot(cx[:, None] - cx, cy[:, None] - cy) >= HOLES_APART * np.maximum(long[:, None], long)
    by_side = np.minimum(cx, w - cx) <= HOLE_BAND * w
    by_top = np.minimum(cy, h - cy) <= HOLE_BAND * h
    column = by_side[:, None] & by_side & (np.abs(cx[:, None] - cx) <= 0.5 * np.maximum(bw[:, None], bw))
    row = by_top[:, None] & by_top & (np.abs(cy[:, None] - cy) <= 0.5 * np.maximum(bh[:, None], bh))
    out = np.zeros(components.count, bool)
    out[k[(alike & apart & (column | row)).any(axis=1)]] = True
    return out


def lattice_dots(components: Components, side: int) -> np.ndarray:
    """Which pieces are the printed dots of dotted paper: small, alike, each in an evenly spaced row of
    three in rows that run two ways (LATTICE_*; docs/numbers.md, "Notebook paper on a page")."""
    x0, y0, x1, y1 = components.boxes.T
    small = np.flatnonzero(np.maximum(x1 - x0, y1 - y0) <= LATTICE_DOT * side)
    out = np.zeros(components.count, bool)
    if not DOTS <= len(small) <= LATTICE_MAX:
        return out
    centres = np.stack([x0[small] + x1[small], y0[small] + y1[small]], axis=1) / 2
    near = nearest_points(centres, LATTICE_NEAR)
    step = centres[near] - centres[:, None, :]  # (n, k, 2): to each of the nearest k
    length = np.hypot(step[..., 0], step[..., 1])
    # i → j → l in one step twice: j's steps (near[j]) against i's step to j
    onward = np.hypot(*(step[near] - step[:, :, None, :]).transpose(3, 0, 1, 2))  # (n, k, k)
    area = components.area[small]
    alike = np.maximum(area[:, None], area[near]) <= DOT_SIZES * np.minimum(area[:, None], area[near])
    in_row = (onward <= LATTICE_EVEN * length[:, :, None]) & alike[:, :, None] & alike[near]
    i, a, b = np.nonzero(in_row)
    j = near[i, a]
    # Two ways: the doubled-angle directions of a member's rows do not add up (LATTICE_ONE_WAY).
    angle = 2 * np.arctan2(step[i, a, 1], step[i, a, 0])
    turns = np.zeros((components.count, 2))
    counts = np.zeros(components.count)
    for members in (i, j, near[j, b]):
        np.add.at(turns, small[members], np.stack([np.cos(angle), np.sin(angle)], axis=1))
        np.add.at(counts, small[members], 1)
    two_ways = np.hypot(*turns.T) < LATTICE_ONE_WAY * counts
    return two_ways if two_ways.sum() >= DOTS else out


def nearest_points(points: np.ndarray, k: int) -> np.ndarray:
    """(n, k) indices of each of n > k points' k nearest others, nearest first, computed a block of
    rows at a time (memory NEAREST_BLOCK × n, not n × n)."""
    out = np.empty((len(points), k), np.int64)
    for start in range(0, len(points), NEAREST_BLOCK):
        block = points[start : start + NEAREST_BLOCK]
        d = np.hypot(*(points[None, :, :] - block[:, None, :]).transpose(2, 0, 1))
        d[np.arange(len(block)), np.arange(start, start + len(block))] = np.inf
        part = np.argpartition(d, k, axis=1)[:, :k]
        out[start : start + len(block)] = np.take_along_axis(
            part, np.take_along_axis(d, part, axis=1).argsort(axis=1), axis=1)
    return out


def clear_marks(d: np.ndarray, components: Components, marks: np.ndarray, keep: np.ndarray,
                margin: int = 1) -> np.ndarray:
    """d with the components flagged in `marks` set to 0, and `margin` pixels round them (their soft
    edges would pass for faint ink once stretched), except the pixels in `keep` (writing)."""
    mask = dilate(components.pixels(marks), 2 * margin + 1) & ~keep
    return np.where(mask, 0, d).astype(np.float32)


def stretch_ink(d: np.ndarray, strong_grains: float = GRAIN_STRONG) -> np.ndarray:
    """Darkness map d → 0 for the paper, 1 for the writing's strong ink: the paper's level and grain
    measured robustly, not by a split such as Otsu's (docs/photos.md, step 4)."""
    sample = d[::4, ::4]  # every 16th pixel: the paper is most of the photo
    level = float(np.median(sample))
    grain = max(1.4826 * float(np.median(np.abs(sample - level))), 0.004)
    floor = level + GRAIN_FLOOR * grain
    strong = d[d > level + strong_grains * grain]
    if strong.size < MIN_INK_PIXELS:
        raise NoDigitError("no digit found: the photo shows paper but no writing on it")
    top = float(np.percentile(strong, STRONG_INK))
    if top - floor < MIN_STRETCH:
        raise NoDigitError("no digit found: the photo shows paper but no clear writing on it")
    return np.clip((d - floor) * (1 / (top - floor)), 0, 1).astype(np.float32)


def hysteresis(ink: np.ndarray, low: float, high: float) -> Components:
    """The components of pixels above `low` that hold a pixel above `high`, labelled 1..count."""
    components = label_components(ink > low)
    strong = np.zeros(components.count + 1, bool)
    strong[components.labels[ink > high]] = True
    kept = np.flatnonzero(strong[1:])
    relabel = np.zeros(components.count + 1, np.int32)
    relabel[kept + 1] = np.arange(1, len(kept) + 1)
    labels = np.take(relabel, components.labels)
    return Components(labels, len(kept), components.area[kept], components.boxes[kept])


def paper_ink(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """grey (H, W) uint8, dark writing on light paper → (darkness in [0, 1] with the lines and the
    lighting taken out, the paper's light in [0, 1])."""
    light = paper_light(grey)
    return remove_lines(darkness(grey.astype(np.float32) * (1 / 255), light)), light
