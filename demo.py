"""The Gradio app: draw or upload a digit and get the answer with its confidence.

    python demo.py [--host 127.0.0.1] [--port 7860] [--share] [--model models/digitnet.onnx]
                   [--auth USER:PASSWORD | --auth-file FILE] [--no-mcp]
    gradio demo.py          # hot reload while editing (DIGIT_MODEL picks another model)

API endpoints (see README): /predict (image file → the CLI's JSON) and the UI's own events, and
the MCP tools recognize_digit and read_number (an image URL → the CLI's JSON as text).
Without --host/--port, GRADIO_SERVER_NAME and GRADIO_SERVER_PORT apply (a Hugging Face Space sets
them); with neither, 127.0.0.1 and the first free port from 7860.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cache

try:  # before gradio is imported: it reads GRADIO_TEMP_DIR then (see cache.py)
    CACHE_DIR = cache.use_private_dir()
except cache.CacheError as _err:
    sys.exit(f"error: {_err}")  # a message and status 1, as for the app's other start-up errors

import gradio as gr
import numpy as np
from gradio.data_classes import ListFiles
from PIL import Image
from starlette.middleware import Middleware

import access
import corrections_ui
import drawpad
import page
import timeouts
from corrections_ui import a_digit
from serving import InputError, ModelError, NoDigitError, Predictor
from serving.decode import original_size
from serving.explain import overlay, seen_pixels
from serving.numbers import NumberResult
from serving.numbers import read_number as read_number_in
from serving.predictor import DEFAULT_MODEL, MODELS_DIR, guarded
from serving.preprocess import open_image
from serving.records import digit_fields, number_fields

ROOT = Path(__file__).resolve().parent
EXAMPLES = sorted(str(p) for p in (ROOT / "examples").glob("[0-9]_*.*"))
NUMBER_EXAMPLES = sorted(str(p) for p in (ROOT / "examples").glob("number_*.*"))
CARD_PATH = MODELS_DIR / "digitnet.json"
EXAMPLE_FILE = "examples/3_marker.png"  # relative: what a client with the project would send
LOG = logging.getLogger("demo")

_predictor: Predictor | None = None
model_path = Path(os.environ.get("DIGIT_MODEL", DEFAULT_MODEL))
verify_model = True  # --no-verify: serve a model that no model card lists


def predictor() -> Predictor:
    """The process's one Predictor (one onnxruntime session), made on first use."""
    global _predictor
    if _predictor is None:
        _predictor = Predictor(model_path, verify=verify_model)
    return _predictor


def from_upload(run, path: str, attempts: int = 3):
    """run(the uploaded file's bytes), retried briefly.

    Gradio stores uploads under a content hash, so clients sending the very same file at once
    share one path, and a request can see it while another is still writing it.
    """
    for attempt in range(attempts):
        try:
            return run(Path(path).read_bytes())
        except (InputError, OSError) as err:
            if isinstance(err, NoDigitError) or attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def digit_in(source, explain: bool = False):
    return predictor().predict(source, explain=explain)


def number_in(source) -> NumberResult:
    return read_number_in(predictor(), source)


def digit_in_upload(path: str, explain: bool = False):
    return from_upload(lambda data: digit_in(data, explain), path)


def enlarged(model_input: np.ndarray) -> Image.Image:
    return Image.fromarray(seen_pixels(model_input)).resize((224, 224), Image.NEAREST)


# The heatmap toggle under "what the model sees": off, or the evidence for one of the top two answers.
VIEW_OFF, VIEW_TOP, VIEW_RUNNER_UP = "Off", "Top answer", "Runner-up"
VIEWS = [VIEW_OFF, VIEW_TOP, VIEW_RUNNER_UP]


def explained_digit(result, view: str) -> int | None:
    return {VIEW_TOP: result.digit, VIEW_RUNNER_UP: result.runner_up}.get(view)


