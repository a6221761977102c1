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
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent

SUPPORTED_LANGUAGES = ("zh-Hans", "zh-Hant", "en")
DEFAULT_LANGUAGE = "zh-Hans"
# The audit log is kept at least this long (China's Cybersecurity Law asks for six
# months of network logs); the database refuses to delete younger audit rows.
MIN_AUDIT_RETENTION_DAYS = 180


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


def _days(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    days = _int(env, name, default)
    if not minimum <= days <= 36500:
        raise ConfigurationError(f"{name} must be a number of days from {minimum} to 36500, got {days}")
    return days


def _on(env: Mapping[str, str], name: str) -> bool:
    return (env.get(name) or "on").lower() not in ("off", "0", "false", "no")


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


# --- dashboard (#13) ---
def _time_zone(env: Mapping[str, str], name: str, default: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    value = env.get(name) or default
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(f"{name} must be an IANA time zone such as Asia/Shanghai, got {value!r}") from None
    return value


def _share(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < 1:
        raise ConfigurationError(f"{name} must be a share between 0 and 1 (e.g. 0.8), got {raw!r}")
    return value


def _origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL, as a browser sends it in an Origin header."""
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _origins(env: Mapping[str, str], name: str) -> tuple:
    origins = []
    for item in (env.get(name) or "").split(","):
        if not item.strip():
            continue
        parts = urlsplit(item.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            raise ConfigurationError(f"{name} must be a comma-separated list like https://desk.example.com, got {item!r}")
        origins.append(_origin(item))
    return tuple(origins)


def _with_loopback_twins(urls) -> list:
    """The URLs, each also under the other loopback name (localhost / 127.0.0.1)."""
    result = []
    for url in urls:
        result.append(url)
        for a, b in (("//127.0.0.1:", "//localhost:"), ("//localhost:", "//127.0.0.1:")):
            if a in url:
                result.append(url.replace(a, b))
    return list(dict.fromkeys(result))


def _message_chars(env: Mapping[str, str]) -> int:
    # The model's attention grows with the square of a message's length: 50,000
    # characters froze every chat for 25 s and took 12 GB. 10,000 is the most we allow.
    value = _int(env, "MAX_MESSAGE_CHARS", 2000)
    if not 1 <= value <= 10_000:
        raise ConfigurationError(f"MAX_MESSAGE_CHARS must be from 1 to 10000, got {value}")
    return value


def _retries(env: Mapping[str, str]) -> int:
    value = _int(env, "ACCOUNTS_RETRIES", 1)
    if not 0 <= value <= 5:
        raise ConfigurationError(f"ACCOUNTS_RETRIES must be from 0 to 5, got {value}")
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
    # Rasa sends it with every call to the action server, which refuses calls without it.
    action_server_token: Optional[str] = None
    # Where a browser reaches Rasa's socket.io endpoint and the web service.
    public_rasa_url: str = ""
    public_web_url: str = ""
    # Further origins (scheme://host[:port]) whose pages may send staff requests, besides
    # public_web_url (e.g. the console behind a second host name).
    extra_staff_origins: tuple = ()
    model_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "models")
    event_poll_interval: float = 0.2
    # /healthz answers 503 when the oldest unconsumed event is older than this.
    event_lag_limit: float = 30.0
    # Whether this web process follows Rasa's event stream (transcripts, relay to agents).
    run_event_consumer: bool = True
    # The longest customer message or agent reply, on every channel (bot/text_checks.py).
    max_message_chars: int = 2000
    # Redis for Rasa's conversation locks when several Rasa processes serve one bot ("" = in memory).
    lock_store_redis_url: str = ""
    # Retention, in days (why these defaults: docs/architecture.md, "Retention").
    transcript_retention_days: int = 180
    tracker_retention_days: int = 90
    broker_retention_days: int = 7
    audit_retention_days: int = 365
    # privacy (#14): the desk's and the knowledge base's stores that name a customer or their chat.
    identity_retention_days: int = 180
    unanswered_retention_days: int = 180
    feedback_retention_days: int = 180
    ticket_retention_days: int = 90
    # Whether this web process runs the daily retention purge.
    run_daily_purge: bool = True
    # --- channels (#10) ---
    # Origins (scheme://host[:port]) of other sites that embed the web chat (/widget.js):
    # they may frame the chat page and open the chat socket. Ours always may.
    embed_origins: tuple = ()
    # --- dashboard (#13) ---
    # The contact centre's time zone: dashboard days and hours are local to it.
    centre_time_zone: str = "Asia/Shanghai"
    # Service level: share of handoffs answered within this many seconds (target share below).
    service_level_seconds: float = 20.0
    service_level_target: float = 0.8
    # The wallboard alerts when a customer has waited longer than this.
    wallboard_wait_alert_seconds: float = 120.0
    # --- desk (#7) ---
    # Business hours per skill group, e.g. "billing=mon-fri 09:00-18:00; sales=mon-sat 10:00-20:00"
    # (groups not named are open around the clock), read in desk_timezone.
    desk_hours: str = ""
    desk_timezone: str = "Asia/Shanghai"
    # An expected wait longer than this is "long": the customer is offered a callback or a message.
    desk_long_wait_seconds: float = 600.0
    # The handle time assumed for a skill group that has no closed chat yet.
    desk_default_handle_seconds: float = 300.0
    # A queued web chat customer who closed the chat and is not back within this long
    # (a reload is) has abandoned the queue.
    desk_abandon_grace_seconds: float = 60.0
    # --- accounts (#9) ---
    # Where customer accounts live: "" = the app database; else the base URL of a CRM /
    # billing service speaking actions/accounts/http.py's protocol (the stand-in does).
    accounts_backend_url: str = ""
    accounts_backend_token: Optional[str] = None
    # Every call to that service: seconds before it counts as failed, and how many more tries
    # a read (or a keyed change, which the service applies once) gets after a timeout or a 5xx.
    accounts_timeout: float = 3.0
    accounts_retries: int = 1
    # Customers logged in on the host site: the page passes a JWT (HS256, signed with this
    # secret; "" = not accepted) in the chat's session metadata, with this audience and issuer.
    customer_jwt_secret: Optional[str] = None
    customer_jwt_audience: str = "support-bot"
    customer_jwt_issuer: str = "host-site"
    # The demo pages (/demo/: a host-site page with a signed-in demo customer, and the texts
    # the demo sender "sent" shown beside the chat). Off unless DEMO_PAGES=on (make run).
    demo_pages: bool = False

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
            action_server_token=env.get("ACTION_SERVER_TOKEN") or None,
            public_rasa_url=env.get("PUBLIC_RASA_URL") or f"http://{public_host}:{rasa_port}",
            public_web_url=env.get("PUBLIC_WEB_URL") or f"http://{public_host}:{web_port}",
            extra_staff_origins=_origins(env, "STAFF_ALLOWED_ORIGINS"),
            model_dir=Path(env.get("MODEL_DIR") or PROJECT_ROOT / "models").resolve(),
            event_poll_interval=_seconds(env, "EVENT_POLL_INTERVAL", 0.2),
            lock_store_redis_url=env.get("LOCK_STORE_REDIS_URL") or "",
            event_lag_limit=_seconds(env, "EVENT_LAG_LIMIT", 30.0),
            run_event_consumer=_on(env, "EVENT_CONSUMER"),
            transcript_retention_days=_days(env, "TRANSCRIPT_RETENTION_DAYS", 180),
            tracker_retention_days=_days(env, "TRACKER_RETENTION_DAYS", 90),
            broker_retention_days=_days(env, "BROKER_RETENTION_DAYS", 7),
            audit_retention_days=_days(env, "AUDIT_RETENTION_DAYS", 365, minimum=MIN_AUDIT_RETENTION_DAYS),
            identity_retention_days=_days(env, "IDENTITY_RETENTION_DAYS", 180),
            unanswered_retention_days=_days(env, "UNANSWERED_RETENTION_DAYS", 180),
            feedback_retention_days=_days(env, "FEEDBACK_RETENTION_DAYS", 180),
            ticket_retention_days=_days(env, "TICKET_RETENTION_DAYS", 90),
            run_daily_purge=_on(env, "DAILY_PURGE"),
            max_message_chars=_message_chars(env),
            # --- channels (#10) ---
            embed_origins=_origins(env, "CHAT_ALLOWED_ORIGINS"),
            # --- dashboard (#13) ---
            centre_time_zone=_time_zone(env, "CENTRE_TIME_ZONE", "Asia/Shanghai"),
            service_level_seconds=_seconds(env, "SERVICE_LEVEL_SECONDS", 20.0),
            service_level_target=_share(env, "SERVICE_LEVEL_TARGET", 0.8),
            wallboard_wait_alert_seconds=_seconds(env, "WALLBOARD_WAIT_ALERT_SECONDS", 120.0),
            # --- desk (#7) ---
            desk_hours=env.get("DESK_HOURS") or "",
            desk_timezone=env.get("DESK_TIMEZONE") or "Asia/Shanghai",
            desk_long_wait_seconds=_seconds(env, "DESK_LONG_WAIT_SECONDS", 600.0),
            desk_default_handle_seconds=_seconds(env, "DESK_DEFAULT_HANDLE_SECONDS", 300.0),
            desk_abandon_grace_seconds=_seconds(env, "DESK_ABANDON_GRACE_SECONDS", 60.0),
            # --- accounts (#9) ---
            accounts_backend_url=(env.get("ACCOUNTS_BACKEND_URL") or "").rstrip("/"),
            accounts_backend_token=env.get("ACCOUNTS_BACKEND_TOKEN") or None,
            accounts_timeout=_seconds(env, "ACCOUNTS_TIMEOUT", 3.0),
            accounts_retries=_retries(env),
            customer_jwt_secret=env.get("CUSTOMER_JWT_SECRET") or None,
            customer_jwt_audience=env.get("CUSTOMER_JWT_AUDIENCE") or "support-bot",
            customer_jwt_issuer=env.get("CUSTOMER_JWT_ISSUER") or "host-site",
            demo_pages=(env.get("DEMO_PAGES") or "off").lower() in ("on", "1", "true", "yes"),
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
        """Origins whose pages may open the web chat socket: ours, under either loopback name,
        and the sites that embed the chat (CHAT_ALLOWED_ORIGINS)."""
        return list(dict.fromkeys([*_with_loopback_twins((self.public_web_url, self.public_rasa_url)),
                                   *self.embed_origins]))

    @property
    def staff_origins(self) -> frozenset:
        """Origins (scheme, host and port) whose pages may send state-changing staff requests."""
        return frozenset(_origin(url) for url in _with_loopback_twins((self.public_web_url, *self.extra_staff_origins)))

    @property
    def actions_url(self) -> str:
        return f"http://{self.host}:{self.actions_port}"

    @property
    def web_url(self) -> str:
        return f"http://{self.host}:{self.web_port}"
