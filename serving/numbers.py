"""Whole numbers: one image of several digits on a line → the digits, left to right, with boxes.

The ink is found exactly as for one digit (same decoding, polarity and clean-up, see
serving.preprocess), only at a larger working size because a number strip is wide. Then:

1. connected ink regions (8-connected, at the same ink threshold as single digits);
2. frames/ruled lines along the edge and specks (under 1% of the largest region) dropped;
3. regions stacked over each other joined: x-ranges overlapping by half the narrower one (a 5's
   bar over its body, the dots of a vertical dotted stroke), or touching at all when one of them
   is too short to be a digit (a 7's bar, the halves of an open 4 or a broken 6). Two full-height
   regions with an empty column between them are never joined, so nearly touching digits stay
   apart;
4. loose pieces (light and short, dotted, or a flat bar) joined across a small column gap: to
   each other first, then to the nearest digit; what stays tiny or flat on its own is dropped;
5. each digit cropped with its faint rim and fitted MNIST-style (fit_to_field). A single digit
   gets exactly the single-digit input (to_mnist), so the two modes agree on one-digit images;
6. touching or overlapping digits form one region: a region wider than a narrow digit is also
   cut into candidate digits (serving.cuts, serving.split). The regions and every candidate are
   classified in ONE call of the model, and a region is split where the model reads its pieces
   more surely than the whole. Narrow regions (the usual case of digits written apart) take the
   fast path: read as they are.

Every rule compares sizes with the digit height (the tallest clear region), never pixels, so it
works at any scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from serving.components import Components, label_components
from serving.decode import original_size
from serving.predictor import UNSURE_BELOW, Predictor
from serving.preprocess import (
    ImageSource,
    InputError,
    NoDigitError,
    edge_artifacts,
    fit_to_field,
    ink_map,
    ink_mask,
    open_image,
    sketch_image,
    to_mnist,
)
from serving.sequence import SequenceDigit, SequenceReader, default_reader
from serving.split import (
    DIGIT_PENALTY,
    Box,
    Candidates,
    best_split,
    candidates,
    ink_box,
    may_hold_several,
    score,
)

NUMBER_WORK_SIDE = 1024  # a strip of 6 digits at 1024 px still gives each digit ~100+ px
SPECK_AREA = 0.01  # regions below this share of the largest one's area are noise
MAX_REGIONS = 300  # at most this many regions (the biggest) are grouped into digits
X_OVERLAP = 0.5  # join regions whose x-ranges overlap by this share of the narrower one ...
# ... or touch at all (no empty column between them) when one of them is short. Not even one empty
# column: with a 1-px gap on paper, nearly touching digits are often just 1-2 columns apart.
SHORT_HEIGHT = 0.75  # short: under this share of the typical digit height
JOIN_GAP_Y = 0.5  # regions are joined only when at most this many digit heights apart vertically
SUBSTANTIAL_AREA = 0.2  # groups this big (share of the largest) set the digit height (the
# tallest of them, as a broken digit's pieces would pull a median down) and typical ink area
LIGHT_AREA = 0.3  # light: less ink than this share of a typical digit (a "1" has about 0.5)
PIECE_HEIGHT = 0.4  # a light group shorter than this share of the digit height is a piece
FLAT_HEIGHT = 0.35  # a group under this share of the digit height ...
BAR_AREA = 0.5  # ... and under this share of a typical digit's ink, or filling this share of its
BAR_FILL = 0.5  # box (one straight stroke), is a bar (a 5's), no digit
DOTTED_COVERAGE = 0.8  # a group with ink in fewer of its rows than this is a dotted stroke
BESIDE_GAP = 0.1  # a loose piece this close (in digit heights) to a digit joins it ...
LOOSE_GAP = 0.25  # ... and this close to another loose piece
BAR_GAP = 0.3  # a flat bar joins the nearest digit this close (MNIST's 5s fling it far)
SPECK_HEIGHT = 0.25  # what joined nothing is dropped if shorter than this share of the digit height,
SPECK_INK = 0.1  # or a light short piece with less ink than this share of a digit
RIM = 0.1  # a digit's crop takes in the faint rim this far (share of its size) from its strokes ...
RIM_INK = 0.05  # ... down to this ink level (MNIST: 1-2 faint px around 20 px; more is noise)
JOINED = {  # who reads a region wide enough to hold several digits (bench.numbers measures each)
    "cuts": "candidate cuts judged by the digit model (serving.split)",
    "sequence": "the sequence model (serving.sequence) reads it as a line; a reading with a digit it "
                "is unsure of must also outscore the digit model's reading of the region whole",
    "sequence-always": "the sequence model's reading, whenever it finds several digits",
    "confident": "both; the reading surer of its digits (mean log-probability) wins",
}
DEFAULT_JOINED = "sequence"
SURE_SPLIT = 0.8  # the sequence model's reading of a region stands when all its digits are this sure


@dataclass(frozen=True)
class NumberDigit:
    digit: int
    confidence: float
    box: Box  # in the input image's pixels (after EXIF rotation)
    probabilities: list[float] = field(repr=False)

    @property
    def unsure(self) -> bool:
        return self.confidence < UNSURE_BELOW

    def to_dict(self, probabilities: bool = False) -> dict:
        out: dict = {"digit": self.digit, "confidence": round(self.confidence, 6), "box": list(self.box)}
        if probabilities:
            out["probabilities"] = [round(p, 6) for p in self.probabilities]
        return out


@dataclass(frozen=True)
class NumberResult:
    number: str  # the digits left to right, e.g. "2026" (leading zeros kept)
    digits: list[NumberDigit]
    inputs: np.ndarray = field(repr=False)  # (N, 28, 28) float32: what the model saw, per digit
    source_size: tuple[int, int] = (0, 0)  # (width, height) of the input after EXIF rotation

    @property
    def confidence(self) -> float:
        """Chance that the whole number is right, taking the digits' confidences as independent."""
        return float(np.prod([d.confidence for d in self.digits]))

    def to_dict(self, probabilities: bool = False) -> dict:
        return {"number": self.number, "confidence": round(self.confidence, 6),
                "digits": [d.to_dict(probabilities) for d in self.digits]}


