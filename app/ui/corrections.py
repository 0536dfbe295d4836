"""The "Wrong? It's a [0–9]" control under a digit tab's answer (shown with --corrections PATH): a click
re-reads the tab's drawing or upload (the same 28×28 input and answer the page shows) and keeps its
correction; "Undo" takes it back, from the same page (its Gradio session), for UNDO_WINDOW_S.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import gradio as gr

from app.corrections import UNDO_WINDOW_TEXT, Corrections, Refused
from app.inputs import read_input
from app.settings import CONCURRENCY
from app.ui.answers import a_digit
from serving import InputError, Reader

LOG = logging.getLogger("app")
KEPT = ("<small>One click keeps, to teach the model: **the 28×28 picture shown above** (what the "
        "model saw), **the digit you click**, **the model's answer and its confidence**, **which "
        "model** answered (its fingerprint), whether it was **drawn or uploaded**, and **the time**. "
        "Nothing else: not your drawing or file as you made it, not its name, not your IP address, "
        "no cookie. Your address is used only in memory, to limit how often one visitor can "
        "send.</small>")
NOTHING = {"sketch": "Draw a digit first, then click the digit it really is.",
           "upload": "Upload a picture of a digit first, then click the digit it really is."}
SOURCE = {"pad": "sketch", "upload": "upload"}  # the tab's input kind → the source a correction records


def control(kind: str, image: gr.components.Component, reader: Reader,
            corrections: Corrections | None) -> None:
    """Builds the control for `image` (kind "pad": the Draw tab's pad; "upload") where it is called."""
    source = SOURCE[kind]
    with gr.Group(visible=corrections is not None):
        digit = gr.Radio(list(range(10)), value=None, label="Wrong? It's a", elem_id=f"{source}-correct")
        note = gr.Markdown(KEPT, elem_id=f"{source}-correct-note")
        undo = gr.Button(f"Undo: don't keep it (for {UNDO_WINDOW_TEXT})", visible=False, size="sm",
                         elem_id=f"{source}-undo")
    sent = gr.State(None)  # the id of this page's last correction, while it may be taken back

    def correct(value: Any, label: int | None, request: gr.Request) -> tuple:
        client = request.client.host if request and request.client else None
        said, kept = keep_correction(corrections, source, value, label, client,
                                     lambda v: read_input(kind, v, reader.read_digit), reader,
                                     session(request))
        return None, said, kept, gr.Button(visible=kept is not None)

    def take_back(kept: int | None, request: gr.Request) -> tuple:
        said, still = undo_note(corrections, kept, session(request))
        return said, kept if still else None, gr.Button(visible=still)

    # .input: only a person's click, not the reset to None that follows it.
    digit.input(correct, [image, digit], [digit, note, sent, undo], api_name=f"correct_{source}",
                api_visibility="undocumented", concurrency_limit=CONCURRENCY, show_progress="hidden")
    undo.click(take_back, sent, [note, sent, undo], api_visibility="private", show_progress="hidden")
    # A new drawing or upload: the note goes back to saying what a click keeps (in the browser only).
    image.change(None, None, note, js=f"() => {json.dumps(KEPT)}")


def session(request: gr.Request | None) -> str:
    """Who sent a correction from the page: its Gradio session (one per open page), in memory only."""
    return f"page {getattr(request, 'session_hash', None)}"


def keep_correction(corrections: Corrections | None, source: str, value: Any, label: int | None,
                    client: str | None, read: Callable[[Any], Any], reader: Reader,
                    sender: str | None = None) -> tuple[str, int | None]:
    """Keeps the correction of `value` (as `read` reads it), which `sender` may take back: (what the
    note says, in plain words, and the kept correction's id, None when it was not kept); never raises."""
    if corrections is None:
        return "Corrections are off on this server.", None
    if label is None:
        return KEPT, None
    if value is None:
        return f"**Not kept.** {NOTHING[source]}", None
    try:
        corrections.admit(client)
        result = read(value)
        if result is None:  # a pad's value that holds no drawing
            return f"**Not kept.** {NOTHING[source]}", None
        kept = corrections.add(reader.digits, result, label, source, sender)
    except Refused as err:
        return f"**Not kept:** {err.message}", None
    except InputError as err:
        return f"**Not kept:** there is no digit to correct ({err}).", None
    except Exception:  # the page must keep working whatever happens to the database
        LOG.exception("a correction could not be kept")
        return "**Not kept:** something went wrong saving it. Try again later.", None
    return (f"**Thank you!** Kept as {a_digit(label)} (the model said {result.digit}, "
            f"{result.confidence:.0%} sure).\n\n{KEPT}"), kept


def undo_note(corrections: Corrections | None, kept: int | None, sender: str) -> tuple[str, bool]:
    """Takes this page's last correction back if it still may be: (what the note says, whether it
    may still be taken back)."""
    try:
        if corrections is None or kept is None:
            raise Refused(404, "nothing to take back")
        corrections.take_back(kept, sender)
    except Refused as err:
        if err.status == 404:
            return (f"**Too late to take it back:** a correction can be taken back for {UNDO_WINDOW_TEXT} "
                    f"after sending it. It stays kept.\n\n{KEPT}"), False
        LOG.warning("a correction could not be taken back: %s", err)
        return "**Not taken back:** the database is busy. Try again in a moment.", True
    return f"**Taken back.** That correction is not kept.\n\n{KEPT}", False
