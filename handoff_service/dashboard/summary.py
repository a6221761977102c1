"""Keeping the summary tables: the event-stream handler and the handoff rollup.

``SummaryHandler`` is registered with the web service's event-stream consumer next to
the transcript handler. Most events (action_listen, most slots) cost nothing; a
customer message is one transaction of two or three statements. Every update of a
conversation row is guarded by its ``last_event_id``, so the whole transaction is a
no-op when the consumer replays a row it already handled (after a crash mid-batch).
What the row adds to its hour (``dash_conversation_hours``) moves in the same
transaction, by the difference between the row's figures before and after.

``HandoffRollup`` re-aggregates the desk's handoff records of the hours that can
still change (from the oldest handoff still open, at least the last day: ratings
come after the chat) into ``dash_handoff_hours``.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections import OrderedDict, defaultdict
from typing import Any, Dict, List, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from handoff_service.dashboard import desk_records as desk
from handoff_service.dashboard.storage import (
    CONVERSATION_FIGURES, WAIT_BUCKET_COLUMNS, WAIT_BUCKETS, conversation_hours, conversations, faq_hours, handoff_hours,
    get_state, hour_of, intent_hours, set_state, upsert_increment,
)

logger = logging.getLogger(__name__)

EXTERNAL_MESSAGE_PREFIX = "EXTERNAL: "  # intents the service triggered, not the customer's words
FALLBACK_INTENTS = frozenset({"nlu_fallback"})
FALLBACK_ACTIONS = frozenset({"action_default_fallback"})
HANDOFF_ACTIONS = frozenset({"action_handoff"})
FEEDBACK_INTENTS = {"faq_helpful": "helpful", "faq_not_helpful": "not_helpful"}
CUSTOMER_SLOTS = ("customer_ref", "customer_id")  # customer_ref (accounts #9) wins over the numeric id
FAQ_SLOT = "faq_shown"
LANGUAGE_SLOT = "language"
FCR_WINDOW = dt.timedelta(hours=48)
NO_CHANNEL = ""


def _moment(event: Dict[str, Any]) -> dt.datetime:
    """When the event happened; a missing or unreadable timestamp counts as now (a summary is
    no reason to hold up the stream: the transcript sets such a row aside)."""
    at = event.get("timestamp")
    if isinstance(at, (int, float)) and not isinstance(at, bool) and 0 < at < 32503680000:  # before year 3000
        return dt.datetime.utcfromtimestamp(at)
    return dt.datetime.utcnow()


def _language_of(event: Dict[str, Any]) -> Optional[str]:
    for entity in (event.get("parse_data") or {}).get("entities") or []:
        if isinstance(entity, dict) and entity.get("entity") == LANGUAGE_SLOT and isinstance(entity.get("value"), str):
            return entity["value"][:8]
    return None


def _customer_key(slot: str, value: Any) -> Optional[str]:
    if value in (None, "", False):
        return None
    if slot == "customer_id" and isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"ref:{value}"[:300]


# The columns of a conversation row the handler needs to decide what an event changes
# and what the row adds to its hour, kept in memory for recent senders so a customer
# message costs one guarded UPDATE (and its rollup upserts) in one transaction, without
# reading the row first.
STATE_COLUMNS = ("id", "last_event_id", "started_at", "channel", "language", "customer_key", "first_intent",
                 "last_intent", "last_faq", "user_messages", "fallbacks", "last_user_fallback", "faq_helpful",
                 "faq_not_helpful", "last_feedback", "handed_over", "recontacted")
NEW_CONVERSATION = {"channel": None, "language": None, "first_intent": None, "last_intent": None, "last_faq": None,
                    "user_messages": 0, "fallbacks": 0, "last_user_fallback": False, "faq_helpful": 0,
                    "faq_not_helpful": 0, "last_feedback": None, "handed_over": False, "recontacted": False}


def conversation_figures(row: Dict[str, Any]) -> Optional[Tuple[Dict[str, Any], Dict[str, int]]]:
    """The hour row (keys) a conversation counts in and what it adds there (docs/dashboard.md:
    containment, FCR proxy, ...); None before the customer said anything (not a conversation)."""
    if not row["user_messages"]:
        return None
    bot_only = not row["handed_over"]
    keys = {"hour": hour_of(row["started_at"]), "channel": row["channel"] or NO_CHANNEL,
            "language": row["language"] or "", "first_intent": row["first_intent"] or ""}
    return keys, {
        "conversations": 1,
        "handed_over": int(bool(row["handed_over"])),
        "confirmed": int(bot_only and row["last_feedback"] == "helpful"),
        "unresolved": int(bot_only and (bool(row["last_user_fallback"]) or row["last_feedback"] == "not_helpful")),
        "recontacted": int(bool(row["recontacted"])),
        "with_helpful": int(row["faq_helpful"] > 0),
        "with_not_helpful": int(row["faq_not_helpful"] > 0),
        "with_fallback": int(row["fallbacks"] > 0),
    }


def _figure_changes(before: Dict[str, Any], after: Dict[str, Any]) -> list:
    """(table, keys, increments) that move a conversation's contribution to the hour rollup
    from what it was to what it is: nothing when no figure changed."""
    old, new = conversation_figures(before), conversation_figures(after)
    if old and new and old[0] == new[0]:
        changed = {name: new[1][name] - old[1][name] for name in CONVERSATION_FIGURES if new[1][name] != old[1][name]}
        return [(conversation_hours, new[0], changed)] if changed else []
    moves = []
    if old:
        moves.append((conversation_hours, old[0], {name: -n for name, n in old[1].items() if n}))
    if new:
        moves.append((conversation_hours, new[0], {name: n for name, n in new[1].items() if n}))
    return moves


class StaleConversationState(RuntimeError):
    """The remembered row was not the table's (another writer?): retried from the table."""


