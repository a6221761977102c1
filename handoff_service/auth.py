"""Staff login and role checks for every page and API of the web service.

A sub-app declares the role it needs (``app[REQUIRED_ROLE] = "agent"``); the
middleware checks it for every route of that sub-app, so no handler can forget.
Sessions are encrypted cookies (aiohttp-session), HttpOnly and SameSite=Strict,
that carry the user's session version: logout, a new password or changed roles
bump it in the database, and every older cookie stops working at once.

State-changing requests must come from a page of one of the configured staff
origins (``Settings.staff_origins``: scheme, host and port), shown by the Origin
header browsers send; a request without one is refused. Sub-apps whose callers
authenticate with a token instead of a cookie (the service API) are exempt.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import threading
import time
from typing import Callable, Optional, Tuple

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session, new_session, session_middleware
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from handoff_service.audit.recorder import record_login, record_logout
from handoff_service.hub import HUB
from handoff_service.storage import LoginFailureRepository, StaffRepository, StaffUser

logger = logging.getLogger(__name__)

class LoginThrottle:
    """Slows password guessing: after ``max_failures`` failed logins for one username
    from one address within ``window`` seconds, that pair is refused until the window
    has passed; after ``max_failures_per_address`` failures from one address (any
    usernames), that address is. A success clears its pair.

    Failures are kept in the database (``LoginFailureRepository``): no flood of
    throwaway usernames can push a locked pair out, and every replica counts the
    same. Refused attempts are not stored, so one address adds at most
    ``max_failures_per_address`` rows per window.

    An attempt counts as failed from the moment it starts (``begin``) until it
    succeeds, so parallel guesses cannot all slip past the check.
    """

    def __init__(self, failures: LoginFailureRepository, max_failures: int = 5, window: float = 900.0,
                 max_failures_per_address: int = 100, clock: Callable[[], float] = time.time):
        self.failures = failures
        self.max_failures = max_failures
        self.max_failures_per_address = max_failures_per_address
        self.window = window
        self.clock = clock
        self._lock = threading.Lock()  # check-then-count is one step within this process
        self._pruned_at = 0.0

    def retry_after(self, username: str, address: str) -> float:
        """Seconds until this pair may try again; 0 when it may now."""
        now = self.clock()
        since = now - self.window
        oldest_counted = []
        pair = self.failures.since(username.lower(), address, since, self.max_failures)
        if len(pair) >= self.max_failures:
            oldest_counted.append(pair[0])
        everyone = self.failures.from_address_since(address, since, self.max_failures_per_address)
        if len(everyone) >= self.max_failures_per_address:
            oldest_counted.append(everyone[0])
        return max((t + self.window - now for t in oldest_counted), default=0.0)

    def begin(self, username: str, address: str) -> float:
        """Count an attempt as failed until ``succeeded`` says otherwise; or, when this
        pair or address is locked, count nothing and return the seconds to wait."""
        with self._lock:
            wait = self.retry_after(username, address)
            if wait:
                return wait
            now = self.clock()
            self.failures.add(username.lower(), address, now)
            if now - self._pruned_at > self.window:
                self.failures.forget_before(now - self.window)
                self._pruned_at = now
        return 0.0

    def succeeded(self, username: str, address: str) -> None:
        self.failures.clear(username.lower(), address)


# The role a sub-app needs, or a tuple of roles any one of which will do.
REQUIRED_ROLE = web.AppKey("required_role", object)
STAFF = web.AppKey("staff_repository", StaffRepository)
THROTTLE = web.AppKey("login_throttle", LoginThrottle)
LOGIN_SLOTS = web.AppKey("login_slots", asyncio.Semaphore)  # password checks running at once
STAFF_ORIGINS = web.AppKey("staff_origins", frozenset)
# Set on a sub-app whose callers authenticate with a token, not a browser cookie.
TOKEN_AUTHENTICATED = web.AppKey("token_authenticated", bool)
CURRENT_USER = "current_user"
SESSION_MAX_AGE = 12 * 3600


def session_setup(secret: str):
    # Any secret string becomes the 32-byte key the encrypted cookie needs.
    key = hashlib.sha256(secret.encode()).digest()
    storage = EncryptedCookieStorage(
        key, cookie_name="supportbot_session", httponly=True, samesite="Strict", max_age=SESSION_MAX_AGE
    )
    return session_middleware(storage)


def _required_roles(request: web.Request) -> Optional[Tuple[str, ...]]:
    for app in request.match_info.apps:
        role = app.get(REQUIRED_ROLE)
        if role:
            return (role,) if isinstance(role, str) else tuple(role)
    return None


def _wants_json(request: web.Request) -> bool:
    return "/api/" in request.path or request.path.endswith("/ws")


def origin_allowed(request: web.Request, required: bool) -> bool:
    """Whether the request's Origin is one of the staff origins (or absent, unless ``required``)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return not required
    return origin.strip().lower() in request.config_dict[STAFF_ORIGINS]


