"""The REST API, served by the Gradio app's own server on the same port (see README, "REST API").

    POST /api/predict      one or more images → the CLI's JSON (`python -m serving`), one object each;
                           ?explain=true adds "heatmap" and "seen" to each (`--explain`)
    POST /api/read_number  one or more images of a whole number → its digits
    GET  /api/health       the model being served and the limits
    POST /api/corrections  an image and the digit it really is (corrections_api.py; --corrections)
    GET  /docs             OpenAPI page for these routes (/openapi.json)

Images come as multipart files (any field name, e.g. `files`) or as JSON {"images": [base64, ...]}.
Status: 200 when every image got a digit; 422 when any did not (the body is still the full list,
each failed image with "digit": null and "error", exactly as the CLI prints it); 400 for a request
that carries no images or bad base64/JSON; 413 over the size limits; 415 for other content types.
Request-level errors are {"error": "message"}.

How it is mounted: demo.main() passes app_kwargs() to demo.launch(). Gradio builds its FastAPI app
with them: /docs is switched on, and the lifespan hook adds these routes when the server starts,
before it accepts a request. launch() itself stays in charge, so --share, the queue,
max_file_size and Spaces work as they do without the API. Never import torch here.
"""

from __future__ import annotations

import base64
import binascii
import ctypes
import ctypes.util
import io
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import anyio
import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from PIL import Image
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect

from serving import Predictor
from serving.numbers import read_number
from serving.predictor import Stopped, guarded
from serving.records import Record, digit_record, number_record

LOG = logging.getLogger("rest")

API_PREFIX = "/api"
MAX_IMAGES = 64  # per request: the CLI's default batch; more is what several requests are for
DEFAULT_REQUEST_LIMIT = 64 * 1024 * 1024  # whole request body when no per-file limit is set
REQUEST_FILES = 4  # the body may hold this many files of the maximum size (plus the form's framing)
FORM_OVERHEAD = 64 * 1024
# Where the model work runs. Handing it to a worker thread costs about 0.25 ms of CPU and GIL
# hand-offs, as much as reading a small digit takes: measured on 2 cores, 600 requests/s on the
# event loop against 430 in threads. So small requests (a few 28×28 or canvas-sized images, a few
# ms at most) are answered on the event loop, and anything larger goes to at most two worker
# threads, so that a big photo never holds up the page's own events.
INLINE_MAX_IMAGES = 4
INLINE_MAX_PIXELS = 512 * 512  # per image, read from the header
# Heavy requests (an image over HEAVY_PIXELS) take their own lane, one at a time: a burst of big
# photos then never holds up ordinary requests, and only one big image is decoded at once, which
# bounds the memory a burst can take (about 200 MB for the largest accepted image; see
# serving/decode.py and bench/heavy.py).
HEAVY_PIXELS = 4_000_000
HEAVY_THREADS = 1
LIGHT_THREADS = 1

DESCRIPTION = (
    "Send images as multipart files (any field name, e.g. `curl -F files=@7.png`) or as JSON "
    '`{"images": ["<base64>", ...]}`. The answer is a list with one object per image, in the shape '
    "`python -m serving` prints. Status 200 when every image got an answer, 422 when some did not "
    "(same list; those images carry `error`); request errors (400, 413, 415) are `{\"error\": ...}`. "
    "The web app and its own API (`/gradio_api/...`) are served by the same server.")


# A module that adds routes to the API's router: called with it, the predictor getter and the limits.
AddRoutes = Callable[[APIRouter, Callable[[], Predictor], "Limits"], None]


