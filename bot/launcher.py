"""`make run`: train if needed, prepare the databases, start every process, say where to go.

    python -m bot.launcher run      everything, in the foreground (Ctrl-C stops it)
    python -m bot.launcher train    only train (when config/domain/data changed)
    python -m bot.launcher prepare  only migrate the app database and load demo content

Processes run under honcho (a Procfile-style process manager): their output is
prefixed with their name, and if one dies the others are stopped with it.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import shlex
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional

from bot.settings import PROJECT_ROOT, ConfigurationError, Settings

VENV_BIN = Path(sys.executable).parent
SECRET_NAMES = ("RASA_TOKEN", "SERVICE_TOKEN", "SESSION_SECRET", "ACTION_SERVER_TOKEN", "DEMO_STAFF_PASSWORD")
# What the trained model depends on: a change in any of these means retraining.
TRAINING_INPUTS = ("config.yml", "domain.yml", "data", "bot/nlu")


class LaunchError(RuntimeError):
    """A problem the operator can fix; printed as one sentence, no traceback."""


def say(message: str) -> None:
    print(f"[launcher] {message}", flush=True)


# ---------------------------------------------------------------- secrets
def load_or_create_secrets(var_dir: Path, env: Dict[str, str], names: tuple = SECRET_NAMES) -> Dict[str, str]:
    """Secrets from the environment; any missing one is created once in var/secrets.env."""
    path = var_dir / "secrets.env"
    stored: Dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                key, value = line.split("=", 1)
                stored[key.strip()] = value.strip()
    changed = False
    for name in names:
        if not stored.get(name):
            stored[name] = secrets.token_urlsafe(12 if name == "DEMO_STAFF_PASSWORD" else 32)
            changed = True
    if changed:
        var_dir.mkdir(parents=True, exist_ok=True)
        # Created private: never readable by others, not even for a moment.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("# Created by `make run`; keep private.\n" + "".join(f"{k}={v}\n" for k, v in stored.items()))
    if path.exists():
        path.chmod(0o600)  # also tighten a copied or restored file
    return {name: env.get(name) or stored[name] for name in names}


# ---------------------------------------------------------------- model
def training_hash(root: Path = PROJECT_ROOT) -> str:
    digest = hashlib.sha256()
    for entry in TRAINING_INPUTS:
        path = root / entry
        files = sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts) if path.is_dir() else [path]
        for f in files:
            digest.update(str(f.relative_to(root)).encode())
            digest.update(f.read_bytes())
    return digest.hexdigest()[:16]


def model_path(settings: Settings) -> Path:
    return settings.model_dir / f"model-{training_hash()}.tar.gz"


def train_if_needed(settings: Settings) -> Path:
    target = model_path(settings)
    if target.exists():
        say(f"Model is up to date ({target.name}).")
        return target
    say("Training the model (config, domain or data changed); this takes a minute or two…")
    settings.model_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    cmd = [
        str(VENV_BIN / "rasa"), "train", "--config", "config.yml", "--domain", "domain.yml",
        "--data", "data", "--out", str(settings.model_dir), "--fixed-model-name", target.name[: -len(".tar.gz")],
    ]
    result = subprocess.run(cmd, cwd=PROJECT_ROOT, env=_child_env(settings, {}))
    if result.returncode != 0 or not target.exists():
        raise LaunchError("Training failed; the reason is in the output above.")
    say(f"Model trained in {time.monotonic() - started:.0f} s: {target.name}")
    return target


# ---------------------------------------------------------------- databases
def prepare_databases(settings: Settings, staff_password: str) -> None:
    import sqlalchemy as sa
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

    from bot.database import migrate
    from bot.demo import load_demo

    settings.var_dir.mkdir(parents=True, exist_ok=True)
    try:
        migrate(settings.database_url)
        load_demo(settings, staff_password)
    except OperationalError as e:
        where = sa.engine.make_url(settings.database_url).render_as_string(hide_password=True)
        reason = str(e.orig).strip().splitlines()[0] if e.orig else "unknown error"
        raise LaunchError(f"Cannot use the database {where} ({reason}). Check DATABASE_URL.") from None
    except (NoSuchModuleError, ImportError) as e:  # e.g. postgres:// for postgresql://, or no driver
        reason = str(e).strip().splitlines()[0]
        raise LaunchError(f"DATABASE_URL names a database this service cannot use ({reason}).") from None
    except ArgumentError:  # its message repeats the URL, password included: not shown
        raise LaunchError(
            "DATABASE_URL is not a database URL (expected e.g. postgresql://user:password@host:5432/name)."
        ) from None


# ---------------------------------------------------------------- processes
def _child_env(settings: Settings, secrets_env: Dict[str, str]) -> Dict[str, str]:
    env = dict(os.environ)
    env.update(secrets_env)
    env.update(
        PYTHONPATH=str(PROJECT_ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        VAR_DIR=str(settings.var_dir),
        DATABASE_URL=settings.database_url,
        RASA_TRACKER_DB_URL=settings.rasa_tracker_db_url,
        RASA_EVENTS_DB_URL=settings.rasa_events_db_url,
        LOCK_STORE_REDIS_URL=settings.lock_store_redis_url,
        ACTION_ENDPOINT_URL=f"{settings.actions_url}/webhook",
        PUBLIC_WEB_URL=settings.public_web_url,
        PUBLIC_RASA_URL=settings.public_rasa_url,
        CHAT_ALLOWED_ORIGINS=",".join(settings.chat_origins),
        BIND_HOST=settings.host,
        RASA_PORT=str(settings.rasa_port),
        ACTIONS_PORT=str(settings.actions_port),
        WEB_PORT=str(settings.web_port),
        MODEL_DIR=str(settings.model_dir),
        MAX_MESSAGE_CHARS=str(settings.max_message_chars),
        SANIC_HOST=settings.host,  # the action server's interface (it also needs ACTION_SERVER_TOKEN)
        TF_CPP_MIN_LOG_LEVEL="2",
        RASA_TELEMETRY_ENABLED="false",
        PYTHONUNBUFFERED="1",
    )
    return env


def process_commands(settings: Settings, model: Path) -> Dict[str, List[str]]:
    """The three processes of the stack, as argument lists (secrets travel in the environment)."""
    return {
        "rasa": [
            str(VENV_BIN / "python"), "-m", "bot.rasa_server",
            "--interface", settings.host, "--port", str(settings.rasa_port),
            "--credentials", "credentials.yml", "--endpoints", "endpoints.yml", "--model", str(model),
        ],
        "actions": [str(VENV_BIN / "python"), "-m", "bot.action_server", "--actions", "actions",
                    "--port", str(settings.actions_port)],
        "web": [str(VENV_BIN / "python"), "-m", "handoff_service"],
    }


def process_env(settings: Settings, secrets_env: Dict[str, str]) -> Dict[str, str]:
    return _child_env(settings, secrets_env)


def health_urls(settings: Settings, rasa_token: str) -> Dict[str, str]:
    return {
        "rasa": f"{settings.rasa_url}/status?{urllib.parse.urlencode({'token': rasa_token})}",
        "actions": f"{settings.actions_url}/health",
        "web": f"{settings.web_url}/healthz",
    }


def is_healthy(url: str) -> bool:
    """Whether the process answers its health check. The web service's 503 "degraded"
    (its event stream is behind or set rows aside) still means the process is up."""
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except urllib.error.HTTPError as e:
        try:
            return e.code == 503 and json.loads(e.read()).get("status") == "degraded"
        except (ValueError, AttributeError, OSError):
            return False
    except (urllib.error.URLError, OSError):
        return False


def check_ports_free(settings: Settings) -> None:
    for name, port in (("Rasa server", settings.rasa_port), ("action server", settings.actions_port), ("web service", settings.web_port)):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((settings.host, port))
            except OSError:
                env_name = {"Rasa server": "RASA_PORT", "action server": "ACTIONS_PORT", "web service": "WEB_PORT"}[name]
                raise LaunchError(
                    f"Port {port} for the {name} is already in use (another `make run`?). "
                    f"Stop that program or choose another port with {env_name}=…"
                ) from None


def _announce_when_healthy(settings: Settings, urls: Dict[str, str], password: str, stop: threading.Event, started: float) -> None:
    pending = dict(urls)
    while pending and not stop.is_set():
        for name, url in list(pending.items()):
            if is_healthy(url):
                del pending[name]
        stop.wait(0.5)
    if stop.is_set():
        return
    web = settings.public_web_url
    print(
        "\n"
        f"[launcher] All services are up ({time.monotonic() - started:.1f} s).\n"
        f"[launcher]   Customer chat:  {web}/\n"
        f"[launcher]   Agent console:  {web}/agent/   (log in as agent / {password})\n"
        f"[launcher]   FAQ editor:     {web}/kb/      (log in as editor / {password})\n"
        + (f"[launcher]   Demo accounts:  {web}/demo/    (signed-in customers, the texts the demo sends)\n"
           if settings.demo_pages else "")
        + "[launcher] Press Ctrl-C to stop everything.\n",
        flush=True,
    )


def run(settings: Settings, train_only: bool = False, prepare_only: bool = False) -> int:
    from honcho.manager import Manager
    from honcho.printer import Printer

    started = time.monotonic()
    # The demo's signed-in customer page signs host-site tokens: with the demo pages on, a
    # key for them is made once like the other secrets (unless CUSTOMER_JWT_SECRET is set).
    names = SECRET_NAMES + (("CUSTOMER_JWT_SECRET",) if settings.demo_pages else ())
    secrets_env = load_or_create_secrets(settings.var_dir, dict(os.environ), names)
    settings = settings.with_overrides(
        rasa_token=secrets_env["RASA_TOKEN"], service_token=secrets_env["SERVICE_TOKEN"],
        session_secret=secrets_env["SESSION_SECRET"],
    )
    if prepare_only:
        prepare_databases(settings, secrets_env["DEMO_STAFF_PASSWORD"])
        return 0
    model = train_if_needed(settings)
    if train_only:
        return 0
    check_ports_free(settings)
    prepare_databases(settings, secrets_env["DEMO_STAFF_PASSWORD"])
    env = process_env(settings, secrets_env)
    manager = Manager(Printer(sys.stdout, colour=sys.stdout.isatty(), prefix=True))
    for name, cmd in process_commands(settings, model).items():
        manager.add_process(name, shlex.join(cmd), env=env, cwd=str(PROJECT_ROOT))
    stop = threading.Event()
    watcher = threading.Thread(
        target=_announce_when_healthy,
        args=(settings, health_urls(settings, settings.rasa_token), secrets_env["DEMO_STAFF_PASSWORD"], stop, started),
        daemon=True,
    )
    watcher.start()
    manager.loop()
    stop.set()
    stopped = [name for name, p in manager._processes.items() if p.get("returncode") not in (None, 0, -2, -15)]
    if manager.returncode not in (None, 0, 130, 143) and stopped:
        say(f"The {', '.join(stopped)} process stopped unexpectedly, so everything was stopped. "
            "Its last lines above say why.")
        return 1
    say("Stopped.")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.launcher", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["run", "train", "prepare"], nargs="?", default="run")
    args = parser.parse_args(argv)
    os.chdir(PROJECT_ROOT)
    try:
        return run(Settings.from_env(), train_only=args.command == "train", prepare_only=args.command == "prepare")
    except (LaunchError, ConfigurationError) as e:
        say(str(e))
        return 1
    except KeyboardInterrupt:
        say("Stopped.")
        return 130


if __name__ == "__main__":
    sys.exit(main())
