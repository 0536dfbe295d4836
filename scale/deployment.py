"""The Ray Serve app: POST /api/predict with the REST endpoint's request and answer (rest.py).

Each replica holds one serving.Predictor (one onnxruntime session). Images from concurrent
requests are gathered by @serve.batch into one model call. Run it with `python -m scale.serve`,
or on a cluster with `serve deploy scale/serve_config.yaml` (import path scale.deployment:build_app).
"""

# No `from __future__ import annotations`: FastAPI reads the handlers’ annotations at runtime.

import asyncio
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from ray import serve
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect

from serving import InputError, Predictor
from serving.predictor import DEFAULT_MODEL, DigitResult
from serving.wire import (
    MAX_IMAGES,
    NO_IMAGES,
    ApiError,
    Limits,
    digit_record,
    human_size,
    images_from_json,
    status_of,
    unsupported_type,
)

DEFAULT_MAX_FILE_SIZE = 5 * 1024 * 1024  # the demo's default --max-file-size (5mb)

api = FastAPI(title="Handwritten digit recognizer API (Ray Serve)", docs_url="/docs", redoc_url=None)


async def request_images(request: Request, limits: Limits) -> list[tuple[str | int, bytes]]:
    """The images of a request, in order, named by file name (multipart) or index (JSON)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.request:
        raise ApiError(413, f"the request is {human_size(int(declared))}; the limit is "
                            f"{human_size(limits.request)}: send fewer or smaller images")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        try:
            form = await request.form(max_files=MAX_IMAGES, max_fields=MAX_IMAGES)
        except Exception as err:  # starlette raises HTTPException for malformed or oversized forms
            detail = getattr(err, "detail", str(err))
            if "Too many files" in detail:
                raise ApiError(413, f"at most {MAX_IMAGES} images a request: split them up") from None
            raise ApiError(400, f"the multipart form could not be read ({detail})") from None
        try:
            images: list[tuple[str | int, bytes]] = []
            for _, value in form.multi_items():
                if isinstance(value, UploadFile):
                    name: str | int = value.filename or len(images)
                    limits.check_image(name, value.size or 0)
                    images.append((name, await value.read()))
        finally:
            await form.close()
    elif content_type == "application/json":
        try:
            payload = await request.json()
        except ValueError as err:
            raise ApiError(400, f"the body is not valid JSON ({err})") from None
        images = images_from_json(payload, limits)
    else:
        raise unsupported_type(content_type)
    if not images:
        raise ApiError(400, NO_IMAGES)
    return images


@serve.deployment(ray_actor_options={"num_cpus": 1}, max_ongoing_requests=32)
@serve.ingress(api)
class DigitService:
    """One Predictor per replica; the images of concurrent requests share model calls."""

    def __init__(self, model: str = str(DEFAULT_MODEL), max_file_size: int | None = DEFAULT_MAX_FILE_SIZE,
                 max_batch_size: int = 32, batch_wait_s: float = 0.002) -> None:
        self.predictor = Predictor(model)
        self.limits = Limits(max_file_size)
        self.predict_images.set_max_batch_size(max_batch_size)
        self.predict_images.set_batch_wait_timeout_s(batch_wait_s)

    @serve.batch(max_batch_size=32, batch_wait_timeout_s=0.002)
    async def predict_images(self, images: list[bytes]) -> list[DigitResult | InputError]:
        # Off the replica's event loop, so that requests keep arriving while a batch is computed.
        return await asyncio.to_thread(self.predictor.predict_batch, images)

    @api.post("/api/predict")
    async def predict(self, request: Request) -> JSONResponse:
        """One JSON object per image, in order, in the shape `python -m serving FILE...` prints."""
        try:
            images = await request_images(request, self.limits)
        except ApiError as err:
            return JSONResponse({"error": err.message}, err.status)
        except ClientDisconnect:
            return JSONResponse({"error": "the client disconnected before sending the whole request"}, 400)
        results = await asyncio.gather(*(self.predict_images(blob) for _, blob in images))
        records = [digit_record(name, result) for (name, _), result in zip(images, results, strict=True)]
        return JSONResponse(records, status_of(records))

    @api.get("/api/health")
    async def health(self) -> dict[str, Any]:
        """The model file and its sha256, and the request limits."""
        return {"status": "ok", "model": self.predictor.model_path.name,
                "sha256": (self.predictor.card or {}).get("sha256"), "max_file_size": self.limits.file,
                "max_images": MAX_IMAGES, "read_number": False}


def build_app(args: dict[str, Any] | None = None) -> serve.Application:
    """The app for `serve deploy` / `serve run` (the `args` of the config file) and for scale.serve.

    args: model (path), max_file_size (bytes), max_batch_size, batch_wait_s.
    """
    args = dict(args or {})
    known = {"model", "max_file_size", "max_batch_size", "batch_wait_s"}
    if unknown := set(args) - known:
        raise ValueError(f"unknown app args {sorted(unknown)}: use {sorted(known)}")
    return DigitService.bind(**args)
