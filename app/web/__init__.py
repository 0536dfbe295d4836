"""The HTTP side of the app, on Gradio's server: the REST API and the guards in front of every route.

Every refusal, by the API or a guard, is JSON {"error": "message"}. Never import torch here.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Scope


class Refused(Exception):
    """A request refused as a whole: its HTTP status, the message for the person and, over a rate
    limit, the seconds until it may be sent again."""

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after

    def response(self) -> Response:
        retry = None if self.retry_after is None else {"Retry-After": str(self.retry_after)}
        return error_response(self.status, self.message, retry)


def json_response(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(content), status, headers, media_type="application/json")


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response({"error": message}, status, headers)


def client_host(scope: Scope) -> str:
    """The client's address as uvicorn reports it (see origin.py), used in memory only."""
    return scope["client"][0] if scope.get("client") else "unknown"
