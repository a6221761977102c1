"""What agents do with a handoff: take it, answer the customer, give it back to the bot."""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from typing import Any, Dict, Optional, Tuple

from bot.text_checks import MAX_MESSAGE_CHARS
from handoff_service.hub import AgentHub
from handoff_service.rasa_client import RasaClient, RasaUnavailable
from handoff_service.desk.audience import AudienceRepository
from handoff_service.desk.hours import BusinessHours
from handoff_service.desk.routing import RoutingRepository
from handoff_service.desk.storage import Handoff, HandoffConflict, HandoffRepository
from handoff_service.desk.waits import WaitEstimate, changed_materially, estimate
from handoff_service.storage import StaffRepository, StaffUser

logger = logging.getLogger(__name__)

AGENT_JOINED = {
    "zh-Hans": "人工客服 {name} 已接入，请问有什么可以帮您？",
    "zh-Hant": "人工客服 {name} 已接入，請問有什麼可以幫您？",
    "en": "{name} from our support team has joined the chat. How can I help?",
}
HANDOFF_CLOSED_INTENT = "EXTERNAL_handoff_closed"
HANDOFF_CANCELLED_INTENT = "EXTERNAL_handoff_cancelled"
# Told when a queued customer's position or expected wait changes materially (desk/waits.py).
WAIT_UPDATE = {
    "zh-Hans": "您现在排在第 {position} 位，预计还需等待约 {minutes} 分钟。",
    "zh-Hant": "您現在排在第 {position} 位，預計還需等待約 {minutes} 分鐘。",
    "en": "You are now number {position} in the queue; the expected wait is about {minutes} min.",
}
WAIT_UPDATE_NO_AGENT = {
    "zh-Hans": "您现在排在第 {position} 位。目前暂无可接待的客服，您也可以选择回电或留言。",
    "zh-Hant": "您現在排在第 {position} 位。目前暫無可接待的客服，您也可以選擇回電或留言。",
    "en": "You are now number {position} in the queue. No agent is free right now; you can also ask for a callback or leave a message.",
}


class NotYourHandoff(PermissionError):
    pass


class ReplyInProgress(RuntimeError):
    """The same reply is being sent by another request right now."""


class CannotReachCustomer(RuntimeError):
    """The customer's channel cannot receive a pushed message (e.g. REST)."""


