"""One image's answer as JSON: what `python -m serving` prints and every other surface answers
(serving.operations), so all of them agree by construction. An image that can't be read gets
{"digit" (or "number", "numbers"): null, "error": "..."}."""

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
    return {"number": None, "error": str(result)} if isinstance(result, Exception) else result.to_dict()


def page_fields(result: PageResult | Exception) -> Record:
    return {"numbers": None, "error": str(result)} if isinstance(result, Exception) else result.to_dict()
