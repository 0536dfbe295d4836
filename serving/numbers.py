"""Whole numbers: one image of several digits on a line → the digits, left to right, with boxes.

The ink is found exactly as for one digit (same decoding, polarity and clean-up, see
serving.preprocess), only at a larger working size because a number strip is wide. Then:

1. connected ink regions (8-connected, at the same ink threshold as single digits);
2. the regions grouped into digits (serving.grouping);
3. each digit cropped with its faint rim and fitted MNIST-style (fit_to_field). A single digit
   gets exactly the single-digit input (to_mnist), so the two modes agree on one-digit images;
4. the regions are read by the digit model in ONE call. Touching or overlapping digits form one
   region: a region wider than a narrow digit is also read as a line by the sequence model
   (serving.sequence), whose reading stands when it is sure or more likely than the region read
   whole. Narrow regions (the usual case of digits written apart) take the fast path: read as
   they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from serving.components import Components, label_components
from serving.contract import DIGITS, FIELD
from serving.contrast import ink_mask
from serving.decode import ImageSource, NoDigitError, open_image, original_size
from serving.field import fit_to_field
from serving.grouping import SUBSTANTIAL_AREA, group_digits
from serving.ink import ink_map
from serving.morphology import dilate
from serving.pieces import MIN_PIECE_AREA
from serving.predictor import Predictor
from serving.preprocess import to_mnist
from serving.result import unsure
from serving.sequence import SequenceDigit, SequenceReader

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

EDGE_PIXELS = 1  # writing this near the picture's edge runs into it (and may run on beyond it)

Box = tuple[int, int, int, int]  # x0, y0, x1, y1: pixels, ends exclusive (PIL's crop convention)


@dataclass(frozen=True)
class NumberDigit:
    digit: int
    confidence: float
    box: Box  # in the input image's pixels (after EXIF rotation)
    probabilities: list[float] = field(repr=False)

    @property
    def unsure(self) -> bool:
        return unsure(self.confidence, photo=False)

    def to_dict(self, probabilities: bool = False) -> dict:
        out: dict = {"digit": self.digit, "confidence": round(self.confidence, 6), "box": list(self.box),
                     "unsure": self.unsure}
        if probabilities:
            out["probabilities"] = [round(p, 6) for p in self.probabilities]
        return out


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

    def to_dict(self, probabilities: bool = False) -> dict:
        out = {"number": self.number, "confidence": round(self.confidence, 6),
               "unsure": any(d.unsure for d in self.digits),
               "digits": [d.to_dict(probabilities) for d in self.digits]}
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


def crop_with_rim(ink: np.ndarray, components: Components,
                  keep: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """The digit's ink, its faint anti-aliased rim included, without its neighbours' ink, and
    where the crop's top-left pixel lies in the ink map (x, y).

    The ink mask stops where strokes fade below half strength; MNIST's box takes in the fading
    edge too, so cropping at the mask makes a digit fill its 20 px a little more than MNIST's do
    (measurably more misreadings). The rim is taken only near the digit's own strokes, so noise
    on the paper and the neighbours' strokes stay out.
    """
    x0, y0, x1, y1 = components.box(keep - 1)
    radius = max(1, round(RIM * max(x1 - x0, y1 - y0)))
    h, w = ink.shape
    x0, y0, x1, y1 = max(0, x0 - radius), max(0, y0 - radius), min(w, x1 + radius), min(h, y1 + radius)
    labels = components.labels[y0:y1, x0:x1]
    own = np.isin(labels, keep)
    crop = np.where(dilate(own, 2 * radius + 1) & ((labels == 0) | own), ink[y0:y1, x0:x1], 0)
    rows, cols = np.nonzero(crop >= RIM_INK)
    top, left = int(rows.min()), int(cols.min())
    return crop[top : rows.max() + 1, left : cols.max() + 1], (x0 + left, y0 + top)


def to_input_box(box: Box | np.ndarray, ink_shape: tuple[int, int], source_size: tuple[int, int]) -> Box:
    """An ink-map box → the input image's pixels (per-axis factors: the shrink rounds each side)."""
    sx, sy = source_size[0] / ink_shape[1], source_size[1] / ink_shape[0]
    x0, y0, x1, y1 = (float(v) for v in box)
    return (max(0, int(np.floor(x0 * sx))), max(0, int(np.floor(y0 * sy))),
            min(source_size[0], int(np.ceil(x1 * sx))), min(source_size[1], int(np.ceil(y1 * sy))))


def segment_number(source: ImageSource) -> Segmentation:
    """Finds the regions of ink that make digits, left to right, and their 28×28 model inputs.

    Touching digits are still one region here; read_number reads them with the sequence model.
    Raises InputError for what can't be read, NoDigitError when there is no digit.
    """
    image = open_image(source)  # decoded once
    # A big image is decoded reduced; its boxes are still given in the pixels it was sent with.
    ink = ink_map(image, NUMBER_WORK_SIDE).ink
    found = segment_ink(ink, (0, 0), ink.shape, original_size(image))
    if len(found.regions) == 1:
        found.inputs[0] = _single_digit_input(image, found.inputs[0])
    return found


