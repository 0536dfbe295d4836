"""Corrections (issue #17) in-process: the store keeps exactly what it says, survives kill -9, caps
its size and rate; the demo's flags and its "Wrong? It's a" control. Over HTTP: test_corrections_api.py."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import corrections_ui
import demo
from examples.make import draw_digits
from serving.corrections import (
    COLUMNS,
    Correction,
    CorrectionsError,
    RateLimit,
    Refused,
    SQLiteStore,
    open_corrections,
    parse_label,
)
from serving.predictor import DigitResult

ROOT = Path(__file__).resolve().parent.parent


def result(digit: int = 3, confidence: float = 0.61, seed: int = 0) -> DigitResult:
    pixels = np.random.default_rng(seed).random((28, 28), dtype=np.float32)
    return DigitResult(digit, confidence, [0.0] * 10, pixels)


def columns(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as con:
        return {row[1]: row[2] for row in con.execute("PRAGMA table_info(corrections)")}


def test_a_correction_keeps_exactly_what_the_page_says(tmp_path):
    store = SQLiteStore(tmp_path / "new" / "c.db")  # created, folder and all
    seen = result(3, 0.61)
    kept = Correction.of(seen, 7, "sketch", "ab" * 32)
    row_id = store.add(kept)
    store.close()
    assert columns(tmp_path / "new" / "c.db") == {
        "id": "INTEGER", "image": "BLOB", "label": "INTEGER", "predicted": "INTEGER", "confidence": "REAL",
        "model_sha256": "TEXT", "source": "TEXT", "created_at": "TEXT"}  # nothing else: no name, no IP
    with sqlite3.connect(tmp_path / "new" / "c.db") as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        row = con.execute(f"SELECT id, {', '.join(COLUMNS)} FROM corrections").fetchone()
    assert row[0] == row_id and row[2:6] == (7, 3, 0.61, "ab" * 32) and row[6] == "sketch"
    assert row[1] == np.rint(seen.model_input * 255).astype(np.uint8).tobytes() and len(row[1]) == 784
    assert row[7].endswith("+00:00") and len(row[7]) == 25  # UTC, to the second


@pytest.mark.parametrize(("value", "expected"), [(7, 7), ("7", 7), (" 0 ", 0), (9, 9)])
def test_labels_are_one_digit(value, expected):
    assert parse_label(value) == expected


@pytest.mark.parametrize("value", [10, -1, "seven", 7.0, True, None, "", [7]])
def test_other_labels_are_refused_in_words(value):
    with pytest.raises(ValueError, match='"label"'):
        parse_label(value)


def test_the_size_cap_refuses_with_507_and_keeps_what_it_has(tmp_path):
    store = SQLiteStore(tmp_path / "c.db", max_bytes=48 * 1024)
    kept = 0
    with pytest.raises(Refused) as full:
        for seed in range(1000):
            store.add(Correction.of(result(seed=seed), 1, "upload", "0" * 64))
            kept += 1
    assert full.value.status == 507 and "full" in full.value.message and "0.046875 MB" in full.value.message
    assert 10 < kept == store.count() and store.size_bytes() <= 48 * 1024


def test_rate_limit_per_client_and_window():
    now = [1000.0]
    limit = RateLimit(3, clock=lambda: now[0])
    for _ in range(3):
        limit.admit("a")
    with pytest.raises(Refused) as refused:
        limit.admit("a")
    assert refused.value.status == 429 and "at most 3 a minute" in refused.value.message
    assert refused.value.retry_after == 60
    limit.admit("b")  # another client has its own count
    now[0] += 60.5
    limit.admit("a")  # the window moved on
    unlimited = RateLimit(0)
    for _ in range(100):
        unlimited.admit("a")


def test_eight_threads_writing_at_once_lose_nothing(tmp_path):
    """The server's threads share one store (the REST route's workers, the page's events)."""
    store = SQLiteStore(tmp_path / "c.db")
    start = threading.Barrier(8)
    ids: list[list[int]] = [[] for _ in range(8)]

    def write(n: int) -> None:
        start.wait()
        for i in range(50):
            ids[n].append(store.add(Correction.of(result(seed=n), (n + i) % 10, "api", "0" * 64)))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    labels = {i: c.label for i, c in zip(sorted(sum(ids, [])), store.read(), strict=True)}
    assert store.count() == len(labels) == 400
    for n, written in enumerate(ids):
        assert [labels[i] for i in written] == [(n + i) % 10 for i in range(50)]


WRITER = """
import sys, numpy as np
from serving.corrections import Correction, SQLiteStore
from serving.predictor import DigitResult
store = SQLiteStore(sys.argv[1])
r = DigitResult(1, 0.5, [0.1] * 10, np.random.default_rng(0).random((28, 28), dtype=np.float32))
while True:
    store.add(Correction.of(r, 7, "api", "0" * 64))
"""


def rows_in(db: Path) -> int:
    """Rows written so far; 0 while the writer has not yet made the file or the table."""
    try:
        with sqlite3.connect(db, timeout=5) as con:
            return con.execute("SELECT count(*) FROM corrections").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_kill_9_mid_write_leaves_a_sound_database(tmp_path):
    db = tmp_path / "c.db"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and writer.poll() is None:
            time.sleep(0.2)
            if rows_in(db) > 200:
                break
        assert writer.poll() is None, "the writer stopped on its own"
    finally:
        os.kill(writer.pid, signal.SIGKILL)  # in the middle of its write loop
        writer.wait()
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert all(len(image) == 784 for (image,) in con.execute("SELECT image FROM corrections"))
    store = SQLiteStore(db)  # and it takes new corrections
    before = store.count()
    store.add(Correction.of(result(), 2, "api", "0" * 64))
    assert store.count() == before + 1 > 200


