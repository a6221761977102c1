"""Links verified conversations to their customer, from Rasa's event stream.

An event-stream handler (``handoff_service.events``): when a conversation's slot
``customer_ref`` (or, before accounts set it, ``customer_id``: the same id as a
number) gets a value, the conversation's (channel, sender id) is linked to that
customer. The channel is the one the customer last wrote on (the ``user`` event's
``input_channel``): remembered for recent conversations, else read back from the
stream (a restart between the message and the verification).
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from typing import Any, Dict, Optional

import sqlalchemy as sa

from handoff_service.identities.storage import IdentityRepository

logger = logging.getLogger(__name__)

REF_SLOTS = ("customer_ref", "customer_id")


def customer_ref_of(event: Dict[str, Any]) -> Optional[str]:
    """The customer id a slot event sets, as text; None for other events or an emptied slot."""
    if event.get("event") != "slot" or event.get("name") not in REF_SLOTS:
        return None
    value = event.get("value")
    if isinstance(value, bool) or value in (None, ""):
        return None
    if isinstance(value, float) and value.is_integer():  # Rasa keeps float slots as 12.0
        value = int(value)
    text = str(value).strip()
    return text[:64] or None


class IdentityLinker:
    REMEMBERED_CONVERSATIONS = 10_000

    def __init__(self, identities: IdentityRepository, stream_engine: sa.engine.Engine):
        self.identities = identities
        self.stream_engine = stream_engine
        self._channels: "OrderedDict[str, str]" = OrderedDict()

    def _remember(self, conversation_id: str, channel: str) -> None:
        self._channels[conversation_id] = channel
        self._channels.move_to_end(conversation_id)
        while len(self._channels) > self.REMEMBERED_CONVERSATIONS:
            self._channels.popitem(last=False)

    def _channel_from_stream(self, conversation_id: str, before: int) -> Optional[str]:
        with self.stream_engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT data FROM events WHERE sender_id = :conversation AND id < :before "
                        "AND data LIKE :pattern ORDER BY id DESC LIMIT 5"),
                {"conversation": conversation_id, "before": before, "pattern": '%"input_channel"%'},
            ).fetchall()
        for row in rows:
            try:
                event = json.loads(row.data)
            except (TypeError, ValueError):
                continue
            if event.get("event") == "user" and event.get("input_channel"):
                return str(event["input_channel"])
        return None

    async def __call__(self, event_id: int, conversation_id: str, event: Dict[str, Any]) -> None:
        if event.get("event") == "user" and event.get("input_channel"):
            self._remember(conversation_id, str(event["input_channel"])[:32])
            return
        ref = customer_ref_of(event)
        if ref is None:
            return
        channel = self._channels.get(conversation_id)
        if channel is None:
            channel = await asyncio.to_thread(self._channel_from_stream, conversation_id, event_id) or "unknown"
            self._remember(conversation_id, channel)
        await asyncio.to_thread(self.identities.link, ref, channel[:32], conversation_id)
        logger.info("conversation linked to a verified customer (channel %s)", channel)