class SummaryHandler:
    """Updates the per-conversation and per-hour summaries from each Rasa event.

    The handler keeps one connection of its own between events (no pool checkout and
    liveness ping per event). On PostgreSQL that connection commits without waiting for
    the log flush (``synchronous_commit`` off for its session; it is closed, never given
    back to the pool, so no other code inherits the setting): the flush was most of a
    customer message's cost. Nothing is lost by it: the consumer moves its cursor past an
    event only after the handlers ran, in a transaction of its own that waits for the
    flush, and the log is flushed in order, so the cursor is never durable without the
    summaries before it. If PostgreSQL stops before that, the consumer handles those
    events again; the rows remembered in memory may then be ahead of the table, so they
    are forgotten on any error and whenever a new database connection is opened.
    """

    REMEMBERED_SENDERS = 10_000

    def __init__(self, engine: Engine):
        self.engine = engine
        # sender id -> its current conversation row's state (else read from the table)
        self._current: "OrderedDict[str, Dict[str, Any]]" = OrderedDict()
        self._fast_commit = engine.dialect.name == "postgresql"
        self._new_connection = False
        self._held: Optional[Connection] = None
        if self._fast_commit:
            sa.event.listen(engine, "connect", self._connected)

    def _connected(self, *_: Any) -> None:
        self._new_connection = True

    def _connection(self) -> Connection:
        if self._held is None:
            conn = self.engine.connect()
            if self._fast_commit:
                conn.exec_driver_sql("SET synchronous_commit TO OFF")  # this session only (see close)
                conn.commit()
            self._held = conn
        return self._held

    def close(self) -> None:
        """Let go of the connection: closed, not returned to the pool (it carries the commit setting)."""
        held, self._held = self._held, None
        if held is not None:
            try:
                held.invalidate()
            finally:
                held.close()

    async def __call__(self, event_id: int, conversation_id: str, event: Dict[str, Any]) -> None:
        if _interesting(event):  # most events (bot lines, action_listen, other slots) cost nothing
            await asyncio.to_thread(self.apply, event_id, conversation_id, event)

    async def handle_batch(self, rows: List[Tuple[int, str, Dict[str, Any]]]) -> None:
        """A batch of the consumer's rows at once (``EventStreamConsumer``): one transaction,
        and one upsert per hour row the batch changes, however many events changed it."""
        interesting = [row for row in rows if _interesting(row[2])]
        if interesting:
            await asyncio.to_thread(self.apply_many, interesting)

    # --- the work, in one transaction per event or per batch ---------------------------

    def apply(self, event_id: int, conversation_id: str, event: Dict[str, Any]) -> None:
        self.apply_many([(event_id, conversation_id, event)])

    def apply_many(self, rows: List[Tuple[int, str, Dict[str, Any]]]) -> None:
        """These events, in order, in one transaction."""
        if not rows:
            return
        try:
            conn = self._connection()
            with conn.begin():
                if self._new_connection:  # see the class's docstring
                    self._new_connection = False
                    self._current.clear()
                rollups = _Rollups()
                for event_id, conversation_id, event in rows:
                    self._apply(conn, event_id, conversation_id, event, rollups)
                rollups.write(conn)
        except BaseException:
            # Whatever was remembered in this transaction (its rows, rows marked as
            # recontacted) may not have been written; the connection may be broken.
            self._current.clear()
            self.close()
            raise

    def _apply(self, conn: Connection, event_id: int, conversation_id: str, event: Dict[str, Any],
               rollups: "_Rollups") -> None:
        kind = event.get("event")
        moment = _moment(event)
        if kind == "session_started":
            self._start(conn, event_id, conversation_id, moment, rollups)
            return
        row = self._row(conn, event_id, conversation_id, moment, rollups)
        if row["last_event_id"] >= event_id:
            return  # already handled (a replay)
        changes: Dict[str, Any] = {"last_event_id": event_id, "last_event_at": moment}
        added: Dict[str, int] = {}  # counters: added in SQL, so a replayed row cannot count twice
        mine: list = []  # (table, keys, increments), written only if the row update is
        if kind == "user":
            self._user(row, event, moment, changes, added, mine)
        elif kind == "action":
            self._action(row, event, moment, changes, added, mine)
        elif kind == "slot":
            self._slot(conn, row, event, changes, added, mine, rollups)
        updated = conn.execute(conversations.update().where(
            conversations.c.id == row["id"], conversations.c.last_event_id < event_id).values(
            **changes, **{name: conversations.c[name] + n for name, n in added.items()}))
        if updated.rowcount != 1:
            raise StaleConversationState(conversation_id)
        after = {**row, **{k: v for k, v in changes.items() if k in STATE_COLUMNS},
                 **{name: row.get(name, 0) + n for name, n in added.items() if name in STATE_COLUMNS}}
        for table, keys, increments in mine + _figure_changes(row, after):
            rollups.add(table, keys, increments)
        self._remember(conversation_id, after)

    def _remember(self, conversation_id: str, row: Dict[str, Any]) -> None:
        self._current[conversation_id] = row
        self._current.move_to_end(conversation_id)
        while len(self._current) > self.REMEMBERED_SENDERS:
            self._current.popitem(last=False)

    def _start(self, conn: Connection, event_id: int, conversation_id: str, moment: dt.datetime,
               rollups: "_Rollups") -> Dict[str, Any]:
        existing = conn.execute(sa.select(*[conversations.c[c] for c in STATE_COLUMNS]).where(
            conversations.c.conversation_id == conversation_id, conversations.c.started_event_id == event_id)).first()
        if existing is not None:
            row = dict(existing._mapping)
        else:
            key = f"sender:{conversation_id}"[:300]
            row_id = conn.execute(conversations.insert().values(
                conversation_id=conversation_id, started_event_id=event_id, last_event_id=event_id,
                started_at=moment, last_event_at=moment, customer_key=key,
            )).inserted_primary_key[0]
            self._mark_recontact(conn, key, moment, row_id, rollups)
            row = {**NEW_CONVERSATION, "id": row_id, "last_event_id": event_id, "started_at": moment, "customer_key": key}
        self._remember(conversation_id, row)
        return row

    def _row(self, conn: Connection, event_id: int, conversation_id: str, moment: dt.datetime,
             rollups: "_Rollups") -> Dict[str, Any]:
        row = self._current.get(conversation_id)
        if row is not None:
            return row
        found = conn.execute(sa.select(*[conversations.c[c] for c in STATE_COLUMNS])
                             .where(conversations.c.conversation_id == conversation_id)
                             .order_by(conversations.c.id.desc()).limit(1)).first()
        if found is None:  # events before any session start (older trackers): a conversation begins here
            return self._start(conn, event_id - 1, conversation_id, moment, rollups)
        return dict(found._mapping)

    def _mark_recontact(self, conn: Connection, customer_key: str, moment: dt.datetime, row_id: int,
                        rollups: "_Rollups") -> None:
        """The customer's earlier conversations within the FCR window were not resolved at first contact."""
        c = conversations.c
        earlier = conn.execute(sa.select(*[c[name] for name in STATE_COLUMNS], c.conversation_id).where(
            c.customer_key == customer_key,
            c.started_at >= moment - FCR_WINDOW,
            c.started_at <= moment,
            c.id != row_id,
            c.recontacted == sa.false(),
            c.user_messages > 0,
        )).fetchall()
        if not earlier:
            return
        conn.execute(conversations.update().where(c.id.in_([r.id for r in earlier])).values(recontacted=True))
        for found in earlier:
            before = {name: found._mapping[name] for name in STATE_COLUMNS}
            for table, keys, increments in _figure_changes(before, {**before, "recontacted": True}):
                rollups.add(table, keys, increments)
            remembered = self._current.get(found.conversation_id)
            if remembered is not None and remembered["id"] == found.id:
                remembered["recontacted"] = True

    @staticmethod
    def _user(row, event: Dict[str, Any], moment: dt.datetime, changes: Dict[str, Any], added: Dict[str, int],
              mine: list) -> None:
        intent = str(((event.get("parse_data") or {}).get("intent") or {}).get("name") or "unknown")[:120]
        channel = (row["channel"] or str(event.get("input_channel") or NO_CHANNEL))[:64]
        language = _language_of(event) or row["language"] or ""
        fallback = intent in FALLBACK_INTENTS
        changes.update(last_intent=intent, last_user_fallback=fallback, channel=channel or None,
                       language=language or None)
        added["user_messages"] = 1
        if row["first_intent"] is None and intent not in FEEDBACK_INTENTS:
            changes["first_intent"] = intent
        if fallback:
            added["fallbacks"] = 1
        hour = hour_of(moment)
        mine.append((intent_hours, {"hour": hour, "intent": intent, "channel": channel, "language": language},
                        {"messages": 1, "fallbacks": int(fallback)}))
        feedback = FEEDBACK_INTENTS.get(intent)
        if feedback and row["last_faq"]:
            changes["last_feedback"] = feedback
            added[f"faq_{feedback}"] = 1
            mine.append((faq_hours, {"hour": hour, "faq": row["last_faq"], "channel": channel, "language": language},
                            {feedback: 1}))

    @staticmethod
    def _action(row, event: Dict[str, Any], moment: dt.datetime, changes: Dict[str, Any], added: Dict[str, int],
                mine: list) -> None:
        name = event.get("name")
        if name in HANDOFF_ACTIONS:
            changes["handed_over"] = True
        elif name in FALLBACK_ACTIONS:
            # Core fallback: the bot understood the words but not what to do; counted
            # against the intent it was given.
            changes["last_user_fallback"] = True
            added["fallbacks"] = 1
            mine.append((intent_hours, {"hour": hour_of(moment), "intent": row["last_intent"] or "unknown",
                                           "channel": row["channel"] or NO_CHANNEL, "language": row["language"] or ""},
                            {"messages": 0, "fallbacks": 1}))

    def _slot(self, conn: Connection, row, event: Dict[str, Any], changes: Dict[str, Any], added: Dict[str, int],
              mine: list, rollups: "_Rollups") -> None:
        name, value = event.get("name"), event.get("value")
        if name == LANGUAGE_SLOT and isinstance(value, str) and value:
            changes["language"] = value[:8]
        elif name == FAQ_SLOT and isinstance(value, str) and value:
            changes.update(last_faq=value[:200], last_feedback=None)
            added["faq_answers"] = 1
            mine.append((faq_hours, {"hour": hour_of(changes["last_event_at"]), "faq": value[:200],
                                        "channel": row["channel"] or NO_CHANNEL, "language": row["language"] or ""},
                            {"shown": 1}))
        elif name in CUSTOMER_SLOTS:
            key = _customer_key(name, value)
            if key is None or key == row["customer_key"]:
                return
            if name == "customer_id" and row["customer_key"].startswith("ref:") and not row["customer_key"][4:].isdigit():
                return  # a customer_ref is already known; the numeric id adds nothing
            changes["customer_key"] = key
            self._mark_recontact(conn, key, row["started_at"], row["id"], rollups)


