"""app/server.py: settings become the Reader, the login, the corrections and what launch() is given."""

from __future__ import annotations

import json
import shutil

import pytest

from app.server import App, create, create_or_exit, launch_kwargs, serve
from app.settings import AUTH_ENV, Settings
from app.ui.model_card import CARD
from app.web import access, origin
from serving import ModelError, Predictor
from serving.paths import DEFAULT_MODEL, MODELS_DIR


def launched(app: App, tmp_path, monkeypatch) -> dict:
    """What serve() hands to launch(), which doesn't start a server here."""
    seen: dict = {}
    monkeypatch.setattr(app.demo, "launch", lambda **kwargs: seen.update(kwargs))
    serve(app, tmp_path)
    return seen


def test_flags_reach_launch(tmp_path, monkeypatch):
    settings = Settings.parse(
        ["--share", "--host", "0.0.0.0", "--port", "7999", "--max-file-size", "3mb"], {}
    )
    got = launched(create(settings), tmp_path, monkeypatch)
    assert got["share"] is True  # Gradio's public link: needs the internet to open, so not opened here
    assert (got["server_name"], got["server_port"], got["max_file_size"]) == ("0.0.0.0", 7999, "3mb")
    assert got["mcp_server"] is True and got["auth"] is None
    assert access.LoginRequired not in [m.cls for m in got["app_kwargs"]["middleware"]]
    got = launch_kwargs(create(Settings.parse(["--no-mcp"], {})), tmp_path)
    assert got["mcp_server"] is False and (got["server_name"], got["server_port"]) == ("127.0.0.1", None)


def test_auth_reaches_launch_and_guards_every_route(tmp_path):
    users = tmp_path / "users"
    users.write_text("bob:b0b\n")
    got = launch_kwargs(
        create(Settings.parse(["--auth-file", str(users)], {AUTH_ENV: "amy:from-env"})), tmp_path
    )
    assert got["auth"] == [("amy", "from-env"), ("bob", "b0b")]  # Gradio's login page and routes
    stack = [m.cls for m in got["app_kwargs"]["middleware"]]
    # guessing braked first
    assert stack[1:4] == [access.BrakeLogins, access.LoginRequired, origin.SameOrigin]
    guard = got["app_kwargs"]["middleware"][2]  # the rest: REST, /docs, MCP (tests/test_auth.py)
    assert guard.kwargs["users"] == {"amy": "from-env", "bob": "b0b"}


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--auth", "no-colon"], {}, "--auth: expected USER:PASSWORD"),
        (["--auth", "amy:"], {}, "--auth: expected USER:PASSWORD"),
        ([], {AUTH_ENV: "amy"}, f"{AUTH_ENV}: expected USER:PASSWORD"),
        (["--auth-file", "/no/such/file"], {}, "can't read it"),
    ],
)
def test_bad_credentials_stop_with_a_message(args, env, message, capsys):
    with pytest.raises(SystemExit) as stop:
        create_or_exit(Settings.parse(args, env))
    assert message in str(stop.value.code) and "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "warned"),
    [
        ([], False),
        (["--host", "0.0.0.0"], True),
        (["--share"], True),
        (["--host", "localhost"], False),
        (["--host", "0.0.0.0", "--auth", "amy:pw"], False),
        (["--share", "--auth", "amy:pw"], False),
    ],
)
def test_an_open_app_says_so_in_one_line(args, warned, tmp_path, monkeypatch, capsys):
    launched(create(Settings.parse(args, {})), tmp_path, monkeypatch)
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "anyone" in line]
    assert len(lines) == (1 if warned else 0), out
    if warned:
        assert "--auth" in lines[0] and AUTH_ENV in lines[0]


def test_missing_model_stops_with_a_message(tmp_path):
    with pytest.raises(SystemExit, match="model file not found"):
        create_or_exit(Settings.parse(["--model", str(tmp_path / "none.onnx")], {}))


def test_uploads_leave_gradios_cache_within_minutes():
    assert create(Settings()).demo.delete_cache == (60, 60)


def model_tab(app: App) -> str:
    return next(
        block.value for block in app.demo.blocks.values() if getattr(block, "elem_id", None) == "model-card"
    )


def test_the_served_model_reaches_the_model_tab():
    int8 = json.loads(CARD.read_text())["files"]["int8"]["file"]
    text = model_tab(create(Settings.parse(["--model", str(MODELS_DIR / int8)], {})))
    row = next(line for line in text.splitlines() if line.startswith(f"| `{int8}`"))
    assert f"Served: `{int8}`" in text and "static INT8" in row and "**served**" in row


def test_no_verify_is_a_flag_the_message_names(tmp_path):
    mine = tmp_path / "mine.onnx"
    shutil.copy(DEFAULT_MODEL, mine)
    with pytest.raises(ModelError, match="--no-verify"):
        Predictor(mine)
    app = create(Settings.parse(["--model", str(mine), "--no-verify"], {}))  # the flag the message names
    assert app.reader.digits.model_path == mine and "not one of this card's files" in model_tab(app)


def test_corrections_open_and_say_so(tmp_path, monkeypatch, capsys):
    app = create(
        Settings.parse(["--corrections", str(tmp_path / "c.db"), "--corrections-per-minute", "2"], {})
    )
    launched(app, tmp_path, monkeypatch)
    assert app.corrections is not None and "at most 2 per client a minute" in capsys.readouterr().out


def test_a_port_in_use_is_one_line_naming_the_flag(tmp_path, capsys):
    """Gradio said it in an 11-line traceback about GRADIO_SERVER_PORT."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app = create(Settings.parse(["--port", str(port)], {}))
        with pytest.raises(SystemExit) as stop:
            serve(app, tmp_path)
    message = str(stop.value.code)
    assert f"port {port} is in use" in message and "--port" in message and "\n" not in message
    assert "GRADIO_SERVER_PORT" not in message + capsys.readouterr().err


def test_every_start_says_how_to_share_in_flags(tmp_path, monkeypatch, capsys):
    """Gradio's own line says to set `share=True` in `launch()`: not something a user of the app can do.
    The new line keeps the words bench/server.py's gradio_ready waits for."""
    got = launched(create(Settings.parse([], {})), tmp_path, monkeypatch)
    out = capsys.readouterr().out
    assert got["quiet"] is True and "launch()" not in out
    assert "* To create a public link, start the app with --share." in out


def test_exposure_settings_reach_the_server(tmp_path):
    settings = Settings.parse(["--public-url", "https://digits.example.org/", "--auth", "amy:pw",
                               "--allow-origin", "https://huggingface.co", "--stream-idle-timeout", "7"], {})
    got = launch_kwargs(create(settings), tmp_path)
    assert got["root_path"] == "https://digits.example.org"  # the page's root: not the request's Host
    middleware = {m.cls.__name__: m.kwargs for m in got["app_kwargs"]["middleware"]}
    assert middleware["Streams"]["idle_s"] == 7
    assert middleware["SameOrigin"]["sites"].trusts("https://huggingface.co", "other.example")


def test_the_api_page_works_outside_a_checkout(tmp_path, monkeypatch):
    """An installed app (`pip install '.[app]'`, `digits serve`) runs where examples/ is not."""
    monkeypatch.chdir(tmp_path)
    info = create(Settings()).demo.get_api_info()
    assert set(info["named_endpoints"]) == {"/recognize_digit", "/read_number_json", "/read_numbers"}
