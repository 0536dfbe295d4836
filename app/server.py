"""Starting the app: settings → the models, the login, the corrections and the page → one server,
which serves the page, the Gradio API and MCP (app/ui/) and the REST API (app/web/) over one Reader:
`serve(create(settings), cache_dir)` runs it until Ctrl-C or SIGTERM."""

from __future__ import annotations

import errno
import signal
import socket
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
from fastapi import FastAPI
from starlette.middleware import Middleware

from app.corrections import Corrections, open_corrections
from app.settings import CONCURRENCY, Settings
from app.ui import blocks
from app.web import access, cache, fetch, origin, rest, timeouts
from serving import ModelError, Reader

LOGIN_MESSAGE = "Log in with the user name and password you were given."


@dataclass(frozen=True)
class App:
    settings: Settings
    reader: Reader
    users: access.Users
    corrections: Corrections | None
    demo: gr.Blocks


def create(settings: Settings) -> App:
    """Loads the models and the users, opens the corrections, builds the page. Raises ModelError
    or ValueError (AuthError, CorrectionsError) with a message for the command line."""
    reader = Reader(settings.model, verify=settings.verify)
    users = access.load_users(settings.auth, settings.auth_file, settings.auth_source)
    corrections = open_corrections(settings)
    return App(settings, reader, users, corrections, blocks.build(reader, corrections))


def create_or_exit(settings: Settings) -> App:
    try:
        return create(settings)
    except (ModelError, ValueError) as err:
        sys.exit(f"error: {err}")


def app_kwargs(app: App, cache_dir: Path) -> dict[str, Any]:
    """launch()'s app_kwargs: the REST API (with /api/corrections) and its /docs, slow clients timed
    out, the cache swept. Middleware, outermost first: deadlines on bodies (408; the brake reads the
    login form's), the login (a stranger gets 401 before any body is read), event streams bounded,
    and the page's root fixed."""
    settings = app.settings
    janitor = cache.Janitor(cache_dir, settings.cache_max_age, settings.client_timeout)

    @asynccontextmanager
    async def lifespan(server: FastAPI) -> AsyncIterator[None]:
        # The upload limit Gradio parsed from launch(): the API and the page apply the same one.
        limit = server.get_blocks().max_file_size  # type: ignore[attr-defined]
        rest.install(server, rest.create_router(app.reader, limit, app.corrections))
        async with janitor.running():
            yield

    middleware = [Middleware(timeouts.BodyTimeout, timeout_s=settings.client_timeout)]
    if app.users:  # password guessing braked (429 first), strangers refused (401), other sites' pages (403)
        sites = origin.Sites(settings.allow_origins, settings.public_url)
        middleware += [Middleware(access.BrakeLogins, users=app.users, brake=access.LoginBrake()),
                       Middleware(access.LoginRequired, users=app.users),
                       Middleware(origin.SameOrigin, sites=sites, share_url=lambda: app.demo.share_url)]
    middleware += [Middleware(timeouts.Streams, idle_s=settings.stream_idle),
                   Middleware(origin.FixedRoot, share_url=lambda: app.demo.share_url),
                   Middleware(fetch.UrlTools)]
    # /docs is docs.install_page's (its assets from an installed package, not a CDN).
    return {"docs_url": None, "redoc_url": None, "openapi_url": "/openapi.json", "lifespan": lifespan,
            "exception_handlers": {OSError: janitor.no_room}, "middleware": middleware}


def launch_kwargs(app: App, cache_dir: Path) -> dict[str, Any]:
    """Everything launch() is given."""
    settings = app.settings
    return {"server_name": settings.host, "server_port": settings.port, "share": settings.share,
            "max_file_size": settings.max_file_size, "footer_links": ["api"],
            "app_kwargs": app_kwargs(app, cache_dir), "auth": list(app.users.items()) or None,
            "auth_message": LOGIN_MESSAGE, "mcp_server": settings.mcp, "css": blocks.CSS, "js": blocks.JS,
            "root_path": settings.public_url, "quiet": True, "prevent_thread_lock": True}


def serve(app: App, cache_dir: Path) -> None:
    """Runs the server until Ctrl-C or SIGTERM; a port in use ends the process with a message."""
    settings = app.settings
    if settings.port is not None and port_in_use(settings.host, settings.port):
        sys.exit(f"error: port {settings.port} is in use (another server?): choose another with --port, "
                 "or leave --port out to take the first free one from 7860")
    if app.corrections is not None:
        limit = app.corrections.limit.per_minute
        print(f"corrections: kept in {settings.corrections} ({app.corrections.store.count()} so far); "
              f"{f'at most {limit} per client a minute' if limit else 'no rate limit'}", flush=True)
    if warning := access.open_warning(settings.host, settings.share, app.users):
        print(warning, flush=True)
    timeouts.install(settings.client_timeout)  # request heads: see app/web/timeouts.py
    origin.trust_proxies(settings.trusted_proxies)
    origin.install_cors(origin.Sites(settings.allow_origins, settings.public_url))
    fetch.install(settings.fetch)
    with sigterm_as_ctrl_c():
        app.demo.queue(default_concurrency_limit=CONCURRENCY).launch(**launch_kwargs(app, cache_dir))
        print(f"* Running on local URL:  {app.demo.local_url}", flush=True)
        if not app.demo.share_url:  # Gradio's own line would say `share=True` in `launch()`
            print("* To create a public link, start the app with --share.", flush=True)
        app.demo.block_thread()


def port_in_use(host: str, port: int) -> bool:
    """Whether `port` on `host` is taken (Gradio would say so in an 11-line traceback)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as err:
            return err.errno == errno.EADDRINUSE
    return False


@contextmanager
def sigterm_as_ctrl_c() -> Iterator[None]:
    """While the app runs, SIGTERM (docker stop, systemd, a Space restarting) ends it as Ctrl-C
    does: Gradio closes the server and the cache directory is removed, instead of the process
    just dying."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield  # `gradio demo.py` re-runs the file in a thread when it changes; only the first run
        return  # (the main thread) can take signals, and it already did
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)

