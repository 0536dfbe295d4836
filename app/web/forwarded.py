"""Who a client is and where the app lives come from the operator, not from request headers.

- The client's address (the rate limits, the login brake) is the connection's; uvicorn takes
  X-Forwarded-For/-Proto only from the proxies named with --trusted-proxy (its own default trusts
  127.0.0.1, where a local tunnel or proxy connects from, so any client could choose its address).
- The page's root URL is --public-url, the share link, or the address the connection came in on,
  not Host, X-Forwarded-Host or X-Gradio-Server, which a client chooses and a shared cache keeps.
"""

from __future__ import annotations

import os
from collections.abc import Callable, MutableMapping, Sequence
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from app.web.access import is_loopback

TRUSTED_ENV = "FORWARDED_ALLOW_IPS"  # uvicorn reads it when Gradio builds its server's config
ROOT_HEADERS = frozenset({b"host", b"x-forwarded-host", b"x-forwarded-proto", b"x-gradio-server"})


def trust_proxies(proxies: Sequence[str], environ: MutableMapping[str, str] = os.environ) -> None:
    """From now on, uvicorn believes forwarded headers from these addresses only (none: nobody's)."""
    environ[TRUSTED_ENV] = ",".join(proxies)


class FixedRoot:
    """ASGI middleware: the headers Gradio builds the page's root URL from are replaced by the
    share link's host or the listening address (with --public-url, launch(root_path=...) wins)."""

    def __init__(self, app: ASGIApp, share_url: Callable[[], str | None] = lambda: None) -> None:
        self.app, self.share_url = app, share_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            host = own_host(scope)
            headers = [(name, value) for name, value in scope["headers"] if name not in ROOT_HEADERS]
            scope = {**scope, "headers": headers}
            share = self.share_url()
            if share:  # the tunnel connects from loopback; browsers came to the link
                scheme, _, rest = share.partition("://")
                scope["scheme"] = scheme if scope["type"] == "http" else scheme.replace("http", "ws")
                host = rest.split("/", 1)[0].encode()
            if host:
                headers.append((b"host", host))
        await self.app(scope, receive, send)


def own_host(scope: Scope) -> bytes | None:
    """The request's Host when it names this machine's loopback (localhost:7860 and 127.0.0.1:7860
    are both the app, and the login cookie is per name), else the listening address."""
    for name, value in scope["headers"]:
        if name == b"host":
            try:
                hostname = urlsplit("//" + value.decode("latin-1")).hostname or ""
            except ValueError:  # not a host at all
                break
            if is_loopback(hostname):
                return value
    server = scope.get("server")
    if not server or server[1] is None:
        return None
    host = f"[{server[0]}]" if ":" in server[0] else server[0]
    return f"{host}:{server[1]}".encode()
