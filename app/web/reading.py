"""Reading a request's images (multipart files, JSON {"images": [base64, ...]}, or one image as the
whole body), refused as a whole when they break a size limit, and answering with one record per image.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect

from app.inputs import base64_bytes
from app.web import Refused, error_response, json_response
from serving.operations import EXPLAIN, OPERATIONS, PREDICT, Operation
from serving.records import Record

MAX_IMAGES = 64  # per request: the CLI's default batch; more is what several requests are for
DEFAULT_REQUEST_LIMIT = 64 * 1024 * 1024  # whole request body when no per-file limit is set
REQUEST_FILES = 4  # the body may hold this many files of the maximum size (plus the form's framing)
FORM_OVERHEAD = 64 * 1024
IMAGES_USAGE = ('send image files (e.g. curl -F files=@7.png), JSON {"images": ["<base64 image>", ...]}, '
                "or one image as the body (curl --data-binary @7.png -H 'Content-Type: image/png')")
RAW_TYPES = ("application/octet-stream",)  # besides image/*: the whole body is one image
FLAGS = {"true": True, "1": True, "yes": True, "on": True,  # ?explain=...
         "false": False, "0": False, "no": False, "off": False}
Named = tuple[str | int, bytes]  # an image and the name its answer carries: its file name or index
DISCONNECTED = "the client disconnected before sending the whole request"


def human_size(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"


class Limits:
    """The per-image limit (Gradio's --max-file-size) and what it implies for a whole request."""

    def __init__(self, max_file_size: int | None) -> None:
        self.file = max_file_size
        self.request = (REQUEST_FILES * max_file_size + FORM_OVERHEAD if max_file_size
                        else DEFAULT_REQUEST_LIMIT)

    def check_image(self, which: str, size: int) -> None:
        """`which` ("image 0", "file '7.png'", "the image") is over the per-image limit: 413."""
        if self.file is not None and size > self.file:
            raise Refused(413, f"{which} is {human_size(size)}; the limit is "
                               f"{human_size(self.file)} per image: send a smaller image")


def image_name(name: str | int) -> str:
    return f"image {name}" if isinstance(name, int) else f"file {name!r}"


async def capped_body(request: Request, limit: int) -> AsyncIterator[bytes]:
    """The request body, refused with 413 as soon as it passes `limit` bytes: by its Content-Length
    before it is read, else as it is read (a chunked request declares no length)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Refused(413, f"the request is {human_size(int(declared))}; the limit is "
                           f"{human_size(limit)}: send fewer or smaller images")
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise Refused(413, f"the request is over {human_size(limit)}: send fewer or smaller images")
        yield chunk


def body_kind(request: Request, usage: str, raw_ok: bool = False) -> str:
    """"multipart", "json" or (`raw_ok`) "raw", one image as the body, from the Content-Type; 400 for
    an empty request, 415 for another type."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not content_type and request.headers.get("content-length", "0") == "0" \
            and "transfer-encoding" not in request.headers:
        raise Refused(400, f"the request is empty: {usage}")
    kinds = {"multipart/form-data": "multipart", "application/json": "json"}
    if raw_ok and (content_type.startswith("image/") or content_type in RAW_TYPES):
        return "raw"
    if content_type not in kinds:
        raise Refused(415, f"unsupported content type {content_type or '(none)'!r}: {usage}")
    return kinds[content_type]


async def whole_body(request: Request, limits: Limits) -> bytes:
    return b"".join([chunk async for chunk in capped_body(request, limits.request)])


async def json_body(request: Request, limits: Limits, usage: str) -> Any:
    body = await whole_body(request, limits)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise Refused(400, f"the body is not valid JSON ({err}): {usage}") from None


async def multipart_form(request: Request, limits: Limits, usage: str) -> tuple[list[Named], dict[str, str]]:
    """The form's files (name, bytes) in order, each under the per-image limit, and its plain fields."""
    parser = MultiPartParser(request.headers, capped_body(request, limits.request),
                             max_files=MAX_IMAGES, max_fields=MAX_IMAGES)
    # Files stay in memory (the whole body is capped at limits.request): nothing a client sends is
    # written to disk, and a full disk can't fail the API.
    parser.spool_max_size = limits.request
    try:
        form = await parser.parse()
    except MultiPartException as err:
        if "Too many files" in str(err):
            raise Refused(413, f"at most {MAX_IMAGES} images a request: split them up") from None
        raise Refused(400, f"the multipart form could not be read ({err}): {usage}") from None
    try:
        files: list[Named] = []
        fields: dict[str, str] = {}
        for key, value in form.multi_items():
            if not isinstance(value, UploadFile):
                fields.setdefault(key, value)
                continue
            name: str | int = value.filename or len(files)
            limits.check_image(image_name(name), value.size or 0)
            files.append((name, await value.read()))
        return files, fields
    finally:
        await form.close()


def decode_base64(field: str, which: str, data: Any, limits: Limits) -> bytes:
    """The bytes of one base64 image of a JSON body: `field` names where it is in the body
    ('"images"[0]'), `which` the image ("image 0")."""
    if not isinstance(data, str):
        raise Refused(400, f"{field} is not a string: send each image base64-encoded")
    # Refuse a huge image before decoding it; line breaks of wrapped base64 carry no data.
    estimate = (len(data) - data.count("\n") - data.count("\r")) * 3 // 4
    if limits.file is not None and estimate > limits.file + 2:
        limits.check_image(which, estimate)
    try:
        raw = base64_bytes(data)
    except ValueError:
        raise Refused(400, f"{field} is not valid base64") from None
    limits.check_image(which, len(raw))
    return raw


def json_images(payload: Any, limits: Limits) -> list[Named]:
    images = payload.get("images") if isinstance(payload, dict) else None
    if isinstance(images, str) or isinstance(payload, str) or (isinstance(payload, dict)
                                                                and "image" in payload):
        raise Refused(400, 'base64 images go in a list, even one: send JSON {"images": ["<base64 image>"]}')
    if not isinstance(images, list):
        raise Refused(400, IMAGES_USAGE)
    if len(images) > MAX_IMAGES:
        raise Refused(413, f"{len(images)} images; at most {MAX_IMAGES} a request: split them up")
    return [(i, decode_base64(f'"images"[{i}]', image_name(i), data, limits))
            for i, data in enumerate(images)]


async def request_images(request: Request, limits: Limits) -> list[Named]:
    """The images of a request, in order, each with its file name (or index, for base64 and a raw
    body, whose one image is named 0 as the first of a JSON body is)."""
    kind = body_kind(request, IMAGES_USAGE, raw_ok=True)
    if kind == "multipart":
        images, _ = await multipart_form(request, limits, IMAGES_USAGE)
    elif kind == "raw":
        body = await whole_body(request, limits)
        limits.check_image("the image", len(body))
        images = [(0, body)] if body else []
    else:
        images = json_images(await json_body(request, limits, IMAGES_USAGE), limits)
    if not images:
        raise Refused(400, f"no images in the request: {IMAGES_USAGE}")
    return images


def operation_for(name: str, request: Request) -> Operation:
    """The operation a request to /api/<name> asks for: /api/predict?explain=true is EXPLAIN (true
    or false: 1/0, yes/no, on/off; absent is false)."""
    if name != PREDICT.name:
        return OPERATIONS[name]
    value = request.query_params.get("explain", "false")
    if value.strip().lower() not in FLAGS:
        raise Refused(400, f"explain={value[:40]!r} is neither true nor false: use ?explain=true to get "
                           "each digit's heatmap and the image the model saw")
    return EXPLAIN if FLAGS[value.strip().lower()] else PREDICT


Answers = Callable[[Operation, list[bytes]], Awaitable[list[Record]]]  # one record (no "file") an image


async def records_response(request: Request, limits: Limits, name: str, answers: Answers) -> Response:
    """Reads the request's images, lets `answers` answer them with the operation /api/<name> asks
    for, and replies with one record each: 200 when every image got an answer, 422 when any did
    not. Shared by this API and the Ray Serve app (scale/deployment.py)."""
    try:
        op = operation_for(name, request)
        images = await request_images(request, limits)
    except Refused as err:
        return err.response()
    except ClientDisconnect:  # nobody is left to answer
        return error_response(400, DISCONNECTED)
    fields = await answers(op, [blob for _, blob in images])
    records = [{"file": file, **answer} for (file, _), answer in zip(images, fields, strict=True)]
    return json_response(records, 200 if all(r[op.answer] is not None for r in records) else 422)
