"""One place that checks text where it enters: customer messages (socket.io and REST
channels), agent replies (console API) and the FAQ editor's fields.

Ground floor: imports nothing of ours but ``bot.settings`` (for the one length limit).

* :func:`clean` replaces what no store, encoder or browser should get: lone UTF-16
  surrogates (``"\\ud800"`` in JSON: neither SQLite nor PostgreSQL can store them),
  Unicode noncharacters, and control characters other than newline and tab (NUL
  cannot be stored in PostgreSQL). Each becomes U+FFFD; CR and CRLF become a newline.
* :func:`check_text` checks a field's type, emptiness and length and returns the
  clean text, or raises :class:`TextRefused` with a code and a sentence to show.
* :func:`check_customer_message` also refuses ``/EXTERNAL_…``: intents with that
  prefix are triggered by the web service only (e.g. "the agent has ended the chat").
* :func:`check_metadata` checks what a widget attaches to a message (size, nesting).
* :func:`check_conversation_id` checks an id a client chose (REST ``sender``): it is
  refused rather than changed, since it must round-trip exactly.
"""
from __future__ import annotations

import json
import re
from typing import Any, Dict

from bot.settings import Settings

# The one limit for a customer's message and an agent's reply, on every channel.
MAX_MESSAGE_CHARS: int = Settings.max_message_chars
# What a widget may attach to a message (socket.io customData, REST metadata): it is
# stored with every message in the tracker.
MAX_METADATA_CHARS = 4096
MAX_METADATA_DEPTH = 10
# Rasa's tracker store and event broker keep the conversation id in a VARCHAR(255).
MAX_CONVERSATION_ID_CHARS = 255

REPLACEMENT = "\ufffd"
_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    chr((plane << 16) | 0xFFFE) + chr((plane << 16) | 0xFFFF) for plane in range(17)
)
# Control characters but tab and newline (CR is turned into a newline first),
# surrogates (in a Python str every one is lone: JSON decoders join valid pairs),
# noncharacters.
_INVALID = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff{_NONCHARACTERS}]")
# Rasa reads "/name" as "intent name" (whitespace after the slash is stripped).
_RESERVED_INTENT = re.compile(r"/\s*EXTERNAL_", re.IGNORECASE)


class TextRefused(ValueError):
    """Input that is refused; ``code`` for programs, ``reason`` for people."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


def clean(text: str) -> str:
    """``text`` with invalid code points and stray control characters replaced."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _INVALID.sub(REPLACEMENT, text)


def is_clean(text: str) -> bool:
    return "\r" not in text and _INVALID.search(text) is None


def check_text(value: Any, max_chars: int = MAX_MESSAGE_CHARS, what: str = "The message",
               allow_empty: bool = False) -> str:
    """The clean text of ``value`` without surrounding whitespace, or TextRefused."""
    if not isinstance(value, str):
        raise TextRefused("malformed", f"{what} must be text.")
    text = clean(value).strip()
    if not text and not allow_empty:
        raise TextRefused("empty", f"{what} is empty.")
    if len(text) > max_chars:
        raise TextRefused("too_long", f"{what} is longer than {max_chars} characters.")
    return text


def check_customer_message(value: Any, max_chars: int = MAX_MESSAGE_CHARS) -> str:
    """A customer's message, from any channel."""
    text = check_text(value, max_chars, "The message")
    if _RESERVED_INTENT.match(text):
        raise TextRefused("reserved", "Messages starting with /EXTERNAL_ are reserved for the service.")
    return text


def check_metadata(value: Any, name: str = "metadata", max_chars: int = MAX_METADATA_CHARS,
                   max_depth: int = MAX_METADATA_DEPTH) -> Dict[str, Any]:
    """A message's metadata: an object (None or absent is ``{}``), at most ``max_depth``
    levels deep and ``max_chars`` long as JSON, its strings and keys cleaned."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):  # some widgets send it as a JSON string
        if len(value) > max_chars:
            raise TextRefused("too_long", f"'{name}' is limited to {max_chars} characters.")
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise TextRefused("malformed", f"'{name}' must be an object.") from None
    if not isinstance(value, dict):
        raise TextRefused("malformed", f"'{name}' must be an object.")
    if _depth_exceeds(value, max_depth):
        raise TextRefused("too_deep", f"'{name}' is nested more than {max_depth} levels deep.")
    try:
        size = len(json.dumps(value, ensure_ascii=False, allow_nan=False))
    except (TypeError, ValueError):  # not JSON data (NaN, or not from a JSON decoder)
        raise TextRefused("malformed", f"'{name}' must be JSON data.") from None
    if size > max_chars:
        raise TextRefused("too_long", f"'{name}' is limited to {max_chars} characters.")
    return _clean_json(value)


def check_conversation_id(value: Any, what: str = "sender") -> str:
    """An id a client chose, kept exactly as given: refused when it is not clean text
    of 1 to 255 characters (a whole number is taken as its digits, as Rasa does)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise TextRefused("bad_sender", f"'{what}' must be a non-empty text.")
    if len(value) > MAX_CONVERSATION_ID_CHARS:
        raise TextRefused("bad_sender", f"'{what}' is longer than {MAX_CONVERSATION_ID_CHARS} characters.")
    if not is_clean(value):
        raise TextRefused("bad_sender", f"'{what}' contains characters that are not allowed (control characters or invalid code points).")
    return value


def _depth_exceeds(value: Any, max_depth: int) -> bool:
    """Whether containers nest deeper than ``max_depth`` (iterative: no recursion limit)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _clean_json(value: Any) -> Any:
    """A copy with every string (and key) cleaned; call after the depth check."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean(str(k)): _clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean_json(v) for v in value]
    return value