def note_for(result) -> str:
    top = sorted(range(10), key=lambda d: -result.probabilities[d])
    if result.unsure:
        advice = ("Try a closer photo in even light, the digit alone in the middle." if result.photo
                  else "Try writing it larger, centred, one digit only.")
        return (f"**Not sure.** It looks most like {a_digit(top[0])} ({result.confidence:.0%}), but "
                f"it could be {a_digit(top[1])} ({result.probabilities[top[1]]:.0%}). {advice}")
    return f"It's {a_digit(result.digit)} ({result.confidence:.0%} sure)."


def problem_note(err: Exception) -> str:
    """The note the page shows for an image it could not read, in plain words."""
    if isinstance(err, NoDigitError):
        why = str(err).removeprefix("no digit found: ")  # not .capitalize(): it lowercases the rest
        return f"**No digit found.** {why[:1].upper()}{why[1:]}"
    if isinstance(err, InputError):
        return f"**Can't read this image:** {err}"
    LOG.error("unexpected error", exc_info=err)  # the page must keep working whatever a decoder does
    return "**Something went wrong reading this image.** Try another file."


def digit_outputs(run, source, view: str | None = VIEW_OFF):
    """The Draw and Upload tabs' outputs, (label, what the model saw, note); never raises into the page.

    `run(source, explain)` reads the digit; with a view other than VIEW_OFF, the picture shows
    where the model found the evidence for the top answer or the runner-up.
    """
    if source is None:
        return None, None, "Draw a digit, or upload a picture of one."
    try:
        result = run(source, view in (VIEW_TOP, VIEW_RUNNER_UP))
    except Exception as err:
        return None, None, problem_note(err)
    shown = explained_digit(result, view)
    if shown is None:
        return result.top(3), enlarged(result.model_input), note_for(result)
    why = (f"\n\nThe colours show where the model found the evidence for **{shown}** "
           f"({result.probabilities[shown]:.0%}).")
    return result.top(3), overlay(result.model_input, result.heatmap(shown)), note_for(result) + why


def predict_sketch(sketch: dict | None, view: str | None = VIEW_OFF):
    return digit_outputs(digit_in, sketch, view)


def read_drawing(url: str | None):
    """The DigitResult of a drawing pad's value (a PNG data URL); None for an empty pad."""
    png = drawpad.drawing(url)
    return None if png is None else digit_in(png)


def predict_drawing(url: str | None, view: str | None = VIEW_OFF) -> tuple:
    """A drawing pad's answer."""
    try:
        png = drawpad.drawing(url)
    except InputError as err:
        return None, None, f"**Can't read this drawing:** {err}"
    return digit_outputs(digit_in, png, view)


def predict_upload(path: str | None, view: str | None = VIEW_OFF):
    return digit_outputs(digit_in_upload, path, view)


def with_view(handler):
    """For the toggle's own event: the handler's answer, and the view kept for later inputs.

    The input's events take the view from a gr.State, not from the toggle itself: API clients
    (gradio_client) fill a State in by themselves, so /predict_sketch keeps its one parameter."""
    return lambda source, view: (*handler(source, view), view)


def api_fields(read: Callable[[str], Any], path: str | None, fields: Callable[[Any], dict]) -> dict:
    """The CLI's JSON for one uploaded file (without "file"), or its error."""
    if path is None:
        return fields(InputError("no file was sent: send an image file"))
    return fields(guarded(read, path))  # an unexpected decoder error becomes an InputError there


def predict_api(path: str | None, explain: bool = False) -> dict:
    """The CLI's answer for one image file: digit, confidence, probabilities, or an error; with
    explain, also "heatmap" and "seen" (as `python -m serving --explain`)."""
    return api_fields(lambda p: digit_in_upload(p, explain), path, digit_fields)


def number_in_upload(path: str) -> NumberResult:
    return from_upload(number_in, path)


def shown_image(source) -> Image.Image:
    """The picture to draw the boxes on, upright as the boxes are (EXIF applied)."""
    if isinstance(source, dict):
        for key in ("composite", "background"):
            if source.get(key) is not None:
                return open_image(source[key]).convert("RGBA")
        strokes = Image.fromarray(np.asarray(source["layers"][0]))
        return Image.alpha_composite(Image.new("RGBA", strokes.size, "white"), strokes.convert("RGBA"))
    if isinstance(source, bytes):  # a drawing pad's PNG: strokes on a transparent field, in the
        ink = open_image(source).convert("RGBA").getchannel("A")  # theme's text colour (white if dark)
        shown = Image.new("RGB", ink.size, "white")
        shown.paste((29, 78, 216), mask=ink)
        return shown
    return open_image(Path(source).read_bytes()).convert("RGB")


