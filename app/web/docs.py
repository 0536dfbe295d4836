"""/docs: the OpenAPI descriptions of the REST API's routes, and the page, served without the internet
(FastAPI's own loads Swagger UI from a CDN; this one, the copies fastapi-offline installs).
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, Response

from app.corrections import UNDO_WINDOW_TEXT
from app.web.reading import MAX_IMAGES
from serving.operations import PREDICT, READ_NUMBER, READ_PAGE

TITLE = "Handwritten digit recognizer API"
ASSETS_URL = "/docs-assets"
ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"  # Swagger UI's files, installed with the app
ASSET_TYPES = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css",
               "favicon.png": "image/png"}

DESCRIPTION = (
    "Send images as multipart files (any field name, e.g. `curl -F files=@7.png`), as JSON "
    '`{"images": ["<base64>", ...]}`, or one image as the whole body (`curl --data-binary @7.png '
    "-H 'Content-Type: image/png'`; any image/* type or application/octet-stream). The answer is a "
    "list with one object per image, in the shape `python -m serving` prints. Status 200 when every "
    "image got an answer, 422 when some did not (same list; those images carry `error`); request errors "
    "(400, 413, 415) are `{\"error\": ...}`. The web app and its own API (`/gradio_api/...`) are served "
    "by the same server.")


def image_list(field: str, fmt: str, description: str) -> dict:
    return {"type": "object", "required": [field], "properties": {field: {
        "type": "array", "minItems": 1, "maxItems": MAX_IMAGES, "items": {"type": "string", "format": fmt},
        "description": description}}}


IMAGES_BODY = {"required": True, "content": {
    "multipart/form-data": {
        "schema": image_list("files", "binary", f"1 to {MAX_IMAGES} image files (PNG, JPEG, GIF, BMP, "
                             "TIFF, WebP), each a part with a file name (curl -F files=@7.png); parts "
                             "without a file name are ignored, and any field name is accepted"),
        "encoding": {"files": {"contentType": "application/octet-stream"}}},
    "application/json": {"schema": image_list("images", "byte",
                                              "base64-encoded image files (a data: URL prefix is accepted)")},
    **{kind: {"schema": {"type": "string", "format": "binary",
                         "description": "one image file as the whole body; its answer's \"file\" is 0"}}
       for kind in ("image/*", "application/octet-stream")},
}}
ERROR_SCHEMA = {"type": "object", "required": ["error"], "additionalProperties": False,
                "properties": {"error": {"type": "string", "description": "what is wrong, in words"}}}


def error_doc(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": ERROR_SCHEMA}}}


# Every status the API answers with, each with its body. More than maxItems images is a 413 (the
# request is too large), not a 422: tests/schemathesis.toml tells the fuzzer so.
REQUEST_ERRORS = {
    "400": error_doc("no images (no file part, an empty list), bad JSON or bad base64, a multipart "
                  "body that can't be read, or a client that left before the answer"),
    "401": error_doc("the app was started with a login (--auth) and none or a wrong one came"),
    "408": error_doc("the request's headers or body came too slowly (--client-timeout); the connection "
                  "is closed"),
    "413": error_doc(f"an image over the size limit (--max-file-size), the whole request over its limit, "
                  f"or more than {MAX_IMAGES} images"),
    "415": error_doc("neither multipart/form-data, application/json, image/* nor application/octet-stream"),
}


def records(answer: str, properties: dict) -> dict:
    """What a reading route answers: one object per image, with its "file" and `answer`, and an
    "error" when the image was not read."""
    return {"type": "array", "items": {"type": "object", "required": ["file", answer], "properties": {
        "file": {"description": "the upload's file name, or the image's index in the request",
                 "oneOf": [{"type": "string"}, {"type": "integer"}]},
        **properties, "error": {"type": "string", "description": "why the image was not read (only then)"}}}}


def grid(cell: dict, description: str) -> dict:
    """28 rows of 28 cells, aligned with the model's input."""
    row = {"type": "array", "minItems": 28, "maxItems": 28, "items": cell}
    return {**row, "items": row, "description": description}


BOX = {"type": "array", "items": {"type": "integer"}, "minItems": 4, "maxItems": 4,
       "description": "x0, y0, x1, y1 in the image's pixels"}
DIGIT_SCHEMA = records("digit", {
    "digit": {"type": ["integer", "null"], "minimum": 0, "maximum": 9,
              "description": "null when the image was not read"},
    "confidence": {"type": "number"},
    "probabilities": {"type": "array", "items": {"type": "number"}, "minItems": 10, "maxItems": 10},
    "heatmap": grid({"type": "number", "minimum": 0, "maximum": 1},
                    "with ?explain=true: where the evidence for the digit lies, row by row, aligned with "
                    "`seen` (the model's class activation map)"),
    "seen": grid({"type": "integer", "minimum": 0, "maximum": 255},
                 "with ?explain=true: the 28×28 image the model saw, row by row (255 is ink)"),
    "unsure": {"type": "boolean", "description": "the answer is a guess (under 60% sure; 80% for a photo)"},
    "several": {"type": "boolean", "description": "only when the image seems to hold more than one "
                "digit: the answer is one of them (read it with /api/read_number or /api/read_page)"},
    "not_digit": {"type": "boolean", "description": "only when the image doesn't look like a digit (a dot, "
                  "a dash, a scribble, a letter): the digit given is only the nearest guess"},
    "note": {"type": "string", "description": "with several or not_digit: what to do"}})
