"""The CLI contract: one JSON line per file, in order; exit 0 only when every file got a digit."""

from __future__ import annotations

import json
import subprocess
import sys
import types

import pytest

from examples.make import draw_digits


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "serving", *args], capture_output=True, text=True,
                          timeout=120)


def test_every_file_gets_a_line_in_order(tmp_path):
    files = []
    for digit in "508":
        path = tmp_path / f"{digit}.png"
        draw_digits((300, 300), digit, "black", "white", 18).save(path)
        files.append(str(path))
    result = run_cli(*files)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in lines] == files
    assert [line["digit"] for line in lines] == [5, 0, 8]
    for line in lines:
        assert set(line) == {"file", "digit", "confidence", "probabilities", "unsure"}
        assert len(line["probabilities"]) == 10 and 0 < line["confidence"] <= 1


def test_unreadable_and_blank_files_get_an_error_line_and_exit_1(tmp_path):
    good = tmp_path / "7.png"
    draw_digits((300, 300), "7", "black", "white", 18).save(good)
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    blank = tmp_path / "blank.png"
    draw_digits((300, 300), "", "black", "white", 18).save(blank)
    result = run_cli(str(text), str(good), str(blank), str(tmp_path / "missing.png"))
    assert result.returncode == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["digit"] for line in lines] == [None, 7, None, None]
    assert "not an image" in lines[0]["error"]
    assert "no digit found" in lines[2]["error"]
    assert "no such file" in lines[3]["error"]
    assert set(lines[0]) == {"file", "digit", "error"}


def test_other_model_and_a_missing_one(tmp_path):
    good = tmp_path / "3.png"
    draw_digits((300, 300), "3", "black", "white", 18).save(good)
    result = run_cli("--model", "models/digitnet.int8.onnx", str(good))
    assert result.returncode == 0 and json.loads(result.stdout)["digit"] == 3
    missing = run_cli("--model", str(tmp_path / "x.onnx"), str(good))
    assert missing.returncode == 2 and "model file not found" in missing.stderr
    assert "Traceback" not in missing.stderr


def readme_console() -> list[tuple[list[str], list[str]]]:
    """(command arguments, the lines shown after it) for each `$ python -m serving` in the README."""
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = text.split("### The command line", 1)[1].split("```console", 1)[1].split("```", 1)[0]
    runs: list[tuple[list[str], list[str]]] = []
    for line in block.strip().splitlines():
        if line.startswith("$ "):
            runs.append((line[2:].split(), []))
        elif runs:
            runs[-1][1].append(line)
    return [(cmd[3:], shown) for cmd, shown in runs if cmd[:3] == ["python", "-m", "serving"]]


def test_readme_shows_what_the_cli_prints():
    """The README's example answers are the shipped model's (issue #20: they had drifted)."""
    import re

    runs = readme_console()
    assert len(runs) >= 3
    for args, shown in runs:
        result = run_cli(*args)
        printed = result.stdout.splitlines()
        shown_json = [s for s in shown if s.startswith("{")]
        assert len(printed) == len(shown_json), (args, printed, shown)
        for want, got in zip(shown_json, printed, strict=True):
            top = re.split(r', "(?:digits|probabilities)"', want)[0]  # the answer's own fields
            fields = dict(re.findall(r'"(file|digit|number|confidence)": ("[^"]*"|\d[\d.]*|null)', top))
            line = json.loads(got)
            assert {k: json.loads(v) for k, v in fields.items()} == {k: line[k] for k in fields}, (want, got)
        for hint in (s for s in shown if s.startswith("hint:")):
            assert hint in result.stderr, (hint, result.stderr)


def test_several_digits_get_a_hint(tmp_path):
    wide = tmp_path / "wide.png"
    draw_digits((900, 300), "257", "black", "white", 16).save(wide)
    single = tmp_path / "single.png"
    draw_digits((300, 300), "5", "black", "white", 16).save(single)
    result = run_cli(str(wide), str(single))
    assert result.returncode == 0
    assert f"hint: {wide} looks like 3 digits side by side" in result.stderr
    assert "--number" in result.stderr and str(single) not in result.stderr
    assert run_cli("--number", str(wide)).stderr == ""


def test_one_digit_in_a_wide_picture_gets_no_hint(tmp_path):
    """The hint counts what the number reader finds, not how wide the picture is; it looks at the
    picture as reading does (here past metadata that PIL alone refuses to open)."""
    from PIL.PngImagePlugin import PngInfo

    metadata = PngInfo()
    metadata.add_text("XML:com.adobe.xmp", "x" * 2**21, zip=True)  # over PIL's MAX_TEXT_CHUNK unzipped
    wide = tmp_path / "wide.png"
    draw_digits((900, 300), "5", "black", "white", 16).save(wide, pnginfo=metadata)
    result = run_cli(str(wide))
    assert result.returncode == 0 and json.loads(result.stdout)["digit"] == 5
    assert result.stderr == ""


# ---------------------------------------------------------------- `digits`, the installed command


def test_digits_read_prints_what_python_m_serving_prints(capsys):
    from serving.cli import main

    files = ["examples/3_marker.png", "examples/number_2026.png", "examples/missing.png"]
    for flags in ([], ["--number"]):
        assert main(["read", *flags, *files]) == 1
        printed = capsys.readouterr()
        assert printed.out == run_cli(*flags, *files).stdout
        if not flags:
            assert ("hint: examples/number_2026.png looks like 4 digits side by side; this reads one "
                    "digit. To read them as a number: digits read --number FILE") in printed.err


def test_digits_help_lists_its_commands(capsys):
    from serving.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    shown = capsys.readouterr().out
    assert "read" in shown and "serve" in shown and "app extra" in shown
    with pytest.raises(SystemExit) as exit_:
        main(["read", "--no-such-flag", "examples/3_marker.png"])
    assert exit_.value.code == 2 and "--no-such-flag" in capsys.readouterr().err


def test_digits_serve_hands_its_flags_to_the_app(monkeypatch):
    from serving.cli import main

    started = []
    monkeypatch.setitem(sys.modules, "app", types.SimpleNamespace(main=started.append))
    assert main(["serve", "--port", "7999", "--share"]) == 0
    assert started == [["--port", "7999", "--share"]]


def test_digits_serve_without_the_app_says_what_to_install(monkeypatch, capsys):
    from serving import cli

    monkeypatch.setattr(cli, "APP_EXTRA", ("gradio", "no_such_module"))
    assert cli.main(["serve"]) == 2
    shown = capsys.readouterr().err
    assert "(no_such_module not installed)" in shown and "pip install 'digit-reader[app]'" in shown