def number_outputs(run, source):
    """The Numbers tab's outputs, (annotated image, note); never raises into the page."""
    if source is None:
        return None, "Write a number (several digits on one line), or upload a picture of one."
    try:
        result = run(source)
        image = shown_image(source)
    except Exception as err:
        return None, problem_note(err)
    # Boxes are in the pixels the image was sent with; a big one is shown as decoded, reduced.
    sx, sy = (shown / sent for shown, sent in zip(image.size, original_size(image), strict=True))
    boxes = [((round(d.box[0] * sx), round(d.box[1] * sy), round(d.box[2] * sx), round(d.box[3] * sy)),
              f"{d.digit} ({d.confidence:.0%})") for d in result.digits]
    note = f"## {result.number}\n{len(result.digits)} digit(s), left to right."
    unsure = [f"**{d.digit}** (position {i + 1}, {d.confidence:.0%})"
              for i, d in enumerate(result.digits) if d.unsure]
    if unsure:
        note += " Not sure about " + ", ".join(unsure) + ": write it clearer, apart from the others."
    return (image, boxes), note


def read_number_sketch(sketch: dict | None):
    return number_outputs(number_in, sketch)


def read_number_drawing(url: str | None) -> tuple:
    try:
        png = drawpad.drawing(url)
    except InputError as err:
        return None, f"**Can't read this drawing:** {err}"
    return number_outputs(number_in, png)


def read_number_upload(path: str | None):
    return number_outputs(number_in_upload, path)


def read_number_api(path: str | None) -> dict:
    """The CLI's --number answer for one image file: the number and each digit's box, or an error."""
    return api_fields(number_in_upload, path, number_fields)


# MCP tools. Gradio names a tool after its function and builds its description from the docstring:
# the text, one line per argument, and the Returns lines joined with ", ". They answer JSON text
# because a dict would reach an MCP client as Python's repr.


def recognize_digit(image: str | None) -> str:
    """Reads the one handwritten digit (0-9) in an image: a photo, scan or drawing, any colours.

    Args:
        image: The image of one digit, as an http(s) URL or a data: URL (data:image/png;base64,...)

    Returns:
        JSON text, what the project's CLI prints: {"digit": 7, "confidence": 0.998, "probabilities": [...]}
        with "probabilities" the 10 chances of 0 to 9
        or, for an image that can't be read or holds no digit: {"digit": null, "error": "why, in words"}
    """
    return json.dumps(predict_api(image))


def read_number(image: str | None) -> str:
    """Reads a whole number handwritten on one line (several digits, read left to right) in an image.

    Args:
        image: The image of the number, as an http(s) URL or a data: URL (data:image/png;base64,...)

    Returns:
        JSON text, what the CLI's --number prints: {"number": "2026", "confidence": 0.97, "digits": [...]}
        with one {"digit", "confidence", "box": [x0, y0, x1, y1]} per digit, left to right
        or, for an image that can't be read or holds no digit: {"number": null, "error": "why, in words"}
    """
    return json.dumps(read_number_api(image))


