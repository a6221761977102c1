"""`make bench` (accounts): how long an account answer takes end to end, beside a canned reply.

One verified customer on socket.io asks for their bill summary (Rasa → action server →
the accounts stand-in service over HTTP → the app database) and says hello (a canned
response), alternately, in the same run on the same stack; p50 and p95 of each round trip.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench import report
from bench.report import pct
from tests.integration.stack import Stack

COMMAND = "make bench"
PHONE, PIN = "13800138000", "1234"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=50)
    args = parser.parse_args()
    from bot.launcher import train_if_needed
    from bot.settings import Settings

    train_if_needed(Settings.from_env())
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack.start(Path(tmp), {})
        try:
            customer = stack.customer()
            customer.ask("查余额")
            customer.ask(PHONE)
            customer.ask_all(PIN, until=("余额为",))
            account, canned = [], []
            for _ in range(args.messages):
                for text, out in (("查一下我这个月的账单", account), ("你好", canned)):
                    t = time.perf_counter()
                    customer.ask(text)
                    out.append((time.perf_counter() - t) * 1000)
            customer.close()
        finally:
            stack.stop()
    rows = [
        ("reply p50, canned response (greeting; baseline)", f"{pct(canned, 50):.0f} ms", "1.00×"),
        ("reply p95, canned response", f"{pct(canned, 95):.0f} ms", f"{pct(canned, 95) / pct(canned, 50):.2f}× p50"),
        ("reply p50, account answer (bill summary via the accounts service)", f"{pct(account, 50):.0f} ms",
         f"{pct(account, 50) / pct(canned, 50):.2f}× canned p50"),
        ("reply p95, account answer", f"{pct(account, 95):.0f} ms", f"{pct(account, 95) / pct(canned, 95):.2f}× canned p95"),
    ]
    text = [
        "## Account answers",
        "",
        f"Measured by `make bench` ({time.strftime('%Y-%m-%d')}) on {report.machine()}.",
        f"One verified customer, {args.messages} bill questions and {args.messages} greetings alternately,",
        "socket.io round trips; the bill goes Rasa → action server → accounts stand-in (HTTP) → app database.",
        "Taken on a machine shared with other builds (loaded): compare the ratios, not the milliseconds.",
        "",
        "| figure | value | ratio |",
        "|---|---|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows],
        "",
    ]
    report.write_section("account-answers", "\n".join(text))
    report.update_json([
        report.row("account answer p95 end to end (bill summary)", round(pct(account, 95), 1), "ms", COMMAND),
        report.row("account answer p50 end to end (bill summary)", round(pct(account, 50), 1), "ms", COMMAND),
        report.row("canned reply p95, same run as the account answer", round(pct(canned, 95), 1), "ms", COMMAND),
    ])
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
