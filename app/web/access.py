"""Who may use the app: the users of --auth / DIGIT_AUTH / --auth-file, and a guard for every route.

Gradio checks its login cookie on its own API routes and serves the login form (launch(auth=...)).
Every other route (the REST API, /docs, the MCP server, a dozen of Gradio's lesser routes) goes
through LoginRequired: Gradio's cookie or HTTP Basic (curl -u, MCP clients), else 401.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
from pathlib import Path
from typing import Any

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from app.settings import AUTH_ENV
from app.web import error_response

CHALLENGE = 'Basic realm="Handwritten digit recognizer", charset="UTF-8"'
LOG_IN_FIRST = ("log in first: this app needs a user name and password (HTTP Basic, e.g. curl -u "
                "USER:PASSWORD, or the app's login page)")
Users = dict[str, str]  # user name → password

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
        token = connection.cookies.get(name)
        if token and tokens.get(token) is not None:
            return tokens[token]
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
