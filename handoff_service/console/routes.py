"""The agent console sub-app (mounted at /agent, needs the agent role)."""
from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from handoff_service.auth import REQUIRED_ROLE
from handoff_service.console import handlers
from handoff_service.desk import HandoffDesk
from handoff_service.hub import AgentHub
from handoff_service.storage import HandoffRepository, TranscriptRepository

HERE = Path(__file__).parent


def create_console_app(desk: HandoffDesk, handoffs: HandoffRepository, transcripts: TranscriptRepository, hub: AgentHub) -> web.Application:
    app = web.Application()
    app[REQUIRED_ROLE] = "agent"
    app[handlers.DESK] = desk
    app[handlers.HANDOFFS] = handoffs
    app[handlers.TRANSCRIPTS] = transcripts
    app[handlers.HUB] = hub
    aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)
    app.router.add_get("/", handlers.console_page)
    app.router.add_get("/api/handoffs", handlers.list_handoffs)
    app.router.add_get("/api/handoffs/{handoff_id}", handlers.get_handoff)
    app.router.add_post("/api/handoffs/{handoff_id}/accept", handlers.accept)
    app.router.add_post("/api/handoffs/{handoff_id}/messages", handlers.reply)
    app.router.add_post("/api/handoffs/{handoff_id}/close", handlers.close)
    app.router.add_get("/ws", handlers.websocket)
    app.router.add_static("/static/", HERE / "static")
    return app
