"""The desk's service API and console API in the web service (Rasa down: what does not
need the bot). Routing itself is in test_desk_routing.py."""
import pytest

from handoff_service.desk.routing import RoutingRepository
from handoff_service.desk.storage import HandoffRepository
from handoff_service.storage import StaffRepository
from tests.test_web import PASSWORD, SERVICE, browser_client, login, settings  # noqa: F401  (fixtures)
from handoff_service.api import DESK as API_DESK
from handoff_service.app import create_app


@pytest.fixture
async def client(settings, engine):  # noqa: F811
    staff = StaffRepository(engine)
    staff.upsert("amy", "Agent Amy", PASSWORD, ["agent"])
    staff.upsert("bob", "Agent Bob", PASSWORD, ["agent"])
    staff.upsert("sue", "Supervisor Sue", PASSWORD, ["supervisor", "agent"])
    routing = RoutingRepository(engine)
    routing.set_agent("amy", skills=["billing"])
    routing.set_agent("bob", skills=["technical"])
    async with browser_client(create_app(settings), settings) as c:
        yield c


def desk_of(client):
    return next(sub[API_DESK] for sub in client.server.app._subapps if API_DESK in sub)


async def handoff(client, conversation_id, **fields):
    r = await client.post("/api/handoffs", json={"conversation_id": conversation_id, **fields}, headers=SERVICE)
    assert r.status == 201, await r.text()
    return await r.json()


async def test_the_handoff_carries_skill_priority_and_the_wait(client):
    body = await handoff(client, "c1", reason="business_rule:fraud_security", skill_group="billing", priority=5,
                         customer_ref="42", language="en")
    assert body["handoff"]["skill_group"] == "billing" and body["handoff"]["priority"] == 5
    assert body["handoff"]["customer_ref"] == "42" and body["handoff"]["reason"] == "business_rule:fraud_security"
    # Nobody online: a position, no time, and a callback is worth offering.
    assert body["wait"]["position"] == 1 and body["wait"]["wait_minutes"] is None and body["wait"]["offer_callback"]
    for bad in ({"skill_group": "plumbing"}, {"priority": -1}, {"priority": "high"}, {"customer_ref": ""}):
        r = await client.post("/api/handoffs", json={"conversation_id": "c2", **bad}, headers=SERVICE)
        assert r.status == 400


async def test_an_agent_sees_their_skills_queue_and_own_chats_a_supervisor_sees_all(client):
    billing = (await handoff(client, "c-bill", skill_group="billing"))["handoff"]["id"]
    technical = (await handoff(client, "c-tech", skill_group="technical"))["handoff"]["id"]
    await login(client, "amy")
    listed = [h["id"] for h in (await (await client.get("/agent/api/handoffs")).json())["handoffs"]]
    assert listed == [billing]
    assert (await client.get(f"/agent/api/handoffs/{technical}")).status == 404
    r = await client.post(f"/agent/api/handoffs/{technical}/accept", json={})
    assert r.status == 403 and (await r.json())["error"]["code"] == "not_your_skill"
    assert (await client.get("/agent/api/agents")).status == 403
    assert (await client.post("/agent/api/agents/bob", json={"skills": ["billing"]})).status == 403
    await client.post("/logout", allow_redirects=False)
    await login(client, "sue")
    listed = [h["id"] for h in (await (await client.get("/agent/api/handoffs")).json())["handoffs"]]
    assert listed == [billing, technical]
    agents = {a["username"]: a for a in (await (await client.get("/agent/api/agents")).json())["agents"]}
    assert agents["amy"]["skills"] == ["billing"] and agents["bob"]["status"] == "offline"
    r = await client.post("/agent/api/agents/bob", json={"skills": ["technical", "billing"], "languages": ["en"]})
    assert r.status == 200 and (await r.json())["agent"]["skills"] == ["technical", "billing"]
    assert (await client.post("/agent/api/agents/nobody", json={"capacity": 2})).status == 404
    assert (await client.post("/agent/api/agents/bob", json={"skills": ["plumbing"]})).status == 400


async def test_an_agent_switches_status_and_online_agents_get_chats(client, engine):
    await login(client, "amy")
    assert (await (await client.get("/agent/api/me/status")).json())["agent"]["status"] == "offline"
    assert (await client.post("/agent/api/me/status", json={"status": "busy"})).status == 400
    assert (await client.post("/agent/api/me/status", json={"capacity": True})).status == 400
    r = await client.post("/agent/api/me/status", json={"status": "online", "capacity": 2})
    assert (await r.json())["agent"] == {"username": "amy", "status": "online", "capacity": 2, "skills": ["billing"],
                                         "languages": ["zh-Hans", "zh-Hant", "en"], "load": 0}
    body = await handoff(client, "c-online", skill_group="billing")
    # A qualified agent with a free seat: served at the next dispatch, so no seat's wait
    # (it was 1 × 300 s / 2 seats, told to customers who were then served at once).
    assert body["wait"]["wait_seconds"] == 0 and body["wait"]["wait_minutes"] == 1
    assert not body["wait"]["offer_callback"]
    # The routing runs right after that answer; running it again here waits for it (one at a time).
    await desk_of(client).dispatch()
    assigned = HandoffRepository(engine).get(body["handoff"]["id"])
    assert assigned is not None and assigned.agent_username == "amy"
    assert RoutingRepository(engine).assignments(assigned.id)[0]["agent"] == "amy"


