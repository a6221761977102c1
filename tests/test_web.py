"""The web service in-process (aiohttp test server) on a real database.

Rasa is not running here, so calls that need it show the service's behaviour when
the bot server is down; the real end-to-end path is in tests/integration.
"""
import json
import logging

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.settings import Settings
from handoff_service.app import CONSUMER, HUB, create_app
from handoff_service.storage import StaffRepository
from knowledge_base.storage import FaqRepository

PASSWORD = "test-password-1"


@pytest.fixture
def settings(database_url, tmp_path):
    return Settings.from_env({"VAR_DIR": str(tmp_path)}).with_overrides(
        database_url=database_url,
        rasa_events_db_url=f"sqlite:///{tmp_path / 'events.db'}",
        rasa_port=1,  # nothing listens there: Rasa is "down"
        rasa_token="rasa-token", service_token="service-token", session_secret="session-secret",
        run_daily_purge=False,  # the purge has its own tests
        run_event_consumer=False,  # the tests drive the consumer themselves (poll_once)
    )


@pytest.fixture
async def client(settings, engine):
    staff = StaffRepository(engine)
    staff.upsert("agent", "Agent Amy", PASSWORD, ["agent"])
    staff.upsert("editor", "Editor Eve", PASSWORD, ["editor"])
    staff.upsert("bob", "Agent Bob", PASSWORD, ["agent"])
    app = create_app(settings)
    async with browser_client(app, settings) as c:
        yield c


def browser_client(app, settings):
    """A client that sends what an English-speaking browser on the site's own pages sends:
    cookies, Origin and Accept-Language (the assertions read the staff pages in English)."""
    return TestClient(TestServer(app), cookie_jar=aiohttp.CookieJar(unsafe=True),
                      headers={"Origin": settings.public_web_url, "Accept-Language": "en"})


async def login(client, username):
    r = await client.post("/login", data={"username": username, "password": PASSWORD, "next": "/agent/"}, allow_redirects=False)
    assert r.status == 302


SERVICE = {"Authorization": "Bearer service-token"}


async def test_staff_pages_and_apis_need_login(client):
    r = await client.get("/agent/", allow_redirects=False)
    assert r.status == 302 and r.headers["Location"] == "/login?next=/agent/"
    r = await client.get("/agent/api/handoffs")
    assert r.status == 401 and (await r.json())["error"]["code"] == "login_required"
    assert (await client.get("/kb/", allow_redirects=False)).status == 302
    # The customer chat page is public.
    assert (await client.get("/")).status == 200


async def test_wrong_password_is_refused_without_saying_which_part(client):
    r = await client.post("/login", data={"username": "agent", "password": "nope"}, allow_redirects=False)
    assert r.status == 401 and "Wrong username or password" in await r.text()
    assert (await client.get("/agent/api/handoffs")).status == 401


async def test_repeated_wrong_passwords_lock_that_login_for_a_while(client):
    for _ in range(5):
        r = await client.post("/login", data={"username": "agent", "password": "guess"}, allow_redirects=False)
        assert r.status == 401
    # Now even the right password is refused, with a clear message and when to come back.
    r = await client.post("/login", data={"username": "Agent", "password": PASSWORD}, allow_redirects=False)
    assert r.status == 429 and int(r.headers["Retry-After"]) > 0
    assert "Too many failed logins. Try again later. (in 15 min)" in await r.text()
    # Other staff are not locked out by someone guessing at one name.
    await login(client, "bob")


def test_login_throttle_forgets_after_its_window(engine):
    from handoff_service.auth import LoginThrottle
    from handoff_service.storage import LoginFailureRepository

    now = [1000.0]
    throttle = LoginThrottle(LoginFailureRepository(engine), max_failures=2, window=60, clock=lambda: now[0])
    throttle.begin("amy", "1.2.3.4")
    assert throttle.retry_after("amy", "1.2.3.4") == 0
    throttle.begin("AMY", "1.2.3.4")
    assert throttle.retry_after("amy", "1.2.3.4") == 60
    assert throttle.begin("amy", "1.2.3.4") == 60  # refused, and not counted again
    assert throttle.retry_after("amy", "5.6.7.8") == 0  # another address
    now[0] += 61
    assert throttle.retry_after("amy", "1.2.3.4") == 0
    throttle.begin("amy", "1.2.3.4"), throttle.begin("amy", "1.2.3.4")
    throttle.succeeded("amy", "1.2.3.4")
    assert throttle.retry_after("amy", "1.2.3.4") == 0


def test_a_flood_of_other_usernames_neither_unlocks_a_login_nor_grows_without_bound(engine):
    """Defect 4: 10,050 logins with throwaway names evicted a locked `supervisor`."""
    import sqlalchemy as sa

    from handoff_service.auth import LoginThrottle
    from handoff_service.storage import LoginFailureRepository, login_failures

    throttle = LoginThrottle(LoginFailureRepository(engine), max_failures=5, max_failures_per_address=100)
    for _ in range(5):
        throttle.begin("supervisor", "1.2.3.4")
    assert throttle.retry_after("supervisor", "1.2.3.4") > 0
    refused = sum(bool(throttle.begin(f"throwaway-{i}", "1.2.3.4")) for i in range(300))
    assert refused == 300 - 95  # the address is locked too once it reached 100 failures
    assert throttle.retry_after("supervisor", "1.2.3.4") > 0  # still locked
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(login_failures)).scalar() == 100
    # Someone elsewhere (another address) is not locked out by this address's flood.
    assert throttle.retry_after("supervisor", "5.6.7.8") == 0


