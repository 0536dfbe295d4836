"""The page reader (serving/page.py): every number on a page, in reading order, on every surface."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw, ImageFilter

from bench.pages import page as bench_page
from bench.paper import make_photo
from examples.make import draw_digits, paper_photo
from serving import Reader
from serving.components import label_components
from serving.contrast import INK_LEVEL, ink_mask
from serving.decode import NoDigitError, open_image
from serving.numbers import NumberDigit, NumberResult
from serving.operations import READ_PAGE
from serving.page import (
    BAR_ASPECT,
    BAR_STUB,
    NUMBER_GAP,
    SMALL_WRITING,
    closer_side,
    find_numbers,
    group_lines,
    leading_bar,
    levelled,
    levelled_pieces,
    number_slope,
    one_digit_likelier,
    page_ink,
    page_marks,
    photo_page_ink,
    read_group,
    second_opinion,
    shaded,
    split_numbers,
    stretched,
)
from serving.paper import hysteresis
from serving.photo import FAINT_INK
from serving.result import DigitResult
from serving.sequence import SequenceDigit
from training.data import load_mnist
from training.marks import SHAPES, jittered

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader()


def page(lines: list[list[str]], tilt: float = 0.0, size: tuple[int, int] = (900, 1200)) -> Image.Image:
    """Numbers drawn with the project's pen strokes, each line's numbers well apart, on white."""
    image = Image.new("L", size, 255)
    for row, line in enumerate(lines):
        x = 60
        for text in line:
            number = draw_digits((70 * len(text) + 40, 110), text, 0, 255, 7, mode="L")
            image.paste(number, (x, 80 + row * 170))
            x += number.width + 140
    return image.rotate(tilt, Image.Resampling.BICUBIC, fillcolor=255) if tilt else image


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def numbers_of(result) -> list[str]:
    return [n.number for n in result.numbers]


def test_numbers_come_in_reading_order_with_their_boxes(reader):
    result = reader.read_page(page([["12", "7"], ["450"], ["3", "86", "1"]]))
    assert numbers_of(result) == ["12", "7", "450", "3", "86", "1"]
    for number in result.numbers:
        x0, y0, x1, y1 = number.box
        assert x0 < x1 and y0 < y1 and len(number.characters) == len(number.number)
        for ch in number.characters:  # each character's box lies inside its number's
            assert x0 <= ch.box[0] < ch.box[2] <= x1 and y0 <= ch.box[1] < ch.box[3] <= y1
        assert [c.box[0] for c in number.characters] == sorted(c.box[0] for c in number.characters)
    tops = [n.box[1] for n in result.numbers]
    assert tops[0] < tops[2] < tops[3]  # line by line, down the page


def test_a_tilted_photographed_page(reader):
    photo = paper_photo(page([["305", "19"], ["62", "4"]], tilt=4).convert("RGB"), seed=3)
    assert numbers_of(reader.read_page(png(photo))) == ["305", "19", "62", "4"]


def test_a_page_without_writing_is_an_empty_list_with_a_note(reader):
    blank = paper_photo(Image.new("RGB", (900, 1200), "white"), seed=1)
    result = reader.read_page(png(blank))
    assert result.numbers == [] and result.note and "no number" in result.note
    assert READ_PAGE.fields(result) == {"numbers": [], "note": result.note}


def test_one_digit_or_one_number_reads_as_in_those_modes(reader):
    for name in ("3_marker.png", "2_pencil.png", "4_phone_exif.jpg", "7_ballpoint_photo.jpg"):
        digit = reader.read_digit(ROOT / "examples" / name)
        (number,) = reader.read_page(ROOT / "examples" / name).numbers
        assert (number.number, number.confidence) == (str(digit.digit), digit.confidence)
    alone = reader.read_number(ROOT / "examples" / "number_2026.png")
    (number,) = reader.read_page(ROOT / "examples" / "number_2026.png").numbers
    assert number.number == alone.number and [c.box for c in number.characters] == [
        d.box for d in alone.digits
    ]


@pytest.mark.parametrize("paper", ["dotted", "ruled"])
@pytest.mark.parametrize("ink", ["black", "blue"])
def test_one_digit_photographed_on_notebook_paper_is_read(reader, paper, ink):
    """The paper's dots outnumber the writing's pieces, its punched holes are as big as a digit:
    they are the paper's, and the digit is the page's one number (not a piece many times the dots'
    size, nor one beside dark holes, left out)."""
    data = load_mnist()
    for index in range(1, 9):
        label = int(data.test_labels[index])
        photo = make_photo(data.test_images[index], label, paper, ink, np.random.default_rng(index))
        assert numbers_of(reader.read_page(photo.jpeg)) == [str(label)], (paper, ink, index)


@pytest.mark.parametrize(("paper", "index"), [("plain", 24), ("ruled", 14), ("ruled", 31), ("squared", 22),
                                              ("dotted", 2), ("dotted", 11)])
def test_one_digit_in_faint_pencil_on_notebook_paper_is_read(reader, paper, index):
    """Faint pencil: left out beside the holes or the dots, or read surer by the page than by the
    single-digit path."""
    data = load_mnist()
    label = int(data.test_labels[index])
    photo = make_photo(data.test_images[index], label, paper, "pencil", np.random.default_rng(index))
    assert numbers_of(reader.read_page(photo.jpeg)) == [str(label)]


def test_a_photos_page_ink_is_its_pieces_and_their_rim_not_faint_dots_apart():
    """Dotted paper's dots too faint to be pieces stay out of the ink a number is read from (they
    stood beside its decimal point); a stroke's soft edge stays in it."""
    picture = Image.new("L", (600, 800), 228)
    draw = ImageDraw.Draw(picture)
    for y in range(20, 800, 30):
        for x in range(20, 600, 30):
            draw.ellipse((x - 1.5, y - 1.5, x + 1.5, y + 1.5), fill=212)
    draw.line([(300, 300), (300, 420)], fill=50, width=8)
    draw.line([(340, 300), (380, 300), (350, 420)], fill=50, width=8)
    picture = picture.filter(ImageFilter.GaussianBlur(1))
    noise = np.random.default_rng(0).normal(0, 2, (800, 600))
    ink, pieces = photo_page_ink(np.clip(np.asarray(picture, np.float32) + noise, 0, 255).astype(np.uint8))
    assert pieces.count == 2 and ink[500:].max() == 0 and ink[:250].max() == 0
    assert 0 < ink[360, 295] < 0.5 and ink[360, 300] == 1  # the 1's soft edge, its middle