async def test_close_with_disposition_and_tags_and_the_rating_api(client):
    hid = (await handoff(client, "c-rate", skill_group="billing"))["handoff"]["id"]
    r = await client.post("/api/handoffs/rating", json={"conversation_id": "c-rate", "rating": 5}, headers=SERVICE)
    assert r.status == 404  # not closed yet
    await login(client, "amy")
    await client.post(f"/agent/api/handoffs/{hid}/accept", json={})
    r = await client.post(f"/agent/api/handoffs/{hid}/close", json={"disposition": "resolved", "tags": [1]})
    assert r.status == 400
    for bad in ({"rating": 0}, {"rating": "5"}, {"rating": 3, "comment": 7}):
        r = await client.post("/api/handoffs/rating", json={"conversation_id": "c-rate", **bad}, headers=SERVICE)
        assert r.status == 400
    assert (await client.post("/api/handoffs/rating", json={"conversation_id": "c-rate", "rating": 5})).status == 401


async def test_callback_and_message_tickets_for_the_agents_of_their_team(client, engine):
    callback = {"conversation_id": "c-cb", "kind": "callback", "language": "zh-Hans", "skill_group": "billing",
                "phone": "13800138000", "preferred_time": "明天上午"}
    for bad in ({"kind": "fax"}, {"phone": "12"}, {"skill_group": "plumbing"}, {"preferred_time": "x" * 65}):
        assert (await client.post("/api/tickets", json={**callback, **bad}, headers=SERVICE)).status == 400
    r = await client.post("/api/tickets", json=callback, headers=SERVICE)
    assert r.status == 201
    ticket = (await r.json())["ticket"]
    assert ticket["phone"] == "•••••••8000" and ticket["status"] == "open"
    # The number is not stored in the clear.
    from handoff_service.desk.storage import desk_tickets
    import sqlalchemy as sa
    with engine.connect() as conn:
        assert "13800138000" not in str(conn.execute(sa.select(desk_tickets)).fetchall())
    message = {"conversation_id": "c-msg", "kind": "message", "language": "en", "skill_group": "technical",
               "message": "<b>my router</b> blinks red"}
    assert (await client.post("/api/tickets", json={**message, "message": " "}, headers=SERVICE)).status == 400
    assert (await client.post("/api/tickets", json=message, headers=SERVICE)).status == 201

    await login(client, "amy")  # billing only
    listed = (await (await client.get("/agent/api/tickets")).json())["tickets"]
    assert [t["kind"] for t in listed] == ["callback"]
    r = await client.post(f"/agent/api/tickets/{ticket['id']}/phone", json={})
    assert r.status == 400 and (await r.json())["error"]["code"] == "reason_required"  # a reveal says why
    r = await client.post(f"/agent/api/tickets/{ticket['id']}/phone", json={"reason": "calling back"})
    assert (await r.json())["phone"] == "13800138000" and r.headers["Cache-Control"] == "no-store"
    done = await client.post(f"/agent/api/tickets/{ticket['id']}/done", json={})
    assert (await done.json())["ticket"]["status"] == "done" and (await done.json())["ticket"]["done_by"] == "amy"
    assert (await (await client.get("/agent/api/tickets")).json())["tickets"] == []
    technical_id = (await (await client.get("/agent/api/tickets?status=open")).json())["tickets"]
    assert technical_id == []
    await client.post("/logout", allow_redirects=False)
    await login(client, "bob")  # technical: sees the message, not the callback
    listed = (await (await client.get("/agent/api/tickets")).json())["tickets"]
    assert [(t["kind"], t["message"]) for t in listed] == [("message", "<b>my router</b> blinks red")]
    assert (await client.post(f"/agent/api/tickets/{ticket['id']}/phone", json={"reason": "curious"})).status == 404