async def test_unknown_usernames_cost_the_same_password_hash(client, monkeypatch):
    """Defect 8: an unknown name answered in 2 ms, a wrong password in 28 ms."""
    from handoff_service import storage

    hashed = []
    real = storage.verify_secret
    monkeypatch.setattr(storage, "verify_secret", lambda password, stored: hashed.append(password) or real(password, stored))
    for username in ("agent", "nobody-by-this-name"):
        r = await client.post("/login", data={"username": username, "password": "wrong-1"}, allow_redirects=False)
        assert r.status == 401
    assert hashed == ["wrong-1", "wrong-1"]  # the scrypt check ran for the unknown name too


async def test_each_role_sees_only_its_own_tools(client):
    await login(client, "agent")
    assert (await client.get("/agent/api/handoffs")).status == 200
    page = await client.get("/agent/")
    assert page.status == 200 and "Agent Amy" in await page.text()
    assert (await client.get("/kb/")).status == 403
    await client.post("/logout", allow_redirects=False)
    await login(client, "editor")
    assert (await client.get("/kb/")).status == 200
    r = await client.get("/agent/api/handoffs")
    assert r.status == 403 and (await r.json())["error"]["code"] == "forbidden"


@pytest.mark.parametrize("target", ["//evil.example/x", "/\t/evil.example", "/\n/evil.example", "/\\evil.example",
                                    "https://evil.example/", "javascript:alert(1)"])
async def test_login_never_redirects_to_another_site(client, target):
    r = await client.post("/login", data={"username": "agent", "password": PASSWORD, "next": target}, allow_redirects=False)
    assert r.headers["Location"] == "/agent/"


async def test_login_returns_to_the_page_asked_for(client):
    r = await client.post("/login", data={"username": "editor", "password": PASSWORD, "next": "/kb/faqs/new"}, allow_redirects=False)
    assert r.headers["Location"] == "/kb/faqs/new"


async def test_parallel_password_guesses_do_not_slip_past_the_throttle(client):
    import asyncio

    async def guess(i):
        r = await client.post("/login", data={"username": "agent", "password": f"guess-{i}"}, allow_redirects=False)
        return r.status

    statuses = await asyncio.gather(*(guess(i) for i in range(12)))
    assert statuses.count(401) <= 5 and statuses.count(429) >= 7


async def test_cross_origin_state_changes_are_refused(client, settings):
    """Defect 8: the check compared against the request's own Host, ignored the scheme
    and let requests without an Origin through."""
    await login(client, "agent")
    created = await (await client.post("/api/handoffs", json={"conversation_id": "conv-o"}, headers=SERVICE)).json()
    accept = f"/agent/api/handoffs/{created['handoff']['id']}/accept"
    port = settings.public_web_url.rsplit(":", 1)[1]
    for origin in ("http://evil.example", f"https://127.0.0.1:{port}", "null"):
        r = await client.post(accept, json={}, headers={"Origin": origin})
        assert r.status == 403 and (await r.json())["error"]["code"] == "cross_origin"
    # A forged Host header does not make another origin "our own".
    r = await client.post(accept, json={}, headers={"Origin": "http://evil.example", "Host": "evil.example"})
    assert r.status == 403
    r = await client.post(accept, json={}, skip_auto_headers=["Origin"], headers={"Origin": ""})
    assert r.status == 403
    async with aiohttp.ClientSession(cookie_jar=client.session.cookie_jar) as no_origin:
        r = await no_origin.post(client.make_url(accept), json={})
        assert r.status == 403
        r = await no_origin.post(client.make_url("/login"), data={"username": "agent", "password": PASSWORD})
        assert r.status == 403
    r = await client.post(accept, json={})  # from our own page
    assert r.status == 200
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await client.ws_connect("/agent/ws", headers={"Origin": "http://evil.example"})


def test_staff_origins_come_from_the_settings():
    settings = Settings.from_env({"PUBLIC_WEB_URL": "https://desk.example.com",
                                  "STAFF_ALLOWED_ORIGINS": "https://Console.Example.com:8443, http://localhost:9000"})
    assert settings.staff_origins == {"https://desk.example.com", "https://console.example.com:8443",
                                      "http://localhost:9000", "http://127.0.0.1:9000"}
    from bot.settings import ConfigurationError
    with pytest.raises(ConfigurationError, match="STAFF_ALLOWED_ORIGINS"):
        Settings.from_env({"STAFF_ALLOWED_ORIGINS": "desk.example.com/path"})


async def test_pages_send_security_headers(client):
    r = await client.get("/login")  # the chat page may be framed by embedding sites: tests/test_embed.py
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"


