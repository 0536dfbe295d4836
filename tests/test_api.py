"""The running demo through gradio_client: every named endpoint, the same answers as the CLI.

The CLI (`python -m serving`) is the reference: for the same file, /predict must give the same
digit and confidence (to 1e-6), /predict_upload the same top-3, and /predict_sketch (a sketch
value built the way Gradio's own frontend sends it: background, layers of RGBA strokes,
composite) the same answer as the CLI on the layer's PNG.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from app.ui.api import TOOL_API_NAMES
from examples.strokes import digit_strokes

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("[0-9]_*.*") if p.suffix in (".png", ".jpg"))
# What the API page (and so the MCP server) lists; /predict, /read_number and the UI's events are
# callable but "undocumented", so that agents see only the two tools (tests/test_mcp.py).
LISTED = {f"/{name}" for name in TOOL_API_NAMES.values()}  # the MCP tools' endpoints, and only those
TOL = 1e-6 + 1e-9  # both sides round to 6 decimals
GENERIC = ("Something went wrong", "could not be read", "upstream Gradio app has raised an exception")


def sketch_layer(digit: int, path: Path, side: int = 360, pen: int = 18) -> Path:
    """What the sketchpad's layer holds after drawing `digit`: blue strokes on a transparent field."""
    image = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    w, h = side * (0.2 if digit == 1 else 0.55), side * 0.7
    for stroke in digit_strokes(digit, (side - w) / 2, (side - h) / 2, w, h, per_segment=2):
        draw.line(stroke, fill=(37, 99, 235, 255), width=pen, joint="curve")
    image.save(path)
    return path


def sketch_value(layer: Path | None = None, background: Path | None = None,
                 composite: Path | None = None) -> dict:
    """A sketch as gradio_client sends it: files wrapped with handle_file, uploaded on the way."""
    from gradio_client import handle_file

    return {"background": handle_file(str(background)) if background else None,
            "layers": [handle_file(str(layer))] if layer else [],
            "composite": handle_file(str(composite)) if composite else None}


def top_label(label: dict) -> str | None:
    return label.get("label") if label else None


@pytest.fixture(scope="module")
def cli_answers(run_cli) -> dict[str, dict]:
    status, lines = run_cli(*EXAMPLES)
    assert status == 0, lines
    return {line["file"]: line for line in lines}


def test_named_endpoints_all_answer(client) -> None:
    """Client.view_api lists the tools' endpoints; each one answers a valid call without an error."""
    from gradio_client import handle_file

    api = client.view_api(return_format="dict", print_info=False)
    named = api["named_endpoints"]
    assert set(named) == LISTED
    for name, info in named.items():
        params = info["parameters"]
        values = []
        for param in params:
            kind = param["python_type"]["type"]
            if kind.startswith("dict(background"):
                values.append({"background": handle_file(str(EXAMPLES[0])), "layers": [], "composite": None})
            elif "filepath" in kind or param.get("component") in ("Image", "File"):
                values.append(handle_file(str(EXAMPLES[0])))
            else:
                pytest.fail(f"{name}: don't know how to call a {kind} parameter; add it to this test")
        answer = json.loads(client.predict(*values, api_name=name))  # JSON text: the CLI's answer
        drawn = int(EXAMPLES[0].name[0])
        read = [n["number"] for n in answer["numbers"]] if "numbers" in answer else [  # a page's numbers
            answer.get("digit", answer.get("number"))]
        assert read in ([drawn], [str(drawn)]), (name, answer)


def test_predict_equals_cli(client, cli_answers: dict[str, dict]) -> None:
    from gradio_client import handle_file

    for path in EXAMPLES:
        expected = cli_answers[str(path)]
        got = client.predict(handle_file(str(path)), api_name="/predict")
        assert got["digit"] == expected["digit"], (path.name, got, expected)
        assert got["confidence"] == pytest.approx(expected["confidence"], abs=TOL), path.name
        assert got["probabilities"] == pytest.approx(expected["probabilities"], abs=TOL), path.name
        assert got["digit"] == int(path.name[0]), f"{path.name} read as {got['digit']}"


