"""The REST API on the app's own server and port: the reading routes, made from serving.operations as
the CLI's modes are; the corrections; GET /api/health; and /docs (/openapi.json) for these routes only.

Handing model work to a thread costs about what reading a small digit takes, so small requests are
answered on the event loop; larger ones go to a worker lane, so that a big photo never holds up the
page's own events. An image over HEAVY_PIXELS takes its own lane, one at a time, which bounds the
memory a burst of big photos can take.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import threading
from collections.abc import Callable, Sequence
from typing import Any

import anyio
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from PIL import Image

from app.corrections import Corrections
from app.web import error_response
from app.web.corrections import add_corrections_route
from app.web.docs import DESCRIPTION, READING_ROUTES, TITLE, install_page
from app.web.reading import MAX_IMAGES, Limits, records_response
from serving import Reader, Stopped
from serving.operations import PREDICT, Operation

API_PREFIX = "/api"
# The routes whose small requests run on the event loop: not a number's or a page's, each digit of
# which is a model call.
INLINE = {PREDICT.name}
INLINE_MAX_IMAGES = 4
INLINE_MAX_PIXELS = 512 * 512  # per image, read from the header
HEAVY_PIXELS = 4_000_000


def health_fields(reader: Reader, limits: Limits) -> dict[str, Any]:
    """GET /api/health's answer (here and in the Ray Serve app): the model and the request limits."""
    return {"status": "ok", "model": reader.digits.model_path.name,
            "sha256": (reader.digits.card or {}).get("sha256"), "max_file_size": limits.file,
            "max_images": MAX_IMAGES, "read_number": True}


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
    """Where a request's model work runs: on the event loop (small), or in one of two worker lanes of
    one thread each. While the work runs, the connection is watched; when the client leaves, the work
    stops before its next image."""

    def __init__(self) -> None:
        self.heavy = anyio.CapacityLimiter(1)
        self.light = anyio.CapacityLimiter(1)

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
    summary, docs = READING_ROUTES[name]

    async def read(request: Request) -> Response:
        """One JSON object per image, in order, in the shape the CLI prints for this mode."""

        async def answers(op: Operation, blobs: list[bytes]) -> list:
            return await lanes.run(request, lambda b, stop: op.answers(reader, b, stop), blobs,
                                   name in INLINE)
        try:
            return await records_response(request, limits, name, answers)
        except Stopped:  # the client left while its images were read: nobody will read this
            return error_response(400, "the client disconnected before the answer was ready")

    router.add_api_route(f"/{name}", read, methods=["POST"], summary=summary, name=name, **docs)


def create_router(reader: Reader, max_file_size: int | None, corrections: Corrections | None) -> APIRouter:
    """The API's routes: one per reading operation, the corrections, the health check."""
    router = APIRouter(prefix=API_PREFIX, tags=["digits"])
    limits = Limits(max_file_size)
    lanes = Lanes()
    for name in READING_ROUTES:
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
    install_page(app)
    # The router tries routes in order: matching a request against Gradio's many first was a noticeable
    # part of the API's request. This API's paths are distinct from Gradio's, so the order is free.
    added = [route for route in app.router.routes if route not in before]
    app.router.routes[:] = added + before
    schema = get_openapi(title=TITLE, version="1", description=DESCRIPTION, routes=router.routes)
    app.openapi = lambda: schema  # type: ignore[method-assign]

