"""The corrections store (serving/corrections.py): it keeps exactly what it says, survives kill -9,
caps its size. The app's side (rate limit, flags, the page's control): tests/app/test_corrections.py;
over HTTP: test_corrections_api.py."""

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

from serving.corrections import COLUMNS, Correction, CorrectionsError, SQLiteStore, StoreFull, parse_label
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


@pytest.mark.parametrize(("value", "expected"), [(7, 7), ("7", 7), ("0", 0), (9, 9)])
def test_labels_are_one_digit(value, expected):
    assert parse_label(value) == expected


@pytest.mark.parametrize("value", [10, -1, "seven", 7.0, True, None, "", [7],
                                   "\u0667", "03", " 7 ", "\u00b2", "7\n", "\uff17"])
def test_other_labels_are_refused_in_words(value):
    """Only one ASCII digit: not an Arabic-Indic seven, a superscript two, a full-width 7, "03"."""
    with pytest.raises(ValueError, match="\"label\""):
        parse_label(value)


def test_the_database_and_its_wal_files_are_the_owners_only(tmp_path):
    store = SQLiteStore(tmp_path / "c.db")
    store.add(Correction.of(result(), 7, "api", "ab" * 32))  # a write: the -wal and -shm files exist
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    store.close()
    assert set(modes) >= {"c.db", "c.db-wal", "c.db-shm"} and set(modes.values()) == {0o600}, modes


def test_a_correction_can_be_deleted(tmp_path):
    store = SQLiteStore(tmp_path / "c.db")
    first, second = (store.add(Correction.of(result(seed=s), 7, "api", "ab" * 32)) for s in (0, 1))
    assert store.delete(first) and not store.delete(first) and not store.delete(999)
    assert store.count() == 1 and store.add(Correction.of(result(), 1, "api", "ab" * 32)) > second
    store.close()


def test_the_size_cap_refuses_and_keeps_what_it_has(tmp_path):
    store = SQLiteStore(tmp_path / "c.db", max_bytes=48 * 1024)
    kept = 0
    with pytest.raises(StoreFull, match=r"full \(its cap of 0.046875 MB\)"):
        for seed in range(1000):
            store.add(Correction.of(result(seed=seed), 1, "upload", "0" * 64))
            kept += 1
    assert 10 < kept == store.count() and store.size_bytes() <= 48 * 1024


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
