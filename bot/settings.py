"""The one configuration object, read from the environment.

Every process (Rasa server, action server, web service, launcher, tests) builds its
settings with ``Settings.from_env()``; nothing else reads ``os.environ`` for
configuration.  Secrets (tokens, session key) have no defaults here: the launcher
creates them once for a local run and keeps them in ``var/secrets.env``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping, Optional

PROJECT_ROOT = Path(__file__).resolve().parent.parent

SUPPORTED_LANGUAGES = ("zh-Hans", "zh-Hant", "en")
DEFAULT_LANGUAGE = "zh-Hans"


class ConfigurationError(RuntimeError):
    """A setting is missing or malformed; the message says which and how to fix it."""


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}") from None


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    port = _int(env, name, default)
    if not 1 <= port <= 65535:
        raise ConfigurationError(f"{name} must be a port number from 1 to 65535, got {port}")
    return port


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < 3600:
        raise ConfigurationError(f"{name} must be a number of seconds between 0 and 3600, got {raw!r}")
    return value


@dataclass(frozen=True)
class Settings:
    var_dir: Path
    database_url: str
    rasa_tracker_db_url: str
    rasa_events_db_url: str
    host: str = "127.0.0.1"
    rasa_port: int = 5005
    actions_port: int = 5055
    web_port: int = 8000
    # Secrets: required by the processes that use them (see require()).
    rasa_token: Optional[str] = None
    service_token: Optional[str] = None
    session_secret: Optional[str] = None
    # Where a browser reaches Rasa's socket.io endpoint and the web service.
    public_rasa_url: str = ""
    public_web_url: str = ""
    model_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "models")
    event_poll_interval: float = 0.2
    # Whether this web process follows Rasa's event stream (transcripts, relay to agents).
    run_event_consumer: bool = True
    max_message_chars: int = 2000

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "Settings":
        env = os.environ if env is None else env
        var_dir = Path(env.get("VAR_DIR") or PROJECT_ROOT / "var").resolve()
        host = env.get("BIND_HOST") or "127.0.0.1"
        rasa_port = _port(env, "RASA_PORT", 5005)
        web_port = _port(env, "WEB_PORT", 8000)
        actions_port = _port(env, "ACTIONS_PORT", 5055)
        if len({rasa_port, web_port, actions_port}) < 3:
            raise ConfigurationError(
                f"RASA_PORT, ACTIONS_PORT and WEB_PORT must differ, got {rasa_port}, {actions_port}, {web_port}"
            )
        # Listening on every interface: a browser on this machine still reaches it as localhost.
        public_host = "localhost" if host in ("0.0.0.0", "::") else host
        return cls(
            var_dir=var_dir,
            database_url=env.get("DATABASE_URL") or f"sqlite:///{var_dir / 'app.db'}",
            rasa_tracker_db_url=env.get("RASA_TRACKER_DB_URL")
            or f"sqlite:///{var_dir / 'rasa_tracker.db'}",
            rasa_events_db_url=env.get("RASA_EVENTS_DB_URL")
            or f"sqlite:///{var_dir / 'rasa_events.db'}",
            host=host,
            rasa_port=rasa_port,
            actions_port=actions_port,
            web_port=web_port,
            rasa_token=env.get("RASA_TOKEN") or None,
            service_token=env.get("SERVICE_TOKEN") or None,
            session_secret=env.get("SESSION_SECRET") or None,
            public_rasa_url=env.get("PUBLIC_RASA_URL") or f"http://{public_host}:{rasa_port}",
            public_web_url=env.get("PUBLIC_WEB_URL") or f"http://{public_host}:{web_port}",
            model_dir=Path(env.get("MODEL_DIR") or PROJECT_ROOT / "models").resolve(),
            event_poll_interval=_seconds(env, "EVENT_POLL_INTERVAL", 0.2),
            run_event_consumer=(env.get("EVENT_CONSUMER") or "on").lower() not in ("off", "0", "false", "no"),
        )

    def require(self, *names: str) -> "Settings":
        """Fail with one clear sentence when a secret a process needs is not set."""
        missing = [n for n in names if not getattr(self, n)]
        if missing:
            env_names = ", ".join(n.upper() for n in missing)
            raise ConfigurationError(
                f"{env_names} must be set in the environment "
                "(`make run` creates them in var/secrets.env)."
            )
        return self

    def with_overrides(self, **changes) -> "Settings":
        return replace(self, **changes)

    @property
    def rasa_url(self) -> str:
        return f"http://{self.host}:{self.rasa_port}"

    @property
    def chat_origins(self) -> list:
        """Origins whose pages may open the web chat socket: ours, under either loopback name."""
        origins = []
        for url in (self.public_web_url, self.public_rasa_url):
            origins.append(url)
            for a, b in (("//127.0.0.1:", "//localhost:"), ("//localhost:", "//127.0.0.1:")):
                if a in url:
                    origins.append(url.replace(a, b))
        return list(dict.fromkeys(origins))

    @property
    def actions_url(self) -> str:
        return f"http://{self.host}:{self.actions_port}"

    @property
    def web_url(self) -> str:
        return f"http://{self.host}:{self.web_port}"