class _Rollups:
    """Increments of the hour rows, summed over a transaction and written at its end (one
    upsert per row, however many events of the batch changed it)."""

    def __init__(self):
        self._pending: Dict[Tuple, Tuple[sa.Table, Dict[str, Any], Dict[str, int]]] = {}

    def add(self, table: sa.Table, keys: Dict[str, Any], increments: Dict[str, int]) -> None:
        _, _, summed = self._pending.setdefault((table.name, *keys.items()), (table, keys, {}))
        for name, n in increments.items():
            summed[name] = summed.get(name, 0) + n

    def write(self, conn: Connection) -> None:
        for table, keys, increments in self._pending.values():
            if any(increments.values()):
                upsert_increment(conn, table, keys, increments)


class HandoffRollup:
    """Re-aggregates the desk's handoff records into ``dash_handoff_hours``."""

    STATE = "handoff_rollup_refreshed_at"
    SEEN = "handoff_rollup_newest_id"
    MIN_WINDOW = dt.timedelta(days=1)

    def __init__(self, engine: Engine, service_level_seconds: float, max_age: float = 10.0):
        self.engine = engine
        self.service_level_seconds = service_level_seconds
        self.max_age = max_age  # seconds a page may show before the rollup is refreshed again
        self._refreshed = float("-inf")
        self._lock = asyncio.Lock()

    async def refresh_if_stale(self) -> None:
        """Refresh before a history page when the last refresh is older than ``max_age``."""
        async with self._lock:  # one refresh at a time in this process
            if time.monotonic() - self._refreshed < self.max_age:
                return
            try:
                await asyncio.to_thread(self.refresh)
            except IntegrityError:
                # Another replica refreshed the same hours at the same moment: its rows stand.
                logger.info("handoff rollup refreshed concurrently elsewhere")
            self._refreshed = time.monotonic()

    def refresh(self, now: Optional[dt.datetime] = None, since: Optional[dt.datetime] = None) -> None:
        """Recompute the hours from ``since`` (default: the oldest open handoff, at most a day ago) on."""
        now = now or dt.datetime.utcnow()
        with self.engine.begin() as conn:
            newest_seen = int(get_state(conn, self.SEEN) or 0)
            if since is None:
                # Hours that can still change: those of handoffs still open, of the last
                # day (ratings come after the chat), and of records new since last time.
                oldest_open = conn.execute(sa.select(sa.func.min(desk.handoffs.c.created_at)).where(
                    desk.handoffs.c.status.in_(desk.OPEN_STATUSES))).scalar()
                oldest_new = conn.execute(sa.select(sa.func.min(desk.handoffs.c.created_at)).where(
                    desk.handoffs.c.id > newest_seen)).scalar()
                since = min(now - self.MIN_WINDOW, oldest_open or now, oldest_new or now)
            newest = conn.execute(sa.select(sa.func.max(desk.handoffs.c.id))).scalar() or 0
            since = hour_of(since)
            rows = conn.execute(sa.select(
                desk.handoffs.c.id, desk.handoffs.c.status, desk.handoffs.c.reason, desk.handoffs.c.language,
                desk.handoffs.c.input_channel, desk.handoffs.c.agent_username, desk.handoffs.c.created_at,
                desk.handoffs.c.accepted_at, desk.handoffs.c.closed_at, desk.handoffs.c.skill_group,
                desk.handoffs.c.abandoned_at, desk.handoffs.c.rating,
            ).where(desk.handoffs.c.created_at >= since)).fetchall()
            transfers = dict(conn.execute(
                sa.select(desk.handoff_transfers.c.handoff_id, sa.func.count())
                .select_from(desk.handoff_transfers.join(desk.handoffs, desk.handoffs.c.id == desk.handoff_transfers.c.handoff_id))
                .where(desk.handoffs.c.created_at >= since)
                .group_by(desk.handoff_transfers.c.handoff_id)).fetchall())
            conn.execute(handoff_hours.delete().where(handoff_hours.c.hour >= since))
            aggregated = aggregate_handoffs(rows, transfers, self.service_level_seconds)
            if aggregated:
                conn.execute(handoff_hours.insert(), aggregated)
            set_state(conn, self.STATE, now.isoformat())
            set_state(conn, self.SEEN, str(max(newest, newest_seen)))


