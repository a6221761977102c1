"""Queued customers who closed the chat (desk #7): ``abandoned`` unless they come back in time.

The web chat channel (Rasa's process, ``bot/channels/presence.py``) posts
``{conversation_id, present}`` to ``POST /api/presence`` when a conversation's last
socket goes away (``present: false``) and whenever one asks for it again
(``present: true``). Someone who stays away ``DESK_ABANDON_GRACE_SECONDS`` while queued
leaves the queue as ``abandoned`` (``HandoffDesk.abandon_left``); a reload or a
reconnect within the grace period changes nothing.

The timers live in this process: a restart of the web service forgets them, and those
customers count as waiting until Rasa starts a new session for them (desk/stream.py).
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Dict

from handoff_service.desk.service import HandoffDesk

logger = logging.getLogger(__name__)


class CustomerPresence:
    def __init__(self, desk: HandoffDesk, grace_seconds: float):
        self.desk = desk
        self.grace_seconds = grace_seconds
        self._away: Dict[str, asyncio.Task] = {}  # conversation id -> its timer

    def left(self, conversation_id: str) -> None:
        if conversation_id not in self._away:  # the first departure counts
            left_at = dt.datetime.utcnow()
            self._away[conversation_id] = asyncio.get_running_loop().create_task(
                self._abandon_later(conversation_id, left_at))

    def back(self, conversation_id: str) -> None:
        timer = self._away.pop(conversation_id, None)
        if timer is not None:
            timer.cancel()

    def away(self) -> int:
        """How many customers are away now (not back yet, not timed out)."""
        return len(self._away)

    async def _abandon_later(self, conversation_id: str, left_at: dt.datetime) -> None:
        await asyncio.sleep(self.grace_seconds)
        self._away.pop(conversation_id, None)
        try:
            await self.desk.abandon_left(conversation_id, left_at)
        except Exception:  # the conversation id stays out of the log (privacy)
            logger.exception("could not record a queued customer who left as abandoned")

    async def stop(self) -> None:
        timers = list(self._away.values())
        self._away.clear()
        for timer in timers:
            timer.cancel()
        await asyncio.gather(*timers, return_exceptions=True)
