"""Starting and stopping a server for a test or a benchmark: `python demo.py`, or any other command.

Each is a child process on a free loopback port, its output in a log file, stopped by its own handle
and nothing else; readiness differs by server, so `start` takes a `ready` check.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import ROOT, free_port

START_TIMEOUT_S = 300.0  # generous: on a busy machine importing gradio alone can take minutes
ENV = {"GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}  # no calls home from loopback
TORCH_DEMO = "import torch, runpy; runpy.run_path('demo.py', run_name='__main__')"  # demo.py, torch loaded


@dataclass
class DemoServer:
    """A server process this program started; `with` stops it however the block ends."""

    url: str  # http://127.0.0.1:PORT/
    process: subprocess.Popen
    log: Path  # the server's stdout and stderr
    auth: tuple[str, str] | None = None  # a user and password it lets in, when it wants a login
    started: float = 0.0  # time.perf_counter() when the process was started
    ready_s: float = 0.0  # seconds from the start until it was ready

    @property
    def port(self) -> int:
        return int(self.url.rstrip("/").rsplit(":", 1)[1])

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def __enter__(self) -> DemoServer:
        return self

    def __exit__(self, *_: object) -> None:
        stop_demo(self)


def opener(url: str, auth: tuple[str, str] | None) -> urllib.request.OpenerDirector:
    """A urllib opener; with `auth`, logged in through Gradio's /login (its cookie is kept)."""
    jar = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    if auth is not None:
        form = urllib.parse.urlencode({"username": auth[0], "password": auth[1]}).encode()
        jar.open(url + "login", data=form, timeout=5).close()
    return jar


def gradio_ready(server: DemoServer) -> bool:
    """The demo serves its config, and Gradio's own start-up check (launch() gives up unless "/"
    answers within 3 s) has passed: the line about public links comes after it."""
    with opener(server.url, server.auth).open(server.url + "config", timeout=5) as response:
        return (response.status == 200 and bool(json.loads(response.read()).get("components"))
                and b"To create a public link" in server.log.read_bytes())


def http_ready(path: str = "", log_text: bytes = b"") -> Callable[[DemoServer], bool]:
    """Ready when GET `path` answers below 500 and the log holds `log_text`."""

    def ready(server: DemoServer) -> bool:
        try:
            with urllib.request.urlopen(server.url + path.lstrip("/"), timeout=5) as response:
                status = response.status
        except urllib.error.HTTPError as err:
            status = err.code
        return status < 500 and log_text in server.log.read_bytes()

    return ready


def wait_until(server: DemoServer, ready: Callable[[DemoServer], bool], timeout_s: float,
               poll_s: float) -> float:
    """Seconds from the server's start until `ready` says yes, asked every `poll_s`; raises
    RuntimeError if it doesn't (a server starting on a busy machine is not asked too often)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited with status {server.process.returncode} before answering")
        try:
            if ready(server):
                return time.perf_counter() - server.started
        except (OSError, ValueError, http.client.HTTPException):  # not listening yet, or half started
            pass
        time.sleep(poll_s)
    raise RuntimeError(f"the server did not answer within {timeout_s:.0f} s")


def start(command: Sequence[str], port: int, log: Path, *, ready: Callable[[DemoServer], bool] = gradio_ready,
          env: Mapping[str, str] | None = None, auth: tuple[str, str] | None = None,
          timeout_s: float = START_TIMEOUT_S, poll_s: float = 0.5, retry: bool = True) -> DemoServer:
    """Runs `command` in the repository with this environment plus `env`, less DIGIT_MODEL;
    returns once `ready`. On failure it is stopped and the RuntimeError carries the end of its log.
    auth: a login the server was given (by its flags or env) and that the wait logs in with."""
    full_env = {k: v for k, v in {**os.environ, **ENV, **(env or {})}.items() if k != "DIGIT_MODEL"}
    with open(log, "wb") as out:
        process = subprocess.Popen(list(command), cwd=ROOT, env=full_env, stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=subprocess.STDOUT)
    server = DemoServer(f"http://127.0.0.1:{port}/", process, log, auth, time.perf_counter())
    try:
        server.ready_s = wait_until(server, ready, timeout_s, poll_s)
    except BaseException as err:
        stop_demo(server)
        if not isinstance(err, RuntimeError):
            raise
        # On a busy machine Gradio's own 3-second start-up check can fail; once more tells that
        # from a real failure.
        if retry and "localhost is not accessible" in server.log_tail():
            return start(command, port, log, ready=ready, env=env, auth=auth, timeout_s=timeout_s,
                         poll_s=poll_s, retry=False)
        raise RuntimeError(f"{err}: {' '.join(command)}; its log ({log}):\n{server.log_tail()}") from None
    return server


def start_python(args: Sequence[str], log: Path, port_flag: str = "--port", **options) -> DemoServer:
    """`python ARGS PORT_FLAG PORT` on a free port, returned once ready (`options`: those of `start`)."""
    port = free_port()
    return start([sys.executable, *args, port_flag, str(port)], port, log, **options)


def start_demo(model: Path | None, log: Path, *, args: Sequence[str] = (), with_torch: bool = False,
               **options) -> DemoServer:
    """`python demo.py --host 127.0.0.1 [--model MODEL] ARGS --port PORT`, returned once ready.
    with_torch=True imports torch before running demo.py (to measure what torch would cost)."""
    script = ["-c", TORCH_DEMO] if with_torch else ["demo.py"]
    return start_python([*script, "--host", "127.0.0.1", *(["--model", str(model)] if model else []), *args],
                        log, **options)


def stop_demo(server: DemoServer, timeout: float = 15) -> None:
    """Ends the server by its own handle: politely, then for sure."""
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=timeout)
