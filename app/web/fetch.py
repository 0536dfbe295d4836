"""Image URLs given to the MCP tools: fetched without asking anyone else, failing in one message,
or not fetched at all (--no-fetch). Issue #31.

Gradio fetches http(s) URLs with safehttpx, which refuses loopback and private addresses (and
redirects to them). But for a name that resolves only to private addresses it asked a public
DNS-over-HTTPS resolver (dns.google) about the name, and its two errors ("Unable to resolve
hostname" and "failed validation") told a caller which internal names exist. So install():

- safehttpx asks no resolver but the system's: a name with no public address is refused;
- every URL that can't be fetched, for whatever reason, gets FETCH_FAILED (the reason is not
  the caller's business: it would map the server's network);
- with fetch=False no URL is fetched at all (NO_FETCH); data: URLs never need a fetch.

Never import torch here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

FETCH_FAILED = ("the image URL failed validation or could not be fetched: the server fetches only "
                "http(s) URLs on public addresses that answer with the file; send the image as a "
                "data: URL instead")
NO_FETCH = "this server doesn't fetch URLs (--no-fetch): send the image as a data: URL"


async def no_public_resolver(hostname: str) -> list[str]:
    """What safehttpx asks when the system's resolver found no public address: nobody."""
    return []


def one_message(fetch: Callable[..., Awaitable[Any]], allowed: bool) -> Callable[..., Awaitable[Any]]:
    """`fetch` (one of Gradio's URL fetches), failing with FETCH_FAILED whatever went wrong, or
    with NO_FETCH without trying when fetching isn't `allowed`."""

    async def guarded(url: str, *args: Any, **kwargs: Any) -> Any:
        if not allowed:
            raise ValueError(NO_FETCH)
        try:
            return await fetch(url, *args, **kwargs)
        except Exception:
            raise ValueError(FETCH_FAILED) from None

    guarded.__wrapped__ = fetch  # type: ignore[attr-defined]
    return guarded


def install(allowed: bool = True) -> None:
    """Gradio's URL fetches, from now on, as the module docstring says. Once per process."""
    import safehttpx
    from gradio import processing_utils

    safehttpx.async_resolve_hostname_google = no_public_resolver
    for name in ("async_ssrf_protected_download", "async_ssrf_protected_get"):
        fetch = getattr(processing_utils, name)
        setattr(processing_utils, name, one_message(getattr(fetch, "__wrapped__", fetch), allowed))
