"""Privacy (#14) in the web service, in-process on a real database: personal data typed
into a chat reaches staff masked and is revealed only with a reason, on record; the
audit log has every customer history opened, agent setting changed, export and FAQ
rollback."""
import json

import pytest
import sqlalchemy as sa

from handoff_service.app import CONSUMER
from handoff_service.audit import storage as audit
from handoff_service.desk.storage import HandoffRepository
from handoff_service.identities.storage import IdentityRepository
from handoff_service.storage import StaffRepository, TranscriptRepository
from knowledge_base.storage import FaqRepository
from tests.test_audit import events
from tests.test_web import PASSWORD, SERVICE, client, login, settings  # noqa: F401 - fixtures

PHONE, EMAIL, ID_NUMBER = "13912345678", "li.na@example.com", "110101199003074514"


@pytest.fixture
def supervisor(engine):
    StaffRepository(engine).upsert("sue", "Supervisor Sue", PASSWORD, ["supervisor", "agent"])
    return "sue"


def publish(settings, *stream):
    from rasa.core.brokers.sql import SQLEventBroker  # the broker Rasa itself writes with

    broker = SQLEventBroker(db=settings.rasa_events_db_url.replace("sqlite:///", ""))
    for event in stream:
        broker.publish({"timestamp": 1.0, "parse_data": {}, **event})


def said(conversation, text, event="user", **extra):
    return {"sender_id": conversation, "event": event, "text": text, **extra}


async def queue(client, conversation):
    r = await client.post("/api/handoffs", json={"conversation_id": conversation}, headers=SERVICE)
    return (await r.json())["handoff"]["id"]


async def test_personal_data_a_customer_types_is_masked_for_agents_and_revealed_only_with_a_reason(client, settings, engine):
    publish(settings,
            said("conv-m", f"我的手机号是{PHONE}，邮箱 {EMAIL}"),
            said("conv-m", "请输入您的手机号。", event="bot"),
            said("conv-m", f"身份证 {ID_NUMBER}"),
            said("conv-m", "好的，我们会打给尾号 5678 的号码", event="bot", metadata={"sender": "agent", "agent_username": "agent"}),
            said("conv-m", f"call me on {PHONE}", event="bot", metadata={"sender": "agent", "agent_username": "agent"}))
    handoff_id = await queue(client, "conv-m")
    await login(client, "agent")
    async with client.ws_connect("/agent/ws") as ws:
        await client.server.app[CONSUMER].poll_once()
        live = [json.loads((await ws.receive()).data)["line"] for _ in range(5)]
    detail = await (await client.get(f"/agent/api/handoffs/{handoff_id}")).json()
    assert [l["text"] for l in detail["transcript"]] == [
        "我的手机号是•••••••5678，邮箱 l•••@example.com", "请输入您的手机号。", "身份证 ••••••••••••••4514",
        "好的，我们会打给尾号 5678 的号码", "call me on •••••••5678"]
    assert [l["text"] for l in live] == [l["text"] for l in detail["transcript"]]  # the live feed too
    for where in (json.dumps(live), json.dumps(detail)):
        assert PHONE not in where and EMAIL not in where and ID_NUMBER not in where
    first = detail["transcript"][0]
    assert first["segments"] == [
        {"text": "我的手机号是"}, {"span": 0, "kind": "phone", "text": "•••••••5678"},
        {"text": "，邮箱 "}, {"span": 1, "kind": "email", "text": "l•••@example.com"}]
    assert "segments" not in detail["transcript"][1]

    reveal = f"/agent/api/handoffs/{handoff_id}/lines/{first['id']}/reveal"
    r = await client.post(reveal, json={"span": 0})
    assert r.status == 400 and (await r.json())["error"]["code"] == "reason_required"
    for bad in ({"span": "0", "reason": "call back"}, {"span": True, "reason": "call back"}, {"span": -1, "reason": "call back"}):
        assert (await client.post(reveal, json=bad)).status == 400
    assert (await client.post(reveal, json={"span": 2, "reason": "call back"})).status == 404
    assert events(engine, action=audit.PERSONAL_DATA_REVEALED) == []

    r = await client.post(reveal, json={"span": 0, "reason": "customer asked for a call back"})
    assert r.status == 200 and r.headers["Cache-Control"] == "no-store"
    assert await r.json() == {"line_id": first["id"], "span": 0, "kind": "phone", "value": PHONE}
    r = await client.post(reveal, json={"span": 1, "reason": "send the invoice"})
    assert (await r.json())["value"] == EMAIL
    recorded = events(engine, action=audit.PERSONAL_DATA_REVEALED)
    assert [(e.actor, e.target_type, e.target_id, e.detail["field"], e.detail["shown_as"], e.detail["reason"])
            for e in reversed(recorded)] == [
        ("agent", "transcript_line", str(first["id"]), "phone", "•••••••5678", "customer asked for a call back"),
        ("agent", "transcript_line", str(first["id"]), "email", "l•••@example.com", "send the invoice")]
    assert all(e.detail["handoff_id"] == handoff_id for e in recorded)
    assert PHONE not in str([e.as_json() for e in recorded]) and EMAIL not in str([e.as_json() for e in recorded])
    # The stored transcript keeps what was typed (the business needs it; erasure and retention reach it).
    assert TranscriptRepository(engine).get(first["id"]).text == f"我的手机号是{PHONE}，邮箱 {EMAIL}"


