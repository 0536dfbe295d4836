"""The page's drawing pad: a plain <canvas> in a gr.HTML whose value is the drawing as a PNG data URL,
set the moment the pen lifts (docs/app.md, "An answer as the pen lifts": gr.Sketchpad's export
waits on canvas.toBlob(), about a second later, then uploads each layer several times). Setting the
value fires the pad's `change`, whose request carries it (not as event data: with
trigger_mode="always_last" Gradio re-sends a deferred event without its data). The PNG holds the
strokes on a transparent field, in the canvas's own pixels; app/inputs.py reads it.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

TEMPLATE, CSS, JS = ((Path(__file__).parent / f"drawpad.{end}").read_text() for end in ("html", "css", "js"))


def pad(title: str, canvas: tuple[int, int], size: int, elem_id: str, canvas_label: str,
        phone_size: tuple[int, int] | None = None) -> gr.HTML:
    """A drawing pad of `canvas` (width, height) canvas pixels, `phone_size` on a phone-sized window
    (default: the same); its value is the drawing as a PNG data URL, None when blank, and each pen
    lift (and undo, clear) fires its `change`."""
    (width, height), (phone_width, phone_height) = canvas, phone_size or canvas
    return gr.HTML(
        value=None, html_template=TEMPLATE, css_template=CSS, js_on_load=JS, elem_id=elem_id,
        title=title, width=width, height=height, phone_width=phone_width, phone_height=phone_height,
        size=size, max_size=max(40, 2 * size), canvas_label=canvas_label, apply_default_css=False,
    )

