"""A brake on guessing passwords: failed logins, by HTTP Basic or on the login page, are counted per
client and per user, slowed, then refused for a while (429 with Retry-After), each logged in one line
without the password. A user's limit refuses only the clients that failed on it, so that an attack
from one place doesn't lock its owner out everywhere.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.web import client_host, error_response
from app.web.access import Users, basic_credentials, basic_user

LOG = logging.getLogger("login")
WINDOW_S = 300.0  # failures are remembered this long: "for a while"
SLOW_AFTER = 3  # a person mistypes a few times; after that each wrong answer waits
SLOW_S = 1.0  # unnoticed by a person retyping, a second per guess to a script
CLIENT_LIMIT = 10  # failures from one client before it is refused
USER_LIMIT = 20  # failures on one user before the clients that failed on it are refused
MAX_KEYS = 10_000  # beyond this, keys without a failure in the window are forgotten
MAX_LOGIN_BODY = 64 * 1024  # the login form is two short fields
LOGIN_PATHS = frozenset({"/login", "/login/"})


class LoginBrake:
    """Failed logins in the last WINDOW_S, per client, per user, per (client, user). Memory only."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.failures: dict[tuple[str, ...], deque[float]] = {}

    def _recent(self, key: tuple[str, ...]) -> deque[float]:
        times = self.failures.get(key, deque())
        while times and times[0] <= self.clock() - WINDOW_S:
            times.popleft()
        return times

    def refused_for(self, client: str, user: str | None) -> float:
        """Seconds until this client may try again (0: it may now)."""
        waits = [self._wait(("client", client), CLIENT_LIMIT)]
        if user is not None and self._recent(("pair", client, user)):
            waits.append(self._wait(("user", user), USER_LIMIT))
        return max(waits)

    def _wait(self, key: tuple[str, ...], limit: int) -> float:
        times = self._recent(key)
        return max(0.0, times[-limit] + WINDOW_S - self.clock()) if len(times) >= limit else 0.0

    def failed(self, client: str, user: str | None) -> int:
        """Counts a failure; returns the client's failures in the window."""
        if len(self.failures) > MAX_KEYS:
            self.failures = {key: times for key in list(self.failures) if (times := self._recent(key))}
        keys = [("client", client), *([("user", user), ("pair", client, user)] if user is not None else [])]
        for key in keys:
            self.failures.setdefault(key, deque(maxlen=max(CLIENT_LIMIT, USER_LIMIT))).append(self.clock())
        return len(self._recent(("client", client)))

    def slow_down(self, client: str) -> float:
        """Seconds a wrong answer to this client waits (by its own failures only: others' guesses
        at the same user must not slow its owner)."""
        return SLOW_S if len(self._recent(("client", client))) > SLOW_AFTER else 0.0


class BrakeLogins:
    """ASGI middleware: every request with HTTP Basic credentials, and every POST to the login
    page, is a login attempt that the brake may refuse, slow down and count."""

    def __init__(self, app: ASGIApp, users: Users, brake: LoginBrake) -> None:
        self.app, self.users, self.brake = app, users, brake

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # a login is an HTTP request; anything else goes past
            await self.app(scope, receive, send)
            return
        header, client = Headers(scope=scope).get("authorization"), client_host(scope)
        if (credentials := basic_credentials(header)) is not None:
            if await self.refused(client, credentials[0], scope, send):
                return
            if basic_user(header, self.users) is None:
                await self.failed(client, credentials[0], "HTTP Basic")
            await self.app(scope, receive, send)
        elif scope["method"] == "POST" and scope["path"] in LOGIN_PATHS:
            await self.login_form(scope, receive, send, client)
        else:
            await self.app(scope, receive, send)

    async def login_form(self, scope: Scope, receive: Receive, send: Send, client: str) -> None:
        body, complete = await read_body(receive)
        name = await form_user(scope, body) if complete else None
        if await self.refused(client, name, scope, send):
            return

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] != 200:  # 200: the cookie
                await self.failed(client, name, "the login page")
            await send(message)

        await self.app(scope, replay(body, complete, receive), watch)

    async def refused(self, client: str, user: str | None, scope: Scope, send: Send) -> bool:
        wait = math.ceil(self.brake.refused_for(client, user))
        if wait > 0:
            await error_response(429, f"too many failed logins: try again in {wait} s",
                                 {"Retry-After": str(wait)})(scope, _nothing, send)
        return wait > 0

    async def failed(self, client: str, user: str | None, how: str) -> None:
        count = self.brake.failed(client, user)
        shown = "an unreadable user name" if user is None else f"user {user[:64]!r}"
        LOG.warning("failed login (%s) for %s from %s: %d in the last %d min", how, shown, client, count,
                    WINDOW_S // 60)
        if delay := self.brake.slow_down(client):
            await asyncio.sleep(delay)


async def read_body(receive: Receive) -> tuple[bytes, bool]:
    """The request body up to MAX_LOGIN_BODY bytes, and whether that is all of it."""
    body, more = b"", True
    while more and len(body) <= MAX_LOGIN_BODY:
        message = await receive()
        if message["type"] != "http.request":
            return body, False
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return body, not more


def replay(body: bytes, complete: bool, receive: Receive) -> Receive:
    """A receive that gives `body` first, then whatever `receive` still has."""
    first = [{"type": "http.request", "body": body, "more_body": not complete}]

    async def again() -> Message:
        return first.pop() if first else await receive()

    return again


async def form_user(scope: Scope, body: bytes) -> str | None:
    """The login form's user name (Gradio strips it), or None."""
    try:
        async with Request(scope, replay(body, True, _nothing)).form(max_files=0) as form:
            name = form.get("username")
    except Exception:  # a form Gradio will refuse anyway: counted as a failure without a name
        return None
    return name.strip() if isinstance(name, str) else None


async def _nothing() -> Message:
    return {"type": "http.disconnect"}