async def test_only_staff_who_may_see_the_chat_reveal_and_only_its_lines(client, settings, engine, supervisor):
    publish(settings, said("conv-a", f"my number is {PHONE}"), said("conv-b", f"mine is {PHONE}"),
            said("conv-c", f"and mine {PHONE}"))
    await client.server.app[CONSUMER].poll_once()
    # conv-a and conv-b are one customer's chats on two channels; conv-c is someone else's.
    identities = IdentityRepository(engine)
    identities.link("7", "socketio", "conv-a")
    identities.link("7", "telegram", "conv-b")
    handoff_b, handoff_c = await queue(client, "conv-b"), await queue(client, "conv-c")
    HandoffRepository(engine).accept(handoff_b, "bob")
    await login(client, supervisor)
    lines = {}
    for conversation, handoff_id in (("conv-b", handoff_b), ("conv-c", handoff_c)):
        [line] = (await (await client.get(f"/agent/api/handoffs/{handoff_id}")).json())["transcript"]
        lines[conversation] = line["id"]
    history = await (await client.get(f"/agent/api/handoffs/{handoff_b}/customer-history")).json()
    [earlier] = [c for c in history["conversations"] if c["conversation_id"] == "conv-a"]
    assert earlier["transcript"][0]["text"] == "my number is •••••••5678"  # the history is masked too
    lines["conv-a"] = earlier["transcript"][0]["id"]
    body = {"span": 0, "reason": "checking the callback number"}

    # A supervisor may, for a line of the chat or of the customer's earlier chats…
    for conversation in ("conv-b", "conv-a"):
        r = await client.post(f"/agent/api/handoffs/{handoff_b}/lines/{lines[conversation]}/reveal", json=body)
        assert r.status == 200 and (await r.json())["value"] == PHONE
    # …but not for a line of another customer's chat named through this one.
    r = await client.post(f"/agent/api/handoffs/{handoff_b}/lines/{lines['conv-c']}/reveal", json=body)
    assert r.status == 404
    assert (await client.post(f"/agent/api/handoffs/{handoff_b}/lines/99999999999999999999/reveal", json=body)).status == 404
    # Bob handles conv-b; the agent "agent" does not, and may not reveal its lines.
    await login(client, "agent")
    r = await client.post(f"/agent/api/handoffs/{handoff_b}/lines/{lines['conv-b']}/reveal", json=body)
    assert r.status == 404
    assert (await client.get(f"/agent/api/handoffs/{handoff_b}/customer-history")).status == 404
    await login(client, "bob")
    r = await client.post(f"/agent/api/handoffs/{handoff_b}/lines/{lines['conv-b']}/reveal", json=body)
    assert r.status == 200
    await login(client, "editor")
    r = await client.post(f"/agent/api/handoffs/{handoff_b}/lines/{lines['conv-b']}/reveal", json=body)
    assert r.status == 403
    assert [e.actor for e in reversed(events(engine, action=audit.PERSONAL_DATA_REVEALED))] == ["sue", "sue", "bob"]
    [opened] = events(engine, action=audit.CUSTOMER_HISTORY_OPENED)
    assert (opened.actor, opened.target_id, opened.detail) == ("sue", str(handoff_b), {"customer_ref": "7", "conversations": 2})


