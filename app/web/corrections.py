"""POST /api/corrections: one image and the digit it really is, kept to teach the model; DELETE
/api/corrections/{id} takes it back, by the same client for UNDO_WINDOW_S. Without --corrections, 404.
"""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.requests import ClientDisconnect

from app.corrections import Corrections
from app.web import Refused, client_host, error_response, json_response
from app.web.docs import CORRECTION_BODY, CORRECTION_RESPONSES, DELETE_RESPONSES
from app.web.reading import DISCONNECTED, Limits, body_kind, decode_base64, json_body, multipart_form
from serving import InputError, Reader
from serving.corrections import parse_label

OFF = ("corrections are off on this server: whoever runs it can turn them on with "
       "`python demo.py --corrections PATH`")
USAGE = ('send JSON {"image": "<base64 image>", "label": 7}, or multipart/form-data with one image '
         'file (e.g. curl -F file=@7.png -F label=7)')


def add_corrections_route(router: APIRouter, reader: Reader, limits: Limits,
                          corrections: Corrections | None) -> None:
    """POST /corrections and DELETE /corrections/{id} on the API's router; with corrections off
    (None) they answer 404, and the schema leaves them out: it describes what this server does."""
    @router.post("/corrections", status_code=201, summary="Say what a digit really is",
                 openapi_extra={"requestBody": CORRECTION_BODY}, responses=CORRECTION_RESPONSES,
                 include_in_schema=corrections is not None)
    async def correct(request: Request) -> Response:
        """Keeps the 28×28 image the model sees, your digit, the model's answer and confidence,
        the model's sha256, the source ("api") and the time; never the file, its name or your
        address."""
        try:
            if corrections is None:
                raise Refused(404, OFF)
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
            return error_response(400, DISCONNECTED)
        return json_response({"id": kept, "label": label, "predicted": result.digit,
                              "confidence": round(result.confidence, 6)}, 201)

    @router.delete("/corrections/{correction_id}", summary="Take a correction back",
                   responses=DELETE_RESPONSES, include_in_schema=corrections is not None)
    async def take_back(correction_id: int, request: Request) -> Response:
        """Deletes a correction this client sent in the last minute (the id its POST returned)."""
        try:
            if corrections is None:
                raise Refused(404, OFF)
            await anyio.to_thread.run_sync(corrections.take_back, correction_id, client_host(request.scope))
        except Refused as err:
            return err.response()
        return json_response({"id": correction_id, "deleted": True})


async def correction_request(request: Request, limits: Limits) -> tuple[bytes, int]:
    """(image bytes, label 0-9) from JSON or multipart; Refused with the status and message else."""
    if body_kind(request, USAGE) == "json":
        payload = await json_body(request, limits, USAGE)
        if not isinstance(payload, dict) or "image" not in payload:
            raise Refused(400, f'no "image": {USAGE}')
        image, label = decode_base64('"image"', "the image", payload["image"], limits), payload.get("label")
    else:
        files, fields = await multipart_form(request, limits, USAGE)
        if len(files) != 1:
            why = "one image file per correction" if files else "no image file"
            raise Refused(400, f"{why}: {USAGE}")
        image, label = files[0][1], fields.get("label")
    try:
        return image, parse_label(label)
    except ValueError as err:
        raise Refused(400, str(err)) from None
