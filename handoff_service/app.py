"""The web service: one aiohttp process with a sub-app per concern.

    /            customer chat page (public)
    /login       staff login
    /agent/      agent console (role: agent)          handoff_service.console
    /kb/         FAQ editor (role: editor)            knowledge_base.editor
    /audit/      audit log (role: supervisor)         handoff_service.audit
    /privacy/    customer data requests (supervisor)  handoff_service.privacy
    /language    staff pages' language switcher       handoff_service.staff_language
    /kb/api/     FAQ search for staff (editor, agent) knowledge_base.staff_api
    /api/        service API for the action server    handoff_service.api
    /dashboard/  wallboard, history, forecast (supervisor)  handoff_service.dashboard
    /healthz     health and event-stream lag (503 "degraded" when the relay is in trouble)

It also consumes Rasa's event stream (handoff_service.events) and runs the daily
retention purge (handoff_service.privacy.retention) in the background.
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from actions.accounts import AccountRepository
from bot import staff_i18n
from bot.database import create_engine
from bot.privacy import warm_up
from bot.settings import Settings
from handoff_service import auth, embed
from handoff_service.api import create_api_app
from handoff_service.audit.recorder import AUDIT, faq_change_recorder
from handoff_service.audit.routes import create_audit_app
from handoff_service.audit.storage import AuditLog
from handoff_service.console.canned_storage import CannedReplyRepository
from handoff_service.console.routes import create_console_app
from handoff_service.console.tools_handlers import install_console_tools, install_service_typing
from handoff_service.desk import HandoffDesk
from handoff_service.console.customer_history import CUSTOMER_HISTORY
from handoff_service.identities.history import CustomerHistory
from handoff_service.identities.linker import IdentityLinker
from handoff_service.identities.storage import IdentityRepository
from handoff_service.desk.hours import BusinessHours
from handoff_service.desk.presence import CustomerPresence
from handoff_service.desk.storage import HandoffRepository
from handoff_service.desk.stream import QueueStreamHandler
from handoff_service.desk.tickets import TicketRepository
from handoff_service.events import EventStreamConsumer, SqlEventSource, TranscriptHandler
from handoff_service.hub import HUB, AgentHub
from handoff_service.privacy.customer_records import CustomerRecords
from handoff_service.privacy.personal_data import PersonalData
from handoff_service.privacy.routes import create_privacy_app
from handoff_service.privacy.retention import RetentionPurge, run_daily
from handoff_service.rasa_client import RasaClient
from handoff_service.storage import (
    CursorRepository, LoginFailureRepository, SetAsideRepository, StaffRepository, TranscriptRepository,
)
from handoff_service.staff_language import set_language, staff_language_middleware
from handoff_service.stream_wakeup import wakeup_for
from handoff_service.web_errors import errors_middleware, security_headers_middleware
# --- dashboard (#13) ---
from handoff_service.dashboard.queries import Dashboard
from handoff_service.dashboard.routes import create_dashboard_app
from handoff_service.dashboard.summary import HandoffRollup, SummaryHandler
# --- accounts (#9) ---
from handoff_service.demo.routes import create_demo_app
from knowledge_base.editor import create_editor_app
from knowledge_base.service import KnowledgeBase
from knowledge_base.staff_api import create_staff_api_app
from knowledge_base.storage import FaqRepository

logger = logging.getLogger(__name__)
HERE = Path(__file__).parent

SETTINGS = web.AppKey("settings", Settings)
CONSUMER = web.AppKey("consumer", EventStreamConsumer)
RASA = web.AppKey("rasa", RasaClient)
BACKGROUND = web.AppKey("background_tasks", list)


async def chat_page(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    # Demo mode (#9): the texts the demo sender "sent" for this conversation show beside the chat.
    # Embedded (/widget.js): the sites whose page may hand it a signed-in customer's token.
    response = aiohttp_jinja2.render_template("chat.html", request, {"rasa_url": settings.public_rasa_url,
                                                                      "demo_outbox": settings.demo_pages,
                                                                      "embed_origins": settings.embed_origins})
    embed.allow_framing(response, settings)
    return response


async def healthz(request: web.Request) -> web.Response:
    """200 ``{"status": "ok"}``, or 503 ``{"status": "degraded", "reasons": [...]}`` when
    customers' lines are not reaching agents: the event stream is behind by more than
    EVENT_LAG_LIMIT seconds, or rows were set aside in the last 15 minutes."""
    stream = await request.app[CONSUMER].health(request.app[SETTINGS].event_lag_limit)
    reasons = stream.pop("reasons")
    body = {"status": "degraded" if reasons else "ok", "reasons": reasons,
            "event_position": stream["position"], "event_stream": stream}
    return web.json_response(body, status=503 if reasons else 200)


def _unanswered_repository(engine):
    """The KB's unanswered-question clusters (issue #6), when that module is present."""
    try:
        from knowledge_base.unanswered import UnansweredRepository
    except ImportError:
        return None
    return UnansweredRepository(engine)