def model_card_markdown(served: Path | None = None) -> str:
    """The model card as Markdown, marking the file being served (`served`, default model_path)."""
    served = Path(served or model_path)
    try:
        card = json.loads(CARD_PATH.read_text())
    except (OSError, ValueError):
        return f"Served: `{served.name}`. No model card at `{CARD_PATH}`."
    fp32, int8 = card["files"]["fp32"], card["files"]["int8"]

    def tag(entry: dict, kind: str) -> str:
        return f"{kind}, **served**" if entry["file"] == served.name else kind
    train = card.get("training") or {}
    per_class = " · ".join(f"{d}: {100 * a:.2f}%" for d, a in fp32["test_accuracy"]["per_class"].items())
    minutes = (train.get("wall_time_s") or 0) / 60
    return "\n".join([
        f"### {card['name']}: {card['parameters']:,} parameters",
        f"Served: `{served.name}`" + ("" if served.name in (fp32["file"], int8["file"])
                                      else " (not one of this card's files)"),
        "",
        "| file | size | MNIST test accuracy (onnxruntime) |",
        "|---|---:|---:|",
        f"| `{fp32['file']}` ({tag(fp32, 'fp32')}) | {fp32['bytes'] / 1024:.0f}&nbsp;KiB "
        f"| {100 * fp32['test_accuracy']['overall']:.2f}% |",
        f"| `{int8['file']}` ({tag(int8, 'static INT8')}) | {int8['bytes'] / 1024:.0f}&nbsp;KiB "
        f"| {100 * int8['test_accuracy']['overall']:.2f}% |",
        "",
        f"Per class (fp32): {per_class}",
        "",
        f"Trained with `{train.get('command')}` in {minutes:.1f} min on "
        f"{(train.get('machine') or {}).get('cpu', 'unknown CPU')} "
        f"({(train.get('machine') or {}).get('cores', '?')} cores).",
    ])


class SafeSketchpad(gr.Sketchpad):
    """gr.Sketchpad that passes an image it can't decode on to the handler as it came.

    Gradio opens every part of a sketch with PIL before the handler runs; an API client's bad
    file would end in Gradio's generic error instead of the Predictor's clear message.
    """

    def get_block_name(self) -> str:
        return "imageeditor"  # rendered by the editor's own frontend

    def convert_and_format_image(self, file, flatten_on_white: bool = False):
        try:
            return super().convert_and_format_image(file, flatten_on_white)
        except Exception:
            return str(file.path) if hasattr(file, "path") else bytes(file)


class UploadedImage(gr.Image):
    """gr.Image that hands the handler the uploaded file as it came.

    gr.Image opens uploads with PIL before the handler runs, so a bad file ends in Gradio's
    generic error; here the Predictor decodes it and says what is wrong.
    """

    is_template = True  # rendered by gr.Image's frontend

    def preprocess(self, payload):
        if payload is not None and payload.path is not None:
            return str(payload.path)
        return super().preprocess(payload)


class UploadedFile(gr.File):
    """gr.File(type="filepath") that hands the handler the uploaded file's path, and nothing more.

    Gradio 6.31's gr.File makes an empty temp file in its cache for every call and never deletes it.
    """

    is_template = True  # rendered by gr.File's frontend

    def example_payload(self) -> Any:  # the API page's example: one of the project's own images
        from gradio_client import handle_file

        return handle_file(EXAMPLE_FILE)

    def example_value(self) -> Any:
        return EXAMPLE_FILE

    def preprocess(self, payload):
        if isinstance(payload, ListFiles):
            payload = payload[0] if len(payload.root) else None
        return None if payload is None else str(payload.path)


def answer_column(kind: str, source: gr.components.Component, note: str,
                  read: Callable) -> tuple[gr.Label, gr.Markdown, gr.Image, gr.Radio]:
    """The column beside an input (kind "sketch" or "upload", the prefix of its elements' ids): the
    prediction, its note, what the model saw with the heatmap toggle, and the corrections control."""
    with gr.Column(elem_classes="answer"):  # page.py lays these out side by side on a phone
        label = gr.Label(num_top_classes=3, label="Prediction", elem_id=f"{kind}-label",
                         elem_classes="label-output")
        note_text = gr.Markdown(note, elem_id=f"{kind}-note", label="note", elem_classes="note")
        seen = gr.Image(label="What the model sees (28×28)", height=240, format="png", interactive=False,
                        elem_id=f"{kind}-seen", elem_classes="seen")
        view = gr.Radio(VIEWS, value=VIEW_OFF, label="Show where the model looked", elem_id=f"{kind}-view")
        corrections_ui.control(kind, source, read, predictor)
    return label, note_text, seen, view


