"""One story for the MCP tools on the API page: they take an http(s) or a data: URL.

Gradio 6.31 marks a tool with a file argument "file_data_present" in /gradio_api/mcp/schema, and
its API page then offers agents a second MCP server (`uvx gradio upload-mcp`) to upload local
files first. These tools fetch the URL they are given (app/web/fetch.py), so the page is told
otherwise: the flag is cleared in the schema's answer, and nothing else changes.
"""

from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SCHEMA_PATH = "/gradio_api/mcp/schema"


def without_uploads(body: bytes) -> bytes:
    """The schema's JSON with every tool's meta.file_data_present false (the body as it came
    when it is not that JSON)."""
    try:
        tools = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    if not isinstance(tools, list):
        return body
    for tool in tools:
        if isinstance(tool, dict) and isinstance(tool.get("meta"), dict):
            tool["meta"]["file_data_present"] = False
    return orjson.dumps(tools)


class UrlTools:
    """ASGI middleware: GET /gradio_api/mcp/schema answered without the upload flag."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].endswith(SCHEMA_PATH):
            await self.app(scope, receive, send)
            return
        start: Message = {}
        parts: list[bytes] = []

        async def collect(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            parts.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = without_uploads(b"".join(parts))
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, collect)
