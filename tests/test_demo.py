"""demo.py in-process: its flags reach Gradio, its handlers answer in plain words, never raise."""

from __future__ import annotations

import json

import numpy as np
import pytest

import demo
from examples.make import draw_digits


def test_flags_reach_launch(monkeypatch):
    seen = {}
    monkeypatch.setattr(demo.demo, "launch", lambda **kwargs: seen.update(kwargs))
    demo.main(["--share", "--host", "0.0.0.0", "--port", "7999", "--max-file-size", "3mb"])
    assert seen["share"] is True  # Gradio's public link: needs the internet to open, so not opened here
    assert (seen["server_name"], seen["server_port"], seen["max_file_size"]) == ("0.0.0.0", 7999, "3mb")
    seen.clear()
    demo.main([])
    assert seen["share"] is False and seen["max_file_size"] == "5mb"


def test_missing_model_stops_with_a_message(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "_predictor", None)
    with pytest.raises(SystemExit, match="model file not found"):
        demo.main(["--model", str(tmp_path / "none.onnx")])
    monkeypatch.setattr(demo, "model_path", demo.DEFAULT_MODEL)


def test_privacy_settings():
    assert demo.demo.delete_cache == (60, 60)  # uploads are removed from Gradio's cache within minutes


def sketch(digit: str, background) -> dict:
    strokes = np.asarray(draw_digits((360, 360), digit, (37, 99, 235, 255), (0, 0, 0, 0), 18, mode="RGBA"))
    return {"background": np.full_like(strokes, background), "layers": [strokes], "composite": None}


@pytest.mark.parametrize("background", [255, 51], ids=["light", "dark"])
def test_sketch_handler_answers(background):
    label, seen, note = demo.predict_sketch(sketch("4", background))
    assert next(iter(label)) == "4" and len(label) == 3
    assert seen.size == (224, 224)
    assert "It's a **4**" in note


def test_handlers_explain_empty_blank_and_bad_inputs(tmp_path):
    assert demo.predict_sketch(None)[2].startswith("Draw a digit")
    blank = {"background": np.full((360, 360, 4), 255, np.uint8), "layers": [], "composite": None}
    label, seen, note = demo.predict_sketch(blank)
    assert label is None and note.startswith("**No digit found.**")
    bad = tmp_path / "x.png"
    bad.write_text("not an image")
    assert "not an image" in demo.predict_upload(str(bad))[2]
    assert demo.predict_api(str(bad)) == {"digit": None, "error": demo.predict_api(str(bad))["error"]}


def test_unsure_answers_say_so():
    result = demo.predictor().predict(draw_digits((300, 300), "7", "black", "white", 18))
    unsure = type(result)(7, 0.41, [0.0] * 7 + [0.41, 0.0, 0.39][:3], result.model_input)
    note = demo.note_for(unsure)
    assert note.startswith("**Not sure.**") and "**7**" in note


def test_numbers_handler_boxes_each_digit():
    (image, boxes), note = demo.read_number_sketch(sketch_number("38"))
    assert [label.split()[0] for _, label in boxes] == ["3", "8"]
    assert "## 38" in note and image.size == (720, 260)


def sketch_number(digits: str) -> dict:
    strokes = np.asarray(draw_digits((720, 260), digits, (0, 0, 0, 255), (0, 0, 0, 0), 14, mode="RGBA"))
    return {"background": None, "layers": [strokes], "composite": None}


def test_model_tab_shows_the_card():
    card = json.loads(demo.CARD_PATH.read_text())
    text = demo.model_card_markdown()
    assert f"{100 * card['files']['fp32']['test_accuracy']['overall']:.2f}%" in text
    assert "digitnet.int8.onnx" in text and f"{card['parameters']:,}" in text
