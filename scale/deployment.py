"""The Ray Serve app: the REST API's routes, with its own request handling (app/web/reading.py) and
answers (app/web/rest.py), so the two servers can't drift apart. Run it with `python -m scale.serve`,
or on a cluster with `serve deploy scale/serve_config.yaml`.
"""

# No `from __future__ import annotations`: FastAPI reads the handlers’ annotations at runtime.

import asyncio
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from ray import serve

from app.settings import MAX_FILE_SIZE, size_bytes
from app.web.reading import Limits, records_response
from app.web.rest import health_fields
from serving import DigitResult, InputError, Reader
from serving.operations import PREDICT, READ_NUMBER, READ_PAGE, Operation
from serving.paths import DEFAULT_MODEL

api = FastAPI(title="Handwritten digit recognizer API (Ray Serve)", docs_url="/docs", redoc_url=None)


@serve.deployment(ray_actor_options={"num_cpus": 1}, max_ongoing_requests=32)
@serve.ingress(api)
class DigitService:
    """One Reader per replica; the images of concurrent /api/predict requests share model calls."""

    def __init__(self, model: str = str(DEFAULT_MODEL), max_file_size: int | None = size_bytes(MAX_FILE_SIZE),
                 max_batch_size: int = 32, batch_wait_s: float = 0.002) -> None:
        self.reader = Reader(model)
        self.limits = Limits(max_file_size)
        self.predict_images.set_max_batch_size(max_batch_size)
        self.predict_images.set_batch_wait_timeout_s(batch_wait_s)

    @serve.batch(max_batch_size=32, batch_wait_timeout_s=0.002)
    async def predict_images(self, images: list[bytes]) -> list[DigitResult | InputError]:
        # Off the replica's event loop, so that requests keep arriving while a batch is computed.
        return await asyncio.to_thread(self.reader.read_digits, images)

    async def answers(self, op: Operation, blobs: list[bytes]) -> list[dict[str, Any]]:
        """The operation's answers; plain digits are batched across requests, the rest (rare, or
        already one model call a request) not."""
        if op is PREDICT:
            return [op.fields(r) for r in await asyncio.gather(*(self.predict_images(b) for b in blobs))]
        return await asyncio.to_thread(op.answers, self.reader, blobs)

    @api.post("/api/predict")
    async def predict(self, request: Request) -> Response:
        """One JSON object per image, in order, in the shape `python -m serving FILE...` prints;
        ?explain=true adds "heatmap" and "seen" (as `--explain`)."""
        return await records_response(request, self.limits, PREDICT.name, self.answers)

    @api.post("/api/read_number")
    async def read_number(self, request: Request) -> Response:
        """Several digits on a line per image, read left to right."""
        return await records_response(request, self.limits, READ_NUMBER.name, self.answers)

    @api.post("/api/read_page")
    async def read_page(self, request: Request) -> Response:
        """Every number on each page, in reading order."""
        return await records_response(request, self.limits, READ_PAGE.name, self.answers)

    @api.get("/api/health")
    async def health(self) -> dict[str, Any]:
        """The model file and its sha256, and the request limits."""
        return health_fields(self.reader, self.limits)


def build_app(args: dict[str, Any] | None = None) -> serve.Application:
    """The app for `serve deploy` / `serve run`, made with the config file's `args`."""
    known = {"model", "max_file_size", "max_batch_size", "batch_wait_s"}
    if unknown := set(args or {}) - known:
        raise ValueError(f"unknown app args {sorted(unknown)}: use {sorted(known)}")
    return DigitService.bind(**(args or {}))
