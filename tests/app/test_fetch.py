"""app/web/fetch.py: MCP image URLs fetched asking no third party, failing in one message, or not at
all with --no-fetch (issue #31, 5)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from app.web import fetch


@pytest.fixture
def installed(monkeypatch):
    """fetch.install(), undone after the test; every HTTP request any client makes is recorded
    (and fails: this machine is offline anyway)."""
    import safehttpx
    from gradio import processing_utils

    for module, name in [(safehttpx, "async_resolve_hostname_google"),
                         (processing_utils, "async_ssrf_protected_download"),
                         (processing_utils, "async_ssrf_protected_get")]:
        monkeypatch.setattr(module, name, getattr(module, name))
    asked: list[str] = []

    async def record(self, request, *args, **kwargs):
        asked.append(str(request.url))
        raise httpx.ConnectError("offline")

    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", record)
    return asked


def download(url: str, tmp_path) -> str:
    from gradio import processing_utils

    async def run() -> str:
        try:
            await processing_utils.async_ssrf_protected_download(url, str(tmp_path))
        except Exception as err:
            return str(err)
        return "fetched"

    return asyncio.run(run())


# a name that resolves only to loopback, one that doesn't resolve, a loopback address, a port shut
URLS = ["http://localhost/7.png", "http://no-such-host.invalid/7.png", "http://127.0.0.1:1/7.png",
        "http://[::1]/7.png"]


def test_no_third_party_is_asked_about_a_name(installed, tmp_path):
    fetch.install()
    for url in URLS:
        download(url, tmp_path)
    assert not [u for u in installed if "dns.google" in u], installed
    assert not installed  # nothing at all was fetched: every one of them is refused before


def test_every_url_that_cant_be_fetched_gets_one_message(installed, tmp_path):
    fetch.install()
    assert {download(url, tmp_path) for url in URLS} == {fetch.FETCH_FAILED}
    assert "failed validation" in fetch.FETCH_FAILED  # the words tests/test_mcp.py has always checked


def test_no_fetch_fetches_nothing(installed, tmp_path):
    fetch.install(allowed=False)
    assert download("https://example.com/7.png", tmp_path) == fetch.NO_FETCH and not installed


def test_install_twice_wraps_once(installed):
    from gradio import processing_utils

    fetch.install(allowed=False)
    fetch.install(allowed=True)
    wrapped = processing_utils.async_ssrf_protected_get
    assert not hasattr(wrapped.__wrapped__, "__wrapped__")
