"""The app's corrections (app/corrections.py, app/ui/corrections.py): the rate limit, each refusal's
status, the flags, and the page's "Wrong? It's a" control. The store: tests/test_corrections.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.corrections import (
    UNDO_WINDOW_S,
    Corrections,
    RateLimit,
    RecentCorrections,
    Refused,
    open_corrections,
)
from app.inputs import read_input
from app.server import create, create_or_exit
from app.settings import Settings
from app.ui import corrections as control
from examples.make import draw_digits
from serving import Reader
from serving.corrections import Correction, SQLiteStore, StoreBusy

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader()


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


def test_a_full_store_is_507_and_a_busy_one_503(tmp_path, reader):
    corrections = Corrections(SQLiteStore(tmp_path / "c.db", max_bytes=48 * 1024), per_minute=0)
    seen = reader.read_digit(draw_digits((100, 100), "3", "black", "white", 8))
    with pytest.raises(Refused) as full:
        for _ in range(1000):
            corrections.add(reader.digits, seen, 1, "upload")
    assert (
        full.value.status == 507 and "full" in full.value.message and "Thank you anyway" in full.value.message
    )

    def locked(correction):
        raise StoreBusy("the correction could not be saved right now (database is locked)")

    corrections.store.add = locked
    with pytest.raises(Refused) as busy:
        corrections.add(reader.digits, seen, 1, "upload")
    assert busy.value.status == 503 and "try again in a moment" in busy.value.message


def control_visible(demo, source: str) -> bool:
    """Whether the page's config shows the control (Gradio leaves hidden ones out of the page)."""
    config = demo.get_config_file()
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


def sketch(digit: str) -> dict:
    strokes = np.asarray(draw_digits((360, 360), digit, (37, 99, 235, 255), (0, 0, 0, 0), 18, mode="RGBA"))
    return {"background": np.full_like(strokes, 255), "layers": [strokes], "composite": None}


def note(corrections, kind: str, value, label: int | None, reader: Reader, client: str = "1.2.3.4") -> str:
    source = control.SOURCE.get(kind, kind)
    return control.keep_correction(
        corrections, source, value, label, client, lambda v: read_input(kind, v, reader.read_digit), reader
    )[0]


def test_without_the_flag_nothing_is_shown_or_kept(reader):
    app = create(Settings.parse([], {}))
    assert app.corrections is None and open_corrections(app.settings) is None
    assert not control_visible(app.demo, "sketch") and not control_visible(app.demo, "upload")
    assert note(None, "sketch", sketch("4"), 9, reader) == "Corrections are off on this server."


def test_the_flag_shows_the_control_and_says_what_is_kept(tmp_path):
    app = create(Settings.parse(["--corrections", str(tmp_path / "c.db")], {}))
    assert control_visible(app.demo, "sketch") and control_visible(app.demo, "upload")
    for words in (
        "28×28 picture",
        "the digit you click",
        "confidence",
        "which model",
        "drawn or uploaded",
        "the time",
        "not your IP address",
        "no cookie",
    ):
        assert words in control.KEPT


def test_one_click_keeps_the_drawing_as_the_model_saw_it(tmp_path, reader):
    db = tmp_path / "c.db"
    corrections = open_corrections(
        Settings.parse(["--corrections", str(db), "--corrections-per-minute", "2"], {})
    )
    drawn = sketch("4")
    said = note(corrections, "sketch", drawn, 9, reader)
    seen = read_input("sketch", drawn, reader.read_digit)
    assert said.startswith(f"**Thank you!** Kept as a **9** (the model said {seen.digit}")
    (kept,) = SQLiteStore(db, readonly=True).read()
    assert (kept.label, kept.predicted, kept.source) == (9, seen.digit, "sketch")
    assert kept.image == np.rint(seen.model_input * 255).astype(np.uint8).tobytes()
    assert kept.model_sha256 == reader.digits.card["sha256"]
    blank = {"background": np.full((360, 360, 4), 255, np.uint8), "layers": [], "composite": None}
    assert "no digit to correct" in note(corrections, "sketch", blank, 9, reader)
    assert "too many corrections" in note(corrections, "sketch", drawn, 9, reader)
    assert "Draw a digit first" in note(corrections, "sketch", None, 9, reader)
    upload = note(corrections, "upload", str(ROOT / "examples" / "2_pencil.png"), 2, reader, "5.6.7.8")
    assert upload.startswith("**Thank you!**")
    assert [c.source for c in SQLiteStore(db, readonly=True).read()] == ["sketch", "upload"]
    assert isinstance(kept, Correction)


def test_bad_corrections_database_stops_with_a_message(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("not a database " * 100)
    with pytest.raises(SystemExit) as stop:
        create_or_exit(Settings.parse(["--corrections", str(tmp_path / "notes.txt")], {}))
    assert "can't be used as a corrections database" in str(stop.value.code)
    assert "Traceback" not in capsys.readouterr().err


def test_the_page_takes_its_last_correction_back_for_a_minute(tmp_path, reader):
    """Undo deletes the correction this page sent, once, and only within the window."""
    corrections = open_corrections(Settings.parse(["--corrections", str(tmp_path / "c.db")], {}))
    now = [0.0]
    corrections.recent = RecentCorrections(clock=lambda: now[0])

    def read(value):
        return read_input("sketch", value, reader.read_digit)

    said, kept = control.keep_correction(corrections, "sketch", sketch("4"), 9, "1.2.3.4", read, reader,
                                         "page a")
    assert said.startswith("**Thank you!**") and kept is not None
    assert control.undo_note(corrections, kept, "page b")[0].startswith("**Too late")  # another page
    assert corrections.store.count() == 1
    assert control.undo_note(corrections, kept, "page a") == (
        f"**Taken back.** That correction is not kept.\n\n{control.KEPT}", False)
    assert corrections.store.count() == 0
    _, late = control.keep_correction(corrections, "sketch", sketch("4"), 9, "1.2.3.4", read, reader,
                                      "page a")
    now[0] += UNDO_WINDOW_S
    assert "a minute after sending it" in control.undo_note(corrections, late, "page a")[0]
    assert corrections.store.count() == 1
    assert control.keep_correction(None, "sketch", sketch("4"), 9, "1.2.3.4", read, reader) == (
        "Corrections are off on this server.", None)
