"""The audit log and the reveal of masked personal data, in-process on a real database."""
import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from actions.accounts import AccountRepository
from handoff_service.audit import storage as audit
from handoff_service.audit.storage import AuditFilter, AuditLog, audit_events
from handoff_service.desk.storage import HandoffRepository
from handoff_service.storage import StaffRepository
from tests.test_web import PASSWORD, SERVICE, client, login, settings  # noqa: F401 - fixtures

PHONE = "13912345678"


@pytest.fixture
def supervisor(engine):
    StaffRepository(engine).upsert("sue", "Supervisor Sue", PASSWORD, ["supervisor", "agent"])
    return "sue"


def events(engine, **where):
    found, _ = AuditLog(engine).query(AuditFilter(**where), limit=500)
    return found


async def queue_verified_customer(client, engine, conversation="conv-priv"):
    customer_id = AccountRepository(engine).add_customer("王小明", PHONE, "2468")
    context = {"customer": {"id": customer_id, "name": "王小明", "phone": "•••••••5678"}}
    r = await client.post("/api/handoffs", json={"conversation_id": conversation, "context": context}, headers=SERVICE)
    return (await r.json())["handoff"]["id"]


async def test_logins_failed_logins_and_logouts_are_recorded(client, engine):
    await client.post("/login", data={"username": "agent", "password": "wrong"}, allow_redirects=False)
    # A password typed into the username field is not kept.
    await client.post("/login", data={"username": "my-secret-pw", "password": "x"}, allow_redirects=False)
    await login(client, "agent")
    await client.post("/logout", allow_redirects=False)
    recorded = [(e.actor, e.action) for e in reversed(events(engine))]
    assert recorded == [("agent", audit.LOGIN_FAILED), (None, audit.LOGIN_FAILED),
                        ("agent", audit.LOGIN), ("agent", audit.LOGOUT)]
    assert "my-secret-pw" not in str([e.as_json() for e in events(engine)])


async def test_only_supervisors_read_the_audit_log(client, supervisor):
    for username in ("agent", "editor"):
        await login(client, username)
        assert (await client.get("/audit/")).status == 403
    await login(client, supervisor)
    r = await client.get("/audit/")
    assert r.status == 200
    page = await r.text()
    assert 'data-action="login"' in page and "Logged in" in page


async def test_audit_page_filters_pages_and_speaks_the_staff_language(client, engine, supervisor):
    log = AuditLog(engine)
    for i in range(60):
        log.record("agent", audit.HANDOFF_OPENED, "handoff", i)
    log.record("bob", audit.FAQ_UPDATED, "faq", "invoice")
    await login(client, supervisor)
    page = await (await client.get("/audit/?actor=agent")).text()
    assert page.count('data-testid="audit-row"') == 50 and "60 events" in page and "Page 1 of 2" in page
    assert 'href="/audit/?actor=agent&amp;page=2"' in page  # the next page keeps the filter
    page = await (await client.get("/audit/?actor=agent&page=2")).text()
    assert page.count('data-testid="audit-row"') == 10
    page = await (await client.get("/audit/?action=faq_updated")).text()
    assert page.count('data-testid="audit-row"') == 1 and "invoice" in page
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    page = await (await client.get(f"/audit/?from={tomorrow}")).text()
    assert 'data-testid="audit-empty"' in page
    r = await client.get("/audit/?from=yesterday")
    assert r.status == 400 and "must be a date" in await r.text()
    page = await (await client.get("/audit/?action=faq_updated", headers={"Accept-Language": "zh-TW"})).text()
    assert "稽核日誌" in page and "修改問答" in page


async def test_faq_changes_are_recorded(client, engine):
    await login(client, "editor")
    form = {"slug": "roaming", "answer_zh_hans": "国际漫游请拨打 10086。", "questions_zh_hans": "怎么开通漫游"}
    r = await client.post("/kb/faqs/new", data=form, allow_redirects=False)
    assert r.status == 303
    assert [(e.actor, e.action, e.target_id) for e in events(engine, action=audit.FAQ_CREATED)] == [("editor", "faq_created", "roaming")]


async def test_agent_reveals_a_masked_phone_with_a_reason_and_it_is_recorded(client, engine):
    handoff_id = await queue_verified_customer(client, engine)
    await login(client, "agent")
    r = await client.post(f"/agent/api/handoffs/{handoff_id}/reveal", json={"field": "phone", "reason": "before accepting"})
    assert r.status == 403  # only once the agent has taken the chat
    HandoffRepository(engine).accept(handoff_id, "agent")
    handoff = await (await client.get(f"/agent/api/handoffs/{handoff_id}")).json()
    assert handoff["handoff"]["context"]["customer"]["phone"] == "•••••••5678"
    assert [e.target_id for e in events(engine, action=audit.HANDOFF_OPENED)] == [str(handoff_id)]

    r = await client.post(f"/agent/api/handoffs/{handoff_id}/reveal", json={"field": "phone", "reason": " "})
    assert r.status == 400 and (await r.json())["error"]["code"] == "reason_required"
    assert events(engine, action=audit.PERSONAL_DATA_REVEALED) == []
    r = await client.post(f"/agent/api/handoffs/{handoff_id}/reveal", json={"field": "pin", "reason": "why not"})
    assert r.status == 400

    r = await client.post(f"/agent/api/handoffs/{handoff_id}/reveal", json={"field": "phone", "reason": "call back"})
    assert r.status == 200 and (await r.json())["value"] == PHONE and r.headers["Cache-Control"] == "no-store"
    [revealed] = events(engine, action=audit.PERSONAL_DATA_REVEALED)
    assert revealed.actor == "agent" and revealed.detail["reason"] == "call back"
    assert revealed.detail["shown_as"] == "•••••••5678" and PHONE not in str(revealed.as_json())


