"""One image's answer as JSON: what `python -m serving` prints, and what the app's Gradio API,
MCP tools, REST API and the Ray Serve app answer (serving.operations), so all of them agree by
construction.

    {"file": "7.png", "digit": 7, "confidence": 0.998, "probabilities": [10 floats], "unsure": false}
    "unsure" is the app's rule for a guess (under 60% sure, 80% for a photo of paper), in every
    answer and for every digit and character, so that clients need not know it
    explained (--explain, ?explain=true), also: "heatmap": 28 rows of 28 floats in 0–1 (where the
    evidence for the digit lies) and "seen": 28 rows of 28 integers 0–255 (what the model saw)
    {"file": "x.txt", "digit": null, "error": "not an image that can be read: ..."}
    a mark that doesn't look like a digit also: "not_digit": true, "note": "..." (and "unsure": true)
    a picture that seems to hold several digits also: "several": true, "note": "..." (read it
    with --number or --page)
    {"file": "n.png", "number": "2026", "confidence": 0.97, "digits": [{"digit", "confidence", "box"}]}
    {"file": "x.txt", "number": null, "error": "..."}
    {"file": "p.jpg", "numbers": [{"number": "-3.5", "confidence": 0.97, "box": [x0, y0, x1, y1],
                                   "characters": [{"char": "-", "confidence", "box"}, ...]}, ...]}
    {"file": "blank.jpg", "numbers": [], "note": "no number found: ..."}
    {"file": "x.txt", "numbers": null, "error": "..."}

The Gradio API answers one file at a time, so its answers are the same without "file".
"""

from __future__ import annotations

from typing import Any

import numpy as np

from serving.explain import seen_pixels
from serving.numbers import NumberResult
from serving.page import PageResult
from serving.result import DigitResult

Record = dict[str, Any]
NOT_A_DIGIT = ("that doesn't look like a digit (a dot, a dash, a scribble or a letter?): the digit "
               "given is only the nearest guess. Write one digit, large, in the middle")
SEVERAL = ("the image seems to hold more than one digit, and this is only one of them: read it as a "
           "number (--number, /api/read_number) or a page (--page, /api/read_page)")


def digit_fields(result: DigitResult | Exception) -> Record:
    if isinstance(result, Exception):
        return {"digit": None, "error": str(result)}
    fields = {"digit": result.digit, "confidence": round(result.confidence, 6),
              "probabilities": [round(p, 6) for p in result.probabilities], "unsure": result.unsure}
    if result.not_digit:
        fields.update(not_digit=True, note=NOT_A_DIGIT)
    elif result.several:
        fields.update(several=True, note=SEVERAL)
    if result.class_maps is not None:
        fields["heatmap"] = np.round(result.heatmap().astype(np.float64), 3).tolist()
        fields["seen"] = seen_pixels(result.model_input).tolist()
    return fields


def number_fields(result: NumberResult | Exception) -> Record:
    if isinstance(result, Exception):
        return {"number": None, "error": str(result)}
    return result.to_dict()


def page_fields(result: PageResult | Exception) -> Record:
    if isinstance(result, Exception):
        return {"numbers": None, "error": str(result)}
    return result.to_dict()
