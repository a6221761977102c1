"""The customer-requests sub-app (mounted at /privacy, needs the supervisor role)."""
from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot import staff_i18n
from handoff_service.auth import REQUIRED_ROLE
from handoff_service.privacy import handlers
from handoff_service.privacy.customer_records import CustomerRecords

HERE = Path(__file__).parent


def create_privacy_app(records: CustomerRecords) -> web.Application:
    app = web.Application()
    app[REQUIRED_ROLE] = "supervisor"
    app[handlers.RECORDS] = records
    staff_i18n.install(aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True))
    app.router.add_get("/", handlers.requests_page)
    app.router.add_post("/export", handlers.export)
    app.router.add_post("/erase", handlers.erase)
    return app
