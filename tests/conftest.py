"""Shared fixtures: the model to test, the demo running as a real server, headless Chromium.

The demo is started once per session exactly as a user starts it (`python demo.py --port ...
--model ...`), on a free loopback port, with a small upload limit so over-size files can be
tested cheaply. Tests talk to it over HTTP (gradio_client, the browser), never in-process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `pytest` as well as `python -m pytest`: examples/, serving/, bench/
    sys.path.insert(0, str(ROOT))

from bench import server  # noqa: E402 - after the path is set up
from bench.common import free_port  # noqa: E402 - tests import these names from here
from bench.server import DemoServer, opener, stop_demo  # noqa: E402, F401
from tests.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

SHIPPED_MODEL = ROOT / "models" / "digitnet.onnx"
MAX_FILE_SIZE = "2mb"  # the test server's upload limit (tests/badinputs.py makes a file above it)
ARTIFACTS = ROOT / "artifacts"  # screenshots (gitignored)


def start_demo(model: Path | None, log: Path, max_file_size: str = MAX_FILE_SIZE, *, args: Sequence[str] = (),
               env: dict[str, str] | None = None, python: str = sys.executable, space: bool = False,
               **options) -> DemoServer:
    """bench.server.start_demo with the test server's upload limit (see there for the other options).

    space=True starts it as a Hugging Face Space does, with `python` (a fresh venv's): no flags at
    all, the address in GRADIO_SERVER_NAME=0.0.0.0 and GRADIO_SERVER_PORT.
    """
    if not space:
        return server.start_demo(model, log, args=["--max-file-size", max_file_size, *args], env=env,
                                 **options)
    port = free_port()
    env = {**(env or {}), "GRADIO_SERVER_NAME": "0.0.0.0", "GRADIO_SERVER_PORT": str(port)}
    return server.start([python, "demo.py"], port, log, env=env, **options)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def model_path() -> Path:
    """The shipped model: without it (or its card) every test that needs it fails."""
    card = SHIPPED_MODEL.with_suffix(".json")
    if not (SHIPPED_MODEL.is_file() and card.is_file()):
        pytest.fail(f"the shipped model is missing: {SHIPPED_MODEL} and its card {card.name} must be in "
                    "the repository (`make train export` rebuilds them)", pytrace=False)
    return SHIPPED_MODEL


@pytest.fixture(scope="session")
def predictor(model_path: Path):
    """One serving.Predictor on the shipped model, shared by the tests that read images in-process."""
    from serving import Predictor

    return Predictor(model_path)


@pytest.fixture(scope="session")
def mnist():
    """MNIST (training/data.py), read once for every test that needs its digits."""
    from training.data import load_mnist

    return load_mnist()


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


@pytest.fixture(scope="module")
def chromium():
    """Headless Chromium (playwright), launched the one way that works on this machine. One a test
    module: playwright's sync API keeps an event loop running in this thread while it is open, and
    the tests that call asyncio.run may come after a browser module on the same xdist worker."""
    if not Path(CHROMIUM).exists():
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


# ---------------------------------------------------------------- markers

SERVER_FIXTURES = {"demo_server", "client", "rest", "server"}  # each starts `python demo.py`
TRAINING_FIXTURES = {"small_run", "exported", "exported_models", "loop"}  # each trains or exports a model


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks the tests that start a server `server`, those that train or export a model `slow`:
    make test-fast leaves both out."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if SERVER_FIXTURES & fixtures:
            item.add_marker(pytest.mark.server)
        if TRAINING_FIXTURES & fixtures:
            item.add_marker(pytest.mark.slow)
