"""The REST API on the app's own server and port (README, "The REST API"): the reading routes, made
from serving.operations as the CLI's modes and the Gradio API's endpoints are; the corrections
(app/web/corrections.py); GET /api/health; and /docs (/openapi.json) for these routes only.

Gradio builds its FastAPI app with `app_kwargs(...)`, whose lifespan adds these routes as the server
starts, with the size limit Gradio parsed from launch(max_file_size=...): the API and the page apply
the same one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response

from app.corrections import Corrections
from app.web import error_response
from app.web.corrections import add_corrections_route
from app.web.docs import DESCRIPTION, READING_ROUTES, TITLE, install_page
from app.web.lanes import Lanes
from app.web.reading import MAX_IMAGES, Limits, records_response
from serving import Reader, Stopped
from serving.operations import PREDICT, Operation

API_PREFIX = "/api"
# The routes whose small requests run on the event loop: not a number's or a page's, each digit of
# which is a model call.
INLINE = {PREDICT.name}


def health_fields(reader: Reader, limits: Limits) -> dict[str, Any]:
    """GET /api/health's answer (here and in the Ray Serve app): the model and the request limits."""
    return {"status": "ok", "model": reader.digits.model_path.name,
            "sha256": (reader.digits.card or {}).get("sha256"), "max_file_size": limits.file,
            "max_images": MAX_IMAGES, "read_number": True}


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
    # The router tries routes in order, and Gradio's many come first: matching a request against
    # all of them is a noticeable part of the API's whole request. Put this API's routes first;
    # their paths are distinct from Gradio's, so no request goes elsewhere than before.
    added = [route for route in app.router.routes if route not in before]
    app.router.routes[:] = added + before
    schema = get_openapi(title=TITLE, version="1", description=DESCRIPTION, routes=router.routes)
    app.openapi = lambda: schema  # type: ignore[method-assign]


def app_kwargs(reader: Reader, corrections: Corrections | None) -> dict[str, Any]:
    """FastAPI settings for launch(app_kwargs=...): /docs on, and the API installed at startup with
    the upload limit Gradio parsed."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        install(app, create_router(reader, app.get_blocks().max_file_size, corrections))  # type: ignore[attr-defined]
        yield

    # /docs is docs.install_page's (its assets from an installed package, not a CDN).
    return {"docs_url": None, "redoc_url": None, "openapi_url": "/openapi.json", "lifespan": lifespan}
