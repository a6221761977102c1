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
        rasa_port = _int(env, "RASA_PORT", 5005)
        web_port = _int(env, "WEB_PORT", 8000)
        return cls(
            var_dir=var_dir,
            database_url=env.get("DATABASE_URL") or f"sqlite:///{var_dir / 'app.db'}",
            rasa_tracker_db_url=env.get("RASA_TRACKER_DB_URL")
            or f"sqlite:///{var_dir / 'rasa_tracker.db'}",
            rasa_events_db_url=env.get("RASA_EVENTS_DB_URL")
            or f"sqlite:///{var_dir / 'rasa_events.db'}",
            host=host,
            rasa_port=rasa_port,
            actions_port=_int(env, "ACTIONS_PORT", 5055),
            web_port=web_port,
            rasa_token=env.get("RASA_TOKEN") or None,
            service_token=env.get("SERVICE_TOKEN") or None,
            session_secret=env.get("SESSION_SECRET") or None,
            public_rasa_url=env.get("PUBLIC_RASA_URL") or f"http://{host}:{rasa_port}",
            public_web_url=env.get("PUBLIC_WEB_URL") or f"http://{host}:{web_port}",
            model_dir=Path(env.get("MODEL_DIR") or PROJECT_ROOT / "models").resolve(),
            event_poll_interval=float(env.get("EVENT_POLL_INTERVAL") or 0.2),
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
    def actions_url(self) -> str:
        return f"http://{self.host}:{self.actions_port}"

    @property
    def web_url(self) -> str:
        return f"http://{self.host}:{self.web_port}"
