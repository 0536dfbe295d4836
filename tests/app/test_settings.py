"""app/settings.py: flags, then the environment, then the defaults; bad values are messages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.settings import AUTH_ENV, MODEL_ENV, Settings, file_size, size_bytes

ROOT = Path(__file__).resolve().parents[2]
NO_ENV: dict[str, str] = {}


def test_defaults():
    settings = Settings.parse([], NO_ENV)
    assert (settings.host, settings.port, settings.share, settings.mcp) == ("127.0.0.1", None, False, True)
    assert settings.max_file_size == "5mb" and size_bytes(settings.max_file_size) == 5 * 2**20
    assert settings.model.name == "digitnet.onnx" and settings.verify and settings.corrections is None


def test_flags_win_over_the_environment():
    env = {"GRADIO_SERVER_NAME": "10.0.0.9", "GRADIO_SERVER_PORT": "7001"}
    settings = Settings.parse(
        ["--share", "--host", "0.0.0.0", "--port", "7999", "--max-file-size", "3mb", "--no-mcp"], env
    )
    assert (settings.host, settings.port, settings.max_file_size) == ("0.0.0.0", 7999, "3mb")
    assert settings.share and not settings.mcp


def test_a_space_environment_sets_the_address():
    """A Space runs `python demo.py` with GRADIO_SERVER_NAME=0.0.0.0: one flag overrides only its part."""
    env = {"GRADIO_SERVER_NAME": "0.0.0.0", "GRADIO_SERVER_PORT": "7860"}
    assert (Settings.parse([], env).host, Settings.parse([], env).port) == ("0.0.0.0", 7860)
    assert Settings.parse(["--port", "8000"], env).port == 8000
    assert Settings.parse(["--port", "8000"], env).host == "0.0.0.0"
    assert Settings.parse(["--host", "127.0.0.1"], env).port == 7860


@pytest.mark.parametrize("port", ["http", "0", "70000", "-1"])
def test_a_bad_port_in_the_environment_stops_with_a_message(port, capsys):
    with pytest.raises(SystemExit) as stop:
        Settings.parse([], {"GRADIO_SERVER_PORT": port})
    assert stop.value.code == 2 and "is not a port number" in capsys.readouterr().err


def test_model_and_login_from_the_environment():
    settings = Settings.parse([], {MODEL_ENV: "/m/other.onnx", AUTH_ENV: "amy:pw"})
    assert settings.model == Path("/m/other.onnx") and (settings.auth, settings.auth_source) == (
        "amy:pw",
        AUTH_ENV,
    )
    flagged = Settings.parse(["--auth", "cy:flag"], {AUTH_ENV: "amy:pw"})  # the flag replaces $DIGIT_AUTH
    assert (flagged.auth, flagged.auth_source) == ("cy:flag", "--auth")


@pytest.mark.parametrize(
    "size, message",
    [("5", "is not a size"), ("banana", "is not a size"), ("0mb", "more than 0"), ("5 tb", "is not a size")],
)
def test_bad_max_file_size_is_a_message(size, message, capsys):
    with pytest.raises(SystemExit) as stop:
        Settings.parse(["--max-file-size", size], NO_ENV)
    assert stop.value.code == 2 and message in capsys.readouterr().err


def test_max_file_size_units():
    assert file_size("500KB") == "500kb" and file_size(" 2 mb ") == "2mb"
    assert size_bytes("500kb") == 500 * 1024 and size_bytes("1gb") == 2**30


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--corrections-per-minute", "5"], "need --corrections PATH"),
        (["--corrections", "c.db", "--corrections-max-mb", "0"], "--corrections-max-mb: must be more than 0"),
        (["--corrections", "c.db", "--corrections-per-minute", "-1"], "is not a whole number of 0 or more"),
        (["--client-timeout", "0"], "must be more than 0"),
    ],
)
def test_bad_flags_are_messages(args, message, capsys):
    with pytest.raises(SystemExit) as stop:
        Settings.parse(args, NO_ENV)
    assert stop.value.code == 2 and message in capsys.readouterr().err


def test_corrections_limits_default_when_on():
    settings = Settings.parse(["--corrections", "c.db"], NO_ENV)
    assert settings.corrections == Path("c.db") and settings.corrections_per_minute == 10


def test_bad_flag_from_the_command_line_ends_quickly_with_a_message():
    # No analytics thread may hold the process up offline (GRADIO_ANALYTICS_ENABLED is not set here).
    env = {k: v for k, v in os.environ.items() if k != "GRADIO_ANALYTICS_ENABLED"}
    proc = subprocess.run(
        [sys.executable, "demo.py", "--max-file-size", "banana"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=env,
    )
    assert proc.returncode == 2 and "is not a size" in proc.stderr and "Traceback" not in proc.stderr


def test_model_flag_has_help():
    out = subprocess.run(
        [sys.executable, "demo.py", "--help"], capture_output=True, text=True, timeout=60, cwd=ROOT
    ).stdout
    assert "the digit model to serve" in out and "--corrections" in out


def test_exposure_flags():
    settings = Settings.parse(["--allow-origin", "https://HuggingFace.co/", "--allow-origin", "http://a.example:8080",
                               "--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "::1",
                               "--public-url", "https://digits.example.org/app/", "--no-fetch"], NO_ENV)
    assert settings.allow_origins == ("https://huggingface.co", "http://a.example:8080")
    assert settings.trusted_proxies == ("10.0.0.0/8", "::1") and not settings.fetch
    assert settings.public_url == "https://digits.example.org/app"
    default = Settings.parse([], NO_ENV)
    assert default.trusted_proxies == () and default.allow_origins == () and default.fetch
    assert default.public_url is None and default.stream_idle == 60


def test_a_space_is_its_own_public_url():
    assert Settings.parse([], {"SPACE_HOST": "amy-digits.hf.space"}).public_url == "https://amy-digits.hf.space"


@pytest.mark.parametrize(("args", "message"), [
    (["--allow-origin", "huggingface.co"], "is not a site"),
    (["--allow-origin", "https://a.example/page"], "is not a site"),
    (["--trusted-proxy", "proxy.local"], "is not an IP address"),
    (["--public-url", "digits.example.org"], "is not an address"),
    (["--stream-idle-timeout", "0"], "must be more than 0"),
])
def test_bad_exposure_flags_are_messages(args, message, capsys):
    with pytest.raises(SystemExit) as stop:
        Settings.parse(args, NO_ENV)
    assert stop.value.code == 2 and message in capsys.readouterr().err
