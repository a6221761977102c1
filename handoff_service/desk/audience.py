"""Who among the connected consoles may be told about a chat (the live feed's audience).

The console API shows an agent their own chats and the queued chats of their skill groups,
a supervisor everything (console/handlers.py ``_visible_to``). The live feed keeps to the
same rule, or a console would receive what its API refuses: a chat's changes, lines and
notes go to the supervisors, the chat's agent, and while it waits the agents of its skill
group. A change also goes to whoever could see the chat just before it (``before``), so
an agent whose chat was transferred, or a queue whose chat was taken, learns it has gone.
"""
from __future__ import annotations

import json
from typing import Callable, Iterable, Optional, Set

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from handoff_service.desk.routing import DEFAULT_SKILLS
from handoff_service.desk.storage import Handoff, agent_status
from handoff_service.storage import staff_users

Audience = Callable[[str], bool]


class AudienceRepository:
    def __init__(self, engine: Engine):
        self.engine = engine

    def _people(self, usernames: Iterable[str]):
        """(supervisors, {username: skills}) among ``usernames``, in two queries."""
        names = list(set(usernames))
        if not names:
            return set(), {}
        with self.engine.connect() as conn:
            roles = conn.execute(sa.select(staff_users.c.username, staff_users.c.roles)
                                 .where(staff_users.c.username.in_(names))).fetchall()
            skills = conn.execute(sa.select(agent_status.c.username, agent_status.c.skills)
                                  .where(agent_status.c.username.in_(names))).fetchall()
        supervisors = {r.username for r in roles
                       if {"supervisor", "admin"} & set((r.roles or "").split(","))}
        skill_map = {r.username: (json.loads(r.skills or "[]") or list(DEFAULT_SKILLS)) for r in skills}
        return supervisors, skill_map

    def of(self, connected: Iterable[str], handoff: Optional[Handoff], before: Optional[Handoff] = None) -> Audience:
        """Of the ``connected`` usernames, those who may hear of ``handoff`` (and ``before``)."""
        connected = list(connected)
        supervisors, skills = self._people(connected)
        allowed: Set[str] = set(supervisors)
        for state in (handoff, before):
            if state is None:
                continue
            if state.agent_username:
                allowed.add(state.agent_username)
            if state.status == "queued":
                allowed.update(u for u in connected
                               if state.skill_group in skills.get(u, DEFAULT_SKILLS))
        return allowed.__contains__

    def of_skill_group(self, connected: Iterable[str], skill_group: Optional[str]) -> Audience:
        """The supervisors and the agents of ``skill_group`` (who work its tickets)."""
        connected = list(connected)
        supervisors, skills = self._people(connected)
        allowed = set(supervisors) | {u for u in connected if skill_group in skills.get(u, DEFAULT_SKILLS)}
        return allowed.__contains__

    def supervisors_only(self, connected: Iterable[str]) -> Audience:
        return self._people(connected)[0].__contains__
