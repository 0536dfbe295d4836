"""Corrections in the app: who may send one (a per-client rate limit, in memory), and the HTTP
status and message of each refusal; the store itself is serving/corrections.py.

Off unless the app is started with `--corrections PATH`. The client's address is used only in
memory, to limit how often one client may send.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from app.settings import CORRECTIONS_PER_MINUTE, Settings
from serving.card import file_sha256
from serving.corrections import Correction, SQLiteStore, StoreBusy, StoreFull
from serving.predictor import Predictor
from serving.result import DigitResult


class Refused(Exception):
    """A correction that is not kept: HTTP status and the message for the person."""

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


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

    def __init__(self, store: SQLiteStore, per_minute: int = CORRECTIONS_PER_MINUTE) -> None:
        self.store = store
        self.limit = RateLimit(per_minute)
        self._sha256: dict[Path, str] = {}

    def admit(self, client: str | None) -> None:
        self.limit.admit(client or "unknown")

    def add(self, predictor: Predictor, result: DigitResult, label: int, source: str) -> int:
        """Stores the correction of `result` (from `predictor`) and returns its id; Refused when the
        store can't take it (507 full, 503 busy)."""
        correction = Correction.of(result, label, source, self.model_sha256(predictor))
        try:
            return self.store.add(correction)
        except StoreFull as err:
            raise Refused(507, f"{err}: nothing more can be kept until whoever runs this server "
                               "exports and clears it. Thank you anyway.") from None
        except StoreBusy as err:
            raise Refused(503, f"{err}: try again in a moment") from None

    def model_sha256(self, predictor: Predictor) -> str:
        """The served model's sha256: from its verified card, else hashed once."""
        path = predictor.model_path
        if path not in self._sha256:
            self._sha256[path] = (predictor.card or {}).get("sha256") or file_sha256(path)
        return self._sha256[path]


def open_corrections(settings: Settings) -> Corrections | None:
    """The corrections the settings ask for (None: off); CorrectionsError with a message if the
    database can't be used."""
    if settings.corrections is None:
        return None
    store = SQLiteStore(settings.corrections, int(settings.corrections_max_mb * 2**20))
    return Corrections(store, settings.corrections_per_minute)