class ApiError(Exception):
    """A request the API refuses as a whole: HTTP status and the message for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def json_response(content: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(content), status_code=status, media_type="application/json")


def error_response(status: int, message: str) -> Response:
    return json_response({"error": message}, status)


def human_size(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"


# ---------------------------------------------------------------- reading requests


class Limits:
    """The per-image limit (Gradio's --max-file-size) and what it implies for a whole request."""

    def __init__(self, max_file_size: int | None) -> None:
        self.file = max_file_size
        self.request = (REQUEST_FILES * max_file_size + FORM_OVERHEAD if max_file_size
                        else DEFAULT_REQUEST_LIMIT)

    def check_image(self, name: str | int, size: int) -> None:
        if self.file is not None and size > self.file:
            which = f"image {name}" if isinstance(name, int) else f"file {name!r}"
            raise ApiError(413, f"{which} is {human_size(size)}; the limit is "
                                f"{human_size(self.file)} per image: send a smaller image")


async def capped_body(request: Request, limit: int) -> AsyncIterator[bytes]:
    """The request body, refused with 413 as soon as it passes `limit` bytes.

    Checks Content-Length first, so an oversized upload is refused before it is read, and counts
    as it reads, for chunked requests that don't declare a length.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"the request is {human_size(int(declared))}; the limit is "
                            f"{human_size(limit)}: send fewer or smaller images")
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise ApiError(413, f"the request is over {human_size(limit)}: send fewer or smaller images")
        yield chunk


async def read_body(request: Request, limit: int) -> bytes:
    return b"".join([chunk async for chunk in capped_body(request, limit)])


async def multipart_images(request: Request, limits: Limits) -> list[tuple[str | int, bytes]]:
    parser = MultiPartParser(request.headers, capped_body(request, limits.request),
                             max_files=MAX_IMAGES, max_fields=MAX_IMAGES)
    # Files stay in memory (the whole body is capped at limits.request): nothing a client sends is
    # written to disk, and a full disk can't fail the API.
    parser.spool_max_size = limits.request
    try:
        form = await parser.parse()
    except MultiPartException as err:
        message = str(err)
        if "Too many files" in message:
            raise ApiError(413, f"at most {MAX_IMAGES} images a request: split them up") from None
        raise ApiError(400, f"the multipart form could not be read ({message})") from None
    try:
        images = []
        for _, value in form.multi_items():
            if not isinstance(value, UploadFile):
                continue  # plain form fields carry no image
            name: str | int = value.filename or len(images)
            limits.check_image(name, value.size or 0)
            images.append((name, await value.read()))
        return images
    finally:
        await form.close()  # spooled temporary files


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


async def json_images(request: Request, limits: Limits) -> list[tuple[str | int, bytes]]:
    body = await read_body(request, limits.request)
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise ApiError(400, f"the body is not valid JSON ({err})") from None
    images = payload.get("images") if isinstance(payload, dict) else None
    if not isinstance(images, list):
        raise ApiError(400, 'send JSON {"images": ["<base64 image>", ...]}')
    if len(images) > MAX_IMAGES:
        raise ApiError(413, f"{len(images)} images; at most {MAX_IMAGES} a request: split them up")
    return [(i, decode_base64(i, data, limits)) for i, data in enumerate(images)]


async def request_images(request: Request, limits: Limits) -> list[tuple[str | int, bytes]]:
    """The images of a request, in order, each with its file name (or index, for base64)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        images = await multipart_images(request, limits)
    elif content_type == "application/json":
        images = await json_images(request, limits)
    else:
        raise ApiError(415, f"unsupported content type {content_type or '(none)'!r}: send "
                            'multipart/form-data with image files, or JSON {"images": [base64, ...]}')
    if not images:
        raise ApiError(400, 'no images in the request: send image files (e.g. curl -F files=@7.png) '
                            'or JSON {"images": ["<base64 image>", ...]}')
    return images


async def answer(request: Request, limits: Limits, compute: Callable[[list[bytes]], Awaitable[list]],
                 record: Callable[[str | int, Any], Record], ok_key: str) -> Response:
    """Reads the request's images, lets `compute` answer them, replies with one record each.

    200 when every image got an answer, 422 when any did not (the body is the full list anyway).
    Shared by this API and the Ray Serve app (scale/deployment.py), which differ only in compute.
    """
    try:
        images = await request_images(request, limits)
    except ApiError as err:
        return error_response(err.status, err.message)
    except ClientDisconnect:  # nobody is left to answer
        return error_response(400, "the client disconnected before sending the whole request")
    results = await compute([blob for _, blob in images])
    records = [record(name, result) for (name, _), result in zip(images, results, strict=True)]
    return json_response(records, 200 if all(r[ok_key] is not None for r in records) else 422)


# ---------------------------------------------------------------- predicting


def explain_flag(request: Request) -> bool:
    """The `explain` query parameter: true/false (1/0, yes/no, on/off); absent is false."""
    value = request.query_params.get("explain")
    if value is None:
        return False
    if value.strip().lower() in ("true", "1", "yes", "on"):
        return True
    if value.strip().lower() in ("false", "0", "no", "off"):
        return False
    raise ApiError(400, f"explain={value[:40]!r} is neither true nor false: use ?explain=true to get "
                        "each digit's heatmap and the image the model saw")


def largest_pixels(images: Sequence[bytes]) -> int:
    """The pixel count of the largest image, read from the headers only (0 when none is an image)."""
    largest = 0
    for image in images:
        try:
            width, height = Image.open(io.BytesIO(image)).size
        except Exception:  # not an image: refused as soon as decoding starts
            continue
        largest = max(largest, width * height)
    return largest


def small(images: Sequence[bytes]) -> bool:
    """Whether reading these images takes at most a few ms (see INLINE_MAX_PIXELS)."""
    return len(images) <= INLINE_MAX_IMAGES and largest_pixels(images) <= INLINE_MAX_PIXELS


def predict_numbers(predictor: Predictor, images: Sequence[bytes],
                    stop: Callable[[], bool] | None = None) -> list[Any]:
    """read_number for each image (its InputError in its place); Stopped when `stop` says so."""
    results = []
    for image in images:
        if stop is not None and stop():
            raise Stopped
        results.append(guarded(lambda source: read_number(predictor, source), image))
    return results


async def wait_for_disconnect(request: Request, gone: threading.Event) -> None:
    """Sets `gone` when the client closes the connection (the body has been read by then, so the
    server's next message for this request is the disconnect)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
    gone.set()


class Lanes:
    """Where a request's model work runs: on the event loop (small), or in one of two worker lanes.

    While the work runs, the connection is watched; when the client leaves, the work stops before
    its next image, and the memory big images took is handed back to the system.
    """

    def __init__(self) -> None:
        self.heavy = anyio.CapacityLimiter(HEAVY_THREADS)
        self.light = anyio.CapacityLimiter(LIGHT_THREADS)

    async def run(self, request: Request, work: Callable[[list[bytes], Callable[[], bool]], list],
                  blobs: list[bytes], inline_ok: bool) -> list:
        if inline_ok and small(blobs):
            return work(blobs, lambda: False)
        heavy = largest_pixels(blobs) > HEAVY_PIXELS
        gone = threading.Event()
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(wait_for_disconnect, request, gone)
                try:
                    return await anyio.to_thread.run_sync(work, blobs, gone.is_set,
                                                          limiter=self.heavy if heavy else self.light)
                finally:
                    tasks.cancel_scope.cancel()
        finally:
            if heavy:
                release_memory()


def release_memory() -> None:
    """Hands freed heap memory back to the system (glibc keeps it in its arenas otherwise, so the
    server would stay at its peak after a burst of big images)."""
    if LIBC is not None:
        LIBC.malloc_trim(0)


def _libc() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # noqa: B018 - glibc only (not musl, macOS): checked once here
        return libc
    except (OSError, AttributeError):
        return None


LIBC = _libc()


# ---------------------------------------------------------------- routes and docs

IMAGES_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {"type": "object", "required": ["files"], "properties": {"files": {
                "type": "array", "minItems": 1, "maxItems": MAX_IMAGES,
                "items": {"type": "string", "format": "binary"},
                "description": f"1 to {MAX_IMAGES} image files (PNG, JPEG, GIF, BMP, TIFF, WebP), each a "
                               "part with a file name (curl -F files=@7.png); parts without a file name "
                               "are ignored, and any field name is accepted"}}},
            "encoding": {"files": {"contentType": "application/octet-stream"}},
        },
        "application/json": {
            "schema": {"type": "object", "required": ["images"], "properties": {"images": {
                "type": "array", "minItems": 1, "maxItems": MAX_IMAGES,
                "items": {"type": "string", "format": "byte"},
                "description": "base64-encoded image files (a data: URL prefix is accepted)"}}},
        },
    },
}
ERROR_SCHEMA = {"type": "object", "required": ["error"], "additionalProperties": False,
                "properties": {"error": {"type": "string", "description": "what is wrong, in words"}}}


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": ERROR_SCHEMA}}}


# Every status the API answers with, each with its body. More than maxItems images is a 413 (the
# request is too large), not a 422: tests/schemathesis.toml tells the fuzzer so.
REQUEST_ERRORS = {
    "400": _error("no images (no file part, an empty list), bad JSON or bad base64, a multipart "
                  "body that can't be read, or a client that left before the answer"),
    "401": _error("the app was started with a login (--auth) and none or a wrong one came"),
    "408": _error("the request's headers or body came too slowly (--client-timeout); the connection "
                  "is closed"),
    "413": _error(f"an image over the size limit (--max-file-size), the whole request over its limit, "
                  f"or more than {MAX_IMAGES} images"),
    "415": _error("neither multipart/form-data nor application/json"),
}
DIGIT_SCHEMA = {"type": "array", "items": {"type": "object", "required": ["file", "digit"], "properties": {
    "file": {"description": "the upload's file name, or the image's index in the request",
             "oneOf": [{"type": "string"}, {"type": "integer"}]},
    "digit": {"type": ["integer", "null"], "minimum": 0, "maximum": 9,
              "description": "null when the image was not read"},
    "confidence": {"type": "number"},
    "probabilities": {"type": "array", "items": {"type": "number"}, "minItems": 10, "maxItems": 10},
    "heatmap": {"type": "array", "minItems": 28, "maxItems": 28, "items": {
        "type": "array", "minItems": 28, "maxItems": 28,
        "items": {"type": "number", "minimum": 0, "maximum": 1}},
        "description": "with ?explain=true: where the evidence for the digit lies, row by row, aligned "
                       "with `seen` (the model's class activation map)"},
    "seen": {"type": "array", "minItems": 28, "maxItems": 28, "items": {
        "type": "array", "minItems": 28, "maxItems": 28,
        "items": {"type": "integer", "minimum": 0, "maximum": 255}},
        "description": "with ?explain=true: the 28×28 image the model saw, row by row (255 is ink)"},
    "error": {"type": "string", "description": "why the image gave no digit (only then)"}}}}
EXPLAIN_PARAMETER = {
    "name": "explain", "in": "query", "required": False, "schema": {"type": "boolean", "default": False},
    "description": 'true: each answer also carries "heatmap" (where the model found the digit) and '
                   '"seen" (the image the model saw)'}
NUMBER_SCHEMA = {"type": "array", "items": {"type": "object", "required": ["file", "number"], "properties": {
    "file": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
    "number": {"type": ["string", "null"], "description": 'the digits left to right, e.g. "2026"'},
    "confidence": {"type": "number", "description": "chance that every digit is right"},
    "digits": {"type": "array", "items": {"type": "object", "properties": {
        "digit": {"type": "integer"}, "confidence": {"type": "number"},
        "box": {"type": "array", "items": {"type": "integer"},
                "description": "x0, y0, x1, y1 in the image's pixels"}}}},
    "error": {"type": "string"}}}}


def _responses(schema: dict, example: list) -> dict:
    return {
        "200": {"description": "every image got an answer",
                "content": {"application/json": {"schema": schema, "example": example}}},
        "422": {"description": "some image could not be read or holds no digit: the same list, "
                               'those images with a null answer and an "error"',
                "content": {"application/json": {"schema": schema}}},
        **REQUEST_ERRORS,
    }


async def stopped_or(reply: Awaitable[Response]) -> Response:
    """The reply, or (for a client that left while its images were read) a 400 nobody will read."""
    try:
        return await reply
    except Stopped:
        return error_response(400, "the client disconnected before the answer was ready")


def create_router(predictor: Callable[[], Predictor], max_file_size: int | None,
                  extra_routes: Sequence[AddRoutes] = ()) -> APIRouter:
    """The API's routes. `predictor` returns the process's one Predictor (demo.predictor);
    each of `extra_routes` adds its own (e.g. corrections_api.py's /api/corrections)."""
    router = APIRouter(prefix=API_PREFIX, tags=["digits"])
    limits = Limits(max_file_size)
    lanes = Lanes()

    def digits(request: Request, explain: bool) -> Callable[[list[bytes]], Awaitable[list]]:
        work = partial(predictor().predict_batch, explain=explain)
        return lambda blobs: lanes.run(request, work, blobs, inline_ok=True)

    def numbers(request: Request) -> Callable[[list[bytes]], Awaitable[list]]:
        return lambda blobs: lanes.run(request, partial(predict_numbers, predictor()), blobs, inline_ok=False)

    @router.post("/predict", summary="Digit of each image",
                 openapi_extra={"requestBody": IMAGES_BODY, "parameters": [EXPLAIN_PARAMETER]},
                 responses=_responses(DIGIT_SCHEMA, [{"file": "7.png", "digit": 7, "confidence": 0.998,
                                                      "probabilities": [0.0] * 7 + [0.998, 0.002, 0.0]}]))
    async def predict(request: Request) -> Response:
        """One JSON object per image, in order, in the shape `python -m serving FILE...` prints."""
        try:
            explain = explain_flag(request)
        except ApiError as err:
            return error_response(err.status, err.message)
        return await stopped_or(answer(request, limits, digits(request, explain), digit_record, "digit"))

    @router.post("/read_number", summary="Whole number in each image",
                 openapi_extra={"requestBody": IMAGES_BODY},
                 responses=_responses(NUMBER_SCHEMA, [{
                     "file": "2026.png", "number": "26", "confidence": 0.99,
                     "digits": [{"digit": 2, "confidence": 0.995, "box": [4, 3, 40, 60]},
                                {"digit": 6, "confidence": 0.995, "box": [48, 2, 84, 61]}]}]))
    async def number(request: Request) -> Response:
        """Several digits on a line, read left to right; all the digits go through the model at once."""
        return await stopped_or(answer(request, limits, numbers(request), number_record, "number"))

    for add_routes in extra_routes:
        add_routes(router, predictor, limits)

    @router.get("/health", summary="What is being served")
    async def health() -> dict:
        """The model file and its sha256, and the request limits."""
        p = predictor()
        return {"status": "ok", "model": p.model_path.name,
                "sha256": (p.card or {}).get("sha256"), "max_file_size": limits.file,
                "max_images": MAX_IMAGES, "read_number": True}

    return router


def install(app: FastAPI, predictor: Callable[[], Predictor], max_file_size: int | None,
            extra_routes: Sequence[AddRoutes] = ()) -> None:
    """Adds the API's routes to `app`, and makes /openapi.json (and /docs) describe just them.

    Gradio's own routes stay out of the page: they are documented by its "Use via API" page.
    """
    router = create_router(predictor, max_file_size, extra_routes)
    before = list(app.router.routes)
    app.include_router(router)
    # The router tries routes in order, and Gradio's ~90 come first: matching a request against
    # all of them cost about 0.4 ms, a quarter of the API's whole request. Put this API's routes
    # first; their paths are distinct from Gradio's, so no request goes elsewhere than before.
    added = [route for route in app.router.routes if route not in before]
    app.router.routes[:] = added + before
    schema: dict | None = None

    def openapi() -> dict:
        nonlocal schema
        if schema is None:
            schema = get_openapi(
                title="Handwritten digit recognizer API", version="1",
                description=DESCRIPTION, routes=router.routes)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def app_kwargs(predictor: Callable[[], Predictor], extra_routes: Sequence[AddRoutes] = ()) -> dict[str, Any]:
    """FastAPI settings for demo.launch(app_kwargs=...): /docs on, and the API installed at startup.

    The lifespan runs when the server starts, before it accepts connections, and reads the size
    limit Gradio parsed from launch(max_file_size=...), so the API and the UI apply the same one.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        blocks = app.get_blocks()  # type: ignore[attr-defined]
        install(app, predictor, blocks.max_file_size, extra_routes)
        yield

    return {"docs_url": "/docs", "redoc_url": None, "openapi_url": "/openapi.json", "lifespan": lifespan}
