"""Queue and routing, all in the database so a restart of the web service keeps both.

Agents have a status (online / away / offline), a capacity (concurrent chats, default
3), skill groups and languages (``agent_status``). A queued handoff goes to the
least-busy online agent who has its skill group and language and a free seat; ties go
to the agent whose last assignment is oldest (chats spread evenly). The queue is served
by priority (higher first), then age. Each agent who holds a handoff gets a row in
``handoff_assignments``.

Assignment checks the agent's load and changes the handoff in one transaction; on
PostgreSQL the agent's status row is locked for it (``FOR UPDATE``), so two handoffs
routed at the same instant by two replicas cannot both take an agent's last seat.
SQLite serialises writers by itself.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import List, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bot.settings import SUPPORTED_LANGUAGES
from handoff_service.desk.storage import (
    SKILL_GROUPS, Handoff, HandoffConflict, HandoffRepository, agent_status, handoff_assignments, handoff_transfers,
    handoffs,
)
from handoff_service.storage import _now

AGENT_STATUSES = ("online", "away", "offline")
DEFAULT_CAPACITY = 3
# An agent whose skills are not set takes general questions; languages not set: all.
DEFAULT_SKILLS = ("general",)


@dataclass
class AgentState:
    username: str
    status: str = "offline"
    capacity: int = DEFAULT_CAPACITY
    skills: List[str] = field(default_factory=lambda: list(DEFAULT_SKILLS))
    languages: List[str] = field(default_factory=lambda: list(SUPPORTED_LANGUAGES))
    load: int = 0  # active handoffs held now

    def qualified_for(self, skill_group: str, language: str) -> bool:
        return skill_group in self.skills and language in self.languages

    @property
    def free_seats(self) -> int:
        return max(0, self.capacity - self.load) if self.status == "online" else 0

    def as_json(self) -> dict:
        return {"username": self.username, "status": self.status, "capacity": self.capacity,
                "skills": self.skills, "languages": self.languages, "load": self.load}


class RoutingRepository:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.handoffs = HandoffRepository(engine)

    # -- agents ---------------------------------------------------------------
    def set_agent(self, username: str, status: Optional[str] = None, capacity: Optional[int] = None,
                  skills: Optional[Sequence[str]] = None, languages: Optional[Sequence[str]] = None) -> AgentState:
        """Change what is given; what is not keeps its value (or the default for a new agent)."""
        if status is not None and status not in AGENT_STATUSES:
            raise ValueError(f"status must be one of {', '.join(AGENT_STATUSES)}")
        if capacity is not None and not 0 <= capacity <= 50:
            raise ValueError("capacity must be between 0 and 50")
        if skills is not None and set(skills) - set(SKILL_GROUPS):
            raise ValueError(f"skills must be among {', '.join(SKILL_GROUPS)}")
        if languages is not None and set(languages) - set(SUPPORTED_LANGUAGES):
            raise ValueError(f"languages must be among {', '.join(SUPPORTED_LANGUAGES)}")
        current = self.agent(username)
        values = dict(
            status=status or current.status,
            capacity=current.capacity if capacity is None else capacity,
            skills=json.dumps(list(current.skills if skills is None else skills)),
            languages=json.dumps(list(current.languages if languages is None else languages)),
            updated_at=_now(),
        )
        with self.engine.begin() as conn:
            if not conn.execute(agent_status.update().where(agent_status.c.username == username).values(**values)).rowcount:
                conn.execute(agent_status.insert().values(username=username, **values))
        return self.agent(username)

    def agent(self, username: str) -> AgentState:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(agent_status).where(agent_status.c.username == username)).first()
            load = self._load(conn, username)
        if row is None:
            return AgentState(username, load=load)
        return self._state(row, load)

    def agents(self) -> List[AgentState]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(agent_status).order_by(agent_status.c.username)).fetchall()
            loads = dict(conn.execute(
                sa.select(handoffs.c.agent_username, sa.func.count())
                .where(handoffs.c.status == "active").group_by(handoffs.c.agent_username)
            ).fetchall())
        return [self._state(r, loads.get(r.username, 0)) for r in rows]

    def qualified_online(self, skill_group: str, language: str) -> List[AgentState]:
        return [a for a in self.agents() if a.status == "online" and a.qualified_for(skill_group, language)]

    # -- the queue ------------------------------------------------------------
    def queued(self, skill_groups: Optional[Sequence[str]] = None) -> List[Handoff]:
        """Waiting handoffs in the order they are served: priority, then age."""
        query = sa.select(handoffs).where(handoffs.c.status == "queued")
        if skill_groups is not None:
            query = query.where(handoffs.c.skill_group.in_(list(skill_groups)))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(handoffs.c.priority.desc(), handoffs.c.id)).fetchall()
        return [HandoffRepository._handoff(r) for r in rows]

    def queue_position(self, handoff: Handoff) -> int:
        return self.handoffs.queue_position(handoff)

    def recent_handle_seconds(self, skill_group: Optional[str], limit: int = 20) -> List[float]:
        """How long agents held the last ``limit`` closed chats of this skill group (None: of any)."""
        group = [] if skill_group is None else [handoffs.c.skill_group == skill_group]
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(handoffs.c.accepted_at, handoffs.c.closed_at)
                .where(*group, handoffs.c.status == "closed",
                       handoffs.c.accepted_at.is_not(None), handoffs.c.closed_at.is_not(None))
                .order_by(handoffs.c.closed_at.desc()).limit(limit)
            ).fetchall()
        return [max(0.0, (r.closed_at - r.accepted_at).total_seconds()) for r in rows]

    # -- assignment -----------------------------------------------------------
    def assign(self, handoff_id: int, username: str, check_capacity: bool = True) -> Optional[Handoff]:
        """Give a queued handoff to this agent; None when it is no longer queued or
        (with ``check_capacity``) the agent has no free seat."""
        with self.engine.begin() as conn:
            if check_capacity:
                row = conn.execute(
                    sa.select(agent_status).where(agent_status.c.username == username).with_for_update()
                ).first()
                state = self._state(row, self._load(conn, username)) if row else AgentState(username)
                if state.free_seats <= 0:
                    return None
            now = _now()
            taken = conn.execute(
                handoffs.update().where(handoffs.c.id == handoff_id, handoffs.c.status == "queued")
                # A chat transferred back to a queue keeps its first answer's time.
                .values(status="active", agent_username=username, accepted_at=sa.func.coalesce(handoffs.c.accepted_at, now))
            ).rowcount
            if not taken:
                return None
            conn.execute(handoff_assignments.insert().values(handoff_id=handoff_id, agent_username=username,
                                                              assigned_at=now))
        return self.handoffs.get(handoff_id)

    def claim(self, handoff_id: int, username: str) -> tuple:
        """An agent takes a queued handoff from the queue (whatever their load: they chose to).
        Returns (handoff, newly_assigned); claiming one's own active handoff again is a no-op."""
        handoff = self.assign(handoff_id, username, check_capacity=False)
        if handoff is not None:
            return handoff, True
        handoff = self.handoffs.get(handoff_id)
        if handoff is None:
            raise LookupError(handoff_id)
        if handoff.status != "active" or handoff.agent_username != username:
            raise HandoffConflict(f"This chat is already {handoff.status}" + (
                f" with {handoff.agent_username}." if handoff.status == "active" else "."))
        return handoff, False

    def route(self) -> List[Handoff]:
        """Assign every queued handoff that has a qualified online agent with a free seat,
        highest priority and oldest first; returns those assigned."""
        assigned = []
        waiting = self.queued()
        # A chat transferred to a team goes to someone other than the agent who sent it
        # there whenever another qualified agent has a seat.
        sent_by = self._transferred_by([h.id for h in waiting])
        for handoff in waiting:
            candidates = [a for a in self.qualified_online(handoff.skill_group, handoff.language) if a.free_seats > 0]
            if not candidates:
                continue
            last = self._last_assigned([a.username for a in candidates])
            candidates.sort(key=lambda a: (a.username == sent_by.get(handoff.id), a.load,
                                           last.get(a.username) or dt.datetime.min, a.username))
            for agent in candidates:
                taken = self.assign(handoff.id, agent.username)
                if taken is not None:
                    assigned.append(taken)
                    break
        return assigned

    def end_assignment(self, conn: Connection, handoff_id: int, reason: str) -> None:
        conn.execute(
            handoff_assignments.update()
            .where(handoff_assignments.c.handoff_id == handoff_id, handoff_assignments.c.ended_at.is_(None))
            .values(ended_at=_now(), ended_reason=reason)
        )

    def assignments(self, handoff_id: int) -> List[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(handoff_assignments).where(handoff_assignments.c.handoff_id == handoff_id)
                .order_by(handoff_assignments.c.id)
            ).fetchall()
        return [{"agent": r.agent_username, "assigned_at": r.assigned_at.isoformat() + "Z",
                 "ended_at": r.ended_at.isoformat() + "Z" if r.ended_at else None, "ended_reason": r.ended_reason}
                for r in rows]

    # -- helpers --------------------------------------------------------------
    @staticmethod
    def _load(conn: Connection, username: str) -> int:
        return conn.execute(
            sa.select(sa.func.count()).select_from(handoffs)
            .where(handoffs.c.status == "active", handoffs.c.agent_username == username)
        ).scalar_one()

    def _transferred_by(self, handoff_ids: List[int]) -> dict:
        """handoff id -> the agent who last transferred it (for those ever transferred)."""
        if not handoff_ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(handoff_transfers.c.handoff_id, handoff_transfers.c.from_agent)
                .where(handoff_transfers.c.handoff_id.in_(handoff_ids)).order_by(handoff_transfers.c.id)
            ).fetchall()
        return {r.handoff_id: r.from_agent for r in rows}  # the latest wins

    def _last_assigned(self, usernames: List[str]) -> dict:
        with self.engine.connect() as conn:
            return dict(conn.execute(
                sa.select(handoff_assignments.c.agent_username, sa.func.max(handoff_assignments.c.assigned_at))
                .where(handoff_assignments.c.agent_username.in_(usernames))
                .group_by(handoff_assignments.c.agent_username)
            ).fetchall())

    @staticmethod
    def _state(row, load: int) -> AgentState:
        return AgentState(
            username=row.username, status=row.status, capacity=row.capacity,
            skills=json.loads(row.skills or "[]") or list(DEFAULT_SKILLS),
            languages=json.loads(row.languages or "[]") or list(SUPPORTED_LANGUAGES),
            load=load,
        )
