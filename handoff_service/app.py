"""The web service: one aiohttp process with a sub-app per concern.

    /            customer chat page (public)
    /login       staff login
    /agent/      agent console (role: agent)          handoff_service.console
    /kb/         FAQ editor (role: editor)            knowledge_base.editor
    /api/        service API for the action server    handoff_service.api
    /healthz     liveness and event-stream position

It also consumes Rasa's event stream (handoff_service.events) in the background.
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.database import create_engine
from bot.settings import Settings
from handoff_service import auth
from handoff_service.api import create_api_app
from handoff_service.console.routes import create_console_app
from handoff_service.desk import HandoffDesk
from handoff_service.events import EventStreamConsumer, SqlEventSource, TranscriptHandler
from handoff_service.hub import HUB, AgentHub
from handoff_service.rasa_client import RasaClient
from handoff_service.storage import CursorRepository, HandoffRepository, StaffRepository, TranscriptRepository
from handoff_service.web_errors import errors_middleware, security_headers_middleware
from knowledge_base.editor import create_editor_app
from knowledge_base.storage import FaqRepository

logger = logging.getLogger(__name__)
HERE = Path(__file__).parent

SETTINGS = web.AppKey("settings", Settings)
CONSUMER = web.AppKey("consumer", EventStreamConsumer)
RASA = web.AppKey("rasa", RasaClient)
BACKGROUND = web.AppKey("background_tasks", list)


@aiohttp_jinja2.template("chat.html")
async def chat_page(request: web.Request):
    return {"rasa_url": request.app[SETTINGS].public_rasa_url}


async def healthz(request: web.Request) -> web.Response:
    position = await asyncio.to_thread(request.app[CONSUMER].cursors.get, request.app[CONSUMER].name)
    return web.json_response({"status": "ok", "event_position": position})


def create_app(settings: Settings) -> web.Application:
    settings.require("rasa_token", "service_token", "session_secret")
    engine = create_engine(settings.database_url)
    staff = StaffRepository(engine)
    handoffs = HandoffRepository(engine)
    transcripts = TranscriptRepository(engine)
    hub = AgentHub()
    rasa = RasaClient(settings.rasa_url, settings.rasa_token)
    desk = HandoffDesk(handoffs, rasa, hub)
    source = SqlEventSource(settings.rasa_events_db_url)
    consumer = EventStreamConsumer(source, CursorRepository(engine), [TranscriptHandler(transcripts, hub, source, handoffs)])

    app = web.Application(
        middlewares=[
            errors_middleware,
            security_headers_middleware(settings.public_rasa_url),
            auth.session_setup(settings.session_secret),
            auth.auth_middleware,
        ],
        client_max_size=256 * 1024,
    )
    app[SETTINGS] = settings
    app[auth.STAFF] = staff
    app[auth.THROTTLE] = auth.LoginThrottle()
    app[auth.LOGIN_SLOTS] = asyncio.Semaphore(2)
    app[HUB] = hub
    app[RASA] = rasa
    app[CONSUMER] = consumer
    aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)

    app.router.add_get("/", chat_page)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/login", auth.login_page)
    app.router.add_post("/login", auth.login)
    app.router.add_post("/logout", auth.logout)
    app.router.add_static("/static/", HERE / "static")

    app.add_subapp("/api/", create_api_app(desk, settings.service_token))
    console = create_console_app(desk, handoffs, transcripts, hub)
    app.add_subapp("/agent/", console)
    editor = create_editor_app(FaqRepository(engine), lambda request: auth.current_user(request).username)
    editor[auth.REQUIRED_ROLE] = "editor"
    app.add_subapp("/kb/", editor)

    async def start_background(app: web.Application) -> None:
        app[BACKGROUND] = []
        if settings.run_event_consumer:
            app[BACKGROUND].append(asyncio.create_task(consumer.run(settings.event_poll_interval)))

    async def stop_background(app: web.Application) -> None:
        for task in app[BACKGROUND]:
            task.cancel()
        await asyncio.gather(*app[BACKGROUND], return_exceptions=True)
        await hub.close_all()
        await rasa.close()
        source.dispose()
        engine.dispose()

    app.on_startup.append(start_background)
    app.on_cleanup.append(stop_background)
    return app
