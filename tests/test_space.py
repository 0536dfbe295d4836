"""The repository as a Hugging Face Space: README's metadata block, and the app started as a Space
starts it (a fresh venv with requirements.txt only, `python demo.py` with no flags and the Space's
environment variables), answering a prediction.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.request
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import DemoServer, start_demo, stop_demo

ROOT = Path(__file__).resolve().parent.parent
SPACE_FIELDS = {"title", "emoji", "colorFrom", "colorTo", "sdk", "sdk_version", "app_file",
                "python_version", "short_description", "license"}
COLORS = {"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}  # what Spaces accept
INSTALL_TIMEOUT_S = 600  # pip's wheel cache makes it ~1-2 min; a cold cache downloads ~200 MB


def readme_metadata() -> tuple[dict, str]:
    """(the YAML block at the top of README.md, the text after it)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.match(r"---\n(.*?)\n---\n", text, re.S)
    assert match, "README.md must start with a --- YAML block --- (the Space's metadata)"
    return yaml.safe_load(match.group(1)), text[match.end():]


def gradio_pin() -> str:
    pins = re.findall(r"^gradio(?:\[[^\]]*\])?==([\w.]+)", (ROOT / "requirements.txt").read_text(), re.M)
    assert len(pins) == 1, "requirements.txt must pin gradio exactly once"
    return pins[0]


def test_readme_metadata_is_a_space_config() -> None:
    meta, rest = readme_metadata()
    assert SPACE_FIELDS <= set(meta), f"missing: {SPACE_FIELDS - set(meta)}"
    assert meta["sdk"] == "gradio" and str(meta["sdk_version"]) == gradio_pin()
    assert (ROOT / meta["app_file"]).is_file()
    assert isinstance(meta["python_version"], str)  # unquoted 3.10 would be the number 3.1
    assert meta["colorFrom"] in COLORS and meta["colorTo"] in COLORS
    assert len(meta["short_description"]) <= 60  # the Hub refuses longer ones
    assert rest.startswith("```bash\nmake demo") and "\nmake test" in rest.split("```")[1]


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    folder = tmp_path_factory.mktemp("space")
    env = folder / "venv"
    started = time.monotonic()
    venv.create(env, with_pip=True)
    python = str(env / "bin" / "python")
    install = subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                              "-r", str(ROOT / "requirements.txt")],
                             capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
    assert install.returncode == 0, install.stderr[-3000:]
    print(f"\nfresh venv with requirements.txt: {time.monotonic() - started:.0f} s")
    server = start_demo(None, folder / "demo.log", python=python, space=True,
                        env={"SYSTEM": "spaces", "SPACE_ID": "someone/digits"})
    try:
        yield server
    finally:
        stop_demo(server)


@pytest.mark.slow
def test_space_starts_from_requirements_txt_and_predicts(space: DemoServer) -> None:
    import psutil
    from gradio_client import Client, handle_file

    client = Client(space.url, verbose=False)
    answer = client.predict(handle_file(str(ROOT / "examples" / "3_marker.png")), api_name="/predict")
    assert answer["digit"] == 3, answer
    # it listens on every interface, as the Space's proxy needs, and says that the app is open
    listening = {c.laddr for c in psutil.Process(space.process.pid).net_connections("inet")
                 if c.status == psutil.CONN_LISTEN}
    assert ("0.0.0.0", int(space.url.rsplit(":", 1)[1].strip("/"))) in listening, listening
    assert "anyone who can reach this network address (0.0.0.0)" in space.log_tail(20_000)


@pytest.mark.slow
def test_space_serves_the_mcp_tools_under_its_name(space: DemoServer) -> None:
    with urllib.request.urlopen(space.url + "gradio_api/mcp/schema", timeout=30) as response:
        names = {tool["name"] for tool in json.loads(response.read())}
    assert names == {"digits_recognize_digit", "digits_read_number", "digits_read_numbers"}, names


@pytest.mark.slow
def test_space_installs_no_torch(space: DemoServer) -> None:
    python = space.process.args[0]
    found = subprocess.run([python, "-c", "import importlib.util as u; print(u.find_spec('torch'))"],
                           capture_output=True, text=True, timeout=60)
    assert found.stdout.strip() == "None", found.stdout + found.stderr
