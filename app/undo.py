"""Taking a correction back: by whoever sent it, for UNDO_WINDOW_S after sending it.

The page's "Undo" (app/ui/corrections.py) and DELETE /api/corrections/{id} (app/web/corrections.py)
each keep a RecentCorrections. What it remembers, in memory only and only for the window: each
recent correction's id, who sent it (the page's session, or the API client's address, as the rate
limit uses it) and when. Ids count up, so the id alone would let anyone delete anyone's correction.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

UNDO_WINDOW_S = 60.0  # long enough to notice a wrong click; short, so what training exports is settled
UNDO_WINDOW_TEXT = "a minute"  # UNDO_WINDOW_S in words, for the messages


class RecentCorrections:
    """The corrections sent in the last `window_s` seconds, each with its sender."""

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