with gr.Blocks(title="Handwritten digit recognizer", delete_cache=(60, 60)) as demo:
    gr.Markdown("# ✍️ Handwritten digit recognizer\nDraw a digit or upload a photo of one. "
                "The answer updates as you draw. For programs: the [REST API](/docs) (plain HTTP), "
                "or \"Use via API\" at the bottom (Gradio's clients and MCP).", elem_id="title")
    with gr.Tab("Draw"):
        with gr.Row():
            sketch = drawpad.pad("Draw one digit (0–9)", 360, 360, 18, "sketch",
                                 "Drawing area: draw one digit with the mouse, a finger or a pen")
            sketch_label, sketch_note, sketch_seen, sketch_view = answer_column(
                "sketch", sketch, "Draw a digit: the answer appears here.", read_drawing)
    with gr.Tab("Upload"):
        with gr.Row():
            upload = UploadedImage(label="A photo, scan or drawing of one digit", type="filepath",
                              sources=["upload", "webcam", "clipboard"], elem_id="upload")
            upload_label, upload_note, upload_seen, upload_view = answer_column(
                "upload", upload, "Upload an image.", digit_in_upload)
        gr.Examples(EXAMPLES, inputs=upload, label="Examples (click one)")
    with gr.Tab("Numbers"):
        with gr.Row():
            with gr.Column():
                with gr.Tab("Draw"):
                    number_sketch = drawpad.pad(
                        "Write a number on one line, digits apart", 720, 260, 14, "number-sketch",
                        "Drawing area: write a number on one line with the mouse, a finger or a pen")
                with gr.Tab("Upload"):
                    number_upload = UploadedImage(label="A photo or scan of a number", type="filepath",
                                                  sources=["upload", "webcam", "clipboard"],
                                                  elem_id="number-upload")
                    gr.Examples(NUMBER_EXAMPLES, inputs=number_upload, label="Examples")
            with gr.Column():
                number_note = gr.Markdown("Write a number: it is read as you write.",
                                          elem_id="number-result", label="note")
                number_boxes = gr.AnnotatedImage(label="Digits found", elem_id="number-boxes")
    with gr.Tab("Model"):
        model_card = gr.Markdown(model_card_markdown(), elem_id="model-card")
        gr.HTML(page.figures([
            (MODELS_DIR / "digitnet.curves.png", "Training curves",
             "Loss and accuracy per epoch on the training and test sets"),
            (MODELS_DIR / "digitnet.confusion.png", "Confusion matrix",
             "MNIST test digits: true digit against the model's answer"),
            (MODELS_DIR / "digitnet.mistakes.png", "Test digits it gets wrong",
             "The MNIST test digits the model reads wrong, each with its answer"),
        ]), elem_id="model-plots", js_on_load=None)

    # The UI's events stay callable by API clients (gradio_client, api_name=...) but "undocumented":
    # off the API page and off the MCP server, whose tools are the two below only.
    ui_event = {"api_visibility": "undocumented", "concurrency_limit": 4}
    sketch_outputs = [sketch_label, sketch_seen, sketch_note]
    sketch_view_kept, upload_view_kept = gr.State(VIEW_OFF), gr.State(VIEW_OFF)
    # The pads' own events: the drawing comes as the pad's value (a data URL), for the page only.
    pad_event = {"api_visibility": "private", "trigger_mode": "always_last", "show_progress": "hidden",
                 "queue": False}
    sketch.change(predict_drawing, [sketch, sketch_view_kept], sketch_outputs, **pad_event)
    sketch_view.change(with_view(predict_drawing), [sketch, sketch_view], [*sketch_outputs, sketch_view_kept],
                       show_progress="hidden", api_visibility="private", concurrency_limit=4)
    upload_outputs = [upload_label, upload_seen, upload_note]
    upload.change(predict_upload, [upload, upload_view_kept], upload_outputs,
                  api_name="predict_upload", show_progress="minimal", **ui_event)
    upload_view.change(with_view(predict_upload), [upload, upload_view], [*upload_outputs, upload_view_kept],
                       show_progress="hidden", api_visibility="private", concurrency_limit=4)

    number_sketch.change(read_number_drawing, number_sketch, [number_boxes, number_note], **pad_event)
    number_upload.change(read_number_upload, number_upload, [number_boxes, number_note],
                         api_name="read_number_upload", show_progress="minimal", **ui_event)

    # The sketch endpoints as the page had them before its pads: a gr.Sketchpad value in.
    sketch_api = SafeSketchpad(type="numpy", format="png", visible=False, label="sketch")
    gr.Button(visible=False).click(predict_sketch, [sketch_api, sketch_view_kept], sketch_outputs,
                                   api_name="predict_sketch",
                                   trigger_mode="always_last", **ui_event)
    gr.Button(visible=False).click(read_number_sketch, sketch_api, [number_boxes, number_note],
                                   api_name="read_number_sketch", trigger_mode="always_last", **ui_event)

    # API-only endpoints: one image file in, the CLI's JSON out (a dict, for gradio_client).
    api_image = UploadedFile(type="filepath", visible=False, label="image")
    api_result = gr.JSON(visible=False, label="result")
    # Batched: one queue slot answers up to 8 waiting calls, which lowers the server's CPU per call
    # and raises the calls a second it answers (gradio_client callers are bound by their own
    # client either way): `python -m bench.api --tune` measures it.
    gr.Button(visible=False).click(lambda image: [[predict_api(path) for path in image]], api_image,
                                   api_result, api_name="predict", batch=True, max_batch_size=8,
                                   concurrency_limit=1, api_visibility="undocumented")
    # /predict's answer plus "heatmap" and "seen": `python -m serving --explain`.
    gr.Button(visible=False).click(lambda path: predict_api(path, explain=True), api_image, api_result,
                                   api_name="explain", concurrency_limit=4, api_visibility="undocumented")
    gr.Button(visible=False).click(read_number_api, api_image, api_result, api_name="read_number",
                                   concurrency_limit=4, api_visibility="undocumented")

    # The MCP tools (and the API page's endpoints): JSON text out. queue=False: Gradio's MCP server
    # then calls them in-process. A queued tool goes through a loopback gradio_client, which is
    # slower and can't log in: with --auth every call failed.
    tool_result = gr.Textbox(visible=False, label="result_json")
    gr.Button(visible=False).click(recognize_digit, api_image, tool_result, api_name="recognize_digit",
                                   queue=False)
    gr.Button(visible=False).click(read_number, api_image, tool_result, api_name="read_number_json",
                                   queue=False)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Start the digit recognizer demo.")
    # Unset flags leave the address to GRADIO_SERVER_NAME / GRADIO_SERVER_PORT (set by Spaces).
    p.add_argument("--host", help="0.0.0.0 to serve your network (default: $GRADIO_SERVER_NAME "
                                  "or 127.0.0.1)")
    p.add_argument("--port", type=int, help="default: $GRADIO_SERVER_PORT or the first free from 7860")
    p.add_argument("--share", action="store_true", help="also open a public *.gradio.live link")
    p.add_argument("--model", type=Path, default=model_path)
    p.add_argument("--no-verify", action="store_true", help="skip the sha256 check against the model card")
    p.add_argument("--max-file-size", type=file_size, default="5mb",
                   help="largest upload accepted: a number and a unit, e.g. 500kb, 5mb, 1gb (default: 5mb)")
    p.add_argument("--auth", metavar="USER:PASSWORD",
                   help=f"require this login for the page and every API (${access.AUTH_ENV} does the "
                        "same and stays out of the process list)")
    p.add_argument("--auth-file", type=Path, metavar="FILE", help="more users: one USER:PASSWORD a line")
    p.add_argument("--no-mcp", action="store_true", help="don't serve the MCP tools at /gradio_api/mcp/")
    corrections_ui.add_arguments(p)  # --corrections PATH and its limits (issue #17)
    p.add_argument("--client-timeout", type=positive_seconds, default=timeouts.DEFAULT_TIMEOUT_S,
                   metavar="SECONDS", help="time a client gets to send a request's headers, and between "
                                           "parts of its body, before 408 (default: %(default)s)")
    p.add_argument("--cache-max-age", type=positive_seconds, default=cache.DEFAULT_MAX_AGE_S,
                   metavar="SECONDS", help="uploads are deleted from the cache this long after they came "
                                           "(default: %(default)s)")
    return p.parse_args(argv)


