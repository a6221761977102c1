"""The dashboard in a real browser (Debian's chromium via Playwright) against the web
service listening on a real port (in a thread of this process; Rasa is not needed for
the dashboard): the wallboard updating live while a customer queues and an agent
accepts, and the history page filtering, drawing its charts and exporting.
Every wait is on something appearing on the page."""
import asyncio
import csv
import datetime as dt
import io
import socket
import threading

import pytest
from aiohttp import web

from bot.database import create_engine
from bot.settings import Settings
from handoff_service.app import CONSUMER, create_app
from handoff_service.dashboard import desk_records as desk
from handoff_service.dashboard import handlers as dash_handlers
from handoff_service.storage import StaffRepository
from tests.dashboard_fixtures import ensure_desk_schema
from tests.integration.test_browser import CHROMIUM, TIMEOUT
from tests.test_dashboard import DAY, desk_records, live_desk, scripted_day
from tests.test_web import PASSWORD

pytestmark = [pytest.mark.browser]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def service(database_url, tmp_path):
    port = _free_port()
    settings = Settings.from_env({"VAR_DIR": str(tmp_path)}).with_overrides(
        database_url=database_url, rasa_events_db_url=f"sqlite:///{tmp_path / 'events.db'}",
        rasa_port=1, web_port=port, public_web_url=f"http://127.0.0.1:{port}",
        rasa_token="rasa-token", service_token="service-token", session_secret="session-secret",
        run_daily_purge=False, run_event_consumer=False,
    )
    engine = create_engine(database_url)
    ensure_desk_schema(engine)
    StaffRepository(engine).upsert("sup", "Supervisor Sue", PASSWORD, ["supervisor"])
    loop = asyncio.new_event_loop()
    app = create_app(settings)
    dashboard_app = next(a for a in app._subapps if dash_handlers.ROLLUP in a)
    dashboard_app[dash_handlers.ROLLUP].max_age = 0  # every page sees the desk's latest records
    runner = web.AppRunner(app)
    started = threading.Event()

    def serve():
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(60)

    def run(coro):
        return asyncio.run_coroutine_threadsafe(coro, loop).result(60)

    yield settings, engine, app, run
    run(runner.cleanup())
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    engine.dispose()


@pytest.fixture
def page():
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT)
    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        context = browser.new_context(viewport={"width": 1600, "height": 900}, locale="en-GB", accept_downloads=True)
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        yield page
        context.close()
        browser.close()
    assert errors == [], f"JavaScript errors on the pages: {errors}"


def login(page, web_url, next_path):
    page.goto(f"{web_url}/login?next={next_path}")
    page.get_by_test_id("login-username").fill("sup")
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()


def test_wallboard_updates_live_while_a_customer_queues_and_an_agent_accepts(service, page):
    from playwright.sync_api import expect

    settings, engine, _app, _run = service
    now = dt.datetime.utcnow()
    live_desk(engine, now)
    login(page, settings.public_web_url, "/dashboard/")
    expect(page.get_by_test_id("wb-waiting")).to_have_text("3")
    expect(page.locator('[data-testid="wb-alert"][data-kind="wait"]')).to_have_count(1)
    with engine.begin() as conn:  # a customer joins the technical queue
        conn.execute(desk.handoffs.insert().values(
            id=40, conversation_id="live-40", status="queued", reason="frustration", language="en",
            created_at=dt.datetime.utcnow(), skill_group="technical", priority=0))
    expect(page.get_by_test_id("wb-waiting")).to_have_text("4")
    expect(page.locator('[data-testid="wb-queue"][data-skill-group="technical"] td').nth(2)).to_have_text("2")
    with engine.begin() as conn:  # carol accepts
        conn.execute(desk.handoffs.update().where(desk.handoffs.c.id == 40).values(
            status="active", agent_username="carol", accepted_at=dt.datetime.utcnow()))
    expect(page.get_by_test_id("wb-waiting")).to_have_text("3")
    expect(page.locator('[data-testid="wb-agent"][data-agent="carol"] td').nth(2)).to_have_text("1 / 3")


def test_history_page_filters_draws_charts_and_exports(service, page):
    from playwright.sync_api import expect
    from rasa.core.brokers.sql import SQLEventBroker

    settings, engine, app, run = service
    broker = SQLEventBroker(db=settings.rasa_events_db_url.replace("sqlite:///", ""))
    for event in scripted_day():
        broker.publish(event)

    async def consume():
        while await app[CONSUMER].poll_once():
            pass

    run(consume())
    desk_records(engine)
    login(page, settings.public_web_url, f"/dashboard/history?from={DAY}&to={DAY}")
    expect(page.get_by_test_id("h-conversations")).to_have_text("11")
    expect(page.get_by_test_id("h-service-level")).to_have_text("50.0%")
    for chart in ("chart-days", "chart-reasons", "chart-waits", "chart-csat"):
        expect(page.get_by_test_id(chart).locator("canvas")).to_have_count(1)  # drawn by ECharts
    page.get_by_test_id("filter-language").select_option("en")
    page.get_by_test_id("filter-submit").click()
    expect(page.get_by_test_id("h-conversations")).to_have_text("1")
    page.get_by_test_id("filter-language").select_option("")
    page.get_by_test_id("filter-skill_group").select_option("billing")
    page.get_by_test_id("filter-submit").click()
    expect(page.get_by_test_id("h-abandonment")).to_have_text("50.0%")  # 1 of billing's 2
    with page.expect_download() as download:
        page.get_by_test_id("export-summary").click()
    text = open(download.value.path(), encoding="utf-8-sig").read()
    figures = dict(list(csv.reader(io.StringIO(text)))[1:])
    assert figures["handoffs.offered"] == "2" and figures["handoffs.abandoned"] == "1"
    with page.expect_download() as download:
        page.get_by_test_id("export-xlsx").click()
    assert download.value.suggested_filename.endswith(".xlsx")
