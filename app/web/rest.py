"""The REST API on the app's own server and port: the reading routes, made from serving.operations as
the CLI's modes are; POST /api/corrections and DELETE /api/corrections/{id} (404 without --corrections);
GET /api/health; and /docs (/openapi.json) for these routes only.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import threading
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import anyio
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from PIL import Image
from starlette.requests import ClientDisconnect

from app.corrections import Corrections
from app.web import Refused, client_host, docs, error_response, json_response, reading
from app.web.reading import Limits
from serving import InputError, Reader, Stopped
from serving.corrections import parse_label
from serving.operations import PREDICT, Operation

API_PREFIX = "/api"
# The routes whose small requests run on the event loop: not a number's or a page's, each digit of
# which is a model call.
INLINE = {PREDICT.name}
INLINE_MAX_IMAGES = 4
INLINE_MAX_PIXELS = 512 * 512  # per image, read from the header
HEAVY_PIXELS = 4_000_000
CORRECTIONS_OFF = ("corrections are off on this server: whoever runs it can turn them on with "
                   "`python demo.py --corrections PATH`")
CORRECTION_USAGE = ('send JSON {"image": "<base64 image>", "label": 7}, or multipart/form-data with one '
                    'image file (e.g. curl -F file=@7.png -F label=7)')


def health_fields(reader: Reader, limits: Limits) -> dict[str, Any]:
    """GET /api/health's answer (here and in the Ray Serve app): the model and the request limits."""
    return {"status": "ok", "model": reader.digits.model_path.name,
            "sha256": (reader.digits.card or {}).get("sha256"), "max_file_size": limits.file,
            "max_images": reading.MAX_IMAGES, "read_number": True}


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