@dataclass(frozen=True)
class Region:
    """One region of ink that makes a digit, or several touching ones."""

    ink: np.ndarray  # its own ink with the faint rim, cropped (neighbours' ink removed)
    origin: tuple[int, int]  # x, y of ink[0, 0] in the ink map


@dataclass(frozen=True)
class Segmentation:
    """The regions of ink found in an image, before classification and splitting."""

    boxes: list[Box]  # input pixels, left to right
    inputs: np.ndarray  # (N, 28, 28) float32 model inputs, same order
    ink_boxes: list[Box]  # the same boxes in ink-map pixels
    source_size: tuple[int, int]
    regions: list[Region]
    digit_height: float  # typical digit height in ink-map pixels
    ink_shape: tuple[int, int]


# ---------------------------------------------------------------- grouping regions into digits


class _Groups:
    """Union-find over regions, keeping each group's box, area, and its regions' boxes."""

    def __init__(self, boxes: np.ndarray, area: np.ndarray) -> None:
        self.members: dict[int, list[int]] = {i: [i] for i in range(len(boxes))}
        self.region_boxes = boxes.astype(np.int64)
        self.box = {i: self.region_boxes[i].copy() for i in range(len(boxes))}
        self.area = {i: float(area[i]) for i in range(len(boxes))}

    def join(self, a: int, b: int) -> None:
        keep, gone = min(a, b), max(a, b)
        self.members[keep] += self.members.pop(gone)
        box = self.box.pop(gone)
        self.box[keep] = np.concatenate([np.minimum(self.box[keep][:2], box[:2]),
                                         np.maximum(self.box[keep][2:], box[2:])])
        self.area[keep] += self.area.pop(gone)

    def ids(self) -> list[int]:
        return sorted(self.members)

    def boxes(self) -> np.ndarray:
        return np.array([self.box[i] for i in self.ids()], np.int64).reshape(-1, 4)

    def areas(self) -> np.ndarray:
        return np.array([self.area[i] for i in self.ids()])

    def row_coverage(self) -> np.ndarray:
        """Per group, the share of its box's rows that hold ink: under 1 for a dotted stroke."""
        out = []
        for i in self.ids():
            y0, y1 = self.box[i][1], self.box[i][3]
            rows = np.zeros(y1 - y0, bool)
            for m in self.members[i]:
                rows[self.region_boxes[m, 1] - y0 : self.region_boxes[m, 3] - y0] = True
            out.append(rows.mean())
        return np.array(out)


