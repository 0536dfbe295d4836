"""app/web/timeouts.py: event streams end when idle and are capped; unknown sessions and websocket
upgrades are refused quietly (issue #31, 4 and 6). The server-level checks are tests/test_security.py."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import pytest

from app.web import timeouts

HEARTBEAT = b'data: {"msg":"heartbeat"}\n\n'


def scope(path: str = "/gradio_api/mcp/sse", client: str = "10.0.0.1", query: bytes = b"", app=None) -> dict:
    return {"type": "http", "method": "GET", "path": path, "client": (client, 5000), "query_string": query,
            "headers": [], "app": app}


async def heartbeats_for_ever(scope, receive, send):
    """An event stream that only keeps itself alive, until its client is gone."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"event: endpoint\ndata: /x\n\n", "more_body": True})

    async def beat():
        while True:
            await asyncio.sleep(0.05)
            await send({"type": "http.response.body", "body": HEARTBEAT, "more_body": True})

    beating = asyncio.create_task(beat())
    while (await receive())["type"] != "http.disconnect":
        pass
    beating.cancel()


class Client:
    """An ASGI server's side of one request: what was sent, and a disconnect once the response ended."""

    def __init__(self) -> None:
        self.sent: list[dict] = []
        self.done = asyncio.Event()

    async def receive(self) -> dict:
        await self.done.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict) -> None:
        self.sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self.done.set()


def test_a_stream_of_heartbeats_ends_after_the_idle_time():
    async def run() -> tuple[float, Client]:
        middleware, client = timeouts.Streams(heartbeats_for_ever, idle_s=0.3), Client()
        start = time.monotonic()
        await asyncio.wait_for(middleware(scope(), client.receive, client.send), timeout=10)
        return time.monotonic() - start, client

    took, client = asyncio.run(run())
    assert 0.3 <= took < 3, took
    bodies = [m for m in client.sent if m["type"] == "http.response.body"]
    assert bodies[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert len(bodies) > 3  # the heartbeats went out, and did not count as activity


def test_streams_are_capped_per_client_and_in_all(monkeypatch):
    monkeypatch.setattr(timeouts, "TOTAL", 6)
    monkeypatch.setattr(timeouts, "PER_CLIENT", 4)

    async def run() -> list[int]:
        middleware = timeouts.Streams(heartbeats_for_ever, idle_s=5)
        clients = [Client() for _ in range(8)]
        addresses = ["10.0.0.1"] * 5 + ["10.0.0.2"] * 3
        tasks = [asyncio.create_task(middleware(scope(client=a), c.receive, c.send))
                 for a, c in zip(addresses, clients, strict=True)]
        await asyncio.sleep(0.2)
        for client in clients:
            client.done.set()
        await asyncio.gather(*tasks)
        assert not middleware.open  # every stream counted out again
        return [c.sent[0]["status"] for c in clients]

    assert asyncio.run(run()) == [200, 200, 200, 200, 429, 200, 200, 503]


def test_heartbeats():
    assert timeouts.is_heartbeat(HEARTBEAT) and timeouts.is_heartbeat(b": ping - 2026-12-06 03:00:00\r\n\r\n")
    assert not timeouts.is_heartbeat(b'data: {"msg":"process_completed"}\n\n')


def test_an_unknown_queue_session_is_a_404():
    queue = SimpleNamespace(pending_messages_per_session={"known": object()})
    app = SimpleNamespace(get_blocks=lambda: SimpleNamespace(_queue=queue))
    middleware = timeouts.Streams(heartbeats_for_ever, idle_s=0.1)
    unknown = middleware.refusal(scope(timeouts.QUEUE_STREAM, query=b"session_hash=nosuch", app=app))
    assert unknown is not None and unknown.status_code == 404
    assert middleware.refusal(scope(timeouts.QUEUE_STREAM, query=b"session_hash=known", app=app)) is None


@pytest.mark.parametrize("path", ["/gradio_api/mcp/", "/gradio_api/queue/join", "/"])
def test_websocket_upgrades_are_refused(path):
    sent = []

    async def app(scope, receive, send):
        raise AssertionError("the app must not see it")

    async def send(message):
        sent.append(message)

    asyncio.run(timeouts.Streams(app)({"type": "websocket", "path": path}, None, send))
    assert sent == [{"type": "websocket.close", "code": 1008}]  # before accept: uvicorn answers 403
