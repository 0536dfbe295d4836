"""app/web/cache.py: what a killed process left in the upload cache is swept at the next start
(issue #31, 7)."""

from __future__ import annotations

import os
import subprocess
import sys

from app.web import cache


def gone_pid() -> int:
    """The pid of a process that has ended (and was this test's own child)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_killed_processs_directory_is_swept_at_the_next_start(tmp_path):
    dead = tmp_path / f"digits-{gone_pid()}-abc123"
    (dead / "upload").mkdir(parents=True)
    (dead / "upload" / "7.png").write_bytes(b"png")
    alive = tmp_path / f"digits-{os.getppid()}-def456"  # a running process's (our parent's)
    alive.mkdir()
    others = [tmp_path / "gradio-other", tmp_path / "digits-notapid-x", tmp_path / f"other-{gone_pid()}-x"]
    for path in others:
        path.mkdir()
    env = {cache.TEMP_ENV: str(tmp_path)}
    mine = cache.private_dir_or_exit(env)
    assert not dead.exists() and alive.is_dir() and all(p.is_dir() for p in others)
    assert mine.is_dir() and mine.name.startswith(f"digits-{os.getpid()}-")