async def test_only_the_agent_handling_the_chat_may_reveal(client, engine):
    handoff_id = await queue_verified_customer(client, engine)
    HandoffRepository(engine).accept(handoff_id, "agent")
    reveal = {"field": "phone", "reason": "curious"}
    await login(client, "bob")
    r = await client.post(f"/agent/api/handoffs/{handoff_id}/reveal", json=reveal)
    assert r.status == 403 and (await r.json())["error"]["code"] == "not_your_chat"
    await login(client, "editor")
    assert (await client.post(f"/agent/api/handoffs/{handoff_id}/reveal", json=reveal)).status == 403
    HandoffRepository(engine).close(handoff_id, "agent")
    await login(client, "agent")
    assert (await client.post(f"/agent/api/handoffs/{handoff_id}/reveal", json=reveal)).status == 409
    assert events(engine, action=audit.PERSONAL_DATA_REVEALED) == []


def test_the_database_refuses_to_change_or_drop_recent_audit_rows(engine):
    log = AuditLog(engine)
    log.record("agent", audit.LOGIN)
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(audit_events.update().values(actor="someone-else"))
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(audit_events.delete())
    # Rows past the retention floor may go (the retention purge does that).
    old = dt.datetime.utcnow() - dt.timedelta(days=audit.MIN_RETENTION_DAYS + 1)
    with engine.begin() as conn:
        conn.execute(audit_events.insert().values(occurred_at=old, actor="agent", action=audit.LOGIN))
        assert conn.execute(audit_events.delete().where(audit_events.c.occurred_at < old + dt.timedelta(days=1))).rowcount == 1
    assert [e.actor for e in events(engine)] == ["agent"]


def test_audit_log_refuses_unknown_actions(engine):
    with pytest.raises(ValueError):
        AuditLog(engine).record("agent", "deleted_everything")


def test_staff_accounts_created_or_given_other_roles_are_recorded_once(settings, engine):  # noqa: F811
    from bot.demo import load_demo

    load_demo(settings, PASSWORD)
    load_demo(settings, PASSWORD)  # a restart changes nothing
    recorded = [(e.target_id, e.detail["roles"], e.detail["created"]) for e in events(engine, action=audit.STAFF_ACCOUNT_CHANGED)]
    assert sorted(recorded) == [("agent", ["agent"], True), ("editor", ["editor"], True),
                                ("supervisor", ["supervisor", "agent"], True)]


async def test_supervisor_exports_and_erases_a_customer_on_record_and_others_may_not(client, engine, supervisor):
    customer_id = AccountRepository(engine).add_customer("王小明", PHONE, "2468")
    request = {"phone": "139 1234 5678", "reason": "request 77"}
    for username in ("agent", "editor"):
        await login(client, username)
        assert (await client.post("/privacy/export", data=request)).status == 403
    await login(client, supervisor)
    assert "Customer data requests" in await (await client.get("/privacy/")).text()
    r = await client.post("/privacy/export", data={"phone": PHONE, "reason": ""})
    assert r.status == 400 and "Give the reason" in await r.text()
    r = await client.post("/privacy/export", data={"customer_id": "abc", "reason": "request 77"})
    assert r.status == 400 and "whole number" in await r.text()
    r = await client.post("/privacy/export", data={"phone": "13000000000", "reason": "request 77"})
    assert r.status == 404
    r = await client.post("/privacy/export", data=request)
    assert r.status == 200 and r.headers["Content-Disposition"] == f'attachment; filename="customer-{customer_id}.json"'
    assert (await r.json())["account"]["display_name"] == "王小明"
    r = await client.post("/privacy/erase", data=request)
    assert r.status == 400 and "confirm" in await r.text()  # not without ticking the box
    r = await client.post("/privacy/erase", data={**request, "confirm": "yes"})
    assert r.status == 200 and f"Customer {customer_id} erased" in await r.text()
    assert AccountRepository(engine).get(customer_id).display_name == "[erased]"
    assert [(e.actor, e.action) for e in reversed(events(engine, actor=supervisor)) if e.target_type == "customer"] == [
        (supervisor, audit.CUSTOMER_DATA_EXPORTED), (supervisor, audit.CUSTOMER_DATA_ERASED)]
