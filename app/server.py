"""Starting the app: settings → the models, the login, the corrections and the page → one server.

    app = create(settings)       # ModelError / ValueError with a message when something is wrong
    serve(app, cache_dir)        # until Ctrl-C or SIGTERM

The page, the Gradio API and MCP (app/ui/), and the REST API (app/web/) share the one server and
the one Reader. demo.py and `digits serve` (app.main) are the two ways in; both set up the private
upload directory (app.web.cache) before this module imports gradio.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
from starlette.middleware import Middleware

from app.corrections import Corrections, open_corrections
from app.settings import CONCURRENCY, Settings
from app.ui import blocks, page
from app.web import access, cache, rest, timeouts
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
    """launch()'s app_kwargs: the REST API (with /api/corrections), slow clients timed out, the
    cache swept, the login first (a stranger gets 401 before any body is read), then slow bodies (408)."""
    settings = app.settings
    janitor = cache.Janitor(cache_dir, settings.cache_max_age)
    kwargs = rest.app_kwargs(lambda max_file_size: rest.create_router(app.reader, max_file_size,
                                                                      app.corrections))
    kwargs["lifespan"] = cache.with_janitor(kwargs["lifespan"], janitor)
    kwargs["exception_handlers"] = {OSError: cache.no_room_handler(janitor, settings.client_timeout)}
    guard = [Middleware(access.LoginRequired, users=app.users)] if app.users else []
    kwargs["middleware"] = [*guard, Middleware(timeouts.BodyTimeout, timeout_s=settings.client_timeout)]
    return kwargs


def launch_kwargs(app: App, cache_dir: Path) -> dict[str, Any]:
    """Everything launch() is given."""
    settings = app.settings
    return {"server_name": settings.host, "server_port": settings.port, "share": settings.share,
            "max_file_size": settings.max_file_size, "footer_links": ["api"],
            "app_kwargs": app_kwargs(app, cache_dir), "auth": list(app.users.items()) or None,
            "auth_message": LOGIN_MESSAGE, "mcp_server": settings.mcp, "css": page.CSS, "js": page.JS}


def serve(app: App, cache_dir: Path) -> None:
    """Runs the server until Ctrl-C or SIGTERM."""
    if app.corrections is not None:
        limit = app.corrections.limit.per_minute
        print(f"corrections: kept in {app.settings.corrections} ({app.corrections.store.count()} so far); "
              f"{f'at most {limit} per client a minute' if limit else 'no rate limit'}", flush=True)
    if warning := access.open_warning(app.settings.host, app.settings.share, app.users):
        print(warning, flush=True)
    timeouts.install(app.settings.client_timeout)  # request heads: see app/web/timeouts.py
    with sigterm_as_ctrl_c():
        app.demo.queue(default_concurrency_limit=CONCURRENCY).launch(**launch_kwargs(app, cache_dir))


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

