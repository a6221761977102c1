"""CPU of Rasa, the web service and the load client while 5,000 customers sit connected and silent.

`python -m bench.idle_cost` (needs .venv-client: run `make bench-load` once). Prints the share of
a core each process used over one minute with nobody writing: the price of open connections
alone (engine.io heartbeats), apart from any conversation. docs/performance.md.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.load import CLIENT_PYTHON, FULL_STACK_SCRIPT, ProcessMeter
from tests.integration.stack import Stack


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--idle", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack.start(Path(tmp), {})
        try:
            job = {"url": stack.settings.rasa_url, "persistent": True, "script": FULL_STACK_SCRIPT[:1],
                   "customers": 0, "idle": args.idle}
            client = subprocess.Popen([str(CLIENT_PYTHON), str(Path(__file__).with_name("load_client.py")), json.dumps(job)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            for line in client.stdout:
                if line.strip() == "idle-connected":
                    break
            pids = {"rasa": stack.processes["rasa"].pid, "web": stack.processes["web"].pid, "client": client.pid}
            with ProcessMeter(pids) as meter:
                time.sleep(args.seconds)  # a fixed measuring window over a steady state, not synchronisation
            for name, seconds in meter.cpu.items():
                print(f"{name}: {seconds / args.seconds * 100:.1f}% of a core with {args.idle} idle connections")
            client.stdin.write("go\n")
            client.stdin.flush()
            client.wait(timeout=300)
        finally:
            stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
