"""REST channel for other integrations (messaging-app bridges, IVR), Rasa's own protocol.

``POST /webhooks/rest/webhook`` with ``{"sender": "...", "message": "...", "metadata": {...}}``
answers with Rasa's list of bot messages (``?stream=true`` streams them), exactly as
``rasa.core.channels.rest.RestInput`` does for a valid request. What is checked first
(``bot.text_checks``), each failure a ``400 {"error": {"code", "message"}}`` that never
reaches the model:

* the body: UTF-8 JSON, an object, at most 1 MB (413 beyond);
* ``message``: text, not empty, at most ``Settings.max_message_chars`` characters
  (invalid code points and control characters replaced), not ``/EXTERNAL_…``;
* ``sender``: text (or a whole number) of 1 to 255 characters without control
  characters other than newline and tab or invalid code points, kept exactly as given;
  without one, Rasa's shared ``default`` conversation, as in Rasa;
* ``metadata``: an object of at most 4,096 characters as JSON, 10 levels deep.

``input_channel`` in the body is ignored: a client cannot pose as another channel.
"""
from __future__ import annotations

import json
import logging
from asyncio import CancelledError
from typing import Any, Awaitable, Callable, Dict, Optional, Text, Tuple

import rasa.utils.endpoints
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response
from sanic.request import Request

from bot.settings import Settings
from bot.text_checks import TextRefused, check_conversation_id, check_customer_message, check_metadata
from bot.quiet_errors import note_conversation

logger = logging.getLogger(__name__)

# Far more than the longest message (even as JSON \u escapes): what is over the
# message limit gets its 400 "too_long", and only absurd bodies a 413.
MAX_BODY_BYTES = 1024 * 1024


def _refusal(status: int, code: str, message: str) -> response.HTTPResponse:
    return response.json({"error": {"code": code, "message": message}}, status=status)


def parse_request(body: bytes, max_chars: int) -> Tuple[Optional[str], str, Dict[str, Any]]:
    """``(sender, message, metadata)`` of a webhook body, or TextRefused."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise TextRefused("malformed_json", "The body must be UTF-8 JSON.") from None
    except RecursionError:  # nested deeper than the JSON decoder goes
        raise TextRefused("too_deep", "The body is nested too deeply.") from None
    if not isinstance(data, dict):
        raise TextRefused(
            "malformed_json", 'The body must be a JSON object: {"sender": "...", "message": "..."}.'
        )
    sender = data.get("sender")
    if sender is not None:
        sender = check_conversation_id(sender, "sender")
    text = check_customer_message(data.get("message"), max_chars)
    metadata = check_metadata(data.get("metadata"), "metadata")
    return sender, text, metadata


class RestInput(RasaRestInput):
    """Drop-in replacement for Rasa's ``rest`` channel (same name and URL)."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "RestInput":
        channel = cls()
        channel.max_message_chars = Settings.from_env().max_message_chars
        return channel

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)
        max_chars = getattr(self, "max_message_chars", Settings.max_message_chars)

        @webhook.route("/", methods=["GET"])
        async def health(_request: Request) -> response.HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request):
            body = request.body or b""
            if len(body) > MAX_BODY_BYTES:
                return _refusal(413, "too_large", f"The body is limited to {MAX_BODY_BYTES} bytes.")
            try:
                sender_id, text, metadata = parse_request(body, max_chars)
            except TextRefused as refused:
                return _refusal(400, refused.code, refused.reason)
            note_conversation(sender_id)  # named by any error logged while it is handled
            if rasa.utils.endpoints.bool_arg(request, "stream", default=False):
                return response.stream(
                    self.stream_response(on_new_message, text, sender_id, self.name(), metadata),
                    content_type="text/event-stream",
                )
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(text, collector, sender_id, input_channel=self.name(), metadata=metadata)
                )
            except CancelledError:
                logger.error("a REST message of conversation %s timed out", sender_id)
            except Exception:
                logger.exception("a REST message failed")  # the customer's words stay out of the log
            return response.json(collector.messages)

        return webhook
