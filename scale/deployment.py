"""The Ray Serve app: POST /api/predict and /api/read_number with the REST endpoint's request and
answer (rest.py).

Requests are read and answered by the REST API's own `api.reading.records_response` (multipart or
JSON base64, size caps enforced while reading, the same 400/413/415/422), and /api/health answers
rest.health_fields, so the two endpoints can't drift apart. Each replica holds one
serving.Predictor (one onnxruntime session). Images from concurrent requests are gathered by
@serve.batch into one model call. Run it with `python -m scale.serve`,
or on a cluster with `serve deploy scale/serve_config.yaml` (import path scale.deployment:build_app).
"""

# No `from __future__ import annotations`: FastAPI reads the handlers’ annotations at runtime.

import asyncio
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from ray import serve

from api.reading import ApiError, Limits, error_response, explain_flag, records_response
from rest import health_fields, predict_numbers
from serving import InputError, Predictor
from serving.predictor import DEFAULT_MODEL, DigitResult
from serving.records import digit_record, number_record

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

    async def predict_each(self, blobs: list[bytes]) -> list[DigitResult | InputError]:
        return await asyncio.gather(*(self.predict_images(blob) for blob in blobs))

    async def explain_each(self, blobs: list[bytes]) -> list[DigitResult | InputError]:
        # Not batched across requests: explained answers are asked for rarely, one request at a time.
        return await asyncio.to_thread(self.predictor.predict_batch, blobs, None, True)

    async def read_numbers(self, blobs: list[bytes]) -> list:
        # Not batched across requests: each image's digits already go through the model at once.
        return await asyncio.to_thread(predict_numbers, self.predictor, blobs)

    @api.post("/api/predict")
    async def predict(self, request: Request) -> Response:
        """One JSON object per image, in order, in the shape `python -m serving FILE...` prints;
        ?explain=true adds "heatmap" and "seen" (as `--explain`)."""
        try:
            compute = self.explain_each if explain_flag(request) else self.predict_each
        except ApiError as err:
            return error_response(err.status, err.message)
        return await records_response(request, self.limits, compute, digit_record, "digit")

    @api.post("/api/read_number")
    async def read_number(self, request: Request) -> Response:
        """Several digits on a line per image, read left to right."""
        return await records_response(request, self.limits, self.read_numbers, number_record, "number")

    @api.get("/api/health")
    async def health(self) -> dict[str, Any]:
        """The model file and its sha256, and the request limits."""
        return health_fields(self.predictor, self.limits)


def build_app(args: dict[str, Any] | None = None) -> serve.Application:
    """The app for `serve deploy` / `serve run` (the `args` of the config file) and for scale.serve.

    args: model (path), max_file_size (bytes), max_batch_size, batch_wait_s.
    """
    args = dict(args or {})
    known = {"model", "max_file_size", "max_batch_size", "batch_wait_s"}
    if unknown := set(args) - known:
        raise ValueError(f"unknown app args {sorted(unknown)}: use {sorted(known)}")
    return DigitService.bind(**args)
