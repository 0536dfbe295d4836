"""Other websites can't act as the logged-in user: the login works only on the app's own pages and on
the sites the operator names (--allow-origin). Gradio's login cookie is `SameSite=None` (a Space shows
the app in another site's iframe), so a browser sends it, and HTTP Basic credentials, with requests
any other site's page makes:

- SameOrigin: a request with the cookie or Basic credentials from another site (its Origin, or for
  a POST and the like without one, its Referer) gets 403. The app's own site is the one the browser
  addressed (Host, which a page can't set) or --public-url; programs send no Origin.
- StrictCORS replaces Gradio's CORS middleware, which gives any origin credentials when the app is
  reached by a name other than localhost: only the app's own and the allowed sites get them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.web import error_response

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # a page can't change anything with these alone
DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443"}
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
    origin = headers.get("origin")
    if origin is not None:
        return origin
    return None if method in SAFE_METHODS else headers.get("referer")


class SameOrigin:
    """ASGI middleware: a request with the login from another site's page gets 403. The share link
    (`share_url()`, known once launch() has opened it) is the app's own site too."""

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
    """A subclass of Gradio's CustomCORSMiddleware (`base`) that allows credentials only to the app's
    own site and the allowed ones."""

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
