"""What the shared "handled once" record costs a messaging callback (channels #10).

Every WeChat / WeCom / Telegram callback now asks a record shared by the Rasa replicas
whether it was handled (``bot/channels/callbacks_seen.py``): Redis when the lock store
uses it, else the app database. This times ``first_time`` for new ids (an insert or a
``SET NX``) and for repeats of ids another replica handled (a refused insert / SET), on
each store this machine has, beside the per-process memory it replaced.

    python -m bench.channels [--calls 500] [--database-url postgresql://…] [--redis-url redis://…]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Callable, Dict, List

from bench import report
from bench.report import pct

COMMAND = "python -m bench.channels"


async def _time_calls(make_store: Callable[[], object], calls: int) -> Dict[str, List[float]]:
    """Milliseconds per first_time: new ids on one replica, then the same ids on another (repeats;
    the same store again for the per-process memory)."""
    first, other = make_store(), make_store()
    ids = [uuid.uuid4().hex for _ in range(calls)]
    new, repeat = [], []
    for key in ids:
        t = time.perf_counter()
        assert await first.first_time(key)
        new.append((time.perf_counter() - t) * 1000)
    for key in ids:
        t = time.perf_counter()
        assert not await other.first_time(key)
        repeat.append((time.perf_counter() - t) * 1000)
    for store in (first, other):
        await store.close()
    return {"new": new, "repeat": repeat}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL", ""))
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args()

    from bot.channels.callbacks_seen import CallbacksSeen, RedisCallbacksSeen, SqlCallbacksSeen
    from bot.database import create_engine, migrate

    results: Dict[str, Dict[str, List[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        memory = CallbacksSeen("bench")  # one process: it sees its own repeats only
        results["process memory (before: not shared)"] = asyncio.run(_time_calls(lambda: memory, args.calls))
        sqlite_url = f"sqlite:///{Path(tmp) / 'app.db'}"
        migrate(sqlite_url)
        engine = create_engine(sqlite_url)
        results["SQLite app database"] = asyncio.run(
            _time_calls(lambda: SqlCallbacksSeen("bench", lambda: engine), args.calls))
        engine.dispose()
    if args.database_url:
        from tests.conftest import _create_pg_database, _drop_pg_database

        admin, name, url = _create_pg_database(args.database_url)
        try:
            migrate(url)
            engine = create_engine(url)
            results["PostgreSQL app database"] = asyncio.run(
                _time_calls(lambda: SqlCallbacksSeen("bench", lambda: engine), args.calls))
            engine.dispose()
        finally:
            _drop_pg_database(admin, name)
    if args.redis_url:
        import redis

        try:
            redis.Redis.from_url(args.redis_url, socket_timeout=2).ping()
        except redis.exceptions.ConnectionError:
            pass
        else:
            channel = f"bench-{uuid.uuid4().hex}"  # this run's keys apart from earlier runs'
            results["Redis"] = asyncio.run(_time_calls(lambda: RedisCallbacksSeen(channel, args.redis_url), args.calls))

    rows, lines = [], []
    for store, figures in results.items():
        for kind, label in (("new", "new id"), ("repeat", "repeat")):
            p50, p95 = pct(figures[kind], 50), pct(figures[kind], 95)
            lines.append(f"| {store} | {label} | {p50:.2f} ms | {p95:.2f} ms |")
            for p, value in (("p50", p50), ("p95", p95)):
                rows.append(report.row(f"channels: callback handled-once check, {store}, {label} {p}",
                                       round(value, 3), "ms", COMMAND))
    report.update_json(rows)
    report.write_section("channels", "\n".join([
        "## Messaging callbacks handled once across replicas",
        "",
        f"Measured by `{COMMAND}` ({time.strftime('%Y-%m-%d')}) on {report.machine()}, {args.calls} ids per store,",
        "one id at a time (`CallbacksSeen.first_time`, as a connector calls it per callback). The machine is",
        "shared with other builds: the milliseconds are loaded ones; a bot reply takes hundreds.",
        "",
        "| store | call | p50 | p95 |",
        "|---|---|---|---|",
        *lines,
    ]))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
