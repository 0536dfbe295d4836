"""Whole numbers: one image of several digits on a line → the digits, left to right, with boxes. The
ink's regions are grouped into digits (serving.pieces); one wider than a digit may be touching digits,
read by the sequence model (docs/numbers.md, "Regions" and "Who reads a joined region")."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from serving.components import Components, label_components
from serving.contract import DIGITS, FIELD
from serving.contrast import ink_mask
from serving.decode import ImageSource, NoDigitError, open_image, original_size
from serving.field import fit_to_field
from serving.frames import Box
from serving.ink import ink_map
from serving.pieces import SUBSTANTIAL_AREA, group_digits
from serving.predictor import Predictor
from serving.preprocess import to_mnist
from serving.result import unsure
from serving.sequence import SequenceDigit, SequenceReader
from serving.stats import dilate

NUMBER_WORK_SIDE = 1024  # a strip of 6 digits at 1024 px still gives each digit ~100+ px
RIM = 0.1  # a digit's crop takes in the faint rim this far (share of its size) from its strokes ...
RIM_INK = 0.05  # ... down to this ink level (MNIST: 1-2 faint px around 20 px; more is noise)
SPLIT_WIDTH = 0.6  # a region narrower than this share of the digit height is one digit (two
# MNIST "1"s side by side are about as wide as this); a wider one may be several
DIGIT_PENALTY = 0.4  # log-probability a reading pays for each digit it reads
WIDE_FROM = 1.0  # a digit wider than this share of the digit height is unusual ...
WIDE_COST = 3.0  # ... and pays this much log-probability per digit height beyond it
LINE_OVERLAP = 0.3  # a digit shares this much of its height with its line's rows (jitter stays well above)
SURE_SPLIT = 0.8  # the sequence model's reading of a region stands when all its digits are this sure

SPLIT_UNSURE = 0.8  # two neighbouring regions, one read less surely than this, close together ...
SPLIT_GAP = 0.25  # ... (this share of the digit height apart at most, across and up or down) ...
JOINED_SURE = 0.8  # ... are one digit broken in two when read together this surely, and more surely
# than both read apart (a pencil 9's loop and stem, a 5's flag): a reader would see one digit there
EDGE_PIXELS = 1  # writing this near the picture's edge runs into it (and may run on beyond it)


@dataclass(frozen=True)
class NumberDigit:
    digit: int
    confidence: float
    box: Box  # in the input image's pixels (after EXIF rotation)
    probabilities: list[float] = field(repr=False)

    @property
    def unsure(self) -> bool:
        return unsure(self.confidence, photo=False)

    def to_dict(self) -> dict:
        return {"digit": self.digit, "confidence": round(self.confidence, 6), "box": list(self.box),
                "unsure": self.unsure}


@dataclass(frozen=True)
class NumberResult:
    number: str  # the digits left to right, e.g. "2026" (leading zeros kept)
    digits: list[NumberDigit]
    inputs: np.ndarray = field(repr=False)  # (N, 28, 28) float32: what the model saw, per digit
    source_size: tuple[int, int]  # (width, height) of the input after EXIF rotation
    lines: int = 1  # lines of writing the digits stand on: more than one is not one number

    @property
    def confidence(self) -> float:
        """Chance that the whole number is right, taking the digits' confidences as independent."""
        return float(np.prod([d.confidence for d in self.digits]))

    @property
    def cut_off(self) -> bool:
        """Whether a digit runs into the picture's edge, where it or the next one may be cut off."""
        return any(at_edge(d.box, self.source_size) for d in self.digits)

    def to_dict(self) -> dict:
        out = {"number": self.number, "confidence": round(self.confidence, 6),
               "unsure": any(d.unsure for d in self.digits), "digits": [d.to_dict() for d in self.digits]}
        notes = []
        if self.lines > 1:
            out["lines"] = self.lines
            notes.append(f"the image holds {self.lines} lines of writing, read here as one number: read "
                         "it as a page (--page, /api/read_page)")
        return with_notes(out, notes, self.cut_off)


def with_notes(out: dict, notes: list[str], cut_off: bool) -> dict:
    """A record with its notes joined in "note", and "cut_off" where writing runs into the edge."""
    if cut_off:
        out["cut_off"] = True
        notes = [*notes, CUT_OFF]
    if notes:
        out["note"] = "; ".join(notes)
    return out


CUT_OFF = ("the writing runs into the picture's edge, so a character there may be cut off or missing: "
           "take the picture with a margin around the writing")


