"""POST /api/corrections: one image and the digit it really is, kept to teach the model (issue #17).

    curl -F file=@seven.png -F label=7 http://127.0.0.1:7860/api/corrections
    curl -H 'Content-Type: application/json' -d '{"image": "<base64>", "label": 7}' .../api/corrections
    → 201 {"id": 12, "label": 7, "predicted": 1, "confidence": 0.62}
    curl -X DELETE http://127.0.0.1:7860/api/corrections/12
    → 200 {"id": 12, "deleted": true}

A correction can be taken back (DELETE with the id the POST returned) by the same client (its
address, as the rate limit sees it) for UNDO_WINDOW_S after sending it: app/undo.py.

The image goes through the same preprocessing as a prediction, and what is kept is what
serving/corrections.py keeps: the 28×28 model input, never the file. 404 when the server was
started without --corrections; 400/413/415/422 as /api/predict answers them; 429 over the
per-client rate limit (with Retry-After); 507 when the database has reached its size cap.
app/web/rest.py adds this route to the API's router.
"""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.requests import ClientDisconnect

from app.corrections import Corrections, Refused
from app.undo import UNDO_WINDOW_TEXT, RecentCorrections
from app.web.docs import ERROR_SCHEMA
from app.web.lanes import is_small
from app.web.reading import (
    ApiError,
    Limits,
    body_kind,
    decode_base64,
    error_response,
    json_body,
    json_response,
    multipart_form,
)
from serving import DigitResult, InputError, Reader
from serving.corrections import CorrectionsError, parse_label

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
DELETE_RESPONSES = {
    "200": {"description": "deleted", "content": {"application/json": {
        "example": {"id": 12, "deleted": True}}}},
    **{code: {"description": why, "content": {"application/json": {"schema": ERROR_SCHEMA}}}
       for code, why in (("404", f"no correction by that id that this client sent in the last "
                                 f"{UNDO_WINDOW_TEXT}, or corrections are off"),
                         ("503", "the database is busy: try again in a moment"))},
}


def add_corrections_route(router: APIRouter, reader: Reader, limits: Limits,
                          corrections: Corrections | None) -> None:
    """POST /corrections and DELETE /corrections/{id} on the API's router; with corrections off
    (None) they answer 404, and the schema leaves them out: it describes what this server does."""
    recent = RecentCorrections()

    @router.post("/corrections", status_code=201, summary="Say what a digit really is",
                 openapi_extra={"requestBody": BODY}, responses=RESPONSES,
                 include_in_schema=corrections is not None)
    async def correct(request: Request) -> Response:
        """Keeps the 28×28 image the model sees, your digit, the model's answer and confidence,
        the model's sha256, the source ("api") and the time; never the file, its name or your
        address."""
        if corrections is None:
            return error_response(404, OFF)
        return await keep(request, corrections, reader, limits, recent)

    @router.delete("/corrections/{correction_id}", summary="Take a correction back",
                   responses=DELETE_RESPONSES, include_in_schema=corrections is not None)
    async def take_back(correction_id: int, request: Request) -> Response:
        """Deletes a correction this client sent in the last minute (the id its POST returned)."""
        if corrections is None:
            return error_response(404, OFF)
        if not recent.claim(correction_id, client_address(request)):
            return error_response(404, f"no correction {correction_id} of yours to take back: a "
                                       f"correction can be taken back for {UNDO_WINDOW_TEXT} after "
                                       "sending it, from the same address")
        try:
            await anyio.to_thread.run_sync(corrections.store.delete, correction_id)
        except CorrectionsError as err:
            recent.remember(correction_id, client_address(request))  # still the sender's to take back
            return error_response(503, f"{err}: try again in a moment")
        return json_response({"id": correction_id, "deleted": True})


def client_address(request: Request) -> str:
    """The address (after uvicorn's proxy-header handling), used in memory only."""
    return request.client.host if request.client else "unknown"


async def keep(request: Request, corrections: Corrections, reader: Reader, limits: Limits,
               recent: RecentCorrections) -> Response:
    try:
        corrections.admit(client_address(request))
        image, label = await correction_request(request, limits)
        result = await read_digit(reader, image)
        kept = await anyio.to_thread.run_sync(corrections.add, reader.digits, result, label, "api")
        recent.remember(kept, client_address(request))
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


async def read_digit(reader: Reader, image: bytes) -> DigitResult:
    """The digit in the image, on the event loop when it is small (as app.web.lanes does)."""
    if is_small([image]):
        return reader.read_digit(image)
    return await anyio.to_thread.run_sync(reader.read_digit, image)


async def correction_request(request: Request, limits: Limits) -> tuple[bytes, int]:
    """(image bytes, label 0-9) from JSON or multipart; ApiError with the status and message else."""
    if body_kind(request, USAGE) == "json":
        payload = await json_body(request, limits, USAGE)
        if not isinstance(payload, dict) or "image" not in payload:
            raise ApiError(400, f'no "image": {USAGE}')
        image, label = decode_base64('"image"', "the image", payload["image"], limits), payload.get("label")
    else:
        files, fields = await multipart_form(request, limits, USAGE)
        if len(files) != 1:
            why = "one image file per correction" if files else "no image file"
            raise ApiError(400, f"{why}: {USAGE}")
        image, label = files[0][1], fields.get("label")
    try:
        return image, parse_label(label)
    except ValueError as err:
        raise ApiError(400, str(err)) from None
