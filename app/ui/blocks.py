"""The page: Draw, Upload, Numbers and Model tabs over one Reader, and the Gradio API's endpoints."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import gradio as gr

from app.corrections import Corrections
from app.settings import CONCURRENCY
from app.ui import api, corrections
from app.ui.answers import (
    EMPTY_NOTES,
    EMPTY_NUMBER,
    VIEW_OFF,
    VIEWS,
    digit_outputs,
    number_outputs,
    page_outputs,
)
from app.ui.components import SafeSketchpad, UploadedImage
from app.ui.model_card import PLOTS, figures, model_card_markdown, number_model_markdown
from serving import Reader

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
UI_DIR = Path(__file__).parent
# The page's own CSS and JavaScript, for launch(): each file says what it mends in Gradio's page.
CSS, JS = ((UI_DIR / f"page.{end}").read_text() for end in ("css", "js"))
# The drawing pads: a plain <canvas> in a gr.HTML whose value is the drawing as a PNG data URL (strokes
# on a transparent field), set the moment the pen lifts (docs/app.md, "An answer as the pen lifts").
# Setting it fires the pad's `change`, whose request carries it (not as event data: with
# trigger_mode="always_last" Gradio re-sends a deferred event without its data).
PAD_HTML, PAD_CSS, PAD_JS = ((UI_DIR / f"drawpad.{end}").read_text() for end in ("html", "css", "js"))
# The API page is also "Use via API" in the footer, which a phone shows only at the very end.
TITLE = ("# ✍️ Handwritten digit recognizer\nDraw a digit or upload a photo of one. The answer updates as "
         "you draw. For programs: the [REST API](/docs) (plain HTTP), or [Gradio's clients and "
         "MCP](?view=api&lang=python).")
# The UI's events stay callable by API clients (gradio_client, api_name=...) but "undocumented":
# off the API page and off the MCP server, whose tools are app/ui/api.py's only.
UI_EVENT = {"api_visibility": "undocumented", "concurrency_limit": CONCURRENCY}
# The pads' own events: the drawing comes as the pad's value (a data URL), for the page only.
PAD_EVENT = {"api_visibility": "private", "trigger_mode": "always_last", "show_progress": "hidden",
             "queue": False}
# The Numbers pad in canvas pixels: a wide line on a laptop; on a phone, 3:2, so that a finger has
# about 350×230 screen pixels to write in rather than 350×125.
NUMBER_PAD, NUMBER_PAD_PHONE = (720, 260), (720, 480)
VIEW_EVENT = {"show_progress": "hidden", "api_visibility": "private", "concurrency_limit": CONCURRENCY}


def examples(pattern: str) -> list[str]:
    return sorted(str(p) for p in EXAMPLES_DIR.glob(pattern))


def build(reader: Reader, corrections_on: Corrections | None = None) -> gr.Blocks:
    """The app's page over `reader`; the corrections control shows when `corrections_on` is given."""
    with gr.Blocks(title="Handwritten digit recognizer", delete_cache=(60, 60)) as demo:
        gr.Markdown(TITLE, elem_id="title")
        with gr.Tab("Draw"):
            with gr.Row():
                pad = drawpad("Draw one digit (0–9)", (360, 360), 18, "sketch",
                              "Drawing area: draw one digit with the mouse, a finger or a pen")
                digits, view = answer_column("pad", "sketch", pad, reader, corrections_on)
            view_kept = digit_events(pad, digits, view, partial(digit_outputs, reader, "pad"), **PAD_EVENT)
        with gr.Tab("Upload"):
            with gr.Row():
                upload = UploadedImage(label="A photo, scan or drawing of one digit", type="filepath",
                                       sources=["upload", "webcam", "clipboard"], elem_id="upload")
                outputs, view = answer_column("upload", "upload", upload, reader, corrections_on)
            gr.Examples(examples("[0-9]_*.*"), inputs=upload, label="Examples (click one)")
            digit_events(upload, outputs, view, partial(digit_outputs, reader, "upload"),
                         api_name="predict_upload", show_progress="minimal", **UI_EVENT)
        with gr.Tab("Numbers"):
            numbers = numbers_tab(reader)
        with gr.Tab("Model"):
            gr.Markdown(model_card_markdown(reader.digits.model_path), elem_id="model-card")
            gr.HTML(figures(PLOTS), elem_id="model-plots", js_on_load=None)
            gr.Markdown(number_model_markdown(), elem_id="number-model-card")
        # The sketch endpoints as the page had them before its pads: a gr.Sketchpad value in, the Draw
        # tab's or the Numbers tab's outputs out.
        sketch = SafeSketchpad(type="numpy", format="png", visible=False, label="sketch")
        gr.Button(visible=False).click(partial(digit_outputs, reader, "sketch"), [sketch, view_kept], digits,
                                       api_name="predict_sketch", trigger_mode="always_last", **UI_EVENT)
        gr.Button(visible=False).click(partial(number_outputs, reader, "sketch"), sketch, numbers,
                                       api_name="read_number_sketch", trigger_mode="always_last", **UI_EVENT)
        api.add_endpoints(reader)
    return demo