def at_edge(box: Box, size: tuple[int, int]) -> bool:
    """Whether a box (input pixels) reaches within EDGE_PIXELS of the picture's edge."""
    x0, y0, x1, y1 = box
    w, h = size
    return min(x0, y0) <= EDGE_PIXELS or x1 >= w - EDGE_PIXELS or y1 >= h - EDGE_PIXELS


@dataclass(frozen=True)
class Segmentation:
    """The regions of ink found in an image (a digit each, or several touching ones), left to right."""

    inputs: np.ndarray  # (N, 28, 28) float32 model inputs
    ink_boxes: list[Box]  # in ink-map pixels
    source_size: tuple[int, int]
    # Each region's own ink with its faint rim, cropped (neighbours' ink removed), and where its
    # [0, 0] lies (x, y) in the ink map.
    regions: list[tuple[np.ndarray, tuple[int, int]]]
    digit_height: float  # typical digit height in ink-map pixels
    ink_shape: tuple[int, int]

    @property
    def boxes(self) -> list[Box]:
        """The regions' boxes in input pixels."""
        return [to_input_box(box, self.ink_shape, self.source_size) for box in self.ink_boxes]

    def joined(self, k: int, region: tuple[np.ndarray, tuple[int, int]],
               model_input: np.ndarray) -> Segmentation:
        """Regions k and k + 1 as one, `region` their ink together and `model_input` its input."""
        a, b = self.ink_boxes[k : k + 2]
        box = min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])
        inputs = np.concatenate([self.inputs[:k], model_input[None], self.inputs[k + 2 :]])
        return replace(self, inputs=inputs, ink_boxes=[*self.ink_boxes[:k], box, *self.ink_boxes[k + 2 :]],
                       regions=[*self.regions[:k], region, *self.regions[k + 2 :]])


