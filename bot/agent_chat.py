"""While an agent holds the chat, Rasa does not try to understand the customer.

A handed-off conversation is paused: Rasa logs each customer line and predicts nothing.
It still ran every line through the NLU model (jieba, the featurizers and DIET), about
10 ms of the one event loop per line, for intents nobody reads while a person answers.
With 50 chats held by agents and their customers writing at once, the lines queued
behind each other's inference for most of a second before the agents saw them
(docs/desk.md, "Handoff latency").

So a line of a paused conversation whose agent has joined is logged with no intent
(``{"name": None, "confidence": 0.0}``, the shape Rasa itself gives a message it cannot
parse) and the language entity the ``LanguageDetector`` would have added (the transcript
and the dashboard read it). The desk says who holds the chat in the metadata of every
message it sends as the bot: ``handoff_status`` is ``"active"`` once an agent has the
chat and ``"queued"`` while it waits (wait updates, a transfer to a team's queue). The
newest such message since the pause decides. Everything else is understood as before:

* a queued customer, so "取消排队" / "stop waiting" still leaves the queue
  (``handoff_service/desk/stream.py`` reads the intent);
* a conversation that is not paused, or was paused without the desk saying more;
* a button's payload or a typed ``/intent`` (``/restart`` still restarts).
"""
from __future__ import annotations

from typing import Any, Dict, Optional

from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import BotUttered, ConversationPaused, ConversationResumed, Restarted
from rasa.shared.core.trackers import DialogueStateTracker

from bot.nlu.language import SUPPORTED_LANGUAGES, detect_language

# The metadata key the desk (handoff_service/desk/service.py) puts on the bot messages it sends.
HANDOFF_STATUS = "handoff_status"


def agent_holds(tracker: DialogueStateTracker) -> bool:
    """An agent has joined the conversation's current handoff (and it is still paused)."""
    if not tracker.is_paused():
        return False
    for event in reversed(tracker.events):
        if isinstance(event, (ConversationPaused, ConversationResumed, Restarted)):
            return False  # paused and nothing said since: queued
        if isinstance(event, BotUttered):
            status = (event.metadata or {}).get(HANDOFF_STATUS)
            if status is not None:
                return status == "active"
    return False


def unparsed(message: UserMessage) -> Dict[str, Any]:
    """What Rasa logs for a line addressed to the agent: the text, its language, no intent."""
    text = message.text or ""
    window = (message.metadata or {}).get("language") if isinstance(message.metadata, dict) else None
    language = detect_language(text) or (window if window in SUPPORTED_LANGUAGES else None)
    entities = [{"entity": "language", "value": language, "start": 0, "end": len(text),
                 "extractor": "LanguageDetector"}] if language else []
    return {"text": text, "intent": {"name": None, "confidence": 0.0}, "entities": entities, "intent_ranking": []}


def skip_understanding_while_an_agent_chats() -> None:
    """Wrap ``MessageProcessor.parse_message`` (Rasa 3.6) as the module docstring says."""
    parse_message = MessageProcessor.parse_message
    if getattr(parse_message, "skips_agent_chats", False):
        return

    async def parse_unless_an_agent_chats(self: MessageProcessor, message: UserMessage,
                                          tracker: Optional[DialogueStateTracker] = None,
                                          only_output_properties: bool = True) -> Dict[str, Any]:
        if tracker is not None and not (message.text or "").startswith("/") and agent_holds(tracker):
            return unparsed(message)
        return await parse_message(self, message, tracker, only_output_properties)

    parse_unless_an_agent_chats.skips_agent_chats = True
    MessageProcessor.parse_message = parse_unless_an_agent_chats
