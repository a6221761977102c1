"""The agent console sub-app (mounted at /agent, needs the agent role)."""
from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot import staff_i18n
from handoff_service.auth import REQUIRED_ROLE
from handoff_service.console import customer_history, handlers, ops_handlers, transcript_reveal
from handoff_service.desk import HandoffDesk
from handoff_service.desk.transfers import DeskOperations
from handoff_service.hub import AgentHub
from handoff_service.privacy.personal_data import PersonalData
from handoff_service.desk.storage import HandoffRepository
from handoff_service.desk.tickets import TicketRepository
from handoff_service.storage import TranscriptRepository

HERE = Path(__file__).parent


def create_console_app(desk: HandoffDesk, handoffs: HandoffRepository, transcripts: TranscriptRepository, hub: AgentHub,
                       personal_data: PersonalData, tickets: TicketRepository) -> web.Application:
    app = web.Application()
    app[REQUIRED_ROLE] = "agent"
    app[handlers.DESK] = desk
    app[handlers.HANDOFFS] = handoffs
    app[handlers.TRANSCRIPTS] = transcripts
    app[handlers.HUB] = hub
    app[handlers.PERSONAL_DATA] = personal_data
    app[handlers.TICKETS] = tickets
    staff_i18n.install(aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True))
    app.router.add_get("/", handlers.console_page)
    app.router.add_get("/api/handoffs", handlers.list_handoffs)
    app.router.add_get("/api/handoffs/{handoff_id}", handlers.get_handoff)
    app.router.add_post("/api/handoffs/{handoff_id}/accept", handlers.accept)
    app.router.add_post("/api/handoffs/{handoff_id}/messages", handlers.reply)
    app.router.add_post("/api/handoffs/{handoff_id}/close", handlers.close)
    app.router.add_post("/api/handoffs/{handoff_id}/reveal", handlers.reveal)
    app.router.add_get("/ws", handlers.websocket)
    # --- desk (#7) ---
    app.router.add_get("/api/me/status", handlers.my_status)
    app.router.add_post("/api/me/status", handlers.set_my_status)
    app.router.add_get("/api/agents", handlers.list_agents)
    app.router.add_post("/api/agents/{username}", handlers.set_agent)
    app.router.add_get("/api/tickets", handlers.list_tickets)
    app.router.add_post("/api/tickets/{ticket_id}/done", handlers.ticket_done)
    app.router.add_post("/api/tickets/{ticket_id}/phone", handlers.ticket_phone)
    app.router.add_post("/api/tickets/{ticket_id}/reveal", handlers.ticket_reveal)
    app.router.add_static("/static/", HERE / "static")
    # --- channels (#10) ---
    app.router.add_get("/api/handoffs/{handoff_id}/customer-history", customer_history.customer_history)
    # --- desk operations (#7): notes, transfer, supervisor takeover / reassign / whisper ---
    app[ops_handlers.OPERATIONS] = DeskOperations(desk)
    app.router.add_get("/api/handoffs/{handoff_id}/notes", ops_handlers.list_notes)
    app.router.add_post("/api/handoffs/{handoff_id}/notes", ops_handlers.add_note)
    app.router.add_post("/api/handoffs/{handoff_id}/whisper", ops_handlers.whisper)
    app.router.add_post("/api/handoffs/{handoff_id}/transfer", ops_handlers.transfer)
    app.router.add_post("/api/handoffs/{handoff_id}/takeover", ops_handlers.takeover)
    app.router.add_post("/api/handoffs/{handoff_id}/reassign", ops_handlers.reassign)
    app.router.add_get("/api/transfer-targets", ops_handlers.transfer_targets)
    # --- privacy (#14): personal data typed in a transcript line, revealed with a reason ---
    app.router.add_post("/api/handoffs/{handoff_id}/lines/{line_id}/reveal", transcript_reveal.reveal_line)
    return app
