"""The CLI contract: one JSON line per file, in order; exit 0 only when every file got a digit."""

from __future__ import annotations

import json
import subprocess
import sys

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
        assert set(line) == {"file", "digit", "confidence", "probabilities"}
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
