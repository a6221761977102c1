"""The desk's operations in the console API (issue #7): notes, transfer, takeover, reassign
and whisper, who may do each, and who hears of them on the live feed. Rasa is down here:
the customer's notices are courtesies the operations go on without (the integration
tests in tests/integration/test_desk_ops.py check what the customer is told)."""
import asyncio
from contextlib import asynccontextmanager

import aiohttp
import pytest

from handoff_service.desk.routing import RoutingRepository
from handoff_service.desk.storage import HandoffRepository
from handoff_service.storage import StaffRepository
from tests.test_desk_web import desk_of, handoff
from tests.test_web import PASSWORD, SERVICE, browser_client, login, settings  # noqa: F401  (fixtures)
from handoff_service.app import create_app


@pytest.fixture
async def client(settings, engine):  # noqa: F811
    staff = StaffRepository(engine)
    staff.upsert("amy", "Agent Amy", PASSWORD, ["agent"])
    staff.upsert("bob", "Agent Bob", PASSWORD, ["agent"])
    staff.upsert("cat", "Agent Cat", PASSWORD, ["agent"])
    staff.upsert("sue", "Supervisor Sue", PASSWORD, ["supervisor", "agent"])
    staff.upsert("eve", "Editor Eve", PASSWORD, ["editor"])
    routing = RoutingRepository(engine)
    routing.set_agent("amy", skills=["billing"], status="away")
    routing.set_agent("bob", skills=["technical"], status="away")
    routing.set_agent("cat", skills=["billing"], status="offline")
    routing.set_agent("sue", skills=["general"], status="away")
    async with browser_client(create_app(settings), settings) as c:
        yield c


@asynccontextmanager
async def as_staff(client, username):
    """Another person's browser on the same server (its own cookies)."""
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                    headers={"Origin": client.session.headers["Origin"], "Accept-Language": "en"})
    try:
        r = await session.post(client.make_url("/login"), data={"username": username, "password": PASSWORD,
                                                                  "next": "/agent/"}, allow_redirects=False)
        assert r.status == 302
        yield session
    finally:
        await session.close()


async def accepted_by(client, username, conversation_id, skill_group="billing"):
    hid = (await handoff(client, conversation_id, skill_group=skill_group, language="zh-Hans"))["handoff"]["id"]
    async with as_staff(client, username) as s:
        r = await s.post(client.make_url(f"/agent/api/handoffs/{hid}/accept"), json={})
        assert r.status == 200, await r.text()
    await desk_of(client).settle()
    return hid


async def test_notes_stay_with_the_chat_and_only_staff_who_see_it_read_them(client):
    hid = await accepted_by(client, "amy", "c-note")
    await login(client, "amy")
    r = await client.post(f"/agent/api/handoffs/{hid}/notes", json={"text": "<b>VIP</b> — asked twice about fees"})
    assert r.status == 201 and (await r.json())["note"]["kind"] == "note"
    for bad in ({}, {"text": ""}, {"text": 7}, {"text": "x" * 2001}):
        assert (await client.post(f"/agent/api/handoffs/{hid}/notes", json=bad)).status == 400
    assert (await client.post(f"/agent/api/handoffs/{hid}/notes", data="nope")).status == 415
    notes = (await (await client.get(f"/agent/api/handoffs/{hid}/notes")).json())["notes"]
    # Kept as written (the console shows it as text, never as HTML).
    assert [n["text"] for n in notes] == ["<b>VIP</b> — asked twice about fees"] and notes[0]["author"] == "amy"
    # Bob (another team) cannot read or write them; nor learn the chat exists.
    async with as_staff(client, "bob") as bob:
        assert (await bob.get(client.make_url(f"/agent/api/handoffs/{hid}/notes"))).status == 404
        assert (await bob.post(client.make_url(f"/agent/api/handoffs/{hid}/notes"), json={"text": "hi"})).status == 404
        assert (await bob.get(client.make_url(f"/agent/api/handoffs/{hid}"))).status == 404
    # An editor is not staff of the desk at all.
    async with as_staff(client, "eve") as eve:
        assert (await eve.get(client.make_url(f"/agent/api/handoffs/{hid}/notes"))).status == 403
    assert (await client.get("/agent/api/handoffs/999999/notes")).status == 404
    assert (await client.get("/agent/api/handoffs/abc/notes")).status == 404


