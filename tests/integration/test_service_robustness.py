"""Issue 5, the service half, over the real processes: the relay survives a row it
cannot handle, logout ends a session, the action server answers only Rasa, and an
agent is told (not silently ignored) when a customer cannot receive replies."""
import json
import time
import uuid

import pytest
import requests
import sqlalchemy as sa

from bot.database import create_engine
from tests.integration.stack import STAFF_PASSWORD, WAIT

pytestmark = pytest.mark.integration


def _poll(condition, what: str):
    """Wait for condition() to be truthy; fail after WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)  # polling for a condition with a deadline
    pytest.fail(f"timed out waiting for {what}")


def test_a_row_the_transcript_cannot_store_is_set_aside_and_later_lines_still_arrive(stack, customer, agent):
    """Defect 1: one broker row the transcript handler failed on stopped every feed for ever."""
    poison_conversation = f"poison-{uuid.uuid4().hex[:8]}"
    # A row in Rasa's broker table no handler can make sense of (its timestamp is not a
    # number), as a buggy or hostile writer could leave it.
    poison = {"event": "user", "text": "hello", "timestamp": "half past nine", "parse_data": {}}
    engine = create_engine(stack.settings.rasa_events_db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO events (sender_id, data) VALUES (:s, :d)"),
                         {"s": poison_conversation, "d": json.dumps(poison)})
            poison_id = conn.execute(sa.text("SELECT MAX(id) FROM events WHERE sender_id = :s"),
                                     {"s": poison_conversation}).scalar()
    finally:
        engine.dispose()
    # A customer of another conversation asks for a person and writes on: the agent sees it all.
    conversation = customer.session_id
    customer.ask("转人工")
    handoff = agent.next_event(lambda e: e["type"] == "handoff" and e["handoff"]["conversation_id"] == conversation)["handoff"]
    customer.say("我的网络一直断线")
    assert agent.transcript_event(conversation)["text"] in ("转人工", "我的网络一直断线")
    _poll(lambda: any(l["text"] == "我的网络一直断线" for l in
                      agent.get(f"/agent/api/handoffs/{handoff['id']}").json()["transcript"]), "the line in the transcript")
    health = requests.get(f"{stack.settings.web_url}/healthz", timeout=WAIT)
    assert health.status_code == 503 and health.json()["status"] == "degraded"
    assert health.json()["event_stream"]["set_aside_recently"] >= 1
    log = (stack.log_dir / "web.log").read_text(errors="replace")
    set_aside = [line for line in log.splitlines() if f"row {poison_id} set aside" in line]
    assert len(set_aside) == 1 and "TranscriptHandler" in set_aside[0] and "half past nine" not in log
    agent.post(f"/agent/api/handoffs/{handoff['id']}/close")


def test_after_logout_the_same_cookie_is_refused(stack):
    """Defect 5: after POST /logout the same cookie still got 200 for up to 12 h."""
    agent = stack.agent()
    copied = dict(agent.http.cookies)
    assert agent.get("/agent/api/handoffs").status_code == 200
    assert agent.http.post(f"{stack.settings.web_url}/logout", allow_redirects=False, timeout=WAIT).status_code == 302
    replay = requests.get(f"{stack.settings.web_url}/agent/api/handoffs", cookies=copied, timeout=WAIT)
    assert replay.status_code == 401


@pytest.mark.parametrize("change", ["demoted", "removed"])
def test_staff_who_lose_their_role_or_account_are_refused_at_once(stack, change):
    """Defect 5: a removed or demoted staff member kept access with their cookie for up to 12 h."""
    from handoff_service.storage import StaffRepository

    username = f"temp-{change}-{uuid.uuid4().hex[:6]}"
    staff = StaffRepository(create_engine(stack.settings.database_url))
    staff.upsert(username, "Temporary Agent", STAFF_PASSWORD, ["agent"])
    agent = stack.agent(username)
    assert agent.get("/agent/api/handoffs").status_code == 200
    if change == "demoted":
        staff.upsert(username, "Temporary Agent", STAFF_PASSWORD, ["editor"])
    else:
        staff.remove(username)
    staff.engine.dispose()
    assert agent.get("/agent/api/handoffs").status_code in (401, 403)


def test_staff_requests_without_our_origin_are_refused(stack):
    """Defect 8: a missing Origin was accepted, another scheme too."""
    agent = stack.agent()
    handoffs = f"{stack.settings.web_url}/agent/api/handoffs/1/accept"
    del agent.http.headers["Origin"]
    assert agent.http.post(handoffs, json={}, timeout=WAIT).status_code == 403
    other_scheme = stack.settings.web_url.replace("http://", "https://")
    assert agent.http.post(handoffs, json={}, headers={"Origin": other_scheme}, timeout=WAIT).status_code == 403


def test_the_action_server_answers_only_rasa(stack, customer):
    """Defect 8: the action server gave any local caller any customer's balance."""
    call = {
        "next_action": "action_check_balance", "sender_id": "intruder", "version": "3.6.21", "domain": {},
        "tracker": {"sender_id": "intruder", "slots": {"customer_id": 1, "verified": True}, "events": [],
                    "latest_message": {}, "paused": False, "followup_action": None, "active_loop": {},
                    "latest_action_name": None, "latest_event_time": None, "latest_input_channel": None},
    }
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        r = requests.post(f"{stack.settings.actions_url}/webhook", json=call, headers=headers, timeout=WAIT)
        assert r.status_code == 401 and "balance" not in r.text.lower() and "88.50" not in r.text
    assert requests.get(f"{stack.settings.actions_url}/health", timeout=WAIT).status_code == 200
    # Rasa itself still gets its actions run (the balance needs the action server).
    customer.ask("check my balance")
    customer.ask("447700900123")
    assert customer.ask("2468")["text"].startswith("Alex Smith, your balance is £15.75")


