"""The dashboard's figures: history (from the summary tables), the live wallboard
(from the desk's open records, which are few), and the staffing forecast.

Definitions (containment, service level, FCR proxy, expected wait) are in
docs/dashboard.md; the code follows them word for word.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.privacy import mask
from handoff_service.dashboard import desk_records as desk
from handoff_service.dashboard.storage import (
    CONVERSATION_FIGURES, WAIT_BUCKET_COLUMNS, conversation_hours, conversations, faq_hours, handoff_hours, intent_hours,
)
from handoff_service.dashboard.summary import aggregate_handoffs

DEFAULT_HANDLE_SECONDS = 300.0  # until a skill group has closed chats of its own
BOT_ACTIVE_WINDOW = dt.timedelta(minutes=10)  # a bot conversation "in progress" spoke this recently
NEGATIVE_RATING = 2  # ratings at or below count as negative
NEGATIVE_STREAK = 3
TOP = 20


@dataclass
class HistoryFilter:
    since: dt.datetime  # UTC, inclusive
    until: dt.datetime  # UTC, exclusive
    channel: Optional[str] = None
    language: Optional[str] = None
    skill_group: Optional[str] = None
    agent: Optional[str] = None
    intent: Optional[str] = None

    def where(self, table: sa.Table, time_column: str = "hour") -> List[Any]:
        column = table.c[time_column]
        clauses = [column >= self.since, column < self.until]
        for name, attribute in (("channel", "channel"), ("language", "language"), ("skill_group", "skill_group"),
                                ("agent", "agent"), ("intent", "intent")):
            value = getattr(self, attribute)
            target = "first_intent" if name == "intent" and "first_intent" in table.c else name
            if value and target in table.c:
                clauses.append(table.c[target] == value)
        return clauses


def _ratio(part: float, whole: float) -> Optional[float]:
    return round(part / whole, 4) if whole else None


def _as_datetime(value) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))


class Dashboard:
    def __init__(self, engine: Engine, time_zone: str = "Asia/Shanghai", service_level_seconds: float = 20.0,
                 service_level_target: float = 0.8, wait_alert_seconds: float = 120.0,
                 abandon_alert_rate: float = 0.2):
        self.engine = engine
        self.zone = ZoneInfo(time_zone)
        self.service_level_seconds = service_level_seconds
        self.service_level_target = service_level_target
        self.wait_alert_seconds = wait_alert_seconds
        self.abandon_alert_rate = abandon_alert_rate

    # --- time zone ----------------------------------------------------------------------

    def local(self, utc: dt.datetime) -> dt.datetime:
        return utc.replace(tzinfo=dt.timezone.utc).astimezone(self.zone).replace(tzinfo=None)

    def utc(self, local: dt.datetime) -> dt.datetime:
        return local.replace(tzinfo=self.zone).astimezone(dt.timezone.utc).replace(tzinfo=None)

    def day_range(self, first: dt.date, last: dt.date):
        """UTC bounds of the centre's local days ``first``..``last`` (inclusive)."""
        return self.utc(dt.datetime.combine(first, dt.time())), self.utc(dt.datetime.combine(last + dt.timedelta(days=1), dt.time()))

    # --- history ------------------------------------------------------------------------

    def history(self, where: HistoryFilter) -> Dict[str, Any]:
        with self.engine.connect() as conn:
            # One scan of the conversations gives the totals and the per-hour series.
            by_hour = self._conversation_hours(conn, where)
            result = {"conversations": self._conversations(by_hour)}
            result.update(self._handoffs(conn, where))
            result["handoff_rate"] = _ratio(result["conversations"]["handed_over"], result["conversations"]["total"])
            result["intents"] = self._intents(conn, where)
            result["faqs"] = self._faqs(conn, where)
            result["comments"] = self._comments(conn, where)
            result["series"] = self._series(conn, where, by_hour)
        return result

    COUNTED = ("total", "handed_over", "confirmed", "unresolved", "recontacted", "with_helpful", "with_not_helpful",
               "with_fallback")

    def _conversation_hours(self, conn, where: HistoryFilter) -> List[tuple]:
        """(hour, *counts in COUNTED order) of the conversations started in each hour, from
        their hourly rollup (summary.conversation_figures says what each counts)."""
        h = conversation_hours.c
        return conn.execute(sa.select(h.hour, *[sa.func.sum(h[name]) for name in CONVERSATION_FIGURES])
                            .where(*where.where(conversation_hours)).group_by(h.hour)).fetchall()

    def _conversations(self, by_hour: List[tuple]) -> Dict[str, Any]:
        sums = [sum(int(r[i + 1] or 0) for r in by_hour) for i in range(len(self.COUNTED))]
        total, handed_over, confirmed_n, unresolved, recontacted, with_helpful, with_not_helpful, with_fallback = sums
        contained = total - handed_over - unresolved
        return {
            "total": total,
            "handed_over": handed_over,
            "bot_only": total - handed_over,
            "contained": contained,
            "contained_confirmed": confirmed_n,
            "contained_unconfirmed": contained - confirmed_n,
            "left_unresolved": unresolved,
            "containment_rate": _ratio(contained, total),
            "confirmed_containment_rate": _ratio(confirmed_n, total),
            "recontacted": recontacted,
            "fcr_rate": _ratio(total - recontacted, total),
            "with_helpful_answer": with_helpful,
            "with_unhelpful_answer": with_not_helpful,
            "with_fallback": with_fallback,
        }

    def _handoffs(self, conn, where: HistoryFilter) -> Dict[str, Any]:
        h = handoff_hours.c
        sums = ["offered", "answered", "answered_in_sl", "abandoned", "cancelled", "transferred", "wait_sum",
                "handle_sum", "handled", *WAIT_BUCKET_COLUMNS, *[f"rating_{n}" for n in range(1, 6)]]
        # One pass over the period's rollup rows, per reason and agent: the totals, the
        # reasons and the agents are sums of these few groups.
        groups = conn.execute(sa.select(h.reason, h.agent, *[sa.func.sum(h[name]) for name in sums])
                              .where(*where.where(handoff_hours)).group_by(h.reason, h.agent)).fetchall()
        t = {name: 0.0 for name in sums}
        by_reason: Dict[str, int] = {}
        by_agent: Dict[str, Dict[str, float]] = {}
        for reason, agent, *values in groups:
            values = dict(zip(sums, (float(v or 0) for v in values)))
            for name in sums:
                t[name] += values[name]
            by_reason[reason or ""] = by_reason.get(reason or "", 0) + int(values["offered"])
            if agent:
                mine = by_agent.setdefault(agent, {name: 0.0 for name in sums})
                for name in sums:
                    mine[name] += values[name]
        reasons = sorted(by_reason.items(), key=lambda item: (-item[1], item[0]))
        ratings = {n: int(t[f"rating_{n}"]) for n in range(1, 6)}
        rated = sum(ratings.values())
        handled = t["handled"]
        return {
            "handoffs": {
                "offered": int(t["offered"]), "answered": int(t["answered"]), "abandoned": int(t["abandoned"]),
                "cancelled": int(t["cancelled"]), "transferred": int(t["transferred"]),
                "answered_in_sl": int(t["answered_in_sl"]),
                "service_level": _ratio(t["answered_in_sl"], t["answered"] + t["abandoned"]),
                "service_level_seconds": self.service_level_seconds,
                "abandonment_rate": _ratio(t["abandoned"], t["offered"] - t["cancelled"]),
                "average_speed_of_answer": round(t["wait_sum"] / t["answered"], 1) if t["answered"] else None,
                "average_handle_time": round(t["handle_sum"] / handled, 1) if handled else None,
                "wait_distribution": {name: int(t[name]) for name in WAIT_BUCKET_COLUMNS},
            },
            "reasons": [{"reason": r, "count": n} for r, n in reasons],
            "csat": {
                "distribution": ratings, "rated": rated,
                "satisfied_rate": _ratio(ratings[4] + ratings[5], rated),
                "average": round(sum(n * k for n, k in ratings.items()) / rated, 2) if rated else None,
            },
            "agents": [_agent_figures(agent, by_agent[agent]) for agent in sorted(by_agent)],
        }

    def _intents(self, conn, where: HistoryFilter) -> List[Dict[str, Any]]:
        i = intent_hours.c
        messages = sa.func.sum(i.messages)
        rows = conn.execute(sa.select(i.intent, messages, sa.func.sum(i.fallbacks)).where(*where.where(intent_hours))
                            .group_by(i.intent).order_by(messages.desc(), i.intent).limit(TOP)).fetchall()
        return [{"intent": r[0], "messages": int(r[1] or 0), "fallbacks": int(r[2] or 0),
                 "fallback_rate": _ratio(int(r[2] or 0), int(r[1] or 0))} for r in rows]

    def _faqs(self, conn, where: HistoryFilter) -> List[Dict[str, Any]]:
        f = faq_hours.c
        shown = sa.func.sum(f.shown)
        rows = conn.execute(sa.select(f.faq, shown, sa.func.sum(f.helpful), sa.func.sum(f.not_helpful))
                            .where(*where.where(faq_hours)).group_by(f.faq).order_by(shown.desc(), f.faq).limit(TOP)).fetchall()
        return [{"faq": r[0], "shown": int(r[1] or 0), "helpful": int(r[2] or 0), "not_helpful": int(r[3] or 0),
                 "helpful_rate": _ratio(int(r[2] or 0), int(r[2] or 0) + int(r[3] or 0))} for r in rows]

    def _comments(self, conn, where: HistoryFilter) -> List[Dict[str, Any]]:
        h = desk.handoffs.c
        clauses = [h.created_at >= where.since, h.created_at < where.until, h.rating_comment.isnot(None)]
        for name, column in (("channel", h.input_channel), ("language", h.language), ("skill_group", h.skill_group),
                             ("agent", h.agent_username)):
            if getattr(where, name):
                clauses.append(column == getattr(where, name))
        rows = conn.execute(sa.select(h.rated_at, h.rating, h.rating_comment, h.agent_username, h.skill_group)
                            .where(*clauses).order_by(h.rated_at.desc()).limit(50)).fetchall()
        # Customers write anything in a comment: secrets and personal data are masked.
        return [{"rated_at": self.local(r.rated_at).isoformat(timespec="minutes") if r.rated_at else None,
                 "rating": r.rating, "comment": mask(r.rating_comment or ""),
                 "agent": r.agent_username, "skill_group": r.skill_group} for r in rows]

    def _series(self, conn, where: HistoryFilter, by_hour: List[tuple]) -> Dict[str, Any]:
        """Per local day: conversations, handoffs, service level (for the charts)."""
        days: Dict[str, Dict[str, float]] = {}

        def day(hour) -> Dict[str, float]:
            key = self.local(_as_datetime(hour)).date().isoformat()
            return days.setdefault(key, {"conversations": 0, "handed_over": 0, "offered": 0, "answered": 0,
                                         "answered_in_sl": 0, "abandoned": 0})

        for bucket, total, handed, *_ in by_hour:
            d = day(bucket)
            d["conversations"] += total
            d["handed_over"] += int(handed or 0)
        h = handoff_hours.c
        for bucket, offered, answered, in_sl, abandoned in conn.execute(sa.select(
                h.hour, sa.func.sum(h.offered), sa.func.sum(h.answered), sa.func.sum(h.answered_in_sl),
                sa.func.sum(h.abandoned)).where(*where.where(handoff_hours)).group_by(h.hour)):
            d = day(bucket)
            d["offered"] += int(offered or 0)
            d["answered"] += int(answered or 0)
            d["answered_in_sl"] += int(in_sl or 0)
            d["abandoned"] += int(abandoned or 0)
        ordered = sorted(days)
        return {
            "days": ordered,
            "conversations": [int(days[d]["conversations"]) for d in ordered],
            "handoffs": [int(days[d]["offered"]) for d in ordered],
            "containment": [_ratio(days[d]["conversations"] - days[d]["handed_over"], days[d]["conversations"]) for d in ordered],
            "service_level": [_ratio(days[d]["answered_in_sl"], days[d]["answered"] + days[d]["abandoned"]) for d in ordered],
        }

    def filter_choices(self, where: HistoryFilter) -> Dict[str, List[str]]:
        """The values each filter can take in the chosen period (from the hourly rollups)."""
        with self.engine.connect() as conn:
            def distinct(column):
                table = column.table
                return [v for (v,) in conn.execute(sa.select(column).distinct().where(
                    table.c.hour >= where.since, table.c.hour < where.until).order_by(column)) if v]
            return {
                "channel": distinct(intent_hours.c.channel),
                "language": distinct(intent_hours.c.language),
                "skill_group": distinct(handoff_hours.c.skill_group),
                "agent": distinct(handoff_hours.c.agent),
                "intent": distinct(intent_hours.c.intent)[:200],
            }

    # --- wallboard ----------------------------------------------------------------------

    def wallboard(self, now: Optional[dt.datetime] = None) -> Dict[str, Any]:
        now = now or dt.datetime.utcnow()
        h = desk.handoffs.c
        with self.engine.connect() as conn:
            queued = conn.execute(sa.select(h.skill_group, h.language, sa.func.count(), sa.func.min(h.created_at))
                                  .where(h.status == "queued").group_by(h.skill_group, h.language)).fetchall()
            chats = dict(conn.execute(sa.select(h.agent_username, sa.func.count()).where(h.status == "active")
                                      .group_by(h.agent_username)).fetchall())
            agents = conn.execute(sa.select(desk.agent_status).order_by(desk.agent_status.c.username)).fetchall()
            last_hour = conn.execute(sa.select(
                h.id, h.status, h.reason, h.language, h.input_channel, h.agent_username, h.created_at, h.accepted_at,
                h.closed_at, h.skill_group, h.abandoned_at, h.rating).where(h.created_at >= now - dt.timedelta(hours=1))).fetchall()
            day = conn.execute(sa.select(sa.func.sum(handoff_hours.c.handle_sum), sa.func.sum(handoff_hours.c.handled),
                                         handoff_hours.c.skill_group)
                               .where(handoff_hours.c.hour >= now - dt.timedelta(days=1))
                               .group_by(handoff_hours.c.skill_group)).fetchall()
            recent_ratings = [r for (r,) in conn.execute(sa.select(h.rating).where(h.rating.isnot(None))
                                                         .order_by(h.rated_at.desc()).limit(NEGATIVE_STREAK))]
            bots = conn.execute(sa.select(sa.func.count()).where(
                conversations.c.last_event_at >= now - BOT_ACTIVE_WINDOW, conversations.c.user_messages > 0,
                sa.not_(conversations.c.handed_over))).scalar() or 0
        handle_time = {g: float(s) / n for s, n, g in day if n}
        agent_rows = []
        for a in agents:
            skills = _json_list(a.skills)
            agent_rows.append({"agent": a.username, "status": a.status, "chats": int(chats.get(a.username, 0)),
                               "capacity": int(a.capacity or 0), "skills": skills,
                               "languages": _json_list(a.languages)})
        queues = []
        for skill_group, language, waiting, oldest in queued:
            online = [a for a in agent_rows if a["status"] == "online"
                      and (not a["skills"] or skill_group in a["skills"])
                      and (not a["languages"] or language in a["languages"])]
            aht = handle_time.get(skill_group, DEFAULT_HANDLE_SECONDS)
            free = sum(max(0, a["capacity"] - a["chats"]) for a in online)
            # Expected wait of the next customer to join: none while a seat is free; else the
            # queue ahead drains at (online agents' capacity) chats per average handle time.
            capacity = sum(a["capacity"] for a in online)
            expected = None if not online else (0.0 if free > waiting else round((waiting + 1 - free) * aht / max(1, capacity), 1))
            queues.append({"skill_group": skill_group, "language": language, "waiting": int(waiting),
                           "longest_wait": round(max(0.0, (now - oldest).total_seconds()), 1),
                           "expected_wait": expected, "agents_online": len(online)})
        queues.sort(key=lambda q: (-q["longest_wait"], q["skill_group"], q["language"]))
        hour_totals = aggregate_handoffs(last_hour, {}, self.service_level_seconds)
        answered = sum(r["answered"] for r in hour_totals)
        in_sl = sum(r["answered_in_sl"] for r in hour_totals)
        abandoned = sum(r["abandoned"] for r in hour_totals)
        offered = sum(r["offered"] for r in hour_totals) - sum(r["cancelled"] for r in hour_totals)
        service_level = _ratio(in_sl, answered + abandoned)
        abandonment = _ratio(abandoned, offered)
        alerts = []
        for q in queues:
            if q["longest_wait"] > self.wait_alert_seconds:
                alerts.append({"kind": "wait", "skill_group": q["skill_group"], "language": q["language"],
                               "value": q["longest_wait"], "limit": self.wait_alert_seconds})
        if abandonment is not None and abandonment > self.abandon_alert_rate:
            alerts.append({"kind": "abandonment", "value": abandonment, "limit": self.abandon_alert_rate})
        if len(recent_ratings) == NEGATIVE_STREAK and all(r <= NEGATIVE_RATING for r in recent_ratings):
            alerts.append({"kind": "negative_ratings", "value": NEGATIVE_STREAK, "limit": NEGATIVE_RATING})
        if service_level is not None and service_level < self.service_level_target:
            alerts.append({"kind": "service_level", "value": service_level, "limit": self.service_level_target})
        return {
            "queues": queues,
            "waiting": sum(q["waiting"] for q in queues),
            "agents": agent_rows,
            "agents_by_status": {s: sum(1 for a in agent_rows if a["status"] == s) for s in ("online", "away", "offline")},
            "service_level_last_hour": service_level,
            "answered_last_hour": answered,
            "abandoned_last_hour": abandoned,
            "abandonment_last_hour": abandonment,
            "service_level_seconds": self.service_level_seconds,
            "bot_conversations": int(bots),
            "alerts": alerts,
            "as_of": self.local(now).isoformat(timespec="seconds"),
        }

    # --- staffing forecast --------------------------------------------------------------

    def forecast(self, now: Optional[dt.datetime] = None, hours: int = 8, days: int = 28,
                 max_occupancy: float = 0.85) -> Dict[str, Any]:
        """Agents each skill group needs in the next ``hours`` (Erlang C, pyworkforce)."""
        from pyworkforce.queuing import ErlangC  # heavy import (numpy, joblib): only when asked

        now = now or dt.datetime.utcnow()
        start = now - dt.timedelta(days=days)
        h = handoff_hours.c
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(h.hour, h.skill_group, sa.func.sum(h.offered), sa.func.sum(h.handle_sum),
                                          sa.func.sum(h.handled))
                                .where(h.hour >= hour_floor(start), h.hour < hour_floor(now))
                                .group_by(h.hour, h.skill_group)).fetchall()
            agents = conn.execute(sa.select(desk.agent_status)).fetchall()
        arrivals: Dict[str, Dict[int, float]] = {}
        handle: Dict[str, List[float]] = {}
        for hour, group, offered, handle_sum, handled in rows:
            local_hour = self.local(_as_datetime(hour)).hour
            arrivals.setdefault(group, {}).setdefault(local_hour, 0.0)
            arrivals[group][local_hour] += float(offered or 0)
            totals = handle.setdefault(group, [0.0, 0.0])
            totals[0] += float(handle_sum or 0)
            totals[1] += float(handled or 0)
        online = {}
        for a in agents:
            if a.status == "online":
                for group in _json_list(a.skills) or list(arrivals):
                    online[group] = online.get(group, 0) + 1
        groups = []
        for group in sorted(arrivals):
            aht = handle[group][0] / handle[group][1] if handle[group][1] else DEFAULT_HANDLE_SECONDS
            hours_out = []
            for step in range(hours):
                local_start = self.local(hour_floor(now) + dt.timedelta(hours=step))
                rate = arrivals[group].get(local_start.hour, 0.0) / days
                needed, achieved = 0, None
                if rate > 0:
                    erlang = ErlangC(transactions=rate, aht=aht / 60, asa=self.service_level_seconds / 60, interval=60)
                    result = erlang.required_positions(service_level=self.service_level_target, max_occupancy=max_occupancy)
                    needed, achieved = int(result["positions"]), round(float(result["service_level"]), 4)
                hours_out.append({"hour": local_start.strftime("%H:00"), "arrivals_per_hour": round(rate, 2),
                                  "agents_needed": needed, "expected_service_level": achieved})
            groups.append({"skill_group": group, "average_handle_time": round(aht, 1), "online": online.get(group, 0),
                           "hours": hours_out})
        return {"groups": groups, "days": days, "service_level_seconds": self.service_level_seconds,
                "service_level_target": self.service_level_target, "max_occupancy": max_occupancy}


def _agent_figures(agent: str, t: Dict[str, float]) -> Dict[str, Any]:
    rated = sum(int(t[f"rating_{n}"]) for n in range(1, 6))
    return {
        "agent": agent, "answered": int(t["answered"]), "handled": int(t["handled"]),
        "average_handle_time": round(t["handle_sum"] / int(t["handled"]), 1) if t["handled"] else None,
        "transferred": int(t["transferred"]), "rated": rated,
        "average_rating": round(sum(n * int(t[f"rating_{n}"]) for n in range(1, 6)) / rated, 2) if rated else None,
    }


def hour_floor(moment: dt.datetime) -> dt.datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _json_list(value) -> List[str]:
    if not value:
        return []
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        return []
    return [str(v) for v in parsed] if isinstance(parsed, list) else []
