"""Recording audit events from any request handler of the web service.

The root app holds the one ``AuditLog`` (``app[AUDIT]``); sub-apps reach it through
``request.config_dict``. Writes run off the event loop.
"""
from __future__ import annotations

import asyncio
from typing import Any, Dict, Optional

from aiohttp import web

from handoff_service.audit import storage
from handoff_service.audit.storage import AuditLog
from handoff_service.storage import StaffRepository

AUDIT = web.AppKey("audit_log", AuditLog)


async def record(request: web.Request, actor: Optional[str], action: str, target_type: str = "",
                 target_id: Any = "", detail: Optional[Dict[str, Any]] = None) -> None:
    await asyncio.to_thread(request.config_dict[AUDIT].record, actor, action, target_type, target_id, detail)


async def record_login(request: web.Request, username: str, succeeded: bool) -> None:
    """A login or a failed one. A failed login under a name no account has is kept
    without the name: people type their password into the username field."""
    if succeeded:
        await record(request, username, storage.LOGIN)
        return
    staff = StaffRepository(request.config_dict[AUDIT].engine)
    known = bool(username) and await asyncio.to_thread(staff.get, username) is not None
    await record(request, username if known else None, storage.LOGIN_FAILED,
                 detail={} if known else {"unknown_username": True})


async def record_logout(request: web.Request, username: str) -> None:
    await record(request, username, storage.LOGOUT)


FAQ_CHANGES = {"rolled_back": storage.FAQ_ROLLED_BACK, "exported": storage.FAQ_EXPORTED}


def faq_change_recorder(username_of):
    """The FAQ editor's change hook: one audit event per create, save, rollback or export."""
    async def on_faq_change(request: web.Request, created: bool, slug: str, change: Optional[str] = None,
                            detail: Optional[Dict[str, Any]] = None) -> None:
        action = FAQ_CHANGES.get(change) or (storage.FAQ_CREATED if created else storage.FAQ_UPDATED)
        await record(request, username_of(request), action, "faq", slug, detail)
    return on_faq_change
