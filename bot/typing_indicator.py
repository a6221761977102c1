"""Which typing states are worth passing on, for the indicators between an agent's console
and a customer's chat page (both ways): a start, a stop after a start, and a "still typing"
once per ``refresh_seconds``. The pages keep showing "typing" a few seconds after each
refresh, so passing on every keystroke would be traffic without news.

Per conversation and side, in memory: an indicator is ephemeral (never stored, not in the
transcript); a restarted process just passes the next one on.
"""
from __future__ import annotations

import time
from typing import Callable, Dict, Tuple

REFRESH_SECONDS = 2.0
# Nothing passes sooner than this after the last that did: a page toggling start and stop
# in a loop passes two a second, not thousands.
MIN_GAP_SECONDS = 0.5
# The pages hide an indicator that has not been refreshed for this long (a lost "stop").
SHOWN_SECONDS = 6.0


class TypingThrottle:
    def __init__(self, refresh_seconds: float = REFRESH_SECONDS, clock: Callable[[], float] = time.monotonic,
                 max_entries: int = 100_000, min_gap_seconds: float = MIN_GAP_SECONDS):
        self.refresh_seconds = refresh_seconds
        self.min_gap_seconds = min_gap_seconds
        self.clock = clock
        self.max_entries = max_entries
        # (side, conversation) -> (typing?, when that last passed)
        self._last: Dict[Tuple[str, str], Tuple[bool, float]] = {}

    def should_pass(self, side: str, conversation_id: str, typing: bool) -> bool:
        key = (side, conversation_id)
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last[1] < self.min_gap_seconds:
            if not typing:
                # A stop this soon is dropped (the page hides the indicator after SHOWN_SECONDS),
                # but remembered: the next start is news, not a "still typing" to hold back.
                self._last[key] = (False, last[1])
            return False
        if typing:
            if last is not None and last[0] and now - last[1] < self.refresh_seconds:
                return False
        elif last is None or not last[0]:
            return False  # a stop only ends a start
        if last is None and len(self._last) >= self.max_entries:
            self._forget_stale(now)
        self._last[key] = (typing, now)
        return True

    def _forget_stale(self, now: float) -> None:
        """Conversations long quiet (a closed tab) would pile up: drop those no page shows any more."""
        for key in [k for k, (_, at) in self._last.items() if now - at > SHOWN_SECONDS]:
            del self._last[key]