def aggregate_handoffs(rows, transfers: Dict[int, int], service_level_seconds: float):
    """Per-hour rollup rows of these handoff records (see ``handoff_hours``)."""
    totals: Dict[Tuple, Dict[str, Any]] = defaultdict(lambda: defaultdict(float))
    for h in rows:
        key = (hour_of(h.created_at), h.skill_group or "general", (h.language or "")[:8], (h.input_channel or NO_CHANNEL)[:64],
               (h.reason or "")[:64], (h.agent_username or "")[:80])
        t = totals[key]
        t["offered"] += 1
        if h.accepted_at is not None:
            wait = max(0.0, (h.accepted_at - h.created_at).total_seconds())
            t["answered"] += 1
            t["wait_sum"] += wait
            t["answered_in_sl"] += wait <= service_level_seconds
            bucket = next((i for i, bound in enumerate(WAIT_BUCKETS) if wait <= bound), len(WAIT_BUCKETS))
            t[WAIT_BUCKET_COLUMNS[bucket]] += 1
            if h.closed_at is not None:
                t["handled"] += 1
                t["handle_sum"] += max(0.0, (h.closed_at - h.accepted_at).total_seconds())
        elif h.status == "abandoned":
            t["abandoned"] += 1
        elif h.status == "cancelled":
            t["cancelled"] += 1
        t["transferred"] += transfers.get(h.id, 0)
        if h.rating in (1, 2, 3, 4, 5):
            t[f"rating_{h.rating}"] += 1
    columns = ("offered", "answered", "answered_in_sl", "abandoned", "cancelled", "transferred", "wait_sum",
               "handle_sum", "handled", *WAIT_BUCKET_COLUMNS, *[f"rating_{n}" for n in range(1, 6)])
    result = []
    for (hour, skill_group, language, channel, reason, agent), t in totals.items():
        row = {"hour": hour, "skill_group": skill_group, "language": language, "channel": channel, "reason": reason,
               "agent": agent}
        for name in columns:
            value = t.get(name, 0)
            row[name] = float(value) if name.endswith("_sum") else int(value)
        result.append(row)
    return result


