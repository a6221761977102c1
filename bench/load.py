"""`make bench-load`: many concurrent customers over socket.io, the full stack against bare Rasa.

Both bots are driven by the same asyncio socket.io client, with the same number of
customers, in the same run:

* **full stack**: the three processes of `make run` (tests/integration/stack.py);
* **bare Rasa**: `rasa init`'s project served by stock `rasa run` with in-memory stores
  and Rasa's own socket.io channel (session persistence off: with it on, stock Rasa 3.6.21
  never delivers a reply, see DESIGN.md).

Each customer plays one conversation of realistic kinds of message: a greeting, an FAQ, an
account question (the full stack's verification: phone, then PIN, then the balance), a
burst of three quick messages, and a handoff request. Bare Rasa's mood bot gets messages of
the same shapes (its greeting, its bot challenge, its mood flow, a burst, a goodbye). A
message's latency is the time from sending it to its first reply; how many replies a message
draws is learnt once per bot before the timed run, so a reply is never credited to the
wrong message. Everything is bounded: a reply that does not come within the deadline is
counted as lost, and the run ends.

Also for the full stack: many idle customers connected while a smaller number is active
(memory per open connection, latency and loss under that load).

The customers run in their own process and environment (bench/load_client.py): python-socketio's
asyncio client needs a newer aiohttp than Rasa 3.6 allows. Loopback only; counts and deadlines
bound every loop.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import psutil

from bench import report
from bench.load_client import Results, Step
from bot.settings import PROJECT_ROOT
from tests.integration.stack import Stack, free_port

COMMAND = "make bench-load"
BARE_DIR = PROJECT_ROOT / "var" / "bench" / "bare-rasa"


FULL_STACK_SCRIPT: List[Step] = [
    ("greeting", "你好"),
    ("faq", "怎么交话费"),
    ("account", "查话费"),
    ("account", "13800138000"),
    ("account", "1234"),
    ("burst", ("在吗", "怎么交话费", "How can I pay my bill?")),
    ("handoff", "转人工"),
]
BARE_RASA_SCRIPT: List[Step] = [
    ("greeting", "hello"),
    ("faq", "are you a bot?"),
    ("account", "I am sad"),
    ("account", "yes"),
    ("account", "I am great"),
    ("burst", ("hi", "are you a bot?", "I am happy")),
    ("handoff", "bye"),
]


CLIENT_PYTHON = PROJECT_ROOT / ".venv-client" / "bin" / "python"


def run_client(job: dict, between=None) -> Results:
    """Run the customers (bench/load_client.py, in .venv-client) and read their results.

    ``between`` is called once the idle customers are connected, before the active ones start.
    """
    if not CLIENT_PYTHON.exists():
        raise SystemExit("The load client's environment is missing: run `make bench-load` (it creates .venv-client).")
    proc = subprocess.Popen([str(CLIENT_PYTHON), str(Path(__file__).with_name("load_client.py")), json.dumps(job)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    last = ""
    for line in proc.stdout:
        if line.strip() == "idle-connected":
            if between is not None:
                between()
            proc.stdin.write("go\n")
            proc.stdin.flush()
        elif line.strip():
            last = line
    if proc.wait() != 0 or not last:
        raise RuntimeError(f"the load client failed (exit {proc.returncode})")
    return Results(**json.loads(last))


class ProcessMeter:
    """CPU seconds and peak memory of some processes (and their children) over a run."""

    def __init__(self, pids: Dict[str, int]):
        self.processes = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.peak_rss: Dict[str, int] = {name: 0 for name in pids}
        self._cpu_start = {name: self._cpu(p) for name, p in self.processes.items()}
        self.cpu: Dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @staticmethod
    def _family(process: psutil.Process) -> List[psutil.Process]:
        return [process, *process.children(recursive=True)]

    def _cpu(self, process: psutil.Process) -> float:
        total = 0.0
        for p in self._family(process):
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.NoSuchProcess:
                pass
        return total

    def rss(self, name: str) -> int:
        total = 0
        for p in self._family(self.processes[name]):
            try:
                total += p.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            for name in self.processes:
                self.peak_rss[name] = max(self.peak_rss[name], self.rss(name))

    def __enter__(self) -> "ProcessMeter":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.cpu = {name: self._cpu(p) - self._cpu_start[name] for name, p in self.processes.items()}


# ---------------------------------------------------------------- bare Rasa
def bare_rasa_model() -> Path:
    """`rasa init`'s project, trained once and kept under var/bench/."""
    models = sorted((BARE_DIR / "models").glob("*.tar.gz")) if BARE_DIR.exists() else []
    if models:
        return models[-1]
    shutil.rmtree(BARE_DIR, ignore_errors=True)
    BARE_DIR.mkdir(parents=True)  # `rasa init` wants the folder to exist
    rasa = Path(sys.executable).with_name("rasa")
    subprocess.run([str(rasa), "init", "--no-prompt", "--init-dir", str(BARE_DIR)], check=True,
                   capture_output=True, env={**_quiet_env(), "RASA_TELEMETRY_ENABLED": "false"})
    return sorted((BARE_DIR / "models").glob("*.tar.gz"))[-1]


