"""Clients that hold on to the server are let go: slow clients timed out and request heads capped
(HeadTimeout, in uvicorn's protocol: the head is read before any ASGI app sees the request;
BodyTimeout, ASGI middleware), and event streams bounded (Streams).

An event stream (MCP's, the page's queue) that has sent nothing but heartbeats for `idle_s` is ended,
as clients reconnect when they need to; at most PER_CLIENT are open per client (429) and TOTAL in all
(503); a queue stream for a session the queue doesn't know is a 404, and a websocket upgrade (the app
serves none) a 403, not tracebacks in the log.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from typing import Any
from urllib.parse import parse_qs

import anyio
import orjson
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn import config as uvicorn_config
from uvicorn.protocols.http.h11_impl import H11Protocol

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as AutoProtocol
except ImportError:  # uvicorn without httptools uses h11 for "auto"
    AutoProtocol = H11Protocol  # type: ignore[misc]

from app.settings import CLIENT_TIMEOUT_S, STREAM_IDLE_S
from app.web import client_host, error_response

LOG = logging.getLogger("timeouts")

MIN_BODY_RATE = 16 * 1024  # bytes a second, on average: a 5 MB upload may take five minutes
MAX_HEAD_BYTES = 64 * 1024  # request line and headers; browsers send a few kB, cookies included
MAX_HEADERS = 100  # as Apache's LimitRequestFields; browsers send about 20
HEAD_408 = orjson.dumps({"error": "the request headers came too slowly: the connection is closed"})
HEAD_431 = orjson.dumps({"error": f"the request headers are too large: at most {MAX_HEADERS} headers and "
                                  f"{MAX_HEAD_BYTES // 1024} kB in all"})
END_OF_HEAD = b"\r\n\r\n"
BODY_408 = error_response(408, "the request body came too slowly or stopped: the connection is closed",
                          {"Connection": "close"})
QUEUE_STREAM = "/gradio_api/queue/data"
STREAM_PATHS = frozenset({QUEUE_STREAM, "/gradio_api/mcp/sse", "/gradio_api/mcp", "/gradio_api/mcp/"})
PER_CLIENT = 10  # a browser tab holds one queue stream, an MCP client one or two
TOTAL = 200  # far below the 2,000 that slowed the server fifty-fold
RETRY = {"Retry-After": "10"}
HEARTBEATS = (b'data: {"msg":"heartbeat"}',)  # Gradio's queue; SSE comments (": ping") are the MCP server's


def raw_response(status: bytes, body: bytes) -> bytes:
    return (b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\ncontent-length: "
            + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body)


class HeadTimeout:
    """Mixin for uvicorn's HTTP protocols: the head within `head_timeout` s of the connection opening or
    of the previous response, else 408 (one that sent nothing is just closed); too large a head, 431."""

    head_timeout: float = CLIENT_TIMEOUT_S
    _head_timer: asyncio.TimerHandle | None = None
    _head_bytes = 0
    _head_lines = 0
    _head_tail: bytes | None = b""  # the head's last bytes so far (its end may begin there); None: complete

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        if self._waiting_for_head() and self._head_too_large(data):
            self._cancel_head_timer()
            self.transport.write(raw_response(b"431 Request Header Fields Too Large", HEAD_431))  # type: ignore[attr-defined]
            self.transport.close()  # type: ignore[attr-defined]
            return
        super().data_received(data)  # type: ignore[misc]

    def _head_too_large(self, data: bytes) -> bool:
        """Counts the head's bytes and lines in `data` (up to the blank line that ends it)."""
        if self._head_tail is None:
            return False  # this head is complete: the rest is its body, or the next request
        seen = self._head_tail + data
        end = seen.find(END_OF_HEAD)
        head = seen[len(self._head_tail):] if end < 0 else seen[len(self._head_tail):end + len(END_OF_HEAD)]
        self._head_bytes += len(head)
        self._head_lines += head.count(b"\n")
        self._head_tail = None if end >= 0 else seen[-(len(END_OF_HEAD) - 1):]
        return self._head_bytes > MAX_HEAD_BYTES or self._head_lines > MAX_HEADERS + 2  # + request line, end

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        if not self.transport.is_closing():  # type: ignore[attr-defined]
            self._arm_head_timer()  # the next request's head

    def handle_websocket_upgrade(self, *args: Any) -> None:
        self._cancel_head_timer()  # the connection is the websocket protocol's from here on
        super().handle_websocket_upgrade(*args)  # type: ignore[misc]

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)  # type: ignore[misc]

    def _waiting_for_head(self) -> bool:
        cycle = self.cycle  # type: ignore[attr-defined]
        return cycle is None or cycle.response_complete

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_bytes = self._head_lines = 0
        self._head_tail = b""
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)  # type: ignore[attr-defined]

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        transport = self.transport  # type: ignore[attr-defined]
        if transport.is_closing() or not self._waiting_for_head():
            return  # closed already, or the head came and the body is BodyTimeout's
        if self._head_bytes:  # a head began: the client is told why the connection closes
            transport.write(raw_response(b"408 Request Timeout", HEAD_408))
        transport.close()


class GuardedProtocol(HeadTimeout, AutoProtocol):  # type: ignore[misc, valid-type]
    pass


def install(timeout_s: float = CLIENT_TIMEOUT_S) -> None:
    """From now on, uvicorn servers started with the default protocol ("auto"), as Gradio's are, time
    out slow heads."""
    GuardedProtocol.head_timeout = timeout_s
    uvicorn_config.HTTP_PROTOCOLS["auto"] = f"{__name__}:GuardedProtocol"


class BodyTimeout:
    """ASGI middleware: each chunk of a body within `timeout_s`, and the whole at MIN_BODY_RATE after a
    first `timeout_s` of grace, else 408, the connection closed, and the app sees the client as gone."""

    def __init__(self, app: ASGIApp, timeout_s: float = CLIENT_TIMEOUT_S) -> None:
        self.app, self.timeout_s = app, timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = _Body(self.timeout_s, scope, receive, send)
        try:
            await self.app(scope, body.receive, body.send)
        except ClientDisconnect:
            pass  # the client left (or was timed out): there is nobody to answer
        except Exception:
            if not body.timed_out:
                raise
            LOG.info("a request body timed out; its handler stopped")


class _Body:
    """One request's receive/send, with the body's deadlines."""

    def __init__(self, timeout_s: float, scope: Scope, receive: Receive, send: Send) -> None:
        self.timeout_s, self.scope, self._receive, self._send = timeout_s, scope, receive, send
        self.start = time.monotonic()
        self.received = 0
        self.complete = False  # the whole body is in: later receives wait for a disconnect
        self.timed_out = self.responded = False

    async def receive(self) -> Message:
        if self.timed_out:
            return {"type": "http.disconnect"}
        if self.complete:
            return await self._receive()
        deadline = self.start + self.timeout_s + self.received / MIN_BODY_RATE
        with anyio.move_on_after(max(0.0, min(self.timeout_s, deadline - time.monotonic()))):
            message = await self._receive()
            if message["type"] == "http.request":
                self.received += len(message.get("body", b""))
                self.complete = not message.get("more_body", False)
            return message
        self.timed_out = True
        if not self.responded:
            await BODY_408(self.scope, self._receive, self._send)
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if self.timed_out:
            return  # the 408 went out instead
        if message["type"] == "http.response.start":
            self.responded = True
        await self._send(message)


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