def file_size(text: str) -> str:
    """--max-file-size: a positive whole number and a unit (b, kb, mb, gb), as launch() takes it."""
    match = re.fullmatch(r"\s*(\d+)\s*(b|kb|mb|gb)\s*", text, re.IGNORECASE)
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size: give a whole number and a unit, "
                                         "e.g. 500kb, 5mb or 1gb")
    if int(match.group(1)) == 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return f"{match.group(1)}{match.group(2).lower()}"


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, not {text}")
    return value


def server_settings(args: argparse.Namespace, users: access.Users,
                    corrections: Any) -> dict[str, Any]:
    """launch()'s app_kwargs: the REST API (with /api/corrections), slow clients timed out, the
    cache swept, the login."""
    import rest  # the REST API (/api/predict, /docs) on this same server: see rest.py
    from corrections_api import corrections_routes

    timeouts.install(args.client_timeout)  # request heads: see timeouts.py
    janitor = cache.Janitor(CACHE_DIR, args.cache_max_age)
    app_kwargs = rest.app_kwargs(predictor, extra_routes=[corrections_routes(corrections)])
    app_kwargs["lifespan"] = cache.with_janitor(app_kwargs.get("lifespan"), janitor)
    app_kwargs["exception_handlers"] = {OSError: cache.no_room_handler(janitor, args.client_timeout)}
    # The login first: a stranger gets 401 before any body is read. Then slow bodies: 408.
    guard = [Middleware(access.LoginRequired, users=users)] if users else []  # see access.py
    app_kwargs["middleware"] = [*guard, Middleware(timeouts.BodyTimeout, timeout_s=args.client_timeout)]
    return app_kwargs


