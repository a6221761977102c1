"""Start the real stack (Rasa server, action server, web service) and talk to it as
a customer (socket.io) and as an agent (the console's HTTP API and websocket)."""
from __future__ import annotations

import json
import os
import queue
import re
import socket
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import requests
import socketio
import websocket

from bot import launcher
from bot.settings import PROJECT_ROOT, Settings

STAFF_PASSWORD = "integration-pass-1"
WAIT = 30  # seconds a reply may take before the test fails


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Stack:
    settings: Settings
    log_dir: Path
    processes: Dict[str, subprocess.Popen] = field(default_factory=dict)
    ready_after: Dict[str, float] = field(default_factory=dict)  # seconds from start to healthy

    @classmethod
    def start(cls, var_dir: Path, database_urls: Dict[str, str]) -> "Stack":
        secrets = {"RASA_TOKEN": uuid.uuid4().hex, "SERVICE_TOKEN": uuid.uuid4().hex,
                   "SESSION_SECRET": uuid.uuid4().hex, "DEMO_STAFF_PASSWORD": STAFF_PASSWORD}
        rasa_port, web_port = free_port(), free_port()
        settings = Settings.from_env(
            {"VAR_DIR": str(var_dir), "RASA_PORT": str(rasa_port), "WEB_PORT": str(web_port),
             "ACTIONS_PORT": str(free_port())}
        ).with_overrides(
            rasa_token=secrets["RASA_TOKEN"], service_token=secrets["SERVICE_TOKEN"],
            session_secret=secrets["SESSION_SECRET"], event_poll_interval=0.1, **database_urls,
        )
        model = launcher.train_if_needed(settings)  # cached by the training data's hash
        launcher.prepare_databases(settings, STAFF_PASSWORD)
        stack = cls(settings, var_dir / "logs")
        stack.log_dir.mkdir(parents=True, exist_ok=True)
        env = launcher.process_env(settings, secrets)
        env["EVENT_POLL_INTERVAL"] = "0.1"
        for name, cmd in launcher.process_commands(settings, model).items():
            log = open(stack.log_dir / f"{name}.log", "w")
            stack.processes[name] = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            stack.wait_healthy(timeout=240)
        except Exception:
            stack.stop()
            raise
        return stack

    def wait_healthy(self, timeout: float) -> None:
        urls = launcher.health_urls(self.settings, self.settings.rasa_token)
        started = time.monotonic()
        deadline = started + timeout
        pending = dict(urls)
        while pending:
            for name, proc in self.processes.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.log_tail(name)}")
            for name, url in list(pending.items()):
                if launcher.is_healthy(url):
                    del pending[name]
                    self.ready_after[name] = time.monotonic() - started
            if time.monotonic() > deadline:
                raise TimeoutError(f"not healthy after {timeout}s: {sorted(pending)}")
            time.sleep(0.5)  # polling a health endpoint, not synchronising a test

    def log_tail(self, name: str, lines: int = 40) -> str:
        return "\n".join((self.log_dir / f"{name}.log").read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        for proc in self.processes.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.processes.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()

    # -- clients
    def customer(self) -> "Customer":
        return Customer(self.settings.rasa_url)

    def agent(self, username: str = "agent") -> "Agent":
        return Agent(self.settings.web_url, username)


class Customer:
    """A web chat customer speaking Rasa's socket.io protocol."""

    def __init__(self, rasa_url: str, session_id: Optional[str] = None, last_seq: Optional[int] = None):
        self.inbox: "queue.Queue" = queue.Queue()
        self.errors: "queue.Queue" = queue.Queue()
        self.history: "queue.Queue" = queue.Queue()
        self.sio = socketio.Client(reconnection=False)
        confirmed: "queue.Queue" = queue.Queue()
        self.sio.on("session_confirm", confirmed.put)
        self.sio.on("bot_uttered", self.inbox.put)
        self.sio.on("error", self.errors.put)
        self.sio.on("history", self.history.put)
        self.sio.connect(rasa_url, transports=["websocket"])
        request = {"session_id": session_id}
        if last_seq is not None:  # as our chat page does: ask for what it has not shown
            request["last_seq"] = last_seq
        self.sio.emit("session_request", request)
        self.session_id = confirmed.get(timeout=WAIT)

    def say(self, text: str) -> None:
        self.sio.emit("user_uttered", {"message": text, "session_id": self.session_id})

    def emit_raw(self, data) -> None:
        self.sio.emit("user_uttered", data)

    def next_message(self, timeout: float = WAIT) -> dict:
        return self.inbox.get(timeout=timeout)

    def ask(self, text: str) -> dict:
        self.say(text)
        return self.next_message()

    def missed(self) -> list:
        return self.history.get(timeout=WAIT)["messages"]

    def next_error(self) -> dict:
        return self.errors.get(timeout=WAIT)

    def close(self) -> None:
        self.sio.disconnect()


class Agent:
    """An agent using the console's HTTP API and live websocket."""

    def __init__(self, web_url: str, username: str):
        self.web_url = web_url
        self.http = requests.Session()
        r = self.http.post(f"{web_url}/login", data={"username": username, "password": STAFF_PASSWORD},
                           allow_redirects=False, timeout=10)
        assert r.status_code == 302, r.text
        self.events: "queue.Queue" = queue.Queue()
        self._ws: Optional[websocket.WebSocket] = None

    def listen(self) -> None:
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)
        self._ws = websocket.create_connection(
            self.web_url.replace("http", "ws") + "/agent/ws", header=[f"Cookie: {cookie}"], timeout=WAIT
        )
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        try:
            while True:
                self.events.put(json.loads(self._ws.recv()))
        except Exception:
            return

    def next_event(self, match) -> dict:
        """The next live event for which match(event) is true (others are skipped)."""
        deadline = time.monotonic() + WAIT
        while True:
            event = self.events.get(timeout=max(0.1, deadline - time.monotonic()))
            if match(event):
                return event

    def transcript_event(self, conversation_id: str) -> dict:
        return self.next_event(lambda e: e["type"] == "transcript" and e["line"]["conversation_id"] == conversation_id)["line"]

    def get(self, path: str) -> requests.Response:
        return self.http.get(f"{self.web_url}{path}", timeout=WAIT)

    def post(self, path: str, body=None, **kwargs) -> requests.Response:
        return self.http.post(f"{self.web_url}{path}", json=body if body is not None else {}, timeout=WAIT, **kwargs)

    def handoff_for(self, conversation_id: str) -> dict:
        handoffs = self.get("/agent/api/handoffs").json()["handoffs"]
        return next(h for h in handoffs if h["conversation_id"] == conversation_id)

    def close(self) -> None:
        if self._ws:
            self._ws.close()