async def test_transfer_to_a_team_puts_the_chat_in_that_queue_with_its_note(client, engine):
    hid = await accepted_by(client, "amy", "c-team")
    answered = HandoffRepository(engine).get(hid).accepted_at
    await login(client, "amy")
    await client.post(f"/agent/api/handoffs/{hid}/notes", json={"text": "verified, router model X"})
    for bad in ({}, {"skill_group": "plumbing"}, {"skill_group": "technical", "agent": "bob"}, {"skill_group": 3},
                {"skill_group": "technical", "note": 5}):
        r = await client.post(f"/agent/api/handoffs/{hid}/transfer", json=bad)
        assert r.status == 400, bad
    r = await client.post(f"/agent/api/handoffs/{hid}/transfer", json={"skill_group": "technical",
                                                                       "note": "line fault, not billing"})
    assert r.status == 200, await r.text()
    moved = (await r.json())["handoff"]
    assert (moved["status"], moved["skill_group"], moved["agent"]) == ("queued", "technical", None)
    # Amy no longer sees it; Bob (technical) finds it in his queue with everything said about it.
    assert (await client.get(f"/agent/api/handoffs/{hid}")).status == 404
    assert (await client.post(f"/agent/api/handoffs/{hid}/transfer", json={"skill_group": "sales"})).status == 404
    async with as_staff(client, "bob") as bob:
        listed = (await (await bob.get(client.make_url("/agent/api/handoffs"))).json())["handoffs"]
        assert [h["id"] for h in listed] == [hid]
        body = await (await bob.get(client.make_url(f"/agent/api/handoffs/{hid}/notes"))).json()
        assert [(n["kind"], n["text"]) for n in body["notes"]] == [
            ("note", "verified, router model X"), ("transfer", "line fault, not billing")]
        assert body["transfers"][0]["to_skill_group"] == "technical" and body["transfers"][0]["from_agent"] == "amy"
        assert [(a["agent"], a["ended_reason"]) for a in body["assignments"]] == [("amy", "transferred")]
        assert (await bob.post(client.make_url(f"/agent/api/handoffs/{hid}/accept"), json={})).status == 200
    taken = HandoffRepository(engine).get(hid)
    # Answered once, by Amy: the dashboard's speed of answer is the customer's first wait.
    assert taken.agent_username == "bob" and taken.accepted_at == answered


async def test_transfer_to_a_named_agent_and_the_checks_on_whom(client, engine):
    hid = await accepted_by(client, "amy", "c-agent")
    answered = HandoffRepository(engine).get(hid).accepted_at
    await login(client, "amy")
    for target, status in (("nobody", 400), ("eve", 400), ("amy", 400), ("cat", 400)):  # cat is offline
        r = await client.post(f"/agent/api/handoffs/{hid}/transfer", json={"agent": target, "note": "n"})
        assert r.status == status, target
        assert (await r.json())["error"]["code"] == "cannot_move"
    targets = (await (await client.get("/agent/api/transfer-targets")).json())
    assert {a["username"] for a in targets["agents"]} == {"bob", "sue"} and "billing" in targets["skill_groups"]
    r = await client.post(f"/agent/api/handoffs/{hid}/transfer", json={"agent": "bob", "note": "he knows routers"})
    assert r.status == 200 and (await r.json())["handoff"]["agent"] == "bob"
    assert HandoffRepository(engine).get(hid).accepted_at == answered  # the first answer stays the answer
    assert (await client.get(f"/agent/api/handoffs/{hid}")).status == 404
    async with as_staff(client, "bob") as bob:
        opened = await (await bob.get(client.make_url(f"/agent/api/handoffs/{hid}"))).json()
        assert opened["handoff"]["status"] == "active" and opened["handoff"]["context"] == {}
        notes = (await (await bob.get(client.make_url(f"/agent/api/handoffs/{hid}/notes"))).json())["notes"]
        assert notes[-1]["kind"] == "transfer" and notes[-1]["to_agent"] == "bob"
    from handoff_service.audit.storage import audit_events
    import sqlalchemy as sa
    with engine.connect() as conn:
        row = conn.execute(sa.select(audit_events).where(audit_events.c.action == "handoff_transferred",
                                                         audit_events.c.target_id == str(hid))).one()
    assert row.actor == "amy" and '"to_agent": "bob"' in row.detail


