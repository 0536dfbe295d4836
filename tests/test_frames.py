"""Digits written in printed boxes read as if the box were not there (serving.frames)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from examples.make import draw_digits
from serving import Reader
from serving.frames import frame_lines
from training.data import load_mnist


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader()


def in_box(digit: str, line: int = 2) -> Image.Image:
    """A form: a printed box well inside the picture, the digit written in it."""
    form = Image.new("RGB", (300, 260), "white")
    form.paste(draw_digits((120, 140), digit, (20, 30, 120), "white", 7), (90, 60))
    ImageDraw.Draw(form).rectangle((80, 50, 220, 210), outline=(30, 30, 30), width=line)
    return form


def comb(digits: str, closed: bool) -> Image.Image:
    """A row of cells, one digit each: closed boxes sharing their sides, or a comb's teeth."""
    cell, top, base = 70, 40, 140
    form = Image.new("RGB", (cell * len(digits) + 80, 180), "white")
    pen = ImageDraw.Draw(form)
    for k, digit in enumerate(digits):
        form.paste(draw_digits((cell - 6, 90), digit, "black", "white", 6), (43 + k * cell, 45))
    pen.line((40, base, 40 + cell * len(digits), base), fill="black", width=2)
    if closed:
        pen.line((40, top, 40 + cell * len(digits), top), fill="black", width=2)
    for k in range(len(digits) + 1):
        pen.line((40 + k * cell, top if closed else base - 40, 40 + k * cell, base), fill="black", width=2)
    return form


@pytest.mark.parametrize("digit", list("0123456789"))
def test_a_digit_in_a_printed_box_reads_as_the_digit(reader: Reader, digit: str) -> None:
    assert reader.read_digit(in_box(digit)).digit == int(digit)


@pytest.mark.parametrize("closed", [True, False])
def test_a_number_one_digit_a_cell_reads_whole(reader: Reader, closed: bool) -> None:
    form = comb("40719", closed)
    assert reader.read_number(form).number == "40719"
    assert [n.number for n in reader.read_page(form).numbers] == ["40719"]


def test_a_digit_of_straight_strokes_is_no_frame() -> None:
    """A 4 drawn with a ruler (a bar and two stems) and a box-shaped 0 are writing, not frames."""
    four = Image.new("L", (200, 200), 0)
    pen = ImageDraw.Draw(four)
    pen.line((50, 30, 50, 110), fill=255, width=3)
    pen.line((50, 110, 160, 110), fill=255, width=3)
    pen.line((130, 30, 130, 180), fill=255, width=3)
    zero = Image.new("L", (200, 200), 0)
    ImageDraw.Draw(zero).rectangle((50, 30, 150, 170), outline=255, width=3)
    for image in (four, zero):
        assert frame_lines(np.asarray(image) > 0)[1] == []


def test_mnist_digits_are_no_frames() -> None:
    """Thick strokes make short straight runs; at most 1 in 1,000 MNIST digits at their size, and
    none at four times it, is taken for a frame."""
    images = load_mnist().test_images[:2000]
    found = sum(bool(frame_lines(image > 25)[1]) for image in images)
    big = sum(bool(frame_lines(np.asarray(Image.fromarray(image).resize((112, 112))) > 25)[1])
              for image in images[:500])
    assert found <= 2 and big == 0
