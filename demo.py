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
import signal
import sys
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
import timeouts
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
LOG = logging.getLogger("demo")

_predictor: Predictor | None = None
model_path = Path(os.environ.get("DIGIT_MODEL", DEFAULT_MODEL))


def predictor() -> Predictor:
    """The process's one Predictor (one onnxruntime session), made on first use."""
    global _predictor
    if _predictor is None:
        _predictor = Predictor(model_path)
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


def digit_in_upload(path: str, explain: bool = False):
    return from_upload(lambda data: predictor().predict(data, explain=explain), path)


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
        return (f"**Not sure.** It looks most like a **{top[0]}** ({result.confidence:.0%}), but "
                f"it could be a **{top[1]}** ({result.probabilities[top[1]]:.0%}). Try writing "
                "it larger, centred, one digit only.")
    return f"It's a **{result.digit}** ({result.confidence:.0%} sure)."


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
    return digit_outputs(lambda source, explain: predictor().predict(source, explain=explain), sketch, view)


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
    return from_upload(lambda data: read_number_in(predictor(), data), path)


def shown_image(source) -> Image.Image:
    """The picture to draw the boxes on, upright as the boxes are (EXIF applied)."""
    if isinstance(source, dict):
        for key in ("composite", "background"):
            if source.get(key) is not None:
                return open_image(source[key]).convert("RGBA")
        strokes = Image.fromarray(np.asarray(source["layers"][0]))
        return Image.alpha_composite(Image.new("RGBA", strokes.size, "white"), strokes.convert("RGBA"))
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
    return number_outputs(lambda value: read_number_in(predictor(), value), sketch)


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


def model_card_markdown() -> str:
    try:
        card = json.loads(CARD_PATH.read_text())
    except (OSError, ValueError):
        return f"No model card at `{CARD_PATH}`."
    fp32, int8 = card["files"]["fp32"], card["files"]["int8"]
    train = card.get("training") or {}
    per_class = " · ".join(f"{d}: {100 * a:.2f}%" for d, a in fp32["test_accuracy"]["per_class"].items())
    minutes = (train.get("wall_time_s") or 0) / 60
    return "\n".join([
        f"### {card['name']}: {card['parameters']:,} parameters",
        "| file | size | MNIST test accuracy (onnxruntime) |",
        "|---|---:|---:|",
        f"| `{fp32['file']}` (fp32, served) | {fp32['bytes'] / 1024:.0f} KiB "
        f"| {100 * fp32['test_accuracy']['overall']:.2f}% |",
        f"| `{int8['file']}` (static INT8) | {int8['bytes'] / 1024:.0f} KiB "
        f"| {100 * int8['test_accuracy']['overall']:.2f}% |",
        "",
        f"Per class (fp32): {per_class}",
        "",
        f"Trained with `{train.get('command')}` in {minutes:.1f} min on "
        f"{(train.get('machine') or {}).get('cpu', 'unknown CPU')} "
        f"({(train.get('machine') or {}).get('cores', '?')} cores).",
    ])


def plot(name: str) -> str | None:
    path = MODELS_DIR / f"digitnet.{name}.png"
    return str(path) if path.exists() else None


# Gradio's sketchpad starts with no tool selected and ignores strokes until the user finds the
# Brush button. Select it whenever a sketchpad shows with no tool active (on load, after Clear).
AUTO_BRUSH_JS = """
() => {
  const pick = () => document.querySelectorAll('.autobrush').forEach((pad) => {
    const brush = pad.querySelector('button[aria-label="Brush"]');
    const tools = pad.querySelectorAll(
      'button[aria-label="Brush"], button[aria-label="Erase"], button[aria-label="Pan"]');
    if (brush && ![...tools].some((b) => b.classList.contains('highlight'))) brush.click();
  });
  new MutationObserver(pick).observe(document.body, {childList: true, subtree: true});
  pick();
}
"""


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

    def preprocess(self, payload):
        if isinstance(payload, ListFiles):
            payload = payload[0] if len(payload.root) else None
        return None if payload is None else str(payload.path)


def answer_column(kind: str, source: gr.components.Component, note: str,
                  read: Callable) -> tuple[gr.Label, gr.Markdown, gr.Image, gr.Radio]:
    """The column beside an input (kind "sketch" or "upload", the prefix of its elements' ids): the
    prediction, its note, what the model saw with the heatmap toggle, and the corrections control."""
    with gr.Column():
        label = gr.Label(num_top_classes=3, label="Prediction", elem_id=f"{kind}-label")
        note_text = gr.Markdown(note, elem_id=f"{kind}-note")
        seen = gr.Image(label="What the model sees (28×28)", height=240, interactive=False,
                        elem_id=f"{kind}-seen")
        view = gr.Radio(VIEWS, value=VIEW_OFF, label="Show where the model looked", elem_id=f"{kind}-view")
        corrections_ui.control(kind, source, read, predictor)
    return label, note_text, seen, view


