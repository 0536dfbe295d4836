"""app/ui/answers.py: every input kind the page and the Gradio API send is answered in plain words."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest

from app.ui.answers import VIEW_RUNNER_UP, VIEW_TOP, a_digit, digit_outputs, note_for, number_outputs
from app.ui.model_card import CARD, model_card_markdown
from examples.make import draw_digits
from serving import DigitResult, Reader
from serving.paths import MODELS_DIR

NOT_AN_IMAGE = "not an image that can be read: send a PNG, JPEG, GIF, BMP, TIFF or WebP file"


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader()


def sketch(digits: str, size: tuple[int, int], pen: int, background) -> dict:
    """A gr.Sketchpad value: strokes on a transparent layer over a light or dark background."""
    strokes = np.asarray(draw_digits(size, digits, (37, 99, 235, 255), (0, 0, 0, 0), pen, mode="RGBA"))
    return {"background": np.full_like(strokes, background), "layers": [strokes], "composite": None}


def pad_value(digits: str, size: tuple[int, int], ink: tuple[int, ...], pen: int) -> str:
    """What a drawing pad sends: a PNG data URL of strokes on a transparent field."""
    buffer = io.BytesIO()
    draw_digits(size, digits, ink, (0, 0, 0, 0), pen, mode="RGBA").save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@pytest.mark.parametrize("background", [255, 51], ids=["light", "dark"])
def test_a_sketch_is_read(reader, background):
    label, seen, note = digit_outputs(reader, "sketch", sketch("4", (360, 360), 18, background))
    assert next(iter(label)) == "4" and len(label) == 3 and seen.size == (224, 224)
    assert "It's a **4**" in note


@pytest.mark.parametrize("ink", [(33, 33, 33, 255), (240, 240, 240, 255)], ids=["light", "dark"])
def test_the_drawing_pads_are_read_in_either_themes_ink(reader, ink):
    label, seen, note = digit_outputs(reader, "pad", pad_value("8", (360, 360), ink, 18))
    assert next(iter(label)) == "8" and seen.size == (224, 224) and "It's an **8**" in note
    (image, boxes), note = number_outputs(reader, "pad", pad_value("38", (720, 260), ink, 14))
    assert [label.split()[0] for _, label in boxes] == ["3", "8"] and image.size == (720, 260)
    assert image.getpixel((0, 0)) == (255, 255, 255)  # shown on white whatever the ink's colour


def test_a_number_sketch_is_boxed_digit_by_digit(reader):
    (image, boxes), note = number_outputs(
        reader,
        "sketch",
        {
            "background": None,
            "composite": None,
            "layers": [
                np.asarray(draw_digits((720, 260), "38", (0, 0, 0, 255), (0, 0, 0, 0), 14, mode="RGBA"))
            ],
        },
    )
    assert [label.split()[0] for _, label in boxes] == ["3", "8"]
    assert "## 38" in note and image.size == (720, 260)


def test_an_upload_is_read_with_its_heatmap(reader, tmp_path):
    path = tmp_path / "7.png"
    draw_digits((300, 300), "7", "black", "white", 18).save(path)
    label, top, note = digit_outputs(reader, "upload", str(path), VIEW_TOP)
    _, runner_up, note_r = digit_outputs(reader, "upload", str(path), VIEW_RUNNER_UP)
    assert next(iter(label)) == "7" and "evidence for **7**" in note
    assert "evidence for" in note_r and np.asarray(top).tolist() != np.asarray(runner_up).tolist()


def test_empty_blank_and_bad_inputs_get_a_note(reader, tmp_path):
    assert digit_outputs(reader, "sketch", None)[2].startswith("Draw a digit")
    assert digit_outputs(reader, "pad", None)[2].startswith("Draw a digit")
    assert number_outputs(reader, "pad", None)[1].startswith("Write a number")
    blank = {"background": np.full((360, 360, 4), 255, np.uint8), "layers": [], "composite": None}
    label, seen, note = digit_outputs(reader, "sketch", blank)
    assert label is None and note.startswith("**No digit found.**")
    bad = tmp_path / "x.png"
    bad.write_text("not an image")
    assert digit_outputs(reader, "upload", str(bad))[2] == f"**Can't read this image:** {NOT_AN_IMAGE}"
    assert number_outputs(reader, "upload", str(bad))[1] == f"**Can't read this image:** {NOT_AN_IMAGE}"


@pytest.mark.parametrize("value", ["data:image/jpeg;base64,AAAA", "data:image/png;base64,%%%", 42])
def test_the_pad_refuses_what_it_never_sends(reader, value):
    label, seen, note = digit_outputs(reader, "pad", value)
    assert label is None and note.startswith("**Can't read this drawing:**"), note


def test_something_unexpected_is_a_note_not_a_traceback(reader, monkeypatch, caplog):
    monkeypatch.setattr(reader, "read_digit", lambda *a: 1 / 0)
    assert digit_outputs(reader, "pad", pad_value("1", (100, 100), (0, 0, 0, 255), 8))[2].startswith(
        "**Something went wrong"
    )
    assert "ZeroDivisionError" in caplog.text  # logged for whoever runs the server


def test_unsure_answers_say_so(reader):
    result = reader.read_digit(draw_digits((300, 300), "7", "black", "white", 18))
    unsure = DigitResult(7, 0.41, [0.0] * 7 + [0.41, 0.0, 0.39], result.model_input)
    note = note_for(unsure)
    assert note.startswith("**Not sure.**") and "**7**" in note and "writing it larger" in note
    photo = DigitResult(7, 0.7, [0.0] * 7 + [0.7, 0.0, 0.3], result.model_input, photo=True)
    assert "closer photo" in note_for(photo)  # a photo is a guess below 80%, and says how to retake it
    assert note_for(DigitResult(7, 0.7, photo.probabilities, result.model_input)).startswith("It's")


def test_articles():
    assert a_digit(8) == "an **8**" and a_digit(7) == "a **7**"


def test_the_model_tab_shows_the_card_and_the_served_file():
    card = json.loads(CARD.read_text())
    text = model_card_markdown(MODELS_DIR / card["files"]["fp32"]["file"])
    assert f"{100 * card['files']['fp32']['test_accuracy']['overall']:.2f}%" in text
    assert "digitnet.int8.onnx" in text and f"{card['parameters']:,}" in text and "(fp32, **served**)" in text
    int8 = card["files"]["int8"]["file"]
    assert f"Served: `{int8}`" in model_card_markdown(MODELS_DIR / int8)
    assert "not one of this card's files" in model_card_markdown(MODELS_DIR / "mine.onnx")
