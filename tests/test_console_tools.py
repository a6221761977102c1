"""The console's tools in the web service (Rasa down): canned replies and their roles,
agent assist from the knowledge base, typing indicators both ways, and bad input."""
import asyncio
import json

import pytest

from bot.typing_indicator import TypingThrottle
from handoff_service.desk.routing import RoutingRepository
from handoff_service.storage import StaffRepository, TranscriptRepository
from knowledge_base.storage import FaqRepository
from tests.test_desk_web import handoff
from tests.test_web import PASSWORD, SERVICE, browser_client, login, settings  # noqa: F401  (fixtures)
from handoff_service.app import create_app


@pytest.fixture
async def client(settings, engine):  # noqa: F811
    staff = StaffRepository(engine)
    staff.upsert("amy", "Agent Amy", PASSWORD, ["agent"])
    staff.upsert("bob", "Agent Bob", PASSWORD, ["agent"])
    staff.upsert("sue", "Supervisor Sue", PASSWORD, ["supervisor", "agent"])
    staff.upsert("eve", "Editor Eve", PASSWORD, ["editor"])
    routing = RoutingRepository(engine)
    routing.set_agent("amy", skills=["billing"])
    routing.set_agent("bob", skills=["technical"])
    async with browser_client(create_app(settings), settings) as c:
        yield c


async def switch(client, username):
    await client.post("/logout", allow_redirects=False)
    await login(client, username)


async def canned(client, language=None):
    r = await client.get("/agent/api/canned" + (f"?language={language}" if language else ""))
    assert r.status == 200, await r.text()
    return (await r.json())["replies"]


async def test_personal_canned_replies_are_the_agents_own(client):
    await login(client, "amy")
    r = await client.post("/agent/api/canned", json={"language": "zh-Hans", "title": "问候",
                                                     "body": "{customer_name}您好，我是客服，请问有什么可以帮您？"})
    assert r.status == 201
    mine = (await r.json())["reply"]
    assert mine["scope"] == "personal" and mine["editable"]
    await client.post("/agent/api/canned", json={"language": "en", "title": "Hello", "body": "Hello {customer_name}!"})
    assert [r["title"] for r in await canned(client, "zh-Hans")] == ["问候"]
    assert len(await canned(client)) == 2
    # The same title twice in one list and language is ambiguous in the picker; another language is fine.
    r = await client.post("/agent/api/canned", json={"language": "zh-Hans", "title": "问候", "body": "again"})
    assert r.status == 409 and (await r.json())["error"]["code"] == "duplicate_title"
    r = await client.put(f"/agent/api/canned/{mine['id']}", json={"body": "您好！"})
    assert r.status == 200 and (await r.json())["reply"]["body"] == "您好！"
    # Another agent neither sees nor changes it.
    await switch(client, "bob")
    assert await canned(client) == []
    assert (await client.put(f"/agent/api/canned/{mine['id']}", json={"body": "mine now"})).status == 404
    assert (await client.delete(f"/agent/api/canned/{mine['id']}")).status == 404
    await switch(client, "amy")
    assert (await client.delete(f"/agent/api/canned/{mine['id']}")).status == 200
    assert [r["title"] for r in await canned(client)] == ["Hello"]


async def test_team_canned_replies_are_managed_by_supervisors(client):
    await login(client, "amy")
    team = {"scope": "team", "language": "zh-Hant", "title": "結束", "body": "感謝您的來訊，祝您愉快！"}
    r = await client.post("/agent/api/canned", json=team)
    assert r.status == 403 and (await r.json())["error"]["code"] == "supervisor_only"
    await switch(client, "sue")
    r = await client.post("/agent/api/canned", json=team)
    assert r.status == 201
    reply_id = (await r.json())["reply"]["id"]
    # Every agent sees it, none but a supervisor changes it.
    await switch(client, "amy")
    listed = await canned(client, "zh-Hant")
    assert [(r["scope"], r["title"], r["editable"]) for r in listed] == [("team", "結束", False)]
    assert (await client.put(f"/agent/api/canned/{reply_id}", json={"title": "x"})).status == 403
    assert (await client.delete(f"/agent/api/canned/{reply_id}")).status == 403
    # An agent's own replies come first in the picker.
    await client.post("/agent/api/canned", json={"language": "zh-Hant", "title": "稍等", "body": "請稍等"})
    assert [r["scope"] for r in await canned(client, "zh-Hant")] == ["personal", "team"]
    await switch(client, "sue")
    r = await client.put(f"/agent/api/canned/{reply_id}", json={"body": "謝謝！"})
    assert r.status == 200 and (await r.json())["reply"]["updated_by"] == "sue"
    assert (await client.put(f"/agent/api/canned/{reply_id}", json={"scope": "personal"})).status == 400
    assert (await client.delete(f"/agent/api/canned/{reply_id}")).status == 200


