"""Every number on a page: the lines of writing found, each split into numbers, each number read.

1. The ink, as for one number (serving.ink) at the page's size, but a photo's marks are told apart
   from writing by page rules: what runs into the photo's edge or along the page's edge (the desk,
   the rim), long thin lines, punched holes and dotted paper's lattice go (many characters of one
   size are writing: the lattice is told by its evenly spaced rows, not by its dots' sizes).
2. Lines: the pieces of ink big enough to be characters are grouped into lines by how their
   vertical extents overlap, after the page's tilt is taken out (the slope that makes the
   characters' centres line up best); small pieces (a decimal point, a minus sign, a dot of an
   "i") join the line they lie in.
3. Numbers: a line splits where the gap between neighbouring pieces is NUMBER_GAP times the
   line's own character height or wider.
4. Each number is read as one number is (serving.numbers: the digit model for digits written
   apart, the sequence model for touching ones) on its own ink, and the sequence model's signs
   and decimal points are put in where it reads them.

Boxes are in the pixels the image was sent with (after EXIF rotation), reading order is top to
bottom, then left to right.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from serving.components import Components, label_components
from serving.contract import DIGITS, MINUS, POINT
from serving.contrast import INK_LEVEL, ink_mask
from serving.decode import ImageSource, NoDigitError, open_image, original_size, shrink, to_standard_mode
from serving.frames import Box, without_frames
from serving.ink import PHOTO_SIDE, SEE_THROUGH, SMALL_SIDE, TRANSPARENT, alpha_ink, clean_ink, on_paper
from serving.numbers import (
    NumberResult,
    Segmentation,
    at_edge,
    crop_with_rim,
    digit_groups,
    digit_height,
    read_number,
    read_segmentation,
    reading_score,
    segment_ink,
    to_input_box,
    with_notes,
)
from serving.paper import (
    GRAIN_STRONG,
    clear_marks,
    hysteresis,
    lattice_dots,
    page_edges,
    paper_ink,
    punched_holes,
    stretch_ink,
)
from serving.photo import FAINT_INK, dark_on_light
from serving.predictor import Predictor
from serving.result import DigitResult, unsure
from serving.sequence import LineReading, SequenceDigit, SequenceReader
from serving.stats import dilate, erode, median

PAGE_SIDE = 1024  # a page is read at most this size: a digit 3% of its height is 30 px
SMALL_WRITING = 38  # characters less tall than this at PAGE_SIDE lose strokes to its pixels (the 3×3
# mean, a line's band, a shrink's blur): the page is read again closer, where the picture allows
PRECHECK_SIDE = 1000  # pictures this large are first checked for a photo on a sixteenth of the pixels
MIN_STROKE = 3  # pixels: a piece thinner than this both ways is a speck or a hairline
CHAR_AREA = 0.15  # pieces with this share of the typical character's ink or more are characters
MIN_CHAR_HEIGHT = 0.4  # ... and as tall as this share of the typical character
SPECK = 0.02  # pieces under this share of a typical character's ink are specks of the paper
BAR_LOW = 0.6  # a piece this short (of the typical character), FLAT times as wide as tall, is a bar
FLAT = 1.5  # (a minus sign, a dash, short and thick too): it joins the line it stands in, never makes one
LINE_OVERLAP = 0.4  # a piece joins a line its vertical extent overlaps by this share of its height
LINES_ALIKE = 2.0  # ... and two lines overlapping so are one, unless one is this many times as tall
STACKED = 2.2  # two "lines" together no taller than this many times the taller, and ...
STACK_GAP = 0.15  # ... no further apart than this share of it, are one character's parts ...
ONE_CHARACTER = 2.0  # ... where each is no wider than this many of the page's character heights
NUMBER_GAP = 1.25  # a gap this many character heights wide (at least) splits a line into numbers
MAX_TILT = 0.1  # slopes tried (rows per column), either way: a page turned up to about 6°
TILTS = 41
LONG_LINE = 8  # a piece this many times as wide as tall and wider than LINE_SPAN of the page
LINE_SPAN = 0.25  # ... is what is left of a ruled line
THIN_LINE = 9  # pixels: a printed line is this wide at most, and what lies off its course is under
LINE_SHARE = 0.5  # this share of its piece (else it is the page's edge widened by a shadow)
MARK_SURE = 0.5  # a minus sign or decimal point the sequence model reads less surely is left out
MARK_HEIGHT = 0.5  # ... and its ink is pieces at most this share of the number's height
# A minus sign the sequence model reads unsurely (written higher or further off than it learnt) is
# one by its shape: first, level, BAR_LENGTH of the number's height long, at most BAR_THICK of it
# thick, about its middle (BAR_MIDDLE); the model's own chance, however low, is its confidence.
BAR_LENGTH = (0.2, 1.2)
BAR_ASPECT = 1.8  # ... at least this many times as long as thick; a shorter, thicker bar (BAR_STUB
BAR_STUB = 1.4  # times as long as thick at least) only where the model gives it BAR_SURE
BAR_SURE = 0.01
BAR_GAP = 0.2  # a line taken out across a minus sign leaves pieces this far apart (of the height)
BAR_THICK = 0.35
BAR_MIDDLE = (0.15, 0.85)
# Likewise a decimal point: a dot between two pieces, low on the line (DOT_LOW), DOT_SIZE of the
# number's height across, that the model gives at least DOT_SURE (by shape alone a speck would pass).
DOT_SURE = 0.02
DOT_SIZE = (0.06, 0.3)
DOT_LOW = 0.65
DOT_ASPECT = 3  # ... no more than this many times as long as wide
LEVEL_FROM = 3  # a number's own slope is measured on this many characters at least ...
LEVEL_SPAN = 2  # ... spread over this many character heights ...
MAX_LEVEL = 0.25  # ... and taken as at most this steep (rows per column)
SECOND_UNSURE = 0.8  # a digit the digit model reads less surely than this is checked by the sequence model
DIGIT_WEIGHT = 0.6  # the digit model's weight where both models read a number's digits (second_opinion)
ONE_DIGIT_WIDE = 0.75  # one number alone on a page this narrow (of its height) may be one digit
# read in parts; two digits side by side are wider, but for two 1s (one_digit_likelier)
ONE_SHAPE_WIDE = 1.2  # a piece of ink no wider than this many times its height is one shape
WITHIN = 0.5  # a reading with this share of its box in the page's own reading's reads that ink
MIN_MEAN_CONFIDENCE = 0.5  # a "number" read less surely than this on average is a mark, not writing
FAINT_GROUP = 0.45  # a group whose ink (its mean) is under this share of the page's typical group's
# is a shadow's edge or a line's remains (of three groups or more: a typical one needs company); a
# number written lightly holds more ...
MANY = 6  # characters of one height (ALIKE times taller or shorter at most) that tell the page's
ALIKE = 4 / 3  # typical one beside a piece holding most of the ink (a shadow's)
MIN_CHAR_PIXELS = 12  # pixels at PAGE_SIDE: pieces less tall are specks, never a page's characters
TALL_STROKE = 3.0  # ... as is one piece alone this many characters tall (the page's edge, a rule), and
SPARSE = 0.15  # any such piece filling less than this of its box (a line: a big digit's strokes fill more)
HAIRLINE = (1.5, 12)  # ... or one alone this many tall and this many times as tall as wide (the page's
# edge broken in pieces: a written 1 is neither)
FAINT_GRAINS = 6  # faint pencil: strong ink this many grains above the paper (stretch_ink's is 10)
BOLD_GRAINS = 40  # ... and writing among many pixels of a line's or a shadow's remains: this many
BAND = 0.06  # within this share of the photo's sides, a piece thin along its side is the page's rim,
THIN = 6  # (thin: this many times as long as it is wide) ...
FILLED = 0.65  # ... and one filling this share of its box (a stroke of a pen never does) the desk or a
BLOB = 2  # hole, unless it lies across the side this many times as long as wide
DESK_RIM = 0.02  # the share of the photo's side cleared round the desk where it is all that shows
RIM = 7  # pixels round a piece whose faint ink is read with it
EDGE = 2  # pixels from the photo's edge within which a piece runs into it (the desk, the rim)
STROKE_WIDTH = (15, 0.3)  # no stroke is wider than this many pixels or share of the typical
SHADED = 0.4  # character's height: a piece with under this share of its darkness narrower is wide,
GRADED = 0.5  # and with this share of its pixels between GRADE of its darkest (no dark core) soft
GRADE = (0.2, 0.8)


@dataclass(frozen=True)
class PageChar:
    char: str
    confidence: float
    box: tuple[int, int, int, int]
    # A digit's 28×28 input as the digit model saw it (None for a sign or a point): what the page
    # digits the model is fine-tuned on are made of (bench/page_digits.py)
    model_input: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def unsure(self) -> bool:
        return unsure(self.confidence, photo=False)


@dataclass(frozen=True)
class PageNumber:
    number: str
    characters: list[PageChar]
    box: tuple[int, int, int, int]
    # What the sequence model read (serving.strip.to_strip of the number's levelled ink; None where
    # it read none), signs and points in; kept for bench.page_digits, never serialized.
    strip: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def confidence(self) -> float:
        """Chance that every character is right, taking them as independent."""
        return float(np.prod([c.confidence for c in self.characters]))

    def to_dict(self) -> dict:
        return {"number": self.number, "confidence": round(self.confidence, 6), "box": list(self.box),
                "unsure": any(c.unsure for c in self.characters),
                "characters": [{"char": c.char, "confidence": round(c.confidence, 6), "box": list(c.box),
                                "unsure": c.unsure} for c in self.characters]}


@dataclass(frozen=True)
class PageResult:
    numbers: list[PageNumber]
    source_size: tuple[int, int]
    note: str | None = None

    @property
    def cut_off(self) -> bool:
        """Whether a number runs into the picture's edge, where a character may be cut off."""
        return any(at_edge(n.box, self.source_size) for n in self.numbers)

    def to_dict(self) -> dict:
        return with_notes({"numbers": [n.to_dict() for n in self.numbers]}, [self.note] if self.note else [],
                          self.cut_off)


