"""A customer's erasure over the real processes: after a conversation that went through
verification, a handoff, a callback ticket and an agent's reply, the staff request erases
them, and their phone number and name are in no table of the three databases, no process
log, and nothing staff are shown (console and API responses, the dashboard, every export)."""
import json
import time
from pathlib import Path

import pytest
import requests

from actions.accounts import AccountRepository
from bot.database import create_engine
from handoff_service.audit.storage import CUSTOMER_DATA_ERASED, RETENTION_PURGE, AuditFilter, AuditLog
from handoff_service.privacy import __main__ as privacy_cli
from tests.integration.test_privacy import staff_responses
from tests.test_privacy_rights import every_text_in

pytestmark = pytest.mark.integration

NAME, PHONE, PIN = "欧阳清华", "13566667777", "8642"


def test_an_erased_customer_is_in_no_table_of_the_three_databases(stack):
    settings = stack.settings
    app_engine = create_engine(settings.database_url)
    engines = [app_engine, create_engine(settings.rasa_tracker_db_url), create_engine(settings.rasa_events_db_url)]
    try:
        # The running web service runs its daily purge from the start, on record.
        deadline = time.monotonic() + 30
        while AuditLog(app_engine).query(AuditFilter(action=RETENTION_PURGE))[1] == 0:
            assert time.monotonic() < deadline, "the web service did not run its retention purge"
            time.sleep(0.2)
        customer_id = AccountRepository(app_engine).add_customer(NAME, PHONE, PIN, plan_name="测试套餐")
        customer, agent = stack.customer(), stack.agent()
        try:
            customer.ask("查话费")
            customer.ask(PHONE)
            assert customer.ask(PIN)["text"].startswith(NAME)
            agent.listen()
            assert customer.ask("转人工")["text"].startswith("正在为您转接")
            customer.say(f"我是{NAME}，电话 {PHONE}")  # while queued: straight to the desk
            line = agent.next_event(lambda e: e["type"] == "transcript" and e["line"]["conversation_id"] == customer.session_id
                                    and NAME in e["line"]["text"])["line"]  # the customer's words reached the desk
            handoff = agent.handoff_for(customer.session_id)
            assert handoff["context"]["customer"]["name"] == NAME
            assert agent.post(f"/agent/api/handoffs/{handoff['id']}/accept").status_code == 200
            assert agent.post(f"/agent/api/handoffs/{handoff['id']}/messages", {"text": f"{NAME}您好"}).status_code == 202
            # A callback number left for agents (desk #7), listed masked.
            ticket = {"conversation_id": customer.session_id, "kind": "callback", "phone": PHONE,
                      "customer_ref": str(customer_id), "message": f"{NAME}，下午回电"}
            assert requests.post(f"{settings.web_url}/api/tickets", json=ticket, timeout=30,
                                 headers={"Authorization": f"Bearer {settings.service_token}"}).status_code == 201
            agent.close()
        finally:
            customer.close()
        deadline = time.monotonic() + 30
        while NAME not in every_text_in(app_engine):  # the transcript has the customer's words
            assert time.monotonic() < deadline, line
            time.sleep(0.2)
        for engine in engines:
            assert PHONE in every_text_in(engine)  # the search finds it where it is
        # What staff are shown names the customer, with the phone masked (privacy #14).
        shown = staff_responses(stack, [handoff["id"]]) + [("customer export", _export(stack, customer_id))]
        assert any(NAME in text for what, text in shown if what.startswith("customer history"))
        assert any("•••••••7777" in text for what, text in shown if what == "tickets (open)")
        assert [what for what, text in shown if PHONE in text] == ["customer export"]  # the export is the clear copy

        argv = ["erase", "--phone", PHONE, "--requested-by", "supervisor", "--reason", "erasure request 7"]
        assert privacy_cli.main(argv, settings) == 0

        for engine in engines:
            text = every_text_in(engine)
            assert PHONE not in text and NAME not in text
        # Nor in any log of the processes, nor anything staff are shown: transcript, customer
        # history, tickets, dashboard and its exports, the FAQ exports, the customer export.
        shown = staff_responses(stack, [handoff["id"]]) + [("customer export", _export(stack, customer_id))]
        shown += [(log.name, log.read_text(encoding="utf-8", errors="replace")) for log in Path(stack.log_dir).glob("*")]
        assert [what for what, text in shown if PHONE in text or NAME in text or "•••••••7777" in text] == []
        [erased], _ = AuditLog(app_engine).query(AuditFilter(action=CUSTOMER_DATA_ERASED))
        assert erased.actor == "supervisor" and erased.target_id == str(customer_id)
        # The handoff is still counted, without the customer in it.
        assert agent.get(f"/agent/api/handoffs/{handoff['id']}").json()["handoff"]["context"] == {"erased": True}
    finally:
        for engine in engines:
            engine.dispose()


def _export(stack, customer_id) -> str:
    """The supervisor's export of everything held on the customer (/privacy/), as JSON text."""
    supervisor = stack.agent("supervisor")
    try:
        r = supervisor.http.post(f"{stack.settings.web_url}/privacy/export", timeout=60,
                                 data={"customer_id": str(customer_id), "reason": "erasure test: what is held"})
        assert r.status_code == 200, r.text[:300]
        return json.dumps(r.json(), ensure_ascii=False)
    finally:
        supervisor.close()