def segment_ink(ink: np.ndarray, offset: tuple[int, int], ink_shape: tuple[int, int],
                source_size: tuple[int, int]) -> Segmentation:
    """segment_number for ink already found: `ink` is a crop at `offset` (x, y) of an ink map of
    `ink_shape` made of a picture of `source_size` (a number on a page, serving.page)."""
    components = label_components(ink_mask(ink))
    if components.count == 0 or components.area.max() < MIN_PIECE_AREA:
        raise NoDigitError("no digit found: only specks of ink. Write or photograph a number.")
    groups = group_digits(components, ink.shape)
    if not groups:
        raise NoDigitError("no digit found: only specks of ink. Write or photograph a number.")
    dx, dy = offset
    inputs, boxes, ink_boxes, regions = [], [], [], []
    for labels in groups:
        x0, y0, x1, y1 = components.box(labels - 1)
        box = (x0 + dx, y0 + dy, x1 + dx, y1 + dy)
        crop, (cx, cy) = crop_with_rim(ink, components, labels)
        regions.append(Region(crop, (cx + dx, cy + dy)))
        inputs.append(fit_to_field(crop))
        ink_boxes.append(box)
        boxes.append(to_input_box(box, ink_shape, source_size))
    areas = np.array([components.area[labels - 1].sum() for labels in groups])
    heights = np.array([b[3] - b[1] for b in ink_boxes])
    height = float(heights[areas >= SUBSTANTIAL_AREA * areas.max()].max())  # as _sizes does
    return Segmentation(boxes, np.stack(inputs).astype(np.float32), ink_boxes, source_size,
                        regions, height, ink_shape)


def _single_digit_input(image: Image.Image, own: np.ndarray) -> np.ndarray:
    """For a number of one digit, exactly what the single-digit path gives the model (its smaller
    working size makes slightly different pixels), so that the two modes never disagree; at that
    size it may see only specks where this path found a digit, and then this path's input stands."""
    try:
        return to_mnist(image)
    except NoDigitError:
        return own


Reading = tuple[Box, np.ndarray, np.ndarray]  # (box in input pixels, model input, probabilities)


def _sequence_readings(found: Segmentation, k: int, read: list[SequenceDigit]) -> list[Reading]:
    """Region k as the sequence model reads it, each digit boxed on its own share of the ink."""
    region = found.regions[k]
    out = []
    for digit in read:
        x0, x1 = digit.columns
        piece = region.ink[:, x0:x1]
        box = ink_box(piece) or (0, 0, x1 - x0, region.ink.shape[0])
        crop = piece[box[1] : box[3], box[0] : box[2]]
        ink = np.array([x0 + box[0], box[1], x0 + box[2], box[3]]) + np.array(region.origin * 2)
        out.append((to_input_box(ink, found.ink_shape, found.source_size), _fitted(crop),
                    np.array(digit.probabilities)))
    return out


def ink_box(piece: np.ndarray) -> Box | None:
    """The box of the strokes in a piece of ink (None: no stroke in it)."""
    rows, cols = np.nonzero(ink_mask(piece))
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
    """Whether the sequence model's reading of region k stands: all its digits sure, or else more
    likely than the region read whole as one digit: log-probability less a penalty per digit, and
    for the region whole a cost for being wider than a digit. A sprawling single 2 or 8 is then
    not cut in two on a guess the sequence model itself is unsure of; sure readings of
    overlapping digits stand even where the digit model reads the pair as one digit with
    confidence."""
    if min(d.confidence for d in read) >= SURE_SPLIT:
        return True
    box = found.ink_boxes[k]
    wide = max(0.0, (box[2] - box[0]) / found.digit_height - WIDE_FROM)
    # A softmax's top probability is at least a tenth: its log needs no floor.
    whole_score = float(np.log(whole.max())) - WIDE_COST * wide - DIGIT_PENALTY
    seq_score = sum(np.log(max(d.confidence, 1e-12)) - DIGIT_PENALTY for d in read)
    return seq_score > whole_score


def _region_reading(found: Segmentation, k: int, whole: np.ndarray, reader: SequenceReader) -> list[Reading]:
    """Region k's digits. One narrow enough to be a single digit is read whole by the digit model
    (`whole`: its probabilities), the fast path; a wider one by the sequence model as a line, when
    that reading has several digits and stands (_sequence_stands)."""
    box = found.ink_boxes[k]
    if box[2] - box[0] > SPLIT_WIDTH * found.digit_height:
        read = [s for s in reader.read(found.regions[k].ink) if s.symbol < DIGITS]  # a number's digits
        if len(read) >= 2 and _sequence_stands(found, k, whole, read):
            return _sequence_readings(found, k, read)
    return [(found.boxes[k], found.inputs[k], whole)]


def read_number(predictor: Predictor, source: ImageSource, reader: SequenceReader) -> NumberResult:
    """An image of a number (path, bytes, PIL image or array) → its digits.

    The regions are read by the digit model in one batch; a region wide enough to hold several
    touching or overlapping digits also by the sequence model (_region_reading). Raises
    InputError (NoDigitError when the image holds no digit) with a message.
    """
    return read_segmentation(predictor, segment_number(source), reader)


def read_segmentation(predictor: Predictor, found: Segmentation, reader: SequenceReader) -> NumberResult:
    """The digits of the regions found (segment_number, segment_ink)."""
    probs = predictor.probabilities(found.inputs)
    digits, inputs = [], []
    for k in range(len(found.regions)):
        for box, model_input, p in _region_reading(found, k, probs[k], reader):
            d = int(np.argmax(p))
            digits.append(NumberDigit(d, float(p[d]), box, [float(v) for v in p]))
            inputs.append(model_input)
    return NumberResult("".join(str(d.digit) for d in digits), digits, np.stack(inputs),
                        found.source_size, count_lines(found.ink_boxes))


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
