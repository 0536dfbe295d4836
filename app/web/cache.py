"""Gradio's file cache for this process: private, swept, and removed when the process ends (issue #19).

Gradio keeps uploads under GRADIO_TEMP_DIR, and its delete_cache removes only the files it tracks:
an upload cut off half-way, the other parts of a refused one and, with SIGTERM, the last minute's
uploads stayed for good. So this process gets a directory of its own there, removed at exit (and
one a killed process left is removed at the next start); a Janitor deletes whatever requests left
once it is max_age old; and an upload that finds the disk full gets 507 while the janitor clears
the dead uploads at once.
"""

from __future__ import annotations

import asyncio
import atexit
import errno
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app.web import error_response

LOG = logging.getLogger("cache")
TEMP_ENV = "GRADIO_TEMP_DIR"
PREFIX = "digits-"

NO_ROOM = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}  # disk full, quota, file-size limit


def private_dir_or_exit(environ: Any = os.environ) -> Path:
    """Makes GRADIO_TEMP_DIR a new directory of this process's own, removed at exit, or ends the
    process with a message and status 1, as for the app's other start-up errors. Call it before
    importing gradio, which reads GRADIO_TEMP_DIR then. Also turns Gradio's analytics off unless the
    operator turned them on: an offline server would otherwise wait on them."""
    environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    base = Path(environ.get(TEMP_ENV) or Path(tempfile.gettempdir()) / "gradio")
    try:
        base.mkdir(parents=True, exist_ok=True)
        sweep_orphans(base)
        path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=base))
        (path / ".probe").write_bytes(b"")  # mkdtemp can succeed where a file can't be written
        (path / ".probe").unlink()
    except OSError as err:
        sys.exit(f"error: {TEMP_ENV}={base} can't hold uploads ({err.strerror or err}): set {TEMP_ENV} "
                 "to a writable directory, e.g. GRADIO_TEMP_DIR=/tmp/gradio")
    environ[TEMP_ENV] = str(path)
    atexit.register(shutil.rmtree, path, ignore_errors=True)  # after Ctrl-C and SIGTERM too (demo.py)
    return path


def sweep_orphans(base: Path) -> list[Path]:
    """Removes the directories of this app's processes that are gone (killed: no exit to clean up);
    returns them. Only names private_dir_or_exit() makes, owned by this user, of pids not running."""
    removed = []
    for path in base.glob(f"{PREFIX}*-*"):
        pid = path.name[len(PREFIX):].split("-", 1)[0]
        try:
            mine = path.is_dir() and not path.is_symlink() and path.stat().st_uid == os.getuid()
        except OSError:
            continue
        if mine and pid.isdigit() and not pid_running(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return pid > 0


def file_age(path: Path, now: float) -> float:
    st = path.lstat()
    return now - max(st.st_mtime, st.st_ctime)  # ctime: Gradio renames a finished upload into place


class Janitor:
    """Deletes what requests left in the cache directory once it is older than max_age_s."""

    def __init__(self, root: Path, max_age_s: float, client_timeout_s: float) -> None:
        self.root, self.max_age_s, self.client_timeout_s = root, max_age_s, client_timeout_s
        self.keep: set[Path] = set()

    def sweep(self, max_age_s: float | None = None) -> int:
        """Deletes files older than max_age_s (default: self.max_age_s) and empty directories."""
        age = self.max_age_s if max_age_s is None else max_age_s
        now, removed = time.time(), 0
        for directory, _, files in os.walk(self.root, topdown=False):
            for name in files:
                path = Path(directory, name)
                try:
                    if path not in self.keep and file_age(path, now) >= age:
                        path.unlink()
                        removed += 1
                except FileNotFoundError:
                    continue  # deleted meanwhile (by Gradio's own clean-up)
            if Path(directory) != self.root and Path(directory) not in self.keep:
                try:
                    Path(directory).rmdir()  # only if empty
                except OSError:
                    pass
        return removed

    async def run(self) -> None:
        while True:
            await asyncio.sleep(max(1.0, self.max_age_s / 2))
            try:
                await asyncio.to_thread(self.sweep)
            except OSError as err:
                LOG.warning("cleaning the upload cache failed: %s", err)

    def around(self, lifespan: Callable[[Any], AbstractAsyncContextManager]) -> Callable[[Any], Any]:
        """The app's lifespan, with the janitor running while the server runs."""

        @asynccontextmanager
        async def combined(app: Any) -> AsyncIterator[None]:
            # What is in the cache now stays: Gradio's copies of examples and plots, and its own folders.
            self.keep = set(self.root.rglob("*"))
            task = asyncio.create_task(self.run())
            try:
                async with lifespan(app):
                    yield
            finally:
                task.cancel()

        return combined

    async def no_room(self, request: Request, exc: Exception) -> Response:
        """FastAPI's handler for OSError: a full disk → 507 with a message, and room made. An upload
        still being written changes at least every client_timeout_s (slower ones are cut off by
        timeouts.BodyTimeout), so anything older is a dead upload and can go now."""
        if not isinstance(exc, OSError) or exc.errno not in NO_ROOM:
            raise exc
        removed = await asyncio.to_thread(self.sweep, self.client_timeout_s)
        LOG.warning("no room for an upload (%s); removed %d stale files", exc.strerror, removed)
        return error_response(507, "the server has no room to store this upload right now (its disk is "
                                   "full): try again in a minute, or send a smaller file")
