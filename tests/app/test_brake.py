"""app/web/access.py: password guessing slowed, then refused for a while; the owner still gets in
(issue #31, 3)."""

from __future__ import annotations

import base64
import logging

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from app.web import access

USERS = {"amy": "right-pw", "bob": "b0b"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):
    monkeypatch.setattr(access, "SLOW_S", 0.0)


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def app_with(login_brake: access.LoginBrake) -> Starlette:
    async def health(request):
        return PlainTextResponse("ok")

    async def login(request):  # as Gradio's /login answers
        form = await request.form()
        right = USERS.get(form.get("username", "")) == form.get("password")
        return JSONResponse({"success": True} if right else {"detail": "Incorrect credentials."},
                            200 if right else 400)

    return Starlette(routes=[Route("/api/health", health), Route("/login", login, methods=["POST"])],
                     middleware=[Middleware(access.BrakeLogins, users=USERS, brake=login_brake),
                                 Middleware(access.LoginRequired, users=USERS)])


def client(app: Starlette, address: str) -> TestClient:
    return TestClient(app, client=(address, 5000))


def test_wrong_passwords_are_refused_for_a_while_then_forgotten(caplog):
    clock = Clock()
    app = app_with(access.LoginBrake(clock))
    attacker, owner = client(app, "10.0.0.66"), client(app, "10.0.0.7")
    with caplog.at_level(logging.WARNING, logger="login"):
        statuses = [attacker.get("/api/health", headers=basic("amy", f"guess{i}")).status_code
                    for i in range(access.CLIENT_LIMIT + 2)]
    assert statuses == [401] * access.CLIENT_LIMIT + [429, 429]
    refused = attacker.get("/api/health", headers=basic("amy", "right-pw"))  # the right one too, from there
    assert refused.status_code == 429 and 0 < int(refused.headers["retry-after"]) <= access.WINDOW_S
    assert owner.get("/api/health", headers=basic("amy", "right-pw")).status_code == 200
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == access.CLIENT_LIMIT and "user 'amy' from 10.0.0.66" in lines[0]
    assert not any("guess" in line for line in lines)  # never the password
    clock.now += access.WINDOW_S + 1
    assert attacker.get("/api/health", headers=basic("amy", "right-pw")).status_code == 200


def test_the_login_page_is_braked_too():
    app = app_with(access.LoginBrake(Clock()))
    attacker, owner = client(app, "10.0.0.66"), client(app, "10.0.0.7")
    statuses = [attacker.post("/login", data={"username": "amy", "password": f"guess{i}"}).status_code
                for i in range(access.CLIENT_LIMIT + 1)]
    assert statuses == [400] * access.CLIENT_LIMIT + [429]
    multipart = {"username": (None, "amy"), "password": (None, "right-pw")}  # as the page's form sends it
    assert owner.post("/login", files=multipart).status_code == 200


def test_an_attack_on_one_user_from_many_clients():
    """Many clients guessing at one user: those that failed on it are refused; its owner, who
    hasn't, still gets in with the right password."""
    app = app_with(access.LoginBrake(Clock()))
    for n in range(access.USER_LIMIT):
        assert client(app, f"10.1.0.{n}").get("/api/health", headers=basic("amy", "guess")).status_code == 401
    assert client(app, "10.1.0.0").get("/api/health", headers=basic("amy", "right-pw")).status_code == 429
    assert client(app, "10.9.9.9").get("/api/health", headers=basic("amy", "right-pw")).status_code == 200
    assert client(app, "10.1.0.0").get("/api/health", headers=basic("bob", "b0b")).status_code == 200


def test_wrong_answers_are_slowed_after_a_few(monkeypatch):
    monkeypatch.setattr(access, "SLOW_S", 0.25)
    login_brake = access.LoginBrake(Clock())
    for _ in range(access.SLOW_AFTER):
        login_brake.failed("10.0.0.66", "amy")
    assert login_brake.slow_down("10.0.0.66") == 0.0
    login_brake.failed("10.0.0.66", "amy")
    assert login_brake.slow_down("10.0.0.66") == 0.25 and login_brake.slow_down("10.0.0.7") == 0.0


def test_memory_is_bounded(monkeypatch):
    monkeypatch.setattr(access, "MAX_KEYS", 30)
    clock = Clock()
    login_brake = access.LoginBrake(clock)
    for n in range(100):
        clock.now += access.WINDOW_S  # each earlier failure has expired
        login_brake.failed(f"10.0.{n}.1", f"user{n}")
    assert len(login_brake.failures) <= 30 + 3


def test_a_login_form_that_stalls_is_timed_out():
    """The brake reads the login form itself, so the body deadlines must come before it (app/server.py)."""
    import asyncio

    from app.web.timeouts import BodyTimeout

    sent: list[dict] = []
    chunks = [{"type": "http.request", "body": b"username=amy&pass", "more_body": True}]

    async def receive() -> dict:
        if chunks:
            return chunks.pop()
        await asyncio.sleep(3600)  # the rest never comes
        raise AssertionError

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/login", "client": ("10.0.0.66", 5000),
             "query_string": b"", "headers": [(b"content-type", b"application/x-www-form-urlencoded"),
                                              (b"content-length", b"40")]}
    stack = BodyTimeout(access.BrakeLogins(PlainTextResponse("no"), USERS, access.LoginBrake()),
                        timeout_s=0.2)
    asyncio.run(asyncio.wait_for(stack(scope, receive, send), timeout=10))
    assert sent[0]["status"] == 408
