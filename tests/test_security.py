"""Issue #31, "Safe to expose": the findings, probed as the issue did, against one
`python demo.py` with a login and corrections (and short windows: 3 corrections a minute, streams
idle after 2 s). One test per finding; each failed on the code before the fix. The pieces are
tested in-process in tests/app (test_origin, test_forwarded, test_brake, test_streams,
test_fetch, test_cache, test_server).

The brake test comes last: it locks this machine's address out of the login for minutes.
"""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.settings import AUTH_ENV
from tests.conftest import DemoServer, start_demo, stop_demo

ROOT = Path(__file__).resolve().parent.parent
SEVEN = ROOT / "examples" / "7_ballpoint_photo.jpg"
USER = ("amy", "pw:secret")
PER_MINUTE = 3
STREAM_IDLE_S = 2.0
PER_CLIENT_STREAMS = 10  # app/web/timeouts.py


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


BASIC = basic(*USER)


@pytest.fixture(scope="module")
def server(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    folder = tmp_path_factory.mktemp("security")
    demo = start_demo(model_path, folder / "demo.log", env={AUTH_ENV: f"{USER[0]}:{USER[1]}"}, auth=USER,
                      args=["--corrections", str(folder / "corrections.db"), "--corrections-per-minute",
                            str(PER_MINUTE), "--stream-idle-timeout", str(STREAM_IDLE_S)])
    try:
        yield demo
    finally:
        stop_demo(demo)


def login_cookie(server: DemoServer) -> str:
    reply = httpx.post(server.url + "login", data={"username": USER[0], "password": USER[1]}, timeout=60)
    assert reply.status_code == 200, reply.text
    return "; ".join(f"{name}={value}" for name, value in reply.cookies.items())


def correction() -> dict:
    return {"image": base64.b64encode(SEVEN.read_bytes()).decode(), "label": 7}


def raw(server: DemoServer, request: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.settimeout(30)
    sock.sendall(request)
    return sock


def status_of(sock: socket.socket) -> int:
    head = b""
    while b"\r\n" not in head and (chunk := sock.recv(1)):
        head += chunk
    return int(head.split(b" ")[1])


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes the connection within `seconds` (reading all it sends)."""
    deadline = time.monotonic() + seconds
    sock.settimeout(0.5)
    while time.monotonic() < deadline:
        try:
            if not sock.recv(65536):
                return True
        except TimeoutError:
            continue
    return False


def get(path: str, headers: dict[str, str] | None = None) -> bytes:
    lines = "".join(f"{k}: {v}\r\n" for k, v in {**BASIC, **(headers or {})}.items())
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{lines}\r\n".encode()


def log_lines(server: DemoServer) -> list[str]:
    return server.log.read_text(errors="replace").splitlines()


# ---------------------------------------------------------------- 1. other websites


def test_other_websites_cant_act_as_the_logged_in_user(server: DemoServer) -> None:
    """The issue's reproduction: the cookie, `Host: digits.example`, `Origin: https://evil.example`."""
    cookie = login_cookie(server)
    evil = {"Cookie": cookie, "Host": "digits.example", "Origin": "https://evil.example"}
    stored = httpx.post(server.url + "api/corrections", headers=evil, json=correction(), timeout=60)
    assert stored.status_code == 403, stored.text  # was 201: a false correction kept for training
    for method, path, body in [("GET", "config", None), ("POST", "api/predict", {"images": []})]:
        reply = httpx.request(method, server.url + path, headers=evil, json=body, timeout=60)
        assert reply.status_code == 403, reply.text
        assert "access-control-allow-credentials" not in reply.headers, reply.headers
    own = httpx.get(server.url + "config", headers={**evil, "Origin": "https://digits.example"}, timeout=60)
    assert own.status_code == 200 and json.loads(own.text)["components"]


# ---------------------------------------------------------------- 2. forwarded headers


def test_a_client_cant_choose_its_address_to_dodge_the_rate_limit(server: DemoServer) -> None:
    statuses = [httpx.post(server.url + "api/corrections", json=correction(), timeout=60,
                           headers={**BASIC, "X-Forwarded-For": f"10.0.0.{n}"}).status_code
                for n in range(PER_MINUTE + 3)]
    assert statuses == [201] * PER_MINUTE + [429] * 3  # were all 201: each "a new client"


# ---------------------------------------------------------------- 4. streams and headers


def test_event_streams_end_when_idle_and_are_capped(server: DemoServer) -> None:
    with raw(server, get("/gradio_api/mcp/sse")) as stream:
        assert status_of(stream) == 200
        assert closed_within(stream, STREAM_IDLE_S + 10)  # was open for good
    held = [raw(server, get("/gradio_api/mcp/sse")) for _ in range(PER_CLIENT_STREAMS)]
    try:
        assert [status_of(s) for s in held] == [200] * PER_CLIENT_STREAMS
        with raw(server, get("/gradio_api/mcp/sse")) as one_more:
            assert status_of(one_more) == 429
    finally:
        for sock in held:
            sock.close()


@pytest.mark.parametrize("headers", [{"X-Big": "a" * 100_000}, {f"X-{n}": "1" for n in range(20_000)}],
                         ids=["100 kB", "20,000 headers"])
def test_headers_are_capped(server: DemoServer, headers: dict[str, str]) -> None:
    with raw(server, get("/api/health", headers)) as sock:
        assert status_of(sock) == 431  # was 200


@pytest.mark.parametrize("framing", [b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n",
                                     b"Content-Length: 4\r\nContent-Length: 40\r\n"], ids=["CL+TE", "CL+CL"])
def test_smuggling_style_requests_are_still_refused(server: DemoServer, framing: bytes) -> None:
    """What held in the issue's probe, and must go on holding."""
    request = get("/api/health").replace(b"GET", b"POST").replace(b"\r\n\r\n", b"\r\n" + framing + b"\r\n")
    with raw(server, request + b"0\r\n\r\n") as sock:
        assert status_of(sock) == 400


# ---------------------------------------------------------------- 5. URL fetches


def test_an_image_url_that_cant_be_fetched_says_the_same_whatever_the_reason(server: DemoServer) -> None:
    """Was "Unable to resolve hostname" for a name that doesn't exist, "failed validation" for one that
    resolves to a private address: an oracle for the server's internal names."""
    from tests.test_mcp import call, in_session, mcp_url

    async def work(session) -> list[tuple[bool, str]]:
        return [await call(session, "recognize_digit", url) for url in
                ["http://localhost:1/seven.png", "http://no-such-host.invalid/seven.png"]]

    (private_error, private), (unknown_error, unknown) = in_session(mcp_url(server.url), work,
                                                                   httpx.BasicAuth(*USER))
    assert private_error and unknown_error and private == unknown, (private, unknown)
    assert "failed validation or could not be fetched" in private and "resolve" not in unknown


# ---------------------------------------------------------------- 6. quiet logs


def test_unknown_sessions_and_bad_upgrades_are_refused_without_a_traceback(server: DemoServer) -> None:
    cookie = {"Cookie": login_cookie(server)}  # Gradio's login: its queue takes no other
    before = len(log_lines(server))
    for n in range(50):
        reply = httpx.get(server.url + f"gradio_api/queue/data?session_hash=nosuch{n}", headers=cookie,
                          timeout=60)
        assert reply.status_code == 404, reply.text[:300]  # was a 200 stream, then a 5 kB traceback
    upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    for _ in range(10):
        with raw(server, get("/gradio_api/mcp/", upgrade).replace(b"Connection: close\r\n", b"")) as sock:
            assert status_of(sock) == 403  # was a 500 and a traceback
    time.sleep(1)  # anything the server logs about them is written by now
    new = log_lines(server)[before:]
    assert len(new) <= 3 and not any("Traceback" in line for line in new), new


# ---------------------------------------------------------------- 7. the page's root


def test_the_page_root_is_not_taken_from_the_request(server: DemoServer) -> None:
    headers = {"Cookie": login_cookie(server), "Host": "evil.example", "X-Forwarded-Host": "evil2.example",
               "X-Gradio-Server": "http://evil3.example"}
    for path in ["", "config"]:
        reply = httpx.get(server.url + path, headers=headers, timeout=60)
        assert reply.status_code == 200 and "evil" not in reply.text, path  # was the root of the page
        assert f"http://127.0.0.1:{server.port}" in reply.text


# ---------------------------------------------------------------- 3. the login brake (last: it locks us out)


def test_guessing_passwords_is_slowed_then_refused_and_logged(server: DemoServer) -> None:
    start = time.monotonic()
    guesses = [basic(USER[0], f"guess-{n}") for n in range(10)]
    statuses = [httpx.get(server.url + "api/health", headers=g, timeout=60).status_code for g in guesses]
    assert statuses == [401] * 10 and time.monotonic() - start > 5  # the later guesses waited
    refused = httpx.post(server.url + "login", data={"username": USER[0], "password": USER[1]}, timeout=60)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 60  # was 200 at once
    failures = [line for line in log_lines(server) if "failed login (HTTP Basic)" in line]
    assert len(failures) == 10 and "user 'amy' from 127.0.0.1" in failures[-1]
    assert "guess-" not in server.log.read_text(errors="replace")
