"""The editors' list of what customers asked that the knowledge base did not answer well,
grouped by similarity, each group one click from a new FAQ with its question filled in."""
from __future__ import annotations

import asyncio
import datetime as dt

import aiohttp_jinja2
from aiohttp import web

from bot.settings import SUPPORTED_LANGUAGES
from knowledge_base.editor_keys import page_context
from knowledge_base.unanswered import UnansweredRepository

UNANSWERED = web.AppKey("unanswered", UnansweredRepository)
PERIODS = {"7": 7, "30": 30, "90": 90}


async def list_unanswered(request: web.Request) -> web.Response:
    days = request.query.get("days", "30")
    days = days if days in PERIODS else "30"
    language = request.query.get("language", "")
    language = language if language in SUPPORTED_LANGUAGES else ""
    since = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(days=PERIODS[days])
    clusters = await asyncio.to_thread(request.app[UNANSWERED].clusters, since, None, language or None)
    return aiohttp_jinja2.render_template("faq_unanswered.html", request, page_context(
        clusters=clusters, days=days, periods=list(PERIODS), language=language))


def add_routes(app: web.Application, repository: UnansweredRepository) -> None:
    app[UNANSWERED] = repository
    app.router.add_get("/unanswered", list_unanswered)
