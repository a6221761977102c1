"""What staff do with a chat in hand besides answering it (issue #7): transfer it to a team or
to a named agent with a note, write private notes, and, as a supervisor, take it over,
reassign it or whisper to its agent.

None of these resumes the bot: the conversation stays paused, so every message the customer
writes meanwhile is logged by Rasa in order and reaches whoever holds the chat next through
the transcript (nothing is kept in flight here to be lost). The customer is told of a change
of hands politely, in their language; notes and whispers never reach them.
"""
from __future__ import annotations

import asyncio
import logging
from typing import List, Optional

from handoff_service.desk.ops_storage import MoveRepository, Note, NoteRepository
from handoff_service.desk.service import HandoffDesk, NotYourHandoff
from handoff_service.desk.storage import SKILL_GROUPS, Handoff, HandoffConflict
from handoff_service.rasa_client import RasaUnavailable
from handoff_service.storage import StaffUser

logger = logging.getLogger(__name__)

TEAM_NAMES = {
    "zh-Hans": {"billing": "账单", "technical": "技术支持", "sales": "销售", "general": "客服"},
    "zh-Hant": {"billing": "帳單", "technical": "技術支援", "sales": "銷售", "general": "客服"},
    "en": {"billing": "billing", "technical": "technical support", "sales": "sales", "general": "customer service"},
}
TRANSFERRED_TO_TEAM = {
    "zh-Hans": "为了更好地帮助您，我正在把您转接给{team}团队的同事，请稍候。您之前说的内容他们都能看到，不用重复。",
    "zh-Hant": "為了更好地協助您，我正在把您轉接給{team}團隊的同事，請稍候。您之前說的內容他們都看得到，不用重複。",
    "en": "To help you best, I'm transferring you to a colleague in our {team} team. Please hold on: "
          "they can see everything we've discussed, so you won't need to repeat yourself.",
}
TRANSFERRED_TO_AGENT = {
    "zh-Hans": "为了更好地帮助您，我正在把您转接给同事 {name}，请稍候。您之前说的内容 {name} 都能看到，不用重复。",
    "zh-Hant": "為了更好地協助您，我正在把您轉接給同事 {name}，請稍候。您之前說的內容 {name} 都看得到，不用重複。",
    "en": "To help you best, I'm transferring you to my colleague {name}. Please hold on: "
          "{name} can see everything we've discussed, so you won't need to repeat yourself.",
}
# A supervisor took the chat over, or gave it to another agent.
HANDED_OVER = {
    "zh-Hans": "您好，{name} 现在接手为您服务，之前的对话内容都已看到，请继续。",
    "zh-Hant": "您好，{name} 現在接手為您服務，之前的對話內容都已看到，請繼續。",
    "en": "Hello, {name} is now looking after your chat and can see everything so far. Please go on.",
}
MAX_NOTE_CHARS = 2000


class CannotMove(ValueError):
    """A transfer or reassignment to nowhere (no such agent, an offline one, the same one)."""


class SupervisorOnly(PermissionError):
    pass


