"""CPU per message of each process under a fixed scripted load, and where Rasa's time goes.

    python -m bench.profile_load --customers 30 [--py-spy PATH] [--out DIR]

Starts the full stack (tests/integration/stack.py), plays `make bench-load`'s conversation
with a fixed number of customers (bench/load_client.py, in .venv-client) and prints, per
process, CPU seconds divided by the messages answered. CPU seconds do not depend on how busy
the machine is the way wall-clock latencies do, so before/after figures of a change can be
compared on a shared machine. With ``--py-spy`` (a py-spy binary; not a project
dependency) the Rasa and action server processes are sampled during the run and
their profiles written as speedscope and flame-graph files to ``--out``.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from bench.load import FULL_STACK_SCRIPT, ProcessMeter, pct, run_client
from tests.integration.stack import Stack


def handled_messages(stack: Stack) -> int:
    """Customer messages Rasa has stored (user events in the tracker store)."""
    engine = sa.create_engine(stack.settings.rasa_tracker_db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT COUNT(*) FROM events WHERE type_name = 'user'")).scalar() or 0
    finally:
        engine.dispose()


def wait_until_quiet(stack: Stack, quiet: float = 10.0, limit: float = 600.0) -> int:
    """The handled count once it has not changed for ``quiet`` seconds (bounded by ``limit``)."""
    deadline = time.monotonic() + limit
    count, since = handled_messages(stack), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < quiet:
        time.sleep(1)  # polling a count in a benchmark, not synchronising a test
        now = handled_messages(stack)
        if now != count:
            count, since = now, time.monotonic()
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=30)
    parser.add_argument("--py-spy", help="path of a py-spy binary to sample Rasa and the action server with")
    parser.add_argument("--out", default="var/profile", help="where py-spy's profiles go")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack.start(Path(tmp) / "full", {})
        samplers = []
        try:
            pids = {name: p.pid for name, p in stack.processes.items()}
            # One conversation first, so lazy start-up work is not counted.
            run_client({"url": stack.settings.rasa_url, "persistent": True, "script": FULL_STACK_SCRIPT,
                        "customers": 1, "idle": 0})
            if args.py_spy:
                for name in ("rasa", "actions"):
                    for fmt, ext in (("raw", "txt"), ("speedscope", "json")):
                        samplers.append(subprocess.Popen(
                            [args.py_spy, "record", "--pid", str(pids[name]), "--format", fmt, "--rate", "50",
                             "--output", str(out / f"{name}.{ext}"), "--nonblocking"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            job = {"url": stack.settings.rasa_url, "persistent": True, "script": FULL_STACK_SCRIPT,
                   "customers": args.customers, "idle": 0}
            handled_before = handled_messages(stack)
            with ProcessMeter(pids) as meter:
                results = run_client(job)
                # Messages the client gave up on are still handled: wait until Rasa is done with them.
                handled = wait_until_quiet(stack)
            handled -= handled_before
            for sampler in samplers:
                sampler.send_signal(2)  # SIGINT: py-spy writes its profile and exits
            for sampler in samplers:
                sampler.wait(timeout=60)
            logs = {name: (stack.log_dir / f"{name}.log").read_text(errors="replace") for name in pids}
            for name, text in logs.items():
                (out / f"{name}.log").write_text(text)
        finally:
            stack.stop()
    figures = {
        "customers": args.customers,
        "messages handled by Rasa": handled,
        "replies within the client's deadline": results.sent - results.lost,
        "CPU ms per message handled": {name: round(1000 * cpu / max(1, handled), 1) for name, cpu in meter.cpu.items()},
        "p95 ms (loaded machine)": pct(results.all(), 95),
        "burst gap p95 ms (loaded machine)": pct(results.burst_gaps, 95),
        "tracebacks in logs": {name: text.count("Traceback") for name, text in logs.items()},
    }
    print(json.dumps(figures, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
