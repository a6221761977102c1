"""The dashboard sub-app (mounted at /dashboard, supervisor role only)."""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot import staff_i18n
from handoff_service.auth import REQUIRED_ROLE
from handoff_service.dashboard import handlers
from handoff_service.dashboard.live import WallboardPusher
from handoff_service.dashboard.queries import Dashboard
from handoff_service.dashboard.summary import HandoffRollup
from handoff_service.hub import AgentHub

logger = logging.getLogger(__name__)
HERE = Path(__file__).parent
PUSHER = web.AppKey("wallboard_pusher", WallboardPusher)
TASKS = web.AppKey("dashboard_tasks", list)
ROLLUP_INTERVAL = 60.0  # seconds between background refreshes of the handoff rollup


def create_dashboard_app(dashboard: Dashboard, rollup: HandoffRollup, unanswered=None,
                         push_interval: float = 0.5) -> web.Application:
    app = web.Application()
    app[REQUIRED_ROLE] = "supervisor"
    app[handlers.DASHBOARD] = dashboard
    app[handlers.ROLLUP] = rollup
    app[handlers.WALLBOARD_HUB] = hub = AgentHub()
    app[PUSHER] = WallboardPusher(dashboard, hub, push_interval)
    if unanswered is not None:
        app[handlers.UNANSWERED] = unanswered
    staff_i18n.install(aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True))
    app.router.add_get("/", handlers.wallboard_page)
    app.router.add_get("/history", handlers.history_page)
    app.router.add_get("/forecast", handlers.forecast_page)
    app.router.add_get("/api/wallboard", handlers.wallboard_api)
    app.router.add_get("/api/history", handlers.history_api)
    app.router.add_get("/api/forecast", handlers.forecast_api)
    app.router.add_get(r"/api/export/{table:[a-z_]+}.{kind:csv|xlsx}", handlers.export)
    app.router.add_get("/ws", handlers.websocket)
    app.router.add_static("/static/", HERE / "static")

    async def start(app: web.Application) -> None:
        app[TASKS] = [asyncio.create_task(app[PUSHER].run()), asyncio.create_task(_refresh_rollup(rollup))]

    async def stop(app: web.Application) -> None:
        for task in app[TASKS]:
            task.cancel()
        await asyncio.gather(*app[TASKS], return_exceptions=True)
        await hub.close_all()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    return app


async def _refresh_rollup(rollup: HandoffRollup) -> None:
    while True:
        try:
            await rollup.refresh_if_stale()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            logger.warning("handoff rollup refresh failed: %s", type(error).__name__)
        await asyncio.sleep(ROLLUP_INTERVAL)
