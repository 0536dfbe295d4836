"""Corrections in the app (off unless started with `--corrections PATH`): who may send one (a
per-client rate limit, the client's address in memory only), each refusal's HTTP status and message,
and taking one back: by whoever sent it (the page's session, or the API client's address) for
UNDO_WINDOW_S, as ids count up and the id alone would let anyone delete anyone's correction.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from pathlib import Path

from app.settings import CORRECTIONS_PER_MINUTE, Settings
from app.web import Refused
from serving.card import file_sha256
from serving.corrections import Correction, CorrectionsError, SQLiteStore, StoreBusy, StoreFull
from serving.predictor import Predictor
from serving.result import DigitResult

UNDO_WINDOW_S = 60.0  # long enough to notice a wrong click; short, so what training exports is settled
UNDO_WINDOW_TEXT = "a minute"  # UNDO_WINDOW_S in words, for the messages


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
    """What the page and the REST API call to keep corrections and take them back."""

    def __init__(self, store: SQLiteStore, per_minute: int = CORRECTIONS_PER_MINUTE) -> None:
        self.store = store
        self.limit = RateLimit(per_minute)
        self.recent = RecentCorrections()  # senders: "page <session>" and API clients' addresses
        self._sha256: dict[Path, str] = {}

    def admit(self, client: str | None) -> None:
        self.limit.admit(client or "unknown")

    def add(self, predictor: Predictor, result: DigitResult, label: int, source: str,
            sender: str | None = None) -> int:
        """Stores the correction of `result` (from `predictor`) and returns its id, which `sender`
        may take back for a while; Refused when the store can't take it (507 full, 503 busy)."""
        correction = Correction.of(result, label, source, self.model_sha256(predictor))
        try:
            kept = self.store.add(correction)
        except StoreFull as err:
            raise Refused(507, f"{err}: nothing more can be kept until whoever runs this server "
                               "exports and clears it. Thank you anyway.") from None
        except StoreBusy as err:
            raise Refused(503, f"{err}: try again in a moment") from None
        if sender is not None:
            self.recent.remember(kept, sender)
        return kept

    def take_back(self, correction_id: int, sender: str) -> None:
        """Deletes a correction `sender` sent less than UNDO_WINDOW_S ago; Refused(404) when there is
        none, Refused(503) when the database is busy (it may then be tried again)."""
        if not self.recent.claim(correction_id, sender):
            raise Refused(404, f"no correction {correction_id} of yours to take back: a correction can be "
                               f"taken back for {UNDO_WINDOW_TEXT} after sending it, from the same address")
        try:
            self.store.delete(correction_id)
        except CorrectionsError as err:
            self.recent.remember(correction_id, sender)  # still the sender's to take back
            raise Refused(503, f"{err}: try again in a moment") from None

    def model_sha256(self, predictor: Predictor) -> str:
        """The served model's sha256: from its verified card, else hashed once."""
        path = predictor.model_path
        if path not in self._sha256:
            self._sha256[path] = (predictor.card or {}).get("sha256") or file_sha256(path)
        return self._sha256[path]


def open_corrections(settings: Settings) -> Corrections | None:
    """The corrections the settings ask for (None: off); CorrectionsError if the database can't be used."""
    if settings.corrections is None:
        return None
    store = SQLiteStore(settings.corrections, int(settings.corrections_max_mb * 2**20))
    return Corrections(store, settings.corrections_per_minute)


class RecentCorrections:
    """The corrections sent in the last `window_s` seconds, each with its sender, in memory only."""

    def __init__(self, window_s: float = UNDO_WINDOW_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self.clock = clock
        self._sent: OrderedDict[int, tuple[str, float]] = OrderedDict()  # id → (sender, when), oldest first
        self._lock = threading.Lock()

    def remember(self, correction_id: int, sender: str) -> None:
        with self._lock:
            self._forget_old()
            self._sent[correction_id] = (sender, self.clock())

    def claim(self, correction_id: int, sender: str) -> bool:
        """True, once, when `sender` sent `correction_id` less than `window_s` ago: it may be deleted."""
        with self._lock:
            self._forget_old()
            if self._sent.get(correction_id, (None, 0.0))[0] != sender:
                return False
            del self._sent[correction_id]
            return True

    def _forget_old(self) -> None:
        too_old = self.clock() - self.window_s
        while self._sent and next(iter(self._sent.values()))[1] <= too_old:
            self._sent.popitem(last=False)
