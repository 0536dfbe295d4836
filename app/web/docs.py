"""The OpenAPI descriptions of the REST API's routes: request bodies, answers and errors (/docs)."""

from __future__ import annotations

from app.web.reading import MAX_IMAGES

DESCRIPTION = (
    "Send images as multipart files (any field name, e.g. `curl -F files=@7.png`), as JSON "
    '`{"images": ["<base64>", ...]}`, or one image as the whole body (`curl --data-binary @7.png '
    "-H 'Content-Type: image/png'`; any image/* type or application/octet-stream). The answer is a "
    "list with one object per image, in the shape "
    "`python -m serving` prints. Status 200 when every image got an answer, 422 when some did not "
    "(same list; those images carry `error`); request errors (400, 413, 415) are `{\"error\": ...}`. "
    "The web app and its own API (`/gradio_api/...`) are served by the same server.")

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
        **{kind: {"schema": {"type": "string", "format": "binary",
                             "description": "one image file as the whole body; its answer's \"file\" is 0"}}
           for kind in ("image/*", "application/octet-stream")},
    },
}
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
    "unsure": {"type": "boolean", "description": "the answer is a guess (under 60% sure; 80% for a photo)"},
    "several": {"type": "boolean", "description": "only when the image seems to hold more than one "
                "digit: the answer is one of them (read it with /api/read_number or /api/read_page)"},
    "note": {"type": "string", "description": "with several: what to do"},
    "error": {"type": "string", "description": "why the image gave no digit (only then)"}}}}
EXPLAIN_PARAMETER = {
    "name": "explain", "in": "query", "required": False, "schema": {"type": "boolean", "default": False},
    "description": 'true: each answer also carries "heatmap" (where the model found the digit) and '
                   '"seen" (the image the model saw)'}
NUMBER_SCHEMA = {"type": "array", "items": {"type": "object", "required": ["file", "number"], "properties": {
    "file": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
    "number": {"type": ["string", "null"], "description": 'the digits left to right, e.g. "2026"'},
    "unsure": {"type": "boolean", "description": "some digit is a guess (under 60% sure)"},
    "lines": {"type": "integer", "description": "only when the digits stand on several lines: how many "
              "(the answer is not one number; /api/read_page reads each)"},
    "note": {"type": "string", "description": "with lines: what to do"},
    "confidence": {"type": "number", "description": "chance that every digit is right"},
    "digits": {"type": "array", "items": {"type": "object", "properties": {
        "digit": {"type": "integer"}, "confidence": {"type": "number"},
        "box": {"type": "array", "items": {"type": "integer"},
                "description": "x0, y0, x1, y1 in the image's pixels"}}}},
    "error": {"type": "string"}}}}

BOX = {"type": "array", "items": {"type": "integer"}, "minItems": 4, "maxItems": 4,
       "description": "x0, y0, x1, y1 in the image's pixels"}
PAGE_SCHEMA = {"type": "array", "items": {"type": "object", "required": ["file", "numbers"], "properties": {
    "file": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
    "numbers": {"type": ["array", "null"], "description": "in reading order: top to bottom, then left to "
                "right; null when the image was not read", "items": {"type": "object", "properties": {
                    "number": {"type": "string", "description": 'e.g. "-3.5"'},
                    "confidence": {"type": "number", "description": "chance that every character is right"},
                    "box": BOX,
                    "characters": {"type": "array", "items": {"type": "object", "properties": {
                        "char": {"type": "string"}, "confidence": {"type": "number"}, "box": BOX}}}}}},
    "note": {"type": "string", "description": "what was left out, or why no number was found"},
    "error": {"type": "string"}}}}


def responses(schema: dict, example: list) -> dict:
    return {
        "200": {"description": "every image got an answer",
                "content": {"application/json": {"schema": schema, "example": example}}},
        "422": {"description": "some image could not be read or holds no digit: the same list, "
                               'those images with a null answer and an "error"',
                "content": {"application/json": {"schema": schema}}},
        **REQUEST_ERRORS,
    }
