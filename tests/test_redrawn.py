"""bench.redrawn: the re-drawing variants put the digit's ink where they say, and the bench runs."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from bench import redrawn
from bench.redrawn import VARIANTS, Outcome, Redrawn, redraw
from serving.paths import DEFAULT_MODEL
from training.data import DataError, load_mnist

SOLID = 0.995  # ink coverage counted as the stroke's core, where its colour must be exact


def drawn_seven() -> np.ndarray:
    """A 28×28 MNIST-like "7": drawn 4× larger, then area-averaged so its edges are anti-aliased."""
    big = Image.new("L", (112, 112), 0)
    pen = ImageDraw.Draw(big)
    pen.line([(28, 24), (84, 24)], fill=255, width=10)
    pen.line([(84, 24), (44, 92)], fill=255, width=10)
    return np.asarray(big.resize((28, 28), Image.Resampling.BOX))


DIGIT = drawn_seven()


def visible(drawn: Redrawn) -> np.ndarray:
    """The picture as the user sees it, (H, W, 3) float: a sketch's strokes over its pad."""
    source = drawn.source
    if isinstance(source, Image.Image) and source.mode == "RGBA":
        return np.asarray(Image.alpha_composite(Image.new("RGBA", source.size, drawn.paper), source)
                          .convert("RGB"), np.float32)
    if isinstance(source, bytes):
        image = Image.open(io.BytesIO(source))
    elif isinstance(source, Image.Image):
        image = source
    else:
        image = Image.fromarray(np.asarray(source))
    return np.asarray(image.convert("RGB"), np.float32)


def luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.299, 0.587, 0.114], np.float32)


