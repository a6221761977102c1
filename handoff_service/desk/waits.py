"""The expected wait a queued customer is told (method: docs/desk.md, "Expected wait").

A skill group's queue drains as its qualified online agents free seats. With ``S`` seats
(the capacities of the online agents qualified for the chat's skill group and language)
and a mean handle time ``h`` (the last 20 closed chats of that skill group; before it has
any, the last 20 of the whole centre; before those, ``DESK_DEFAULT_HANDLE_SECONDS``), a seat frees every ``h / S``
seconds on average, so the customer at position ``p`` waits about ``p * h / S``; when ``f``
seats are free now, the first ``f`` in the queue are served at once and the customer waits
for ``max(0, p - f)`` seats to free instead.
Nobody qualified online: no estimate (``None``), and the customer is offered a callback.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import mean
from typing import List, Optional

# A new figure is told again only when it differs from the last one told by this much.
MATERIAL_CHANGE_SECONDS = 120
MATERIAL_CHANGE_RATIO = 0.25


@dataclass(frozen=True)
class WaitEstimate:
    position: int
    seconds: Optional[float]  # None: nobody qualified is online
    agents_online: int
    open_now: bool
    long: bool

    @property
    def minutes(self) -> Optional[int]:
        return None if self.seconds is None else max(1, math.ceil(self.seconds / 60))

    @property
    def offer_callback(self) -> bool:
        """Waiting makes little sense: offer a callback or a message instead."""
        return self.seconds is None or not self.open_now or self.long

    def as_json(self) -> dict:
        return {"position": self.position, "wait_seconds": self.seconds, "wait_minutes": self.minutes,
                "agents_online": self.agents_online, "open_now": self.open_now,
                "offer_callback": self.offer_callback}


def estimate(position: int, seats: int, agents_online: int, handle_seconds: List[float],
             default_handle_seconds: float, long_wait_seconds: float, open_now: bool = True,
             free_seats: int = 0) -> WaitEstimate:
    if agents_online == 0 or seats <= 0:
        return WaitEstimate(position, None, agents_online, open_now, long=True)
    handle = mean(handle_seconds) if handle_seconds else default_handle_seconds
    seconds = max(0, position - free_seats) * handle / seats
    return WaitEstimate(position, seconds, agents_online, open_now, long=seconds > long_wait_seconds)


def changed_materially(before: Optional[WaitEstimate], now: WaitEstimate) -> bool:
    """Worth telling the customer again: the position moved, the estimate appeared or
    vanished, or it moved by 2 minutes and a quarter of its size."""
    if before is None or before.position != now.position or (before.seconds is None) != (now.seconds is None):
        return True
    if now.seconds is None:
        return False
    delta = abs(now.seconds - before.seconds)
    return delta >= MATERIAL_CHANGE_SECONDS and delta >= MATERIAL_CHANGE_RATIO * max(before.seconds, 1.0)