async def test_an_agent_cannot_transfer_take_over_reassign_or_whisper_anothers_chat(client):
    hid = await accepted_by(client, "amy", "c-guard")
    queued = (await handoff(client, "c-guard-q", skill_group="technical"))["handoff"]["id"]
    async with as_staff(client, "cat") as cat:  # billing, like the chat, but not its agent
        url = client.make_url
        assert (await cat.post(url(f"/agent/api/handoffs/{hid}/transfer"), json={"skill_group": "sales"})).status == 404
        for op, body in (("takeover", None), ("reassign", {"agent": "cat"}), ("whisper", {"text": "psst"})):
            r = await cat.post(url(f"/agent/api/handoffs/{hid}/{op}"), json=body or {})
            assert r.status == 403 and (await r.json())["error"]["code"] == "supervisor_only", op
        # A queued chat cannot be transferred before someone accepts it.
    await login(client, "sue")
    r = await client.post(f"/agent/api/handoffs/{queued}/transfer", json={"skill_group": "sales"})
    assert r.status == 409


async def test_a_supervisor_takes_over_reassigns_and_whispers(client, engine):
    hid = await accepted_by(client, "amy", "c-sup")
    await login(client, "sue")
    # Whisper: to the agent of an active chat only; bad input is refused.
    assert (await client.post(f"/agent/api/handoffs/{hid}/whisper", json={"text": ""})).status == 400
    r = await client.post(f"/agent/api/handoffs/{hid}/whisper", json={"text": "offer the fee waiver"})
    assert r.status == 201 and (await r.json())["note"]["to_agent"] == "amy"
    # Reassign to Bob (online or away), not to someone offline or unknown.
    assert (await client.post(f"/agent/api/handoffs/{hid}/reassign", json={"agent": "cat"})).status == 400
    assert (await client.post(f"/agent/api/handoffs/{hid}/reassign", json={})).status == 400
    r = await client.post(f"/agent/api/handoffs/{hid}/reassign", json={"agent": "bob"})
    assert r.status == 200 and (await r.json())["handoff"]["agent"] == "bob"
    # Take over: the supervisor becomes the chat's agent; Bob's hold ends "taken over".
    r = await client.post(f"/agent/api/handoffs/{hid}/takeover", json={})
    assert r.status == 200 and (await r.json())["handoff"]["agent"] == "sue"
    assert (await client.post(f"/agent/api/handoffs/{hid}/whisper", json={"text": "x"})).status == 409  # own chat
    body = await (await client.get(f"/agent/api/handoffs/{hid}/notes")).json()
    assert [(a["agent"], a["ended_reason"]) for a in body["assignments"]] == [
        ("amy", "reassigned"), ("bob", "taken_over"), ("sue", None)]
    assert [n["kind"] for n in body["notes"]] == ["whisper"]
    # Each change of hands is in the audit log, with who did it.
    from handoff_service.audit.storage import audit_events
    import sqlalchemy as sa
    with engine.connect() as conn:
        logged = conn.execute(sa.select(audit_events.c.actor, audit_events.c.action)
                              .where(audit_events.c.target_id == str(hid), audit_events.c.target_type == "handoff",
                                     audit_events.c.action != "handoff_opened")
                              .order_by(audit_events.c.id)).fetchall()
    assert [tuple(r) for r in logged] == [("sue", "handoff_reassigned"), ("sue", "handoff_taken_over")]
    # Sue replies as the chat's agent would (Rasa is down here: 503, not 403).
    assert (await client.post(f"/agent/api/handoffs/{hid}/messages", json={"text": "hi"})).status == 503
    # A queued chat: taking it over is accepting it.
    queued = (await handoff(client, "c-sup-q", skill_group="technical"))["handoff"]["id"]
    r = await client.post(f"/agent/api/handoffs/{queued}/takeover", json={})
    assert r.status == 200 and (await r.json())["handoff"]["agent"] == "sue"
    r = await client.post(f"/agent/api/handoffs/{hid}/close", json={"disposition": "resolved", "tags": ["fees", "vip"]})
    assert r.status == 503  # resuming the bot needs Rasa; the chat stays open and can be closed again
    assert (await client.post(f"/agent/api/handoffs/{hid}/takeover", json={})).status == 200  # still hers
    assert (await client.post("/agent/api/handoffs/424242/takeover", json={})).status == 404


