"""The demo sub-app (mounted at /demo/ when Settings.demo_pages; public, like the chat page)."""
from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from actions.accounts import SqlAccounts
from bot import staff_i18n
from bot.settings import Settings
from handoff_service.demo import handlers

HERE = Path(__file__).parent


def create_demo_app(settings: Settings, accounts: SqlAccounts) -> web.Application:
    app = web.Application()
    app[handlers.SETTINGS] = settings
    app[handlers.ACCOUNTS] = accounts
    # Its own pages, and the customer chat page (the signed-in page is that page with a token).
    staff_i18n.install(aiohttp_jinja2.setup(
        app, loader=jinja2.FileSystemLoader([HERE / "templates", HERE.parent / "templates"]), autoescape=True))
    app.router.add_get("/", handlers.index)
    app.router.add_get("/signed-in/{customer_ref}", handlers.signed_in_chat)
    app.router.add_get("/api/outbox", handlers.outbox)
    return app
