"""The login: the users of --auth / DIGIT_AUTH / --auth-file, a guard for every route, and a brake on
guessing passwords (the README's "Sharing" says what a user sees).

Gradio checks its login cookie on its own API routes and serves the login form (launch(auth=...));
every other route (the REST API, /docs, the MCP server, a dozen of Gradio's lesser routes) goes
through LoginRequired. A user's limit in BrakeLogins refuses only the clients that failed on it, so
that an attack from one place doesn't lock its owner out everywhere.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import ipaddress
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.settings import AUTH_ENV
from app.web import client_host, error_response

CHALLENGE = 'Basic realm="Handwritten digit recognizer", charset="UTF-8"'
LOG_IN_FIRST = ("log in first: this app needs a user name and password (HTTP Basic, e.g. curl -u "
                "USER:PASSWORD, or the app's login page)")
Users = dict[str, str]  # user name → password

LOG = logging.getLogger("login")
WINDOW_S = 300.0  # failures are remembered this long: "for a while"
SLOW_AFTER = 3  # a person mistypes a few times; after that each wrong answer waits
SLOW_S = 1.0  # unnoticed by a person retyping, a second per guess to a script
CLIENT_LIMIT = 10  # failures from one client before it is refused
USER_LIMIT = 20  # failures on one user before the clients that failed on it are refused
MAX_KEYS = 10_000  # beyond this, keys without a failure in the window are forgotten
MAX_LOGIN_BODY = 64 * 1024  # the login form is two short fields
LOGIN_PATHS = frozenset({"/login", "/login/"})
# What Gradio's login page loads before anyone has logged in, and startup-events, which launch()
# itself calls without credentials. Everything else needs credentials.
OPEN_PATHS = frozenset({"/", "/login", "/login/", "/favicon.ico", "/theme.css", "/gradio_api/startup-events"})
OPEN_PREFIXES = ("/assets/", "/static/")


class AuthError(ValueError):
    """Credentials that can't be used, with what to fix (never the password itself)."""


def parse_user(text: str, where: str) -> tuple[str, str]:
    """("user", "password") from "user:password"; the password may itself contain ':'."""
    user, colon, password = text.partition(":")
    user = user.strip()
    if not colon or not user or not password:
        raise AuthError(f"{where}: expected USER:PASSWORD, both non-empty")
    if any(c.isspace() for c in user):
        raise AuthError(f"{where}: the user name {user!r} contains a space")
    return user, password


def read_auth_file(path: Path) -> list[tuple[str, str]]:
    """One USER:PASSWORD a line; blank lines and lines starting with # are skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise AuthError(f"--auth-file {path}: can't read it ({err.__class__.__name__})") from None
    users = [parse_user(line.strip(), f"{path}, line {n}") for n, line in enumerate(lines, 1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not users:
        raise AuthError(f"--auth-file {path}: no USER:PASSWORD line in it")
    return users


def load_users(auth: str | None, file: Path | None, where: str = "--auth") -> Users:
    """The users allowed in: `auth` (USER:PASSWORD, from `where`: --auth or $DIGIT_AUTH) plus those
    of --auth-file. Empty: no login."""
    pairs = [parse_user(auth, where)] if auth is not None else []
    pairs += read_auth_file(file) if file is not None else []
    users: Users = {}
    for user, password in pairs:
        if users.get(user, password) != password:
            raise AuthError(f"user {user!r} is given twice with different passwords")
        users[user] = password
    return users


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: assume others can reach it


def open_warning(host: str, share: bool, users: Users) -> str | None:
    """The one line to print when strangers can reach an app that asks for no password."""
    if users or (not share and is_loopback(host)):
        return None
    where = "the public link" if share else f"this network address ({host})"
    return (f"WARNING: no password is set, so anyone who can reach {where} can use this app, its "
            f"API and MCP server: add --auth USER:PASSWORD (or set {AUTH_ENV}) to require a login.")


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(user, password) an `Authorization: Basic ...` header claims, right or wrong; None without
    one. An unreadable one claims the empty name."""
    if not (header or "").lower().startswith("basic"):
        return None
    try:
        user, _, password = base64.b64decode(header[5:].strip(), validate=True).decode().partition(":")
    except (binascii.Error, ValueError):
        return "", ""
    return user, password


def basic_user(header: str | None, users: Users) -> str | None:
    """The user of a valid `Authorization: Basic ...` header, else None."""
    user, password = basic_credentials(header) or ("", "")
    expected = users.get(user)
    # compared in constant time, and for an unknown user too, so that timing tells nothing
    ok = hmac.compare_digest(password.encode(), (expected or password + "x").encode())
    return user if ok and expected is not None else None


def cookie_user(connection: HTTPConnection, app: Any) -> str | None:
    """The user of Gradio's login cookie (set by its /login), else None."""
    tokens = getattr(app, "tokens", None) or {}
    cookie_id = getattr(app, "cookie_id", None)
    for name in (f"access-token-{cookie_id}", f"access-token-unsecure-{cookie_id}"):
        if (user := tokens.get(connection.cookies.get(name) or "")) is not None:
            return user
    return None


class LoginRequired:
    """ASGI middleware: only logged-in users (Gradio's cookie or HTTP Basic) get past it."""

    def __init__(self, app: ASGIApp, users: Users) -> None:
        self.app, self.users = app, users

    def is_open(self, scope: Scope) -> bool:
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):] or "/"
        return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)

    def allowed(self, scope: Scope) -> bool:
        connection = HTTPConnection(scope)
        return (basic_user(connection.headers.get("authorization"), self.users) is not None
                or cookie_user(connection, scope.get("app")) is not None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self.is_open(scope) or self.allowed(scope):
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # before accept: refused
        else:
            await error_response(401, LOG_IN_FIRST, {"WWW-Authenticate": CHALLENGE})(scope, receive, send)


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
