"""The desk's operations over the real processes (issue #7): a transfer keeps the whole story
for the next agent, the customer is told in their language and keeps writing to a person,
and a message sent at the very instant of a transfer is neither lost, duplicated nor
reordered.

The demo agent takes the chat; the demo supervisor (who also serves as an agent) receives
it, set "away" for the test so nothing else is routed to them (the stack is shared)."""
from contextlib import contextmanager
import threading

import pytest

from tests.integration.stack import WAIT
from tests.integration.test_desk import QUEUED

pytestmark = pytest.mark.integration

TRANSFERRED = {
    "zh-Hans": "为了更好地帮助您，我正在把您转接给同事 Demo Supervisor",
    "zh-Hant": "為了更好地協助您，我正在把您轉接給同事 Demo Supervisor",
    "en": "To help you best, I'm transferring you to my colleague Demo Supervisor",
}
TO_TEAM = {"zh-Hans": "转接给技术支持团队的同事", "zh-Hant": "轉接給技術支援團隊的同事", "en": "colleague in our technical support team"}
STORY = {
    "zh-Hans": ("怎么交话费", "转人工", "我的宽带从昨天开始一直断线"),
    "zh-Hant": ("怎麼繳話費", "轉人工", "我的寬頻從昨天開始一直斷線"),
    "en": ("How can I pay my bill?", "talk to a human", "My broadband has been dropping since yesterday"),
}


@contextmanager
def supervisor_at_the_desk(stack):
    desk = stack.agent("supervisor")
    desk.listen()
    assert desk.post("/agent/api/me/status", {"status": "away"}).status_code == 200
    try:
        yield desk
    finally:
        desk.post("/agent/api/me/status", {"status": "offline"})
        for handoff in desk.get("/agent/api/handoffs").json()["handoffs"]:
            if handoff["agent"] == "supervisor" and handoff["status"] == "active":
                desk.post(f"/agent/api/handoffs/{handoff['id']}/close")
        desk.close()


def accepted_chat(customer, agent, language):
    pay, take, problem = STORY[language]
    customer.say(pay)  # an FAQ answer, perhaps with a follow-up: read up to the queue notice
    customer.ask_all(take, QUEUED)
    handoff = agent.next_event(lambda e: e["type"] == "handoff"
                               and e["handoff"]["conversation_id"] == customer.session_id)["handoff"]
    assert agent.post(f"/agent/api/handoffs/{handoff['id']}/accept").status_code == 200
    customer.next_message()  # "Demo Agent joined"
    customer.say(problem)
    agent.next_event(lambda e: e["type"] == "transcript" and e["line"]["conversation_id"] == customer.session_id
                     and e["line"]["text"] == problem)
    return handoff


@pytest.mark.parametrize("language", ["zh-Hans", "zh-Hant", "en"])
def test_a_transfer_to_an_agent_keeps_the_whole_story(stack, customer, agent, language):
    pay, take, problem = STORY[language]
    with supervisor_at_the_desk(stack) as supervisor:
        handoff = accepted_chat(customer, agent, language)
        hid = handoff["id"]
        assert agent.post(f"/agent/api/handoffs/{hid}/messages", {"text": "Checking your line <now>"}).status_code == 202
        assert customer.next_message()["text"] == "Checking your line <now>"
        # The transcript is written from the event stream: wait until the reply is in it.
        agent.next_event(lambda e: e["type"] == "transcript" and e["line"]["text"] == "Checking your line <now>")
        assert agent.post(f"/agent/api/handoffs/{hid}/notes", {"text": "line test failed at 10:02"}).status_code == 201
        before = agent.get(f"/agent/api/handoffs/{hid}").json()
        r = agent.post(f"/agent/api/handoffs/{hid}/transfer", {"agent": "supervisor", "note": "needs a technician"})
        assert r.status_code == 200, r.text
        # The customer is told politely, in their language; the bot stays quiet.
        told = customer.next_message()
        assert told["text"].startswith(TRANSFERRED[language]), told
        # The next agent hears of it live and sees everything: transcript, context, notes.
        supervisor.next_event(lambda e: e["type"] == "handoff" and e["handoff"]["id"] == hid
                              and e["handoff"]["agent"] == "supervisor")
        after = supervisor.get(f"/agent/api/handoffs/{hid}").json()
        assert after["handoff"]["context"] == before["handoff"]["context"] and after["handoff"]["reason"] == handoff["reason"]
        texts = [line["text"] for line in after["transcript"]]
        for said in (pay, take, problem, "Checking your line <now>"):
            assert said in texts
        notes = supervisor.get(f"/agent/api/handoffs/{hid}/notes").json()["notes"]
        assert [(n["kind"], n["text"]) for n in notes] == [("note", "line test failed at 10:02"),
                                                          ("transfer", "needs a technician")]
        # The first agent has let go: they can neither read nor answer it now.
        assert agent.get(f"/agent/api/handoffs/{hid}").status_code == 404
        refused = agent.post(f"/agent/api/handoffs/{hid}/messages", {"text": "still me"})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_your_chat"
        # The conversation goes on with the new agent, both ways.
        ok = "OK" if language == "en" else "好的"
        customer.say(ok)
        supervisor.next_event(lambda e: e["type"] == "transcript" and e["line"]["conversation_id"] == customer.session_id
                              and e["line"]["actor"] == "customer" and e["line"]["text"] == ok)
        assert supervisor.post(f"/agent/api/handoffs/{hid}/messages", {"text": "Technician booked"}).status_code == 202
        assert customer.next_message()["text"] == "Technician booked"


