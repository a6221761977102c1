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
# Where the action server reads accounts: "standin" (the stand-in CRM service over HTTP,
# started with the stack) or "sql" (the app database directly).
ACCOUNTS_BACKEND = os.environ.get("TEST_ACCOUNTS_BACKEND", "standin")
WAIT = 30  # seconds a reply may take before the test fails


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def messaging_channel_env(standin_port: int) -> Dict[str, str]:
    """Test credentials of the WeChat Official Account and WeCom channels, pointed at the stand-in."""
    import base64

    base = f"http://127.0.0.1:{standin_port}"
    return {
        "WECHAT_TOKEN": "wechat-test-token", "WECHAT_APP_ID": "wx0123456789abcdef",
        "WECHAT_APP_SECRET": uuid.uuid4().hex,
        "WECHAT_ENCODING_AES_KEY": base64.b64encode(os.urandom(32)).decode().rstrip("="),
        "WECHAT_API_BASE_URL": base,
        "WECOM_TOKEN": "wecom-test-token", "WECOM_CORP_ID": "ww0123456789abcdef", "WECOM_SECRET": uuid.uuid4().hex,
        "WECOM_ENCODING_AES_KEY": base64.b64encode(os.urandom(32)).decode().rstrip("="),
        "WECOM_API_BASE_URL": base,
        "TELEGRAM_ACCESS_TOKEN": f"123456:{uuid.uuid4().hex}", "TELEGRAM_VERIFY": "support_test_bot",
        "TELEGRAM_WEBHOOK_URL": "https://bot.example.com/webhooks/telegram/webhook",
        "TELEGRAM_SECRET_TOKEN": uuid.uuid4().hex, "TELEGRAM_API_BASE_URL": base,
    }


def standin_command(channel_env: Dict[str, str]) -> List[str]:
    from bot.launcher import VENV_BIN

    port = channel_env["WECHAT_API_BASE_URL"].rsplit(":", 1)[1]
    return [str(VENV_BIN / "python"), "-m", "tests.standins.wechat_platform", "--port", port,
            "--app-id", channel_env["WECHAT_APP_ID"], "--app-secret", channel_env["WECHAT_APP_SECRET"],
            "--corp-id", channel_env["WECOM_CORP_ID"], "--corp-secret", channel_env["WECOM_SECRET"],
            "--telegram-token", channel_env["TELEGRAM_ACCESS_TOKEN"]]


