"""What agents do with a handoff: take it, answer the customer, give it back to the bot."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, Optional, Tuple

from handoff_service.hub import AgentHub
from handoff_service.rasa_client import RasaClient, RasaUnavailable
from handoff_service.storage import Handoff, HandoffConflict, HandoffRepository, StaffUser

logger = logging.getLogger(__name__)

AGENT_JOINED = {
    "zh-Hans": "人工客服 {name} 已接入，请问有什么可以帮您？",
    "zh-Hant": "人工客服 {name} 已接入，請問有什麼可以幫您？",
    "en": "{name} from our support team has joined the chat. How can I help?",
}
HANDOFF_CLOSED_INTENT = "EXTERNAL_handoff_closed"
MAX_REPLY_CHARS = 2000


class NotYourHandoff(PermissionError):
    pass


class ReplyInProgress(RuntimeError):
    """The same reply is being sent by another request right now."""


class HandoffDesk:
    def __init__(self, handoffs: HandoffRepository, rasa: RasaClient, hub: AgentHub):
        self.handoffs = handoffs
        self.rasa = rasa
        self.hub = hub

    async def request(self, conversation_id: str, reason: str, language: str, context: Dict[str, Any]) -> Tuple[Handoff, int, bool]:
        handoff, created = await asyncio.to_thread(self.handoffs.create, conversation_id, reason, language, context)
        position = await asyncio.to_thread(self.handoffs.queue_position, handoff)
        if created:
            logger.info("handoff %s queued (reason %s, language %s)", handoff.id, reason, language)
            await self.hub.broadcast({"type": "handoff", "handoff": handoff.as_json()})
        return handoff, position, created

    async def accept(self, handoff_id: int, agent: StaffUser) -> Handoff:
        handoff, newly_accepted = await asyncio.to_thread(self.handoffs.accept, handoff_id, agent.username)
        if newly_accepted:
            text = AGENT_JOINED.get(handoff.language, AGENT_JOINED["en"]).format(name=agent.display_name)
            try:
                await self._say(handoff, agent, text, notice="agent_joined")
            except RasaUnavailable:  # the chat is the agent's either way; the notice is a courtesy
                logger.warning("could not tell the customer that handoff %s was accepted", handoff.id)
        await self.hub.broadcast({"type": "handoff", "handoff": handoff.as_json()})
        return handoff

    async def reply(self, handoff_id: int, agent: StaffUser, text: str, client_message_id: Optional[str] = None) -> bool:
        """Send the agent's words to the customer; False when this reply id was delivered already.

        With an id, each reply reaches the customer once however often it is
        requested: a repeat of a sent one is acknowledged, a repeat of one whose
        earlier try failed or timed out is sent only if the conversation lacks it.
        """
        handoff = await self._own_active(handoff_id, agent)
        if client_message_id is None:
            await self._say(handoff, agent, text)
            return True
        outcome = await asyncio.to_thread(self.handoffs.claim_reply, handoff_id, client_message_id)
        if outcome == "sent":
            return False
        if outcome == "in_progress":
            raise ReplyInProgress("This reply is still being sent; wait a moment.")
        try:
            if outcome == "check" and client_message_id in await self.rasa.bot_message_ids(handoff.conversation_id):
                await asyncio.to_thread(self.handoffs.finish_reply, handoff_id, client_message_id, True)
                return False
            await self._say(handoff, agent, text, client_message_id=client_message_id)
        except BaseException:
            await asyncio.to_thread(self.handoffs.finish_reply, handoff_id, client_message_id, False)
            raise
        await asyncio.to_thread(self.handoffs.finish_reply, handoff_id, client_message_id, True)
        return True

    async def close(self, handoff_id: int, agent: StaffUser) -> Handoff:
        handoff = await asyncio.to_thread(self.handoffs.get, handoff_id)
        if handoff is None:
            raise LookupError(handoff_id)
        if handoff.status == "closed":
            raise HandoffConflict("This chat is already closed.")
        self._check_owner(handoff, agent)
        # Resume first: if Rasa is unreachable the handoff stays open and can be closed again.
        # No action_listen was logged while paused; without one, rules for the next
        # intent do not match (they expect "listen, then intent").
        await self.rasa.append_events(
            handoff.conversation_id, [{"event": "resume"}, {"event": "action", "name": "action_listen"}]
        )
        closed = await asyncio.to_thread(self.handoffs.close, handoff_id, agent.username)
        try:
            await self.rasa.trigger_intent(handoff.conversation_id, HANDOFF_CLOSED_INTENT)
        except RasaUnavailable:  # the bot is resumed either way; the notice is a courtesy
            logger.warning("could not send the closing notice for handoff %s", handoff_id)
        await self.hub.broadcast({"type": "handoff", "handoff": closed.as_json()})
        return closed

    async def _own_active(self, handoff_id: int, agent: StaffUser) -> Handoff:
        handoff = await asyncio.to_thread(self.handoffs.get, handoff_id)
        if handoff is None:
            raise LookupError(handoff_id)
        if handoff.status != "active":
            raise HandoffConflict("Accept the chat before replying." if handoff.status == "queued" else "This chat is closed.")
        self._check_owner(handoff, agent)
        return handoff

    @staticmethod
    def _check_owner(handoff: Handoff, agent: StaffUser) -> None:
        if handoff.agent_username and handoff.agent_username != agent.username and not agent.has_role("supervisor"):
            raise NotYourHandoff(f"This chat belongs to {handoff.agent_username}.")

    async def _say(self, handoff: Handoff, agent: StaffUser, text: str, notice: str = "",
                   client_message_id: Optional[str] = None) -> None:
        metadata = {"sender": "agent", "agent_name": agent.display_name, "agent_username": agent.username}
        if notice:
            metadata["notice"] = notice
        if client_message_id:
            metadata["client_message_id"] = client_message_id
        await self.rasa.append_events(
            handoff.conversation_id, [{"event": "bot", "text": text, "metadata": metadata}]
        )