async def next_of(ws, kind, timeout=10):
    while True:
        msg = await asyncio.wait_for(ws.receive_json(), timeout)
        if msg["type"] == kind:
            return msg


async def test_the_live_feed_tells_only_those_who_may_see_the_chat(client):
    """Amy (billing) and Bob (technical) listen; a billing chat's notes and changes reach
    Amy and the supervisor, never Bob; a whisper reaches Amy at once; after a transfer to
    technical, Bob hears of it and Amy learns it left her."""
    hid = await accepted_by(client, "amy", "c-live")
    await login(client, "sue")
    async with as_staff(client, "amy") as amy, as_staff(client, "bob") as bob:
        amy_ws = await amy.ws_connect(client.make_url("/agent/ws"))
        bob_ws = await bob.ws_connect(client.make_url("/agent/ws"))
        sue_ws = await client.ws_connect("/agent/ws")
        try:
            r = await client.post(f"/agent/api/handoffs/{hid}/whisper", json={"text": "<script>alert(1)</script>"})
            assert r.status == 201
            whisper = (await next_of(amy_ws, "note"))["note"]
            assert whisper["kind"] == "whisper" and whisper["text"] == "<script>alert(1)</script>"
            assert (await next_of(sue_ws, "note"))["note"]["id"] == whisper["id"]
            r = await amy.post(client.make_url(f"/agent/api/handoffs/{hid}/transfer"),
                               json={"skill_group": "technical", "note": "for Bob's team"})
            assert r.status == 200
            gone = (await next_of(amy_ws, "handoff"))["handoff"]
            assert gone["id"] == hid and gone["status"] == "queued" and gone["skill_group"] == "technical"
            arrived = (await next_of(bob_ws, "handoff"))["handoff"]
            assert arrived["id"] == hid and arrived["status"] == "queued"
            # Bob's first message about this chat is its arrival in his queue: nothing before it.
            transfer_note = (await next_of(bob_ws, "note"))["note"]
            assert transfer_note["kind"] == "transfer" and transfer_note["text"] == "for Bob's team"
        finally:
            for ws in (amy_ws, bob_ws, sue_ws):
                await ws.close()


async def test_bob_hears_nothing_of_a_billing_chat(client):
    """The feed's audience, checked on the negative side: everything about Amy's chat
    happens, then one thing Bob may see; it is the first thing Bob receives."""
    hid = await accepted_by(client, "amy", "c-quiet")
    await login(client, "amy")
    async with as_staff(client, "bob") as bob:
        bob_ws = await bob.ws_connect(client.make_url("/agent/ws"))
        try:
            await client.post(f"/agent/api/handoffs/{hid}/notes", json={"text": "secret note"})
            async with as_staff(client, "sue") as sue:
                await sue.post(client.make_url(f"/agent/api/handoffs/{hid}/whisper"), json={"text": "secret whisper"})
            technical = (await handoff(client, "c-for-bob", skill_group="technical"))["handoff"]["id"]
            first = await asyncio.wait_for(bob_ws.receive_json(), 10)
            assert first["type"] == "handoff" and first["handoff"]["id"] == technical
        finally:
            await bob_ws.close()


async def test_a_chat_sent_to_a_team_goes_to_someone_else_than_its_sender(client, engine):
    routing = RoutingRepository(engine)
    routing.set_agent("bob", status="online")
    routing.set_agent("amy", skills=["billing", "technical"], status="away")
    busy = (await handoff(client, "c-bob-busy", skill_group="technical"))["handoff"]["id"]
    await desk_of(client).settle()
    assert HandoffRepository(engine).get(busy).agent_username == "bob"
    routing.set_agent("amy", status="online")
    hid = (await handoff(client, "c-send-on", skill_group="billing"))["handoff"]["id"]
    await desk_of(client).settle()
    assert HandoffRepository(engine).get(hid).agent_username == "amy"
    await login(client, "amy")
    r = await client.post(f"/agent/api/handoffs/{hid}/transfer", json={"skill_group": "technical", "note": "router"})
    assert r.status == 200
    await desk_of(client).settle()
    # Amy has fewer chats than Bob and serves technical too, but she is the one who sent it on.
    assert HandoffRepository(engine).get(hid).agent_username == "bob"