def test_unusable_databases_are_refused_in_words(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a database " * 100)
    with pytest.raises(CorrectionsError, match="can't be used as a corrections database"):
        SQLiteStore(text)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE corrections (id INTEGER PRIMARY KEY, note TEXT)")
    with pytest.raises(CorrectionsError, match="lacks the columns"):
        SQLiteStore(other)
    with pytest.raises(CorrectionsError, match="no corrections database"):
        SQLiteStore(tmp_path / "none.db", readonly=True)
    with pytest.raises(CorrectionsError, match="--corrections-per-minute"):
        open_corrections(tmp_path / "c.db", per_minute=-1)


# ---------------------------------------------------------------- the demo


@pytest.fixture
def launched(monkeypatch):
    """What demo.main() passes to launch() (no server is started); corrections off afterwards."""
    seen: dict = {}
    monkeypatch.setattr(demo.demo, "launch", lambda **kwargs: seen.update(kwargs))
    for name in ("GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT", "DIGIT_AUTH"):
        monkeypatch.delenv(name, raising=False)
    yield seen
    demo.main([])


def control_visible(source: str) -> bool:
    """Whether the page's config shows the control (Gradio leaves hidden ones out of the page)."""
    config = demo.demo.get_config_file()
    ids = {c["id"]: c for c in config["components"]}
    radio = next(c for c in config["components"] if c["props"].get("elem_id") == f"{source}-correct")
    parents = [c for c in ids.values() if c["type"] == "group"]
    group = next(g for g in parents if radio["id"] in child_ids(config["layout"], g["id"]))
    return bool(group["props"]["visible"]) and radio["props"].get("visible", True) is not False


def child_ids(layout: dict, target: int) -> set[int]:
    """The ids of every component inside the layout node `target`."""
    def walk(node: dict, inside: bool) -> set[int]:
        inside = inside or node["id"] == target
        found = {node["id"]} if inside else set()
        for child in node.get("children", []):
            found |= walk(child, inside)
        return found
    return walk(layout, False)


def test_without_the_flag_nothing_is_shown_or_kept(launched, tmp_path, capsys):
    demo.main([])
    assert not control_visible("sketch") and not control_visible("upload")
    assert "corrections" not in capsys.readouterr().out
    note = corrections_ui.correction_note("sketch", sketch("4"), 9, demo.predictor().predict,
                                          demo.predictor, "1.2.3.4")
    assert note == "Corrections are off on this server."


def test_the_flag_shows_the_control_and_says_what_is_kept(launched, tmp_path, capsys):
    demo.main(["--corrections", str(tmp_path / "c.db"), "--corrections-per-minute", "2"])
    assert control_visible("sketch") and control_visible("upload")
    assert "corrections: kept in" in capsys.readouterr().out
    for words in ("28×28 picture", "the digit you click", "confidence", "which model", "drawn or uploaded",
                  "the time", "not your IP address", "no cookie"):
        assert words in corrections_ui.KEPT


def sketch(digit: str) -> dict:
    strokes = np.asarray(draw_digits((360, 360), digit, (37, 99, 235, 255), (0, 0, 0, 0), 18, mode="RGBA"))
    return {"background": np.full_like(strokes, 255), "layers": [strokes], "composite": None}


def test_one_click_keeps_the_drawing_as_the_model_saw_it(launched, tmp_path):
    db = tmp_path / "c.db"
    demo.main(["--corrections", str(db), "--corrections-per-minute", "2"])
    drawn = sketch("4")
    read = demo.predictor().predict
    note = corrections_ui.correction_note("sketch", drawn, 9, read, demo.predictor, "1.2.3.4")
    seen = read(drawn)
    assert note.startswith(f"**Thank you!** Kept as a **9** (the model said {seen.digit}")
    (kept,) = SQLiteStore(db, readonly=True).read()
    assert (kept.label, kept.predicted, kept.source) == (9, seen.digit, "sketch")
    assert kept.image == np.rint(seen.model_input * 255).astype(np.uint8).tobytes()
    assert kept.model_sha256 == demo.predictor().card["sha256"]
    blank = {"background": np.full((360, 360, 4), 255, np.uint8), "layers": [], "composite": None}
    args = (read, demo.predictor, "1.2.3.4")
    assert "no digit to correct" in corrections_ui.correction_note("sketch", blank, 9, *args)
    assert "too many corrections" in corrections_ui.correction_note("sketch", drawn, 9, *args)
    assert "Draw a digit first" in corrections_ui.correction_note("sketch", None, 9, *args)
    upload = corrections_ui.correction_note("upload", str(ROOT / "examples" / "2_pencil.png"), 2,
                                            demo.digit_in_upload, demo.predictor, "5.6.7.8")
    assert upload.startswith("**Thank you!**")
    assert [c.source for c in SQLiteStore(db, readonly=True).read()] == ["sketch", "upload"]


@pytest.mark.parametrize(("args", "message"), [
    (["--corrections-per-minute", "5"], "need --corrections PATH"),
    (["--corrections", "{tmp}/c.db", "--corrections-max-mb", "0"], "--corrections-max-mb must be"),
    (["--corrections", "{tmp}/notes.txt"], "can't be used as a corrections database"),
])
def test_bad_corrections_flags_stop_with_a_message(launched, tmp_path, capsys, args, message):
    (tmp_path / "notes.txt").write_text("not a database " * 100)
    with pytest.raises(SystemExit) as stop:
        demo.main([a.format(tmp=tmp_path) for a in args])
    assert message in str(stop.value.code) and "Traceback" not in capsys.readouterr().err
    assert not launched