def rebuild(engine: Engine, source, service_level_seconds: float, batch: int = 2000) -> Dict[str, int]:
    """Recompute the summary tables from Rasa's raw event stream and the desk's records.

    The stream is trimmed by the retention purge (BROKER_RETENTION_DAYS), so only what
    it still covers is recomputed: from the first whole hour of the oldest event kept.
    Older summaries stay as they are (they are the only record left of those days).
    The handoff rollup is recomputed likewise from the oldest handoff record kept. The live
    consumer may run meanwhile: its later events land on top.
    """
    first = source.fetch(0, limit=1)
    cutoff = None
    if first and first[0][2] is not None:
        oldest = _moment(first[0][2])
        cutoff = hour_of(oldest) if oldest == hour_of(oldest) else hour_of(oldest) + dt.timedelta(hours=1)
        if first[0][0] == 1:  # the stream is complete: recompute everything
            cutoff = dt.datetime(1970, 1, 1)
    with engine.begin() as conn:
        if cutoff is not None:
            conn.execute(conversations.delete().where(conversations.c.started_at >= cutoff))
            conn.execute(conversation_hours.delete().where(conversation_hours.c.hour >= cutoff))
            conn.execute(intent_hours.delete().where(intent_hours.c.hour >= cutoff))
            conn.execute(faq_hours.delete().where(faq_hours.c.hour >= cutoff))
        kept = conn.execute(sa.select(sa.func.count()).select_from(conversations)).scalar()
    handler = SummaryHandler(engine)
    position, events = 0, 0
    while cutoff is not None:
        rows = source.fetch(position, limit=batch)
        if not rows:
            break
        position = rows[-1][0]
        kept_rows = [row for row in rows if row[2] is not None and _moment(row[2]) >= cutoff]
        events += len(kept_rows)
        handler.apply_many([row for row in kept_rows if _interesting(row[2])])  # a batch per transaction
    handler.close()
    with engine.connect() as conn:
        oldest_handoff = conn.execute(sa.select(sa.func.min(desk.handoffs.c.created_at))).scalar()
    # From the oldest handoff still on record: hours before it keep their rollup.
    HandoffRollup(engine, service_level_seconds).refresh(since=oldest_handoff or dt.datetime.utcnow())
    with engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(conversations)).scalar()
    return {"events": events, "conversations": count, "kept": kept}


def _interesting(event: Dict[str, Any]) -> bool:
    kind = event.get("event")
    if kind == "user":
        return not str(event.get("text") or "").startswith(EXTERNAL_MESSAGE_PREFIX)
    if kind == "slot":
        return event.get("name") in (LANGUAGE_SLOT, FAQ_SLOT, *CUSTOMER_SLOTS)
    if kind == "action":
        return event.get("name") in FALLBACK_ACTIONS or event.get("name") in HANDOFF_ACTIONS
    return kind == "session_started"  # bot lines change no figure: they cost nothing