@pytest.mark.parametrize("body, code", [
    ({"language": "fr", "title": "t", "body": "b"}, "bad_language"),
    ({"language": "en", "title": "", "body": "b"}, "empty"),
    ({"language": "en", "title": "t" * 81, "body": "b"}, "too_long"),
    ({"language": "en", "title": "two\nlines", "body": "b"}, "bad_title"),
    ({"language": "en", "title": "t", "body": "  "}, "empty"),
    ({"language": "en", "title": "t", "body": "b" * 2001}, "too_long"),
    ({"language": "en", "title": 7, "body": "b"}, "malformed"),
    ({"language": "en", "title": "t", "body": "b", "scope": "everyone"}, "bad_scope"),
])
async def test_bad_canned_replies_get_clear_errors(client, body, code):
    await login(client, "amy")
    r = await client.post("/agent/api/canned", json=body)
    assert r.status == 400 and (await r.json())["error"]["code"] == code


async def test_canned_reply_api_needs_an_agent_and_sane_ids(client):
    assert (await client.get("/agent/api/canned")).status == 401
    await login(client, "eve")  # an editor is not an agent
    assert (await client.get("/agent/api/canned")).status == 403
    await switch(client, "amy")
    assert (await client.get("/agent/api/canned?language=xx")).status == 400
    for bad in ("abc", "0", "99999999999999999999"):
        assert (await client.put(f"/agent/api/canned/{bad}", json={"body": "b"})).status == 404
    r = await client.post("/agent/api/canned", data="not json", headers={"Content-Type": "application/json"})
    assert r.status == 400
    reply_id = (await (await client.post("/agent/api/canned", json={"language": "en", "title": "t", "body": "b"})).json())["reply"]["id"]
    r = await client.put(f"/agent/api/canned/{reply_id}", json={})
    assert r.status == 400 and (await r.json())["error"]["code"] == "nothing_to_change"


async def test_agent_assist_suggests_entries_for_the_customers_latest_message(client, engine):
    FaqRepository(engine).upsert(
        "invoice", {"zh-Hans": "电子发票可在 App 的“账单”页下载。", "en": "Download e-invoices from the Bills page."},
        {"zh-Hans": ["怎么开发票", "发票在哪里下载"], "en": ["How do I get an invoice"]})
    FaqRepository(engine).upsert("hours", {"zh-Hans": "每天 8:00–22:00", "en": "Every day 8:00-22:00"},
                                 {"zh-Hans": ["营业时间"], "en": ["opening hours"]})
    hid = (await handoff(client, "c-assist", skill_group="billing", language="en"))["handoff"]["id"]
    await login(client, "amy")
    empty = await (await client.get(f"/agent/api/handoffs/{hid}/suggestions")).json()
    assert empty["entries"] == []  # the customer has said nothing yet
    transcripts = TranscriptRepository(engine)
    for n, (actor, text) in enumerate([("customer", "营业时间"), ("bot", "每天"), ("customer", "How do I get an invoice?")]):
        transcripts.add({"source_event_id": n + 1, "conversation_id": "c-assist", "actor": actor, "text": text,
                         "timestamp": float(n)})
    body = await (await client.get(f"/agent/api/handoffs/{hid}/suggestions")).json()
    assert body["question"] == "How do I get an invoice?"
    # In the chat's language (English here), the latest message's entry first.
    assert body["entries"][0]["slug"] == "invoice"
    assert body["entries"][0]["answer"] == "Download e-invoices from the Bills page."
    # Another team's agent does not see this chat, nor what it is about.
    await switch(client, "bob")
    assert (await client.get(f"/agent/api/handoffs/{hid}/suggestions")).status == 404


async def test_the_consoles_kb_search_answers_in_the_chats_language(client, engine):
    FaqRepository(engine).upsert("invoice", {"zh-Hans": "电子发票在账单页", "zh-Hant": "電子發票在帳單頁", "en": "Bills page"},
                                 {"zh-Hans": ["怎么开发票"], "zh-Hant": ["怎麼開發票"], "en": ["invoice"]})
    await login(client, "amy")
    r = await client.get("/kb/api/search", params={"q": "发票", "language": "zh-Hant"})
    assert r.status == 200
    assert (await r.json())["candidates"][0]["answer"] == "電子發票在帳單頁"


async def test_the_customers_typing_reaches_the_consoles_and_is_not_stored(client, engine):
    hid = (await handoff(client, "c-typing", skill_group="billing"))["handoff"]["id"]
    body = {"conversation_id": "c-typing", "typing": True}
    assert (await client.post("/api/typing", json=body)).status == 401  # the chat channel's token only
    for bad in ({"conversation_id": "c-typing", "typing": "yes"}, {"typing": True}):
        assert (await client.post("/api/typing", json=bad, headers=SERVICE)).status == 400
    # Not handed off: nobody to show it to.
    assert (await client.post("/api/typing", json={**body, "conversation_id": "c-none"}, headers=SERVICE)).status == 404
    await login(client, "amy")
    async with client.ws_connect("/agent/ws") as ws:
        assert (await client.post("/api/typing", json=body, headers=SERVICE)).status == 200
        message = json.loads((await ws.receive(timeout=10)).data)
        assert message == {"type": "typing", "actor": "customer", "handoff_id": hid, "conversation_id": "c-typing",
                           "typing": True}
    assert TranscriptRepository(engine).for_conversation("c-typing") == []


