"""The demo's "Wrong? It's a [0–9]" control and its flags (issue #17); the store is serving/corrections.py.

demo.py builds one control under the answer on the Draw and the Upload tab. They are built hidden
(Gradio leaves a component with visible=False out of the page) and shown only when demo.main()
calls `enable` with --corrections PATH: without the flag the page has no control and nothing is
stored. One click on a digit re-reads the current drawing or upload (the same model and
preprocessing give the same 28×28 input and answer the page shows) and keeps its correction.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from serving import InputError, Predictor
from serving.corrections import DEFAULT_MAX_MB, DEFAULT_PER_MINUTE, Corrections, Refused, open_corrections

LOG = logging.getLogger("demo")
KEPT = ("<small>One click keeps, to teach the model: **the 28×28 picture shown above** (what the "
        "model saw), **the digit you click**, **the model's answer and its confidence**, **which "
        "model** answered (its fingerprint), whether it was **drawn or uploaded**, and **the time**. "
        "Nothing else: not your drawing or file as you made it, not its name, not your IP address, "
        "no cookie. Your address is used only in memory, to limit how often one visitor can "
        "send.</small>")
NOTHING = {"sketch": "Draw a digit first, then click the digit it really is.",
           "upload": "Upload a picture of a digit first, then click the digit it really is."}

_service: Corrections | None = None
_groups: list[gr.Group] = []


def a_digit(digit: int) -> str:
    """"a **7**", "an **8**": the article as the digit is said."""
    return f"{'an' if digit == 8 else 'a'} **{digit}**"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """demo.py's corrections flags."""
    parser.add_argument("--corrections", type=Path, metavar="PATH",
                        help="let people correct wrong answers and keep the corrections in this SQLite "
                             "file (created if missing); off by default")
    parser.add_argument("--corrections-per-minute", type=int, metavar="N",
                        help=f"corrections one client may send a minute, 0 for no limit "
                             f"(default {DEFAULT_PER_MINUTE})")
    parser.add_argument("--corrections-max-mb", type=float, metavar="MB",
                        help=f"stop keeping corrections when the database reaches this size "
                             f"(default {DEFAULT_MAX_MB:g})")


def enable(args: argparse.Namespace) -> Corrections | None:
    """Opens the store the flags name and shows the controls; None when corrections are off.

    Raises ValueError (serving.corrections.CorrectionsError) with a message for the command line.
    """
    global _service
    if _service is not None:  # main() run again in the same process (tests)
        _service.store.close()
    _service = None
    show(False)
    if args.corrections is None:
        if args.corrections_per_minute is not None or args.corrections_max_mb is not None:
            raise ValueError("--corrections-per-minute and --corrections-max-mb need --corrections PATH")
        return None
    _service = open_corrections(
        args.corrections,
        DEFAULT_PER_MINUTE if args.corrections_per_minute is None else args.corrections_per_minute,
        DEFAULT_MAX_MB if args.corrections_max_mb is None else args.corrections_max_mb)
    limit = _service.limit.per_minute
    print(f"corrections: kept in {args.corrections} ({_service.store.count()} so far); "
          f"{f'at most {limit} per client a minute' if limit else 'no rate limit'}", flush=True)
    show(True)
    return _service


def show(visible: bool) -> None:
    for group in _groups:  # launch() builds the page's config afresh, so this reaches the page
        group.visible = visible


def control(source: str, image: gr.components.Component, read: Callable[[Any], Any],
            predictor: Callable[[], Predictor]) -> None:
    """Builds the hidden control for `image` (the tab's sketchpad or upload) where it is called.

    read: the tab's input value → its DigitResult, as the tab's own answer reads it.
    """
    with gr.Group(visible=False) as group:
        digit = gr.Radio(list(range(10)), value=None, label="Wrong? It's a", elem_id=f"{source}-correct")
        note = gr.Markdown(KEPT, elem_id=f"{source}-correct-note")
    _groups.append(group)

    def correct(value: Any, label: int | None, request: gr.Request) -> tuple[None, str]:
        return None, correction_note(source, value, label, read, predictor,
                                     request.client.host if request and request.client else None)

    # .input: only a person's click, not the reset to None that follows it.
    digit.input(correct, [image, digit], [digit, note], api_name=f"correct_{source}",
                api_visibility="undocumented", concurrency_limit=4, show_progress="hidden")
    # A new drawing or upload: the note goes back to saying what a click keeps (in the browser only).
    image.change(None, None, note, js=f"() => {json.dumps(KEPT)}")


def correction_note(source: str, value: Any, label: int | None, read: Callable[[Any], Any],
                    predictor: Callable[[], Predictor], client: str | None) -> str:
    """Keeps the correction of `value` and says so, or says in plain words why not; never raises."""
    if _service is None:
        return "Corrections are off on this server."
    if label is None:
        return KEPT
    if value is None:
        return f"**Not kept.** {NOTHING[source]}"
    try:
        _service.admit(client)
        result = read(value)
        _service.add(predictor(), result, label, source)
    except Refused as err:
        return f"**Not kept:** {err.message}"
    except InputError as err:
        return f"**Not kept:** there is no digit to correct ({err})."
    except Exception:  # the page must keep working whatever happens to the database
        LOG.exception("a correction could not be kept")
        return "**Not kept:** something went wrong saving it. Try again later."
    return (f"**Thank you!** Kept as {a_digit(label)} (the model said {result.digit}, "
            f"{result.confidence:.0%} sure).\n\n{KEPT}")
