"""Image URLs given to the MCP tools: fetched without asking anyone else, failing in one message, or
not at all (--no-fetch; data: URLs need no fetch); and the API page told so.

safehttpx (Gradio's fetch) asked a public DNS resolver about a name that resolves only to private
addresses, and its two errors told a caller which internal names exist: install() leaves it the
system's resolver, and one message for every failure. /gradio_api/mcp/schema's "file_data_present"
makes the API page offer agents a second MCP server to upload local files first: UrlTools clears it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FETCH_FAILED = ("the image URL failed validation or could not be fetched: the server fetches only "
                "http(s) URLs on public addresses that answer with the file; send the image as a "
                "data: URL instead")
NO_FETCH = "this server doesn't fetch URLs (--no-fetch): send the image as a data: URL"
SCHEMA_PATH = "/gradio_api/mcp/schema"


async def no_public_resolver(hostname: str) -> list[str]:
    """What safehttpx asks when the system's resolver found no public address: nobody."""
    return []


def one_message(fetch: Callable[..., Awaitable[Any]], allowed: bool) -> Callable[..., Awaitable[Any]]:
    """`fetch` (one of Gradio's URL fetches), failing with FETCH_FAILED whatever went wrong, or
    with NO_FETCH without trying when fetching isn't `allowed`."""

    async def guarded(url: str, *args: Any, **kwargs: Any) -> Any:
        if not allowed:
            raise ValueError(NO_FETCH)
        try:
            return await fetch(url, *args, **kwargs)
        except Exception:
            raise ValueError(FETCH_FAILED) from None

    guarded.__wrapped__ = fetch  # type: ignore[attr-defined]
    return guarded


def install(allowed: bool = True) -> None:
    """Gradio's URL fetches, from now on, as the module docstring says. Once per process."""
    import safehttpx
    from gradio import processing_utils

    safehttpx.async_resolve_hostname_google = no_public_resolver
    for name in ("async_ssrf_protected_download", "async_ssrf_protected_get"):
        fetch = getattr(processing_utils, name)
        setattr(processing_utils, name, one_message(getattr(fetch, "__wrapped__", fetch), allowed))


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