@pytest.mark.parametrize("language", ["zh-Hans", "en"])
def test_a_transfer_to_a_team_queues_the_chat_and_the_customer_hears_why(stack, customer, agent, language):
    handoff = accepted_chat(customer, agent, language)
    r = agent.post(f"/agent/api/handoffs/{handoff['id']}/transfer", {"skill_group": "technical", "note": "router"})
    assert r.status_code == 200 and r.json()["handoff"]["status"] == "queued"
    assert TO_TEAM[language] in customer.next_message()["text"]
    # The demo agent serves every team: the chat is in their queue again, with the note.
    assert agent.handoff_for(customer.session_id)["skill_group"] == "technical"
    notes = agent.get(f"/agent/api/handoffs/{handoff['id']}/notes").json()["notes"]
    assert notes[-1]["kind"] == "transfer" and notes[-1]["to_skill_group"] == "technical"
    assert agent.post(f"/agent/api/handoffs/{handoff['id']}/close").status_code == 200


def test_messages_sent_in_the_instant_of_a_transfer_arrive_once_and_in_order(stack, customer, agent):
    with supervisor_at_the_desk(stack) as supervisor:
        hid = accepted_chat(customer, agent, "zh-Hans")["id"]
        burst = [f"第{n}条：路由器灯一直闪" for n in range(1, 7)]
        start = threading.Barrier(2)
        result = {}

        def transfer():
            start.wait()
            result["status"] = agent.post(f"/agent/api/handoffs/{hid}/transfer",
                                          {"agent": "supervisor", "note": "burst"}).status_code

        mover = threading.Thread(target=transfer)
        mover.start()
        start.wait()
        for text in burst:
            customer.say(text)
        mover.join(WAIT)
        assert result["status"] == 200
        # A supervisor's console hears every line of every chat: wait for the whole burst there.
        seen = []
        while len(seen) < len(burst):
            line = supervisor.transcript_event(customer.session_id)
            if line["actor"] == "customer" and line["text"] in burst:
                seen.append(line["text"])
        assert seen == burst
        transcript = supervisor.get(f"/agent/api/handoffs/{hid}").json()["transcript"]
        customer_lines = [line["text"] for line in transcript if line["text"] in burst]
        assert customer_lines == burst  # each once, in the order sent
        # The customer got the transfer notice and no bot answer to the burst (still with a person).
        assert customer.next_message()["text"].startswith(TRANSFERRED["zh-Hans"])
        assert supervisor.post(f"/agent/api/handoffs/{hid}/messages", {"text": "收到，我来看"}).status_code == 202
        assert customer.next_message()["text"] == "收到，我来看"


@pytest.mark.parametrize("language, supervisor_took, agent_took", [
    ("zh-Hant", "您好，Demo Supervisor 現在接手為您服務", "您好，Demo Agent 現在接手為您服務"),
    ("en", "Hello, Demo Supervisor is now looking after your chat", "Hello, Demo Agent is now looking after your chat"),
])
def test_a_supervisor_takes_over_whispers_and_reassigns(stack, customer, agent, language, supervisor_took, agent_took):
    assert agent.post("/agent/api/me/status", {"status": "away"}).status_code == 200  # reassignable, routed nothing
    try:
        with supervisor_at_the_desk(stack) as supervisor:
            hid = accepted_chat(customer, agent, language)["id"]
            # A whisper reaches the chat's agent live, and never the customer.
            assert supervisor.post(f"/agent/api/handoffs/{hid}/whisper", {"text": "offer the waiver"}).status_code == 201
            whisper = agent.next_event(lambda e: e["type"] == "note" and e["note"]["handoff_id"] == hid)["note"]
            assert (whisper["kind"], whisper["text"], whisper["to_agent"]) == ("whisper", "offer the waiver", "agent")
            # Takeover: the customer is told who looks after them now; the agent's chat is gone.
            assert supervisor.post(f"/agent/api/handoffs/{hid}/takeover").status_code == 200
            assert customer.next_message()["text"].startswith(supervisor_took)
            agent.next_event(lambda e: e["type"] == "handoff" and e["handoff"]["id"] == hid
                             and e["handoff"]["agent"] == "supervisor")
            assert agent.get(f"/agent/api/handoffs/{hid}").status_code == 404
            # The agent cannot take it back; the supervisor gives it back (reassign).
            assert agent.post(f"/agent/api/handoffs/{hid}/takeover").status_code == 403
            assert supervisor.post(f"/agent/api/handoffs/{hid}/reassign", {"agent": "agent"}).status_code == 200
            assert customer.next_message()["text"].startswith(agent_took)
            assert agent.post(f"/agent/api/handoffs/{hid}/messages", {"text": "back with you"}).status_code == 202
            assert customer.next_message()["text"] == "back with you"
            holders = supervisor.get(f"/agent/api/handoffs/{hid}/notes").json()["assignments"]
            assert [(h["agent"], h["ended_reason"]) for h in holders] == [
                ("agent", "taken_over"), ("supervisor", "reassigned"), ("agent", None)]
            assert agent.post(f"/agent/api/handoffs/{hid}/close").status_code == 200
    finally:
        agent.post("/agent/api/me/status", {"status": "offline"})