@dataclass
class Stack:
    settings: Settings
    log_dir: Path
    processes: Dict[str, subprocess.Popen] = field(default_factory=dict)
    ready_after: Dict[str, float] = field(default_factory=dict)  # seconds from start to healthy
    channel_env: Dict[str, str] = field(default_factory=dict)  # WECHAT_* / WECOM_* the Rasa process got
    extra_health: Dict[str, str] = field(default_factory=dict)
    standin_url: str = ""  # the stand-in accounts service, when the stack runs one
    customer_jwt_secret: str = ""
    # How each process was started: start_again() starts one again exactly so, and a test
    # may start another Rasa replica like the first (same env and model).
    commands: Dict[str, List[str]] = field(default_factory=dict)
    env: Dict[str, str] = field(default_factory=dict)
    model: Optional[Path] = None

    def accounts_faults(self, delay: float = 0, down: bool = False) -> None:
        """Make the stand-in accounts service slow or down (or well again, by default)."""
        requests.post(f"{self.standin_url}/_faults", json={"delay": delay, "down": down}, timeout=WAIT).raise_for_status()

    @classmethod
    def start(cls, var_dir: Path, database_urls: Dict[str, str]) -> "Stack":
        secrets = {"RASA_TOKEN": uuid.uuid4().hex, "SERVICE_TOKEN": uuid.uuid4().hex,
                   "SESSION_SECRET": uuid.uuid4().hex, "ACTION_SERVER_TOKEN": uuid.uuid4().hex,
                   "DEMO_STAFF_PASSWORD": STAFF_PASSWORD}
        rasa_port, web_port = free_port(), free_port()
        settings = Settings.from_env(
            {"VAR_DIR": str(var_dir), "RASA_PORT": str(rasa_port), "WEB_PORT": str(web_port),
             "ACTIONS_PORT": str(free_port()),
             # Another site that embeds the chat (/widget.js): tests serve a page there.
             "CHAT_ALLOWED_ORIGINS": f"http://127.0.0.1:{free_port()}"}
        ).with_overrides(
            rasa_token=secrets["RASA_TOKEN"], service_token=secrets["SERVICE_TOKEN"],
            session_secret=secrets["SESSION_SECRET"], action_server_token=secrets["ACTION_SERVER_TOKEN"],
            event_poll_interval=0.1, **database_urls,
        )
        model = launcher.train_if_needed(settings)  # cached by the training data's hash
        launcher.prepare_databases(settings, STAFF_PASSWORD)
        stack = cls(settings, var_dir / "logs")
        stack.log_dir.mkdir(parents=True, exist_ok=True)
        env = launcher.process_env(settings, secrets)
        env["EVENT_POLL_INTERVAL"] = "0.1"
        # The messaging channels talk to a local stand-in of the WeChat / WeCom APIs.
        stack.channel_env = messaging_channel_env(free_port())
        env.update(stack.channel_env)
        # Host-site logins (accounts #9): tests sign customer tokens with this.
        env["CUSTOMER_JWT_SECRET"] = stack.customer_jwt_secret = uuid.uuid4().hex * 2
        # The demo pages, as `make run` has them (/demo/: signed-in customers, the texts sent).
        env["DEMO_PAGES"] = "on"
        # A queued customer who closed the chat is abandoned after this (desk #7; 60 s in
        # production): short enough to watch, far longer than a page's reconnect.
        env["DESK_ABANDON_GRACE_SECONDS"] = "5"
        commands = launcher.process_commands(settings, model)
        commands["platforms"] = standin_command(stack.channel_env)
        stack.extra_health["platforms"] = stack.channel_env["WECHAT_API_BASE_URL"] + "/healthz"
        if ACCOUNTS_BACKEND == "standin":
            # The action server reads accounts from the stand-in CRM service (a process of its own,
            # on the same app database), with a short timeout so the slow-backend tests are quick.
            stack.standin_url = f"http://{settings.host}:{free_port()}"
            env.update(ACCOUNTS_BACKEND_URL=stack.standin_url, ACCOUNTS_BACKEND_TOKEN=uuid.uuid4().hex,
                       ACCOUNTS_TIMEOUT="1", ACCOUNTS_RETRIES="1")
            commands = {"accounts": [str(launcher.VENV_BIN / "python"), "-m", "actions.accounts.standin",
                                     "--port", stack.standin_url.rsplit(":", 1)[1], "--faults"], **commands}
            stack.extra_health["accounts"] = f"{stack.standin_url}/healthz"
        stack.commands, stack.env, stack.model = commands, env, model
        for name in commands:
            stack._launch(name, mode="w")
        try:
            stack.wait_healthy(timeout=240)
        except Exception:
            stack.stop()
            raise
        return stack

    def _launch(self, name: str, mode: str) -> None:
        log = open(self.log_dir / f"{name}.log", mode)
        self.processes[name] = subprocess.Popen(self.commands[name], cwd=PROJECT_ROOT, env=self.env, stdout=log,
                                                stderr=subprocess.STDOUT)

    def kill(self, name: str) -> None:
        """SIGKILL one process (no shutdown handler runs), and reap it."""
        proc = self.processes[name]
        proc.kill()
        proc.wait(timeout=WAIT)

    def start_again(self, name: str, timeout: float = 120) -> None:
        """Start a killed (or exited) process again with its command and environment, its
        log appended to; returns once the whole stack answers its health checks again."""
        assert self.processes[name].poll() is not None, f"{name} is still running"
        self._launch(name, mode="a")
        self.wait_healthy(timeout=timeout)

    def wait_healthy(self, timeout: float) -> None:
        urls = {**launcher.health_urls(self.settings, self.settings.rasa_token), **self.extra_health}
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

    def restart(self, *names: str) -> None:
        """Stop these processes and start them again (same command, environment and ports);
        back when every process is healthy."""
        for name in names:
            self.processes[name].terminate()
        for name in names:
            self.processes[name].wait(timeout=30)
            self._launch(name, mode="a")
        self.wait_healthy(timeout=240)

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
    def customer(self, extended: bool = True, custom_data: Optional[dict] = None) -> "Customer":
        return Customer(self.settings.rasa_url, extended=extended, custom_data=custom_data)

    def agent(self, username: str = "agent") -> "Agent":
        return Agent(self.settings.web_url, username)


class Customer:
    """A web chat customer speaking Rasa's socket.io protocol with our page's extensions
    (``extended``: sender, seq, acknowledgements, history); ``extended=False`` is a
    widget that knows only Rasa's protocol."""

    def __init__(self, rasa_url: str, session_id: Optional[str] = None, last_seq: Optional[int] = None,
                 extended: bool = True, custom_data: Optional[dict] = None):
        self.inbox: "queue.Queue" = queue.Queue()
        self.errors: "queue.Queue" = queue.Queue()
        self.history: "queue.Queue" = queue.Queue()
        # "You are now number 3 in the queue": the desk says so whenever other customers'
        # chats move the queue, at moments no test controls; kept apart from the replies.
        self.wait_updates: "queue.Queue" = queue.Queue()
        self.sio = socketio.Client(reconnection=False)
        confirmed: "queue.Queue" = queue.Queue()
        self.sio.on("session_confirm", confirmed.put)
        self.sio.on("bot_uttered", lambda m: (self.wait_updates if isinstance(m, dict) and m.get("notice") == "wait_update"
                                              else self.inbox).put(m))
        self.sio.on("error", self.errors.put)
        self.sio.on("history", self.history.put)
        self.sio.connect(rasa_url, transports=["websocket"])
        request = {"session_id": session_id, **({"extended": True} if extended else {})}
        if last_seq is not None:  # as our chat page does: ask for what it has not shown
            request["last_seq"] = last_seq
        if custom_data is not None:  # as a host page does: e.g. a logged-in customer's token
            request["customData"] = custom_data
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

    def until(self, match) -> List[dict]:
        """The bot's messages up to and including the first for which match(text) is true."""
        messages = []
        while True:
            messages.append(self.next_message())
            if match(messages[-1].get("text") or ""):
                return messages

    def ask_all(self, text: str, until) -> List[dict]:
        """Say ``text``; the replies up to the first holding one of the strings ``until``."""
        self.say(text)
        return self.until(lambda reply: any(u in reply for u in until))

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
        self.http.headers["Origin"] = web_url  # as the console page's own requests carry it
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
