"""What a request says of itself is not believed: who the client is, where the app lives and which
site's page sent it come from the connection and the operator.

- The client's address (the rate limits, the login brake) is the connection's; uvicorn takes
  X-Forwarded-For/-Proto only from the proxies named with --trusted-proxy (its own default trusts
  127.0.0.1, where a local tunnel or proxy connects from, so any client could choose its address).
- The page's root URL is --public-url, the share link, or the address the connection came in on,
  not Host, X-Forwarded-Host or X-Gradio-Server, which a client chooses and a shared cache keeps.
- Other websites can't act as the logged-in user: the login works only on the app's own pages and on
  the sites the operator names (--allow-origin). Gradio's login cookie is `SameSite=None` (a Space
  shows the app in another site's iframe), so a browser sends it, and HTTP Basic credentials, with
  requests any other site's page makes; and Gradio's CORS middleware gives any origin credentials
  when the app is reached by a name other than localhost.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, MutableMapping, Sequence
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.web import error_response
from app.web.access import is_loopback

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # a page can't change anything with these alone
DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443"}
TRUSTED_ENV = "FORWARDED_ALLOW_IPS"  # uvicorn reads it when Gradio builds its server's config
ROOT_HEADERS = frozenset({b"host", b"x-forwarded-host", b"x-forwarded-proto", b"x-gradio-server"})
LOGIN_COOKIE = "access-token"  # Gradio's cookies: access-token-<id>, access-token-unsecure-<id>
REFUSED = ("refused: this request came from another website with your login. The app's login works "
           "only on its own pages (the operator can allow a site with --allow-origin)")


def site(url: str) -> tuple[str, str] | None:
    """(scheme, host[:port]) of a URL, the port left out when it is the scheme's default; None for
    what is not an http(s) URL (an Origin of "null", say)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if port is not None and str(port) != DEFAULT_PORTS[parts.scheme]:
        host = f"{host}:{port}"
    return parts.scheme, host


class Sites:
    """The app's own site (per request: the host the browser addressed) and the sites allowed to
    use the login."""

    def __init__(self, allowed: Iterable[str] = (), public_url: str | None = None) -> None:
        self.allowed = {s for s in map(site, allowed) if s is not None}
        self.public_host = (site(public_url or "") or (None, None))[1]

    def trusts(self, url: str, host_header: str | None) -> bool:
        """Whether a request from the page at `url` may use the login of a request to `host_header`."""
        origin = site(url)
        if origin is None:
            return False
        if origin in self.allowed or origin[1] == self.public_host:
            return True
        own = site(f"{origin[0]}://{host_header}") if host_header else None
        return own is not None and own[1] == origin[1]


def has_credentials(headers: Headers) -> bool:
    """The login cookie or HTTP Basic: what a browser adds to a request on its own."""
    if headers.get("authorization", "").lower().startswith("basic"):
        return True
    return any(name.strip().startswith(LOGIN_COOKIE) for name, _, _ in
               (part.partition("=") for part in headers.get("cookie", "").split(";")))


def claimed_page(method: str, headers: Headers) -> str | None:
    """The page a request says it comes from: its Origin; without one, for a method that changes
    something, its Referer. None when it says nothing (programs, and links followed)."""
    if "origin" in headers:
        return headers["origin"]
    return None if method in SAFE_METHODS else headers.get("referer")


class SameOrigin:
    """ASGI middleware: a request with the login from another site's page gets 403. The app's own site
    is the one the browser addressed (Host, which a page can't set), --public-url, or the share link
    (`share_url()`, known once launch() has opened it)."""

    def __init__(self, app: ASGIApp, sites: Sites,
                 share_url: Callable[[], str | None] = lambda: None) -> None:
        self.app, self.sites, self.share_url = app, sites, share_url

    def trusts(self, page: str, host_header: str | None) -> bool:
        share = self.share_url()
        return self.sites.trusts(page, host_header) or (share is not None and site(share) == site(page))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = Headers(scope=scope)
            page = claimed_page(scope.get("method", "GET"), headers)
            foreign = page is not None and not self.trusts(page, headers.get("host"))
            if foreign and has_credentials(headers):
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})  # before accept: refused
                else:
                    await error_response(403, REFUSED)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def strict_cors(base: type, sites: Sites) -> type:
    """StrictCORS, a subclass of Gradio's CustomCORSMiddleware (`base`) that allows credentials only to
    the app's own site and the allowed ones."""

    class StrictCORS(base):  # type: ignore[misc, valid-type]
        def trusted(self, request_headers: Headers) -> bool:
            return sites.trusts(request_headers["origin"], request_headers.get("host"))

        def preflight_response(self, request_headers: Headers) -> Response:
            if not self.is_valid_origin(request_headers):
                return PlainTextResponse("OK", status_code=200)  # no CORS headers: the browser refuses
            response = super().preflight_response(request_headers)
            if not self.trusted(request_headers):
                del response.headers["access-control-allow-credentials"]
            return response

        async def _send(self, message: Message, send: Send, request_headers: Headers) -> None:
            if message["type"] == "http.response.start" and self.is_valid_origin(request_headers):
                headers = MutableHeaders(scope=message)
                if self.trusted(request_headers):
                    headers.update(self.simple_headers)
                self.allow_explicit_origin(headers, request_headers["origin"])
            await send(message)

    return StrictCORS


def install_cors(sites: Sites) -> None:
    """From now on, apps Gradio builds use StrictCORS in place of its CORS middleware (Gradio adds
    it itself in launch(), so this is the one place to change it)."""
    from gradio import route_utils, routes

    routes.CustomCORSMiddleware = strict_cors(route_utils.CustomCORSMiddleware, sites)  # type: ignore[attr-defined]


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