@pytest.mark.parametrize(("paper", "index", "lost"), [("plain", 3290, True), ("ruled", 9964, False),
                                                      ("dotted", 9186, True)])
def test_pencil_lost_in_the_grain_at_the_pages_size_is_read(reader, paper, index, lost):
    """The page's size shows too much of the paper's grain for the faint strokes to stand out; at
    the size a digit's photo is read at they do (no "paper but no clear writing"). On ruled paper
    the lines' remains outnumber the strokes, which stand far above them at the page's size too."""
    data = load_mnist()
    label = int(data.test_labels[index])
    photo = make_photo(data.test_images[index], label, paper, "pencil", np.random.default_rng((5, index)))
    try:
        photo_page_ink(np.asarray(open_image(photo.jpeg).convert("L")))
        found = True
    except NoDigitError:
        found = False
    assert found != lost
    assert numbers_of(reader.read_page(photo.jpeg)) == [str(label)]


def test_a_line_splits_only_at_wide_gaps():
    boxes = np.array([[0, 0, 30, 50], [40, 0, 70, 50], [70 + int(NUMBER_GAP * 50) + 5, 0, 200, 50]], float)
    assert split_numbers(boxes, [2, 0, 1], 50) == [[0, 1], [2]]
    assert split_numbers(boxes[:2], [1, 0], 50) == [[0, 1]]


def with_a_mark(kind: str, seed: int) -> Image.Image:
    """"25" and "7" with a mark of the not-a-digit check's training kinds drawn between them."""
    image = Image.new("L", (800, 600), 240)
    image.paste(draw_digits((200, 110), "25", 20, 240, 7, mode="L"), (60, 80))
    image.paste(draw_digits((120, 110), "7", 20, 240, 7, mode="L"), (60, 380))
    rng = np.random.default_rng(seed)
    pen = ImageDraw.Draw(image)
    for stroke in jittered(SHAPES[kind](rng), rng):
        pen.line([(520 + 110 * x, 230 + 110 * y) for x, y in stroke], fill=20, width=7, joint="curve")
    return image


def test_marks_beside_numbers_are_mostly_left_out(reader):
    """Spirals, scribbles and waves beside numbers: the numbers read, and most marks are not read
    as numbers (a mark read in pieces as likely digits, or one the two models read apart)."""
    reads = [numbers_of(reader.read_page(with_a_mark(kind, seed)))
             for kind in ("spiral", "scribble", "wave") for seed in range(12)]
    assert all(r[0] == "25" and r[-1] == "7" for r in reads)
    assert sum(len(r) > 2 for r in reads) <= 9, reads


def test_small_marks_join_their_line_and_specks_are_dropped():
    image = page([["18", "5"]])
    draw = ImageDraw.Draw(image)
    draw.ellipse((560, 178, 572, 190), fill=0)  # a dot on the line's base, between the numbers
    draw.point((450, 600), fill=0)  # a speck far below
    ink, components, frames = page_ink(image)
    groups, sizes = find_numbers(components, frames)
    assert len(groups) == 2 and sizes.height > 40  # "18" and "5": a dot alone is no number, the speck gone
    assert sorted(len(g) for g in groups) == [1, 2]


