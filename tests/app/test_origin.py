"""app/web/origin.py: with the login, only the app's own pages and the allowed sites get in (issue #31, 1)."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from app.web import origin

COOKIE = {"Cookie": "access-token-unsecure-abc=t0k3n"}
BASIC = {"Authorization": "Basic YW15OnB3"}  # amy:pw
HOST = {"Host": "digits.example"}


def app_with(sites: origin.Sites) -> TestClient:
    async def hello(request):
        return PlainTextResponse("hello")

    app = Starlette(routes=[Route("/", hello, methods=["GET", "POST"])],
                    middleware=[Middleware(origin.SameOrigin, sites=sites)])
    return TestClient(app)


@pytest.mark.parametrize("credentials", [COOKIE, BASIC], ids=["cookie", "basic"])
@pytest.mark.parametrize(("method", "page"), [
    ("GET", {"Origin": "https://evil.example"}), ("POST", {"Origin": "https://evil.example"}),
    ("POST", {"Referer": "https://evil.example/page"}), ("POST", {"Origin": "null"}),
    ("GET", {"Origin": "https://digits.example.evil.example"}), ("POST", {"Origin": "http://digits.example:8080"}),
])
def test_another_sites_page_with_the_login_is_refused(credentials, method, page):
    reply = app_with(origin.Sites()).request(method, "/", headers={**HOST, **credentials, **page})
    assert reply.status_code == 403 and "another website" in reply.json()["error"]


@pytest.mark.parametrize(("method", "headers"), [
    ("POST", {**COOKIE, "Origin": "https://digits.example"}),  # the app's own page
    ("POST", {**COOKIE, "Origin": "http://digits.example:80"}),  # the same, with the default port
    ("POST", {**COOKIE, "Referer": "https://digits.example/?view=api"}),
    ("GET", {**COOKIE, "Referer": "https://evil.example/"}),  # a link followed: nothing changes
    ("POST", {**BASIC}),  # a program: no page at all
    ("POST", {"Origin": "https://evil.example"}),  # no login: nothing to ride
    ("POST", {**COOKIE, "Origin": "https://huggingface.co"}),  # allowed by the operator
    ("POST", {**COOKIE, "Origin": "https://digits.example.org"}),  # the public URL
])
def test_own_pages_programs_and_allowed_sites_pass(method, headers):
    sites = origin.Sites(["https://huggingface.co"], "https://digits.example.org/app")
    reply = app_with(sites).request(method, "/", headers={**HOST, **headers})
    assert reply.status_code == 200, reply.text


def cors_client() -> TestClient:
    from gradio.route_utils import CustomCORSMiddleware

    async def hello(request):
        return PlainTextResponse("hello")

    strict = origin.strict_cors(CustomCORSMiddleware, origin.Sites(["https://huggingface.co"]))
    return TestClient(Starlette(routes=[Route("/", hello, methods=["GET", "POST"])],
                                middleware=[Middleware(strict)]))


def test_the_share_link_is_the_apps_own_site():
    share = origin.SameOrigin(PlainTextResponse("hello"), origin.Sites(),
                              share_url=lambda: "https://abc123.gradio.live")
    client = TestClient(share)
    headers = {"Host": "127.0.0.1:7860", **COOKIE}  # what the tunnel's connection may say
    assert client.post("/", headers={**headers, "Origin": "https://abc123.gradio.live"}).status_code == 200
    assert client.post("/", headers={**headers, "Origin": "https://evil.gradio.live"}).status_code == 403


def test_cors_allows_credentials_only_to_own_and_allowed_sites():
    """Gradio's own CORS middleware echoed any Origin with credentials allowed."""
    client = cors_client()
    evil = {**HOST, "Origin": "https://evil.example"}
    for reply in [client.get("/", headers=evil),
                  client.options("/", headers={**evil, "Access-Control-Request-Method": "POST"})]:
        assert reply.headers["access-control-allow-origin"] == "https://evil.example"  # as any program
        assert "access-control-allow-credentials" not in reply.headers  # but never with the login
    for site in ["https://huggingface.co", "https://digits.example"]:
        allowed = client.get("/", headers={**HOST, "Origin": site})
        assert allowed.headers["access-control-allow-origin"] == site
        assert allowed.headers["access-control-allow-credentials"] == "true"


def test_an_app_on_localhost_gives_other_sites_nothing():
    """Gradio's own rule, kept: a page elsewhere can't read an app running on this machine."""
    client = cors_client()
    local = {"Host": "127.0.0.1:7860", "Origin": "https://evil.example"}
    for reply in [client.get("/", headers=local),
                  client.options("/", headers={**local, "Access-Control-Request-Method": "POST"})]:
        assert not any(h.startswith("access-control") for h in reply.headers)


def test_install_replaces_gradios_cors():
    from gradio import route_utils, routes

    before = routes.CustomCORSMiddleware
    try:
        origin.install_cors(origin.Sites())
        assert issubclass(routes.CustomCORSMiddleware, route_utils.CustomCORSMiddleware)
        assert routes.CustomCORSMiddleware is not route_utils.CustomCORSMiddleware
    finally:
        routes.CustomCORSMiddleware = before


@pytest.mark.parametrize(("url", "site"), [
    ("https://A.example:443/x", ("https", "a.example")),
    ("http://a.example:8080", ("http", "a.example:8080")),
    ("null", None), ("file:///etc", None), ("https://[::1]:7860", ("https", "[::1]:7860")),
    ("http://[x", None),
])
def test_sites_are_scheme_and_host(url, site):
    assert origin.site(url) == site
