"""Shared fixtures: the model to test, the demo running as a real server, headless Chromium.

The demo is started once per session exactly as a user starts it (`python demo.py --port ...
--model ...`), on a free loopback port, with a small upload limit so over-size files can be
tested cheaply. Tests talk to it over HTTP (gradio_client, the browser), never in-process.
"""

from __future__ import annotations

import json
import os

# No onnxruntime telemetry from tests that import it themselves (serving turns it off for its own
# processes; tests/test_hardening.py checks that).
os.environ["ORT_DISABLE_TELEMETRY"] = "1"
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `pytest` as well as `python -m pytest`: examples/, serving/, bench/
    sys.path.insert(0, str(ROOT))

from bench.common import free_port, stop_process  # noqa: E402 - after the path is set up

SHIPPED_MODEL = ROOT / "models" / "digitnet.onnx"
INTERIM_MODEL = Path("/tmp/models1/digitnet.onnx")  # used until the shipped model exists
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]
MAX_FILE_SIZE = "2mb"  # the test server's upload limit (tests/badinputs.py makes a file above it)
SERVER_START_TIMEOUT_S = 120.0  # the machine is shared with training: starting can be slow
ARTIFACTS = ROOT / "artifacts"  # screenshots (gitignored)


def find_model() -> Path | None:
    """models/digitnet.onnx with its card, else the interim model, else None."""
    for model in (SHIPPED_MODEL, INTERIM_MODEL):
        if model.is_file() and any(model.parent.glob("*.json")):
            return model
    return None


@dataclass
class DemoServer:
    url: str  # http://127.0.0.1:PORT/
    process: subprocess.Popen
    model: Path | None  # None: the demo's default model
    log: Path  # the server's stdout and stderr
    auth: tuple[str, str] | None = None  # a user and password it lets in, when it wants a login

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def rss_bytes(self) -> int:
        """Resident memory of the server process (and any children)."""
        import psutil

        proc = psutil.Process(self.process.pid)
        return proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))


def opener(url: str, auth: tuple[str, str] | None) -> urllib.request.OpenerDirector:
    """A urllib opener; with `auth`, logged in through Gradio's /login (its cookie is kept)."""
    jar = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    if auth is not None:
        form = urllib.parse.urlencode({"username": auth[0], "password": auth[1]}).encode()
        jar.open(url + "login", data=form, timeout=5).close()
    return jar


def wait_until_up(url: str, process: subprocess.Popen, log: Path, timeout_s: float,
                  auth: tuple[str, str] | None = None) -> None:
    """Until the demo serves its config and Gradio's own start-up check has passed.

    launch() checks that "/" answers within 3 s after the server is up and gives up otherwise;
    the line about public links comes after that check.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the demo exited with status {process.returncode} before answering")
        try:
            with opener(url, auth).open(url + "config", timeout=5) as response:
                if (response.status == 200 and json.loads(response.read()).get("components")
                        and b"To create a public link" in log.read_bytes()):
                    return
        except (OSError, ValueError, urllib.error.URLError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the demo did not answer within {timeout_s:.0f} s")


def start_demo(model: Path | None, log: Path, max_file_size: str = MAX_FILE_SIZE,
               timeout_s: float = SERVER_START_TIMEOUT_S, retry: bool = True, *,
               args: Sequence[str] = (), env: Mapping[str, str] | None = None,
               python: str = sys.executable, auth: tuple[str, str] | None = None,
               space: bool = False) -> DemoServer:
    """`python demo.py` on a free port; returns once it serves its config.

    args: more flags; env: more environment variables; auth: a login the server was given (by
    args or env) and that the wait logs in with. space=True starts it as a Hugging Face Space
    does: no flags at all, the address in GRADIO_SERVER_NAME=0.0.0.0 and GRADIO_SERVER_PORT.
    """
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1", **(env or {})}
    env.pop("DIGIT_MODEL", None)
    if space:
        env.update(GRADIO_SERVER_NAME="0.0.0.0", GRADIO_SERVER_PORT=str(port))
        command = [python, "demo.py", *args]
    else:
        command = [python, "demo.py", "--host", "127.0.0.1", "--port", str(port), "--model", str(model),
                   "--max-file-size", max_file_size, *args]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = DemoServer(f"http://127.0.0.1:{port}/", process, model, log, auth)
    try:
        wait_until_up(server.url, process, log, timeout_s, auth)
    except RuntimeError as err:
        stop_demo(server)
        tail = server.log_tail()
        # On a busy machine Gradio's own 3-second start-up check can fail; once more tells that
        # from a real failure.
        if retry and "localhost is not accessible" in tail:
            return start_demo(model, log, max_file_size, timeout_s, retry=False, args=args, env=env,
                              python=python, auth=auth, space=space)
        raise RuntimeError(f"{err}; its log:\n{tail}") from None
    return server


def stop_demo(server: DemoServer) -> None:
    stop_process(server.process)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def model_path() -> Path:
    """The model under test: the shipped one, or the interim one while it is being trained."""
    model = find_model()
    if model is None:
        pytest.skip(f"no model to test: neither {SHIPPED_MODEL} nor {INTERIM_MODEL} exists with a "
                    "model card beside it (run `make train export`)")
    return model


@pytest.fixture(scope="session")
def demo_server(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """The demo started as a user starts it, on a free loopback port, upload limit MAX_FILE_SIZE."""
    log = tmp_path_factory.mktemp("demo") / "demo.log"
    server = start_demo(model_path, log)
    try:
        yield server
    finally:
        stop_demo(server)


@pytest.fixture(scope="session")
def client(demo_server: DemoServer):
    """A gradio_client.Client connected to the running demo."""
    from gradio_client import Client

    return Client(demo_server.url, verbose=False, download_files=tempfile.mkdtemp(prefix="gradio-dl-"))


@pytest.fixture(scope="session")
def run_cli(model_path: Path) -> Callable[..., tuple[int, list[dict]]]:
    """Runs `python -m serving --model MODEL FILES...`; returns (exit status, one dict per line)."""

    def run(*files: str | Path) -> tuple[int, list[dict]]:
        proc = subprocess.run(
            [sys.executable, "-m", "serving", "--model", str(model_path), *map(str, files)],
            cwd=ROOT, capture_output=True, text=True, timeout=120)
        lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc.returncode, lines

    return run


@pytest.fixture(scope="session")
def chromium():
    """Headless Chromium (playwright), launched the one way that works on this machine."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium` (make browser)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed: pip install -r requirements-test.txt")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """artifacts/ (gitignored): screenshots and other evidence from the user-level tests."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
