"""`make bench`: start-up and reply-latency figures, written to docs/benchmarks.md.

Every figure is measured in this run next to a baseline measured in the same run,
and reported as a ratio too, so numbers from different machines can be compared.

* start-up: seconds from process start until each service answers its health check,
  against the bare cost of importing Rasa's agent in a fresh interpreter;
* replies: socket.io round trip (customer sends, bot reply arrives) for a canned
  response (greeting; the baseline) and for an FAQ answered by a custom action that
  reads the knowledge base;
* bursts: a customer sends three FAQ questions back to back; how long after the first
  reply the second and third arrive (Rasa handles one message of a conversation at a
  time; bot/lock_store.py wakes the next one on release instead of a second later).
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import report
from bench.report import pct
from bot.settings import PROJECT_ROOT
from tests.integration.stack import Stack

COMMAND = "make bench"


def import_baseline() -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", "import rasa.core.agent"], check=True, capture_output=True)
    return time.monotonic() - started


def model_load_time() -> float:
    """Seconds to load the trained model, in an interpreter that already imported Rasa."""
    from bot.launcher import model_path
    from bot.settings import Settings

    code = (
        "import time, sys; from rasa.core.agent import Agent; t = time.monotonic(); "
        "Agent.load(sys.argv[1]); print(time.monotonic() - t)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(model_path(Settings.from_env()))],
                         check=True, capture_output=True, text=True, cwd=PROJECT_ROOT)
    return float(out.stdout.strip().splitlines()[-1])


def startup(var_dir: Path) -> dict:
    started = time.monotonic()
    stack = Stack.start(var_dir, {})
    total = time.monotonic() - started
    return {"stack": stack, "total": total}


def latencies(stack: Stack, text: str, n: int, before: str) -> list:
    """``text``'s round trip, ``n`` times, each in a conversation of its own after ``before``.

    Not ``text`` over and over in one conversation: the bot treats that as a customer would
    mean it (a second "你好" within seconds gets no reply of its own, a question asked a third
    time is offered a person: bot/policies.py), so the figure would be of something else.
    """
    out = []
    for i in range(n + 1):
        customer = stack.customer()
        try:
            customer.ask(before)  # the session started, the conversation under way
            t = time.perf_counter()
            customer.ask(text)
            if i:  # the first warms the stack up
                out.append((time.perf_counter() - t) * 1000)
        finally:
            customer.close()
    return out


def first_reply_ms(stack: Stack, text: str) -> float:
    """The very first customer message after a start (nothing warmed up by a previous one)."""
    customer = stack.customer()
    try:
        t = time.perf_counter()
        customer.ask(text)
        return (time.perf_counter() - t) * 1000
    finally:
        customer.close()


def recogniser_cost_ms() -> list:
    """What the privacy recogniser adds to each message (bot/privacy), on the labelled corpus."""
    from bench.eval_privacy import cost_per_message_ms, load_corpus

    return cost_per_message_ms(load_corpus())


def burst_gaps(stack: Stack, questions: list, rounds: int) -> list:
    """Milliseconds from the first reply of a burst to each later reply, over ``rounds`` bursts."""
    gaps = []
    for _ in range(rounds):
        customer = stack.customer()
        try:
            customer.ask("你好")  # warm the conversation up: a burst comes mid-conversation
            for text in questions:
                customer.say(text)
            customer.next_message()
            first = time.perf_counter()
            for _ in questions[1:]:
                customer.next_message()
                gaps.append((time.perf_counter() - first) * 1000)
        finally:
            customer.close()
    return gaps


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=50)
    args = parser.parse_args()
    baseline_import = statistics.median(import_baseline() for _ in range(3))
    model_load = statistics.median(model_load_time() for _ in range(3))
    from bot.launcher import train_if_needed
    from bot.settings import Settings

    train_if_needed(Settings.from_env())  # outside the timing: the model is cached by its data hash
    with tempfile.TemporaryDirectory() as tmp:
        first = startup(Path(tmp) / "first")
        try:
            first_reply = first_reply_ms(first["stack"], "你好")
        finally:
            first["stack"].stop()
        second = startup(Path(tmp) / "second")
        stack = second["stack"]
        try:
            greet = latencies(stack, "你好", args.messages, before="怎么交话费")
            faq = latencies(stack, "怎么交话费", args.messages, before="你好")
            recogniser = recogniser_cost_ms()
            gaps = burst_gaps(stack, ["怎么交话费", "How can I pay my bill?", "怎麼繳話費"], max(5, args.messages // 2))
        finally:
            stack.stop()
    rows = [
        ("stack ready (cold start, empty databases)", f"{first['total']:.1f} s", f"{first['total'] / baseline_import:.2f}× import"),
        ("stack ready (second start, databases exist)", f"{second['total']:.1f} s", f"{second['total'] / baseline_import:.2f}× import"),
        ("  of which Rasa server answering (model loaded)", f"{second['stack'].ready_after['rasa']:.1f} s", f"{second['stack'].ready_after['rasa'] / baseline_import:.2f}× import"),
        ("  of which action server answering", f"{second['stack'].ready_after['actions']:.1f} s", f"{second['stack'].ready_after['actions'] / baseline_import:.2f}× import"),
        ("  of which web service answering", f"{second['stack'].ready_after['web']:.1f} s", f"{second['stack'].ready_after['web'] / baseline_import:.2f}× import"),
        ("model load (`Agent.load`, Rasa already imported)", f"{model_load:.1f} s", f"{model_load / baseline_import:.2f}× import"),
        ("baseline: `import rasa.core.agent` in a new interpreter", f"{baseline_import:.1f} s", "1.00×"),
        ("reply p50, greeting (canned response; baseline)", f"{pct(greet, 50):.0f} ms", "1.00×"),
        ("reply p95, greeting", f"{pct(greet, 95):.0f} ms", f"{pct(greet, 95) / pct(greet, 50):.2f}× p50"),
        ("first reply after a start, greeting", f"{first_reply:.0f} ms", f"{first_reply / pct(greet, 50):.2f}× greeting p50"),
        ("reply p50, FAQ via custom action + knowledge base", f"{pct(faq, 50):.0f} ms", f"{pct(faq, 50) / pct(greet, 50):.2f}× greeting"),
        ("reply p95, FAQ", f"{pct(faq, 95):.0f} ms", f"{pct(faq, 95) / pct(greet, 95):.2f}× greeting p95"),
        ("privacy recogniser per message, p95 (part of every reply)", f"{pct(recogniser, 95):.2f} ms",
         f"{pct(recogniser, 95) / pct(greet, 50):.3f}× greeting p50"),
        ("burst: 2nd and 3rd reply after the 1st, p50", f"{pct(gaps, 50):.0f} ms", f"{pct(gaps, 50) / pct(faq, 50):.2f}× FAQ p50"),
        ("burst: 2nd and 3rd reply after the 1st, p95", f"{pct(gaps, 95):.0f} ms", f"{pct(gaps, 95) / pct(faq, 50):.2f}× FAQ p50"),
    ]
    text = [
        "## Start-up and replies",
        "",
        f"Measured by `make bench` ({time.strftime('%Y-%m-%d')}) on {report.machine()}.",
        "Ratios compare with a baseline measured in the same run. Startup is the time until every",
        "process (Rasa server with the model loaded, action server, web service) answers its health check;",
        f"replies are socket.io round trips of one customer, {args.messages} messages each, sequential;",
        "a burst is three FAQ questions sent back to back (gaps measured from the first reply).",
        "",
        "| figure | value | ratio |",
        "|---|---|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows],
        "",
        "Notes:",
        "- With Rasa's stock `DIETClassifier` the same model took 2.68× import to load (22.5 s against an",
        "  8.4 s import, 2026-11-22, a slower machine of the same kind) and the stack 3.9× import to start;",
        "  `bot/nlu/diet.py` skips tracing the training step on load. Loading fully eagerly would be faster",
        "  still, but predictions then cost ~100 ms instead of ~15 ms.",
        "- jieba's dictionary is loaded before the Rasa server reports healthy (`bot/rasa_server.py`);",
        "  before that, the first message after every start waited for it (0.46 s here, 1.2 s on the",
        "  slower machine).",
        "",
    ]
    report.write_section("startup-and-replies", "\n".join(text))
    report.update_json([
        report.row("stack ready, second start", round(second["total"], 2), "s", COMMAND),
        report.row("model load", round(model_load, 2), "s", COMMAND),
        report.row("reply p50, greeting (canned response)", round(pct(greet, 50), 1), "ms", COMMAND),
        report.row("reply p95, greeting (canned response)", round(pct(greet, 95), 1), "ms", COMMAND),
        report.row("reply p50, FAQ via custom action", round(pct(faq, 50), 1), "ms", COMMAND),
        report.row("reply p95, FAQ via custom action", round(pct(faq, 95), 1), "ms", COMMAND),
        report.row("privacy recogniser cost per message p95", round(pct(recogniser, 95), 3), "ms", COMMAND),
        report.row("burst: 2nd and 3rd replies after the 1st, p95", round(pct(gaps, 95), 1), "ms", COMMAND),
    ])
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
