"""app/web/origin.py: a client can't choose its address or the page's root (issue #31, 2 and 7)."""

from __future__ import annotations

import asyncio

import pytest
from uvicorn.config import Config

from app.web import origin


def seen_by_the_app(config_env: str, client: str, headers: list[tuple[bytes, bytes]]) -> dict:
    """The scope the app gets behind uvicorn's proxy-headers middleware, as configured by
    FORWARDED_ALLOW_IPS=config_env (what trust_proxies sets)."""
    seen: dict = {}

    async def app(scope, receive, send):
        seen.update(scope)

    env: dict[str, str] = {}
    origin.trust_proxies([p for p in config_env.split(",") if p], env)
    config = Config(app, forwarded_allow_ips=env[origin.TRUSTED_ENV])
    config.load()
    scope = {"type": "http", "client": (client, 5000), "headers": headers, "scheme": "http"}
    asyncio.run(config.loaded_app(scope, None, None))
    return seen


FORGED = [(b"x-forwarded-for", b"6.6.6.6"), (b"x-forwarded-proto", b"https")]


@pytest.mark.parametrize("client", ["127.0.0.1", "::1", "10.0.0.5"])
def test_forwarded_headers_are_nobodys_by_default(client):
    """uvicorn's own default believed them from 127.0.0.1, where a local tunnel connects from."""
    seen = seen_by_the_app("", client, FORGED)
    assert seen["client"][0] == client and seen["scheme"] == "http"


def test_a_named_proxy_is_believed():
    seen = seen_by_the_app("10.0.0.5", "10.0.0.5", FORGED)
    assert seen["client"][0] == "6.6.6.6" and seen["scheme"] == "https"
    assert seen_by_the_app("10.0.0.5", "127.0.0.1", FORGED)["client"][0] == "127.0.0.1"


def rooted(headers: list[tuple[bytes, bytes]], share_url: str | None = None) -> dict:
    seen: dict = {}

    async def app(scope, receive, send):
        seen.update(scope)

    middleware = origin.FixedRoot(app, share_url=lambda: share_url)
    asyncio.run(middleware({"type": "http", "headers": headers, "server": ("192.168.1.5", 7860),
                            "scheme": "http"}, None, None))
    return {"scheme": seen["scheme"], "headers": dict(seen["headers"]), "count": len(seen["headers"])}


def test_the_root_comes_from_the_listening_address_not_the_request():
    got = rooted([(b"host", b"evil.example"), (b"x-forwarded-host", b"evil.example"),
                  (b"x-gradio-server", b"http://evil.example"), (b"x-forwarded-proto", b"https"),
                  (b"accept", b"*/*")])
    assert got["headers"] == {b"host": b"192.168.1.5:7860", b"accept": b"*/*"} and got["count"] == 2


def test_a_loopback_host_is_kept_as_the_browser_wrote_it():
    """localhost and 127.0.0.1 are the same app, but the login cookie is kept per name."""
    assert rooted([(b"host", b"localhost:7860")])["headers"][b"host"] == b"localhost:7860"


def test_the_share_link_is_the_root_when_there_is_one():
    got = rooted([(b"host", b"evil.example")], share_url="https://abc123.gradio.live")
    assert got["headers"] == {b"host": b"abc123.gradio.live"} and got["scheme"] == "https"