async def test_service_api_needs_its_token(client):
    r = await client.post("/api/handoffs", json={"conversation_id": "c1"})
    assert r.status == 401
    r = await client.post("/api/handoffs", json={"conversation_id": "c1"}, headers={"Authorization": "Bearer wrong"})
    assert r.status == 401


@pytest.mark.parametrize(
    "body, content_type, status, code",
    [
        (b"{not json", "application/json", 400, "malformed_json"),
        (b"\xff\xfe", "application/json", 400, "malformed_json"),
        (b"[1, 2]", "application/json", 400, "malformed_json"),
        (b'{"conversation_id": 5}', "application/json", 400, "invalid_conversation_id"),
        (b'{"conversation_id": ""}', "application/json", 400, "invalid_conversation_id"),
        (b'{"conversation_id": "c", "language": "fr"}', "application/json", 400, "invalid_language"),
        (b'{"conversation_id": "c", "context": []}', "application/json", 400, "invalid_context"),
        (b"conversation_id=c", "application/x-www-form-urlencoded", 415, "json_required"),
    ],
)
async def test_bad_handoff_requests_get_clear_errors(client, body, content_type, status, code):
    r = await client.post("/api/handoffs", data=body, headers={**SERVICE, "Content-Type": content_type})
    assert r.status == status
    assert (await r.json())["error"]["code"] == code


async def test_absurdly_nested_json_is_a_clear_error(client):
    nested = b"[" * 30_000 + b"]" * 30_000  # valid JSON, under the size limit, too deep to parse
    r = await client.post("/api/handoffs", data=b'{"conversation_id": "c", "context": ' + nested + b"}",
                          headers={**SERVICE, "Content-Type": "application/json"})
    assert r.status == 400 and (await r.json())["error"]["code"] == "malformed_json"


async def test_ids_no_database_could_hold_are_not_found(client):
    await login(client, "agent")
    assert (await client.get("/agent/api/handoffs/99999999999999999999")).status == 404
    await client.post("/logout", allow_redirects=False)
    await login(client, "editor")
    assert (await client.get("/kb/faqs/99999999999999999999")).status == 404


async def test_oversized_request_is_refused(client):
    r = await client.post("/api/handoffs", data=b'{"conversation_id": "' + b"x" * 300_000 + b'"}',
                          headers={**SERVICE, "Content-Type": "application/json"})
    assert r.status == 413


async def test_handoff_request_is_idempotent_and_reaches_the_queue(client):
    body = {"conversation_id": "conv-a", "reason": "customer_request", "language": "zh-Hant",
            "context": {"intent": {"name": "human_handoff", "confidence": 0.98}}}
    first = await client.post("/api/handoffs", json=body, headers=SERVICE)
    assert first.status == 201
    data = await first.json()
    assert data["position"] == 1
    again = await client.post("/api/handoffs", json=body, headers=SERVICE)
    assert again.status == 200 and (await again.json())["handoff"]["id"] == data["handoff"]["id"]
    await login(client, "agent")
    queue = (await (await client.get("/agent/api/handoffs")).json())["handoffs"]
    assert [(h["conversation_id"], h["language"], h["status"]) for h in queue] == [("conv-a", "zh-Hant", "queued")]


async def test_agent_actions_follow_the_handoff_state(client):
    created = await (await client.post("/api/handoffs", json={"conversation_id": "conv-b"}, headers=SERVICE)).json()
    hid = created["handoff"]["id"]
    await login(client, "agent")
    r = await client.post(f"/agent/api/handoffs/{hid}/messages", json={"text": "hello"})
    assert r.status == 409 and "Accept" in (await r.json())["error"]["message"]
    for text in ("", "   ", "x" * 2001, 42):
        r = await client.post(f"/agent/api/handoffs/{hid}/messages", json={"text": text})
        assert r.status == 400
    # Accepting works even with the bot server down (the join notice is a courtesy) ...
    r = await client.post(f"/agent/api/handoffs/{hid}/accept", json={})
    assert r.status == 200 and (await r.json())["handoff"]["status"] == "active"
    # ... but a reply that cannot reach the customer is reported, not silently dropped.
    r = await client.post(f"/agent/api/handoffs/{hid}/messages", json={"text": "hello"})
    assert r.status == 503 and (await r.json())["error"]["code"] == "bot_unreachable"
    # A reply with an id that failed is not remembered as sent: its retry is tried again.
    for _ in range(2):
        r = await client.post(f"/agent/api/handoffs/{hid}/messages", json={"text": "hello", "client_message_id": "reply-0001"})
        assert r.status == 503
    for bad_id in ("short", "x" * 65, "has space!", 7):
        r = await client.post(f"/agent/api/handoffs/{hid}/messages", json={"text": "hello", "client_message_id": bad_id})
        assert r.status == 400 and (await r.json())["error"]["code"] == "bad_client_message_id"
    # Closing needs Rasa to resume the bot, so the handoff stays open to try again.
    r = await client.post(f"/agent/api/handoffs/{hid}/close", json={})
    assert r.status == 503
    detail = await (await client.get(f"/agent/api/handoffs/{hid}")).json()
    assert detail["handoff"]["status"] == "active"
    assert (await client.get("/agent/api/handoffs/999999")).status == 404
    assert (await client.get("/agent/api/handoffs/abc")).status == 404