class DeskOperations:
    def __init__(self, desk: HandoffDesk, notes: Optional[NoteRepository] = None,
                 moves: Optional[MoveRepository] = None):
        self.desk = desk
        self.notes = notes or NoteRepository(desk.handoffs.engine)
        self.moves = moves or MoveRepository(desk.handoffs.engine)

    # -- notes ----------------------------------------------------------------
    async def add_note(self, handoff: Handoff, author: StaffUser, text: str) -> Note:
        """A private note on a chat the author may see (the handler checks that)."""
        note = await asyncio.to_thread(self.notes.add, handoff, "note", author.username, author.display_name, text)
        await self.desk.publish(handoff, message={"type": "note", "note": note.as_json()})
        return note

    async def whisper(self, handoff_id: int, supervisor: StaffUser, text: str) -> Note:
        """A supervisor's word to the agent of an active chat, shown to that agent at once."""
        _supervisor(supervisor)
        handoff = await self._get(handoff_id)
        if handoff.status != "active" or not handoff.agent_username:
            raise HandoffConflict("Only a chat an agent is working on can be whispered to.")
        if handoff.agent_username == supervisor.username:
            raise HandoffConflict("This chat is yours: write a note instead.")
        note = await asyncio.to_thread(self.notes.add, handoff, "whisper", supervisor.username,
                                       supervisor.display_name, text, handoff.agent_username)
        await self.desk.publish(handoff, message={"type": "note", "note": note.as_json()})
        return note

    async def notes_for(self, handoff: Handoff) -> List[Note]:
        return await asyncio.to_thread(self.notes.for_conversation, handoff.conversation_id)

    # -- moves ----------------------------------------------------------------
    async def transfer(self, handoff_id: int, by: StaffUser, note: str, to_skill_group: Optional[str] = None,
                       to_agent: Optional[str] = None) -> Handoff:
        """Hand an active chat to a team (it waits in that queue, routed as usual) or to a
        named agent (theirs at once), with a note the next holder reads first."""
        if (to_skill_group is None) == (to_agent is None):
            raise CannotMove("Transfer to a team or to an agent (one of the two).")
        if to_skill_group is not None and to_skill_group not in SKILL_GROUPS:
            raise CannotMove(f"The team must be one of {', '.join(SKILL_GROUPS)}.")
        handoff = await self._get(handoff_id)
        self._holder_or_supervisor(handoff, by)
        target = await self._target_agent(to_agent, handoff) if to_agent else None
        moved, saved = await asyncio.to_thread(
            self.moves.move, handoff, "transferred", to_agent=to_agent, to_skill_group=to_skill_group,
            transfer_by=by.username, note={"author": by.username, "author_name": by.display_name, "text": note})
        logger.info("handoff %s transferred by %s to %s", handoff.id, by.username, to_agent or to_skill_group)
        if target is not None:
            text = _say_in(TRANSFERRED_TO_AGENT, moved.language, name=target.display_name)
        else:
            team = TEAM_NAMES.get(moved.language, TEAM_NAMES["en"]).get(to_skill_group, to_skill_group)
            text = _say_in(TRANSFERRED_TO_TEAM, moved.language, team=team)
        await self._tell(moved, by, text, "transferred")
        await self.desk.publish(moved, handoff)
        if saved is not None:
            await self.desk.publish(moved, handoff, message={"type": "note", "note": saved.as_json()})
        self.desk.dispatch_soon()  # a seat is free, and a chat waits in a queue again
        return moved

    async def takeover(self, handoff_id: int, supervisor: StaffUser) -> Handoff:
        """The supervisor becomes the chat's agent (from the queue, or from another agent)."""
        _supervisor(supervisor)
        handoff = await self._get(handoff_id)
        if handoff.status == "queued":
            return await self.desk.accept(handoff_id, supervisor)
        if handoff.status != "active":
            raise HandoffConflict(f"This chat is already {handoff.status}.")
        if handoff.agent_username == supervisor.username:
            return handoff
        return await self._hand_over(handoff, supervisor, supervisor, "taken_over")

    async def reassign(self, handoff_id: int, supervisor: StaffUser, to_agent: str) -> Handoff:
        """The supervisor gives the chat to another agent (queued or active)."""
        _supervisor(supervisor)
        handoff = await self._get(handoff_id)
        if handoff.status not in ("queued", "active"):
            raise HandoffConflict(f"This chat is already {handoff.status}.")
        target = await self._target_agent(to_agent, handoff)
        if handoff.status == "queued":
            return await self.desk.accept(handoff_id, target)  # the target agent claims it, greeted by name
        return await self._hand_over(handoff, supervisor, target, "reassigned")

    async def _hand_over(self, handoff: Handoff, by: StaffUser, to: StaffUser, reason: str) -> Handoff:
        moved, _ = await asyncio.to_thread(self.moves.move, handoff, reason, to_agent=to.username)
        logger.info("handoff %s %s by %s to %s", handoff.id, reason, by.username, to.username)
        await self._tell(moved, to, _say_in(HANDED_OVER, moved.language, name=to.display_name), reason)
        await self.desk.publish(moved, handoff)
        self.desk.dispatch_soon()  # the one who had it has a seat free
        return moved

    # -- helpers --------------------------------------------------------------
    async def _get(self, handoff_id: int) -> Handoff:
        handoff = await asyncio.to_thread(self.desk.handoffs.get, handoff_id)
        if handoff is None:
            raise LookupError(handoff_id)
        return handoff

    @staticmethod
    def _holder_or_supervisor(handoff: Handoff, by: StaffUser) -> None:
        if handoff.status != "active":
            raise HandoffConflict("Accept the chat before transferring it." if handoff.status == "queued"
                                  else f"This chat is already {handoff.status}.")
        if handoff.agent_username != by.username and not by.has_role("supervisor"):
            raise NotYourHandoff(f"This chat belongs to {handoff.agent_username}.")

    async def _target_agent(self, username: str, handoff: Handoff) -> StaffUser:
        user = await asyncio.to_thread(self.desk.staff.get, username)
        if user is None or not user.has_role("agent"):
            raise CannotMove("No agent has that username.")
        if user.username == handoff.agent_username:
            raise CannotMove("This chat is already theirs.")
        state = await asyncio.to_thread(self.desk.routing.agent, user.username)
        if state.status == "offline":
            # Nobody would answer the customer: choose someone online, or the team's queue.
            raise CannotMove(f"{user.display_name} is offline.")
        return user

    async def _tell(self, handoff: Handoff, speaker: StaffUser, text: str, notice: str) -> None:
        if not handoff.receives_live_replies:
            return
        try:
            await self.desk._say(handoff, speaker, text, notice=notice)
        except RasaUnavailable:  # the chat has moved either way; the notice is a courtesy
            logger.warning("could not tell the customer of handoff %s that it moved", handoff.id)


def _supervisor(user: StaffUser) -> None:
    if not user.has_role("supervisor"):
        raise SupervisorOnly("Only a supervisor can do this.")


def _say_in(texts: dict, language: str, **values) -> str:
    return texts.get(language, texts["en"]).format(**values)