def _quiet_env() -> Dict[str, str]:
    import os

    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "RASA_TELEMETRY_ENABLED": "false"}


class BareRasa:
    def __init__(self, work: Path):
        model = bare_rasa_model()
        self.port = free_port()
        credentials = work / "credentials.yml"
        credentials.write_text(
            "socketio:\n  user_message_evt: user_uttered\n  bot_message_evt: bot_uttered\n  session_persistence: false\n"
        )
        self.log = open(work / "bare-rasa.log", "w")
        self.process = subprocess.Popen(
            [str(Path(sys.executable).with_name("rasa")), "run", "--port", str(self.port), "--interface", "127.0.0.1",
             "--credentials", str(credentials), "--model", str(model)],
            cwd=BARE_DIR, env=_quiet_env(), stdout=self.log, stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        self._wait_healthy()

    def _wait_healthy(self, timeout: float = 240) -> None:
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"bare Rasa exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(self.url + "/socket.io/?EIO=4&transport=polling", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)  # polling a health endpoint
        raise TimeoutError("bare Rasa did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


# ---------------------------------------------------------------- report
def pct(values: List[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def measure(url: str, persistent: bool, script: List[Step], customers: int, pids: Dict[str, int]) -> Tuple[Results, ProcessMeter]:
    job = {"url": url, "persistent": persistent, "script": script, "customers": customers, "idle": 0}
    with ProcessMeter(pids) as meter:
        results = run_client(job)
    return results, meter


def idle_and_active(url: str, idle: int, active: int, rasa_pid: int,
                    think: Optional[Tuple[float, float]] = None) -> Tuple[Results, float]:
    """``idle`` customers connected and silent while ``active`` ones talk; bytes of Rasa memory per idle one.

    ``think``: the active customers' pause before each message, as (shortest, longest) seconds
    (bench/load_client.py); None sends as fast as replies come."""
    meter = ProcessMeter({"rasa": rasa_pid})
    before = meter.rss("rasa")
    after: List[int] = []
    job = {"url": url, "persistent": True, "script": FULL_STACK_SCRIPT, "customers": active, "idle": idle,
           "think": list(think) if think else None}
    results = run_client(job, between=lambda: after.append(meter.rss("rasa")))
    return results, (after[0] - before) / max(1, idle)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument("--idle", type=int, default=5000)
    parser.add_argument("--active", type=int, default=200)
    parser.add_argument("--think", type=float, nargs=2, default=(5.0, 25.0), metavar=("SHORTEST", "LONGEST"),
                        help="seconds an active customer takes to read a reply and type the next message "
                             "(the idle + active run at human pace)")
    parser.add_argument("--only-idle", action="store_true",
                        help="only the idle + active runs, printed and not written to docs/ (while tuning)")
    args = parser.parse_args()
    think = tuple(args.think)

    from bot.launcher import train_if_needed
    from bot.settings import Settings

    train_if_needed(Settings.from_env())
    if not args.only_idle:
        bare_rasa_model()  # trained outside every timing
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if not args.only_idle:
            bare = BareRasa(work)
            try:
                bare_results, bare_meter = measure(bare.url, False, BARE_RASA_SCRIPT, args.customers, {"rasa": bare.process.pid})
            finally:
                bare.stop()
        stack = Stack.start(work / "full", {})
        try:
            pids = {name: p.pid for name, p in stack.processes.items()}
            if not args.only_idle:
                full_results, full_meter = measure(stack.settings.rasa_url, True, FULL_STACK_SCRIPT, args.customers, pids)
            paced_results, per_connection = idle_and_active(stack.settings.rasa_url, args.idle, args.active,
                                                             pids["rasa"], think)
            saturated_results, _ = idle_and_active(stack.settings.rasa_url, args.idle, args.active, pids["rasa"])
        finally:
            stack.stop()
    paced, saturated = paced_results.all(), saturated_results.all()
    idle_rows = [
        (f"{args.idle} idle + {args.active} active customers at human pace: p50 / p95 / p99",
         f"{pct(paced, 50):.0f} / {pct(paced, 95):.0f} / {pct(paced, 99):.0f} ms", "target p95 ≤ 500 ms"),
        (f"{args.idle} idle + {args.active} active at human pace: messages lost", f"{paced_results.lost} of {paced_results.sent}",
         f"{paced_results.disconnected} customers' connections dropped"),
        (f"{args.idle} idle + {args.active} active, as fast as replies come (saturation): p50 / p95",
         f"{pct(saturated, 50):.0f} / {pct(saturated, 95):.0f} ms; {saturated_results.throughput:.1f} msg/s",
         f"{saturated_results.lost} of {saturated_results.sent} lost"),
        ("Rasa memory per open idle connection", f"{per_connection / 1024:.1f} KiB", ""),
    ]
    if args.only_idle:
        print("\n".join(f"| {a} | {b} | {c} |" for a, b, c in idle_rows))
        return 0

    b_all, f_all = bare_results.all(), full_results.all()
    rows = [
        ("throughput, bare Rasa (baseline)", f"{bare_results.throughput:.1f} msg/s", "1.00×"),
        ("throughput, full stack", f"{full_results.throughput:.1f} msg/s", f"{full_results.throughput / bare_results.throughput:.2f}× bare"),
        ("p50 / p95 / p99, bare Rasa", f"{pct(b_all, 50):.0f} / {pct(b_all, 95):.0f} / {pct(b_all, 99):.0f} ms", "1.00×"),
        ("p50 / p95 / p99, full stack", f"{pct(f_all, 50):.0f} / {pct(f_all, 95):.0f} / {pct(f_all, 99):.0f} ms",
         f"p95 {pct(f_all, 95) / pct(b_all, 95):.2f}× bare"),
    ]
    for kind in dict.fromkeys(k for k, _ in FULL_STACK_SCRIPT):
        f, b = full_results.latencies.get(kind, []), bare_results.latencies.get(kind, [])
        rows.append((f"  {kind}: p50 / p95 / p99, full stack (bare Rasa)",
                     f"{pct(f, 50):.0f} / {pct(f, 95):.0f} / {pct(f, 99):.0f} ms ({pct(b, 50):.0f} / {pct(b, 95):.0f} / {pct(b, 99):.0f})",
                     f"p95 {pct(f, 95) / pct(b, 95):.2f}× bare"))
    rows += [
        ("burst: 2nd and 3rd reply after the 1st, p95, full stack (bare Rasa)",
         f"{pct(full_results.burst_gaps, 95):.0f} ms ({pct(bare_results.burst_gaps, 95):.0f} ms)",
         f"{pct(full_results.burst_gaps, 95) / pct(bare_results.burst_gaps, 95):.2f}× bare"),
        ("messages lost, full stack (bare Rasa)", f"{full_results.lost} of {full_results.sent} ({bare_results.lost} of {bare_results.sent})", ""),
    ]
    bare_cpu = bare_meter.cpu["rasa"]
    for name in full_meter.processes:
        rows.append((f"CPU / peak memory, full stack {name}",
                     f"{full_meter.cpu[name]:.1f} s / {full_meter.peak_rss[name] / 2**20:.0f} MiB",
                     f"CPU {full_meter.cpu[name] / bare_cpu:.2f}× bare Rasa's"))
    rows.append(("CPU / peak memory, bare Rasa", f"{bare_cpu:.1f} s / {bare_meter.peak_rss['rasa'] / 2**20:.0f} MiB", "1.00×"))
    rows += idle_rows
    text = "\n".join([
        "## Under load: full stack against bare Rasa",
        "",
        f"Measured by `{COMMAND}` ({time.strftime('%Y-%m-%d')}) on {report.machine()}; client, bots and",
        f"databases share the machine. {args.customers} socket.io customers at once, each one conversation of",
        f"{sum(1 if isinstance(t, str) else len(t) for _, t in FULL_STACK_SCRIPT)} messages sent as fast as replies come"
        " (a burst's three at once); latency is send to first reply.",
        "Bare Rasa is `rasa init`'s bot under stock `rasa run` with in-memory stores, driven by the same client.",
        f"The idle + active runs connect {args.idle} silent customers first; the {args.active} active ones then play the",
        f"same conversation at human pace (each starts within {think[1]:.0f} s and waits {think[0]:.0f}–{think[1]:.0f} s,",
        "uniformly drawn, before each later message: reading the reply, typing the next), and once more as fast as",
        "replies come, which only measures how long the queue grows when Rasa is saturated.",
        "",
        "| figure | value | ratio |",
        "|---|---|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows],
        "",
    ])
    report.write_section("load", text)
    report.update_json([
        report.row(f"full stack at {args.customers} concurrent customers: throughput", round(full_results.throughput, 1), "msg/s", COMMAND),
        report.row(f"bare Rasa at {args.customers} concurrent customers: throughput", round(bare_results.throughput, 1), "msg/s", COMMAND),
        report.row(f"full stack at {args.customers} concurrent customers: p95", round(pct(f_all, 95), 1), "ms", COMMAND),
        report.row(f"bare Rasa at {args.customers} concurrent customers: p95", round(pct(b_all, 95), 1), "ms", COMMAND),
        report.row("full stack p95 / bare Rasa p95", round(pct(f_all, 95) / pct(b_all, 95), 2), "ratio", COMMAND),
        report.row("full stack throughput / bare Rasa throughput", round(full_results.throughput / bare_results.throughput, 2), "ratio", COMMAND),
        report.row("burst under load: 2nd and 3rd replies after the 1st, p95", round(pct(full_results.burst_gaps, 95), 1), "ms", COMMAND),
        report.row(f"{args.idle} idle + {args.active} active customers: p95", round(pct(paced, 95), 1), "ms", COMMAND),
        report.row(f"{args.idle} idle + {args.active} active customers: messages lost", paced_results.lost, "messages", COMMAND),
        report.row(f"{args.idle} idle + {args.active} active customers, as fast as replies come: p95",
                   round(pct(saturated, 95), 1), "ms", COMMAND),
        report.row("Rasa memory per open connection", round(per_connection / 1024, 1), "KiB", COMMAND),
    ])
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