CUT_OFF = {"type": "boolean", "description": "only when the writing runs into the picture's edge: a "
           "character there may be cut off or missing"}
EXPLAIN_PARAMETER = {
    "name": "explain", "in": "query", "required": False, "schema": {"type": "boolean", "default": False},
    "description": 'true: each answer also carries "heatmap" (where the model found the digit) and '
                   '"seen" (the image the model saw)'}
NUMBER_SCHEMA = records("number", {
    "number": {"type": ["string", "null"], "description": 'the digits left to right, e.g. "2026"'},
    "unsure": {"type": "boolean", "description": "some digit is a guess (under 60% sure)"},
    "lines": {"type": "integer", "description": "only when the digits stand on several lines: how many "
              "(the answer is not one number; /api/read_page reads each)"},
    "cut_off": CUT_OFF,
    "note": {"type": "string", "description": "with lines or cut_off: what to do"},
    "confidence": {"type": "number", "description": "chance that every digit is right"},
    "digits": {"type": "array", "items": {"type": "object", "properties": {
        "digit": {"type": "integer"}, "confidence": {"type": "number"}, "box": BOX}}}})
PAGE_SCHEMA = records("numbers", {
    "numbers": {"type": ["array", "null"], "description": "in reading order: top to bottom, then left to "
                "right; null when the image was not read", "items": {"type": "object", "properties": {
                    "number": {"type": "string", "description": 'e.g. "-3.5"'},
                    "confidence": {"type": "number", "description": "chance that every character is right"},
                    "box": BOX,
                    "characters": {"type": "array", "items": {"type": "object", "properties": {
                        "char": {"type": "string"}, "confidence": {"type": "number"}, "box": BOX}}}}}},
    "cut_off": CUT_OFF,
    "note": {"type": "string", "description": "what was left out, why no number was found, or with "
             "cut_off what to do"}})
CORRECTION_BODY = {"required": True, "content": {
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
CORRECTION_RESPONSES = {
    "201": {"description": "kept", "content": {"application/json": {
        "schema": KEPT_SCHEMA, "example": {"id": 12, "label": 7, "predicted": 1, "confidence": 0.62}}}},
    **{code: error_doc(why) for code, why in (
        ("400", "no image, no label, a label that isn't 0-9, bad JSON or base64"),
        ("404", "corrections are off on this server (no --corrections)"),
        ("413", "the image is over the size limit"),
        ("415", "neither application/json nor multipart/form-data"),
        ("422", "the image can't be read or holds no digit"),
        ("429", "over the per-client limit (--corrections-per-minute); see Retry-After"),
        ("507", "the corrections database has reached its size cap"))},
}
DELETE_RESPONSES = {
    "200": {"description": "deleted",
            "content": {"application/json": {"example": {"id": 12, "deleted": True}}}},
    "404": error_doc(f"no correction by that id that this client sent in the last {UNDO_WINDOW_TEXT}, "
                     "or corrections are off"),
    "503": error_doc("the database is busy: try again in a moment"),
}
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


def route_docs(schema: dict, example: list, *parameters: dict) -> dict:
    """add_api_route's documentation of a reading route: its body, parameters and answers."""
    return {"openapi_extra": {"requestBody": IMAGES_BODY, **({"parameters": list(parameters)} if parameters
                                                             else {})},
            "responses": {
                "200": {"description": "every image got an answer",
                        "content": {"application/json": {"schema": schema, "example": example}}},
                "422": {"description": "some image could not be read or holds no digit: the same list, "
                                       'those images with a null answer and an "error"',
                        "content": {"application/json": {"schema": schema}}},
                **REQUEST_ERRORS}}


READING_ROUTES = {  # the operation a route serves → (summary, add_api_route's documentation)
    PREDICT.name: ("Digit of each image", route_docs(DIGIT_SCHEMA, DIGIT_EXAMPLE, EXPLAIN_PARAMETER)),
    READ_NUMBER.name: ("Whole number in each image", route_docs(NUMBER_SCHEMA, NUMBER_EXAMPLE)),
    READ_PAGE.name: ("Every number on a page", route_docs(PAGE_SCHEMA, PAGE_EXAMPLE)),
}


def install_page(app: FastAPI) -> None:
    """Adds GET /docs and its assets to `app` (rest.install puts them first among its routes)."""

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Response:
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title=TITLE, swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css", swagger_favicon_url=f"{ASSETS_URL}/favicon.png")

    @app.get(ASSETS_URL + "/{name}", include_in_schema=False)
    async def asset(name: str) -> Response:
        if name not in ASSET_TYPES:  # only these names: no path from the client
            return Response(status_code=404)
        return FileResponse(ASSETS_DIR / name, media_type=ASSET_TYPES[name],
                            headers={"Cache-Control": "public, max-age=86400"})