async def test_personal_data_in_a_message_is_masked_and_revealed_with_a_reason_on_record(client, engine):
    from handoff_service.audit import storage as audit
    from tests.test_audit import events

    message = {"conversation_id": "c-pd", "kind": "message", "language": "en", "skill_group": "technical",
               "message": "<i>call</i> me on 13800138000 or mail li.lei@example.com"}
    created = await client.post("/api/tickets", json=message, headers=SERVICE)
    assert "13800138000" not in await created.text()  # not even in the service API's answer
    ticket_id = (await created.json())["ticket"]["id"]

    await login(client, "bob")  # technical
    [listed] = (await (await client.get("/agent/api/tickets")).json())["tickets"]
    assert listed["message"] == "<i>call</i> me on •••••••8000 or mail l•••@example.com"
    assert [s.get("kind") for s in listed["message_segments"]] == [None, "phone", None, "email"]
    assert "".join(s["text"] for s in listed["message_segments"]) == listed["message"]
    path = f"/agent/api/tickets/{ticket_id}/reveal"
    for bad in ({"span": 0}, {"span": "0", "reason": "to call"}, {"span": True, "reason": "to call"},
                {"span": 0, "reason": "x" * 201}):
        assert (await client.post(path, json=bad)).status == 400
    assert (await client.post(path, json={"span": 2, "reason": "to call"})).status == 404
    r = await client.post(path, json={"span": 1, "reason": "mail the answer"})
    assert (await r.json())["value"] == "li.lei@example.com" and r.headers["Cache-Control"] == "no-store"
    r = await client.post(path, json={"span": 0, "reason": "to call"})
    assert (await r.json())["value"] == "13800138000"
    revealed = events(engine, action=audit.PERSONAL_DATA_REVEALED)
    assert [(e.actor, e.target_type, e.detail) for e in revealed] == [
        ("bob", "ticket", {"field": "phone", "shown_as": "•••••••8000", "reason": "to call"}),
        ("bob", "ticket", {"field": "email", "shown_as": "l•••@example.com", "reason": "mail the answer"})]
    await client.post("/logout", allow_redirects=False)
    await login(client, "amy")  # billing: not hers to read
    assert (await client.post(path, json={"span": 0, "reason": "to call"})).status == 404


# --- channels (#10): the customer's earlier conversations on every channel ---
async def test_the_customer_history_is_read_by_those_who_may_see_the_handoff(client, engine):
    from handoff_service.identities.storage import IdentityRepository
    from handoff_service.events import transcript_line
    from handoff_service.storage import TranscriptRepository

    identities = IdentityRepository(engine)
    identities.link("42", "socketio", "web-earlier")  # verified on the web last week
    TranscriptRepository(engine).add(transcript_line(1, "web-earlier", {"event": "user", "text": "我的宽带断了",
                                                                        "timestamp": 1.0}))
    # Verified again on Telegram: the handoff names the customer before the event stream links this chat.
    billing = (await handoff(client, "tg-now", skill_group="billing", customer_ref="42", input_channel="telegram"))
    technical = (await handoff(client, "tg-other", skill_group="technical", customer_ref="42"))
    await login(client, "amy")
    r = await client.get(f"/agent/api/handoffs/{billing['handoff']['id']}/customer-history")
    assert r.status == 200
    history = await r.json()
    assert history["customer_ref"] == "42" and history["input_channel"] == "telegram"
    assert [(c["channel"], c["conversation_id"], [line["text"] for line in c["transcript"]])
            for c in history["conversations"]] == [("socketio", "web-earlier", ["我的宽带断了"])]
    # Another team's chat: not amy's to read, its history neither.
    assert (await client.get(f"/agent/api/handoffs/{technical['handoff']['id']}/customer-history")).status == 404
    assert (await client.get("/agent/api/handoffs/abc/customer-history")).status == 404
    await client.post("/logout", allow_redirects=False)
    assert (await client.get(f"/agent/api/handoffs/{billing['handoff']['id']}/customer-history")).status in (401, 302)


async def test_a_queued_customer_who_closed_the_chat_and_stays_away_has_abandoned(settings, engine):  # noqa: F811
    """The web chat channel says when a conversation's last socket went away and when one
    came back (POST /api/presence); away longer than the grace period while queued is
    abandoned, a reload within it is nothing."""
    import asyncio
    import time

    fast = settings.with_overrides(desk_abandon_grace_seconds=0.3)
    async with browser_client(create_app(fast), fast) as client:
        for conversation in ("c-reload", "c-gone", "c-served"):
            await handoff(client, conversation, skill_group="billing")

        async def presence(conversation, present, headers=SERVICE):
            return await client.post("/api/presence", json={"conversation_id": conversation, "present": present},
                                     headers=headers)

        assert (await presence("c-gone", False, headers={})).status == 401
        assert (await presence("c-gone", "no")).status == 400
        assert (await presence("", False)).status == 400
        # A reload: the old socket goes, the new one comes, well within the grace period.
        assert (await presence("c-reload", False)).status == 200
        assert (await presence("c-reload", True)).status == 200
        await presence("c-served", False)  # gone, but an agent takes the chat meanwhile
        StaffRepository(engine).upsert("amy", "Agent Amy", PASSWORD, ["agent"])
        RoutingRepository(engine).set_agent("amy", skills=["billing"])
        RoutingRepository(engine).claim(HandoffRepository(engine).open_for("c-served").id, "amy")
        await login(client, "amy")
        await presence("c-gone", False)  # the last to leave: its grace period ends after the others'
        repository = HandoffRepository(engine)
        deadline = time.monotonic() + 10
        while repository.open_for("c-gone") is not None:
            assert time.monotonic() < deadline, "the customer who left is still queued"
            await asyncio.sleep(0.05)
        [gone] = repository.list(statuses=("abandoned",))
        assert gone.conversation_id == "c-gone" and gone.abandoned_at is not None
        listed = {h["conversation_id"]: h for h in (await (await client.get("/agent/api/handoffs")).json())["handoffs"]}
        assert "c-gone" not in listed  # out of the agents' queues
        assert repository.open_for("c-reload").status == "queued"  # came back in time
        assert repository.open_for("c-served").status == "active"  # an agent has it: not abandoned
