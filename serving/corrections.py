"""The corrections store: what a person said a digit really is, kept to teach the model (the app
writes it, training reads it). A correction keeps its table's columns and nothing else: never the
upload itself, a file name, an IP address or a cookie (docs/corrections.md)."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from serving.explain import seen_pixels
from serving.predictor import DigitResult

SOURCES = ("sketch", "upload", "api")
IMAGE_BYTES = 28 * 28
SCHEMA_VERSION = 1
PRIVATE_FILE = 0o600  # the database, and the -wal/-shm files SQLite gives its mode: the owner's only
DIGITS = "0123456789"  # a label is one of these, alone: not "٧", "²", "03" or " 7 "
BUSY_TIMEOUT_MS = 5000  # another process (an export, a second server) holding the write lock
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS corrections (
    id INTEGER PRIMARY KEY,
    image BLOB NOT NULL CHECK (length(image) = {IMAGE_BYTES}),
    label INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),
    predicted INTEGER NOT NULL CHECK (predicted BETWEEN 0 AND 9),
    confidence REAL NOT NULL,
    model_sha256 TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN {SOURCES!r}),
    created_at TEXT NOT NULL
)"""
COLUMNS = ("image", "label", "predicted", "confidence", "model_sha256", "source", "created_at")
INSERT = f"INSERT INTO corrections ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"


class CorrectionsError(ValueError):
    """The database can't be opened or used as a corrections store; the message says why."""


class StoreFull(CorrectionsError):
    """The database has reached its size cap (or the disk is full): nothing more can be kept."""


class StoreBusy(CorrectionsError):
    """The database could not take the write right now (locked, read-only): worth trying again."""


@dataclass(frozen=True)
class Correction:
    image: bytes  # 784 bytes, the 28×28 model input as uint8, white digit on black
    label: int  # what the person says it is
    predicted: int  # what the model said
    confidence: float  # the model's probability for `predicted`
    model_sha256: str
    source: str  # one of SOURCES
    created_at: str  # ISO 8601, UTC, seconds

    @classmethod
    def of(cls, result: DigitResult, label: int, source: str, model_sha256: str) -> Correction:
        """The correction of one prediction: keeps the model's input, never the original image."""
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, not {source!r}")
        return cls(seen_pixels(result.model_input).tobytes(), parse_label(label), result.digit,
                   round(result.confidence, 6), model_sha256, source,
                   datetime.now(UTC).isoformat(timespec="seconds"))

    def pixels(self) -> np.ndarray:
        return np.frombuffer(self.image, np.uint8).reshape(28, 28)


def parse_label(value: object) -> int:
    """A digit 0-9 from JSON (an int) or a form field (a string of one ASCII digit); ValueError with
    a message else. str.isdigit() would take "٧" and "²", and int() " 7 " and "03": none is a label."""
    if value is None:
        raise ValueError('no "label": send the digit the image really shows, 0 to 9')
    if isinstance(value, str) and len(value) == 1 and value in DIGITS:
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 9:
        raise ValueError(f'"label" must be one digit, 0 to 9, as a number or one character '
                         f'(got {value!r})')
    return value


class SQLiteStore:
    """Corrections in one SQLite file (created if missing), WAL mode, at most `max_bytes` big. One
    connection writes, behind a lock (other processes wait up to BUSY_TIMEOUT_MS); each insert is
    one statement, so one transaction: a process killed mid-write never leaves it half-written."""

    def __init__(self, path: str | Path, max_bytes: int | None = None, readonly: bool = False) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._db = connect(self.path, readonly)
        try:
            self._setup(readonly)
        except sqlite3.DatabaseError as err:
            self._db.close()
            raise CorrectionsError(f"{self.path} can't be used as a corrections database ({err}): "
                                   "give a new file name, or an earlier corrections database") from None

    def _setup(self, readonly: bool) -> None:
        if not readonly:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL: safe against a killed process
            self._db.execute(SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(corrections)")}
        if missing := [c for c in COLUMNS if c not in columns]:
            raise sqlite3.DatabaseError(f"its table 'corrections' lacks the columns {missing}")
        if self.max_bytes is not None:
            # SQLite itself refuses to grow past this: the cap holds however many processes write.
            page_size = self._db.execute("PRAGMA page_size").fetchone()[0]
            self._db.execute(f"PRAGMA max_page_count={max(1, self.max_bytes // page_size)}")

    def _write(self, statement: str, values: tuple) -> sqlite3.Cursor:
        """One statement; what SQLite refused said as the store being full, or busy for now."""
        try:
            with self._lock:
                return self._db.execute(statement, values)
        except sqlite3.OperationalError as err:
            if "full" not in str(err):
                raise StoreBusy(f"the correction could not be saved right now ({err})") from None
            cap = f"its cap of {self.max_bytes / 2**20:g} MB" if self.max_bytes else "the disk's space"
            raise StoreFull(f"the corrections database is full ({cap})") from None

    def add(self, correction: Correction) -> int:
        return int(self._write(INSERT, tuple(getattr(correction, c) for c in COLUMNS)).lastrowid or 0)

    def delete(self, correction_id: int) -> bool:
        """Removes one correction (taken back by whoever sent it); False when there is none by that id."""
        return self._write("DELETE FROM corrections WHERE id = ?", (correction_id,)).rowcount > 0

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM corrections").fetchone()[0])

    def read(self) -> Iterator[Correction]:
        with self._lock:
            rows = self._db.execute(f"SELECT {', '.join(COLUMNS)} FROM corrections ORDER BY id").fetchall()
        for row in rows:
            yield Correction(*row)

    def size_bytes(self) -> int:
        with self._lock:
            pages = self._db.execute("PRAGMA page_count").fetchone()[0]
            return int(pages * self._db.execute("PRAGMA page_size").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


def connect(path: Path, readonly: bool) -> sqlite3.Connection:
    """The connection: autocommit (each statement its own transaction), usable from any thread."""
    try:
        if readonly:
            if not path.is_file():
                raise CorrectionsError(f"no corrections database at {path}")
            target, uri = path.resolve().as_uri() + "?mode=ro", True
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Created readable and writable by its owner only before SQLite opens it: SQLite then
            # gives the -wal and -shm files the same mode. An existing file keeps its mode.
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE))
            target, uri = str(path), False
        return sqlite3.connect(target, uri=uri, isolation_level=None, check_same_thread=False,
                               timeout=BUSY_TIMEOUT_MS / 1000)
    except (OSError, sqlite3.Error) as err:
        raise CorrectionsError(f"can't open the corrections database {path}: {err}") from None
