"""Corrections: a person says what a digit really is, and it is kept to teach the model (issue #17).

Off unless the demo is started with `--corrections PATH`. One correction keeps exactly this and
nothing else: the 28×28 uint8 image the model saw (784 bytes), the digit the person gave, the
model's answer and confidence, the model file's sha256, the source ("sketch", "upload" or "api")
and the time (UTC, to the second). Never the upload itself, a file name, an IP address or a
cookie. The client's address is used only in memory, to limit how often one client may send.

    CorrectionStore   the one interface a store offers (add, count, read, close)
    SQLiteStore       the embedded store: one file, WAL mode, one writer connection behind a lock
    Corrections       what the app and the REST API call: rate limit, then the store

Swapping SQLite for a server database (several Ray Serve replicas writing at once) means writing
another CorrectionStore with the same four methods; see README, "Corrections that teach".
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import numpy as np

from serving.card import file_sha256
from serving.predictor import DigitResult, Predictor

SOURCES = ("sketch", "upload", "api")
IMAGE_BYTES = 28 * 28
SCHEMA_VERSION = 1
DEFAULT_PER_MINUTE = 10
DEFAULT_MAX_MB = 100.0  # about 100,000 corrections: far more than a fine-tune needs
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


class Refused(Exception):
    """A correction that is not kept: HTTP status and the message for the person."""

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


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
        image = np.rint(np.asarray(result.model_input, np.float32) * 255).clip(0, 255).astype(np.uint8)
        return cls(image.tobytes(), parse_label(label), result.digit, round(result.confidence, 6),
                   model_sha256, source, datetime.now(UTC).isoformat(timespec="seconds"))

    def pixels(self) -> np.ndarray:
        return np.frombuffer(self.image, np.uint8).reshape(28, 28)


def parse_label(value: object) -> int:
    """A digit 0-9 from JSON (an int) or a form field (a string); ValueError with a message else."""
    if value is None:
        raise ValueError('no "label": send the digit the image really shows, 0 to 9')
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 9:
        raise ValueError(f'"label" must be one digit, 0 to 9 (got {value!r})')
    return value


class CorrectionStore(Protocol):
    """Where corrections go. SQLiteStore is the embedded one; a server database would be another."""

    def add(self, correction: Correction) -> int:
        """Keeps one correction; returns its id. Raises Refused(507) when the store is full."""
        ...

    def count(self) -> int: ...

    def read(self) -> Iterator[Correction]:
        """Every correction, oldest first."""
        ...

    def close(self) -> None: ...


class SQLiteStore:
    """Corrections in one SQLite file (created if missing), WAL mode, at most `max_bytes` big.

    One connection writes, behind a lock, so the server's threads never contend for SQLite's
    write lock; other processes (an export, another server) wait up to BUSY_TIMEOUT_MS for it.
    Each insert is one statement, so it is one transaction: a process killed mid-write leaves the
    database as it was before that insert or after it, never half-written (WAL).
    """

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
            # SQLite itself refuses to grow past this ("database or disk is full"): the cap holds
            # however many threads or processes write.
            page_size = self._db.execute("PRAGMA page_size").fetchone()[0]
            self._db.execute(f"PRAGMA max_page_count={max(1, self.max_bytes // page_size)}")

    def add(self, correction: Correction) -> int:
        row = tuple(getattr(correction, c) for c in COLUMNS)
        try:
            with self._lock:
                cursor = self._db.execute(INSERT, row)
        except sqlite3.OperationalError as err:
            raise store_refusal(err, self.max_bytes) from None
        return int(cursor.lastrowid or 0)

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
            target, uri = str(path), False
        db = sqlite3.connect(target, uri=uri, isolation_level=None, check_same_thread=False,
                             timeout=BUSY_TIMEOUT_MS / 1000)
    except (OSError, sqlite3.Error) as err:
        raise CorrectionsError(f"can't open the corrections database {path}: {err}") from None
    return db


def store_refusal(err: sqlite3.OperationalError, max_bytes: int | None) -> Refused:
    """The person's message for a write SQLite refused: full (507) or busy/unwritable (503)."""
    if "full" in str(err):
        cap = f"its cap of {max_bytes / 2**20:g} MB" if max_bytes else "the disk's space"
        return Refused(507, f"the corrections database is full ({cap}): nothing more can be kept "
                            "until whoever runs this server exports and clears it. Thank you anyway.")
    return Refused(503, f"the correction could not be saved right now ({err}): try again in a moment")


class RateLimit:
    """At most `per_minute` corrections per client in any 60 s; 0 means no limit. Memory only."""

    WINDOW_S = 60.0
    MAX_CLIENTS = 10_000  # beyond this, clients idle for a minute are forgotten

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def admit(self, client: str) -> None:
        """Counts one correction from `client`, or raises Refused(429) saying when to try again."""
        if self.per_minute <= 0:
            return
        now = self.clock()
        with self._lock:
            if len(self._seen) > self.MAX_CLIENTS:
                self._seen = {k: v for k, v in self._seen.items() if v and v[-1] > now - self.WINDOW_S}
            times = self._seen.setdefault(client, deque())
            while times and times[0] <= now - self.WINDOW_S:
                times.popleft()
            if len(times) >= self.per_minute:
                wait = max(1, int(times[0] + self.WINDOW_S - now + 0.999))
                raise Refused(429, f"too many corrections from you: at most {self.per_minute} a minute. "
                                   f"Try again in {wait} s.", retry_after=wait)
            times.append(now)


class Corrections:
    """What the app and the REST API call: `admit` a client, then `keep` a prediction's correction."""

    def __init__(self, store: CorrectionStore, per_minute: int = DEFAULT_PER_MINUTE) -> None:
        self.store = store
        self.limit = RateLimit(per_minute)
        self._sha256: dict[Path, str] = {}

    def admit(self, client: str | None) -> None:
        self.limit.admit(client or "unknown")

    def add(self, predictor: Predictor, result: DigitResult, label: int, source: str) -> int:
        """Stores the correction of `result` (from `predictor`) and returns its id."""
        return self.store.add(Correction.of(result, label, source, self.model_sha256(predictor)))

    def model_sha256(self, predictor: Predictor) -> str:
        """The served model's sha256: from its verified card, else hashed once."""
        path = predictor.model_path
        if path not in self._sha256:
            self._sha256[path] = (predictor.card or {}).get("sha256") or file_sha256(path)
        return self._sha256[path]


def open_corrections(path: str | Path, per_minute: int = DEFAULT_PER_MINUTE,
                     max_mb: float = DEFAULT_MAX_MB) -> Corrections:
    """The app's corrections over a SQLite file; CorrectionsError with a message if it can't be used."""
    if per_minute < 0:
        raise CorrectionsError("--corrections-per-minute must be 0 (no limit) or more")
    if max_mb <= 0:
        raise CorrectionsError("--corrections-max-mb must be more than 0")
    return Corrections(SQLiteStore(path, int(max_mb * 2**20)), per_minute)
