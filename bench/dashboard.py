"""Dashboard benchmarks (issue #13): history and wallboard queries with 100k
conversations in PostgreSQL, the wallboard's update delay after a desk change, and
what the summary tables cost per bot message.

    python -m bench.dashboard [--database-url postgresql://postgres@127.0.0.1:5432/postgres] [--conversations 100000]

Runs in a database of its own (created and dropped). The desk's handoff columns
are created as the desk contract names them when the desk's migration is not there.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Dict, Optional

import aiohttp
import sqlalchemy as sa
from aiohttp import web

from bench import report
from bot.database import create_engine, migrate
from handoff_service.dashboard import desk_records as desk
from handoff_service.dashboard.live import WallboardPusher
from handoff_service.dashboard.queries import Dashboard, HistoryFilter
from handoff_service.dashboard.storage import conversation_hours, conversations, faq_hours, intent_hours
from handoff_service.dashboard.summary import HandoffRollup, SummaryHandler, _interesting, conversation_figures
from handoff_service.hub import AgentHub

COMMAND = "python -m bench.dashboard"
DAYS = 30
INTENTS = ["faq", "human_handoff", "check_balance", "greet", "nlu_fallback", "chitchat", "faq_helpful", "faq_not_helpful"]
CHANNELS = ["socketio", "rest", "telegram", "wecom"]
LANGUAGES = ["zh-Hans", "zh-Hant", "en"]
GROUPS = ["billing", "technical", "sales", "general"]
REASONS = ["explicit_request", "repeated_misunderstanding", "frustration", "faq_not_helpful", "business_rule:complaint"]


def ensure_desk_schema(engine) -> None:
    # The same stand-in as the tests use until the desk's migration 0009 is merged.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.dashboard_fixtures import ensure_desk_schema as ensure

    ensure(engine)


def fill(engine, count: int, now: dt.datetime) -> None:
    rng = random.Random(13)
    start = now - dt.timedelta(days=DAYS)
    batch, intents, faqs, handoffs, conversation_rows = [], {}, {}, [], {}
    for i in range(count):
        started = start + dt.timedelta(seconds=rng.random() * DAYS * 86400)
        channel, language = rng.choice(CHANNELS), rng.choice(LANGUAGES)
        handed = rng.random() < 0.3
        first = rng.choice(INTENTS[:6])
        batch.append(dict(conversation_id=f"s{i}", started_event_id=i * 10, last_event_id=i * 10 + 9, started_at=started,
                          last_event_at=started + dt.timedelta(minutes=3), channel=channel, language=language,
                          customer_key=f"sender:s{i % (count // 2)}", first_intent=first, last_intent=first,
                          user_messages=rng.randint(1, 6), fallbacks=rng.randint(0, 1),
                          last_user_fallback=rng.random() < 0.1, faq_answers=1, last_faq=f"faq-{rng.randint(1, 60)}",
                          faq_helpful=int(rng.random() < 0.3), faq_not_helpful=int(rng.random() < 0.1),
                          last_feedback=rng.choice([None, "helpful", "not_helpful"]), handed_over=handed,
                          recontacted=rng.random() < 0.1))
        figures = conversation_figures(batch[-1])  # what the handler would have added to the hour
        if figures:
            hour_row = conversation_rows.setdefault(tuple(figures[0].items()), dict(figures[0]))
            for name, n in figures[1].items():
                hour_row[name] = hour_row.get(name, 0) + n
        hour = started.replace(minute=0, second=0, microsecond=0)
        key = (hour, first, channel, language)
        intents[key] = intents.get(key, 0) + 1
        fkey = (hour, f"faq-{rng.randint(1, 60)}", channel, language)
        faqs[fkey] = faqs.get(fkey, 0) + 1
        if handed:
            waited = rng.expovariate(1 / 40)
            status = rng.choices(["closed", "abandoned", "cancelled"], [0.85, 0.1, 0.05])[0]
            accepted = started + dt.timedelta(seconds=waited) if status == "closed" else None
            handoffs.append(dict(conversation_id=f"s{i}", status=status, reason=rng.choice(REASONS), language=language,
                                 input_channel=channel, agent_username=f"agent{rng.randint(1, 30)}" if accepted else None,
                                 created_at=started, accepted_at=accepted,
                                 closed_at=accepted + dt.timedelta(seconds=rng.expovariate(1 / 300)) if accepted else None,
                                 skill_group=rng.choice(GROUPS), priority=0,
                                 abandoned_at=started + dt.timedelta(seconds=waited) if status != "closed" else None,
                                 rating=rng.randint(1, 5) if accepted and rng.random() < 0.4 else None,
                                 rating_comment="ok" if accepted and rng.random() < 0.05 else None,
                                 rated_at=accepted + dt.timedelta(minutes=10) if accepted else None))
    with engine.begin() as conn:
        for k in range(0, len(batch), 5000):
            conn.execute(conversations.insert(), batch[k:k + 5000])
        conn.execute(conversation_hours.insert(), list(conversation_rows.values()))
        conn.execute(intent_hours.insert(), [dict(hour=h, intent=i, channel=c, language=l, messages=n, fallbacks=0)
                                             for (h, i, c, l), n in intents.items()])
        conn.execute(faq_hours.insert(), [dict(hour=h, faq=f, channel=c, language=l, shown=n, helpful=0, not_helpful=0)
                                          for (h, f, c, l), n in faqs.items()])
        for k in range(0, len(handoffs), 5000):
            conn.execute(desk.handoffs.insert(), handoffs[k:k + 5000])
        conn.execute(desk.agent_status.insert(), [dict(username=f"agent{n}", status=random.choice(["online", "away"]),
                                                       capacity=3, skills=json.dumps([GROUPS[n % 4]]), languages="[]",
                                                       updated_at=now) for n in range(1, 31)])


def timed(fn, runs: int):
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        times.append((time.perf_counter() - began) * 1000)
    return times


def _server_cpu_ticks(engine) -> Dict[int, int]:
    """CPU clock ticks used so far by each PostgreSQL server process of this database (when the
    server runs on this machine and /proc shows it; else empty)."""
    with engine.connect() as conn:
        pids = [pid for (pid,) in conn.execute(sa.text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"))]
    ticks = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks[pid] = int(fields[11]) + int(fields[12])  # utime + stime
    return ticks


def cpu_of(engine, fn):
    """(fn's result, the CPU ms it cost this process and the database server together, or None
    when the server's processes cannot be seen): unlike wall-clock times, this hardly depends
    on what else the shared machine is doing."""
    before, began = _server_cpu_ticks(engine), time.process_time()
    result = fn()
    client = time.process_time() - began
    after = _server_cpu_ticks(engine)
    if not after:
        return result, None
    server = sum(t - before.get(pid, 0) for pid, t in after.items()) / os.sysconf("SC_CLK_TCK")
    return result, (client + server) * 1000


def cpu_per_call(engine, fn, runs: int) -> Optional[float]:
    """Mean CPU ms of one call of fn (see ``cpu_of``)."""
    _, spent = cpu_of(engine, lambda: [fn() for _ in range(runs)])
    return spent / runs if spent is not None else None


def per_message_cost(engine, messages: int = 1000):
    """ms the summary handler adds per customer message and per bot message (one conversation each 5 turns)."""
    handler = SummaryHandler(engine)
    base = 10_000_000
    user_times, bot_times = [], []
    now = time.time()
    for n in range(messages):
        sender = f"bench-{n // 5}"
        event_id = base + n * 3
        if n % 5 == 0:
            handler.apply(event_id, sender, {"event": "session_started", "timestamp": now})
        user = {"event": "user", "text": "hi", "timestamp": now, "input_channel": "socketio",
                "parse_data": {"intent": {"name": "faq"}, "entities": []}}
        bot = {"event": "bot", "text": "answer", "timestamp": now}
        for times, offset, event in ((user_times, 1, user), (bot_times, 2, bot)):
            began = time.perf_counter()
            if _interesting(event):  # what SummaryHandler.__call__ does, without the thread hop
                handler.apply(event_id + offset, sender, event)
            times.append((time.perf_counter() - began) * 1000)
    handler.close()
    return user_times, bot_times


def per_message_cost_in_batches(engine, messages: int = 1000, batch: int = 200):
    """ms the summary handler adds per customer message when the consumer reads full batches
    (``batch`` stream rows, as when it is behind: under load), each batch at once as
    ``EventStreamConsumer`` hands it over: one value per batch (its time / its customer messages)."""
    handler = SummaryHandler(engine)
    now = time.time()
    rows = []
    for n in range(messages):
        sender, event_id = f"bench-batch-{n // 5}", 20_000_000 + n * 4
        if n % 5 == 0:
            rows.append((event_id, sender, {"event": "session_started", "timestamp": now}))
        rows.append((event_id + 1, sender, {"event": "user", "text": "hi", "timestamp": now, "input_channel": "socketio",
                                            "parse_data": {"intent": {"name": "faq"}, "entities": []}}))
        rows.append((event_id + 2, sender, {"event": "action", "name": "action_listen", "timestamp": now}))
        rows.append((event_id + 3, sender, {"event": "bot", "text": "answer", "timestamp": now}))
    costs = []
    for k in range(0, len(rows), batch):
        chunk = rows[k:k + batch]
        began = time.perf_counter()
        handler.apply_many([row for row in chunk if _interesting(row[2])])  # handle_batch, without the thread hop
        spent = (time.perf_counter() - began) * 1000
        costs.append(spent / max(1, sum(1 for r in chunk if r[2]["event"] == "user")))
    handler.close()
    return costs


async def wallboard_delay(engine, dashboard: Dashboard, samples: int = 20):
    """Seconds from a desk change committed to a connected wallboard receiving it."""
    hub = AgentHub()
    pusher = WallboardPusher(dashboard, hub)

    async def ws_handler(request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        hub.add(ws, "bench", 0)
        async for _ in ws:
            pass
        return ws

    app = web.Application()
    app.router.add_get("/ws", ws_handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    task = asyncio.create_task(pusher.run())
    delays = []
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"http://127.0.0.1:{port}/ws") as ws:
            await ws.receive()  # the first push
            for n in range(samples):
                await asyncio.sleep(random.random() * 0.5)  # changes come at any moment of the push cycle
                changed_at = time.perf_counter()
                await asyncio.to_thread(_queue_one, engine, n)
                while True:
                    message = json.loads((await ws.receive()).data)
                    if message["wallboard"]["waiting"] == n + 1:
                        break
                delays.append((time.perf_counter() - changed_at) * 1000)
    task.cancel()
    await runner.cleanup()
    return delays


def _queue_one(engine, n: int) -> None:
    with engine.begin() as conn:
        conn.execute(desk.handoffs.insert().values(conversation_id=f"wb-{n}-{uuid.uuid4().hex[:6]}", status="queued",
                                                   reason="explicit_request", language="zh-Hans",
                                                   created_at=dt.datetime.utcnow(), skill_group="billing", priority=0))


def run(url: str, count: int) -> list:
    engine = create_engine(url)
    migrate(url)
    ensure_desk_schema(engine)
    now = dt.datetime.utcnow()
    began = time.perf_counter()
    fill(engine, count, now)
    print(f"filled {count} conversations in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    dashboard = Dashboard(engine)
    HandoffRollup(engine, 20).refresh(now, since=now - dt.timedelta(days=DAYS + 1))
    # The planner's statistics as autovacuum keeps them (it analyses a table after this many
    # new rows): without, it takes the freshly filled rollups for empty tables.
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("ANALYZE"))
    week = HistoryFilter(since=now - dt.timedelta(days=7), until=now)
    month = HistoryFilter(since=now - dt.timedelta(days=DAYS), until=now)
    filtered = HistoryFilter(since=now - dt.timedelta(days=DAYS), until=now, channel="telegram", language="en")
    dashboard.history(week)  # warm
    results = {
        "history 7 days": timed(lambda: dashboard.history(week), 30),
        "history 30 days": timed(lambda: dashboard.history(month), 30),
        "history 30 days filtered": timed(lambda: dashboard.history(filtered), 30),
        "wallboard snapshot": timed(dashboard.wallboard, 30),
        "handoff rollup refresh (last day)": timed(lambda: HandoffRollup(engine, 20).refresh(), 10),
    }
    results["calibration: one-row insert + commit"] = timed(lambda: _one_commit(engine), 200)
    cpu = {"history 7 days": cpu_per_call(engine, lambda: dashboard.history(week), 30),
           "history 30 days": cpu_per_call(engine, lambda: dashboard.history(month), 30),
           "history 30 days filtered": cpu_per_call(engine, lambda: dashboard.history(filtered), 30)}
    (user_times, bot_times), spent = cpu_of(engine, lambda: per_message_cost(engine))
    cpu["summaries per customer message, one at a time"] = spent / len(user_times) if spent is not None else None
    batched, spent = cpu_of(engine, lambda: per_message_cost_in_batches(engine))
    cpu["summaries per customer message, in full consumer batches"] = spent / 1000 if spent is not None else None
    delays = asyncio.run(wallboard_delay(engine, dashboard))
    engine.dispose()
    return results, cpu, user_times, bot_times, batched, delays


def _one_commit(engine) -> None:
    """What one durable write costs on this machine now: the yardstick for the rest
    (DESIGN.md: ~0.55 ms for PostgreSQL on this machine when quiet)."""
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO dash_state (name, value) VALUES (:n, 'x')"), {"n": uuid.uuid4().hex})


def main() -> int:
    parser = argparse.ArgumentParser(prog=COMMAND)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--conversations", type=int, default=100_000)
    args = parser.parse_args()
    name = f"bench_dashboard_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(args.database_url).set(database=name).render_as_string(hide_password=False)
    try:
        results, cpu, user_times, bot_times, batched, delays = run(url, args.conversations)
        with tempfile.TemporaryDirectory() as tmp:
            sqlite_url = f"sqlite:///{tmp}/bench.db"
            migrate(sqlite_url)
            sqlite_engine = create_engine(sqlite_url)
            sqlite_user, sqlite_bot = per_message_cost(sqlite_engine)
            sqlite_batched = per_message_cost_in_batches(sqlite_engine)
            sqlite_engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    rows = [report.row(f"dashboard {k} p95, {args.conversations // 1000}k conversations (PostgreSQL)",
                       round(report.pct(v, 95), 1), "ms", COMMAND) for k, v in results.items()]
    rows += [
        report.row("wallboard update delay after a desk change p95", round(report.pct(delays, 95)), "ms", COMMAND),
        report.row("summary tables cost per customer message p50 (PostgreSQL)", round(report.pct(user_times, 50), 2), "ms", COMMAND),
        report.row("summary tables cost per customer message p95 (PostgreSQL)", round(report.pct(user_times, 95), 2), "ms", COMMAND),
        report.row("summary tables cost per bot message p50 (PostgreSQL)", round(report.pct(bot_times, 50), 2), "ms", COMMAND),
        report.row("summary tables cost per customer message in full consumer batches p95 (PostgreSQL)",
                   round(report.pct(batched, 95), 2), "ms", COMMAND),
        report.row("summary tables cost per customer message p50 (SQLite)", round(report.pct(sqlite_user, 50), 2), "ms", COMMAND),
        report.row("summary tables cost per bot message p50 (SQLite)", round(report.pct(sqlite_bot, 50), 2), "ms", COMMAND),
        report.row("summary tables cost per customer message in full consumer batches p95 (SQLite)",
                   round(report.pct(sqlite_batched, 95), 2), "ms", COMMAND),
        *[report.row(f"dashboard {k}: CPU, client + PostgreSQL (mean), {args.conversations // 1000}k conversations",
                     round(v, 1), "ms", COMMAND) for k, v in cpu.items() if v is not None],
        # The figures above depend on it: this machine is shared (docs/benchmarks.md says so).
        report.row("dashboard bench: machine load average (1 min) at the end", round(os.getloadavg()[0], 1), "load", COMMAND),
    ]

    lines = [
        "## Dashboard (issue #13)",
        "",
        f"`{COMMAND}` on {time.strftime('%Y-%m-%d')} ({report.machine()}, load average {os.getloadavg()[0]:.1f}: "
        "a machine shared with other work, so figures are pessimistic). "
        f"{args.conversations} conversations over {DAYS} days in PostgreSQL (about 30% handed over), "
        "targets: queries p95 ≤ 200 ms, wallboard delay p95 ≤ 1,000 ms, ≤ 2 ms per bot message.",
        "",
        "| figure | p50 | p95 | unit |",
        "|---|---|---|---|",
        *[f"| {k} | {report.pct(v, 50):.1f} | {report.pct(v, 95):.1f} | ms |" for k, v in results.items()],
        f"| wallboard update delay after a desk change | {report.pct(delays, 50):.0f} | {report.pct(delays, 95):.0f} | ms |",
        f"| summary cost per customer message, PostgreSQL | {report.pct(user_times, 50):.2f} | {report.pct(user_times, 95):.2f} | ms |",
        f"| summary cost per bot message, PostgreSQL | {report.pct(bot_times, 50):.2f} | {report.pct(bot_times, 95):.2f} | ms |",
        f"| summary cost per customer message in full consumer batches (200 rows), PostgreSQL | {report.pct(batched, 50):.2f} | {report.pct(batched, 95):.2f} | ms |",
        f"| summary cost per customer message, SQLite | {report.pct(sqlite_user, 50):.2f} | {report.pct(sqlite_user, 95):.2f} | ms |",
        f"| summary cost per bot message, SQLite | {report.pct(sqlite_bot, 50):.2f} | {report.pct(sqlite_bot, 95):.2f} | ms |",
        f"| summary cost per customer message in full consumer batches (200 rows), SQLite | {report.pct(sqlite_batched, 50):.2f} | {report.pct(sqlite_batched, 95):.2f} | ms |",
    ]
    if any(v is not None for v in cpu.values()):
        lines += ["", "CPU time, this process and the PostgreSQL server together (history: mean of 30 views; summaries: "
                  "per customer message, session starts included): hardly affected by the machine's load, unlike "
                  "the times above.", "",
                  "| figure | CPU ms (mean) |", "|---|---|",
                  *[f"| {k} | {v:.1f} |" for k, v in cpu.items() if v is not None]]
    report.update_json(rows)
    report.write_section("dashboard", "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