@dataclass(frozen=True)
class _Sizes:
    height: float  # typical digit height, from the groups of a clear size
    short: np.ndarray  # per group: too short to be a whole digit on its own
    loose: np.ndarray  # light and short or gappy, or flat: a piece that may join a digit beside it
    flat: np.ndarray  # far too short and light for a digit: a bar that belongs to a digit
    speck: np.ndarray  # too small to read if it joined nothing: a dot, dirt, a stray dash


def _sizes(groups: _Groups) -> _Sizes:
    boxes, areas = groups.boxes(), groups.areas()
    heights = boxes[:, 3] - boxes[:, 1]
    substantial = areas >= SUBSTANTIAL_AREA * areas.max()
    height = float(heights[substantial].max())
    # The typical ink of a digit: from full-height groups, as a 5's heavy bar is no digit.
    full = substantial & (heights >= SHORT_HEIGHT * height)
    typical_area = float(np.median(areas[full]))
    light = areas < LIGHT_AREA * typical_area
    short = heights < SHORT_HEIGHT * height
    piece = light & (heights < PIECE_HEIGHT * height)  # a "1" is light too, but tall
    # A bar is flat and either carries less ink than a digit or is one straight stroke filling
    # its box; a wide flat "2" can be about as flat, but is heavier and leaves its box half empty.
    fill = areas / np.maximum((boxes[:, 2] - boxes[:, 0]) * heights, 1)
    flat = (heights < FLAT_HEIGHT * height) & ((areas < BAR_AREA * typical_area) | (fill >= BAR_FILL))
    loose = piece | flat | (light & (groups.row_coverage() < DOTTED_COVERAGE))
    # Area alone can't tell: a thin "1" next to a thick "6" has a tenth of its ink.
    speck = (heights < SPECK_HEIGHT * height) | ((areas < SPECK_INK * typical_area) & piece)
    return _Sizes(height, short, loose, flat, speck)


def _next_join(groups: _Groups) -> tuple[int, int] | None:
    """The pair of groups (positions in groups.ids()) to join next; None when all are settled."""
    boxes = groups.boxes()
    size = _sizes(groups)
    x0, y0, x1, y1 = boxes.T
    overlap = np.minimum(x1[:, None], x1[None, :]) - np.maximum(x0[:, None], x0[None, :])
    narrower = np.maximum(np.minimum((x1 - x0)[:, None], (x1 - x0)[None, :]), 1)
    share = overlap / narrower
    gap_y = np.maximum(y0[:, None], y0[None, :]) - np.minimum(y1[:, None], y1[None, :])
    near_y = gap_y <= JOIN_GAP_Y * size.height
    np.fill_diagonal(near_y, False)
    # Stacked pieces: x-ranges overlapping strongly (5's bar over its body, dots of a vertical
    # stroke), or at all when one piece is too short to be a digit (7's bar, half of an open 4).
    # Two full-height digits slanting into each other overlap only a little and stay apart.
    either_short = size.short[:, None] | size.short[None, :]
    stacked = near_y & ((share >= X_OVERLAP) | ((overlap >= 0) & either_short))
    if stacked.any():
        i, j = np.unravel_index(np.argmax(np.where(stacked, share, -np.inf)), share.shape)
        return int(i), int(j)
    # Loose pieces side by side (dots of a dotted stroke, a bar off to the right) join across a
    # column gap: first each other, so that the pieces of one broken digit find each other
    # before a neighbour; then flat bars, to the nearer digit; then other loose pieces, to a digit
    # only when very close, as nearly touching digits must stay apart. Closest first in each.
    gaps = _box_gaps(boxes, boxes)
    loose, flat = size.loose, size.flat
    for allowed, limit in ((loose[:, None] & loose[None, :], LOOSE_GAP),
                           (flat[:, None] | flat[None, :], BAR_GAP),
                           (loose[:, None] | loose[None, :], BESIDE_GAP)):
        beside = near_y & allowed & (gaps <= limit * size.height)
        if beside.any():
            i, j = np.unravel_index(np.argmin(np.where(beside, gaps, np.inf)), gaps.shape)
            return int(i), int(j)
    return None