@web.middleware
async def auth_middleware(request: web.Request, handler):
    token_authenticated = any(app.get(TOKEN_AUTHENTICATED) for app in request.match_info.apps)
    if request.method not in ("GET", "HEAD", "OPTIONS") and not token_authenticated \
            and not origin_allowed(request, required=True):
        return web.json_response(
            {"error": {"code": "cross_origin", "message": "Request refused: it must come from this site's own pages."}},
            status=403,
        )
    roles = _required_roles(request)
    if roles is None:
        return await handler(request)
    session = await get_session(request)
    username = session.get("username")
    user = await asyncio.to_thread(request.app[STAFF].get, username) if username else None
    if user is not None and session.get("version") != user.session_version:
        user = None  # logged out, or the password or roles changed since this session began
    if user is None:
        if _wants_json(request):
            return web.json_response({"error": {"code": "login_required", "message": "Please log in."}}, status=401)
        raise web.HTTPFound(f"/login?next={request.path_qs}")
    if not any(user.has_role(role) for role in roles):
        role = " or ".join(roles)
        if _wants_json(request):
            return web.json_response(
                {"error": {"code": "forbidden", "message": f"This needs the {role} role."}}, status=403
            )
        return web.Response(status=403, text=f"Your account does not have the {role} role.")
    request[CURRENT_USER] = user
    return await handler(request)


def current_user(request: web.Request) -> StaffUser:
    return request[CURRENT_USER]


def _safe_next(value: Optional[str]) -> str:
    # Only local paths: never redirect a login to another site. Browsers drop tabs and
    # newlines and read "\\" as "/", so "/\t/evil.example" would be "//evil.example".
    if (
        isinstance(value, str)
        and value.startswith("/")
        and not value.startswith("//")
        and "\\" not in value
        and all(ch.isprintable() and not ch.isspace() for ch in value)
    ):
        return value
    return "/agent/"


@aiohttp_jinja2.template("login.html")
async def login_page(request: web.Request):
    return {"next": _safe_next(request.query.get("next")), "error": None}


async def login(request: web.Request):
    form = await request.post()
    username = str(form.get("username", ""))[:80]
    password = str(form.get("password", ""))[:200]
    next_url = _safe_next(form.get("next"))
    throttle, address = request.app[THROTTLE], request.remote or ""
    wait = await asyncio.to_thread(throttle.begin, username, address)
    if wait:
        minutes = math.ceil(wait / 60)
        response = aiohttp_jinja2.render_template(
            "login.html", request,
            {"next": next_url, "error": "Too many failed logins. Try again later.", "retry_minutes": minutes},
            status=429,
        )
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    user = None
    if username and password:
        # Password hashing is slow and memory-hard on purpose: off the event loop, a few at a time.
        async with request.app[LOGIN_SLOTS]:
            user = await asyncio.to_thread(request.app[STAFF].authenticate, username, password)
    if user is None:
        logger.info("failed staff login")
        await record_login(request, username, succeeded=False)
        return aiohttp_jinja2.render_template(
            "login.html", request, {"next": next_url, "error": "Wrong username or password."}, status=401
        )
    await asyncio.to_thread(throttle.succeeded, username, address)
    await record_login(request, user.username, succeeded=True)
    session = await new_session(request)
    session["username"] = user.username
    session["version"] = user.session_version
    raise web.HTTPFound(next_url)


async def logout(request: web.Request):
    """Ends this user's sessions everywhere (the cookie alone could be replayed) and their live feeds."""
    session = await get_session(request)
    username = session.get("username")
    session.invalidate()
    if username:
        await record_logout(request, username)
        await asyncio.to_thread(request.app[STAFF].end_sessions, username)
        if HUB in request.app:
            await request.app[HUB].close_for(username)  # open consoles stop receiving at once
    raise web.HTTPFound("/login")


async def close_revoked_feeds(hub, staff: StaffRepository, role: str, interval: float = 2.0) -> None:
    """Close live console feeds whose user was removed, lost ``role`` or had their
    sessions ended (in this or another process) since the feed opened."""
    while True:
        await asyncio.sleep(interval)
        try:
            for username, version in hub.owners():
                user = await asyncio.to_thread(staff.get, username)
                if user is None or user.session_version != version or not user.has_role(role):
                    await hub.close_for(username, version)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the database may be briefly unreachable; try again next round
            logger.warning("could not check console sessions: %s", type(error).__name__)