def test_small_pieces_past_a_numbers_last_digit_are_no_part_of_it(reader):
    """Slivers of the page's edge a little past a number (bench.pages' first page: "-850" read
    "-8501"): no number ends in a small mark, so they are left out; a point between digits stays,
    and so does a big part of the last digit."""
    image = page([["18"], ["35"]])
    draw = ImageDraw.Draw(image)
    for y0, y1 in ((110, 128), (134, 150), (156, 170)):  # a broken thin stroke after "18"
        draw.rectangle((282, y0, 285, y1), fill=120)
    draw.ellipse((145, 350, 157, 362), fill=0)  # a point between "3" and "5"
    ink, components, frames = page_ink(image)
    groups, _ = find_numbers(components, frames)
    assert [len(g) for g in groups] == [2, 3]
    assert numbers_of(reader.read_page(image)) == ["18", "3.5"]
    # A short piece with a character's share of ink past the last one is that character's part: a
    # pencil 7's top broken off its stem (bench.pages, seed 0, page 467).
    data = load_mnist()
    made = bench_page(467, 0, {str(d): list(data.test_images[data.test_labels == d]) for d in range(10)})
    assert numbers_of(reader.read_page(made.jpeg)) == made.numbers == ["-0677"]


@pytest.mark.parametrize("x", [230, 300])
def test_digits_a_margin_rule_runs_through_are_read_without_it(reader, x):
    """A rule down the page, where the page ends short of the photo (so the rule crosses too little
    of it for the line removal), joins the digits written across it into one long line; those
    digits stay (bench.pages, seed 12, page 31: "5464" read "54", "4")."""
    image = page([["5464"], ["338975"]]).convert("RGB")
    draw = ImageDraw.Draw(image)
    draw.line((x, 0, x + 12, 940), fill=(150, 150, 150), width=3)
    draw.rectangle((0, 960, 900, 1200), fill=(40, 40, 40))  # the desk below the page
    assert numbers_of(reader.read_page(png(image))) == ["5464", "338975"]


def test_the_pages_edge_and_a_shadows_edge_keep_nothing_off_their_line(reader):
    """What only passes for a printed line keeps no writing off it: the page's edge in a shadow,
    uneven (bench.paper, seed 5, photo 184: a "1" beside the 8), and a shadow's edge, faint off its
    line (bench.pages, seed 11, page 110: "81.3" read "1.3")."""
    data = load_mnist()
    index = int(np.random.default_rng(5).choice(len(data.test_labels), 600, replace=False)[184])
    photo = make_photo(data.test_images[index], int(data.test_labels[index]), "plain", "black",
                       np.random.default_rng((5, index)))
    assert numbers_of(reader.read_page(photo.jpeg)) == ["8"]
    digits = {str(d): list(data.test_images[data.test_labels == d]) for d in range(10)}
    made = bench_page(110, 11, digits)
    assert numbers_of(reader.read_page(made.jpeg)) == made.numbers


def test_a_number_written_lightly_is_writing(reader):
    """bench.pages, seed 0, page 200: a "2" written in a light stroke, half as dark as the page's
    other numbers, is read, not left out as a line's remains."""
    data = load_mnist()
    made = bench_page(200, 0, {str(d): list(data.test_images[data.test_labels == d]) for d in range(10)})
    assert numbers_of(reader.read_page(made.jpeg)) == made.numbers


def test_shading_is_wide_and_soft_and_a_bold_digit_is_not():
    """shaded: a shadow's band (darkness graded over 40 px) is shading; a pen's stroke (narrow) and
    a marker's bold blob (as wide, but dark to its core) are not."""
    d = np.zeros((200, 220), np.float32)
    d[50:90, 40:44] = 0.8  # a stroke
    yy, xx = np.mgrid[:200, :220]
    d[np.hypot(yy - 100, xx - 100) <= 15] = 0.8  # a bold blob, 31 px across
    d[20:180, 150:190] = 0.6 * (1 - (np.arange(150, 190) - 150) / 40)  # a shadow's band, graded
    components = label_components(d > 0.1)
    found = np.flatnonzero(shaded(d, components, 40.0, np.ones(components.count, bool)))
    assert len(found) == 1 and tuple(components.boxes[found[0], :2]) == (150, 20)


@pytest.mark.parametrize(("seed", "index"), [(11, 187), (12, 181)])
def test_a_shadows_band_or_corner_is_no_writing(reader, seed, index):
    """bench.pages, seed 11, page 187: a shadow's band along the desk set the page's ink and read
    as a "1" where "9.1" is written in faint pencil; seed 12, page 181: a soft shadow's corner read
    as a "4" before the page's only number."""
    data = load_mnist()
    made = bench_page(index, seed, {str(d): list(data.test_images[data.test_labels == d]) for d in range(10)})
    assert numbers_of(reader.read_page(made.jpeg)) == made.numbers