async def wait_for_disconnect(request: Request, gone: threading.Event) -> None:
    """Sets `gone` when the client closes the connection (the body has been read by then, so the
    server's next message for this request is the disconnect)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
    gone.set()


class Lanes:
    """Where a request's model work runs. Handing it to a thread costs about what reading a small digit
    takes, so small requests run on the event loop; larger ones in a worker lane of one thread, so that
    a big photo never holds up the page's own events, and an image over HEAVY_PIXELS in a lane of its
    own, which bounds the memory a burst of big photos can take. While the work runs, the connection is
    watched; when the client leaves, the work stops before its next image."""

    def __init__(self) -> None:
        self.heavy, self.light = anyio.CapacityLimiter(1), anyio.CapacityLimiter(1)

    async def run(self, request: Request, work: Callable[[list[bytes], Callable[[], bool]], list],
                  blobs: list[bytes], inline_ok: bool) -> list:
        pixels = largest_pixels(blobs)
        if inline_ok and len(blobs) <= INLINE_MAX_IMAGES and pixels <= INLINE_MAX_PIXELS:
            return work(blobs, lambda: False)  # a few ms
        heavy = pixels > HEAVY_PIXELS
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
            if heavy and LIBC is not None:
                # Freed heap memory back to the system: glibc keeps it in its arenas otherwise, and
                # the server would stay at its peak after a burst of big images.
                LIBC.malloc_trim(0)


try:
    LIBC: Any = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    LIBC.malloc_trim  # noqa: B018 - glibc only (not musl, macOS): checked once here
except (OSError, AttributeError):
    LIBC = None


def add_reading_route(router: APIRouter, name: str, reader: Reader, limits: Limits, lanes: Lanes) -> None:
    summary, route_docs = docs.READING_ROUTES[name]

    async def read(request: Request) -> Response:
        """One JSON object per image, in order, in the shape the CLI prints for this mode."""

        async def answers(op: Operation, blobs: list[bytes]) -> list:
            return await lanes.run(request, partial(op.answers, reader), blobs, name in INLINE)
        try:
            return await reading.records_response(request, limits, name, answers)
        except Stopped:  # the client left while its images were read: nobody will read this
            return error_response(400, "the client disconnected before the answer was ready")

    router.add_api_route(f"/{name}", read, methods=["POST"], summary=summary, name=name, **route_docs)


def add_corrections_route(router: APIRouter, reader: Reader, limits: Limits,
                          corrections: Corrections | None) -> None:
    """POST /corrections and DELETE /corrections/{id} on the API's router; with corrections off
    (None) they answer 404, and the schema leaves them out: it describes what this server does."""
    @router.post("/corrections", status_code=201, summary="Say what a digit really is",
                 openapi_extra={"requestBody": docs.CORRECTION_BODY}, responses=docs.CORRECTION_RESPONSES,
                 include_in_schema=corrections is not None)
    async def correct(request: Request) -> Response:
        """Keeps the 28×28 image the model sees, your digit, the model's answer and confidence,
        the model's sha256, the source ("api") and the time; never the file, its name or your
        address."""
        try:
            if corrections is None:
                raise Refused(404, CORRECTIONS_OFF)
            corrections.admit(client_host(request.scope))
            image, label = await correction_request(request, limits)
            result = await anyio.to_thread.run_sync(reader.read_digit, image)
            kept = await anyio.to_thread.run_sync(corrections.add, reader.digits, result, label, "api",
                                                  client_host(request.scope))
        except Refused as err:
            return err.response()
        except InputError as err:
            return error_response(422, str(err))
        except ClientDisconnect:
            return error_response(400, reading.DISCONNECTED)
        return json_response({"id": kept, "label": label, "predicted": result.digit,
                              "confidence": round(result.confidence, 6)}, 201)

    @router.delete("/corrections/{correction_id}", summary="Take a correction back",
                   responses=docs.DELETE_RESPONSES, include_in_schema=corrections is not None)
    async def take_back(correction_id: int, request: Request) -> Response:
        """Deletes a correction this client sent in the last minute (the id its POST returned)."""
        try:
            if corrections is None:
                raise Refused(404, CORRECTIONS_OFF)
            await anyio.to_thread.run_sync(corrections.take_back, correction_id, client_host(request.scope))
        except Refused as err:
            return err.response()
        return json_response({"id": correction_id, "deleted": True})


async def correction_request(request: Request, limits: Limits) -> tuple[bytes, int]:
    """(image bytes, label 0-9) from JSON or multipart; Refused with the status and message else."""
    if reading.body_kind(request, CORRECTION_USAGE) == "json":
        payload = await reading.json_body(request, limits, CORRECTION_USAGE)
        if not isinstance(payload, dict) or "image" not in payload:
            raise Refused(400, f'no "image": {CORRECTION_USAGE}')
        image = reading.decode_base64('"image"', "the image", payload["image"], limits)
        label = payload.get("label")
    else:
        files, fields = await reading.multipart_form(request, limits, CORRECTION_USAGE)
        if len(files) != 1:
            why = "one image file per correction" if files else "no image file"
            raise Refused(400, f"{why}: {CORRECTION_USAGE}")
        image, label = files[0][1], fields.get("label")
    try:
        return image, parse_label(label)
    except ValueError as err:
        raise Refused(400, str(err)) from None


def create_router(reader: Reader, max_file_size: int | None, corrections: Corrections | None) -> APIRouter:
    """The API's routes: one per reading operation, the corrections, the health check."""
    router = APIRouter(prefix=API_PREFIX, tags=["digits"])
    limits = Limits(max_file_size)
    lanes = Lanes()
    for name in docs.READING_ROUTES:
        add_reading_route(router, name, reader, limits, lanes)
    add_corrections_route(router, reader, limits, corrections)

    @router.get("/health", summary="What is being served")
    async def health() -> dict:
        """The model file and its sha256, and the request limits."""
        return health_fields(reader, limits)

    return router


def install(app: FastAPI, router: APIRouter) -> None:
    """Adds the API's routes to `app`, and makes /openapi.json (and /docs) describe just them
    (Gradio's own routes are documented by its "Use via API" page)."""
    before = list(app.router.routes)
    app.include_router(router)
    docs.install_page(app)
    # The router tries routes in order: matching a request against Gradio's many first was a noticeable
    # part of the API's request. This API's paths are distinct from Gradio's, so the order is free.
    added = [route for route in app.router.routes if route not in before]
    app.router.routes[:] = added + before
    schema = get_openapi(title=docs.TITLE, version="1", description=docs.DESCRIPTION, routes=router.routes)
    app.openapi = lambda: schema  # type: ignore[method-assign]