@pytest.mark.parametrize("ask", ["转人工", "轉人工", "talk to a human"])
def test_an_agent_is_told_when_a_rest_customer_cannot_receive_replies(stack, agent, ask):
    """Defect 8: replies to a REST customer were accepted (202) and never delivered."""
    sender = f"rest-{uuid.uuid4().hex[:8]}"
    r = requests.post(f"{stack.settings.rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": ask},
                      timeout=WAIT)
    assert r.status_code == 200 and r.json()
    handoff = agent.next_event(lambda e: e["type"] == "handoff" and e["handoff"]["conversation_id"] == sender)["handoff"]
    assert handoff["input_channel"] == "rest" and handoff["receives_live_replies"] is False
    assert agent.post(f"/agent/api/handoffs/{handoff['id']}/accept").status_code == 200
    reply = agent.post(f"/agent/api/handoffs/{handoff['id']}/messages", {"text": "您好"})
    assert reply.status_code == 409 and reply.json()["error"]["code"] == "channel_cannot_receive"
    assert agent.post(f"/agent/api/handoffs/{handoff['id']}/close").status_code == 200


class _FromAddress(requests.adapters.HTTPAdapter):
    """Connects from another loopback address: a client the throttle tells apart from the other tests."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def test_a_flood_of_throwaway_usernames_does_not_lift_a_lockout(stack):
    """Defect 4: 10,050 logins with throwaway usernames evicted a locked `supervisor`."""
    from tests.integration.stack import STAFF_PASSWORD

    attacker = requests.Session()
    attacker.mount("http://", _FromAddress(f"127.0.{uuid.uuid4().int % 200 + 1}.{uuid.uuid4().int % 200 + 2}"))
    attacker.headers["Origin"] = stack.settings.web_url
    login_url = f"{stack.settings.web_url}/login"

    def attempt(username, password):
        return attacker.post(login_url, data={"username": username, "password": password},
                             allow_redirects=False, timeout=WAIT).status_code

    assert [attempt("supervisor", f"guess-{i}") for i in range(5)] == [401] * 5
    assert attempt("supervisor", STAFF_PASSWORD) == 429
    flood = [attempt(f"throwaway-{uuid.uuid4().hex[:8]}", "") for _ in range(300)]
    assert flood.count(401) == 95 and flood.count(429) == 205  # the address itself is locked after 100 failures
    assert attempt("supervisor", STAFF_PASSWORD) == 429  # still locked
    # The lock is the attacker's: the supervisor at their own desk still gets in.
    assert stack.agent("supervisor").get("/agent/api/handoffs").status_code == 200
