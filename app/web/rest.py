"""The REST API, served by the app's own server on the same port (see README, "The REST API").

    POST /api/predict      one or more images → the CLI's JSON, one object each;
                           ?explain=true adds "heatmap" and "seen" to each (`--explain`)
    POST /api/read_number  one or more images of a whole number → its digits
    POST /api/read_page    one or more images of pages → every number on each, in reading order
    POST /api/corrections  an image and the digit it really is (app/web/corrections.py)
    GET  /api/health       the model being served and the limits
    GET  /docs             OpenAPI page for these routes (/openapi.json)

The reading routes are made from serving.operations, as the CLI's modes and the Gradio API's
endpoints are. Images come as multipart files or as JSON base64 (app/web/reading.py). Status: 200
when every image got an answer; 422 when any did not (the body is still the full list); request
errors are {"error": "message"}.

Mounted by app.server: Gradio builds its FastAPI app with `app_kwargs(...)`, whose lifespan adds
these routes when the server starts, before it accepts a request, with the size limit Gradio parsed
from launch(max_file_size=...), so the API and the UI apply the same one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response

from app.corrections import Corrections
from app.web import offline_docs
from app.web.corrections import add_corrections_route
from app.web.docs import (
    DESCRIPTION,
    DIGIT_SCHEMA,
    EXPLAIN_PARAMETER,
    IMAGES_BODY,
    NUMBER_SCHEMA,
    PAGE_SCHEMA,
    responses,
)
from app.web.lanes import Lanes
from app.web.reading import MAX_IMAGES, ApiError, Limits, error_response, explain_flag, records_response
from serving import Reader, Stopped
from serving.operations import EXPLAIN, OPERATIONS, PREDICT, READ_NUMBER, READ_PAGE, Operation

API_PREFIX = "/api"
DIGIT_EXAMPLE = [{"file": "7.png", "digit": 7, "confidence": 0.998,
                  "probabilities": [0.0] * 7 + [0.998, 0.002, 0.0]}]
NUMBER_EXAMPLE = [{"file": "2026.png", "number": "26", "confidence": 0.99,
                   "digits": [{"digit": 2, "confidence": 0.995, "box": [4, 3, 40, 60]},
                              {"digit": 6, "confidence": 0.995, "box": [48, 2, 84, 61]}]}]
PAGE_EXAMPLE = [{"file": "page.jpg", "numbers": [
    {"number": "-3.5", "confidence": 0.97, "box": [40, 30, 210, 95], "characters": [
        {"char": "-", "confidence": 0.99, "box": [40, 55, 80, 65]},
        {"char": "3", "confidence": 0.99, "box": [95, 30, 140, 95]},
        {"char": ".", "confidence": 0.99, "box": [148, 85, 156, 93]},
        {"char": "5", "confidence": 0.99, "box": [165, 31, 210, 95]}]}]}]
ROUTES = {  # the operation a route serves → (summary, what it documents, whether small requests run inline)
    PREDICT.name: ("Digit of each image", {"openapi_extra": {"requestBody": IMAGES_BODY,
                                                             "parameters": [EXPLAIN_PARAMETER]},
                                           "responses": responses(DIGIT_SCHEMA, DIGIT_EXAMPLE)}, True),
    READ_NUMBER.name: ("Whole number in each image", {"openapi_extra": {"requestBody": IMAGES_BODY},
                                                      "responses": responses(NUMBER_SCHEMA, NUMBER_EXAMPLE)},
                       False),  # each digit of a number is a model call: never on the event loop
    READ_PAGE.name: ("Every number on a page", {"openapi_extra": {"requestBody": IMAGES_BODY},
                                                "responses": responses(PAGE_SCHEMA, PAGE_EXAMPLE)}, False),
}


def health_fields(reader: Reader, limits: Limits) -> dict[str, Any]:
    """GET /api/health's answer (here and in the Ray Serve app): the model and the request limits."""
    return {"status": "ok", "model": reader.digits.model_path.name,
            "sha256": (reader.digits.card or {}).get("sha256"), "max_file_size": limits.file,
            "max_images": MAX_IMAGES, "read_number": True}


def operation_for(name: str, request: Request) -> Operation:
    """The operation a request to /api/<name> asks for: /api/predict?explain=true is EXPLAIN."""
    if name == PREDICT.name:
        return EXPLAIN if explain_flag(request) else PREDICT
    return OPERATIONS[name]


def add_reading_route(router: APIRouter, name: str, reader: Reader, limits: Limits, lanes: Lanes) -> None:
    summary, docs, inline_ok = ROUTES[name]

    async def read(request: Request) -> Response:
        """One JSON object per image, in order, in the shape the CLI prints for this mode."""
        try:
            op = operation_for(name, request)
        except ApiError as err:
            return error_response(err.status, err.message)

        async def answers(blobs: list[bytes]) -> list:
            return await lanes.run(request, lambda b, stop: op.answers(reader, b, stop), blobs, inline_ok)
        try:
            return await records_response(request, limits, answers, op.answer)
        except Stopped:  # the client left while its images were read: nobody will read this
            return error_response(400, "the client disconnected before the answer was ready")

    router.add_api_route(f"/{name}", read, methods=["POST"], summary=summary, name=name, **docs)


def create_router(reader: Reader, max_file_size: int | None, corrections: Corrections | None) -> APIRouter:
    """The API's routes: one per reading operation, the corrections, the health check."""
    router = APIRouter(prefix=API_PREFIX, tags=["digits"])
    limits = Limits(max_file_size)
    lanes = Lanes()
    for name in ROUTES:
        add_reading_route(router, name, reader, limits, lanes)
    add_corrections_route(router, reader, limits, corrections)

    @router.get("/health", summary="What is being served")
    async def health() -> dict:
        """The model file and its sha256, and the request limits."""
        return health_fields(reader, limits)

    return router


def install(app: FastAPI, router: APIRouter) -> None:
    """Adds the API's routes to `app`, and makes /openapi.json (and /docs) describe just them.

    Gradio's own routes stay out of the page: they are documented by its "Use via API" page.
    """
    before = list(app.router.routes)
    app.include_router(router)
    offline_docs.install(app)
    # The router tries routes in order, and Gradio's many come first: matching a request against
    # all of them is a noticeable part of the API's whole request. Put this API's routes first;
    # their paths are distinct from Gradio's, so no request goes elsewhere than before.
    added = [route for route in app.router.routes if route not in before]
    app.router.routes[:] = added + before
    schema: dict | None = None

    def openapi() -> dict:
        nonlocal schema
        if schema is None:
            schema = get_openapi(title="Handwritten digit recognizer API", version="1",
                                 description=DESCRIPTION, routes=router.routes)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def app_kwargs(make_router: Callable[[int | None], APIRouter]) -> dict[str, Any]:
    """FastAPI settings for launch(app_kwargs=...): /docs on, and the API installed at startup with
    the upload limit Gradio parsed (`make_router(max_file_size)`)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        install(app, make_router(app.get_blocks().max_file_size))  # type: ignore[attr-defined]
        yield

    # /docs is served by offline_docs (its assets from an installed package, not a CDN).
    return {"docs_url": None, "redoc_url": None, "openapi_url": "/openapi.json", "lifespan": lifespan}