async def test_only_the_agent_holding_a_chat_sends_typing(client):
    hid = (await handoff(client, "c-agent-typing", skill_group="billing"))["handoff"]["id"]
    await login(client, "amy")
    r = await client.post(f"/agent/api/handoffs/{hid}/typing", json={"typing": True})
    assert r.status == 403  # still queued
    await client.post(f"/agent/api/handoffs/{hid}/accept", json={})
    assert (await client.post(f"/agent/api/handoffs/{hid}/typing", json={"typing": "yes"})).status == 400
    # Rasa is down here: an indicator is best effort, never an error for the agent.
    r = await client.post(f"/agent/api/handoffs/{hid}/typing", json={"typing": True})
    assert r.status == 200 and (await r.json())["sent"] is False
    await switch(client, "bob")
    assert (await client.post(f"/agent/api/handoffs/{hid}/typing", json={"typing": True})).status == 404


def test_typing_passes_a_start_a_stop_and_a_refresh_now_and_then():
    now = [100.0]
    throttle = TypingThrottle(refresh_seconds=2.0, clock=lambda: now[0])
    assert throttle.should_pass("agent", "c", False) is False  # a stop without a start
    assert throttle.should_pass("agent", "c", True) is True
    assert throttle.should_pass("agent", "c", True) is False  # every keystroke is no news
    assert throttle.should_pass("customer", "c", True) is True  # the other side is another indicator
    now[0] += 2.5
    assert throttle.should_pass("agent", "c", True) is True  # "still typing"
    now[0] += 0.6
    assert throttle.should_pass("agent", "c", False) is True
    now[0] += 0.6
    assert throttle.should_pass("agent", "c", False) is False


def test_a_start_after_a_stop_held_back_is_news():
    """The customer sends a line (a stop, held back: it came too soon) and starts typing
    the next one within the refresh interval: the console hid the indicator on the new
    line, so this start must pass, not be taken for "still typing"."""
    now = [0.0]
    throttle = TypingThrottle(refresh_seconds=2.0, clock=lambda: now[0])
    assert throttle.should_pass("customer", "c", True) is True
    now[0] = 0.2
    assert throttle.should_pass("customer", "c", False) is False  # too soon
    now[0] = 1.0
    assert throttle.should_pass("customer", "c", True) is True


def test_a_page_toggling_start_and_stop_passes_two_a_second():
    now = [0.0]
    throttle = TypingThrottle(clock=lambda: now[0])
    passed = 0
    for step in range(1000):  # one second of start, stop, start, stop...
        now[0] = step / 1000
        passed += throttle.should_pass("customer", "c", step % 2 == 0)
    assert passed == 2


def test_starts_never_stopped_do_not_pile_up():
    now = [0.0]
    throttle = TypingThrottle(clock=lambda: now[0], max_entries=10)
    for n in range(10):
        throttle.should_pass("customer", f"c{n}", True)
    now[0] += 60
    assert throttle.should_pass("customer", "new", True)
    assert len(throttle._last) == 1


def test_the_channel_relays_agent_typing_only_with_the_token_and_a_session_id():
    from bot.channels.socketio import SESSION_ID
    from bot.channels.typing import TypingRelay

    relay = TypingRelay("http://127.0.0.1:1", "service", "rasa-token")
    assert relay.agent_request_allowed("rasa-token") and not relay.agent_request_allowed("other")
    assert not relay.agent_request_allowed(None) and not TypingRelay("", None, None).agent_request_allowed("")
    event = relay.agent_event({"conversation_id": "session-1234", "typing": True, "agent_name": "Amy"}, SESSION_ID)
    assert event == {"conversation_id": "session-1234", "event": {"sender": "agent", "typing": True, "agent_name": "Amy"}}
    for bad in ({"conversation_id": "x#x", "typing": True}, {"conversation_id": "session-1234", "typing": 1}, [], None):
        assert relay.agent_event(bad, SESSION_ID) is None


def test_the_channel_passes_the_customers_typing_on_once_per_refresh():
    from bot.channels.typing import TypingRelay

    async def run():
        relay = TypingRelay("http://127.0.0.1:1", "service", "rasa")
        now = [0.0]
        relay.throttle = TypingThrottle(clock=lambda: now[0])
        sent = []

        async def record(session_id, typing):
            sent.append((session_id, typing))
        relay._forward = record
        results = [relay.customer_typing("session-1234", True) for _ in range(5)]
        results.append(relay.customer_typing("session-1234", "yes"))
        now[0] += 1
        results.append(relay.customer_typing("session-1234", False))
        await asyncio.gather(*relay._tasks)
        return results, sent

    results, sent = asyncio.run(run())
    assert results == [True, False, False, False, False, False, True]
    assert sent == [("session-1234", True), ("session-1234", False)]