def answer_column(kind: str, elem: str, source: gr.components.Component, reader: Reader,
                  corrections_on: Corrections | None) -> tuple[list, gr.Radio]:
    """The column beside a digit input (`elem`: "sketch" or "upload", the prefix of its elements'
    ids): the prediction, its note, what the model saw with the heatmap toggle, the corrections."""
    with gr.Column(elem_classes="answer"):  # page.css lays these out side by side on a phone
        label = gr.Label(num_top_classes=3, label="Prediction", elem_id=f"{elem}-label",
                         elem_classes="label-output")
        note_text = gr.Markdown(EMPTY_NOTES[kind], elem_id=f"{elem}-note", label="note", elem_classes="note")
        # No fullscreen/download/share buttons: on a phone they covered the picture's label.
        seen = gr.Image(label="What the model sees (28×28)", height=240, format="png", interactive=False,
                        elem_id=f"{elem}-seen", elem_classes="seen", buttons=[])
        view = gr.Radio(VIEWS, value=VIEW_OFF, label="Show where the model looked", elem_id=f"{elem}-view")
        corrections.control(kind, source, reader, corrections_on)
    return [label, seen, note_text], view


def digit_events(source: gr.components.Component, outputs: list, view: gr.Radio,
                 handler: partial, **event) -> gr.State:
    """The input's own event, and the heatmap toggle's. The input's event takes the view from a
    gr.State, not from the toggle itself: API clients (gradio_client) fill a State in by themselves,
    so an endpoint such as /predict_upload keeps its one parameter."""
    view_kept = gr.State(VIEW_OFF)
    source.change(handler, [source, view_kept], outputs, **event)
    view.change(lambda value, shown: (*handler(value, shown), shown), [source, view],
                [*outputs, view_kept], **VIEW_EVENT)
    return view_kept


def drawpad(title: str, canvas: tuple[int, int], size: int, elem_id: str, canvas_label: str,
            phone_size: tuple[int, int] | None = None) -> gr.HTML:
    """A drawing pad of `canvas` (width, height) canvas pixels, `phone_size` on a phone-sized window
    (default: the same); its value is the drawing as a PNG data URL, None when blank, and each pen
    lift (and undo, clear) fires its `change`."""
    (width, height), (phone_width, phone_height) = canvas, phone_size or canvas
    return gr.HTML(
        value=None, html_template=PAD_HTML, css_template=PAD_CSS, js_on_load=PAD_JS, elem_id=elem_id,
        title=title, width=width, height=height, phone_width=phone_width, phone_height=phone_height,
        size=size, max_size=max(40, 2 * size), canvas_label=canvas_label, apply_default_css=False,
    )


def numbers_tab(reader: Reader) -> list:
    with gr.Row():
        with gr.Column():
            with gr.Tab("Draw"):
                pad = drawpad(
                    "Write numbers: one, or several on several lines", NUMBER_PAD, 14, "number-sketch",
                    "Drawing area: write numbers with the mouse, a finger or a pen",
                    phone_size=NUMBER_PAD_PHONE)
            with gr.Tab("Upload"):
                upload = UploadedImage(label="A photo or scan of a number or a page of numbers",
                                       type="filepath", sources=["upload", "webcam", "clipboard"],
                                       elem_id="number-upload")
                gr.Examples(examples("number_*.*"), inputs=upload, label="Examples")
        with gr.Column():
            note = gr.Markdown(EMPTY_NUMBER, elem_id="number-result", label="note")
            boxes = gr.AnnotatedImage(label="Numbers found", elem_id="number-boxes")
    outputs = [boxes, note]
    pad.change(partial(page_outputs, reader, "pad"), pad, outputs, **PAD_EVENT)
    upload.change(partial(page_outputs, reader, "upload"), upload, outputs, api_name="read_number_upload",
                  show_progress="minimal", **UI_EVENT)
    return outputs