with gr.Blocks(title="Handwritten digit recognizer", delete_cache=(60, 60)) as demo:
    gr.Markdown("# ✍️ Handwritten digit recognizer\nDraw a digit or upload a photo of one. "
                "The answer updates as you draw.")
    with gr.Tab("Draw"):
        with gr.Row():
            sketch = SafeSketchpad(
                label="Draw one digit (0–9)", canvas_size=(360, 360), height=460, type="numpy",
                format="png", elem_classes="autobrush",
                brush=gr.Brush(default_size=18, colors=["#2563eb", "#000000", "#ffffff", "#dc2626"],
                               default_color="#2563eb", color_mode="defaults"),
                layers=False, transforms=(), elem_id="sketch",
            )
            sketch_label, sketch_note, sketch_seen, sketch_view = answer_column(
                "sketch", sketch, "Draw a digit: the answer appears here.", lambda s: predictor().predict(s))
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
                    number_sketch = SafeSketchpad(
                        label="Write a number on one line, digits apart", canvas_size=(720, 260),
                        height=380, type="numpy", format="png", elem_classes="autobrush",
                        brush=gr.Brush(default_size=14, colors=["#2563eb", "#000000", "#ffffff"],
                                       default_color="#2563eb", color_mode="defaults"),
                        layers=False, transforms=(), elem_id="number-sketch",
                    )
                with gr.Tab("Upload"):
                    number_upload = UploadedImage(label="A photo or scan of a number", type="filepath",
                                                  sources=["upload", "webcam", "clipboard"],
                                                  elem_id="number-upload")
                    gr.Examples(NUMBER_EXAMPLES, inputs=number_upload, label="Examples")
            with gr.Column():
                number_note = gr.Markdown("Write a number: it is read as you write.",
                                          elem_id="number-result")
                number_boxes = gr.AnnotatedImage(label="Digits found", elem_id="number-boxes")
    with gr.Tab("Model"):
        gr.Markdown(model_card_markdown())
        with gr.Row():
            for name, title in (("curves", "Training curves"), ("confusion", "Confusion matrix")):
                if plot(name):
                    gr.Image(plot(name), label=title, interactive=False)
        if plot("mistakes"):
            gr.Image(plot("mistakes"), label="Test digits it gets wrong", interactive=False)

    demo.load(None, js=AUTO_BRUSH_JS)
    # The UI's events stay callable by API clients (gradio_client, api_name=...) but "undocumented":
    # off the API page and off the MCP server, whose tools are the two below only.
    ui_event = {"api_visibility": "undocumented", "concurrency_limit": 4}
    sketch_outputs = [sketch_label, sketch_seen, sketch_note]
    sketch_view_kept, upload_view_kept = gr.State(VIEW_OFF), gr.State(VIEW_OFF)
    sketch.change(predict_sketch, [sketch, sketch_view_kept], sketch_outputs, api_name="predict_sketch",
                  trigger_mode="always_last", show_progress="hidden", **ui_event)
    sketch_view.change(with_view(predict_sketch), [sketch, sketch_view], [*sketch_outputs, sketch_view_kept],
                       show_progress="hidden", api_visibility="private", concurrency_limit=4)
    upload_outputs = [upload_label, upload_seen, upload_note]
    upload.change(predict_upload, [upload, upload_view_kept], upload_outputs,
                  api_name="predict_upload", show_progress="minimal", **ui_event)
    upload_view.change(with_view(predict_upload), [upload, upload_view], [*upload_outputs, upload_view_kept],
                       show_progress="hidden", api_visibility="private", concurrency_limit=4)

    number_sketch.change(read_number_sketch, number_sketch, [number_boxes, number_note],
                         api_name="read_number_sketch", trigger_mode="always_last",
                         show_progress="hidden", **ui_event)
    number_upload.change(read_number_upload, number_upload, [number_boxes, number_note],
                         api_name="read_number_upload", show_progress="minimal", **ui_event)

    # API-only endpoints: one image file in, the CLI's JSON out (a dict, for gradio_client).
    api_image = UploadedFile(type="filepath", visible=False)
    api_result = gr.JSON(visible=False)
    # Batched: one queue slot answers up to 8 waiting calls, which lowers the server's CPU per call
    # and raises the calls a second it answers (gradio_client callers are bound by their own
    # client either way): `python -m bench.api --tune` measures it.
    gr.Button(visible=False).click(lambda paths: [[predict_api(path) for path in paths]], api_image,
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
    tool_result = gr.Textbox(visible=False)
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
    p.add_argument("--max-file-size", default="5mb", help="largest upload accepted, e.g. 5mb")
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
    global model_path
    args = parse_args(argv)
    model_path = args.model
    try:
        host, port = server_address(args)
        users = access.load_users(args.auth, args.auth_file)
        predictor()
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
            mcp_server=not args.no_mcp,
        )


if __name__ == "__main__":
    main()