async def test_supervisor_changes_to_an_agents_settings_are_recorded(client, engine, supervisor):
    await login(client, supervisor)
    r = await client.post("/agent/api/agents/bob", json={"skills": ["billing"], "capacity": 2})
    assert r.status == 200
    assert (await client.post("/agent/api/agents/bob", json={"capacity": "two"})).status == 400
    [changed] = events(engine, action=audit.AGENT_SETTINGS_CHANGED)
    assert (changed.actor, changed.target_type, changed.target_id, changed.detail) == (
        "sue", "agent", "bob", {"skills": ["billing"], "capacity": 2})


async def test_dashboard_and_faq_exports_and_faq_rollbacks_are_recorded(client, engine, supervisor):
    await login(client, supervisor)
    params = {"from": "2026-11-01", "to": "2026-11-07"}
    assert (await client.get("/dashboard/api/export/summary.csv", params=params)).status == 200
    assert (await client.get("/dashboard/api/export/all.xlsx", params={**params, "language": "en"})).status == 200
    assert (await client.get("/dashboard/api/export/nothing.csv", params=params)).status == 404
    exported = [(e.actor, e.target_id, e.detail) for e in reversed(events(engine, action=audit.DASHBOARD_EXPORTED))]
    assert exported == [("sue", "summary", {"format": "csv", **params}),
                        ("sue", "all", {"format": "xlsx", "language": "en", **params})]

    faqs = FaqRepository(engine)
    faq_id = faqs.upsert("roaming", {"zh-Hans": "旧答案"}, {"zh-Hans": ["怎么开通漫游"]})
    faqs.upsert("roaming", {"zh-Hans": "新答案"}, {"zh-Hans": ["怎么开通漫游"]})
    assert faqs.get(faq_id).version == 2
    await login(client, "editor")
    for kind in ("csv", "xlsx"):
        assert (await client.get(f"/kb/export.{kind}")).status == 200
    r = await client.post(f"/kb/faqs/{faq_id}/rollback", data={"to_version": "1", "version": "2"}, allow_redirects=False)
    assert r.status == 303
    assert [(e.actor, e.detail) for e in reversed(events(engine, action=audit.FAQ_EXPORTED))] == [
        ("editor", {"format": "csv", "faqs": 1}), ("editor", {"format": "xlsx", "faqs": 1})]
    [rolled_back] = events(engine, action=audit.FAQ_ROLLED_BACK)
    assert (rolled_back.actor, rolled_back.target_id, rolled_back.detail) == ("editor", "roaming", {"to_version": 1})
    # A rollback refused as stale is not recorded as done.
    r = await client.post(f"/kb/faqs/{faq_id}/rollback", data={"to_version": "1", "version": "2"}, allow_redirects=False)
    assert r.status == 303 and "error=stale" in r.headers["Location"]
    assert len(events(engine, action=audit.FAQ_ROLLED_BACK)) == 1


async def test_a_pin_written_into_a_message_left_for_agents_is_never_kept(client, engine):
    ticket = {"conversation_id": "conv-t", "kind": "message", "message": "我的服务密码是1234，麻烦回电"}
    assert (await client.post("/api/tickets", json=ticket, headers=SERVICE)).status == 201
    await login(client, "agent")
    [listed] = (await (await client.get("/agent/api/tickets")).json())["tickets"]
    assert listed["message"] == "我的服务密码是••••，麻烦回电"
    with engine.connect() as conn:
        assert "1234" not in str(conn.execute(sa.text("SELECT message FROM desk_tickets")).fetchall())
