"""Recent messages of each web-chat conversation, numbered, for browsers that come back.

A customer's socket drops (a phone changes network, a laptop sleeps) or the page is
reloaded while the bot or an agent keeps talking: those messages went to an empty
socket.io room. Every message the channel sends or receives is also kept here with a
sequence number; a browser that asks for the session again says the last number it
has shown and gets the rest. Kept in memory by the Rasa process, bounded per
conversation and in the number of conversations.
"""
from __future__ import annotations

from collections import OrderedDict, deque
from typing import Any, Deque, Dict, List, Optional

from bot.privacy import mask_secrets
from bot.secret_prompts import SECRET_SLOTS

# Rasa's name for the response that asks for a slot (utter_ask_<slot>) → the secret it asks for.
SECRET_PROMPTS = {f"utter_ask_{slot}": kind for slot, kind in SECRET_SLOTS.items()}


# A kept message's text is masked when it is read back (``since``: a returning page), not
# when it is kept: the recogniser costs about a millisecond of the event loop a line, and
# almost no message is ever read back. What is not masked yet carries the secret kind the
# customer was answering (``_MASK_AS``; None for the bot's and agents' lines).
_MASK_AS = "_mask_as"


class _Conversation:
    __slots__ = ("last_seq", "messages", "secret_expected")

    def __init__(self, size: int):
        self.last_seq = 0
        self.messages: Deque[Dict[str, Any]] = deque(maxlen=size)
        self.secret_expected: Optional[str] = None  # the secret kind the bot just asked for


class ConversationHistory:
    # 30 messages of each of 3,000 recent conversations: about 70 MB in the Rasa process when
    # all are full of long messages with buttons (measured), far less in practice.
    def __init__(self, per_conversation: int = 30, conversations: int = 3_000):
        self.per_conversation = per_conversation
        self.max_conversations = conversations
        self._conversations: "OrderedDict[str, _Conversation]" = OrderedDict()

    def _get(self, conversation_id: str) -> _Conversation:
        conversation = self._conversations.get(conversation_id)
        if conversation is None:
            conversation = self._conversations[conversation_id] = _Conversation(self.per_conversation)
            while len(self._conversations) > self.max_conversations:
                self._conversations.popitem(last=False)
        self._conversations.move_to_end(conversation_id)
        return conversation

    def record_bot(self, conversation_id: str, message: Dict[str, Any]) -> int:
        """Keep a message the bot (or an agent) sent; returns its number. An agent may
        repeat what a customer typed: secrets in it are masked too."""
        message = dict(message)
        if isinstance(message.get("text"), str):
            message[_MASK_AS] = None
        return self._record(conversation_id, message)

    def record_customer(self, conversation_id: str, text: str) -> int:
        """Keep what the customer wrote, its secrets masked (a bare number is one when
        it answers a secret prompt)."""
        conversation = self._get(conversation_id)
        return self._record(conversation_id, {"text": text, "sender": "customer",
                                              _MASK_AS: conversation.secret_expected})

    def asked(self, conversation_id: str, response_name: str) -> None:
        """Note which response the bot sent last: after a secret prompt, the next answer
        is read as that secret."""
        self._get(conversation_id).secret_expected = SECRET_PROMPTS.get(response_name)

    def since(self, conversation_id: str, seq: int) -> List[Dict[str, Any]]:
        conversation = self._conversations.get(conversation_id)
        if conversation is None:
            return []
        missed = [m for m in conversation.messages if m["seq"] > seq]
        for message in missed:
            if _MASK_AS in message:  # masked once, in place
                message["text"] = mask_secrets(message["text"], expecting=message.pop(_MASK_AS))
        return [dict(m) for m in missed]

    def _record(self, conversation_id: str, message: Dict[str, Any]) -> int:
        conversation = self._get(conversation_id)
        conversation.last_seq += 1
        message["seq"] = conversation.last_seq
        conversation.messages.append(message)
        return conversation.last_seq