class HandoffDesk:
    def __init__(self, handoffs: HandoffRepository, rasa: RasaClient, hub: AgentHub,
                 max_reply_chars: int = MAX_MESSAGE_CHARS, routing: Optional[RoutingRepository] = None,
                 staff: Optional[StaffRepository] = None, hours: Optional[BusinessHours] = None,
                 default_handle_seconds: float = 300.0, long_wait_seconds: float = 600.0):
        self.handoffs = handoffs
        self.rasa = rasa
        self.hub = hub
        # Replies are checked (bot.text_checks) against the limit of customers' messages.
        self.max_reply_chars = max_reply_chars
        self.routing = routing or RoutingRepository(handoffs.engine)
        self.staff = staff or StaffRepository(handoffs.engine)
        self.hours = hours or BusinessHours({}, "UTC")
        self.default_handle_seconds = default_handle_seconds
        self.long_wait_seconds = long_wait_seconds
        # The last position/wait each queued customer was told (a restart tells once more).
        self._told: Dict[int, WaitEstimate] = {}
        self._dispatching = asyncio.Lock()
        self._background: set = set()
        self.audience = AudienceRepository(handoffs.engine)

    async def publish(self, handoff: Handoff, before: Optional[Handoff] = None, message: Optional[dict] = None) -> None:
        """Tell the consoles that may see this chat (desk/audience.py) of its new state, or
        send them ``message`` about it (a note, a whisper)."""
        audience = await asyncio.to_thread(self.audience.of, self.hub.usernames(), handoff, before)
        await self.hub.broadcast(message or {"type": "handoff", "handoff": handoff.as_json()}, audience)

    async def publish_ticket(self, ticket: Any) -> None:
        """A callback or message ticket, new or done: to the consoles that work its skill group."""
        audience = await asyncio.to_thread(self.audience.of_skill_group, self.hub.usernames(), ticket.skill_group)
        shown = await asyncio.to_thread(ticket.as_json)  # the privacy recogniser masks the message: off the loop
        await self.hub.broadcast({"type": "ticket", "ticket": shown}, audience)

    async def request(self, conversation_id: str, reason: str, language: str, context: Dict[str, Any],
                      input_channel: Optional[str] = None, skill_group: str = "general", priority: int = 0,
                      customer_ref: Optional[str] = None) -> Tuple[Handoff, WaitEstimate, bool]:
        handoff, created = await asyncio.to_thread(
            self.handoffs.create, conversation_id, reason, language, context, input_channel,
            skill_group, priority, customer_ref,
        )
        wait = await self.estimate(handoff)
        self._told[handoff.id] = wait  # the action tells the customer this figure
        if created:
            logger.info("handoff %s queued (reason %s, skill %s, language %s, priority %s)",
                        handoff.id, reason, skill_group, language, priority)
            await self.publish(handoff)
            # Routed after this answer: the action server is waiting for it while Rasa holds
            # the conversation's lock, and the agent's greeting must follow the queue notice.
            self.dispatch_soon()
        return handoff, wait, created

    async def settle(self) -> None:
        """Wait for the dispatches already started (tests and shutdown want a quiet desk)."""
        await asyncio.gather(*list(self._background), return_exceptions=True)

    async def stop(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    async def estimate(self, handoff: Handoff) -> WaitEstimate:
        def compute() -> WaitEstimate:
            position = self.routing.queue_position(handoff) if handoff.status == "queued" else 0
            agents = self.routing.qualified_online(handoff.skill_group, handoff.language)
            # Free seats count: a customer asking while an agent is free is served at the
            # next dispatch, not after a seat frees (bench/desk.py measured that bias).
            # A group with no closed chat yet borrows the whole centre's recent handle times:
            # closer to its own than the configured default (the cold start, docs/desk.md).
            handle_seconds = (self.routing.recent_handle_seconds(handoff.skill_group)
                              or self.routing.recent_handle_seconds(None))
            return estimate(
                position, sum(a.capacity for a in agents), len(agents),
                handle_seconds, self.default_handle_seconds,
                self.long_wait_seconds, open_now=self.hours.is_open(handoff.skill_group),
                free_seats=sum(a.free_seats for a in agents),
            )
        return await asyncio.to_thread(compute)

    def dispatch_soon(self) -> None:
        task = asyncio.get_running_loop().create_task(self.dispatch())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def dispatch(self) -> list:
        """Give waiting chats to free qualified agents, greet those customers, and tell the
        others still waiting their new position/wait when it changed materially."""
        async with self._dispatching:
            assigned = await asyncio.to_thread(self.routing.route)
            for handoff in assigned:
                self._told.pop(handoff.id, None)
                user = await asyncio.to_thread(self.staff.get, handoff.agent_username)
                agent = user or StaffUser(0, handoff.agent_username, handoff.agent_username, ("agent",))
                await self._greet(handoff, agent)
                await self.publish(handoff, _waiting(handoff))
            await self._tell_waits()
            return assigned

    async def _tell_waits(self) -> None:
        for handoff in await asyncio.to_thread(self.routing.queued):
            wait = await self.estimate(handoff)
            if not changed_materially(self._told.get(handoff.id), wait) or not handoff.receives_live_replies:
                continue
            self._told[handoff.id] = wait
            texts = WAIT_UPDATE if wait.minutes is not None else WAIT_UPDATE_NO_AGENT
            text = texts.get(handoff.language, texts["en"]).format(position=wait.position, minutes=wait.minutes)
            try:
                await self.rasa.append_events(handoff.conversation_id, [{"event": "bot", "text": text, "metadata": {
                    "notice": "wait_update", "wait": wait.as_json(), "handoff_status": "queued"}}])
            except RasaUnavailable:
                logger.warning("could not tell handoff %s its new wait", handoff.id)

    async def cancel(self, conversation_id: str, status: str = "cancelled",
                     then_intent: str = HANDOFF_CANCELLED_INTENT) -> Optional[Handoff]:
        """The customer went back to the bot (``cancelled``; the bot then handles
        ``then_intent``: says so, or asks for a callback's number) or left (``abandoned``)."""
        handoff = await asyncio.to_thread(self.handoffs.open_for, conversation_id)
        if handoff is None or handoff.status != "queued":
            return None
        if status == "cancelled":
            # Resume first: if Rasa is unreachable the handoff stays queued and the stream
            # retries this event. (An agent accepting in the same instant keeps the chat.)
            await self.rasa.append_events(
                conversation_id, [{"event": "resume"}, {"event": "action", "name": "action_listen"}])
        left = await asyncio.to_thread(self.handoffs.leave_queue, handoff.id, status)
        if left is None:
            return None
        self._told.pop(left.id, None)
        logger.info("handoff %s %s by the customer", left.id, status)
        if status == "cancelled":
            try:
                await self.rasa.trigger_intent(conversation_id, then_intent)
            except RasaUnavailable:
                logger.warning("could not confirm the cancelling of handoff %s", left.id)
        await self.publish(left, handoff)
        self.dispatch_soon()  # the others move up
        return left

    async def abandon_left(self, conversation_id: str, left_at: dt.datetime) -> Optional[Handoff]:
        """The customer closed the chat while queued and did not come back in time
        (``desk.presence``): ``abandoned``. The bot takes the conversation again, for
        when they return; nothing is said (nobody is there to read it)."""
        handoff = await asyncio.to_thread(self.handoffs.open_for, conversation_id)
        if handoff is None or handoff.status != "queued" or handoff.created_at > left_at:
            return None  # served, gone already, or asked for after they left (another tab)
        left = await asyncio.to_thread(self.handoffs.leave_queue, handoff.id, "abandoned")
        if left is None:
            return None
        self._told.pop(left.id, None)
        logger.info("handoff %s abandoned: the customer closed the chat and did not come back", left.id)
        try:
            await self.rasa.append_events(
                conversation_id, [{"event": "resume"}, {"event": "action", "name": "action_listen"}])
        except RasaUnavailable:  # a new Rasa session (after the expiry) resumes it anyway
            logger.warning("could not give abandoned handoff %s back to the bot", left.id)
        await self.publish(left, handoff)
        self.dispatch_soon()  # the others move up
        return left

    async def rate(self, conversation_id: str, rating: int, comment: Optional[str] = None) -> Optional[Handoff]:
        return await asyncio.to_thread(self.handoffs.rate, conversation_id, rating, comment)

    async def set_agent_status(self, agent: StaffUser, **changes) -> Any:
        state = await asyncio.to_thread(self.routing.set_agent, agent.username, **changes)
        await self.hub.broadcast({"type": "agent", "agent": state.as_json()})
        self.dispatch_soon()
        return state

    async def accept(self, handoff_id: int, agent: StaffUser) -> Handoff:
        """The agent claims a chat from the queue (whatever their load: they chose to)."""
        # Under the dispatcher's lock: a wait update being sent to this customer finishes
        # before the agent's greeting, and none follows it ("you are number 1" after "Amy joined").
        async with self._dispatching:
            handoff, newly_accepted = await asyncio.to_thread(self.routing.claim, handoff_id, agent.username)
            if newly_accepted:
                self._told.pop(handoff.id, None)
                await self._greet(handoff, agent)
        await self.publish(handoff, _waiting(handoff))
        if newly_accepted:
            self.dispatch_soon()  # the others move up
        return handoff

    async def _greet(self, handoff: Handoff, agent: StaffUser) -> None:
        text = AGENT_JOINED.get(handoff.language, AGENT_JOINED["en"]).format(name=agent.display_name)
        try:
            await self._say(handoff, agent, text, notice="agent_joined")
        except RasaUnavailable:  # the chat is the agent's either way; the notice is a courtesy
            logger.warning("could not tell the customer that handoff %s was accepted", handoff.id)

    async def reply(self, handoff_id: int, agent: StaffUser, text: str, client_message_id: Optional[str] = None) -> bool:
        """Send the agent's words to the customer; False when this reply id was delivered already.

        With an id, each reply reaches the customer once however often it is
        requested: a repeat of a sent one is acknowledged, a repeat of one whose
        earlier try failed or timed out is sent only if the conversation lacks it.
        """
        handoff = await self._own_active(handoff_id, agent)
        if not handoff.receives_live_replies:
            # Rasa would accept it and the customer would never see it: say so instead.
            raise CannotReachCustomer(
                f"This customer wrote through the {handoff.input_channel} channel, which cannot receive live replies."
            )
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

    async def close(self, handoff_id: int, agent: StaffUser, disposition: Optional[str] = None,
                    tags: Optional[list] = None) -> Handoff:
        handoff = await asyncio.to_thread(self.handoffs.get, handoff_id)
        if handoff is None:
            raise LookupError(handoff_id)
        if handoff.status not in ("queued", "active"):
            raise HandoffConflict(f"This chat is already {handoff.status}.")
        self._check_owner(handoff, agent)
        # Resume first: if Rasa is unreachable the handoff stays open and can be closed again.
        # No action_listen was logged while paused; without one, rules for the next
        # intent do not match (they expect "listen, then intent").
        await self.rasa.append_events(
            handoff.conversation_id, [{"event": "resume"}, {"event": "action", "name": "action_listen"}]
        )
        closed = await asyncio.to_thread(self.handoffs.close, handoff_id, agent.username, disposition, tags)
        try:
            await self.rasa.trigger_intent(handoff.conversation_id, HANDOFF_CLOSED_INTENT)
        except RasaUnavailable:  # the bot is resumed either way; the notice is a courtesy
            logger.warning("could not send the closing notice for handoff %s", handoff_id)
        await self.publish(closed, handoff)
        self.dispatch_soon()  # a seat is free
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
        # handoff_status: whether an agent holds the chat now (active) or it waits in a queue
        # (queued, after a transfer to a team); Rasa skips understanding the customer's
        # lines while an agent holds it (bot/agent_chat.py).
        metadata = {"sender": "agent", "agent_name": agent.display_name, "agent_username": agent.username,
                    "handoff_status": handoff.status}
        if notice:
            metadata["notice"] = notice
        if client_message_id:
            metadata["client_message_id"] = client_message_id
        await self.rasa.append_events(
            handoff.conversation_id, [{"event": "bot", "text": text, "metadata": metadata}]
        )


def _waiting(handoff: Handoff) -> Handoff:
    """The chat as it was in its queue, just before an agent took it (its queue hears it went)."""
    return dataclasses.replace(handoff, status="queued", agent_username=None)