def test_every_surface_answers_as_the_cli(reader, tmp_path):
    from app.ui.api import api_answer, tools
    from app.web.rest import create_router

    path = tmp_path / "page.png"
    path.write_bytes(png(page([["24", "9"], ["71"]])))
    cli = subprocess.run(
        [sys.executable, "-m", "serving", "--page", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    line = json.loads(cli.stdout)
    assert cli.returncode == 0 and [n["number"] for n in line["numbers"]] == ["24", "9", "71"]
    expected = {k: v for k, v in line.items() if k != "file"}
    assert api_answer(reader, READ_PAGE, str(path)) == expected  # Gradio's /read_page
    (read_numbers,) = [t for t in tools(reader) if t.__name__ == "read_numbers"]  # the MCP tool
    assert json.loads(read_numbers(str(path))) == expected
    app = FastAPI()
    app.include_router(create_router(reader, 2**20, None))
    reply = TestClient(app).post("/api/read_page", files={"files": ("page.png", path.read_bytes())})
    assert reply.status_code == 200 and reply.json() == [{"file": "page.png", **expected}]


def test_a_file_that_is_no_image_gets_its_error(reader, tmp_path):
    bad = tmp_path / "x.png"
    bad.write_text("not an image")
    (answer,) = READ_PAGE.answers(reader, [str(bad)])
    assert answer["numbers"] is None and "not an image" in answer["error"]


def test_a_minus_sign_written_high_and_a_point_low_still_read(reader):
    """Signs where the sequence model is less sure of them (a bar high and well off the number, a
    dot low in a wide gap) read by their shape and place, at the model's own lower confidence; a
    bar after the number or a dot above the line is no sign."""
    image = page([["207", "35"], ["4", "18"]])
    pen = ImageDraw.Draw(image)
    pen.line((30, 113, 58, 111), fill=0, width=7)  # a minus before 207, high on its line
    number = draw_digits((150, 110), "35", 0, 255, 7, mode="L")
    image.paste(255, (410, 80, 700, 190))
    image.paste(number.crop((0, 0, 80, 110)), (420, 80))
    image.paste(number.crop((80, 0, 150, 110)), (530, 80))
    pen.ellipse((505, 160, 516, 171), fill=0)  # a point between 3 and 5, low
    pen.ellipse((230, 255, 240, 265), fill=0)  # a dot above the line of "4": no point
    read = reader.read_page(image)
    assert numbers_of(read) == ["-207", "3.5", "4", "18"]
    sign = read.numbers[0].characters[0]
    assert sign.char == "-" and 0 < sign.confidence < 1


def test_a_minus_sign_cut_by_a_line_or_short_and_thick_is_found():
    """leading_bar: a bar in two pieces (a grid line taken out across it) is one minus sign, its
    columns both pieces'; a short, thick bar is a stub (under BAR_ASPECT: the sequence model must
    give it BAR_SURE), a square no bar at all."""
    def before_a_one(bars: list[tuple[int, int, int, int]]):
        ink = np.zeros((60, 120), bool)
        ink[10:50, 70:76] = True  # a 1, 40 px tall
        for x0, y0, x1, y1 in bars:
            ink[y0:y1, x0:x1] = True
        return label_components(ink)

    columns, aspect = leading_bar(before_a_one([(30, 27, 36, 32), (40, 27, 56, 32)]))
    assert columns == (30, 56) and aspect >= BAR_ASPECT
    columns, aspect = leading_bar(before_a_one([(40, 26, 52, 34)]))
    assert columns == (40, 52) and BAR_STUB <= aspect < BAR_ASPECT
    assert leading_bar(before_a_one([(42, 25, 52, 35)])) is None


@pytest.mark.parametrize(("seed", "index"), [(11, 101), (12, 20)])
def test_minus_signs_a_grid_line_cut_or_written_short_are_read(reader, seed, index):
    """bench.pages, seed 11, page 101: two minus signs, each cut in two by a grid line, were lost
    ("-2.67288" read "2.67288"); seed 12, page 20: a short, thick one read as a 0 ("-455": "0455")."""
    data = load_mnist()
    made = bench_page(index, seed, {str(d): list(data.test_images[data.test_labels == d]) for d in range(10)})
    assert numbers_of(reader.read_page(made.jpeg)) == made.numbers


def test_a_stub_the_sequence_model_gives_no_chance_is_no_minus_sign(reader):
    """bench.pages, seed 11, page 152: a blot before "355", shaped as a stub, that the sequence
    model gives under BAR_SURE of a minus sign, is none."""
    data = load_mnist()
    made = bench_page(152, 11, {str(d): list(data.test_images[data.test_labels == d]) for d in range(10)})
    read = numbers_of(reader.read_page(made.jpeg))
    assert "355" in read and "-355" not in read


def test_faint_pencil_between_two_strips_of_desk(reader):
    """A photo where a strip of desk either side (narrower than the paper's light is measured
    over) is the darkest thing in it: the desk is cleared and the faint pencil read, not taken
    for a photo of paper without writing."""
    writing = page([["47", "305"], ["96"]]).point(lambda v: 255 - (255 - v) * 0.2)
    photo = Image.new("RGB", (1000, 1200), (30, 30, 30))
    photo.paste(writing.convert("RGB"), (50, 0))
    assert numbers_of(reader.read_page(png(paper_photo(photo, seed=2)))) == ["47", "305", "96"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_blank_paper_between_two_strips_of_desk_is_no_number(reader, seed):
    """With the desk cleared, what is left of its rim is not stretched into strokes."""
    photo = Image.new("RGB", (1140, 1200), (30, 30, 30))
    photo.paste(Image.new("RGB", (900, 1200), "white"), (120, 0))
    assert numbers_of(reader.read_page(png(paper_photo(photo, seed=seed)))) == []


def test_a_number_written_on_a_slope_is_read_level():
    """A number's own slope is measured on its characters and taken out before its signs are
    read, so that "low on the line" means low against the number's line."""
    crop = np.zeros((120, 320), np.float32)
    for k in range(5):
        x = 20 + 60 * k
        top = int(10 + 0.15 * x)
        crop[top : top + 40, x : x + 8] = 1.0  # five strokes a character tall, lower to the right
    slope = number_slope(label_components(ink_mask(crop)))
    assert abs(slope - 0.15) < 0.02
    flat, shift = levelled(crop, slope)
    tops = [int(np.flatnonzero(flat[:, 20 + 60 * k + 4])[0]) for k in range(5)]
    assert max(tops) - min(tops) <= 2 and flat.sum() == crop.sum()
    assert number_slope(label_components(ink_mask(crop[:, :140]))) == 0.0  # two characters: too few
    stacked = np.zeros((200, 40), np.float32)
    for k in range(3):
        stacked[10 + 60 * k : 50 + 60 * k, 15:25] = 1.0  # one column of pieces: no line to follow
    assert number_slope(label_components(ink_mask(stacked))) == 0.0
    thin = np.zeros((60, 200), np.float32)
    thin[50 - np.arange(200) // 4, np.arange(200)] = 1.0  # a 1-px stroke sloping up to the right
    pieces = label_components(ink_mask(thin))
    _, shift = levelled(thin, -0.25)
    moved = levelled_pieces(pieces, shift)  # labelled before the move: still one piece
    assert pieces.count == moved.count == 1 and moved.boxes[0, 3] - moved.boxes[0, 1] <= 2


def test_the_digit_and_sequence_models_read_a_number_together():
    """Faint pencil broken into specks misleads the digit model; the sequence model, reading the
    whole number, is asked too: the digit both make likeliest stands, and a digit either doubts
    keeps a low confidence."""
    box = (0, 0, 10, 10)

    def spread(surest: dict[int, float]) -> list[float]:
        rest = (1 - sum(surest.values())) / (10 - len(surest))
        return [surest.get(k, rest) for k in range(10)]

    digits = [NumberDigit(6, 0.49, box, spread({6: 0.49, 4: 0.41})),
              NumberDigit(6, 0.95, box, spread({6: 0.95})), NumberDigit(1, 0.97, box, spread({1: 0.97}))]
    inputs = np.random.default_rng(0).random((3, 28, 28)).astype(np.float32)
    number = NumberResult("661", digits, inputs, (10, 10))

    def line(first: float) -> list[SequenceDigit]:
        return [SequenceDigit(4, first, (0, 8), spread({4: first, 6: 0.9 - first})),
                SequenceDigit(6, 0.99, (8, 16), spread({6: 0.99})),
                SequenceDigit(7, 0.99, (16, 24), spread({7: 0.99}))]

    def read(characters) -> str:
        return "".join(c.char for c in characters)

    together = second_opinion(number, line(0.85))
    assert read(together) == "461"  # the unsure 6 is the 4 both make likeliest; the sure 1 stays ...
    assert together[1].confidence > 0.9 and together[2].confidence < 0.5  # ... doubted by the other
    assert read(second_opinion(number, line(0.3))) == "661"  # the sequence model unsure too
    alone = second_opinion(number, line(0.85)[:2])  # a different count: the digit model's alone
    assert read(alone) == "661" and [c.confidence for c in alone] == [0.49, 0.95, 0.97]
    for characters in (together, alone):  # each digit keeps the input the digit model saw
        assert all(np.array_equal(c.model_input, x) for c, x in zip(characters, inputs, strict=True))


def test_a_single_digit_read_in_parts_on_a_page_is_the_digit(reader):
    """A European 1 whose flag stands apart from its stem, alone on a small picture: the number
    reader reads "11", the single-digit path "1", surer than the parts together, and the ink is
    narrower than two digits: the page answers the one digit."""
    image = Image.new("L", (64, 64), 255)
    draw = ImageDraw.Draw(image)
    draw.line([(38, 16), (41, 54)], fill=40, width=6)  # the stem ...
    draw.line([(19.4, 36.6), (32, 24)], fill=40, width=6)  # ... and its flag, a pen's width apart
    assert reader.read_number(png(image)).number == "11"
    assert numbers_of(reader.read_page(png(image))) == ["1"]


def test_one_digit_is_likelier_only_when_narrow_and_surer_whole():
    def number(width: int, *confidences: float) -> NumberResult:
        step = width // len(confidences)
        digits = [NumberDigit(1, c, (k * step, 0, (k + 1) * step, 100), [])
                  for k, c in enumerate(confidences)]
        return NumberResult("1" * len(digits), digits, np.zeros((len(digits), 28, 28)), (200, 100))

    def whole(confidence: float) -> DigitResult:
        return DigitResult(1, confidence, [], np.zeros((28, 28)))

    assert one_digit_likelier(whole(0.9), number(60, 1.0, 1.0))
    assert not one_digit_likelier(whole(0.9), number(90, 1.0, 1.0))  # as wide as two digits
    assert not one_digit_likelier(whole(0.5), number(60, 0.99, 0.99))  # the parts read surer


@pytest.mark.parametrize("pen", [2, 4, 6])
def test_a_thin_one_at_the_end_of_a_number_is_read(reader, pen):
    """A number's crop is tight; a thin 1 at its end is no rule along a picture's edge."""
    image = page([["582", "74"]])
    ImageDraw.Draw(image).line((300, 95, 303, 170), fill=0, width=pen)
    assert numbers_of(reader.read_page(image)) == ["5821", "74"]


def test_a_small_mark_joins_the_narrowest_line_that_reaches_it():
    """A minus sign within reach of both its own line and a tall stray stroke's (a margin rule's
    remains) joins its own: the line whose band is narrowest, not whichever was found first."""
    boxes = np.array([[850, 0, 853, 100],  # a stray stroke, tall: its band is wide
                      [100, 80, 140, 160], [150, 80, 190, 160],  # two digits
                      [60, 115, 90, 122]], np.float64)  # a minus before them
    lines = group_lines(boxes, np.array([True, True, True, False]), 0.0)
    assert sorted(map(sorted, lines)) == [[0], [1, 2, 3]]


def test_a_digits_detached_top_stays_on_its_line():
    """A 5 whose bar stands apart, beside another 5: the bar, highest, starts a line, the first 5
    (overlapping it by less than 40% of its own height) another, and the second 5's body joins the
    first's; the two lines overlap by over 40% of the bar's height and are one. A shadow's edge
    several characters tall across the line stays a line of its own (to be left out)."""
    boxes = np.array([[164, 30, 220, 80],  # the second 5's bar
                      [30, 50, 121, 130],  # the first 5
                      [167, 55, 200, 130],  # the second 5's body
                      [260, 40, 280, 330]], np.float64)  # a shadow's edge, several characters tall
    lines = group_lines(boxes, np.ones(4, bool), 0.0)
    assert sorted(map(sorted, lines)) == [[0, 1, 2], [3]]


def test_a_light_digit_the_page_found_is_read_whole(reader):
    """A digit in light pencil, above the stroke level only here and there, that the page found as
    one piece (its faint ink joined to those specks) is read with the number, not dropped as specks."""
    ink = 1 - np.asarray(draw_digits((270, 110), "175", 0, 255, 5, mode="L"), np.float32) / 255
    five = ink[:, 180:].copy()
    ink[:, 180:] = 0.3 * five
    strokes = np.argwhere(five > 0.8)[::9]
    ink[:, 180:][tuple(strokes.T)] = 0.5
    picture = np.zeros((300, 500), np.float32)
    picture[100:210, 100:370] = ink
    pieces = hysteresis(picture, FAINT_INK, INK_LEVEL)
    number = read_group(reader.digits, reader.numbers, picture, pieces, np.arange(1, pieces.count + 1),
                        (500, 300), 80.0)
    assert number is not None and number.number == "175"


@pytest.mark.parametrize("digit, cut", [("5", 0.3), ("3", 0.5)])
@pytest.mark.parametrize("side, pen", [(32, 2), (200, 12)])
def test_a_digit_broken_across_reads_as_one_digit(reader, digit, cut, side, pen):
    """A 5 whose bar stands apart, a 3 broken at its waist: the parts lie one over the other,
    close together, and are one character, not two lines of writing."""
    a = np.asarray(draw_digits((side, side), digit, 0, 255, pen, mode="L")).copy()
    rows = np.flatnonzero((a < 128).any(axis=1))
    y = int(rows[0] + cut * (rows[-1] - rows[0]))
    a[y : y + max(1, side // 24)] = 255
    assert numbers_of(reader.read_page(Image.fromarray(a))) == [digit]


@pytest.mark.parametrize("top, bottom, gap, tilt", [("4712", "3509", 0.1, 0), ("4712", "3509", 0.05, 2),
                                                     ("47", "35", 0.3, 0)])
def test_numbers_on_close_lines_stay_apart(reader, top, bottom, gap, tilt):
    """Two lines close together (a tenth of a digit's height apart, or tilted so that the lines'
    boxes overlap) are two numbers: only pieces no wider than a character are stacked parts."""
    def inked(text: str) -> Image.Image:
        drawn = draw_digits((70 * len(text) + 40, 110), text, 0, 255, 7, mode="L")
        return drawn.crop(Image.eval(drawn, lambda v: 255 - v).getbbox())

    upper, lower = inked(top), inked(bottom)
    image = Image.new("L", (700, 500), 255)
    image.paste(upper, (120, 120))
    image.paste(lower, (120, 120 + upper.height + int(gap * upper.height)))
    image = image.rotate(tilt, Image.Resampling.BICUBIC, fillcolor=255) if tilt else image
    assert numbers_of(reader.read_page(image)) == [top, bottom]


def pieces(shape: tuple[int, int], boxes: list[tuple[int, int, int, int]], hollow: bool = False):
    """The components of filled rectangles (hollow: their outlines, 3 px thick) on a blank page."""
    mask = np.zeros(shape, bool)
    for x0, y0, x1, y1 in boxes:
        mask[y0:y1, x0:x1] = True
        if hollow:
            mask[y0 + 3 : y1 - 3, x0 + 3 : x1 - 3] = False
    return label_components(mask)


def test_writing_by_the_photos_edge_is_not_taken_for_its_rim():
    """In the band along a side, a piece thin along that side is the page's rim, and one that
    fills its box the desk or a hole, unless it lies across the side or has writing beside it: a
    minus sign written there, thin or thick, or a thick 1 of a number is writing. Along the top,
    the same turned: a 1 is writing."""
    boxes = {(10, 300, 14, 420): True,  # the rim by the left side: a thin upright
             (14, 500, 44, 504): False,  # a thin minus sign by the left side
             (14, 560, 44, 572): False,  # a thick minus sign by the left side, filled
             (25, 600, 36, 643): True,  # the desk by the left side, filled and upright, alone
             (25, 700, 36, 743): False,  # a thick 1 by the left side, as filled, its number beside it
             (50, 702, 75, 745): False,  # ... the next digit
             (15, 800, 40, 825): True,  # a filled blob: a hole, the desk
             (300, 10, 420, 14): True,  # the rim along the top: thin and level
             (500, 8, 505, 50): False}  # a thin 1 by the top
    components = pieces((1000, 800), list(boxes))
    marks = page_marks(components, np.ones((1000, 800), np.float32))
    marked = {tuple(map(int, box)): bool(mark) for box, mark in zip(components.boxes, marks, strict=True)}
    assert marked == boxes


def test_a_long_minus_sign_joins_its_numbers_line(reader):
    """A minus sign drawn long and thick before a number written bigger than the rest of the page,
    as tall as the page's shortest characters but a fraction of its own number's height, is a bar:
    it joins the line it stands in (and the number), never makes a line of its own."""
    image = page([["18", "27"], ["36"]])
    big = draw_digits((3 * 140 + 40, 220), "452", 0, 255, 12, mode="L")
    image.paste(big, (150, 450))
    ImageDraw.Draw(image).rectangle((60, 535, 140, 569), fill=0)
    assert numbers_of(reader.read_page(image)) == ["18", "27", "36", "-452"]


def test_a_stroke_several_characters_tall_is_no_part_of_a_number(reader):
    """The page's edge or a margin rule left in the ink, running past a line's end, is left out of
    the number it touches the line of."""
    image = page([["452"], ["18"]])
    ImageDraw.Draw(image).line((300, 20, 330, 560), fill=0, width=2)
    assert numbers_of(reader.read_page(image)) == ["452", "18"]


def test_a_shadow_holding_most_of_the_ink_is_no_character():
    """A piece holding most of the page's ink and many times as tall as the rest's characters (a
    shadow, the desk's corner), apart from them, neither sets the page's character size nor joins a
    line; a big digit beside specks (too small to be characters), its own broken-off parts, or
    slivers of the rim unlike in height, still sets it."""
    mask = np.zeros((1000, 800), bool)
    for k in range(6):  # a number's digits, 35 px tall: outlines 3 px thick
        mask[300:335, 200 + 40 * k : 225 + 40 * k] = True
        mask[303:332, 203 + 40 * k : 222 + 40 * k] = False
    mask[100:500, 432:532] = True  # the shadow, across the number's line just after it
    numbers, sizes = find_numbers(label_components(mask))
    components = label_components(mask)
    assert sizes.height == 35
    lefts = [sorted(components.boxes[i, 0] for i in number) for number in numbers]
    assert lefts == [[200, 240, 280, 320, 360, 400]]
    # ... also where its box takes in a character it passes (bench.pages, seed 0, page 264: a
    # page's shaded corner, its top edge reaching over the first digit, set the size: read "12").
    mask[100:500, 432:532] = False
    mask[40:190, 20:100] = mask[40:44, 20:160] = True
    mask[140:185, 110:130] = True  # a "1" under the corner's top edge
    numbers, sizes = find_numbers(label_components(mask))
    assert sizes.height == 35 and len(numbers) == 2

    mask[:] = False
    mask[300:500, 200:240] = mask[460:500, 200:330] = True  # one big thick digit ...
    for k in range(4):  # ... and specks of grain
        mask[600:608, 100 + 50 * k : 108 + 50 * k] = True
    assert find_numbers(label_components(mask))[1].height == 200
    for k in range(3):  # ... or beside parts broken off it, within its reach (faint pencil)
        mask[300 + 50 * k : 340 + 50 * k, 260:275] = True
    assert find_numbers(label_components(mask))[1].height == 200
    mask[300:, 250:] = False
    for k, tall in enumerate((14, 20, 28, 40, 56, 80)):  # ... or beside slivers of the rim, unlike
        mask[100 : 100 + tall, 500 + 40 * k : 510 + 40 * k] = True
    assert find_numbers(label_components(mask))[1].height == 200


def test_a_line_written_smaller_splits_and_reads_by_its_own_size(reader):
    """A line written at under half the page's character size (a heading, a line squeezed to fit):
    its numbers split at gaps wide for its own characters, not the page's, and each is read."""
    image = page([["18", "27"], ["36"]])
    x = 60
    for text in ("45", "90", "12"):
        small = draw_digits((32 * len(text) + 18, 50), text, 0, 255, 3, mode="L")
        image.paste(small, (x, 450))
        x += small.width + 60  # the gap between the numbers: about twice their height
    assert numbers_of(reader.read_page(image)) == ["18", "27", "36", "45", "90", "12"]


def test_a_decimal_point_in_a_tight_gap_is_read(reader):
    """A point written close between two digits (bench.pages, seed 11, page 37: "612.3"), whose
    columns the sequence model gives only a few percent, is read by its shape; the other numbers
    on the page as they are."""
    data = load_mnist()
    digits = {str(d): list(data.test_images[data.test_labels == d]) for d in range(10)}
    made = bench_page(37, 11, digits)
    assert numbers_of(reader.read_page(made.jpeg)) == made.numbers == ["555673", "612.3", "-4.9813", "80"]


def test_a_short_minus_sign_joins_the_line_of_the_taller_digit_after_it():
    """A short, thick minus sign (under twice as wide as tall, as tall as the page's smaller
    characters) a little above a tall 1's middle, overlapping under 40% of the 1, is a bar: it
    joins the 1's line and its number, never makes a line of its own."""
    boxes = [(558, 95, 578, 107), (593, 86, 614, 121)]  # "-1" ...
    boxes += [(100 + 40 * k, 300, 125 + 40 * k, 328) for k in range(4)]  # ... and a number below
    components = pieces((1024, 768), boxes)
    numbers, _ = find_numbers(components)
    assert sorted(sorted(components.boxes[number, 0].tolist()) for number in numbers) == [
        [100, 140, 180, 220], [558, 593]]


def test_a_minus_sign_by_the_top_of_the_photo_is_writing():
    """In the band along the photo's top, a filled bar is the desk unless it is shaped and placed as
    a minus sign before a digit (the page's first number written high)."""
    boxes = {(81, 48, 92, 51): False,  # a minus sign ...
             (105, 37, 120, 63): False,  # ... before its digit
             (300, 40, 311, 43): True}  # the same bar alone: the desk
    components = pieces((1024, 768), list(boxes))
    marks = page_marks(components, np.ones((1024, 768), np.float32))
    marked = {tuple(map(int, box)): bool(mark) for box, mark in zip(components.boxes, marks, strict=True)}
    assert marked == boxes


def test_writing_among_many_remains_of_lines_is_stretched_to_full_ink():
    """Where a shadow's or the lines' remains outnumber the writing's pixels (and set what passes
    for full ink), the writing far above them is the full ink, and the remains stay below ink."""
    rng = np.random.default_rng(0)
    d = np.float32(0.01) + rng.normal(0, 0.003, (400, 300)).astype(np.float32)
    d[280:, :] += 0.06  # remains over the lowest 30%
    d[50:90, 100:104] = d[50:54, 100:130] = 0.75  # the writing: a few strokes
    ink = stretched(d)
    assert ink[50:90, 100:104].min() > 0.9 and (ink[280:, :] >= INK_LEVEL).mean() < 0.001


@pytest.mark.parametrize(("index", "number"), [(250, "28"), (315, "1471"), (787, "91")])
def test_one_number_on_a_page_reads_as_the_page_finds_it(reader, index, number):
    """One number on a photographed page (bench.pages, seed 0): where reading the whole picture as
    one number takes in ink the page left out (the rim: "28" read "1"), finds none ("1471"), or the
    lines' remains outnumber the writing ("91": "no clear writing"), the page's own reading stands."""
    data = load_mnist()
    digits = {str(d): list(data.test_images[data.test_labels == d]) for d in range(10)}
    made = bench_page(index, 0, digits)
    assert made.numbers == [number] and numbers_of(reader.read_page(made.jpeg)) == [number]


def test_small_writing_is_read_again_closer_where_the_picture_has_the_pixels():
    """Characters under SMALL_WRITING pixels tall at PAGE_SIDE are read again at the size that makes
    them that tall, as far as the picture (as decoded) reaches; never where they are tall enough or
    the picture has no more pixels."""
    assert closer_side(30, (1024, 768), (1500, 2000)) == round(1024 * SMALL_WRITING / 30)
    assert closer_side(25, (1024, 768), (900, 1200)) == 1200  # as far as the picture reaches
    assert closer_side(SMALL_WRITING, (1024, 768), (1500, 2000)) is None
    assert closer_side(25, (1024, 768), (768, 1024)) is None


def test_a_whole_sheet_written_small_is_read(reader):
    """A sheet photographed whole, its digits 2–3% of its height (bench.pages' small pages, seed 0,
    page 13): at PAGE_SIDE a 4 of "454754" lost its stroke's join and read "9"; read closer, every
    number reads, each box in the photo's own pixels."""
    data = load_mnist()
    digits = {str(d): list(data.test_images[data.test_labels == d]) for d in range(10)}
    made = bench_page(13, 0, digits, small=True)
    result = reader.read_page(made.jpeg)
    assert numbers_of(result) == made.numbers == ["454754", "45.8", "44584", "59", "1", "6886.7"]
    assert all(0 <= n.box[0] < n.box[2] <= 1800 and 0 <= n.box[1] < n.box[3] <= 2400 for n in result.numbers)
