"""The supervisor's audit log page: filters (who, what, when) and pages."""
from __future__ import annotations

import asyncio
import datetime as dt
import math
from typing import List, Optional, Tuple
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web

from handoff_service.audit.recorder import AUDIT
from handoff_service.audit.storage import ACTIONS, AuditFilter

PAGE_SIZE = 50


def _date(value: str, label: str, errors: List[str]) -> Optional[dt.date]:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        errors.append(label)
        return None


def parse_filter(query) -> Tuple[AuditFilter, List[str]]:
    """The filter from the page's query string, and the English messages for what is wrong."""
    errors: List[str] = []
    action = query.get("action", "").strip()
    if action and action not in ACTIONS:
        errors.append("Unknown kind of event.")
        action = ""
    since = _date(query.get("from", "").strip(), "“From” must be a date (YYYY-MM-DD).", errors)
    until = _date(query.get("to", "").strip(), "“To” must be a date (YYYY-MM-DD).", errors)
    if since and until and until < since:
        errors.append("“To” is before “From”.")
    where = AuditFilter(
        actor=query.get("actor", "").strip()[:80] or None,
        action=action or None,
        since=dt.datetime.combine(since, dt.time()) if since else None,
        until=dt.datetime.combine(until + dt.timedelta(days=1), dt.time()) if until else None,  # "to" is inclusive
    )
    return where, errors


async def audit_page(request: web.Request) -> web.Response:
    log = request.config_dict[AUDIT]
    where, errors = parse_filter(request.query)
    try:
        page = max(1, int(request.query.get("page", "1")))
    except ValueError:
        page = 1
    events, total = await asyncio.to_thread(log.query, where, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    if page > pages:  # a page past the end (the filter narrowed): show the last one
        page = pages
        events, total = await asyncio.to_thread(log.query, where, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    actors = await asyncio.to_thread(log.actors)
    filters = {k: request.query.get(k, "") for k in ("actor", "action", "from", "to")}
    return aiohttp_jinja2.render_template("audit.html", request, {
        "events": events, "total": total, "page": page, "pages": pages, "actions": ACTIONS,
        "actors": actors, "filters": filters, "errors": errors,
        "page_url": "/audit/?" + "".join(f"{urlencode({k: v})}&" for k, v in filters.items() if v),
    }, status=400 if errors else 200)
