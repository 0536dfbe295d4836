"""POST /api/corrections: one image and the digit it really is, kept to teach the model (issue #17).

    curl -F file=@seven.png -F label=7 http://127.0.0.1:7860/api/corrections
    curl -H 'Content-Type: application/json' -d '{"image": "<base64>", "label": 7}' .../api/corrections
    → 201 {"id": 12, "label": 7, "predicted": 1, "confidence": 0.62}

The image goes through the same preprocessing as a prediction, and what is kept is what
serving/corrections.py says: the 28×28 model input, never the file. 404 when the server was
started without --corrections; 400/413/415/422 as /api/predict answers them; 429 over the
per-client rate limit (with Retry-After); 507 when the database has reached its size cap.
demo.py adds this route to rest.py's router through rest.app_kwargs(extra_routes=...).
"""

from __future__ import annotations

from collections.abc import Callable

import anyio
import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect

from api.docs import ERROR_SCHEMA
from api.lanes import is_small
from api.reading import ApiError, Limits, capped_body, decode_base64, error_response, json_response, read_body
from rest import AddRoutes
from serving import InputError, Predictor
from serving.corrections import Corrections, Refused, parse_label

OFF = ("corrections are off on this server: whoever runs it can turn them on with "
       "`python demo.py --corrections PATH`")
USAGE = ('send JSON {"image": "<base64 image>", "label": 7}, or multipart/form-data with one image '
         'file (e.g. curl -F file=@7.png -F label=7)')

BODY = {"required": True, "content": {
    "application/json": {"schema": {"type": "object", "required": ["image", "label"], "properties": {
        "image": {"type": "string", "format": "byte",
                  "description": "the image file, base64-encoded (a data: URL prefix is accepted)"},
        "label": {"type": "integer", "minimum": 0, "maximum": 9, "description": "the digit it really is"}}}},
    "multipart/form-data": {"schema": {"type": "object", "required": ["file", "label"], "properties": {
        "file": {"type": "string", "format": "binary", "description": "one image file"},
        "label": {"type": "integer", "minimum": 0, "maximum": 9}}}},
}}
KEPT_SCHEMA = {"type": "object", "properties": {
    "id": {"type": "integer"}, "label": {"type": "integer", "description": "the digit you gave"},
    "predicted": {"type": "integer", "description": "what the model said"},
    "confidence": {"type": "number", "description": "the model's confidence in what it said"}}}
RESPONSES = {
    "201": {"description": "kept", "content": {"application/json": {
        "schema": KEPT_SCHEMA, "example": {"id": 12, "label": 7, "predicted": 1, "confidence": 0.62}}}},
    **{code: {"description": why, "content": {"application/json": {"schema": ERROR_SCHEMA}}}
       for code, why in (("400", "no image, no label, a label that isn't 0-9, bad JSON or base64"),
                         ("404", "corrections are off on this server (no --corrections)"),
                         ("413", "the image is over the size limit"),
                         ("415", "neither application/json nor multipart/form-data"),
                         ("422", "the image can't be read or holds no digit"),
                         ("429", "over the per-client limit (--corrections-per-minute); see Retry-After"),
                         ("507", "the corrections database has reached its size cap"))},
}


def corrections_routes(corrections: Corrections | None) -> AddRoutes:
    """What demo.py passes to rest.app_kwargs(extra_routes=[...]); None: the route answers 404."""

    def add(router: APIRouter, predictor: Callable[[], Predictor], limits: Limits) -> None:
        # Off, the route only says so (404): the schema describes what this server does.
        @router.post("/corrections", status_code=201, summary="Say what a digit really is",
                     openapi_extra={"requestBody": BODY}, responses=RESPONSES,
                     include_in_schema=corrections is not None)
        async def correct(request: Request) -> Response:
            """Keeps the 28×28 image the model sees, your digit, the model's answer and confidence,
            the model's sha256, the source ("api") and the time; never the file, its name or your
            address."""
            if corrections is None:
                return error_response(404, OFF)
            return await keep(request, corrections, predictor(), limits)

    return add


async def keep(request: Request, corrections: Corrections, predictor: Predictor, limits: Limits) -> Response:
    try:
        # The address (after uvicorn's proxy-header handling) counts towards the limit, in memory.
        corrections.admit(request.client.host if request.client else None)
        image, label = await correction_request(request, limits)
        result = await read_digit(predictor, image)
        kept = await anyio.to_thread.run_sync(corrections.add, predictor, result, label, "api")
    except Refused as err:
        response = error_response(err.status, err.message)
        if err.retry_after is not None:
            response.headers["Retry-After"] = str(err.retry_after)
        return response
    except ApiError as err:
        return error_response(err.status, err.message)
    except InputError as err:
        return error_response(422, str(err))
    except ClientDisconnect:
        return error_response(400, "the client disconnected before sending the whole request")
    return json_response({"id": kept, "label": label, "predicted": result.digit,
                          "confidence": round(result.confidence, 6)}, 201)


async def read_digit(predictor: Predictor, image: bytes):
    """The prediction for the image, on the event loop when it is small (as api.lanes does)."""
    if is_small([image]):
        return predictor.predict(image)
    return await anyio.to_thread.run_sync(predictor.predict, image)


async def correction_request(request: Request, limits: Limits) -> tuple[bytes, int]:
    """(image bytes, label 0-9) from JSON or multipart; ApiError with the status and message else."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        image, label = await json_correction(request, limits)
    elif content_type == "multipart/form-data":
        image, label = await form_correction(request, limits)
    else:
        raise ApiError(415, f"unsupported content type {content_type or '(none)'!r}: {USAGE}")
    try:
        return image, parse_label(label)
    except ValueError as err:
        raise ApiError(400, str(err)) from None


async def json_correction(request: Request, limits: Limits) -> tuple[bytes, object]:
    body = await read_body(request, limits.request)
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise ApiError(400, f"the body is not valid JSON ({err}): {USAGE}") from None
    if not isinstance(payload, dict) or "image" not in payload:
        raise ApiError(400, f'no "image": {USAGE}')
    try:
        return decode_base64(0, payload["image"], limits), payload.get("label")
    except ApiError as err:  # api.reading names the images of a list; this body has one
        message = err.message.replace('"images"[0]', '"image"').replace("image 0 is", "the image is")
        raise ApiError(err.status, message) from None


async def form_correction(request: Request, limits: Limits) -> tuple[bytes, object]:
    parser = MultiPartParser(request.headers, capped_body(request, limits.request),
                             max_files=1, max_fields=8)
    try:
        form = await parser.parse()
    except MultiPartException as err:
        raise ApiError(400, f"the multipart form could not be read ({err}): {USAGE}") from None
    try:
        files = [value for _, value in form.multi_items() if isinstance(value, UploadFile)]
        if not files:
            raise ApiError(400, f"no image file: {USAGE}")
        limits.check_image(files[0].filename or "the image", files[0].size or 0)
        return await files[0].read(), form.get("label")
    finally:
        await form.close()