@contextmanager
def sigterm_as_ctrl_c() -> Iterator[None]:
    """While the app runs, SIGTERM (docker stop, systemd, a Space restarting) ends it as Ctrl-C
    does: Gradio closes the server and the cache directory is removed, instead of the process
    just dying."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield  # `gradio demo.py` re-runs the file in a thread when it changes; only the first run
        return  # (the main thread) can take signals, and it already did
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def server_address(args: argparse.Namespace) -> tuple[str, int | None]:
    """(host, port): the flags, else Gradio's environment variables, else 127.0.0.1 and None
    (Gradio then takes the first free port from 7860)."""
    host = args.host or os.environ.get("GRADIO_SERVER_NAME") or "127.0.0.1"
    if args.port is not None:
        return host, args.port
    port = os.environ.get("GRADIO_SERVER_PORT", "").strip()
    if not port:
        return host, None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"GRADIO_SERVER_PORT={port!r} is not a port number (1-65535)")
    return host, int(port)


def main(argv: list[str] | None = None) -> None:
    global model_path, verify_model
    args = parse_args(argv)
    model_path, verify_model = args.model, not args.no_verify
    try:
        host, port = server_address(args)
        users = access.load_users(args.auth, args.auth_file)
        predictor()
        model_card.value = model_card_markdown(model_path)  # the page's config is built at launch
        corrections = corrections_ui.enable(args)
    except (ModelError, ValueError) as err:  # access.AuthError is a ValueError
        sys.exit(f"error: {err}")
    if warning := access.open_warning(host, args.share, users):
        print(warning, flush=True)
    app_kwargs = server_settings(args, users, corrections)
    with sigterm_as_ctrl_c():
        demo.queue(default_concurrency_limit=4).launch(
            server_name=host, server_port=port, share=args.share, max_file_size=args.max_file_size,
            footer_links=["api"], app_kwargs=app_kwargs, auth=list(users.items()) or None,
            auth_message="Log in with the user name and password you were given.",
            mcp_server=not args.no_mcp, css=page.CSS, js=page.JS,
        )


if __name__ == "__main__":
    main()
