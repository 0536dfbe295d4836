"""Photos of paper: light divided out, printed lines and page marks taken away, writing kept."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

import serving.paper
import serving.photo
from bench.paper import make_photo
from serving.components import label_components
from serving.decode import NoDigitError
from serving.field import even_stroke
from serving.paper import (
    closing,
    darkness,
    fill_from_neighbours,
    hysteresis,
    lattice_dots,
    line_mask,
    line_slope,
    nearest_points,
    page_marks,
    paper_ink,
    paper_light,
    punched_holes,
    remove_lines,
    stretch_ink,
)
from serving.photo import photo_ink
from serving.pieces import digit_components
from serving.preprocess import to_mnist
from serving.stats import sliding
from training.data import load_mnist


def test_sliding_max_and_min_match_a_plain_window():
    rng = np.random.default_rng(0)
    a = rng.random((37, 23)).astype(np.float32)
    for size in (1, 2, 3, 8, 15):
        expected = np.stack([a[max(0, i - size // 2) : i - size // 2 + size].max(axis=0)
                             if i - size // 2 >= 0 else
                             np.maximum(a[0], a[: i - size // 2 + size].max(axis=0))
                             for i in range(37)])
        assert np.allclose(sliding(a, size, 0), expected)
        assert np.allclose(sliding(a, size, 0, np.minimum), -sliding(-a, size, 0))
        across = sliding(a, size, 1)
        assert np.array_equal(across, sliding(a.T, size, 0).T)
        # Laid out as its input: a page's maps go through dozens of passes after a dilation.
        assert across.flags.c_contiguous


def test_line_removal_keeps_the_page_laid_out_in_rows():
    d = np.random.default_rng(0).random((240, 320)).astype(np.float32) * 0.02  # the paper's grain
    d[20::40], d[:, 20::40] = 0.3, 0.3  # squared paper
    out = remove_lines(d)
    assert out.max() < 0.05  # both ways gone
    assert out.flags.c_contiguous


def page(h: int = 240, w: int = 320) -> np.ndarray:
    return np.full((h, w), 220, np.uint8)


def test_a_shadow_edge_divides_out_and_a_stroke_stays():
    grey = page()
    grey[:, 160:] = 110  # a hard shadow over the right half
    grey[60:180, 100:104] = 40  # a stroke in the light
    grey[60:180, 220:224] = 20  # and one in the shade
    d = darkness(grey / 255, paper_light(grey))
    assert d[:, 150:170].max() < 0.05  # the shadow's edge is no ink
    assert d[100, 101] > 0.7 and d[100, 221] > 0.7


def test_closing_fills_narrow_dark_details_only():
    a = page().astype(np.float32)
    a[100:103, :] = 0  # thin
    a[:, :80] = 0  # wide
    closed = closing(a, 15)
    assert (closed[100:103, 100:] == 220).all() and (closed[:, :70] == 0).all()


def ruled_page(stroke_width: int = 3) -> np.ndarray:
    """Light ruled lines every 20 rows, a dark vertical stroke and a short bar across them."""
    grey = page()
    for y in range(10, 240, 20):
        grey[y : y + 2] = 180
    grey[40:200, 150 : 150 + stroke_width] = 40  # crosses eight lines
    grey[89:92, 60:120] = 40  # a digit's bar lying on line 90, a quarter of the width
    return grey


def test_ruled_lines_go_and_the_writing_across_them_stays():
    grey = ruled_page()
    d, _ = paper_ink(grey)
    line_rows = [y for y in range(10, 240, 20)]
    away = np.ones(d.shape[1], bool)
    away[140:165] = away[55:125] = False
    assert max(d[y : y + 2][:, away].max() for y in line_rows) < 0.1
    assert d[42:198, 151].min() > 0.6  # unbroken where it crosses the lines
    assert d[90, 70:110].min() > 0.5  # a bar darker than the line is writing, not line


def test_a_bar_as_faint_as_the_line_is_restored_from_above_and_below():
    d = np.zeros((9, 5), np.float32)
    d[:, 2] = 1.0  # a vertical stroke
    mask = np.zeros_like(d, bool)
    mask[3:6] = True
    filled = fill_from_neighbours(d, mask)
    assert (filled[:, 2] == 1).all() and (filled[:, [0, 1, 3, 4]] == 0).all()
    # ... and a stroke across a column's mask from either side, with the map as it is laid out.
    across = fill_from_neighbours(np.ascontiguousarray(d.T), np.ascontiguousarray(mask.T), axis=1)
    assert np.array_equal(across, filled.T) and across.flags.c_contiguous


def test_grid_lines_go_both_ways():
    grey = page()
    grey[::16] = 170
    grey[:, ::16] = 170
    grey[60:180, 100:104] = 30
    d = remove_lines(darkness(grey / 255, paper_light(grey)))
    outside = np.ones(d.shape, bool)
    outside[50:190, 90:115] = False
    assert d[outside].max() < 0.15 and d[70:170, 101].min() > 0.5


def test_page_marks_are_holes_dots_and_what_touches_the_edge():
    light = np.ones((200, 300), np.float32)
    mask = np.zeros((200, 300), bool)
    yy, xx = np.mgrid[0:200, 0:300]
    mask[(yy - 100) ** 2 + (xx - 20) ** 2 <= 64] = True  # a punched hole
    mask[::20, 150::20] = True  # a dot lattice
    mask[0:30, 290:300] = True  # something running into the edge
    mask[60:140, 100:104] = True  # a stroke
    mask[60:64, 100:130] = True
    components = label_components(mask)
    marks = page_marks(components, light)
    stroke = components.labels[100, 101] - 1
    assert not marks[stroke] and marks.sum() == components.count - 1


def test_lattice_dots_are_dotted_papers_not_a_point_or_a_strokes_grains():
    """A page's dotted paper, with a gap where writing hides its dots: every printed dot is the
    paper's; a decimal point among them, and a faint stroke's grains in one row, are not."""
    mask = np.zeros((400, 400), bool)
    for y in range(30, 380, 24):
        for x in range(30, 380, 24):
            if not (150 <= x <= 250 and 150 <= y <= 250):
                mask[y : y + 3, x : x + 3] = True
    mask[200:204, 191:195] = True  # a decimal point, in the gap
    for x in range(160, 250, 12):  # a pencil stroke broken into evenly spaced grains
        mask[175:178, x : x + 3] = True
    components = label_components(mask)
    dots = lattice_dots(components, 400)
    point = components.labels[201, 192] - 1
    grains = np.unique(components.labels[176, 160:250])[1:] - 1
    assert dots.sum() == components.count - 1 - len(grains)
    assert not dots[point] and not dots[grains].any()


def test_nearest_points_block_by_block_are_the_nearest(monkeypatch):
    monkeypatch.setattr(serving.paper, "NEAREST_BLOCK", 3)  # several blocks, the last one short
    points = np.random.default_rng(4).uniform(0, 100, (11, 2))
    distance = np.hypot(*(points[None] - points[:, None]).transpose(2, 0, 1))
    np.fill_diagonal(distance, np.inf)
    assert (nearest_points(points, 4) == np.argsort(distance, axis=1)[:, :4]).all()


def test_a_pages_punched_holes_are_the_papers_not_a_numbers_blotted_digits():
    """Three holes down the left edge of a page go; a number's thick, blotted digits in a row near
    its top (as filled as holes, as far apart as the number's ends) and a fat decimal point stay."""
    yy, xx = np.mgrid[0:1000, 0:750]
    mask = np.zeros((1000, 750), bool)
    for cy in (200, 500, 800):
        mask[(yy - cy) ** 2 + (xx - 35) ** 2 <= 15**2] = True
    for cx in (300, 330, 360, 390, 420, 600):  # blotted digits, two numbers on the top line
        mask[(yy - 100) ** 2 / 20**2 + (xx - cx) ** 2 / 12**2 <= 1] = True
    mask[(yy - 118) ** 2 + (xx - 615) ** 2 <= 4**2] = True  # a decimal point after the second
    components = label_components(mask)
    holes = punched_holes(components, mask.shape)
    assert [components.labels[y, 35] - 1 for y in (200, 500, 800)] == list(np.flatnonzero(holes))


def test_a_marker_s_thick_0_is_not_a_punched_hole():
    """As round and as filled as a hole, but a digit's size: a tenth of the photo's height or more."""
    light = np.ones((640, 480), np.float32)
    yy, xx = np.mgrid[0:640, 0:480]
    ring = (yy - 320) ** 2 / 40**2 + (xx - 240) ** 2 / 30**2
    mask = (ring <= 1) & (ring >= 0.15)  # a thick 0 with a small hole, 80 px tall
    mask |= (yy - 320) ** 2 + (xx - 25) ** 2 <= 12**2  # a punched hole beside it
    components = label_components(mask)
    marks = page_marks(components, light)
    assert not marks[components.labels[320, 240 + 25] - 1] and marks[components.labels[320, 25] - 1]


def photo_jpeg(grey: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(grey).convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


@pytest.fixture(scope="module")
def digits():
    data = load_mnist()
    return data.test_images[:40], data.test_labels[:40]


@pytest.mark.parametrize("paper", ["ruled", "squared", "dotted"])
def test_a_notebook_photo_gives_the_plain_paper_input(digits, paper):
    """The same digit photographed the same way on printed and on plain paper: what the model sees
    is much the same (without the photo path it shows the lines)."""
    images, labels = digits
    for i in (3, 7, 11):
        seed = np.random.default_rng(i).integers(1 << 30)
        printed = make_photo(images[i], int(labels[i]), paper, "blue", np.random.default_rng(seed))
        plain = make_photo(images[i], int(labels[i]), "plain", "blue", np.random.default_rng(seed))
        similarity = correlation(to_mnist(printed.jpeg), to_mnist(plain.jpeg))
        assert similarity > 0.75, (paper, i, similarity)


def test_a_small_digit_in_a_corner_of_a_big_photo_is_found(digits):
    images, _ = digits
    grey = np.full((1200, 900), 215, np.uint8)
    big = Image.fromarray(255 - images[0]).resize((120, 120), Image.Resampling.BICUBIC)  # a tenth
    grey[950:1070, 700:820] = np.minimum(grey[950:1070, 700:820], np.asarray(big))
    seen = to_mnist(photo_jpeg(grey))
    assert correlation(seen, to_mnist(255 - images[0])) > 0.5
    assert correlation(seen, to_mnist(255 - images[1])) < 0.2  # another digit


def test_thin_pen_strokes_come_out_near_mnist_width():
    grey = Image.new("L", (900, 1200), 225)
    ImageDraw.Draw(grey).line([(450, 300), (450, 900)], fill=30, width=3)  # a 1, 600 px, 3 px pen
    ImageDraw.Draw(grey).line([(450, 300), (400, 360)], fill=30, width=3)
    seen = to_mnist(photo_jpeg(np.asarray(grey)))
    columns = (seen > 0.5).sum(axis=1)
    assert np.median(columns[columns > 0]) >= 2  # without thickening: a faint trace under 1 px


def test_a_drawing_stays_on_the_fast_path(monkeypatch):
    monkeypatch.setattr(serving.photo, "paper_ink", lambda grey: pytest.fail("photo path taken"))
    image = Image.new("RGB", (280, 280), "white")
    ImageDraw.Draw(image).line([(140, 40), (140, 240)], fill="black", width=18)
    to_mnist(image)
    big_scan = Image.new("RGB", (1000, 1000), "white")
    ImageDraw.Draw(big_scan).line([(500, 150), (500, 850)], fill="black", width=40)
    to_mnist(big_scan)


def test_a_blank_photo_of_paper_has_no_digit():
    rng = np.random.default_rng(0)
    grey = np.clip(215 + rng.normal(0, 3, (800, 600)), 0, 255).astype(np.uint8)
    grey[::30] = 180  # ruled, but nothing written
    with pytest.raises(NoDigitError):
        to_mnist(photo_jpeg(grey))


def test_darkness_does_not_wrap_round_the_border():
    grey = page()
    grey[0, :] = 20  # ink along the top row only
    d = darkness(grey / 255, paper_light(grey))
    assert d[0].min() > 0.1 and d[-1].max() < 0.01  # np.roll would carry it to the bottom row


def test_darkness_is_the_mean_of_each_3x3_neighbourhood_border_repeated():
    rng = np.random.default_rng(3)
    for shape in ((40, 30), (2, 30), (1, 30), (30, 1)):
        grey = rng.integers(0, 256, shape).astype(np.float32) / 255
        light = np.full(shape, 0.9, np.float32)
        padded = np.pad(np.clip(1 - grey / light, 0, 1), 1, mode="edge")
        expected = sum(padded[i : i + shape[0], j : j + shape[1]] for i in range(3) for j in range(3)) / 9
        assert np.allclose(darkness(grey, light), expected, atol=1e-6)


@pytest.mark.parametrize("shape", [(1, 4000), (2, 4000), (3, 4000), (4000, 1)])
def test_a_photo_one_or_two_pixels_thin_has_no_digit_and_does_not_fail(shape):
    strip = np.full(shape, 230, np.uint8)
    strip[..., ::7] = 20
    with pytest.raises(NoDigitError):
        to_mnist(strip)


def test_a_tiny_digit_is_stretched_against_the_paper_grain_not_split_in_it():
    """A thin digit a fraction of a percent of the photo: the split of the histogram falls in the
    paper's noise, but the ink still comes out as full ink and the paper as none."""
    rng = np.random.default_rng(1)
    d = np.abs(rng.normal(0.01, 0.004, (480, 640))).astype(np.float32)
    d[200:240, 300:302] = 0.45  # 80 pixels of a pen stroke, 0.03% of the photo
    ink = stretch_ink(d)
    assert ink[210:230, 300:302].min() > 0.9 and (ink > 0.35).sum() == 80


def test_stretch_ink_finds_nothing_on_bare_grainy_paper():
    rng = np.random.default_rng(2)
    d = np.abs(rng.normal(0.01, 0.004, (480, 640))).astype(np.float32)
    with pytest.raises(NoDigitError):
        stretch_ink(d)


def test_hysteresis_keeps_faint_links_and_drops_faint_specks():
    ink = np.zeros((20, 40), np.float32)
    ink[10, 2:30] = 0.2  # a faint stroke ...
    ink[10, 2:6] = 0.9  # ... joined to a strong piece
    ink[3, 35:38] = 0.2  # a faint speck on its own
    mask = hysteresis(ink, 0.12, 0.35).labels > 0
    assert mask[10, 2:30].all() and not mask[3].any() and mask.sum() == 28


def test_a_one_pixel_crop_does_not_fail():
    assert even_stroke(np.ones((1, 30), np.float32)).shape == (1, 30)


def turned_ruled_page(degrees: float, blur: float = 0.0) -> np.ndarray:
    """A ruled page turned by `degrees`, lines 3 px wide every 24 px, a 1 written across them."""
    image = Image.new("L", (900, 700), 225)
    draw = ImageDraw.Draw(image)
    for y in range(-200, 900, 24):
        draw.line([(-100, y), (1000, y)], fill=150, width=3)
    image = image.rotate(degrees, Image.Resampling.BILINEAR, fillcolor=225)
    ImageDraw.Draw(image).line([(450, 200), (440, 500)], fill=30, width=6)
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    return np.asarray(image)[50:-50, 50:-50]


def test_the_rules_of_a_turned_page_are_found_along_their_slope():
    grey = turned_ruled_page(6)  # 3.4 rows per 32-column strip: more than a line may stray
    peaks = np.zeros((10, 200), bool)
    for s in range(10):
        peaks[s, 20 + 3 * s :: 40] = True
    assert line_slope(peaks) == 3.0
    d = remove_lines(darkness(grey / 255, paper_light(grey)))
    away = np.ones(d.shape, bool)
    away[130:470, 370:420] = False
    away[:40] = away[-40:] = False  # where a line runs out of the photo (the page's marks' job)
    assert d[away].max() < 0.15 and d[200:400, 395].max() > 0.6


def test_a_blurred_line_goes_to_its_edges():
    grey = turned_ruled_page(1, blur=1.5)
    d = remove_lines(darkness(grey / 255, paper_light(grey)))
    away = np.ones(d.shape, bool)
    away[130:470, 370:420] = False
    away[:40] = away[-40:] = False
    assert np.percentile(d[away], 99.9) < 0.06  # no faint double line left where one was


def test_in_a_photo_the_digit_wins_over_a_line_s_remains_a_rim_and_a_patch_of_shadow():
    ink = np.zeros((400, 400), np.float32)
    ink[20:380, 30:34] = 1.0  # what is left of a margin line: more ink than the digit
    ink[300:380, 300:380] = 1.0  # a square patch of shadow
    ink[5:8, 60:396] = ink[5:290, 393:396] = 1.0  # the page's rim along two sides, its box all
    yy, xx = np.mgrid[0:400, 0:400]
    ring = np.abs(np.hypot(yy - 150, xx - 200) - 40) < 2  # a 0
    ink[ring] = 1.0
    assert ink[:, 30:34].sum() > ink[ring].sum() and ink[:8].sum() + ink[8:, 393:].sum() > ink[ring].sum()
    components = label_components(ink > 0.35)
    zero = components.labels[tuple(np.argwhere(ring)[0])]
    assert list(digit_components(components, ink.shape, ink)) == [zero]
    assert list(digit_components(components, ink.shape)) != [zero]  # the sketch path: the largest
    alone = np.zeros_like(ink)
    alone[100:300, 200:203] = 1.0  # a lone 1 is straight too, and still the digit
    assert len(digit_components(label_components(alone > 0.35), ink.shape, alone)) == 1


def test_writing_stays_when_a_faint_line_joins_it_once_the_holes_are_cleared():
    """Punched holes outshine the writing at first; cleared, the contrast is measured again and a
    faint stub of a line running from the digit to the photo's edge becomes ink too, joined to
    the digit. Clearing what touches the edge must then take the stub, not the digit."""
    page = Image.new("L", (640, 480), 225)
    draw = ImageDraw.Draw(page)
    for y in (80, 240, 400):
        draw.ellipse((40, y - 18, 76, y + 18), fill=20)  # punched holes, darker than the writing
    draw.line([(300, 150), (400, 150), (340, 330)], fill=120, width=6)  # a 7
    draw.line([(400, 150), (640, 150)], fill=180, width=3)  # a faint stub out to the edge
    mask = photo_ink(page.convert("RGB"))[1].labels > 0  # where the ink is
    assert mask[150, 330] and mask[240, 370]  # the 7's bar and its stroke
    assert not mask[150, 600] and not mask[240, 60]


def test_lines_are_found_where_part_of_the_page_lies_darker():
    """A page whose lower half comes out darker than its upper half (what a shadow or a dim corner
    leaves once the light is divided out): the lines are judged against the paper around them,
    in both halves."""
    rng = np.random.default_rng(4)
    d = np.abs(rng.normal(0, 0.004, (480, 640))).astype(np.float32) + 0.01
    d[240:] += 0.04
    lines = np.zeros(d.shape, bool)
    for y in range(8, 480, 16):
        lines[y : y + 3] = True
    d[lines] += 0.06
    mask = line_mask(d)
    assert mask[lines].mean() > 0.95
    assert mask[:240][lines[:240]].mean() > 0.95 and mask[240:][lines[240:]].mean() > 0.95
    assert mask[~sliding(lines, 9, 0)].mean() < 0.01  # clear of the lines' edges: paper stays


def test_a_fine_grid_is_taken_out_too():
    """Lines 3 px wide every 10 px darken a third of the rows and more once blurred: the paper's
    level is read from the lighter rows, or no row stands out from it."""
    image = Image.new("L", (640, 480), 225)
    draw = ImageDraw.Draw(image)
    for x in range(3, 640, 10):
        draw.line([(x, 0), (x, 480)], fill=165, width=3)
    for y in range(3, 480, 10):
        draw.line([(0, y), (640, y)], fill=165, width=3)
    draw.line([(318, 100), (318, 380)], fill=40, width=7)  # a 1
    grey = np.asarray(image.filter(ImageFilter.GaussianBlur(1)))
    d = remove_lines(darkness(grey / 255, paper_light(grey)))
    away = np.ones(d.shape, bool)
    away[80:400, 280:350] = False
    assert np.percentile(d[away], 99) < 0.1 and d[150:350, 318].min() > 0.5


def test_a_faint_tail_joined_to_the_writing_is_cleared_where_it_runs_off_the_photo():
    """Hysteresis joins faint ink to the strokes it touches; what it joins that runs into the
    photo's edge (a shadow's or the rim's faint line) is the page's, and goes; the stroke stays."""
    page = Image.new("L", (640, 480), 225)
    draw = ImageDraw.Draw(page)
    draw.line([(300, 150), (300, 330)], fill=40, width=6)  # a 1
    draw.line([(300, 330), (300, 480)], fill=192, width=3)  # a faint tail down to the edge
    mask = photo_ink(page.convert("RGB"))[1].labels > 0  # where the ink is
    assert mask[160:320, 300].all()
    assert not mask[350:, 300].any()


def test_the_photo_bench_runs_and_draws_the_readme_picture(tmp_path, capsys):
    from bench import paper as bench_paper

    out = tmp_path / "figure.png"
    status = bench_paper.main(["--count", "12", "--figure", str(out)])
    printed = capsys.readouterr().out
    assert status == 0 and "overall: " in printed and "PASS" in printed  # these 12 photos are read
    assert "| pencil |" in printed and "| squared |" in printed and '"not sure" note' in printed
    with Image.open(out) as figure:
        assert figure.size == (10 + 190 * 4, 30 + 190 * 3)  # four panels for each of three photos
