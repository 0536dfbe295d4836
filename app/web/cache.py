"""Gradio's file cache for this process: private, swept, and removed when the process ends.

Gradio's delete_cache removes only the files it tracks (not an upload cut off half-way, nor the last
minute's after SIGTERM). So this process gets a directory of its own, removed at exit (or, after a
kill, at the next start); a Janitor deletes what requests left once max_age old; and an upload that
finds the disk full gets 507 while the dead uploads are cleared at once.
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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
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
    """Makes GRADIO_TEMP_DIR a new directory of this process's own, removed at exit, or exits with a
    message. Call it before importing gradio, which reads GRADIO_TEMP_DIR then. Also turns Gradio's
    analytics off unless the operator turned them on: an offline server would otherwise wait on them."""
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


def sweep_orphans(base: Path) -> None:
    """Removes the directories of this app's processes that are gone (killed: no exit to clean up):
    only names private_dir_or_exit() makes, owned by this user, of pids not running."""
    for path in base.glob(f"{PREFIX}*-*"):
        pid = path.name[len(PREFIX):].split("-", 1)[0]
        try:
            mine = path.is_dir() and not path.is_symlink() and path.stat().st_uid == os.getuid()
        except OSError:
            continue
        if mine and pid.isdigit() and not pid_running(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return pid > 0


class Janitor:
    """Deletes what requests left in the cache directory once it is older than max_age_s."""

    def __init__(self, root: Path, max_age_s: float, client_timeout_s: float) -> None:
        self.root, self.max_age_s, self.client_timeout_s = root, max_age_s, client_timeout_s
        self.keep: set[Path] = set()

    def sweep(self, max_age_s: float) -> int:
        """Deletes files older than max_age_s and empty directories."""
        now, removed = time.time(), 0
        for directory, _, files in os.walk(self.root, topdown=False):
            for name in files:
                path = Path(directory, name)
                with suppress(FileNotFoundError):  # deleted meanwhile (by Gradio's own clean-up)
                    st = path.lstat()  # ctime: Gradio renames a finished upload into place
                    if path not in self.keep and now - max(st.st_mtime, st.st_ctime) >= max_age_s:
                        path.unlink()
                        removed += 1
            if Path(directory) != self.root and Path(directory) not in self.keep:
                with suppress(OSError):
                    Path(directory).rmdir()  # only if empty
        return removed

    async def run(self) -> None:
        while True:
            await asyncio.sleep(max(1.0, self.max_age_s / 2))
            try:
                await asyncio.to_thread(self.sweep, self.max_age_s)
            except OSError as err:
                LOG.warning("cleaning the upload cache failed: %s", err)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The janitor at work while the server runs. What is in the cache now stays: Gradio's copies of
        examples and plots, and its own folders."""
        self.keep = set(self.root.rglob("*"))
        task = asyncio.create_task(self.run())
        try:
            yield
        finally:
            task.cancel()

    async def no_room(self, request: Request, exc: Exception) -> Response:
        """FastAPI's handler for OSError: a full disk → 507 with a message, and room made. An upload
        being written changes at least every client_timeout_s (BodyTimeout), so older ones are dead."""
        if not isinstance(exc, OSError) or exc.errno not in NO_ROOM:
            raise exc
        removed = await asyncio.to_thread(self.sweep, self.client_timeout_s)
        LOG.warning("no room for an upload (%s); removed %d stale files", exc.strerror, removed)
        return error_response(507, "the server has no room to store this upload right now (its disk is "
                                   "full): try again in a minute, or send a smaller file")
