"""The REST API, served by the Gradio app's own server on the same port (see README, "The REST API").

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

The parts live in api/: reading requests (api.reading), where the model work runs (api.lanes) and
the OpenAPI descriptions (api.docs).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response

import offline_docs
from api.docs import DESCRIPTION, DIGIT_SCHEMA, EXPLAIN_PARAMETER, IMAGES_BODY, NUMBER_SCHEMA, responses
from api.lanes import Lanes
from api.reading import MAX_IMAGES, ApiError, Limits, error_response, explain_flag, records_response
from serving import Predictor
from serving.numbers import read_number
from serving.predictor import Stopped, guarded
from serving.records import digit_record, number_record

API_PREFIX = "/api"

# A module that adds routes to the API's router: called with it, the predictor getter and the limits.
AddRoutes = Callable[[APIRouter, Callable[[], Predictor], Limits], None]


def predict_numbers(predictor: Predictor, images: Sequence[bytes],
                    stop: Callable[[], bool] | None = None) -> list[Any]:
    """read_number for each image (its InputError in its place); Stopped when `stop` says so."""
    results = []
    for image in images:
        if stop is not None and stop():
            raise Stopped
        results.append(guarded(lambda source: read_number(predictor, source), image))
    return results


def health_fields(predictor: Predictor, limits: Limits) -> dict[str, Any]:
    """GET /api/health's answer (here and in the Ray Serve app): the model and the request limits."""
    return {"status": "ok", "model": predictor.model_path.name,
            "sha256": (predictor.card or {}).get("sha256"), "max_file_size": limits.file,
            "max_images": MAX_IMAGES, "read_number": True}


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
                 responses=responses(DIGIT_SCHEMA, [{"file": "7.png", "digit": 7, "confidence": 0.998,
                                                      "probabilities": [0.0] * 7 + [0.998, 0.002, 0.0]}]))
    async def predict(request: Request) -> Response:
        """One JSON object per image, in order, in the shape `python -m serving FILE...` prints."""
        try:
            explain = explain_flag(request)
        except ApiError as err:
            return error_response(err.status, err.message)
        reply = records_response(request, limits, digits(request, explain), digit_record, "digit")
        return await stopped_or(reply)

    @router.post("/read_number", summary="Whole number in each image",
                 openapi_extra={"requestBody": IMAGES_BODY},
                 responses=responses(NUMBER_SCHEMA, [{
                     "file": "2026.png", "number": "26", "confidence": 0.99,
                     "digits": [{"digit": 2, "confidence": 0.995, "box": [4, 3, 40, 60]},
                                {"digit": 6, "confidence": 0.995, "box": [48, 2, 84, 61]}]}]))
    async def number(request: Request) -> Response:
        """Several digits on a line, read left to right; all the digits go through the model at once."""
        return await stopped_or(records_response(request, limits, numbers(request), number_record, "number"))

    for add_routes in extra_routes:
        add_routes(router, predictor, limits)

    @router.get("/health", summary="What is being served")
    async def health() -> dict:
        """The model file and its sha256, and the request limits."""
        return health_fields(predictor(), limits)

    return router


def install(app: FastAPI, predictor: Callable[[], Predictor], max_file_size: int | None,
            extra_routes: Sequence[AddRoutes] = ()) -> None:
    """Adds the API's routes to `app`, and makes /openapi.json (and /docs) describe just them.

    Gradio's own routes stay out of the page: they are documented by its "Use via API" page.
    """
    router = create_router(predictor, max_file_size, extra_routes)
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

    # /docs is served by offline_docs (its assets from an installed package, not a CDN).
    return {"docs_url": None, "redoc_url": None, "openapi_url": "/openapi.json", "lifespan": lifespan}
