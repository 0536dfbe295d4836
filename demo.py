"""The Gradio app: draw or upload a digit and get the answer with its confidence.

    python demo.py [--host 127.0.0.1] [--port 7860] [--share] [--model models/digitnet.onnx]
    gradio demo.py          # hot reload while editing (DIGIT_MODEL picks another model)

API endpoints (see README): /predict (image file → the CLI's JSON) and the UI's own events.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image

from serving import InputError, ModelError, NoDigitError, Predictor
from serving.predictor import DEFAULT_MODEL, MODELS_DIR

ROOT = Path(__file__).resolve().parent
EXAMPLES = sorted(str(p) for p in (ROOT / "examples").glob("[0-9]_*.*"))
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


def read_upload(path: str, attempts: int = 3):
    """The uploaded file's bytes, decoded by the Predictor.

    Gradio stores uploads under a content hash, so clients sending the very same file at once
    share one path, and a request can see it while another is still writing it: retry briefly.
    """
    for attempt in range(attempts):
        try:
            return predictor().predict(Path(path).read_bytes())
        except (InputError, OSError) as err:
            if isinstance(err, NoDigitError) or attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


def enlarged(model_input: np.ndarray) -> Image.Image:
    return Image.fromarray((model_input * 255).astype(np.uint8)).resize((224, 224), Image.NEAREST)


def note_for(result) -> str:
    top = sorted(range(10), key=lambda d: -result.probabilities[d])
    if result.unsure:
        return (f"**Not sure.** It looks most like a **{top[0]}** ({result.confidence:.0%}), but "
                f"it could be a **{top[1]}** ({result.probabilities[top[1]]:.0%}). Try writing "
                "it larger, centred, one digit only.")
    return f"It's a **{result.digit}** ({result.confidence:.0%} sure)."


def answer(run, source):
    """(label, what the model saw, note) for the UI; never raises into the page."""
    if source is None:
        return None, None, "Draw a digit, or upload a picture of one."
    try:
        result = run(source)
    except NoDigitError as err:
        return None, None, f"**No digit found.** {str(err).removeprefix('no digit found: ').capitalize()}"
    except InputError as err:
        return None, None, f"**Can't read this image:** {err}"
    except Exception:  # the page must keep working whatever a file does to a decoder
        LOG.exception("unexpected error")
        return None, None, "**Something went wrong reading this image.** Try another file."
    return result.top(3), enlarged(result.model_input), note_for(result)


def predict_sketch(sketch: dict | None):
    return answer(predictor().predict, sketch)


def predict_upload(path: str | None):
    return answer(read_upload, path)


def predict_api(path: str | None) -> dict:
    """The CLI's answer for one image file: digit, confidence, probabilities, or an error."""
    if path is None:
        return {"digit": None, "error": "no file was sent: send an image file"}
    try:
        result = read_upload(path)
    except InputError as err:
        return {"digit": None, "error": str(err)}
    except Exception:
        LOG.exception("unexpected error")
        return {"digit": None, "error": "the image could not be read"}
    return {"digit": result.digit, "confidence": round(result.confidence, 6),
            "probabilities": [round(p, 6) for p in result.probabilities]}


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


with gr.Blocks(title="Handwritten digit recognizer", delete_cache=(60, 60)) as demo:
    gr.Markdown("# ✍️ Handwritten digit recognizer\nDraw a digit or upload a photo of one. "
                "The answer updates as you draw.")
    with gr.Tab("Draw"):
        with gr.Row():
            sketch = gr.Sketchpad(
                label="Draw one digit (0–9)", canvas_size=(360, 360), height=460, type="numpy",
                format="png", elem_classes="autobrush",
                brush=gr.Brush(default_size=18, colors=["#2563eb", "#000000", "#ffffff", "#dc2626"],
                               default_color="#2563eb", color_mode="defaults"),
                layers=False, transforms=(), elem_id="sketch",
            )
            with gr.Column():
                sketch_label = gr.Label(num_top_classes=3, label="Prediction", elem_id="sketch-label")
                sketch_note = gr.Markdown("Draw a digit: the answer appears here.", elem_id="sketch-note")
                sketch_seen = gr.Image(label="What the model sees (28×28)", height=240,
                                       interactive=False, elem_id="sketch-seen")
    with gr.Tab("Upload"):
        with gr.Row():
            upload = UploadedImage(label="A photo, scan or drawing of one digit", type="filepath",
                              sources=["upload", "webcam", "clipboard"], elem_id="upload")
            with gr.Column():
                upload_label = gr.Label(num_top_classes=3, label="Prediction", elem_id="upload-label")
                upload_note = gr.Markdown("Upload an image.", elem_id="upload-note")
                upload_seen = gr.Image(label="What the model sees (28×28)", height=240,
                                       interactive=False, elem_id="upload-seen")
        gr.Examples(EXAMPLES, inputs=upload, label="Examples (click one)")
    with gr.Tab("Model"):
        gr.Markdown(model_card_markdown())
        with gr.Row():
            for name, title in (("curves", "Training curves"), ("confusion", "Confusion matrix")):
                if plot(name):
                    gr.Image(plot(name), label=title, interactive=False)
        if plot("mistakes"):
            gr.Image(plot("mistakes"), label="Test digits it gets wrong", interactive=False)

    demo.load(None, js=AUTO_BRUSH_JS)
    sketch_outputs = [sketch_label, sketch_seen, sketch_note]
    sketch.change(predict_sketch, sketch, sketch_outputs, api_name="predict_sketch",
                  trigger_mode="always_last", show_progress="hidden", concurrency_limit=4)
    upload.change(predict_upload, upload, [upload_label, upload_seen, upload_note],
                  api_name="predict_upload", show_progress="minimal", concurrency_limit=4)

    # API-only endpoint: one image file in, the CLI's JSON out.
    api_image = gr.File(type="filepath", visible=False)
    api_result = gr.JSON(visible=False)
    gr.Button(visible=False).click(predict_api, api_image, api_result, api_name="predict",
                                   concurrency_limit=4)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Start the digit recognizer demo.")
    p.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to serve your network")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--share", action="store_true", help="also open a public *.gradio.live link")
    p.add_argument("--model", type=Path, default=model_path)
    p.add_argument("--max-file-size", default="5mb", help="largest upload accepted, e.g. 5mb")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    global model_path
    args = parse_args(argv)
    model_path = args.model
    try:
        predictor()
    except ModelError as err:
        sys.exit(f"error: {err}")
    demo.queue(default_concurrency_limit=4).launch(
        server_name=args.host, server_port=args.port, share=args.share,
        max_file_size=args.max_file_size, footer_links=["api"],
    )


if __name__ == "__main__":
    main()