def test_predict_upload_equals_cli(client, cli_answers: dict[str, dict]) -> None:
    from gradio_client import handle_file

    for path in EXAMPLES:
        expected = cli_answers[str(path)]
        label, seen, note = client.predict(handle_file(str(path)), api_name="/predict_upload")
        assert top_label(label) == str(expected["digit"]), (path.name, label)
        for item in label["confidences"]:
            assert item["confidence"] == pytest.approx(expected["probabilities"][int(item["label"])],
                                                       abs=TOL), path.name
        assert seen and Path(seen).is_file(), "the 28×28 'what the model sees' image is missing"
        assert f"**{expected['digit']}**" in note, note


@pytest.mark.parametrize("digit", [1, 0, 7])
def test_predict_sketch_equals_cli(client, run_cli, tmp_path: Path, digit: int) -> None:
    layer = sketch_layer(digit, tmp_path / f"sketch_{digit}.png")
    status, [expected] = run_cli(layer)
    assert status == 0 and expected["digit"] == digit, expected
    label, seen, note = client.predict(sketch_value(layer=layer), api_name="/predict_sketch")
    assert top_label(label) == str(digit), (label, note)
    top = next(c for c in label["confidences"] if c["label"] == str(digit))
    assert top["confidence"] == pytest.approx(expected["confidence"], abs=TOL)


def test_predict_sketch_background_only(client) -> None:
    """An API client may send just a background image (no layers): it is read as the drawing."""
    path = ROOT / "examples" / "3_marker.png"
    label, _, note = client.predict(sketch_value(background=path), api_name="/predict_sketch")
    assert top_label(label) == "3", note
    label, _, note = client.predict(sketch_value(composite=path), api_name="/predict_sketch")
    assert top_label(label) == "3", note


def test_empty_requests_get_a_message(client) -> None:
    assert client.predict(None, api_name="/predict") == {
        "digit": None, "error": "no file was sent: send an image file"}
    label, seen, note = client.predict(None, api_name="/predict_upload")
    assert not top_label(label) and seen is None and "upload" in note.lower()
    label, seen, note = client.predict(None, api_name="/predict_sketch")
    assert not top_label(label) and "draw" in note.lower()
    label, seen, note = client.predict(sketch_value(), api_name="/predict_sketch")
    assert not top_label(label) and note.startswith("**No digit found.** The sketch is empty"), note


def test_bad_files_get_a_clear_error(client, tmp_path: Path) -> None:
    from gradio_client import handle_file

    text = tmp_path / "digit.png"
    text.write_text("this is not a picture")
    got = client.predict(handle_file(str(text)), api_name="/predict")
    assert got["digit"] is None and "not an image" in got["error"], got
    label, _, note = client.predict(handle_file(str(text)), api_name="/predict_upload")
    assert not top_label(label) and "not an image" in note and not any(g in note for g in GENERIC), note
    blank = tmp_path / "blank.png"
    Image.new("RGB", (100, 100), "white").save(blank)
    got = client.predict(handle_file(str(blank)), api_name="/predict")
    assert got["digit"] is None and got["error"].startswith("no digit found"), got
    label, _, note = client.predict(handle_file(str(blank)), api_name="/predict_upload")
    assert note.startswith("**No digit found.** The image is blank") and "Draw or photograph" in note, note


def test_bad_sketch_layers_get_a_clear_error(client, tmp_path: Path) -> None:
    text = tmp_path / "layer.png"
    text.write_text("this is not a picture")
    label, _, note = client.predict(sketch_value(layer=text), api_name="/predict_sketch")
    assert not top_label(label) and "not an image" in note, note


def test_the_api_page_snippets_use_handle_file(demo_server) -> None:
    """The API page writes an example file as handle_file('...') only when it carries a "url": the
    tools' example is one of the project's images, as the README's snippet sends it."""
    import httpx

    info = httpx.get(demo_server.url + "gradio_api/info", timeout=60).json()
    for name in ("/recognize_digit", "/read_number_json"):
        example = info["named_endpoints"][name]["parameters"][0]["example_input"]
        assert example["url"] == example["path"] == "examples/3_marker.png", example
        assert example["meta"] == {"_type": "gradio.FileData"}
