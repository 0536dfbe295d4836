"""The digit API's wire format, free of any web framework: what `python -m serving` prints, what
rest.py answers and what the Ray Serve app (scale/deployment.py) answers, so all three agree by
construction.

    answer, one per image:  {"file": "7.png", "digit": 7, "confidence": 0.998, "probabilities": [...]}
                            {"file": "x.txt", "digit": null, "error": "not an image that can be read: ..."}
    JSON request:           {"images": ["<base64 image>", ...]}  (multipart files are the other way)
    request error:          ApiError(status, message) → {"error": message}
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

from serving.predictor import DigitResult

MAX_IMAGES = 64  # per request: the CLI's default batch; more is what several requests are for
DEFAULT_REQUEST_LIMIT = 64 * 1024 * 1024  # whole request body when no per-file limit is set
REQUEST_FILES = 4  # the body may hold this many files of the maximum size (plus the form's framing)
FORM_OVERHEAD = 64 * 1024
NO_IMAGES = ('no images in the request: send image files (e.g. curl -F files=@7.png) '
             'or JSON {"images": ["<base64 image>", ...]}')

Record = dict[str, Any]


class ApiError(Exception):
    """A request refused as a whole: the HTTP status and the message for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def human_size(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"


def digit_record(name: str | int, result: DigitResult | Exception) -> Record:
    """One image's answer exactly as `python -m serving` prints it."""
    if isinstance(result, Exception):
        return {"file": name, "digit": None, "error": str(result)}
    return {"file": name, "digit": result.digit, "confidence": round(result.confidence, 6),
            "probabilities": [round(p, 6) for p in result.probabilities]}


def number_record(name: str | int, result: Any) -> Record:
    """One image's number (a serving.numbers.NumberResult): its digits with their boxes, or the error."""
    if isinstance(result, Exception):
        return {"file": name, "number": None, "error": str(result)}
    return {"file": name, **result.to_dict()}


def status_of(records: Sequence[Record], key: str = "digit") -> int:
    """200 when every image got an answer, 422 when any did not (the body is the full list anyway)."""
    return 200 if all(r[key] is not None for r in records) else 422


class Limits:
    """The per-image size limit and what it implies for a whole request."""

    def __init__(self, max_file_size: int | None) -> None:
        self.file = max_file_size
        self.request = (REQUEST_FILES * max_file_size + FORM_OVERHEAD if max_file_size
                        else DEFAULT_REQUEST_LIMIT)

    def check_image(self, name: str | int, size: int) -> None:
        if self.file is not None and size > self.file:
            which = f"image {name}" if isinstance(name, int) else f"file {name!r}"
            raise ApiError(413, f"{which} is {human_size(size)}; the limit is "
                                f"{human_size(self.file)} per image: send a smaller image")

    def check_count(self, count: int) -> None:
        if count > MAX_IMAGES:
            raise ApiError(413, f"{count} images; at most {MAX_IMAGES} a request: split them up")


def decode_base64(index: int, data: Any, limits: Limits) -> bytes:
    if not isinstance(data, str):
        raise ApiError(400, f'"images"[{index}] is not a string: send each image base64-encoded')
    if data.startswith("data:"):  # a data URL, as browsers' FileReader and canvas.toDataURL make
        data = data.partition(",")[2]
    # Refuse a huge image before decoding it; line breaks of wrapped base64 carry no data.
    estimate = (len(data) - data.count("\n") - data.count("\r")) * 3 // 4
    if limits.file is not None and estimate > limits.file + 2:
        limits.check_image(index, estimate)
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        try:  # wrapped at 76 columns, as `base64` and MIME write it
            raw = base64.b64decode("".join(data.split()), validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, f'"images"[{index}] is not valid base64') from None
    limits.check_image(index, len(raw))
    return raw


def images_from_json(payload: Any, limits: Limits) -> list[tuple[str | int, bytes]]:
    """The images of a parsed JSON body {"images": [base64, ...]}, each named by its index."""
    images = payload.get("images") if isinstance(payload, dict) else None
    if not isinstance(images, list):
        raise ApiError(400, 'send JSON {"images": ["<base64 image>", ...]}')
    limits.check_count(len(images))
    return [(i, decode_base64(i, data, limits)) for i, data in enumerate(images)]


def unsupported_type(content_type: str) -> ApiError:
    return ApiError(415, f"unsupported content type {content_type or '(none)'!r}: send "
                         'multipart/form-data with image files, or JSON {"images": [base64, ...]}')