def _box_gaps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean gaps between every box of a (n, 4) and every box of b (m, 4); 0 where they touch."""
    dx = np.maximum(0, np.maximum(a[:, None, 0] - b[None, :, 2], b[None, :, 0] - a[:, None, 2]))
    dy = np.maximum(0, np.maximum(a[:, None, 1] - b[None, :, 3], b[None, :, 1] - a[:, None, 3]))
    return np.hypot(dx, dy)


def group_digits(components: Components, shape: tuple[int, int]) -> list[np.ndarray]:
    """Labels (1-based) of the regions that make each digit, digits ordered left to right."""
    if components.count == 0:
        return []
    area = components.area.astype(np.float64)
    live = np.ones(components.count, bool)
    artifacts = edge_artifacts(components, shape)
    if not artifacts.all():  # a frame alone is better read than nothing
        live &= ~artifacts
    largest = area[live].max()
    live &= area >= max(3.0, SPECK_AREA * largest)
    index = np.flatnonzero(live)
    if len(index) > MAX_REGIONS:  # a textured photo: joining is quadratic, keep the biggest
        index = np.sort(index[np.argsort(area[index])[::-1][:MAX_REGIONS]])
    if len(index) == 0:
        return []
    groups = _Groups(components.boxes[index], area[index])
    # Joining one pair at a time and re-measuring lets a joined group take in further pieces and
    # lets the typical digit size settle as pieces become digits.
    while (pair := _next_join(groups)) is not None:
        ids = groups.ids()
        groups.join(ids[pair[0]], ids[pair[1]])
    speck = _sizes(groups).speck
    digits = [i for i, s in zip(groups.ids(), speck, strict=True) if not s]
    boxes = np.array([groups.box[i] for i in digits]).reshape(-1, 4)
    order = np.argsort((boxes[:, 0] + boxes[:, 2]) / 2, kind="stable")
    return [index[np.array(groups.members[digits[k]])] + 1 for k in order]


# ---------------------------------------------------------------- the API


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation by a (2r+1)² square, separably, with numpy alone."""
    out = mask.copy()
    for axis in (0, 1):
        grown = out.copy()
        n = out.shape[axis]
        for shift in range(1, min(radius, n - 1) + 1):
            lead = [slice(None)] * 2
            lag = [slice(None)] * 2
            lead[axis], lag[axis] = slice(shift, None), slice(None, -shift)
            grown[tuple(lead)] |= out[tuple(lag)]
            grown[tuple(lag)] |= out[tuple(lead)]
        out = grown
    return out