def create_app(settings: Settings) -> web.Application:
    settings.require("rasa_token", "service_token", "session_secret")
    engine = create_engine(settings.database_url)
    staff = StaffRepository(engine)
    handoffs = HandoffRepository(engine)
    transcripts = TranscriptRepository(engine)
    hub = AgentHub()
    rasa = RasaClient(settings.rasa_url, settings.rasa_token)
    desk = HandoffDesk(
        handoffs, rasa, hub, max_reply_chars=settings.max_message_chars, staff=staff,
        hours=BusinessHours.parse(settings.desk_hours, settings.desk_timezone),
        default_handle_seconds=settings.desk_default_handle_seconds, long_wait_seconds=settings.desk_long_wait_seconds,
    )
    source = SqlEventSource(settings.rasa_events_db_url)
    summaries = SummaryHandler(engine)  # dashboard (#13): summary tables
    consumer = EventStreamConsumer(
        source, CursorRepository(engine),
        [TranscriptHandler(transcripts, hub, source, handoffs),
         QueueStreamHandler(desk),  # desk (#7): abandoned when a queued customer starts a new session
         IdentityLinker(IdentityRepository(engine), source.engine),  # channels (#10)
         summaries],
        SetAsideRepository(engine),
        wakeup=wakeup_for(settings.rasa_events_db_url, settings.web_port),
    )

    app = web.Application(
        middlewares=[
            errors_middleware,
            security_headers_middleware(settings.public_rasa_url),
            auth.session_setup(settings.session_secret),
            auth.auth_middleware,
            staff_language_middleware,
        ],
        client_max_size=256 * 1024,
    )
    app[SETTINGS] = settings
    app[auth.STAFF] = staff
    app[auth.THROTTLE] = auth.LoginThrottle(LoginFailureRepository(engine))
    app[auth.STAFF_ORIGINS] = settings.staff_origins
    app[auth.LOGIN_SLOTS] = asyncio.Semaphore(2)
    app[HUB] = hub
    app[RASA] = rasa
    app[CONSUMER] = consumer
    app[AUDIT] = AuditLog(engine)
    staff_i18n.install(aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True))

    app.router.add_get("/", chat_page)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/login", auth.login_page)
    app.router.add_post("/login", auth.login)
    app.router.add_post("/logout", auth.logout)
    app.router.add_post("/language", set_language)
    app.router.add_static("/static/", HERE / "static")
    # --- channels (#10) ---
    app.router.add_get("/widget.js", embed.widget_script)

    tickets = TicketRepository(engine, settings.session_secret)
    presence = CustomerPresence(desk, settings.desk_abandon_grace_seconds)  # desk (#7): closed the chat while queued
    service_api = create_api_app(desk, settings.service_token, tickets, presence)
    install_service_typing(service_api)  # console tools: the customer's typing, from the chat channel
    app.add_subapp("/api/", service_api)
    console = create_console_app(desk, handoffs, transcripts, hub, PersonalData(AccountRepository(engine)), tickets)
    # --- channels (#10) ---
    identities = IdentityRepository(engine)
    console[CUSTOMER_HISTORY] = CustomerHistory(identities, transcripts)
    faq_repository = FaqRepository(engine)
    # This process's own live index (the action server keeps another): staff search, the try-it box,
    # the console's agent assist.
    knowledge_base = KnowledgeBase(faq_repository)
    install_console_tools(console, CannedReplyRepository(engine), knowledge_base)
    app.add_subapp("/agent/", console)
    staff_username = lambda request: auth.current_user(request).username  # noqa: E731
    staff_search = create_staff_api_app(knowledge_base)
    staff_search[auth.REQUIRED_ROLE] = ("editor", "agent")
    app.add_subapp("/kb/api/", staff_search)  # before /kb/, which would claim its paths
    editor = create_editor_app(faq_repository, staff_username, knowledge_base, faq_change_recorder(staff_username))
    editor[auth.REQUIRED_ROLE] = "editor"
    app.add_subapp("/kb/", editor)
    app.add_subapp("/audit/", create_audit_app())
    tracker_engine, broker_engine = create_engine(settings.rasa_tracker_db_url), source.engine
    app.add_subapp("/privacy/", create_privacy_app(CustomerRecords(engine, tracker_engine, broker_engine)))
    # --- dashboard (#13) ---
    app.add_subapp("/dashboard/", create_dashboard_app(
        Dashboard(engine, settings.centre_time_zone, settings.service_level_seconds, settings.service_level_target,
                  settings.wallboard_wait_alert_seconds),
        HandoffRollup(engine, settings.service_level_seconds), _unanswered_repository(engine)))
    # --- accounts (#9) ---
    if settings.demo_pages:  # never outside demo mode: it signs customer tokens and shows sent codes
        app.add_subapp("/demo/", create_demo_app(settings, AccountRepository(engine)))

    async def start_background(app: web.Application) -> None:
        app[BACKGROUND] = [asyncio.create_task(auth.close_revoked_feeds(hub, staff, console[auth.REQUIRED_ROLE]))]
        knowledge_base.start()
        if settings.run_event_consumer:
            # The transcript masks secrets with the recogniser: built before the first line.
            await asyncio.to_thread(warm_up)
            consumer.wakeup.start()
            app[BACKGROUND].append(asyncio.create_task(consumer.run(settings.event_poll_interval)))
        if settings.run_daily_purge:
            purge = RetentionPurge(settings, engine, tracker_engine, broker_engine, consumer.name)
            app[BACKGROUND].append(asyncio.create_task(run_daily(purge)))
        # Chats queued while this process was down go to whoever is online now.
        desk.dispatch_soon()

    async def stop_background(app: web.Application) -> None:
        for task in app[BACKGROUND]:
            task.cancel()
        await asyncio.gather(*app[BACKGROUND], return_exceptions=True)
        await consumer.wakeup.stop()
        await asyncio.to_thread(knowledge_base.stop)
        await presence.stop()
        await desk.stop()
        await hub.close_all()
        await rasa.close()
        source.dispose()
        tracker_engine.dispose()
        summaries.close()  # its own connection (dashboard #13)
        engine.dispose()

    app.on_startup.append(start_background)
    app.on_cleanup.append(stop_background)
    return app
