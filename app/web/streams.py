"""Event streams that end: one (MCP's, the page's queue) that has sent nothing but heartbeats for
`idle_s` is ended, as clients reconnect when they need to; at most PER_CLIENT are open per client (429)
and TOTAL in all (503); a queue stream for a session the queue doesn't know is a 404, and a websocket
upgrade (the app serves none) a 403, not tracebacks in the log.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from urllib.parse import parse_qs

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.settings import STREAM_IDLE_S
from app.web import client_host, error_response

QUEUE_STREAM = "/gradio_api/queue/data"
STREAM_PATHS = frozenset({QUEUE_STREAM, "/gradio_api/mcp/sse", "/gradio_api/mcp", "/gradio_api/mcp/"})
PER_CLIENT = 10  # a browser tab holds one queue stream, an MCP client one or two
TOTAL = 200  # far below the 2,000 that slowed the server fifty-fold
RETRY = {"Retry-After": "10"}
HEARTBEATS = (b'data: {"msg":"heartbeat"}',)  # Gradio's queue; SSE comments (": ping") are the MCP server's


def is_heartbeat(chunk: bytes) -> bool:
    """Whether a chunk of an event stream only keeps it alive."""
    text = chunk.strip()
    return not text or text.startswith(b":") or text in HEARTBEATS


class Streams:
    """ASGI middleware: event streams bounded in number and idle time; bad upgrades refused."""

    def __init__(self, app: ASGIApp, idle_s: float = STREAM_IDLE_S) -> None:
        self.app, self.idle_s = app, idle_s
        self.open: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # before accept: uvicorn answers 403
            return
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] not in STREAM_PATHS:
            await self.app(scope, receive, send)
            return
        if refusal := self.refusal(scope):
            await refusal(scope, receive, send)
            return
        client = client_host(scope)
        self.open[client] += 1
        stream = IdleStream(send, self.idle_s)
        watcher = asyncio.create_task(stream.watch())
        try:
            await self.app(scope, receive, stream.send)
        finally:
            watcher.cancel()
            self.open -= Counter([client])  # drops the client at 0

    def refusal(self, scope: Scope) -> Response | None:
        if self.open[client_host(scope)] >= PER_CLIENT:
            return error_response(429, f"too many open event streams from this client (at most {PER_CLIENT})",
                                  RETRY)
        if self.open.total() >= TOTAL:
            return error_response(503, "the server has too many open event streams: try again soon", RETRY)
        if scope["path"] == QUEUE_STREAM and not known_session(scope):
            return error_response(404, "no such session: it has ended, or never started (join the queue "
                                       "first)")
        return None


def known_session(scope: Scope) -> bool:
    """Whether Gradio's queue has the session this queue stream asks for."""
    session = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("session_hash", [""])[0]
    app = scope.get("app")
    try:
        return session in app.get_blocks()._queue.pending_messages_per_session  # type: ignore[union-attr]
    except AttributeError:
        return True  # not Gradio's app: nothing to check against


class IdleStream:
    """One stream's send, ended after `idle_s` with nothing but heartbeats."""

    def __init__(self, send: Send, idle_s: float) -> None:
        self._send, self.idle_s = send, idle_s
        self.last = time.monotonic()
        self.started = self.ended = False
        self.lock = asyncio.Lock()  # the app's sends and the watcher's end, one at a time

    async def send(self, message: Message) -> None:
        async with self.lock:
            if self.ended:
                return  # ended for idleness: the app finds out from receive() (a disconnect)
            if message["type"] == "http.response.start":
                self.started = True
            elif message["type"] == "http.response.body":
                if not is_heartbeat(message.get("body", b"")):
                    self.last = time.monotonic()
                self.ended = not message.get("more_body", False)
            await self._send(message)

    async def watch(self) -> None:
        while not self.ended:
            wait = self.last + self.idle_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            async with self.lock:
                if self.started and not self.ended:
                    self.ended = True
                    await self._send({"type": "http.response.body", "body": b"", "more_body": False})
                    return
            await asyncio.sleep(self.idle_s)  # not started yet: its first message will be news
