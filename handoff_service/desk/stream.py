"""What the desk reads from Rasa's event stream about customers in the queue.

While a conversation is handed off Rasa is paused: the customer's messages are parsed
and logged but the bot does not answer, so leaving the queue is noticed here.

* A customer who asks to leave the queue (the intent ``handoff_cancel``: "取消排队",
  "stop waiting") while still queued goes back to the bot: status ``cancelled``; so does one
  who chooses a callback or a message instead (the bot then asks for the details).
* A new session of a conversation still queued means the customer went away and came
  back much later (Rasa starts one after the session expiry): status ``abandoned``.

Only events newer than the handoff count: a replay of the stream after a restart
never cancels a handoff asked for after that event.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any, Dict

from handoff_service.desk.service import HandoffDesk

logger = logging.getLogger(__name__)

# Intents that take a queued customer back to the bot, and what the bot does next.
LEAVING_INTENTS = {
    "handoff_cancel": "EXTERNAL_handoff_cancelled",
    "handoff_callback": "EXTERNAL_handoff_callback",       # the callback form
    "handoff_leave_message": "EXTERNAL_handoff_message",   # the message form
}
# A typed "不等了" must be clearly that; a button sends the intent itself (confidence 1).
MIN_CANCEL_CONFIDENCE = 0.7


class QueueStreamHandler:
    def __init__(self, desk: HandoffDesk):
        self.desk = desk

    async def __call__(self, event_id: int, conversation_id: str, event: Dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "user":
            intent = (event.get("parse_data") or {}).get("intent") or {}
            if intent.get("name") not in LEAVING_INTENTS or float(intent.get("confidence") or 0) < MIN_CANCEL_CONFIDENCE:
                return
            status, then_intent = "cancelled", LEAVING_INTENTS[intent["name"]]
        elif kind == "session_started":
            status, then_intent = "abandoned", ""
        else:
            return
        handoff = await asyncio.to_thread(self.desk.handoffs.open_for, conversation_id)
        if handoff is None or handoff.status != "queued":
            return
        at = event.get("timestamp")
        if isinstance(at, (int, float)) and dt.datetime.utcfromtimestamp(at) < handoff.created_at:
            return  # an event from before this handoff (a replay)
        await self.desk.cancel(conversation_id, status, then_intent)