def page_ink(image: Image.Image, side: int = PAGE_SIDE) -> tuple[np.ndarray, Components, list[Box]]:
    """The page's ink at most `side` pixels, white on black, its pieces, and the boxes of the
    printed frames (form fields, comb boxes) taken out of it."""
    image = to_standard_mode(image)
    if image.mode == "RGBA":
        alpha = np.asarray(image.getchannel("A"))
        if (alpha < TRANSPARENT).mean() > SEE_THROUGH:
            ink = alpha_ink(alpha, side)
            return ink, label_components(ink_mask(ink)), []
        image = on_paper(image)
    full = max(image.size)
    image = shrink(image, side)
    raw = np.asarray(image)
    try:
        # A photo of a page fails clean_ink's first test, its border; a sixteenth of the pixels
        # tells so (of a picture at least PRECHECK_SIDE: a small scan's thin lines need them all).
        quick = full >= PRECHECK_SIDE and clean_ink(raw[::4, ::4], full) is None
        ink = None if quick else clean_ink(raw, full)
    except NoDigitError:
        if full <= SMALL_SIDE:
            raise
        ink = None
    if ink is not None:
        ink, _, frames = without_frames(ink)
        return ink, label_components(ink_mask(ink)), frames
    try:
        return without_frames(*photo_page_ink(np.asarray(image.convert("L"))))
    except NoDigitError:
        if max(image.size) <= PHOTO_SIDE:
            raise
    # Faint pencil on grainy paper: at the size one digit's photo is read at, the grain averages
    # out where the strokes stay.
    return without_frames(*photo_page_ink(np.asarray(shrink(image, PHOTO_SIDE).convert("L"))))


def photo_page_ink(grey: np.ndarray) -> tuple[np.ndarray, Components]:
    """A photographed page: its light and ruled lines taken out (serving.paper), then the desk, the
    page's rim and what is left of lines cleared, and faint pencil joined to its strokes."""
    d, light = paper_ink(dark_on_light(grey))
    shading = d  # as the photo shows it: a shadow's band is wide before the desk beside it is cleared
    ink = stretched(d)
    components = label_components(ink_mask(ink))
    marks = page_marks(components, light)
    if marks.any():
        # Where the desk was all there was, its rim goes too (DESK_RIM): once the desk is cleared,
        # the stretch would make strokes of what is left of the rim.
        margin = round(DESK_RIM * max(grey.shape)) if marks.all() else 1
        d = clear_marks(d, components, marks, components.pixels(~marks), margin)
        ink = stretched(d)
    components = hysteresis(ink, FAINT_INK, INK_LEVEL)
    marks = page_marks(components, light)
    # A line on the paper (not its edge against the desk) keeps the writing it runs through.
    lines = marks & long_lines(components) & ~page_edges(components, light)
    writing = ~marks
    if writing.any():  # the characters' height among the pieces left: dotted paper's dots are marks
        heights = (components.boxes[:, 3] - components.boxes[:, 1])[writing]
        height = float(np.median(heights[big_pieces(components.area[writing])]))
        marks |= shaded(shading, components, height, writing)
    mask = (components.labels > 0) & (~components.pixels(marks) | off_the_line(components, lines))
    # The ink round the pieces (a digit's faint rim is read with it), not what lies apart from
    # them: faint dots of dotted paper, grain, would stand beside a number's decimal point.
    return np.where(dilate(mask, RIM), ink, np.float32(0)), label_components(mask)