async def test_faq_editor_lists_escapes_and_saves(client, engine):
    repo = FaqRepository(engine)
    faq_id = repo.upsert("hours", {"zh-Hans": "<script>alert(1)</script>答案"}, {"zh-Hans": ["营业时间"]})
    await login(client, "editor")
    for _ in range(3):
        repo.record_shown("hours")  # the bot answered with it three times
    listing = await (await client.get("/kb/")).text()
    assert "<script>alert(1)</script>" not in listing and "&lt;script&gt;" in listing
    assert '<td data-testid="shown">3</td>' in listing
    form = {"version": "1", "answer_zh_hans": "新的答案", "answer_zh_hant": "新的答案(繁)", "answer_en": "New",
            "questions_zh_hans": "营业时间\n几点开门\n", "questions_zh_hant": "", "questions_en": "opening hours"}
    r = await client.post(f"/kb/faqs/{faq_id}", data=form, allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/kb/?saved=hours"
    faq = repo.get(faq_id)
    assert faq.answers["zh-Hans"] == "新的答案" and faq.questions["zh-Hans"] == ["营业时间", "几点开门"]
    assert faq.updated_by == "editor"
    # The same form again carries the old version: someone else's save must not be overwritten.
    r = await client.post(f"/kb/faqs/{faq_id}", data=form)
    assert r.status == 409 and "Someone else saved" in await r.text()
    assert repo.get(faq_id).version == 2


async def test_faq_editor_rejects_incomplete_forms_and_keeps_the_text(client, engine):
    faq_id = FaqRepository(engine).upsert("hours", {"en": "a"}, {"en": ["q"]})
    await login(client, "editor")
    r = await client.post(f"/kb/faqs/{faq_id}", data={"version": "1", "questions_en": "still here"})
    text = await r.text()
    assert r.status == 400 and "at least one language" in text and "still here" in text
    r = await client.post("/kb/faqs/new", data={"slug": "Bad Slug!", "answer_en": "a", "questions_en": "q"})
    assert r.status == 400 and "short name" in await r.text()
    r = await client.post("/kb/faqs/new", data={"slug": "new-one", "answer_en": "A", "questions_en": "Q"}, allow_redirects=False)
    assert r.status == 303
    # The same short name again (another editor, a double submit) keeps the first one's answer.
    r = await client.post("/kb/faqs/new", data={"slug": "new-one", "answer_en": "B", "questions_en": "Q2"})
    text = await r.text()
    assert r.status == 400 and "exists already" in text and "Q2" in text
    assert [f.answers["en"] for f in FaqRepository(engine).all() if f.slug == "new-one"] == ["A"]
    assert (await client.get("/kb/faqs/424242")).status == 404


async def test_empty_knowledge_base_says_so(client):
    await login(client, "editor")
    assert "No FAQs yet" in await (await client.get("/kb/")).text()


async def test_event_stream_builds_the_transcript_once_and_relays_it(client, settings):
    from rasa.core.brokers.sql import SQLEventBroker  # the real broker Rasa uses

    broker = SQLEventBroker(db=settings.rasa_events_db_url.replace("sqlite:///", ""))
    events = [
        {"sender_id": "conv-z", "event": "user", "text": "转人工", "timestamp": 1.0,
         "parse_data": {"intent": {"name": "human_handoff", "confidence": 0.97}}},
        {"sender_id": "conv-z", "event": "action", "name": "action_handoff", "timestamp": 1.1},
        {"sender_id": "conv-z", "event": "user", "text": "EXTERNAL: EXTERNAL_handoff_closed", "timestamp": 1.15},
        {"sender_id": "conv-z", "event": "bot", "text": "正在为您转接", "timestamp": 1.2},
        {"sender_id": "conv-z", "event": "bot", "text": "我来帮您", "timestamp": 1.3,
         "metadata": {"sender": "agent", "agent_username": "agent"}},
        {"sender_id": "conv-z", "event": "slot", "name": "requested_slot", "value": "account_pin", "timestamp": 1.4},
        {"sender_id": "conv-z", "event": "user", "text": "1234", "timestamp": 1.5, "parse_data": {}},
        {"sender_id": "conv-z", "event": "slot", "name": "requested_slot", "value": None, "timestamp": 1.6},
        {"sender_id": "conv-z", "event": "user", "text": "谢谢", "timestamp": 1.7, "parse_data": {}},
    ]
    other_chat = {"sender_id": "conv-bot-only", "event": "user", "text": "营业时间", "timestamp": 1.8, "parse_data": {}}
    for e in events + [other_chat]:
        broker.publish(e)
    # The bot queued conv-z for an agent (the action does that before Rasa publishes the turn).
    created = await (await client.post("/api/handoffs", json={"conversation_id": "conv-z"}, headers=SERVICE)).json()
    await login(client, "agent")
    consumer = client.server.app[CONSUMER]
    async with client.ws_connect("/agent/ws") as ws:
        await consumer.poll_once()
        relayed = [json.loads((await ws.receive()).data) for _ in range(5)]
        assert [m["line"]["actor"] for m in relayed] == ["customer", "bot", "agent", "customer", "customer"]
        # A replay of the stream (e.g. the cursor was lost) adds nothing, and the chat
        # nobody handed off was never relayed: the next message is the one sent now.
        consumer.cursors.set(consumer.name, 0)
        await consumer.poll_once()
        await client.server.app[HUB].broadcast({"type": "marker"})
        assert json.loads((await ws.receive()).data) == {"type": "marker"}
    detail = await (await client.get(f"/agent/api/handoffs/{created['handoff']['id']}")).json()
    lines = [(l["actor"], l["text"], l["intent"]) for l in detail["transcript"]]
    assert lines == [("customer", "转人工", "human_handoff"), ("bot", "正在为您转接", None), ("agent", "我来帮您", None),
                     ("customer", "••••", None), ("customer", "谢谢", None)]  # the PIN is never shown


async def test_pin_stays_masked_when_the_service_restarts_between_prompt_and_answer(client, settings):
    from rasa.core.brokers.sql import SQLEventBroker

    broker = SQLEventBroker(db=settings.rasa_events_db_url.replace("sqlite:///", ""))
    for e in [{"sender_id": "conv-r", "event": "user", "text": "查话费", "timestamp": 1.0, "parse_data": {}},
              {"sender_id": "conv-r", "event": "slot", "name": "requested_slot", "value": "account_pin", "timestamp": 1.1},
              {"sender_id": "conv-r", "event": "bot", "text": "请输入 4 位服务密码。", "timestamp": 1.2}]:
        broker.publish(e)
    await client.server.app[CONSUMER].poll_once()  # the prompt is consumed; then the service restarts
    broker.publish({"sender_id": "conv-r", "event": "user", "text": "1234", "timestamp": 1.3, "parse_data": {}})
    async with browser_client(create_app(settings), settings) as restarted:
        await restarted.server.app[CONSUMER].poll_once()
        created = await (await restarted.post("/api/handoffs", json={"conversation_id": "conv-r"}, headers=SERVICE)).json()
        await login(restarted, "agent")
        detail = await (await restarted.get(f"/agent/api/handoffs/{created['handoff']['id']}")).json()
    assert [l["text"] for l in detail["transcript"]] == ["查话费", "请输入 4 位服务密码。", "••••"]


async def test_the_transcript_masks_pins_and_shows_other_answers_to_the_pin_prompt(client, settings):
    from rasa.core.brokers.sql import SQLEventBroker

    broker = SQLEventBroker(db=settings.rasa_events_db_url.replace("sqlite:///", ""))
    for e in [{"sender_id": "conv-p", "event": "user", "text": "my pin is 2468", "timestamp": 1.0, "parse_data": {}},
              {"sender_id": "conv-p", "event": "slot", "name": "requested_slot", "value": "account_pin", "timestamp": 1.1},
              {"sender_id": "conv-p", "event": "bot", "text": "Please enter your 4-digit service PIN.", "timestamp": 1.2},
              {"sender_id": "conv-p", "event": "user", "text": "I don't have a PIN, can I talk to a person",
               "timestamp": 1.3, "parse_data": {}},
              {"sender_id": "conv-p", "event": "user", "text": "oops, it's 2468", "timestamp": 1.4, "parse_data": {}}]:
        broker.publish(e)
    await client.server.app[CONSUMER].poll_once()
    created = await (await client.post("/api/handoffs", json={"conversation_id": "conv-p"}, headers=SERVICE)).json()
    await login(client, "agent")
    detail = await (await client.get(f"/agent/api/handoffs/{created['handoff']['id']}")).json()
    assert [l["text"] for l in detail["transcript"]] == [
        "my pin is ••••", "Please enter your 4-digit service PIN.", "I don't have a PIN, can I talk to a person",
        "oops, it's ••••"]


async def test_logging_out_closes_the_live_feed(client):
    await login(client, "agent")
    async with client.ws_connect("/agent/ws") as ws:
        await client.post("/logout", allow_redirects=False)
        msg = await ws.receive()
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
    assert (await client.get("/agent/api/handoffs")).status == 401


async def test_an_agent_cannot_take_over_another_agents_chat(client):
    created = await (await client.post("/api/handoffs", json={"conversation_id": "conv-c"}, headers=SERVICE)).json()
    hid = created["handoff"]["id"]
    await login(client, "agent")
    assert (await client.post(f"/agent/api/handoffs/{hid}/accept", json={})).status == 200
    await client.post("/logout", allow_redirects=False)
    await login(client, "bob")
    r = await client.post(f"/agent/api/handoffs/{hid}/accept", json={})
    assert r.status == 409 and "with agent" in (await r.json())["error"]["message"]
    r = await client.post(f"/agent/api/handoffs/{hid}/messages", json={"text": "hi"})
    assert r.status == 403 and (await r.json())["error"]["code"] == "not_your_chat"
    r = await client.post(f"/agent/api/handoffs/{hid}/close", json={})
    assert r.status == 403


class _EventsLog(logging.Handler):
    """The consumer's log lines, read from its own logger: pytest's caplog lost them when
    PostgreSQL variants ran after the rest of the session (seen in CI, not reproducible alone)."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.records = []
        self.logger = logging.getLogger("handoff_service.events")

    def emit(self, record):
        self.records.append(record)

    @property
    def text(self):
        return "\n".join(r.getMessage() for r in self.records)

    def __enter__(self):
        self.old_level = self.logger.level
        self.logger.setLevel(logging.INFO)
        self.logger.addHandler(self)
        return self

    def __exit__(self, *exc):
        self.logger.removeHandler(self)
        self.logger.setLevel(self.old_level)


async def test_a_row_no_handler_can_handle_is_set_aside_and_the_stream_goes_on(client, settings):
    """Defect 1: one row a handler failed on stopped every agent's feed for ever."""
    import logging

    from rasa.core.brokers.sql import SQLEventBroker

    broker = SQLEventBroker(db=settings.rasa_events_db_url.replace("sqlite:///", ""))
    for sender, text in (("conv-poison", "我的身份证号 110101199003077777"), ("conv-next", "还在吗"),
                         ("conv-next", "请回复")):
        broker.publish({"sender_id": sender, "event": "user", "text": text, "timestamp": 1.0, "parse_data": {}})
    consumer = client.server.app[CONSUMER]

    async def fails_on_the_first_row(event_id, conversation_id, event):
        if conversation_id == "conv-poison":
            raise ValueError(f"cannot store {event['text']}")  # an error that quotes the customer

    consumer.handlers.insert(0, fails_on_the_first_row)
    created = await (await client.post("/api/handoffs", json={"conversation_id": "conv-next"}, headers=SERVICE)).json()
    await login(client, "agent")
    async with client.ws_connect("/agent/ws") as ws:
        with _EventsLog() as caplog:
            for _ in range(2):  # retried: it may be a passing fault
                with pytest.raises(ValueError):
                    await consumer.poll_once()
                assert consumer.cursors.get(consumer.name) == 0
            assert await consumer.poll_once() == 3  # the third failure sets the row aside
        relayed = [json.loads((await ws.receive(timeout=5)).data)["line"]["text"] for _ in range(2)]
        assert relayed == ["还在吗", "请回复"]
    set_aside = [r for r in caplog.records if "set aside" in r.getMessage()]
    assert len(set_aside) == 1 and "fails_on_the_first_row" in set_aside[0].getMessage()
    assert "ValueError" in set_aside[0].getMessage() and "110101" not in caplog.text
    detail = await (await client.get(f"/agent/api/handoffs/{created['handoff']['id']}")).json()
    assert [l["text"] for l in detail["transcript"]] == ["还在吗", "请回复"]
    health = await client.get("/healthz")
    body = await health.json()
    assert health.status == 503 and body["status"] == "degraded"
    assert body["event_stream"]["set_aside_recently"] == 1 and "set aside" in body["reasons"][0]
    assert body["event_stream"]["lag_events"] == 0


async def test_a_row_that_is_not_a_json_object_is_set_aside_once(client, settings):
    import logging

    import sqlalchemy as sa
    from rasa.core.brokers.sql import SQLEventBroker

    broker = SQLEventBroker(db=settings.rasa_events_db_url.replace("sqlite:///", ""))
    broker.publish({"sender_id": "conv-u", "event": "user", "text": "早", "timestamp": 1.0, "parse_data": {}})
    with broker.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO events (sender_id, data) VALUES ('conv-u', '[1, 2')"))
    consumer = client.server.app[CONSUMER]
    with _EventsLog() as caplog:
        assert await consumer.poll_once() == 2
        assert await consumer.poll_once() == 0  # nothing read twice, nothing logged again
    assert len([r for r in caplog.records if "UnreadableEvent" in r.getMessage()]) == 1
    assert consumer.cursors.get(consumer.name) == 2


async def test_healthz_reports_the_lag_and_degrades_when_the_stream_falls_behind(client, settings):
    import time

    from rasa.core.brokers.sql import SQLEventBroker

    assert (await client.get("/healthz")).status == 200
    broker = SQLEventBroker(db=settings.rasa_events_db_url.replace("sqlite:///", ""))
    for _ in range(2):  # customer lines nobody has relayed for two minutes
        broker.publish({"sender_id": "conv-l", "event": "user", "text": "hello", "timestamp": time.time() - 120,
                        "parse_data": {}})
    r = await client.get("/healthz")
    body = await r.json()
    assert r.status == 503 and body["status"] == "degraded"
    assert body["event_stream"]["lag_events"] == 2 and body["event_stream"]["lag_seconds"] >= 120
    assert "behind" in body["reasons"][0]
    await client.server.app[CONSUMER].poll_once()
    r = await client.get("/healthz")
    assert r.status == 200 and (await r.json())["event_stream"]["lag_seconds"] == 0


async def test_logging_out_ends_the_session_even_for_a_copy_of_the_cookie(client):
    """Defect 5: after POST /logout the same cookie got 200 for up to 12 h."""
    await login(client, "agent")
    copied = "; ".join(f"{c.key}={c.value}" for c in client.session.cookie_jar)
    async with aiohttp.ClientSession() as elsewhere:  # the same cookie, replayed from elsewhere
        assert (await elsewhere.get(client.make_url("/agent/api/handoffs"), headers={"Cookie": copied})).status == 200
        await client.post("/logout", allow_redirects=False)
        assert (await elsewhere.get(client.make_url("/agent/api/handoffs"), headers={"Cookie": copied})).status == 401
        r = await elsewhere.get(client.make_url("/agent/"), headers={"Cookie": copied}, allow_redirects=False)
        assert r.status == 302 and r.headers["Location"].startswith("/login")
    await login(client, "agent")  # logging in again works
    assert (await client.get("/agent/api/handoffs")).status == 200


@pytest.mark.parametrize("change", ["demoted", "removed", "new password"])
async def test_losing_access_ends_the_session_and_the_live_feed_at_once(client, engine, change):
    """Defect 5: a removed or demoted staff member kept access."""
    staff = StaffRepository(engine)
    await login(client, "bob")
    async with client.ws_connect("/agent/ws") as ws:
        if change == "demoted":
            staff.upsert("bob", "Agent Bob", PASSWORD, ["editor"])
        elif change == "removed":
            staff.remove("bob")
        else:
            staff.upsert("bob", "Agent Bob", "a-new-password-2", ["agent"])
        assert (await client.get("/agent/api/handoffs")).status == 401
        # The open console is closed too (checked every few seconds, also for changes made elsewhere).
        msg = await ws.receive(timeout=10)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
    # Unchanged staff keep their sessions.
    staff.upsert("agent", "Agent Amy", PASSWORD, ["agent"])
    await login(client, "agent")
    staff.upsert("agent", "Agent Amy", PASSWORD, ["agent"])
    assert (await client.get("/agent/api/handoffs")).status == 200


async def test_a_reply_to_a_channel_that_cannot_receive_it_is_refused_not_lost(client):
    """Defect 8: replies to a REST customer were accepted (202) and never delivered."""
    body = {"conversation_id": "conv-rest", "input_channel": "rest"}
    created = await (await client.post("/api/handoffs", json=body, headers=SERVICE)).json()
    assert created["handoff"]["input_channel"] == "rest" and created["handoff"]["receives_live_replies"] is False
    hid = created["handoff"]["id"]
    await login(client, "agent")
    assert (await client.post(f"/agent/api/handoffs/{hid}/accept", json={})).status == 200
    r = await client.post(f"/agent/api/handoffs/{hid}/messages", json={"text": "您好"})
    error = (await r.json())["error"]
    assert r.status == 409 and error["code"] == "channel_cannot_receive" and "cannot receive live replies" in error["message"]
    r = await client.post("/api/handoffs", json={"conversation_id": "conv-x", "input_channel": ["rest"]}, headers=SERVICE)
    assert r.status == 400 and (await r.json())["error"]["code"] == "invalid_input_channel"
    socket_chat = await (await client.post("/api/handoffs", json={"conversation_id": "conv-s", "input_channel": "socketio"},
                                           headers=SERVICE)).json()
    assert socket_chat["handoff"]["receives_live_replies"] is True


async def test_faq_editor_finds_by_text_taking_wildcards_literally(client, engine):
    repo = FaqRepository(engine)
    repo.upsert("hours", {"en": "a"}, {"en": ["opening hours"], "zh-Hans": ["营业时间"]})
    repo.upsert("discount", {"en": "b"}, {"en": ["50% off_today?"]})
    await login(client, "editor")

    async def found(q):
        return [m for m in ("hours", "discount") if f'data-slug="{m}"' in await (await client.get("/kb/", params={"q": q})).text()]

    assert await found("营业") == ["hours"]
    assert await found("OPENING") == ["hours"]
    assert await found("50%") == ["discount"]
    assert await found("%") == ["discount"] and await found("_") == ["discount"]
    for metacharacters in ("'; DROP TABLE kb_faqs; --", ".*", "\\", "[a-z]+"):
        assert await found(metacharacters) == []
    assert repo.count() == 2


async def test_faq_editor_archives_and_rolls_back(client, engine):
    repo = FaqRepository(engine)
    faq_id = repo.upsert("hours", {"en": "Old answer"}, {"en": ["opening hours"]})
    await login(client, "editor")
    form = {"version": "1", "answer_en": "New answer", "questions_en": "opening hours", "status": "archived",
            "category": "service", "skill_group": "general", "tags": "hours, store, hours"}
    assert (await client.post(f"/kb/faqs/{faq_id}", data=form, allow_redirects=False)).status == 303
    faq = repo.get(faq_id)
    assert faq.details.status == "archived" and faq.details.tags == ("hours", "store")
    history = await (await client.get(f"/kb/faqs/{faq_id}/history")).text()
    assert "<del>Old</del><ins>New</ins> answer" in history  # what the edit changed, in place
    assert "<ins>archived</ins>" in history and "<ins>hours, store</ins>" in history
    r = await client.post(f"/kb/faqs/{faq_id}/rollback", data={"to_version": "1", "version": "1"}, allow_redirects=False)
    assert r.status == 303 and "error=stale" in r.headers["Location"]  # the page was out of date
    r = await client.post(f"/kb/faqs/{faq_id}/rollback", data={"to_version": "1", "version": "2"}, allow_redirects=False)
    assert r.status == 303
    faq = repo.get(faq_id)
    assert faq.answers["en"] == "Old answer" and faq.details.status == "published" and faq.version == 3
    assert (await client.post(f"/kb/faqs/{faq_id}", data={**form, "status": "gone", "version": "3"})).status == 400
    assert (await client.post(f"/kb/faqs/{faq_id}/rollback", data={"to_version": "9", "version": "3"})).status == 404


async def test_staff_search_api_and_try_it_box_show_what_the_bot_would_do(client, engine):
    import asyncio
    import time

    repo = FaqRepository(engine)
    repo.upsert("pay", {"zh-Hans": "微信支付宝", "en": "WeChat Pay"}, {"zh-Hans": ["怎么交话费"], "en": ["pay my bill"]})
    repo.upsert("top-up", {"zh-Hans": "App 充值", "en": "Top up in the app"}, {"zh-Hans": ["怎么充话费"]})
    assert (await client.get("/kb/api/search", params={"q": "x"})).status == 401
    await login(client, "agent")  # agents search too (the console), editors below
    deadline = time.monotonic() + 10
    while True:  # the web service's index follows the database in the background
        r = await client.get("/kb/api/search", params={"q": "怎麼繳話費", "language": "zh-Hant"})
        body = await r.json()
        if body["outcome"] == "answer" or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    assert r.status == 200 and body["outcome"] == "answer"
    assert body["entries"][0]["slug"] == "pay" and body["entries"][0]["answer"] == "微信支付寶"
    assert [c["slug"] for c in body["candidates"]][:2] == ["pay", "top-up"]
    assert body["candidates"][0]["score"] > body["candidates"][1]["score"]
    for params, code in (({"q": " "}, "empty_query"), ({"q": "x" * 501}, "too_long"),
                         ({"q": "pay", "language": "fr"}, "bad_language")):
        r = await client.get("/kb/api/search", params=params)
        assert r.status == 400 and (await r.json())["error"]["code"] == code
    for metacharacters in (".*", "'; DROP TABLE kb_faqs; --", "(((", "%_\\"):
        r = await client.get("/kb/api/search", params={"q": metacharacters})
        assert r.status == 200 and (await r.json())["outcome"] == "dont_know"
    assert (await client.get("/kb/try")).status == 403  # the try-it box is the editor's

    await client.post("/logout")
    await login(client, "editor")
    page = await (await client.get("/kb/try", params={"q": "话费", "language": "zh-Hans"})).text()
    assert 'data-outcome="suggest"' in page and 'data-slug="pay"' in page and 'data-slug="top-up"' in page
    page = await (await client.get("/kb/try", params={"q": "<script>alert(1)</script>"})).text()
    assert 'data-outcome="dont_know"' in page and "<script>alert(1)</script>" not in page
    assert (await client.get("/kb/api/search", params={"q": "pay my bill"})).status == 200


async def test_a_row_two_handlers_cannot_read_is_set_aside_by_each_and_the_stream_goes_on(client, settings):
    """Seen on the shared stack: the transcript and a second handler both failed on one row; each
    reset the other's count, so the row was retried for ever and every agent's feed stood still."""
    from rasa.core.brokers.sql import SQLEventBroker

    broker = SQLEventBroker(db=settings.rasa_events_db_url.replace("sqlite:///", ""))
    for sender, text in (("conv-bad", "坏"), ("conv-next", "还在吗")):
        broker.publish({"sender_id": sender, "event": "user", "text": text, "timestamp": 1.0, "parse_data": {}})
    consumer = client.server.app[CONSUMER]
    seen = []

    async def first(event_id, conversation_id, event):
        if conversation_id == "conv-bad":
            raise ValueError("first cannot read it")
        seen.append(("first", event["text"]))

    async def second(event_id, conversation_id, event):
        if conversation_id == "conv-bad":
            raise KeyError("second cannot read it either")
        seen.append(("second", event["text"]))

    consumer.handlers[:] = [first, second]
    with _EventsLog() as log:
        for _ in range(5):  # 3 tries of the first, then 3 of the second (one try shared)
            try:
                if await consumer.poll_once():
                    break
            except (ValueError, KeyError):
                pass
        else:
            assert await consumer.poll_once()
    assert seen == [("first", "还在吗"), ("second", "还在吗")]
    assert consumer.cursors.get(consumer.name) == 2
    assert len([r for r in log.records if "set aside" in r.getMessage()]) == 2
