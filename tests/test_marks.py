"""The not-a-digit check (serving.predictor.MarkCheck, models/marknet.onnx): marks are flagged, digits
are not."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageDraw

from examples.make import draw_digits
from serving import ModelError, Reader
from serving.paths import DEFAULT_MODEL
from serving.predictor import MarkCheck
from serving.records import digit_fields
from training.marks import GLYPHS, draw, jittered, mark_image


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader()


def tap() -> Image.Image:
    """One tap of the pen on the pad: a dot."""
    image = Image.new("L", (280, 280), 255)
    ImageDraw.Draw(image).ellipse((130, 130, 146, 146), fill=0)
    return image


def scribble() -> Image.Image:
    image = Image.new("L", (280, 280), 255)
    rng = np.random.default_rng(5)
    ImageDraw.Draw(image).line([tuple(rng.uniform(40, 240, 2)) for _ in range(14)], fill=0, width=6,
                               joint="curve")
    return image


def hatching() -> Image.Image:
    image = Image.new("L", (280, 280), 255)
    pen = ImageDraw.Draw(image)
    for k in range(6):
        pen.line((60 + 30 * k, 60, 20 + 30 * k, 220), fill=0, width=5)
    return image


@pytest.mark.parametrize("mark", [tap, scribble, hatching], ids=lambda f: f.__name__)
def test_a_mark_is_flagged_not_answered_as_a_digit(reader: Reader, mark) -> None:
    result = reader.read_digit(mark())
    fields = digit_fields(result)
    assert result.not_digit and result.unsure
    assert fields["not_digit"] is True and fields["unsure"] is True
    assert "doesn't look like a digit" in fields["note"]


def test_most_drawn_marks_are_flagged(reader: Reader) -> None:
    """Fresh marks from the training generator's kinds, a seed it never used: nearly all flagged."""
    rng = np.random.default_rng(2026)
    pictures = [mark_image(rng) for _ in range(60)] + [draw(jittered(GLYPHS["#"], rng), rng)]
    results = [r for r in reader.read_digits(pictures) if not isinstance(r, Exception)]
    assert sum(r.not_digit for r in results) >= 0.9 * len(results)


@pytest.mark.parametrize("pen", [3, 8, 16])
def test_drawn_digits_are_not_flagged(reader: Reader, pen: int) -> None:
    for digit in "0123456789":
        result = reader.read_digit(draw_digits((200, 200), digit, 0, 255, pen, mode="L"))
        assert not result.not_digit, (digit, pen)
        assert "not_digit" not in digit_fields(result)


def test_the_check_must_be_the_check() -> None:
    """A file that is not the not-a-digit graph is refused as a wrong model, not read."""
    with pytest.raises(ModelError, match="not-a-digit"):
        MarkCheck(DEFAULT_MODEL)


@pytest.mark.slow
def test_train_and_export_a_check_on_a_small_slice(tmp_path) -> None:
    run = tmp_path / "run"
    subprocess.run([sys.executable, "-m", "training.train_marks", "--dry-run", "--out", str(run)], check=True)
    subprocess.run([sys.executable, "-m", "export.marks", "--run", str(run), "--out", str(tmp_path),
                    "--check", "50"], check=True)
    checked = MarkCheck(tmp_path / "marknet.onnx")
    assert 0.5 <= checked.threshold < 1
    assert checked.mark_probabilities(np.zeros((3, 28, 28), np.float32)).shape == (3,)
