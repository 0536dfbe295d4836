"""demo.py in-process: its flags reach Gradio, its handlers answer in plain words, never raise."""

from __future__ import annotations

import json

import numpy as np
import pytest

import access
import demo
from examples.make import draw_digits

# serving.decode's answer to a file that is not an image
NOT_AN_IMAGE = "not an image that can be read: send a PNG, JPEG, GIF, BMP, TIFF or WebP file"


@pytest.fixture
def launched(monkeypatch) -> dict:
    """What demo.main() passes to launch(), which doesn't start a server here."""
    seen: dict = {}
    monkeypatch.setattr(demo.demo, "launch", lambda **kwargs: seen.update(kwargs))
    for name in ("GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT", access.AUTH_ENV):
        monkeypatch.delenv(name, raising=False)
    return seen


def test_flags_reach_launch(launched, monkeypatch):
    monkeypatch.setenv("GRADIO_SERVER_NAME", "10.0.0.9")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7001")
    demo.main(["--share", "--host", "0.0.0.0", "--port", "7999", "--max-file-size", "3mb"])
    assert launched["share"] is True  # Gradio's public link: needs the internet to open, so not opened here
    address = (launched["server_name"], launched["server_port"])
    assert address == ("0.0.0.0", 7999) and launched["max_file_size"] == "3mb"  # flags win over the env
    assert launched["mcp_server"] is True and launched["auth"] is None
    assert access.LoginRequired not in [m.cls for m in launched["app_kwargs"]["middleware"]]
    launched.clear()
    monkeypatch.delenv("GRADIO_SERVER_NAME")
    monkeypatch.delenv("GRADIO_SERVER_PORT")
    demo.main(["--no-mcp"])
    assert launched["share"] is False and launched["max_file_size"] == "5mb"
    # port None: Gradio takes 7860 or the next free one
    assert (launched["server_name"], launched["server_port"]) == ("127.0.0.1", None)
    assert launched["mcp_server"] is False


def test_space_environment_sets_the_address(launched, monkeypatch):
    """A Space runs `python demo.py` with GRADIO_SERVER_NAME=0.0.0.0: no flag may override it."""
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7860")
    demo.main([])
    assert (launched["server_name"], launched["server_port"]) == ("0.0.0.0", 7860)
    demo.main(["--port", "8000"])  # one flag: the other still comes from the environment
    assert (launched["server_name"], launched["server_port"]) == ("0.0.0.0", 8000)
    demo.main(["--host", "127.0.0.1"])
    assert (launched["server_name"], launched["server_port"]) == ("127.0.0.1", 7860)


@pytest.mark.parametrize("port", ["http", "0", "70000", "-1"])
def test_a_bad_port_in_the_environment_stops_with_a_message(launched, monkeypatch, port):
    monkeypatch.setenv("GRADIO_SERVER_PORT", port)
    with pytest.raises(SystemExit, match="GRADIO_SERVER_PORT=.* is not a port number"):
        demo.main([])
    assert not launched


def test_auth_reaches_launch_and_guards_every_route(launched, monkeypatch, tmp_path):
    users = tmp_path / "users"
    users.write_text("bob:b0b\n")
    monkeypatch.setenv(access.AUTH_ENV, "amy:from-env")
    demo.main(["--auth-file", str(users)])
    assert launched["auth"] == [("amy", "from-env"), ("bob", "b0b")]  # Gradio's login page and routes
    guard = launched["app_kwargs"]["middleware"][0]  # the rest: REST, /docs, MCP (tests/test_auth.py)
    assert guard.cls is access.LoginRequired and guard.kwargs["users"] == {"amy": "from-env", "bob": "b0b"}
    demo.main(["--auth", "cy:flag"])  # the flag replaces $DIGIT_AUTH
    assert launched["auth"] == [("cy", "flag")]


@pytest.mark.parametrize(("args", "message"), [
    (["--auth", "no-colon"], "--auth: expected USER:PASSWORD"),
    (["--auth", "amy:"], "--auth: expected USER:PASSWORD"),
    (["--auth-file", "/no/such/file"], "can't read it"),
])
def test_bad_credentials_stop_with_a_message(launched, capsys, args, message):
    with pytest.raises(SystemExit) as stop:
        demo.main(args)
    assert message in str(stop.value.code) and "Traceback" not in capsys.readouterr().err
    assert not launched


@pytest.mark.parametrize(("args", "warned"), [
    ([], False), (["--host", "0.0.0.0"], True), (["--share"], True), (["--host", "localhost"], False),
    (["--host", "0.0.0.0", "--auth", "amy:pw"], False), (["--share", "--auth", "amy:pw"], False),
])
def test_an_open_app_says_so_in_one_line(launched, capsys, args, warned):
    demo.main(args)
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "anyone" in line]
    assert len(lines) == (1 if warned else 0), out
    if warned:
        assert "--auth" in lines[0] and access.AUTH_ENV in lines[0]


def test_missing_model_stops_with_a_message(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "_predictor", None)
    monkeypatch.setattr(demo, "model_path", demo.model_path)  # main() sets it: undone after the test
    with pytest.raises(SystemExit, match="model file not found"):
        demo.main(["--model", str(tmp_path / "none.onnx")])


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
    assert demo.predict_api(str(bad)) == {"digit": None, "error": NOT_AN_IMAGE}