def shaded(d: np.ndarray, components: Components, height: float, which: np.ndarray) -> np.ndarray:
    """Which of the pieces `which` are shading, not writing (a shadow's band along the desk, a soft
    shadow's corner): wide and soft. A pen's stroke is narrow: most of its darkness stands above d's
    grey opening as wide as the widest stroke (STROKE_WIDTH, of characters `height` tall; taken at
    half size, as shading is smooth); a piece holding under SHADED of it is wide. A marker's bold
    digit is too, but has a dark core: a shadow's darkness is graded (GRADED of its pixels between
    GRADE of its darkest)."""
    width = max(STROKE_WIDTH[0], round(STROKE_WIDTH[1] * height)) // 2 | 1
    h, w = (d.shape[0] // 2) * 2, (d.shape[1] // 2) * 2
    # Each 2×2 block's lightest pixel: the opening at half size is no higher than at full size.
    half = np.minimum(np.minimum(d[0:h:2, 0:w:2], d[1:h:2, 0:w:2]),
                      np.minimum(d[0:h:2, 1:w:2], d[1:h:2, 1:w:2]))
    opened = np.zeros_like(d)
    opened[:h, :w] = np.repeat(np.repeat(dilate(erode(half, width), width), 2, axis=0), 2, axis=1)
    inside = components.labels > 0
    labels, darkness = components.labels[inside], d[inside]
    narrow = np.maximum(darkness - opened[inside], 0)
    held = np.bincount(labels, narrow, components.count + 1)[1:]
    out = which & (held < SHADED * np.bincount(labels, darkness, components.count + 1)[1:])
    for i in np.flatnonzero(out):
        x0, y0, x1, y1 = components.boxes[i]
        own = d[y0:y1, x0:x1][components.labels[y0:y1, x0:x1] == i + 1]
        darkest = np.percentile(own, 95)
        out[i] = ((own > GRADE[0] * darkest) & (own < GRADE[1] * darkest)).mean() >= GRADED
    return out


def stretched(d: np.ndarray) -> np.ndarray:
    """stretch_ink's ink; where it finds no strong writing, the page's faint pencil (strong ink taken
    nearer the paper's grain) or, where the remains of lines and shading outnumber the writing and
    set its full ink, the writing far above them (BOLD_GRAINS)."""
    for grains in (GRAIN_STRONG, FAINT_GRAINS, BOLD_GRAINS):
        try:
            return stretch_ink(d, grains)
        except NoDigitError as err:
            failed = err
    raise failed


def page_marks(components: Components, light: np.ndarray) -> np.ndarray:
    """The page's own marks among the pieces: what runs into the photo's edge, the page's edge
    against the desk, long thin lines (no character is one), punched holes and dotted paper."""
    h, w = light.shape
    x0, y0, x1, y1 = components.boxes.T
    bw, bh = x1 - x0, y1 - y0
    edge = (x0 < EDGE) | (y0 < EDGE) | (x1 > w - EDGE) | (y1 > h - EDGE)
    # In the band along a side, the rim is thin along that side, and the desk or a hole fills its
    # box without lying across it and stands alone: a minus sign by the left side, a 1 by the top,
    # a thick 1 with its number beside it, is writing; and neither is a minus sign before a digit.
    sides = (x1 <= BAND * w) | (x0 >= (1 - BAND) * w)
    ends = (y1 <= BAND * h) | (y0 >= (1 - BAND) * h)
    filled = components.area >= FILLED * bw * bh
    desk = filled & ((sides & (bw < BLOB * bh)) | (ends & (bh < BLOB * bw)))
    rim = (sides & (bh > THIN * bw)) | (ends & (bw > THIN * bh)) | (desk & ~beside_writing(components, desk))
    rim &= ~minus_signs(components, rim)
    return (edge | long_lines(components) | rim | page_edges(components, light)
            | lattice_dots(components, max(h, w)) | punched_holes(components, (h, w)))


def long_lines(components: Components) -> np.ndarray:
    """Which pieces are long thin lines: LONG_LINE times as long as wide, across LINE_SPAN of the
    photo (no character is one)."""
    h, w = components.labels.shape
    bw, bh = (components.boxes[:, 2:] - components.boxes[:, :2]).T
    return ((bw > LONG_LINE * bh) & (bw > LINE_SPAN * w)) | ((bh > LONG_LINE * bw) & (bh > LINE_SPAN * h))


def off_the_line(components: Components, lines: np.ndarray) -> np.ndarray:
    """The writing that the thin `lines` run through (a margin rule the page's lines left, where the
    page ends short of the photo), as an (H, W) mask: what lies further than half the line's width
    (and a pixel) from its course, a straight line through the middles of its rows across that hold
    nothing but the line. Only a printed line (THIN_LINE, LINE_SHARE) keeps writing so."""
    out = np.zeros(components.labels.shape, bool)
    for i in np.flatnonzero(lines):
        x0, y0, x1, y1 = components.boxes[i]
        tall = y1 - y0 > x1 - x0
        piece = components.labels[y0:y1, x0:x1] == i + 1
        along = piece if tall else piece.T  # its rows run across the line
        rows, cols = np.nonzero(along)
        width = np.bincount(rows, minlength=len(along))
        line_width = float(np.median(width[width > 0]))
        plain = (width > 0) & (width <= line_width)  # rows where nothing but the line lies
        if line_width > THIN_LINE or plain.sum() < 2:
            continue
        middle = np.bincount(rows, cols, minlength=len(along)) / np.maximum(width, 1)
        course = np.polyval(np.polyfit(np.flatnonzero(plain), middle[plain], 1), rows)
        off = np.zeros_like(along)
        off[rows, cols] = np.abs(cols - course) > line_width / 2 + 1
        if off.sum() < LINE_SHARE * len(rows):  # else the page's edge, widened by a shadow
            out[y0:y1, x0:x1] |= off if tall else off.T
    return out


def beside_writing(components: Components, which: np.ndarray) -> np.ndarray:
    """For each of the pieces `which`, whether another piece from half to twice its height stands
    beside it on its line, as a number's next character does: across half its height, no further off
    than its height."""
    x0, y0, x1, y1 = components.boxes.T
    out = np.zeros(components.count, bool)
    for i in np.flatnonzero(which):
        height = y1[i] - y0[i]
        across = np.minimum(y1, y1[i]) - np.maximum(y0, y0[i]) >= height / 2
        near = np.maximum(x0 - x1[i], x0[i] - x1) <= height
        beside = across & near & (y1 - y0 >= height / 2) & (y1 - y0 <= 2 * height)
        beside[i] = False
        out[i] = beside.any()
    return out


def minus_signs(components: Components, which: np.ndarray) -> np.ndarray:
    """For each of the pieces `which`, whether it is shaped and placed as a minus sign (bar_shaped)
    before a digit: the height of a piece just after it (no further off than that piece is tall)."""
    x0, y0, x1, y1 = components.boxes.T
    heights = np.maximum(y1 - y0, 1)
    out = np.zeros(components.count, bool)
    for i in np.flatnonzero(which):
        middle = ((y0[i] + y1[i]) / 2 - y0) / heights
        after = (x0 >= x1[i]) & (x0 - x1[i] <= heights)
        out[i] = (after & bar_shaped(x1[i] - x0[i], y1[i] - y0[i], middle, heights)).any()
    return out


def bar_shaped(length: float, thick: float, middle: np.ndarray | float,
               height: np.ndarray | float, aspect: float = BAR_ASPECT) -> np.ndarray | bool:
    """Whether a bar `length` long and `thick` is a minus sign beside characters `height` tall: level,
    BAR_LENGTH of their height long, `aspect` times as long as thick, about their middle (`middle`:
    its centre's share of their height down)."""
    return ((BAR_LENGTH[0] * height <= length) & (length <= BAR_LENGTH[1] * height)
            & (length >= aspect * thick) & (BAR_MIDDLE[0] <= middle) & (middle <= BAR_MIDDLE[1]))


@dataclass(frozen=True)
class Sizes:
    """The typical character of a page, from its big pieces of ink."""

    area: float
    height: float
    outsized: int | None = None  # a piece that is no character (a shadow, the desk's corner)

    @classmethod
    def of(cls, components: Components) -> Sizes:
        """From the pieces as thick as a pen's stroke (specks and hairlines left out), the big ones
        (big_pieces). But one piece holding most of the ink, TALL_STROKE times as tall as the rest's
        (MANY characters alike in height, at least MIN_CHAR_PIXELS tall, and apart from it), is no
        character: a shadow, the desk's corner, the page's edge; it is left out. (A big digit's
        broken-off parts lie against it; the rim's slivers round one digit are few, unlike.)"""
        widths, heights = (components.boxes[:, 2:] - components.boxes[:, :2]).T
        solid = np.minimum(widths, heights) >= MIN_STROKE
        solid |= not solid.any()  # no piece as thick as a stroke: all of them
        biggest = int(np.argmax(np.where(solid, components.area, -1)))
        rest = solid & (np.arange(components.count) != biggest)
        if 2 * components.area[biggest] > components.area[solid].sum() and rest.sum() >= MANY:
            chars = np.flatnonzero(rest)[big_pieces(components.area[rest])]
            height = float(np.median(heights[chars]))
            (x0, y0, x1, y1), others = components.boxes[biggest], components.boxes[chars]
            apart = (others[:, 0] > x1) | (others[:, 2] < x0) | (others[:, 1] > y1) | (others[:, 3] < y0)
            alike = np.abs(np.log(heights[chars] / height)) <= np.log(ALIKE)
            # MANY of them apart from it, not all: a shadow's box may take in a character it passes.
            if ((alike & apart).sum() >= MANY and height >= MIN_CHAR_PIXELS
                    and heights[biggest] >= TALL_STROKE * height):
                return cls(float(np.median(components.area[chars])), height, biggest)
        big = big_pieces(components.area[solid])
        return cls(float(np.median(components.area[solid][big])), float(np.median(heights[solid][big])))


def big_pieces(area: np.ndarray) -> np.ndarray:
    """Which of the pieces (their areas) are big: beside the biggest tenth of them, or where specks
    outnumber the characters (what is left of dotted paper, pencil grain), beside the piece at the
    middle of the ink."""
    by_size = np.sort(area)
    middle_of_ink = by_size[np.searchsorted(np.cumsum(by_size), by_size.sum() / 2)]
    return area >= CHAR_AREA * max(np.percentile(area, 90), middle_of_ink)


def page_tilt(centres: np.ndarray, height: float) -> float:
    """The slope (rows per column) that lines the characters' centres up best: the one whose
    histogram of tilted heights, in bins a quarter of a character high, is the most peaked (of
    those equally peaked, the least steep, the first of those)."""
    slopes = np.linspace(-MAX_TILT, MAX_TILT, TILTS)
    rows = centres[:, 1] - slopes[:, None] * centres[:, 0]
    binned = ((rows - rows.min(axis=1, keepdims=True)) / max(height / 4, 1.0)).astype(np.int64)
    peaked = np.array([(np.bincount(b) ** 2).sum() for b in binned])
    return float(slopes[np.lexsort((np.abs(slopes), -peaked))[0]])


def group_lines(boxes: np.ndarray, is_char: np.ndarray, slope: float) -> list[list[int]]:
    """Indices of the pieces on each line, top to bottom: the characters' lines (overlapping_joined),
    then each small piece in the narrowest line whose band, widened by a quarter, holds its centre."""
    x_mid = (boxes[:, 0] + boxes[:, 2]) / 2
    top, bottom = boxes[:, 1] - slope * x_mid, boxes[:, 3] - slope * x_mid
    lines: list[list[int]] = []
    for i in sorted(np.flatnonzero(is_char), key=lambda i: (top[i] + bottom[i]) / 2):
        for line in lines:
            band_top, band_bottom = median(top[line]), median(bottom[line])
            overlap = min(bottom[i], band_bottom) - max(top[i], band_top)
            if overlap >= LINE_OVERLAP * (bottom[i] - top[i]):
                line.append(i)
                break
        else:
            lines.append([i])
    lines = overlapping_joined(lines, top, bottom)
    bands = np.array([(np.median(top[line]), np.median(bottom[line])) for line in lines]).reshape(-1, 2)
    reach = 0.25 * (bands[:, 1] - bands[:, 0])
    for i in np.flatnonzero(~is_char):
        centre = (top[i] + bottom[i]) / 2
        near = (bands[:, 0] - reach <= centre) & (centre <= bands[:, 1] + reach)
        if near.any():  # the narrowest band that reaches it: a tall stray piece's band is wide
            lines[int(np.argmin(np.where(near, bands[:, 1] - bands[:, 0], np.inf)))].append(i)
    lines.sort(key=lambda line: float(np.median((top[line] + bottom[line]) / 2)))
    return lines


def overlapping_joined(lines: list[list[int]], top: np.ndarray, bottom: np.ndarray) -> list[list[int]]:
    """The lines, with two whose bands overlap by LINE_OVERLAP of the narrower one's height and are
    alike (LINES_ALIKE) made one: the order the pieces came in split it (docs/numbers.md)."""
    for _ in range(len(lines)):
        bands = [(float(np.median(top[line])), float(np.median(bottom[line]))) for line in lines]
        heights = [b - a for a, b in bands]
        pair = next(((a, b) for a in range(len(lines)) for b in range(a + 1, len(lines))
                     if max(heights[a], heights[b]) <= LINES_ALIKE * min(heights[a], heights[b])
                     and min(bands[a][1], bands[b][1]) - max(bands[a][0], bands[b][0])
                     >= LINE_OVERLAP * min(heights[a], heights[b])), None)
        if pair is None:
            break
        lines[pair[0]] += lines.pop(pair[1])
    return lines


def split_numbers(boxes: np.ndarray, line: list[int], height: float,
                  frames: Sequence[Box] = ()) -> list[list[int]]:
    """A line's pieces, left to right, cut into numbers where a gap is NUMBER_GAP character
    heights wide or more, but not inside one printed frame (a row of comb boxes holds one number)."""
    order = sorted(line, key=lambda i: boxes[i, 0])
    numbers, right = [[order[0]]], boxes[order[0], 2]
    for i in order[1:]:
        wide = boxes[i, 0] - right >= NUMBER_GAP * height
        if wide and not same_frame(boxes[numbers[-1][-1]], boxes[i], frames):
            numbers.append([i])
        else:
            numbers[-1].append(i)
        right = max(right, boxes[i, 2])
    return numbers


def same_frame(a: np.ndarray, b: np.ndarray, frames: Sequence[Box]) -> bool:
    """Whether two pieces' boxes both lie in one frame's box (their centres do), or above its base
    as high again as the frame (a comb's teeth are shorter than what is written between them)."""
    def inside(box: np.ndarray, frame: Box) -> bool:
        x, y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        return frame[0] <= x < frame[2] and 2 * frame[1] - frame[3] <= y < frame[3]

    return any(inside(a, frame) and inside(b, frame) for frame in frames)


def find_numbers(components: Components, frames: Sequence[Box] = ()) -> tuple[list[list[int]], Sizes]:
    """The page's numbers in reading order, each the indices of its pieces of ink."""
    sizes = Sizes.of(components)
    widths, heights = (components.boxes[:, 2:] - components.boxes[:, :2]).T
    stroke = (heights > TALL_STROKE * sizes.height) & (components.area < SPARSE * widths * heights)
    kept = (components.area >= SPECK * sizes.area) & ~stroke
    if sizes.outsized is not None:
        kept[sizes.outsized] = False
    is_char = kept & (components.area >= CHAR_AREA * sizes.area) & (heights >= MIN_CHAR_HEIGHT * sizes.height)
    boxes = components.boxes.astype(np.float64)
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    slope = page_tilt(centres[is_char], sizes.height) if is_char.sum() > 2 else 0.0
    flat = (widths >= FLAT * heights) & (heights <= BAR_LOW * sizes.height)
    lines = group_lines(boxes, is_char & kept & ~flat, slope)
    lines = [[i for i in line if kept[i]] for line in lines]
    numbers = []
    for line in filter(None, lines):
        # The line's own typical character (a line may be written smaller or bigger than the page's).
        chars = [i for i in line if is_char[i]]
        area, height = float(np.median(components.area[chars])), float(np.median(heights[chars]))
        for number in split_numbers(boxes, line, height, frames):
            big = components.area[number] >= CHAR_AREA * area
            tall = heights[number] >= MIN_CHAR_HEIGHT * height
            if (big & tall).any():  # a dot alone is no number
                # Nor does a number end in one (a minus sign leads, a point stands between digits): pieces
                # past its last character, short and small, are specks, slivers of the page's edge.
                end = boxes[number, 2][big & tall].max()
                kept = big | tall | (boxes[number, 0] < end)
                numbers.append([i for i, k in zip(number, kept, strict=True) if k])
    return stacked_joined(numbers, boxes, sizes.height), sizes


def number_height(components: Components, pieces: list[int]) -> float:
    """A number's character height: the median of its pieces at least half as tall as its tallest
    (its digits, not its minus sign or point)."""
    heights = components.boxes[pieces, 3] - components.boxes[pieces, 1]
    return float(np.median(heights[heights >= heights.max() / 2]))


def stacked_joined(numbers: list[list[int]], boxes: np.ndarray, height: float) -> list[list[int]]:
    """The numbers, with each pair that is the parts of one character the line finder took for two
    lines (a 5's detached bar, a 3 broken at its waist: stacked_parts) made one, once at most."""
    out: list[list[int]] = []
    joined: set[int] = set()
    for number in numbers:
        k = next((k for k, kept in enumerate(out)
                  if k not in joined and stacked_parts(boxes[kept], boxes[number], height)), None)
        if k is None:
            out.append(list(number))
        else:
            out[k].extend(number)
            joined.add(k)
    return out


def stacked_parts(a: np.ndarray, b: np.ndarray, height: float) -> bool:
    """Whether two sets of pieces (their boxes) are the upper and lower parts of one character: each
    at most ONE_CHARACTER of the page's character `height` wide, across half the narrower's width
    of each other, at most STACK_GAP of the taller apart and together at most STACKED times as tall."""
    (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = enclosing(a), enclosing(b)
    taller = max(ay1 - ay0, by1 - by0)
    return bool(max(ax1 - ax0, bx1 - bx0) <= ONE_CHARACTER * height
                and min(ax1, bx1) - max(ax0, bx0) >= 0.5 * min(ax1 - ax0, bx1 - bx0)
                and max(ay0, by0) - min(ay1, by1) <= STACK_GAP * taller
                and max(ay1, by1) - min(ay0, by0) <= STACKED * taller)


def read_page(predictor: Predictor, source: ImageSource, reader: SequenceReader) -> PageResult:
    """Every number on the page in reading order, each with its box and its characters' boxes; an
    empty list with a note for a page without writing. Raises InputError for what can't be read."""
    image = open_image(source)
    size = original_size(image)
    try:
        ink, components, frames = page_ink(image)
    except NoDigitError as err:
        return PageResult([], size, note=str(err).replace("no digit found: ", "no number found: "))
    if components.count == 0:
        return PageResult([], size, note="no writing found on the page")
    ink, components, frames = closer_look(image, ink, components, frames)
    found, sizes = find_numbers(components, frames)
    groups = writing_only(found, ink, components, sizes)
    read = [read_group(predictor, reader, ink, components, np.array(group) + 1, size,
                       number_height(components, group)) for group in groups]
    if len(read) == 1 and (read[0] is None or not any(c.char in "-." for c in read[0].characters)):
        whole = alone(predictor, reader, image, size)
        own = read[0]
        if own is not None and whole.numbers and likelier_one(own, whole.numbers[0]):
            return PageResult(read, size)
        if own is not None and writing(own) and (not whole.numbers or beyond(whole.numbers[0].box, own.box)):
            return PageResult(read, size)  # the whole picture's reading is none, or of other ink
        return whole
    numbers = [n for n in read if n is not None and writing(n)]
    left_out = sum(n is not None for n in read) - len(numbers) + len(found) - len(groups)
    note = f"{left_out} mark(s) that don't read as numbers were left out" if left_out else None
    return PageResult(numbers, size, note or (None if numbers else "no number found on the page"))


def closer_side(height: float, shape: tuple[int, int], size: tuple[int, int]) -> int | None:
    """The size to read the page at again where its typical character (`height` pixels in an ink
    map of `shape`) is smaller than SMALL_WRITING and the picture as decoded (`size`: serving.decode
    bounds it) has pixels to spare: where the character is SMALL_WRITING tall, or the picture's own
    size; None where it isn't."""
    side, full = max(shape), max(size)
    if not 0 < height < SMALL_WRITING or full <= side:
        return None
    return min(full, round(side * SMALL_WRITING / height))


def closer_look(image: Image.Image, ink: np.ndarray, components: Components,
                frames: list[Box]) -> tuple[np.ndarray, Components, list[Box]]:
    """The page's ink, pieces and frames (page_ink) read again closer where its writing is small
    (closer_side) and writing is found there; else as they are."""
    side = closer_side(Sizes.of(components).height, ink.shape, image.size)
    if side:
        try:
            again = page_ink(image, side)
        except NoDigitError:
            return ink, components, frames
        if again[1].count:
            return again
    return ink, components, frames


def writing_only(groups: list[list[int]], ink: np.ndarray, components: Components,
                 sizes: Sizes) -> list[list[int]]:
    """The groups that look like writing: not much fainter than the page's typical group, and
    not one stroke (TALL_STROKE) or hairline several characters tall."""
    strength = []
    for group in groups:
        which = np.zeros(components.count, bool)
        which[group] = True
        x0, y0, x1, y1 = box = components.box(which)
        strength.append(float(ink[y0:y1, x0:x1][components.pixels(which, box)].mean()))
    typical = float(np.median(strength)) if len(groups) >= 3 else 0.0
    heights = components.boxes[:, 3] - components.boxes[:, 1]
    widths = np.maximum(components.boxes[:, 2] - components.boxes[:, 0], 1)
    hairline = (heights > HAIRLINE[0] * sizes.height) & (heights > HAIRLINE[1] * widths)
    tall = [len(g) == 1 and (heights[g[0]] > TALL_STROKE * sizes.height or hairline[g[0]]) for g in groups]
    return [g for g, s, t in zip(groups, strength, tall, strict=True) if s >= FAINT_GROUP * typical and not t]


def alone(predictor: Predictor, reader: SequenceReader, image: Image.Image,
          size: tuple[int, int]) -> PageResult:
    """The one number on a page, read exactly as one number or one digit is (the single-digit path
    for one digit, or for ink likelier one digit than several: one_digit_likelier); none, with a
    note, where that path finds none either."""
    try:
        result = read_number(predictor, image, reader)
    except NoDigitError:
        return PageResult([], size, "no number found on the page")
    apart = page_number([PageChar(str(d.digit), d.confidence, d.box, x)
                         for d, x in zip(result.digits, result.inputs, strict=True)])
    if len(result.digits) > 1 and not narrow(result):
        return PageResult([apart], size)  # as wide as two digits side by side: not worth reading whole
    digit = predictor.predict(image)
    if len(result.digits) > 1 and not one_digit_likelier(digit, result):
        return PageResult([apart], size)
    lone = PageChar(str(digit.digit), digit.confidence, apart.box, digit.model_input)
    return PageResult([page_number([lone])], size)


def writing(number: PageNumber) -> bool:
    """Whether a number read is writing, not a mark: read at least MIN_MEAN_CONFIDENCE on average."""
    return bool(np.mean([c.confidence for c in number.characters]) >= MIN_MEAN_CONFIDENCE)


def beyond(box: Box, own: Box) -> bool:
    """Whether a reading's box lies mostly (over 1 - WITHIN of it) outside the box of the page's own
    reading: the whole picture's reading took in ink the page left out (the rim, a shadow, a stroke)."""
    across = max(0, min(box[2], own[2]) - max(box[0], own[0]))
    down = max(0, min(box[3], own[3]) - max(box[1], own[1]))
    return across * down < WITHIN * (box[2] - box[0]) * (box[3] - box[1])


def narrow(result: NumberResult) -> bool:
    """Whether the number's ink is no wider than ONE_DIGIT_WIDE of its height."""
    x0, y0, x1, y1 = enclosing(np.array([d.box for d in result.digits]))
    return x1 - x0 <= ONE_DIGIT_WIDE * (y1 - y0)


def one_digit_likelier(digit: DigitResult, result: NumberResult) -> bool:
    """Whether ink the number reader read as several digits is likelier one digit, as the
    single-digit path reads it (a European 1's flag apart from its stem): narrow, and read whole
    likelier than in parts (reading_score)."""
    parts = reading_score([d.confidence for d in result.digits])
    return narrow(result) and reading_score([digit.confidence]) > parts


def enclosing(boxes: np.ndarray) -> Box:
    """The box around (N, 4) boxes."""
    return (int(boxes[:, 0].min()), int(boxes[:, 1].min()), int(boxes[:, 2].max()), int(boxes[:, 3].max()))


def page_number(characters: list[PageChar], strip: np.ndarray | None = None) -> PageNumber:
    return PageNumber("".join(c.char for c in characters), characters,
                      enclosing(np.array([c.box for c in characters])), strip)


def read_group(predictor: Predictor, reader: SequenceReader, ink: np.ndarray, components: Components,
               labels: np.ndarray, size: tuple[int, int], char_height: float) -> PageNumber | None:
    """One number's pieces of ink: its digits read as serving.numbers reads a number, its minus sign
    and decimal point where the sequence model reads them; None when they hold no digit as tall as
    MIN_CHAR_HEIGHT of the number's characters (`char_height`): faint grain that passed for a piece;
    or that are a mark, not a number (no_number)."""
    crop, origin = crop_with_rim(ink, components, labels)
    marks, digits_ink, line = marks_apart(reader, crop)
    line_digits = line.digits() if line is not None else []
    try:  # the strong ink alone must hold a digit: faint grain, a line's or the desk's remains don't
        if digit_height(*digit_groups(digits_ink, ink.shape)) < MIN_CHAR_HEIGHT * char_height:
            return None
        # Read with the faint ink joined to its strokes (as a photo's pieces are found): a light digit
        # broken into specks at the stroke level, or a stroke's faint end, is read whole.
        found = segment_ink(digits_ink, origin, ink.shape, size, hysteresis(digits_ink, FAINT_INK, INK_LEVEL))
    except NoDigitError:
        return None
    result = read_segmentation(predictor, found, reader)
    if not marks and no_number(predictor, found, result, line_digits):
        return None
    characters = second_opinion(result, line_digits)
    for char, confidence, (x0, y0, x1, y1) in marks:
        box = to_input_box((x0 + origin[0], y0 + origin[1], x1 + origin[0], y1 + origin[1]), ink.shape, size)
        characters.append(PageChar(char, confidence, box))
    return page_number(in_place(sorted(characters, key=lambda c: (c.box[0] + c.box[2]) / 2)),
                       line.strip if line is not None else None)


def no_number(predictor: Predictor, found: Segmentation, result: NumberResult,
              line_digits: list[SequenceDigit]) -> bool:
    """Whether what was read as a number is a mark (a scribble, a spiral, a tick, a blot): the
    not-a-digit check flags all its characters; or the digit model is unsure of one of them and
    the check flags at least half, or, for one character, the sequence model reads another; or
    it is one shape, no wider than a digit, read in pieces, that the check flags read whole."""
    confidences = np.array([d.confidence for d in result.digits])
    flagged = predictor.marks.not_digits(result.inputs, confidences)
    if flagged.all():
        return True
    if confidences.min() < SECOND_UNSURE:
        read_alike = [s.symbol for s in line_digits] == [d.digit for d in result.digits]
        if 2 * flagged.sum() >= len(flagged) or (len(flagged) == 1 and not read_alike):
            return True
    return len(flagged) > 1 and one_shape_no_digit(predictor, found)


def one_shape_no_digit(predictor: Predictor, found: Segmentation) -> bool:
    """Whether the ink is one shape, no wider than a digit, that the not-a-digit check flags read
    whole: a spiral or a knot read in halves gives two likely digits."""
    if len(found.regions) != 1:
        return False
    x0, y0, x1, y1 = found.ink_boxes[0]
    if x1 - x0 > ONE_SHAPE_WIDE * (y1 - y0):
        return False  # wider than a digit: touching digits, read as such
    whole = found.inputs[:1]
    return bool(predictor.marks.not_digits(whole, predictor.probabilities(whole).max(axis=1))[0])


Mark = tuple[str, float, tuple[int, int, int, int]]  # "-" or ".", its confidence, its box in the crop


def second_opinion(result: NumberResult, line_digits: list[SequenceDigit]) -> list[PageChar]:
    """The digits as both models read them together where the sequence model finds as many: the
    digit both make likeliest, their probabilities multiplied with the digit model's weighted
    DIGIT_WEIGHT, that product its confidence (docs/numbers.md); elsewhere the digit model's alone."""
    digits = result.digits
    if len(line_digits) != len(digits):
        return [PageChar(str(d.digit), d.confidence, d.box, x)
                for d, x in zip(digits, result.inputs, strict=True)]
    characters = []
    for d, x, s in zip(digits, result.inputs, line_digits, strict=True):
        # The sequence model's probabilities as it gives them, the blank's share left in.
        line = np.array(s.probabilities) * s.confidence / max(s.probabilities[s.symbol], 1e-12)
        both = np.power(d.probabilities, DIGIT_WEIGHT) * np.power(line, 1 - DIGIT_WEIGHT)
        characters.append(PageChar(str(int(both.argmax())), float(both.max()), d.box, x))
    return characters


def marks_apart(reader: SequenceReader,
                crop: np.ndarray) -> tuple[list[Mark], np.ndarray, LineReading | None]:
    """The minus signs and decimal points the sequence model reads surely in a number's ink, each
    with the small pieces of ink in its columns, and the ink without those pieces (the digits');
    and the sequence model's reading of the whole (None without ink). The model and the shape rules
    read the number levelled: "low on the line" and "level" mean against its own line."""
    pieces = label_components(ink_mask(crop))
    if pieces.count == 0:
        return [], crop, None
    flat, shift = levelled(crop, number_slope(pieces))
    line = reader.line(flat)
    if line is None:
        return [], crop, None
    symbols = [s for s in line.symbols() if s.symbol >= DIGITS and s.confidence >= MARK_SURE]
    read, flat_pieces = {s.symbol for s in symbols}, levelled_pieces(pieces, shift)
    # A minus sign and a decimal point the model did not read surely, where ink is shaped as one
    # (levelling keeps columns) and the model gives it the chance the shape needs.
    bar, dot = leading_bar(flat_pieces), base_dot(flat_pieces)
    shaped = [] if bar is None else [(MINUS, bar[0], 0.0 if bar[1] >= BAR_ASPECT else BAR_SURE)]
    shaped += [] if dot is None else [(POINT, dot, DOT_SURE)]
    for symbol, columns, needed in shaped:
        chance = line.chance_of(symbol, columns)
        if symbol not in read and chance >= needed:
            symbols.append(SequenceDigit(symbol, chance, columns, []))
    if not symbols:
        return [], crop, line
    x0, y0, x1, y1 = pieces.boxes.T
    middle, height = (x0 + x1) / 2, int(y1.max() - y0.min())  # the writing's height, not the crop's
    marks, taken = [], np.zeros(pieces.count, bool)
    for symbol in symbols:
        a, b = symbol.columns
        mine = ~taken & (middle >= a) & (middle < b) & (y1 - y0 <= MARK_HEIGHT * height)
        if mine.any():
            taken |= mine
            marks.append((symbol.char, symbol.confidence, pieces.box(mine)))
    return marks, np.where(pieces.pixels(taken), 0, crop).astype(np.float32), line


def number_slope(pieces: Components) -> float:
    """The slope (rows per column) a number is written on: a straight line through the centres of
    its pieces at least half as tall as the tallest, LEVEL_FROM of them over LEVEL_SPAN character
    heights; else 0 (a digit broken into pieces has no slope to speak of)."""
    if pieces.count == 0:
        return 0.0
    x0, y0, x1, y1 = pieces.boxes.T.astype(np.float64)
    tall = (y1 - y0) >= 0.5 * (y1 - y0).max()
    centres = (x0 + x1)[tall] / 2
    if tall.sum() < LEVEL_FROM or np.ptp(centres) < LEVEL_SPAN * (y1 - y0).max():
        return 0.0
    slope = np.polyfit(centres, (y0 + y1)[tall] / 2, 1)[0]
    return float(np.clip(slope, -MAX_LEVEL, MAX_LEVEL))


def levelled(a: np.ndarray, slope: float) -> tuple[np.ndarray, np.ndarray]:
    """`a` with each column moved down so that a line of `slope` runs level (taller by the
    moves), and how far each column moved."""
    shift = np.round(-slope * np.arange(a.shape[1])).astype(np.int64)
    shift -= shift.min()
    return moved(a, shift), shift


def moved(a: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """`a` with column x moved down shift[x] rows."""
    h, w = a.shape
    out = np.zeros((h + int(shift.max()), w), a.dtype)
    out[np.arange(h)[:, None] + shift, np.arange(w)] = a
    return out


def levelled_pieces(pieces: Components, shift: np.ndarray) -> Components:
    """The same pieces, each column moved down by `shift`: labelled before the move, so a thin
    slanted stroke stays one piece however its columns move."""
    labels = moved(pieces.labels, shift)
    rows, cols = np.nonzero(labels)
    which = labels[rows, cols] - 1
    boxes = pieces.boxes.copy()
    boxes[:, 1], boxes[:, 3] = labels.shape[0], 0
    np.minimum.at(boxes[:, 1], which, rows)
    np.maximum.at(boxes[:, 3], which, rows + 1)
    return Components(labels, pieces.count, pieces.area, boxes)


def base_dot(pieces: Components) -> tuple[int, int] | None:
    """The columns of a piece shaped and placed as a decimal point: a dot low on the line, with
    pieces either side (DOT_*); None when there is none (or several: which would be the point?)."""
    if pieces.count < 3:
        return None
    x0, y0, x1, y1 = pieces.boxes.T
    height = float(y1.max() - y0.min())
    size, small = np.maximum(x1 - x0, y1 - y0), np.minimum(x1 - x0, y1 - y0)
    low = ((y0 + y1) / 2 - y0.min()) / height >= DOT_LOW
    between = (x0 > x0.min()) & (x1 < x1.max())
    dots = np.flatnonzero(low & between & (size >= DOT_SIZE[0] * height) & (size <= DOT_SIZE[1] * height)
                          & (size <= DOT_ASPECT * np.maximum(small, 1)))
    return (int(x0[dots[0]]), int(x1[dots[0]])) if len(dots) == 1 else None


def leading_bar(pieces: Components) -> tuple[tuple[int, int], float] | None:
    """The columns of ink shaped and placed as a minus sign, and how many times as long as thick
    it is (BAR_STUB at least): first on the line, before every other piece, level and short
    (BAR_*); one piece, or a few in a row BAR_GAP apart (a grid line taken out across it leaves
    two); None when there is none."""
    if pieces.count < 2:
        return None
    x0, y0, x1, y1 = pieces.boxes.T
    height = float(y1.max() - y0.min())
    order = np.argsort(x0, kind="stable")
    bar = order[:1]
    for i in order[1:]:
        level = y0[i] < y1[bar].max() and y1[i] > y0[bar].min()
        if not (level and y1[i] - y0[i] <= BAR_THICK * height and x0[i] - x1[bar].max() <= BAR_GAP * height):
            break
        bar = np.append(bar, i)
    rest = order[len(bar):]
    (b0, b1), (top, bottom) = (x0[bar].min(), x1[bar].max()), (y0[bar].min(), y1[bar].max())
    if len(rest) == 0 or b1 > x0[rest].min() or bottom - top > BAR_THICK * height:
        return None
    middle = ((top + bottom) / 2 - y0.min()) / height
    if not bar_shaped(b1 - b0, bottom - top, middle, height, BAR_STUB):
        return None
    return (int(b0), int(b1)), float((b1 - b0) / max(bottom - top, 1))


def in_place(characters: list[PageChar]) -> list[PageChar]:
    """A number's characters less the marks that can't stand where they are: a minus sign only
    first, one decimal point only between two digits."""
    out: list[PageChar] = []
    for i, c in enumerate(characters):
        if c.char == "-" and out:
            continue
        if c.char == "." and (not out or not out[-1].char.isdigit() or i == len(characters) - 1
                              or any(o.char == "." for o in out)):
            continue
        out.append(c)
    return out


def likelier_one(own: PageNumber, whole: PageNumber) -> bool:
    """Whether the page's reading of a lone number's own ink beats the reading of the whole picture
    where either is one digit, by reading_score (a digit the single-digit path is unsure of, or ink
    the number path splits in two); where both read several digits, the number path's stands."""
    def score(number: PageNumber) -> float:
        return reading_score([c.confidence for c in number.characters])

    one = min(len(own.characters), len(whole.characters)) == 1
    return one and own.number != whole.number and score(own) > score(whole)
