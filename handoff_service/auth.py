"""Staff login and role checks for every page and API of the web service.

A sub-app declares the role it needs (``app[REQUIRED_ROLE] = "agent"``); the
middleware checks it for every route of that sub-app, so no handler can forget.
Sessions are encrypted cookies (aiohttp-session), HttpOnly and SameSite=Strict;
state-changing requests from another origin are refused.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections import OrderedDict
from typing import Callable, Optional, Tuple
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session, new_session, session_middleware
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from handoff_service.hub import HUB
from handoff_service.storage import StaffRepository, StaffUser

logger = logging.getLogger(__name__)

class LoginThrottle:
    """Slows password guessing: after ``max_failures`` failed logins for one username
    from one address within ``window`` seconds, that pair is refused until the window
    has passed. Kept per process; a success clears it.

    An attempt counts as failed from the moment it starts (``begin``) until it
    succeeds, so parallel guesses cannot all slip past the check. At most
    ``max_pairs`` pairs are remembered, least recently seen forgotten first.
    """

    def __init__(self, max_failures: int = 5, window: float = 900.0, clock: Callable[[], float] = time.monotonic,
                 max_pairs: int = 10_000):
        self.max_failures = max_failures
        self.window = window
        self.clock = clock
        self.max_pairs = max_pairs
        self._failures: "OrderedDict[Tuple[str, str], list]" = OrderedDict()

    def retry_after(self, username: str, address: str) -> float:
        """Seconds until this pair may try again; 0 when it may now."""
        recent = self._recent((username.lower(), address))
        if len(recent) < self.max_failures:
            return 0.0
        return max(0.0, recent[0] + self.window - self.clock())

    def begin(self, username: str, address: str) -> None:
        """Count an attempt as failed until ``succeeded`` says otherwise."""
        key = (username.lower(), address)
        self._failures[key] = self._recent(key) + [self.clock()]
        self._failures.move_to_end(key)
        while len(self._failures) > self.max_pairs:
            self._failures.popitem(last=False)

    def succeeded(self, username: str, address: str) -> None:
        self._failures.pop((username.lower(), address), None)

    def _recent(self, key: Tuple[str, str]) -> list:
        now = self.clock()
        return [t for t in self._failures.get(key, []) if now - t < self.window][-self.max_failures:]


REQUIRED_ROLE = web.AppKey("required_role", str)
STAFF = web.AppKey("staff_repository", StaffRepository)
THROTTLE = web.AppKey("login_throttle", LoginThrottle)
LOGIN_SLOTS = web.AppKey("login_slots", asyncio.Semaphore)  # password checks running at once
CURRENT_USER = "current_user"
SESSION_MAX_AGE = 12 * 3600


def session_setup(secret: str):
    # Any secret string becomes the 32-byte key the encrypted cookie needs.
    key = hashlib.sha256(secret.encode()).digest()
    storage = EncryptedCookieStorage(
        key, cookie_name="supportbot_session", httponly=True, samesite="Strict", max_age=SESSION_MAX_AGE
    )
    return session_middleware(storage)


def _required_role(request: web.Request) -> Optional[str]:
    for app in request.match_info.apps:
        role = app.get(REQUIRED_ROLE)
        if role:
            return role
    return None


def _wants_json(request: web.Request) -> bool:
    return "/api/" in request.path or request.path.endswith("/ws")


@web.middleware
async def auth_middleware(request: web.Request, handler):
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        origin = request.headers.get("Origin")
        if origin and urlsplit(origin).netloc != request.host:
            return web.json_response(
                {"error": {"code": "cross_origin", "message": "Cross-origin request refused."}}, status=403
            )
    role = _required_role(request)
    if role is None:
        return await handler(request)
    session = await get_session(request)
    username = session.get("username")
    user = await asyncio.to_thread(request.app[STAFF].get, username) if username else None
    if user is None:
        if _wants_json(request):
            return web.json_response({"error": {"code": "login_required", "message": "Please log in."}}, status=401)
        raise web.HTTPFound(f"/login?next={request.path_qs}")
    if not user.has_role(role):
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
    wait = throttle.retry_after(username, address)
    if wait:
        minutes = math.ceil(wait / 60)
        response = aiohttp_jinja2.render_template(
            "login.html", request,
            {"next": next_url, "error": f"Too many failed logins. Try again in {minutes} minute{'s' if minutes > 1 else ''}."},
            status=429,
        )
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    throttle.begin(username, address)
    user = None
    if username and password:
        # Password hashing is slow and memory-hard on purpose: off the event loop, a few at a time.
        async with request.app[LOGIN_SLOTS]:
            user = await asyncio.to_thread(request.app[STAFF].authenticate, username, password)
    if user is None:
        logger.info("failed staff login")
        return aiohttp_jinja2.render_template(
            "login.html", request, {"next": next_url, "error": "Wrong username or password."}, status=401
        )
    throttle.succeeded(username, address)
    session = await new_session(request)
    session["username"] = user.username
    raise web.HTTPFound(next_url)


async def logout(request: web.Request):
    session = await get_session(request)
    username = session.get("username")
    session.invalidate()
    if username and HUB in request.app:
        await request.app[HUB].close_for(username)  # open consoles stop receiving at once
    raise web.HTTPFound("/login")
