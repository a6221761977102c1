"""What the robustness tests do to the real stack besides chatting: REST calls, raw
Engine.IO frames, reading Rasa's tracker, the processes' logs and Rasa's memory."""
from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional
from urllib.parse import quote

import requests
import websocket

from tests.integration.stack import WAIT, Stack


def rest(stack: Stack, body: Any = None, *, raw: Optional[bytes] = None, **kwargs) -> requests.Response:
    """POST /webhooks/rest/webhook with ``body`` as JSON, or exactly the bytes ``raw``."""
    url = f"{stack.settings.rasa_url}/webhooks/rest/webhook"
    if raw is not None:
        return requests.post(url, data=raw, headers={"Content-Type": "application/json"}, timeout=WAIT, **kwargs)
    return requests.post(url, json=body, timeout=WAIT, **kwargs)


def tracker_events(stack: Stack, conversation_id: str) -> List[Dict[str, Any]]:
    """The events Rasa keeps under exactly this id (encoded as our Rasa client does)."""
    r = requests.get(f"{stack.settings.rasa_url}/conversations/{quote(conversation_id, safe='')}/tracker",
                     params={"token": stack.settings.rasa_token}, timeout=WAIT)
    assert r.status_code == 200, r.text
    return r.json().get("events") or []


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


class LogWatch:
    """What the stack's processes log from now on."""

    def __init__(self, stack: Stack):
        self.log_dir = stack.log_dir
        self.offsets = {p.name: p.stat().st_size for p in self._logs()}

    def _logs(self) -> List[Path]:
        return sorted(self.log_dir.glob("*.log"))

    def new_text(self) -> Dict[str, str]:
        out = {}
        for path in self._logs():
            with open(path, "rb") as f:
                f.seek(self.offsets.get(path.name, 0))
                out[path.name] = f.read().decode("utf-8", errors="replace")
        return out

    def assert_no_traceback(self) -> None:
        for name, text in self.new_text().items():
            assert "Traceback" not in text, f"{name} logged a traceback:\n{text[-4000:]}"


def rss_mb(stack: Stack, name: str = "rasa") -> float:
    """Resident memory of one of the stack's processes (VmRSS), in MB."""
    status = Path(f"/proc/{stack.processes[name].pid}/status").read_text()
    kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return kb / 1024


class RawEngineIO:
    """A websocket speaking Engine.IO v4 by hand, to send frames no client library would."""

    def __init__(self, stack: Stack):
        url = stack.settings.rasa_url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
        self.ws = websocket.create_connection(url, timeout=WAIT)
        opened = self.ws.recv()
        assert opened.startswith("0{"), opened

    def connect_namespace(self) -> None:
        self.ws.send("40")
        assert self.ws.recv().startswith("40{")

    def send(self, frame) -> None:
        if isinstance(frame, bytes):
            self.ws.send_binary(frame)
        else:
            self.ws.send(frame)

    def next_event(self, name: str, timeout: float = WAIT) -> Any:
        """The data of the next Socket.IO event called ``name`` (others are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            self.ws.settimeout(max(0.1, deadline - time.monotonic()))
            frame = self.ws.recv()
            if frame == "2":
                self.ws.send("3")  # answer the server's ping
            elif frame.startswith("42"):
                event = json.loads(frame[2:])
                if event[0] == name:
                    return event[1] if len(event) > 1 else None
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {name} event within {timeout} s")

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:
            pass


def at_once(*actions) -> list:
    """Run the callables together, released by one barrier; their results in order."""
    barrier = threading.Barrier(len(actions))
    results = [None] * len(actions)

    def run(i, action):
        barrier.wait()
        results[i] = action()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
