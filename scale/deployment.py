"""The Ray Serve app: POST /api/predict and /api/read_number with the REST endpoint's request and
answer (rest.py).

Requests are read by rest.py's own reader (multipart or JSON base64, size caps enforced while
reading, the same 400/413/415 messages), so the two endpoints can't drift apart. Each replica
holds one serving.Predictor (one onnxruntime session). Images from concurrent requests are
gathered by @serve.batch into one model call. Run it with `python -m scale.serve`,
or on a cluster with `serve deploy scale/serve_config.yaml` (import path scale.deployment:build_app).
"""

# No `from __future__ import annotations`: FastAPI reads the handlers’ annotations at runtime.

import asyncio
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from ray import serve
from starlette.requests import ClientDisconnect

from rest import error_response, json_response, predict_numbers, request_images
from serving import InputError, Predictor
from serving.predictor import DEFAULT_MODEL, DigitResult
from serving.wire import MAX_IMAGES, ApiError, Limits, digit_record, number_record, status_of

DEFAULT_MAX_FILE_SIZE = 5 * 1024 * 1024  # the demo's default --max-file-size (5mb)

api = FastAPI(title="Handwritten digit recognizer API (Ray Serve)", docs_url="/docs", redoc_url=None)


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
    async def predict(self, request: Request) -> Response:
        """One JSON object per image, in order, in the shape `python -m serving FILE...` prints."""
        try:
            images = await request_images(request, self.limits)
        except ApiError as err:
            return error_response(err.status, err.message)
        except ClientDisconnect:
            return error_response(400, "the client disconnected before sending the whole request")
        results = await asyncio.gather(*(self.predict_images(blob) for _, blob in images))
        records = [digit_record(name, result) for (name, _), result in zip(images, results, strict=True)]
        return json_response(records, status_of(records))

    @api.post("/api/read_number")
    async def read_number(self, request: Request) -> Response:
        """Several digits on a line per image, read left to right (no cross-request batching)."""
        try:
            images = await request_images(request, self.limits)
        except ApiError as err:
            return error_response(err.status, err.message)
        except ClientDisconnect:
            return error_response(400, "the client disconnected before sending the whole request")
        results = await asyncio.to_thread(predict_numbers, self.predictor, [blob for _, blob in images])
        records = [number_record(name, result) for (name, _), result in zip(images, results, strict=True)]
        return json_response(records, status_of(records, "number"))

    @api.get("/api/health")
    async def health(self) -> dict[str, Any]:
        """The model file and its sha256, and the request limits."""
        return {"status": "ok", "model": self.predictor.model_path.name,
                "sha256": (self.predictor.card or {}).get("sha256"), "max_file_size": self.limits.file,
                "max_images": MAX_IMAGES, "read_number": True}


def build_app(args: dict[str, Any] | None = None) -> serve.Application:
    """The app for `serve deploy` / `serve run` (the `args` of the config file) and for scale.serve.

    args: model (path), max_file_size (bytes), max_batch_size, batch_wait_s.
    """
    args = dict(args or {})
    known = {"model", "max_file_size", "max_batch_size", "batch_wait_s"}
    if unknown := set(args) - known:
        raise ValueError(f"unknown app args {sorted(unknown)}: use {sorted(known)}")
    return DigitService.bind(**args)
