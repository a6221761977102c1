"""Prompts whose answers nobody should read back: not an agent, not the stored conversation.

The verification form asks for the service PIN through the ``account_pin`` slot. Rasa
logs ``requested_slot`` before the customer answers, so the next user message after
that is the secret. The tracker store (``bot/tracker_store.py``) and the agents'
transcript (``handoff_service/events.py``) mask it by that rule; the web chat's own
history (``bot/channels/history.py``) masks the answer to ``utter_ask_<slot>`` for the
same slots. No Rasa import here: the web service uses it too.
"""
from __future__ import annotations

from typing import Any, Iterable, Optional

SECRET_SLOTS = frozenset({"account_pin"})
MASK = "••••"


def mask_answers_to_secret_prompts(events: Iterable[Any]) -> int:
    """Replace, in place, the text of user events that answer a secret prompt.

    ``events`` are Rasa event objects in order. Returns how many were masked now.
    """
    asking_for: Optional[str] = None
    masked = 0
    for event in events:
        kind = getattr(event, "type_name", None)
        if kind == "slot" and getattr(event, "key", None) == "requested_slot":
            asking_for = event.value
        elif kind == "user" and asking_for in SECRET_SLOTS and event.text and event.text != MASK:
            event.text = MASK
            event.parse_data["text"] = MASK
            masked += 1
    return masked