def crop_with_rim(ink: np.ndarray, components: Components,
                  keep: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """The digit's ink, its faint anti-aliased rim included, without its neighbours' ink, and
    where the crop's top-left pixel lies in the ink map (x, y).

    The ink mask stops where strokes fade below half strength; MNIST's box takes in the fading
    edge too, so cropping at the mask makes a digit fill its 20 px a little more than MNIST's do
    (measurably more misreadings). The rim is taken only near the digit's own strokes, so noise
    on the paper and the neighbours' strokes stay out.
    """
    boxes = components.boxes[keep - 1]
    x0, y0 = boxes[:, :2].min(axis=0)
    x1, y1 = boxes[:, 2:].max(axis=0)
    radius = max(1, round(RIM * max(x1 - x0, y1 - y0)))
    h, w = ink.shape
    x0, y0, x1, y1 = max(0, x0 - radius), max(0, y0 - radius), min(w, x1 + radius), min(h, y1 + radius)
    labels = components.labels[y0:y1, x0:x1]
    own = np.isin(labels, keep)
    crop = np.where(_dilate(own, radius) & ((labels == 0) | own), ink[y0:y1, x0:x1], 0)
    rows, cols = np.nonzero(crop >= RIM_INK)
    top, left = int(rows.min()), int(cols.min())
    return crop[top : rows.max() + 1, left : cols.max() + 1], (int(x0) + left, int(y0) + top)


def to_input_box(box: np.ndarray, ink_shape: tuple[int, int], source_size: tuple[int, int]) -> Box:
    """An ink-map box → the input image's pixels (per-axis factors: the shrink rounds each side)."""
    sx, sy = source_size[0] / ink_shape[1], source_size[1] / ink_shape[0]
    x0, y0, x1, y1 = (float(v) for v in box)
    return (max(0, int(np.floor(x0 * sx))), max(0, int(np.floor(y0 * sy))),
            min(source_size[0], int(np.ceil(x1 * sx))), min(source_size[1], int(np.ceil(y1 * sy))))


def segment_number(source: ImageSource, work_side: int = NUMBER_WORK_SIDE) -> Segmentation:
    """Finds the regions of ink that make digits, left to right, and their 28×28 model inputs.

    Touching digits are still one region here; read_number splits them with the model's help.
    Raises InputError for what can't be read, NoDigitError when there is no digit.
    """
    image = sketch_image(source) if isinstance(source, dict) else open_image(source)  # decoded once
    # A big image is decoded reduced; its boxes are still given in the pixels it was sent with.
    ink = replace(ink_map(image, work_side), source_size=original_size(image))
    components = label_components(ink_mask(ink.ink))
    if components.count == 0 or components.area.max() < 3:
        raise NoDigitError("no digit found: only specks of ink. Write or photograph a number.")
    groups = group_digits(components, ink.ink.shape)
    if not groups:
        raise NoDigitError("no digit found: only specks of ink. Write or photograph a number.")
    inputs, boxes, ink_boxes, regions = [], [], [], []
    for labels in groups:
        member_boxes = components.boxes[labels - 1]
        box = np.concatenate([member_boxes[:, :2].min(axis=0), member_boxes[:, 2:].max(axis=0)])
        crop, origin = crop_with_rim(ink.ink, components, labels)
        regions.append(Region(crop, origin))
        inputs.append(fit_to_field(crop))
        ink_boxes.append(tuple(int(v) for v in box))
        boxes.append(to_input_box(box, ink.ink.shape, ink.source_size))
    if len(groups) == 1:
        # One digit: give the model exactly what the single-digit path gives it (its smaller
        # working size makes slightly different pixels), so that the two modes never disagree.
        try:
            inputs = [to_mnist(image)]
        except InputError:
            pass  # the single-digit path finds no digit where this one did: keep this one's
    areas = np.array([components.area[labels - 1].sum() for labels in groups])
    heights = np.array([b[3] - b[1] for b in ink_boxes])
    height = float(heights[areas >= SUBSTANTIAL_AREA * areas.max()].max())  # as _sizes does
    return Segmentation(boxes, np.stack(inputs).astype(np.float32), ink_boxes, ink.source_size,
                        regions, height, ink.ink.shape)


Reading = tuple[Box, np.ndarray, np.ndarray]  # (box in input pixels, model input, probabilities)


def _cut_readings(found: Segmentation, k: int, probs: np.ndarray, offset: int,
                  pieces: Candidates) -> list[Reading] | None:
    """Region k split where the digit model reads the pieces more surely than the whole (None: one digit)."""
    chosen = best_split(pieces, probs[k], probs[offset : offset + len(pieces.spans)])
    if chosen is None:
        return None
    region = found.regions[k]
    out = []
    for c in chosen:
        box = np.array(pieces.boxes[c]) + np.array(region.origin * 2)  # into ink-map pixels
        out.append((to_input_box(box, found.ink_shape, found.source_size), pieces.inputs[c],
                    probs[offset + c]))
    return out


def _sequence_readings(found: Segmentation, k: int, read: list[SequenceDigit]) -> list[Reading] | None:
    """Region k as the sequence model reads it, each digit boxed on its own share of the ink (None:
    one digit or none, which the digit model reads)."""
    if len(read) < 2:
        return None
    region = found.regions[k]
    out = []
    for digit in read:
        x0, x1 = digit.columns
        piece = region.ink[:, x0:x1]
        box = ink_box(piece) or (0, 0, x1 - x0, region.ink.shape[0])
        crop = piece[box[1] : box[3], box[0] : box[2]]
        model_input = _fitted(crop)
        ink = np.array([x0 + box[0], box[1], x0 + box[2], box[3]]) + np.array(region.origin * 2)
        out.append((to_input_box(ink, found.ink_shape, found.source_size), model_input,
                    np.array(digit.probabilities)))
    return out


def _fitted(crop: np.ndarray) -> np.ndarray:
    """A digit's ink → its 28×28 input, also for a sliver one pixel wide (a thin "1")."""
    if crop.size == 0 or crop.max() <= 0:
        return np.zeros((28, 28), np.float32)
    if min(crop.shape) < 2:  # too thin for the stroke measure: give it a column of paper
        crop = np.pad(crop, 1)
    return fit_to_field(crop)


def _surety(readings: list[Reading]) -> float:
    """Mean log-probability of the digits a reading makes: how sure it is of them, per digit."""
    return float(np.mean([np.log(max(float(p.max()), 1e-12)) for _, _, p in readings]))


def _sequence_stands(found: Segmentation, k: int, whole: np.ndarray, read: list[SequenceDigit]) -> bool:
    """Whether the sequence model's reading of region k stands: all its digits sure, or else more
    likely than the region read whole as one digit, scored as the cuts' readings are
    (serving.split.score: log-probability less a penalty per digit, and for the region whole a
    cost for being wider than a digit). A sprawling single 2 or 8 is then not cut in two on a
    guess the sequence model itself is unsure of; sure readings of overlapping digits stand even
    where the digit model reads the pair as one digit with confidence."""
    if min(d.confidence for d in read) >= SURE_SPLIT:
        return True
    box = found.ink_boxes[k]
    whole_score = float(score(whole[None], np.array([box[2] - box[0]], np.float64), found.digit_height)[0])
    seq_score = sum(np.log(max(d.confidence, 1e-12)) - DIGIT_PENALTY for d in read)
    return seq_score > whole_score


def _region_reading(found: Segmentation, k: int, probs: np.ndarray, offset: int,
                    pieces: Candidates | None, read: list[SequenceDigit] | None,
                    joined: str) -> list[Reading]:
    """How a region is read under the `joined` policy (see JOINED)."""
    cut = _cut_readings(found, k, probs, offset, pieces) if pieces is not None else None
    seq = _sequence_readings(found, k, read) if read is not None else None
    if seq is not None and joined == "sequence" and not _sequence_stands(found, k, probs[k], read):
        seq = None
    if joined == "confident" and cut is not None and seq is not None:
        chosen = seq if _surety(seq) >= _surety(cut) else cut
    elif joined in ("sequence", "sequence-always", "confident"):
        chosen = seq if seq is not None else (cut if joined == "confident" else None)
    else:
        chosen = cut
    return chosen or [(found.boxes[k], found.inputs[k], probs[k])]


def read_number(predictor: Predictor, source: ImageSource, work_side: int = NUMBER_WORK_SIDE,
                joined: str = DEFAULT_JOINED, reader: SequenceReader | None = None) -> NumberResult:
    """An image of a number (path, bytes, PIL, array or Gradio sketch dict) → its digits.

    Regions narrow enough to be one digit are read by the digit model (the fast path). Wider ones
    may be several digits touching or overlapping; `joined` says who reads them (JOINED). Every
    digit-model input goes through the model in one batch. Raises InputError (NoDigitError when
    the image holds no digit) with a message.
    """
    if joined not in JOINED:
        raise ValueError(f"joined must be one of {', '.join(JOINED)}, not {joined!r}")
    found = segment_number(source, work_side)
    wide = [k for k, box in enumerate(found.ink_boxes)
            if may_hold_several(box[2] - box[0], found.digit_height)]
    splits = {k: candidates(found.regions[k].ink, found.digit_height) for k in wide} \
        if joined in ("cuts", "confident") else {}
    reads: dict[int, list[SequenceDigit]] = {}
    if joined != "cuts" and wide:
        reader = reader or default_reader()
        reads = {k: reader.read(found.regions[k].ink) for k in wide}
    probs = predictor.probabilities(np.concatenate([found.inputs, *(c.inputs for c in splits.values())]))
    digits, inputs = [], []
    offset = len(found.inputs)  # the candidates' probabilities follow the regions' own
    for k in range(len(found.regions)):
        for box, model_input, p in _region_reading(found, k, probs, offset, splits.get(k), reads.get(k),
                                                   joined):
            d = int(np.argmax(p))
            digits.append(NumberDigit(d, float(p[d]), box, [float(v) for v in p]))
            inputs.append(model_input)
        offset += len(splits[k].spans) if k in splits else 0
    return NumberResult("".join(str(d.digit) for d in digits), digits, np.stack(inputs),
                        found.source_size)
