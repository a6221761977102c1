"""The web service in-process (aiohttp test server) on a real database.

Rasa is not running here, so calls that need it show the service's behaviour when
the bot server is down; the real end-to-end path is in tests/integration.
"""
import json

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
        run_event_consumer=False,  # the tests drive the consumer themselves (poll_once)
    )


@pytest.fixture
async def client(settings, engine):
    staff = StaffRepository(engine)
    staff.upsert("agent", "Agent Amy", PASSWORD, ["agent"])
    staff.upsert("editor", "Editor Eve", PASSWORD, ["editor"])
    staff.upsert("bob", "Agent Bob", PASSWORD, ["agent"])
    app = create_app(settings)
    async with TestClient(TestServer(app), cookie_jar=aiohttp.CookieJar(unsafe=True)) as c:
        yield c


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
    assert "Too many failed logins. Try again in 15 minutes." in await r.text()
    # Other staff are not locked out by someone guessing at one name.
    await login(client, "bob")


def test_login_throttle_forgets_after_its_window():
    from handoff_service.auth import LoginThrottle

    now = [1000.0]
    throttle = LoginThrottle(max_failures=2, window=60, clock=lambda: now[0])
    throttle.begin("amy", "1.2.3.4")
    assert throttle.retry_after("amy", "1.2.3.4") == 0
    throttle.begin("AMY", "1.2.3.4")
    assert throttle.retry_after("amy", "1.2.3.4") == 60
    assert throttle.retry_after("amy", "5.6.7.8") == 0  # another address
    now[0] += 61
    assert throttle.retry_after("amy", "1.2.3.4") == 0
    throttle.begin("amy", "1.2.3.4"), throttle.begin("amy", "1.2.3.4")
    throttle.succeeded("amy", "1.2.3.4")
    assert throttle.retry_after("amy", "1.2.3.4") == 0


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


async def test_cross_origin_state_changes_are_refused(client):
    await login(client, "agent")
    r = await client.post("/agent/api/handoffs/1/accept", json={}, headers={"Origin": "http://evil.example"})
    assert r.status == 403


async def test_pages_send_security_headers(client):
    r = await client.get("/")
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
    listing = await (await client.get("/kb/")).text()
    assert "<script>alert(1)</script>" not in listing and "&lt;script&gt;" in listing
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
    async with TestClient(TestServer(create_app(settings)), cookie_jar=aiohttp.CookieJar(unsafe=True)) as restarted:
        await restarted.server.app[CONSUMER].poll_once()
        created = await (await restarted.post("/api/handoffs", json={"conversation_id": "conv-r"}, headers=SERVICE)).json()
        await login(restarted, "agent")
        detail = await (await restarted.get(f"/agent/api/handoffs/{created['handoff']['id']}")).json()
    assert [l["text"] for l in detail["transcript"]] == ["查话费", "请输入 4 位服务密码。", "••••"]


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