def test_unsure_answers_say_so():
    result = demo.predictor().predict(draw_digits((300, 300), "7", "black", "white", 18))
    unsure = type(result)(7, 0.41, [0.0] * 7 + [0.41, 0.0, 0.39][:3], result.model_input)
    note = demo.note_for(unsure)
    assert note.startswith("**Not sure.**") and "**7**" in note and "writing it larger" in note
    photo = type(result)(7, 0.7, [0.0] * 7 + [0.7, 0.0, 0.3][:3], result.model_input, photo=True)
    assert "closer photo" in demo.note_for(photo)  # a photo is a guess below 80%, and says how to retake it
    assert demo.note_for(type(result)(7, 0.7, photo.probabilities, result.model_input)).startswith("It's")


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


def pad_value(digits: str, size: tuple[int, int], ink: tuple[int, ...], pen: int) -> str:
    """What a drawing pad sends: a PNG data URL of strokes on a transparent field."""
    import base64
    import io

    buffer = io.BytesIO()
    draw_digits(size, digits, ink, (0, 0, 0, 0), pen, mode="RGBA").save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@pytest.mark.parametrize("ink", [(33, 33, 33, 255), (240, 240, 240, 255)], ids=["light", "dark"])
def test_drawing_pad_handlers(ink):
    """The pads' PNG, in either theme's ink colour, reads as the digit; a blank pad asks for a drawing."""
    label, seen, note = demo.predict_drawing(pad_value("8", (360, 360), ink, 18))
    assert next(iter(label)) == "8" and seen.size == (224, 224) and "It's an **8**" in note
    assert demo.predict_drawing(None)[2].startswith("Draw a digit")
    (image, boxes), note = demo.read_number_drawing(pad_value("38", (720, 260), ink, 14))
    assert [label.split()[0] for _, label in boxes] == ["3", "8"] and image.size == (720, 260)
    assert image.getpixel((0, 0)) == (255, 255, 255)  # shown on white whatever the ink's colour
    assert demo.read_drawing(pad_value("4", (360, 360), ink, 18)).digit == 4


@pytest.mark.parametrize("value", ["data:image/jpeg;base64,AAAA", "data:image/png;base64,%%%", 42])
def test_drawing_pad_refuses_what_it_never_sends(value):
    label, seen, note = demo.predict_drawing(value)
    assert label is None and note.startswith("**Can't read this drawing:**"), note


def test_articles():
    assert demo.a_digit(8) == "an **8**" and demo.a_digit(7) == "a **7**"


def test_model_tab_names_the_served_model():
    card = json.loads(demo.CARD_PATH.read_text())
    int8 = card["files"]["int8"]["file"]
    text = demo.model_card_markdown(demo.MODELS_DIR / int8)
    assert f"Served: `{int8}`" in text and "(static INT8, **served**)" in text
    assert "(fp32)" in text
    assert "not one of this card's files" in demo.model_card_markdown(demo.MODELS_DIR / "mine.onnx")


def test_served_model_reaches_the_page(launched, monkeypatch):
    monkeypatch.setattr(demo, "_predictor", None)
    try:
        demo.main(["--model", str(demo.MODELS_DIR / "digitnet.int8.onnx")])
        assert "`digitnet.int8.onnx` (static INT8, **served**)" in demo.model_card.value
    finally:
        monkeypatch.setattr(demo, "_predictor", None)
        monkeypatch.setattr(demo, "model_path", demo.DEFAULT_MODEL)
        demo.model_card.value = demo.model_card_markdown(demo.DEFAULT_MODEL)


@pytest.mark.parametrize("size, message", [("5", "is not a size"), ("banana", "is not a size"),
                                           ("0mb", "more than 0"), ("5 tb", "is not a size")])
def test_bad_max_file_size_is_a_message(size, message, capsys):
    with pytest.raises(SystemExit) as stop:
        demo.parse_args(["--max-file-size", size])
    assert stop.value.code == 2 and message in capsys.readouterr().err


def test_bad_max_file_size_from_the_command_line():
    import os
    import subprocess
    import sys

    # Offline, Gradio's analytics thread would wait out its timeout before the process ends.
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.run([sys.executable, "demo.py", "--max-file-size", "banana"], capture_output=True,
                          text=True, timeout=120, cwd=demo.ROOT, env=env)
    assert proc.returncode == 2 and "is not a size" in proc.stderr and "Traceback" not in proc.stderr


def test_max_file_size_units():
    assert demo.file_size("500KB") == "500kb" and demo.file_size(" 2 mb ") == "2mb"


def test_no_verify_is_a_flag_the_message_names(tmp_path, monkeypatch, launched):
    import shutil

    from serving import ModelError, Predictor

    mine = tmp_path / "mine.onnx"
    shutil.copy(demo.DEFAULT_MODEL, mine)
    with pytest.raises(ModelError, match="--no-verify"):
        Predictor(mine)
    monkeypatch.setattr(demo, "_predictor", None)
    try:
        demo.main(["--model", str(mine), "--no-verify"])  # the flag the message names is accepted
        assert demo.predictor().model_path == mine
    finally:
        monkeypatch.setattr(demo, "_predictor", None)
        monkeypatch.setattr(demo, "model_path", demo.DEFAULT_MODEL)
        monkeypatch.setattr(demo, "verify_model", True)
        demo.model_card.value = demo.model_card_markdown(demo.DEFAULT_MODEL)
