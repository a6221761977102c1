"""The audit log sub-app (mounted at /audit, needs the supervisor role)."""
from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot import staff_i18n
from handoff_service.audit import handlers
from handoff_service.auth import REQUIRED_ROLE

HERE = Path(__file__).parent


def create_audit_app() -> web.Application:
    """Reads the root app's audit log (``recorder.AUDIT``)."""
    app = web.Application()
    app[REQUIRED_ROLE] = "supervisor"
    staff_i18n.install(aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True))
    app.router.add_get("/", handlers.audit_page)
    app.router.add_static("/static/", HERE / "static")
    return app