def crop_with_rim(ink: np.ndarray, components: Components,
                  keep: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """The digit's ink, its faint anti-aliased rim included (MNIST's box takes in the fading edge
    too), without its neighbours' ink or the paper's noise away from its strokes; and where the
    crop's top-left pixel lies in the ink map (x, y)."""
    x0, y0, x1, y1 = components.box(keep - 1)
    radius = max(1, round(RIM * max(x1 - x0, y1 - y0)))
    h, w = ink.shape
    x0, y0, x1, y1 = max(0, x0 - radius), max(0, y0 - radius), min(w, x1 + radius), min(h, y1 + radius)
    kept = np.zeros(components.count, bool)
    kept[keep - 1] = True
    own, others = components.pixels(kept, (x0, y0, x1, y1)), components.pixels(~kept, (x0, y0, x1, y1))
    crop = np.where(dilate(own, 2 * radius + 1) & ~others, ink[y0:y1, x0:x1], 0)
    left, top, right, bottom = mask_box(crop >= RIM_INK)
    return crop[top:bottom, left:right], (x0 + left, y0 + top)


def to_input_box(box: Box | np.ndarray, ink_shape: tuple[int, int], source_size: tuple[int, int]) -> Box:
    """An ink-map box → the input image's pixels (per-axis factors: the shrink rounds each side)."""
    sx, sy = source_size[0] / ink_shape[1], source_size[1] / ink_shape[0]
    x0, y0, x1, y1 = (float(v) for v in box)
    return (max(0, int(np.floor(x0 * sx))), max(0, int(np.floor(y0 * sy))),
            min(source_size[0], int(np.ceil(x1 * sx))), min(source_size[1], int(np.ceil(y1 * sy))))


def segment_number(source: ImageSource) -> Segmentation:
    """The regions of ink that make digits (touching digits still one region), and their 28×28
    model inputs. Raises InputError for what can't be read, NoDigitError when there is no digit."""
    image = open_image(source)  # decoded once
    ink = ink_map(image, NUMBER_WORK_SIDE).ink
    found = segment_ink(ink, (0, 0), ink.shape, original_size(image))  # boxes in the sender's pixels
    if len(found.regions) == 1:
        # Exactly what the single-digit path gives the model, so the two modes never disagree
        # (where it sees only specks, this path's input stands).
        try:
            found.inputs[0] = to_mnist(image)
        except NoDigitError:
            pass
    return found


def segment_ink(ink: np.ndarray, offset: tuple[int, int], ink_shape: tuple[int, int],
                source_size: tuple[int, int], components: Components | None = None) -> Segmentation:
    """segment_number for ink already found: `ink` is a crop at `offset` (x, y) of an ink map of
    `ink_shape` made of a picture of `source_size` (a number on a page, serving.page); its pieces
    are `components` where the caller knows them better than one threshold (ink_mask) does."""
    components, groups = digit_groups(ink, ink_shape, components)
    dx, dy = offset
    inputs, ink_boxes, regions = [], [], []
    for labels in groups:
        x0, y0, x1, y1 = components.box(labels - 1)
        crop, (cx, cy) = crop_with_rim(ink, components, labels)
        regions.append((crop, (cx + dx, cy + dy)))
        inputs.append(fit_to_field(crop))
        ink_boxes.append((x0 + dx, y0 + dy, x1 + dx, y1 + dy))
    inputs = np.stack(inputs).astype(np.float32)
    return Segmentation(inputs, ink_boxes, source_size, regions, digit_height(components, groups), ink_shape)


def digit_groups(ink: np.ndarray, ink_shape: tuple[int, int],
                 components: Components | None = None) -> tuple[Components, list[np.ndarray]]:
    """segment_ink's pieces of `ink` and its digits' labels (group_digits); NoDigitError for none."""
    components = label_components(ink_mask(ink)) if components is None else components
    picture = ink.shape if ink.shape == ink_shape else None  # else a crop, whose sides are no edge
    groups = group_digits(components, picture)  # none where every piece is a speck
    if not groups:
        raise NoDigitError("no digit found: only specks of ink. Write or photograph a number.")
    return components, groups


def digit_height(components: Components, groups: list[np.ndarray]) -> float:
    """The digits' height: the tallest of the groups with a substantial share of the ink (as _sizes does)."""
    areas = np.array([components.area[labels - 1].sum() for labels in groups])
    heights = np.array([components.boxes[labels - 1, 3].max() - components.boxes[labels - 1, 1].min()
                        for labels in groups])
    return float(heights[areas >= SUBSTANTIAL_AREA * areas.max()].max())


Reading = tuple[Box, np.ndarray, np.ndarray]  # (box in input pixels, model input, probabilities)


def _sequence_readings(found: Segmentation, k: int, read: list[SequenceDigit]) -> list[Reading]:
    """Region k as the sequence model reads it, each digit boxed on its own share of the ink."""
    region, origin = found.regions[k]
    out = []
    for digit in read:
        x0, x1 = digit.columns
        piece = region[:, x0:x1]
        box = mask_box(ink_mask(piece)) or (0, 0, x1 - x0, region.shape[0])
        crop = piece[box[1] : box[3], box[0] : box[2]]
        ink = np.array([x0 + box[0], box[1], x0 + box[2], box[3]]) + np.array(origin * 2)
        out.append((to_input_box(ink, found.ink_shape, found.source_size), _fitted(crop),
                    np.array(digit.probabilities)))
    return out


def mask_box(mask: np.ndarray) -> Box | None:
    """The box of a mask's pixels (None: it has none)."""
    rows, cols = np.nonzero(mask)
    if len(rows) == 0:
        return None
    return int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1


def _fitted(crop: np.ndarray) -> np.ndarray:
    """A digit's ink → its 28×28 input, also for a sliver one pixel wide (a thin "1")."""
    if crop.size == 0 or crop.max() <= 0:
        return np.zeros((FIELD, FIELD), np.float32)
    if min(crop.shape) < 2:  # too thin for the stroke measure: give it a column of paper
        crop = np.pad(crop, 1)
    return fit_to_field(crop)


def _sequence_stands(found: Segmentation, k: int, whole: np.ndarray, read: list[SequenceDigit]) -> bool:
    """Whether the sequence model's reading of region k stands: all its digits sure, or else likelier
    than the region read whole, which pays for being wider than a digit (docs/numbers.md)."""
    if min(d.confidence for d in read) >= SURE_SPLIT:
        return True
    box = found.ink_boxes[k]
    wide = max(0.0, (box[2] - box[0]) / found.digit_height - WIDE_FROM)
    whole_score = reading_score([float(whole.max())]) - WIDE_COST * wide
    return reading_score([d.confidence for d in read]) > whole_score


def reading_score(confidences: list[float]) -> float:
    """A reading's log-probability, each digit it reads paying DIGIT_PENALTY: of two readings of
    the same ink, the higher is the likelier."""
    return float(sum(np.log(max(c, 1e-12)) - DIGIT_PENALTY for c in confidences))


def _region_reading(found: Segmentation, k: int, whole: np.ndarray, reader: SequenceReader) -> list[Reading]:
    """Region k's digits: read whole by the digit model (`whole`: its probabilities), or, when it is
    wider than one digit, by the sequence model as a line if that reading has several digits and stands."""
    box = found.ink_boxes[k]
    if box[2] - box[0] > SPLIT_WIDTH * found.digit_height:
        read = [s for s in reader.read(found.regions[k][0]) if s.symbol < DIGITS]  # a number's digits
        if len(read) >= 2 and _sequence_stands(found, k, whole, read):
            return _sequence_readings(found, k, read)
    return [(to_input_box(box, found.ink_shape, found.source_size), found.inputs[k], whole)]


def read_number(predictor: Predictor, source: ImageSource, reader: SequenceReader) -> NumberResult:
    """An image of a number (path, bytes, PIL image or array) → its digits, or an InputError."""
    return read_segmentation(predictor, segment_number(source), reader)


def read_segmentation(predictor: Predictor, found: Segmentation, reader: SequenceReader) -> NumberResult:
    """The digits of the regions found (segment_number, segment_ink)."""
    # One call a digit: the ensemble's first-member shortcut holds for a whole batch, so one unsure
    # digit would make every member read all of them.
    probs = np.concatenate([predictor.probabilities(x[None]) for x in found.inputs])
    found, probs = joined_splits(predictor, found, probs)
    digits, inputs = [], []
    for k in range(len(found.regions)):
        for box, model_input, p in _region_reading(found, k, probs[k], reader):
            d = int(np.argmax(p))
            digits.append(NumberDigit(d, float(p[d]), box, [float(v) for v in p]))
            inputs.append(model_input)
    return NumberResult("".join(str(d.digit) for d in digits), digits, np.stack(inputs),
                        found.source_size, count_lines(found.ink_boxes))


def joined_splits(predictor: Predictor, found: Segmentation,
                  probs: np.ndarray) -> tuple[Segmentation, np.ndarray]:
    """found, with each pair of neighbouring regions that are one digit broken in two (SPLIT_*,
    JOINED_SURE) made one region; and the regions' probabilities."""
    k = 0
    while k + 1 < len(found.regions):
        a, b = found.ink_boxes[k], found.ink_boxes[k + 1]
        gap_x, gap_y = b[0] - a[2], max(a[1], b[1]) - min(a[3], b[3])
        one_wide = max(a[2], b[2]) - min(a[0], b[0]) <= found.digit_height  # no wider than a digit
        close = one_wide and max(gap_x, gap_y) <= SPLIT_GAP * found.digit_height
        sure_a, sure_b = probs[k].max(), probs[k + 1].max()
        if close and min(sure_a, sure_b) < SPLIT_UNSURE:
            region = joined(found.regions[k], found.regions[k + 1])
            model_input = _fitted(region[0])
            p = predictor.probabilities(model_input[None])[0]
            if p.max() >= JOINED_SURE and p.max() > sure_a * sure_b:  # surer than both read apart
                found = found.joined(k, region, model_input)
                probs = np.concatenate([probs[:k], p[None], probs[k + 2 :]])
                continue
        k += 1
    return found, probs


def joined(a: tuple[np.ndarray, tuple[int, int]],
           b: tuple[np.ndarray, tuple[int, int]]) -> tuple[np.ndarray, tuple[int, int]]:
    """Two regions' ink (crop, its (x, y) in the ink map) on one crop."""
    (ca, (ax, ay)), (cb, (bx, by)) = a, b
    x0, y0 = min(ax, bx), min(ay, by)
    x1, y1 = max(ax + ca.shape[1], bx + cb.shape[1]), max(ay + ca.shape[0], by + cb.shape[0])
    crop = np.zeros((y1 - y0, x1 - x0), np.float32)
    for c, (x, y) in (a, b):
        part = crop[y - y0 : y - y0 + c.shape[0], x - x0 : x - x0 + c.shape[1]]
        np.maximum(part, c, out=part)
    return crop, (x0, y0)


def count_lines(boxes: list[Box]) -> int:
    """How many lines of writing the regions stand on: top to bottom, a region starts a new line
    when its rows overlap the line's so far by less than LINE_OVERLAP of its height."""
    lines: list[tuple[int, int]] = []
    for _, top, _, bottom in sorted(boxes, key=lambda b: b[1]):
        if lines and min(bottom, lines[-1][1]) - max(top, lines[-1][0]) >= LINE_OVERLAP * (bottom - top):
            lines[-1] = (min(top, lines[-1][0]), max(bottom, lines[-1][1]))
        else:
            lines.append((top, bottom))
    return max(1, len(lines))