def ink_box(ink: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.flatnonzero(ink.max(axis=1) > 0.5), np.flatnonzero(ink.max(axis=0) > 0.5)
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def shape_match(ink: np.ndarray, digit: np.ndarray) -> float:
    """Correlation between the drawn ink, brought back to the digit's box, and the digit itself."""
    top, bottom, left, right = ink_box(ink)
    box = redrawn.digit_box(digit)
    back = Image.fromarray(ink[top:bottom, left:right], "F").resize(box.shape[::-1], Image.Resampling.BOX)
    return float(np.corrcoef(np.asarray(back).ravel(), box.ravel())[0, 1])


@pytest.fixture(scope="module", params=list(VARIANTS))
def variant(request: pytest.FixtureRequest) -> tuple[str, Redrawn]:
    return request.param, redraw(DIGIT, request.param, seed=3, index=17)


def test_same_seed_and_index_give_the_same_picture(variant: tuple[str, Redrawn]) -> None:
    name, first = variant
    again = redraw(DIGIT, name, seed=3, index=17)
    assert np.array_equal(visible(first), visible(again))
    other = redraw(DIGIT, name, seed=3, index=18)
    assert not np.array_equal(first.ink, other.ink) or first.ink.shape != other.ink.shape


def test_canvas_is_user_sized_and_matches_the_ink_map(variant: tuple[str, Redrawn]) -> None:
    _, drawn = variant
    picture = visible(drawn)
    assert picture.shape[:2] == drawn.ink.shape
    assert all(280 <= side <= 800 for side in picture.shape[:2])
    assert drawn.ink.dtype == np.float32 and 0 <= drawn.ink.min() and drawn.ink.max() <= 1


def test_the_ink_keeps_the_digits_shape(variant: tuple[str, Redrawn]) -> None:
    name, drawn = variant
    # Thick strokes fill part of the gaps, so they match the thin original less closely.
    assert shape_match(drawn.ink, DIGIT) > (0.6 if name == "thick-strokes" else 0.8)


def test_stroke_and_paper_have_the_stated_colours(variant: tuple[str, Redrawn]) -> None:
    name, drawn = variant
    picture = visible(drawn)
    stroke, paper = drawn.ink >= SOLID, drawn.ink == 0
    if name == "photo-jpeg":
        # Lighting, blur and JPEG change both colours; the pen must still be much darker.
        assert np.median(luminance(picture[stroke])) < 0.6 * np.median(luminance(picture[paper]))
        return
    assert stroke.sum() > 500 and paper.mean() > 0.5
    assert np.abs(picture[stroke] - drawn.colour).max() <= 2  # 2: rounding of the blend
    assert (picture[paper] == drawn.paper).all()


@pytest.mark.parametrize("name, paper_is_darker", [("big-canvas", True), ("off-centre", True),
                                                     ("black-on-white", False), ("coloured-ink", False),
                                                     ("sketch-light", False), ("sketch-dark", True)])
def test_polarity(name: str, paper_is_darker: bool) -> None:
    for index in range(3):
        drawn = redraw(DIGIT, name, seed=0, index=index)
        picture = luminance(visible(drawn))
        paper, stroke = picture[drawn.ink == 0].mean(), picture[drawn.ink >= SOLID].mean()
        assert (paper < stroke) == paper_is_darker, (name, index, paper, stroke)


def test_coloured_ink_is_red_or_blue() -> None:
    colours = {redraw(DIGIT, "coloured-ink", seed=0, index=i).colour for i in range(20)}
    assert colours == {(204, 50, 50), (50, 112, 204)}


@pytest.mark.parametrize("name, backgrounds, layer", [
    ("sketch-light", {(255, 255, 255)}, True),
    ("sketch-dark", {(0x33, 0x33, 0x33)}, True),
    ("sketch-composite-only", {(255, 255, 255), (0x33, 0x33, 0x33)}, False),
    ("sketch-background-only", {(255, 255, 255), (0x33, 0x33, 0x33)}, False),
])
def test_sketches_come_as_the_app_hands_them_to_serving(name: str, backgrounds: set, layer: bool) -> None:
    seen = set()
    for index in range(6):
        drawn = redraw(DIGIT, name, seed=0, index=index)
        seen.add(drawn.paper)
        if layer:  # the strokes' layer: transparent except the stroke
            assert drawn.source.mode == "RGBA"
            assert (np.asarray(drawn.source)[..., 3] == np.rint(drawn.ink * 255)).all()
        else:  # the pad flattened into one opaque picture
            assert drawn.source.dtype == np.uint8 and drawn.source.shape[2] == 4
            assert (drawn.source[..., 3] == 255).all()
    assert seen == backgrounds


def test_off_centre_digit_takes_30_to_70_percent_of_the_height_anywhere() -> None:
    centres = []
    for index in range(12):
        ink = redraw(DIGIT, "off-centre", seed=0, index=index).ink
        top, bottom, left, right = ink_box(ink)
        assert 0.28 <= (bottom - top) / ink.shape[0] <= 0.72
        centres.append(((left + right) / 2 / ink.shape[1], (top + bottom) / 2 / ink.shape[0]))
    # Not always in the middle: some centres land well off it.
    assert max(abs(x - 0.5) + abs(y - 0.5) for x, y in centres) > 0.15


def test_big_canvas_enlarges_5_to_12_times_and_centres() -> None:
    for index in range(8):
        ink = redraw(DIGIT, "big-canvas", seed=0, index=index).ink
        top, bottom, left, right = ink_box(ink)
        box_h, box_w = redrawn.digit_box(DIGIT).shape
        assert 4.5 <= (bottom - top) / box_h <= 12.5
        assert abs((left + right) / 2 - ink.shape[1] / 2) < 0.1 * ink.shape[1]


def test_thick_and_thin_change_the_stroke_width() -> None:
    plain = [redraw(DIGIT, "off-centre", seed=0, index=i).ink for i in range(4)]
    thick = [redraw(DIGIT, "thick-strokes", seed=0, index=i).ink for i in range(4)]
    thin = [redraw(DIGIT, "thin-strokes", seed=0, index=i).ink for i in range(4)]

    def fill(inks: list[np.ndarray]) -> float:  # share of the digit's box that is ink: scale-free
        return float(np.mean([(ink[a:b, c:d] > 0.5).mean() for ink in inks for a, b, c, d in [ink_box(ink)]]))

    assert fill(thin) < fill(plain) < fill(thick)


def test_thinning_backs_off_rather_than_breaking_a_faint_stroke() -> None:
    digit = DIGIT.copy()
    digit[20:27, 14] = 140  # a faint one-pixel tail that full-strength erosion would erase
    box = redrawn.digit_box(digit)
    rng = np.random.default_rng(0)
    fine = redrawn.upscale(box, redrawn.FINE, rng)
    assert not redrawn.survives(redrawn.disk_filter(fine, 2.4, grow=False), box)
    assert redrawn.survives(redrawn.thin(fine, rng, box), box)


def test_photo_is_a_jpeg_with_uneven_light() -> None:
    drawn = redraw(DIGIT, "photo-jpeg", seed=0, index=2)
    assert drawn.source[:3] == b"\xff\xd8\xff"
    paper = luminance(visible(drawn))[drawn.ink == 0]
    assert np.percentile(paper, 95) - np.percentile(paper, 5) > 20  # shading, not a flat page


def test_sample_deals_variants_evenly_and_is_seeded() -> None:
    picks = redrawn.sample(110, seed=4, total=10_000)
    assert picks == redrawn.sample(110, seed=4, total=10_000)
    assert [name for _, name in picks].count("photo-jpeg") == 10
    assert len({i for i, _ in picks}) == 110
    assert redrawn.sample(20, seed=4, total=10_000) == picks[:20]  # small counts draw a prefix


def test_verdict_allows_exactly_half_a_point() -> None:
    def outcomes(wrong: int) -> list[Outcome]:
        return [Outcome(i, "big-canvas", 1, 1, 0 if i < wrong else 1) for i in range(1000)]

    assert redrawn.verdict(outcomes(5))[0]
    passed, text = redrawn.verdict(outcomes(6))
    assert not passed and "FAIL" in text


def test_bench_runs_on_the_shipped_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert DEFAULT_MODEL.is_file(), f"no shipped model at {DEFAULT_MODEL}: run `make train export`"
    try:
        load_mnist()  # what main will load; checked here so a missing data set skips, not fails
    except DataError as err:
        pytest.skip(f"MNIST is not installed: {err}")
    count = 2 * len(VARIANTS)
    status = redrawn.main(["--count", str(count), "--seed", "1"])
    out = capsys.readouterr().out
    assert status == 0 and "PASS" in out  # these digits (seed 1) are read
    assert "| variant | images | accuracy | raw accuracy | delta vs raw (points) | refused |" in out
    for name in VARIANTS:
        assert f"| {name} | 2 |" in out
    all_row = next(line for line in out.splitlines() if line.startswith("| **all**"))
    assert all_row.startswith(f"| **all** | {count} |")
    assert all_row.endswith("| 0 |"), "the serving path refused some re-drawn digits"
    assert "re-drawn accuracy:" in out and "raw accuracy:" in out
    assert ("PASS:" in out) == (status == 0) and ("FAIL:" in out) == (status == 1)
