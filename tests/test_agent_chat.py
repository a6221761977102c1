"""bot/agent_chat.py: which lines skip the NLU while an agent holds the chat."""
import asyncio

import pytest
from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import (ActionExecuted, BotUttered, ConversationPaused, ConversationResumed,
                                     UserUttered)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.agent_chat import agent_holds, skip_understanding_while_an_agent_chats, unparsed


def tracker(*events):
    return DialogueStateTracker.from_events("c1", [ActionExecuted("action_listen"), UserUttered("转人工"), *events])


def said(status=None, **metadata):
    return BotUttered("…", metadata={**metadata, **({"handoff_status": status} if status else {})})


@pytest.mark.parametrize("events, holds", [
    ((), False),                                                           # never handed off
    ((ConversationPaused(),), False),                                      # queued, nothing said yet
    ((ConversationPaused(), said("queued", notice="wait_update")), False),  # a wait update
    ((ConversationPaused(), said("active", notice="agent_joined")), True),  # the agent joined
    ((ConversationPaused(), said("active"), said(sender="bot")), True),     # a message without the key
    ((ConversationPaused(), said("active"), said("queued", notice="transferred")), False),  # back to a queue
    ((ConversationPaused(), said("active"), ConversationResumed()), False),  # closed: the bot again
    ((said("active"), ConversationResumed(), ConversationPaused()), False),  # an older handoff's agent
])
def test_who_holds_the_chat(events, holds):
    assert agent_holds(tracker(*events)) is holds


@pytest.mark.parametrize("text, window, language", [
    ("我的宽带断了", None, "zh-Hans"), ("我的寬頻斷了", None, "zh-Hant"), ("my broadband is down", None, "en"),
    ("12345", "zh-Hant", "zh-Hant"), ("12345", None, None),
])
def test_a_line_to_the_agent_keeps_its_language_and_has_no_intent(text, window, language):
    parse = unparsed(UserMessage(text, metadata={"language": window} if window else None))
    assert parse["text"] == text and parse["intent"] == {"name": None, "confidence": 0.0}
    assert [e["value"] for e in parse["entities"] if e["entity"] == "language"] == ([language] if language else [])


def test_the_model_is_asked_unless_an_agent_holds_the_chat(monkeypatch):
    asked = []

    async def model(self, message, tracker=None, only_output_properties=True):
        asked.append(message.text)
        return {"text": message.text, "intent": {"name": "faq", "confidence": 0.9}, "entities": []}

    monkeypatch.setattr(MessageProcessor, "parse_message", model)
    skip_understanding_while_an_agent_chats()
    processor = object.__new__(MessageProcessor)
    held = tracker(ConversationPaused(), said("active"))
    queued = tracker(ConversationPaused())
    parse = lambda text, t: asyncio.run(MessageProcessor.parse_message(processor, UserMessage(text), t))  # noqa: E731
    assert parse("我的宽带断了", held)["intent"]["name"] is None
    assert parse("取消排队", queued)["intent"]["name"] == "faq"
    assert parse("/restart", held)["intent"]["name"] == "faq"  # payloads and /intents as before
    assert parse("hello", None)["intent"]["name"] == "faq"
    assert asked == ["取消排队", "/restart", "hello"]
