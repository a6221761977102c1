"""Secrets in the conversation events that Rasa stores and streams.

The verification form asks for the service PIN through the ``account_pin`` slot;
while that slot is requested, a bare number ("2468", "oops, it's 2468") is the
PIN. At any other time a PIN is recognised by its cue ("密码是1234", "my pin is
2468"). The recogniser (``bot.privacy``) decides: an answer to the PIN prompt that
holds no PIN ("I don't have a PIN, can I talk to a person", a corrected phone
number) stays as typed.

Masked here: user messages (text, parse data text and entities), slot values
(a ``from_text`` slot keeps the customer's whole answer) and bot messages (an
agent's reply is one). Used by the tracker store
(``bot/tracker_store.py``, which also covers the event broker), the agents'
transcript (``handoff_service/events.py``) and the web chat's history
(``bot/channels/history.py``). No Rasa import here: the web service uses it too.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, Optional

from bot.privacy import MASK, find, mask_secrets, mask_spans

# Slot asked for → the kind of secret the answer is.
SECRET_SLOTS: Dict[str, str] = {"account_pin": "pin"}
# What the verification form leaves in a secret slot: a verdict, never the secret.
SECRET_SLOT_VERDICTS = frozenset({"verified"})

# Metadata keys whose values are credentials (a host site's login token: actions/accounts/identity.py).
SECRET_METADATA_KEYS = frozenset({"customer_token"})

__all__ = ["MASK", "SECRET_SLOTS", "expected_secret", "mask_secrets_in_events"]


def expected_secret(requested_slot: Optional[str]) -> Optional[str]:
    """The secret kind an answer is expected to be while ``requested_slot`` is asked for."""
    return SECRET_SLOTS.get(requested_slot or "")


def mask_secrets_in_events(events: Iterable[Any], start: int = 0) -> int:
    """Mask, in place, the secrets in Rasa event objects given in order, from the
    ``start``-th on (the earlier ones only say which slot was being asked for).

    Returns how many events changed now (saving again changes nothing).
    """
    asking_for: Optional[str] = None
    changed = 0
    for index, event in enumerate(events):
        kind = getattr(event, "type_name", None)
        if kind == "slot" and event.key == "requested_slot":
            asking_for = event.value
        if index < start:
            continue
        if kind == "slot":
            changed += _mask_slot(event, asking_for)
        elif kind == "user":
            changed += _mask_metadata(getattr(event, "metadata", None))
            if event.text:
                changed += _mask_user(event, expected_secret(asking_for))
        elif kind == "bot" and event.text:
            # An agent's reply (sent as the bot) may repeat what the customer typed.
            masked = mask_secrets(event.text)
            changed += masked != event.text
            event.text = masked
    return changed


def _mask_user(event: Any, expecting: Optional[str]) -> bool:
    secrets = [span for span in find(event.text, expecting=expecting) if span.secret]
    if not secrets:
        return False
    parse_data: Dict[str, Any] = event.parse_data
    for entity in parse_data.get("entities") or []:
        # An entity extracted from the secret ("1234" as a number) is the secret.
        start, end = entity.get("start"), entity.get("end")
        overlaps = isinstance(start, int) and isinstance(end, int) and any(
            s.start < end and start < s.end for s in secrets)
        if overlaps or str(entity.get("value")) in {event.text[s.start:s.end] for s in secrets} | {
                s.value for s in secrets}:
            entity["value"] = MASK
    event.text = parse_data["text"] = mask_spans(event.text, secrets)
    return True


def _mask_metadata(metadata: Any) -> bool:
    if not isinstance(metadata, dict):
        return False
    keys = [k for k in SECRET_METADATA_KEYS if metadata.get(k) not in (None, MASK)]
    for key in keys:
        metadata[key] = MASK
    return bool(keys)


def _mask_slot(event: Any, asking_for: Optional[str]) -> bool:
    value = event.value
    if isinstance(value, dict):  # session_started_metadata: the first message's metadata
        return _mask_metadata(value)
    if not isinstance(value, str) or value == MASK:
        return False
    if event.key in SECRET_SLOTS:
        masked = value if value in SECRET_SLOT_VERDICTS else MASK
    else:
        masked = mask_secrets(value, expecting=expected_secret(asking_for))
    if masked == value:
        return False
    event.value = masked
    return True
