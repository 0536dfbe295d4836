"""app/ui/answers.py: every input kind the page and the Gradio API send is answered in plain words."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from app.ui.answers import (
    EMPTY_NOTES,
    EMPTY_NUMBER,
    HEAT_SCALE,
    VIEW_RUNNER_UP,
    VIEW_TOP,
    a_digit,
    digit_outputs,
    note_for,
    number_outputs,
)
from app.ui.model_card import CARD, NUMBER_CARD, model_card_markdown, number_model_markdown
from examples.make import draw_digits
from serving import DigitResult, Reader
from serving.paths import MODELS_DIR

ROOT = Path(__file__).resolve().parents[2]
NOT_AN_IMAGE = "**Can't read this file:** it is not an image. Send a PNG, JPEG, GIF, BMP, TIFF or WebP file."


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
    # Shown in one blue on a transparent field whatever the ink's colour: on the theme's background.
    assert image.mode == "RGBA" and image.getpixel((0, 0))[3] == 0
    pixels = np.asarray(image)
    assert {tuple(rgb) for rgb in pixels[pixels[..., 3] > 200][:, :3]} == {(59, 130, 246)}


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


def test_a_runner_up_map_is_as_bright_as_its_digit_is_likely(reader, tmp_path):
    """A 0% runner-up shows (almost) no heat, where the top answer's map is bright; the note says
    how to read the colours."""
    path = tmp_path / "7.png"
    draw_digits((300, 300), "7", "black", "white", 18).save(path)
    result = reader.read_digit(str(path))
    assert result.probabilities[result.runner_up] < 0.05, result.probabilities
    _, top, _ = digit_outputs(reader, "upload", str(path), VIEW_TOP)
    _, runner_up, note = digit_outputs(reader, "upload", str(path), VIEW_RUNNER_UP)

    def heat(image) -> float:  # the grey picture has red = blue; the heat's colours are red over blue
        pixels = np.asarray(image, np.float64)
        return float((pixels[..., 0] - pixels[..., 2]).max())

    assert heat(top) > 150 and heat(runner_up) < 0.25 * heat(top), (heat(top), heat(runner_up))
    assert HEAT_SCALE in note


def test_empty_blank_and_bad_inputs_get_a_note(reader, tmp_path):
    """The empty note is the one the page starts with (blocks.py shows EMPTY_NOTES at load); a file
    that is no image is said once, not "Can't read this image: not an image that can be read"."""
    assert digit_outputs(reader, "sketch", None)[2] == EMPTY_NOTES["pad"]
    assert EMPTY_NOTES["pad"] == "Draw a digit: the answer appears here."
    assert digit_outputs(reader, "pad", None)[2] == EMPTY_NOTES["pad"]
    assert digit_outputs(reader, "upload", None)[2] == EMPTY_NOTES["upload"]
    assert number_outputs(reader, "pad", None)[1] == number_outputs(reader, "upload", None)[1] == EMPTY_NUMBER
    blank = {"background": np.full((360, 360, 4), 255, np.uint8), "layers": [], "composite": None}
    label, seen, note = digit_outputs(reader, "sketch", blank)
    assert label is None and note.startswith("**No digit found.**")
    bad = tmp_path / "x.png"
    bad.write_text("not an image")
    assert digit_outputs(reader, "upload", str(bad))[2] == NOT_AN_IMAGE
    assert number_outputs(reader, "upload", str(bad))[1] == NOT_AN_IMAGE
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    assert digit_outputs(reader, "upload", str(empty))[2] == (
        "**Can't read this image.** The file is empty (0 bytes): send a PNG, JPEG or other image")


@pytest.mark.parametrize("value", ["data:image/jpeg;base64,AAAA", "data:image/png;base64,%%%", 42])
def test_the_pad_refuses_what_it_never_sends(reader, value):
    label, seen, note = digit_outputs(reader, "pad", value)
    assert label is None and note.startswith("**Can't read this drawing.**"), note


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


def test_a_mark_and_several_digits_are_said_for_what_they_are(reader):
    """A scribble on the Draw pad: "doesn't look like a digit", not a bare answer. "42" on it:
    the note says what the digits read, not only that there are several."""
    scribble = Image.new("RGBA", (360, 360), (0, 0, 0, 0))
    rng = np.random.default_rng(5)
    points = [tuple(rng.uniform(40, 320, 2)) for _ in range(14)]
    ImageDraw.Draw(scribble).line(points, fill=(33, 33, 33, 255), width=8, joint="curve")
    buffer = io.BytesIO()
    scribble.save(buffer, "PNG")
    data_url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    _, _, note = digit_outputs(reader, "pad", data_url)
    assert note.startswith("**That doesn't look like a digit**")
    _, _, note = digit_outputs(reader, "pad", pad_value("42", (720, 360), (33, 33, 33, 255), 16))
    assert "**This looks like more than one digit**: it reads **42**" in note


def test_articles():
    assert a_digit(8) == "an **8**" and a_digit(7) == "a **7**"


def test_the_model_tab_shows_the_card_and_the_served_file():
    card = json.loads(CARD.read_text())
    text = model_card_markdown(MODELS_DIR / card["files"]["fp32"]["file"])
    assert f"{100 * card['files']['fp32']['test_accuracy']['overall']:.2f}%" in text
    assert "digitnet.int8.onnx" in text and f"{card['parameters']:,}" in text and ", **served**)" in text
    int8 = card["files"]["int8"]["file"]
    assert f"Served: `{int8}`" in model_card_markdown(MODELS_DIR / int8)
    assert "not one of this card's files" in model_card_markdown(MODELS_DIR / "mine.onnx")


def test_the_model_tab_says_what_the_model_is_and_how_it_was_trained(tmp_path):
    card = json.loads(CARD.read_text())
    text = model_card_markdown(MODELS_DIR / card["files"]["fp32"]["file"])
    assert "An ensemble of three convolutional nets" in text
    assert "unknown" not in text and "?" not in text and "each member's own command" not in text
    for member in card["members"]:
        assert f"`{member['command']}`, in {member['wall_time_s'] / 60:.0f} min" in text
    # the shipped members were fine-tuned (session 19): the minutes are the fine-tune's, and it says so
    assert "Fine-tuned: 3 nets, each from the checkpoint its command names" in text
    for member in card["members"]:
        member["command"] = member["command"].replace(" --init ", " --from ")
    path = tmp_path / "card.json"
    path.write_text(json.dumps(card))
    assert "Trained: 3 nets" in model_card_markdown(MODELS_DIR / card["files"]["fp32"]["file"], path)
    numbers = number_model_markdown()
    assert numbers.startswith("### The number model: numbernet") and "Numbers tab" in numbers
    assert "Trained: with `python -m training.train_numbers" in numbers and "held out" not in numbers
    # a number model fine-tuned on page strips says so, and how it reads the held-out ones
    number_card = json.loads(NUMBER_CARD.read_text())
    number_card["training"]["command"] += " --init runs/shipped/numbers/checkpoint.pt --extra pages.npz"
    number_card["parity"] |= {"page_strips_exact": 0.974181, "page_strips_held_out": 2014}
    path.write_text(json.dumps(number_card))
    tuned = number_model_markdown(path)
    assert "Fine-tuned: with `python -m training.train_numbers" in tuned and "Trained" not in tuned
    assert "held out from those it learnt from, read exactly: 97.4% of 2,014." in tuned


@pytest.mark.parametrize("card", [{"files": {}}, {"name": "x", "parameters": 1, "files": {"fp32": {}}},
                                  {"parameters": "many", "files": []}, [1, 2]])
def test_a_card_in_another_form_is_said_not_raised(tmp_path, card):
    path = tmp_path / "card.json"
    path.write_text(json.dumps(card))
    assert "can't read" in model_card_markdown(MODELS_DIR / "digitnet.onnx", path) or \
        "No model card" in model_card_markdown(MODELS_DIR / "digitnet.onnx", path)
    assert number_model_markdown(path).startswith("### The number model")


def test_the_numbers_tab_reads_every_number_on_a_page(reader, tmp_path):
    from PIL import Image

    from app.ui.answers import page_outputs

    page = Image.new("L", (900, 700), 255)
    for (x, y), text in (((60, 80), "31"), ((560, 80), "7"), ((60, 330), "204")):
        page.paste(draw_digits((70 * len(text) + 40, 110), text, 0, 255, 7, mode="L"), (x, y))
    path = tmp_path / "page.png"
    page.save(path)
    (image, boxes), note = page_outputs(reader, "upload", str(path))
    assert [label for _, label in boxes] == ["31", "7", "204"]  # each number boxed and labelled
    assert "**3 numbers**" in note and "```\n31\n7\n204\n```" in note  # the list, to copy
    (image, boxes), note = page_outputs(reader, "upload", str(ROOT / "examples" / "number_2026.png"))
    assert [label.split()[0] for _, label in boxes] == ["2", "0", "2", "6"] and note.startswith("## 2026")
    (image, boxes), note = page_outputs(reader, "pad", pad_value("38", (720, 260), (33, 33, 33, 255), 14))
    assert note.startswith("## 38")
    assert page_outputs(reader, "pad", None)[1].startswith("Write a number")
