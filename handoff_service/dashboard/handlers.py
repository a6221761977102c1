"""The dashboard's pages, JSON API, exports and wallboard websocket."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any, Dict, List, Optional, Tuple

import aiohttp_jinja2
from aiohttp import WSMsgType, web

from handoff_service.audit import storage as audit
from handoff_service.audit.recorder import record
from handoff_service.auth import current_user, origin_allowed
from handoff_service.dashboard.export import export_tables, to_csv, to_xlsx
from handoff_service.dashboard.queries import Dashboard, HistoryFilter
from handoff_service.dashboard.summary import HandoffRollup
from handoff_service.hub import AgentHub
from handoff_service.web_errors import bad_request, not_found

logger = logging.getLogger(__name__)

DASHBOARD = web.AppKey("dashboard", Dashboard)
ROLLUP = web.AppKey("handoff_rollup", HandoffRollup)
WALLBOARD_HUB = web.AppKey("wallboard_hub", AgentHub)
UNANSWERED = web.AppKey("unanswered", object)  # knowledge_base.unanswered.UnansweredRepository, if present
MAX_RANGE_DAYS = 366
FILTERS = ("channel", "language", "skill_group", "agent", "intent")


def parse_history_filter(dashboard: Dashboard, query, today: Optional[dt.date] = None) -> Tuple[HistoryFilter, Dict[str, str]]:
    """The filter from a query string (dates are the centre's local days, inclusive)."""
    today = today or dashboard.local(dt.datetime.utcnow()).date()
    try:
        last = dt.date.fromisoformat(query.get("to") or today.isoformat())
        first = dt.date.fromisoformat(query.get("from") or (last - dt.timedelta(days=6)).isoformat())
    except ValueError:
        raise bad_request("bad_date", "“from” and “to” must be dates (YYYY-MM-DD).")
    if last < first:
        raise bad_request("bad_range", "“to” is before “from”.")
    if (last - first).days > MAX_RANGE_DAYS:
        raise bad_request("range_too_long", f"At most {MAX_RANGE_DAYS} days at a time.")
    since, until = dashboard.day_range(first, last)
    values = {name: (query.get(name) or "").strip()[:120] for name in FILTERS}
    where = HistoryFilter(since=since, until=until, **{k: v or None for k, v in values.items()})
    return where, {"from": first.isoformat(), "to": last.isoformat(), **values}


async def _history(request: web.Request) -> Tuple[Dict[str, Any], Dict[str, str]]:
    dashboard = request.app[DASHBOARD]
    where, filters = parse_history_filter(dashboard, request.query)
    await request.app[ROLLUP].refresh_if_stale()
    history = await asyncio.to_thread(dashboard.history, where)
    history["unanswered"] = await asyncio.to_thread(_unanswered, request.app.get(UNANSWERED), where)
    return history, filters


def _unanswered(repository, where: HistoryFilter) -> List[Dict[str, Any]]:
    if repository is None:
        return []
    try:
        clusters = repository.clusters(where.since, where.until, language=where.language)
    except Exception as error:  # the KB's table missing or its clustering failing must not break the page
        logger.warning("unanswered-question clusters unavailable: %s", type(error).__name__)
        return []
    return [{"label": str(c.get("label", "")), "count": int(c.get("count", 0)),
             "examples": [str(e) for e in (c.get("examples") or [])][:3]} for c in clusters]


@aiohttp_jinja2.template("wallboard.html")
async def wallboard_page(request: web.Request):
    snapshot = await asyncio.to_thread(request.app[DASHBOARD].wallboard)
    return {"user": current_user(request), "snapshot": snapshot}


async def wallboard_api(request: web.Request) -> web.Response:
    return web.json_response(await asyncio.to_thread(request.app[DASHBOARD].wallboard))


@aiohttp_jinja2.template("history.html")
async def history_page(request: web.Request):
    history, filters = await _history(request)
    where, _ = parse_history_filter(request.app[DASHBOARD], request.query)
    choices = await asyncio.to_thread(request.app[DASHBOARD].filter_choices, where)
    return {"user": current_user(request), "h": history, "filters": filters, "choices": choices,
            "query": request.query_string}


async def history_api(request: web.Request) -> web.Response:
    history, filters = await _history(request)
    return web.json_response({"filters": filters, **history})


async def export(request: web.Request) -> web.Response:
    table, kind = request.match_info["table"], request.match_info["kind"]
    history, filters = await _history(request)
    tables = export_tables(history)
    stamp = f"{filters['from']}_{filters['to']}"
    if table not in tables and not (kind == "xlsx" and table == "all"):
        raise not_found("No such table.")
    await record(request, current_user(request).username, audit.DASHBOARD_EXPORTED, "dashboard", table,
                 {"format": kind, **{k: v for k, v in filters.items() if v}})  # privacy (#14): every export on record
    if kind == "xlsx":
        if table != "all" and table not in tables:
            raise not_found("No such table.")
        chosen = tables if table == "all" else {table: tables[table]}
        body = await asyncio.to_thread(to_xlsx, chosen)
        return web.Response(body=body, headers={
            "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "Content-Disposition": f'attachment; filename="dashboard-{table}-{stamp}.xlsx"', "Cache-Control": "no-store"})
    if table not in tables:
        raise not_found("No such table.")
    columns, rows = tables[table]
    return web.Response(body=to_csv(columns, rows), headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="dashboard-{table}-{stamp}.csv"', "Cache-Control": "no-store"})


@aiohttp_jinja2.template("forecast.html")
async def forecast_page(request: web.Request):
    forecast = await asyncio.to_thread(request.app[DASHBOARD].forecast, None, _hours(request))
    return {"user": current_user(request), "f": forecast}


async def forecast_api(request: web.Request) -> web.Response:
    return web.json_response(await asyncio.to_thread(request.app[DASHBOARD].forecast, None, _hours(request)))


def _hours(request: web.Request) -> int:
    try:
        return min(24, max(1, int(request.query.get("hours", "8"))))
    except ValueError:
        raise bad_request("bad_hours", "hours must be a whole number from 1 to 24.")


async def websocket(request: web.Request) -> web.WebSocketResponse:
    """The wallboard's live feed: a snapshot now, then each time a figure changes."""
    if not origin_allowed(request, required=False):
        raise web.HTTPForbidden(text="Cross-origin websocket refused.")
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    user = current_user(request)
    hub = request.app[WALLBOARD_HUB]
    hub.add(ws, user.username, user.session_version)
    try:
        await ws.send_json({"type": "wallboard", "wallboard": await asyncio.to_thread(request.app[DASHBOARD].wallboard)})
        async for msg in ws:  # the wallboard only listens
            if msg.type == WSMsgType.ERROR:
                break
    finally:
        hub.remove(ws)
    return ws
