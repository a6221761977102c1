"""A customer's message sent in the same instant as the escalation, the agent's accept or
the agent's close (issue #7): neither lost, duplicated nor reordered, on the customer's
page, on the console and in the transcript.

"The same instant": the customer's two messages go back to back on one socket; the
customer's message and the agent's request are released together by a barrier (no
sleep), and which one Rasa takes first is up to the machine, so those tests state what
must hold either way, reading the tracker to know which way it went.
"""

import pytest

from tests.integration.probes import at_once, tracker_events
from tests.integration.test_desk import QUEUED, online, queued_handoff

pytestmark = pytest.mark.integration


def console_lines(desk, conversation_id, handoff_id, until) -> list:
    """What the console shows of a conversation once a line starting with ``until`` was
    relayed: the lines pushed live up to it, merged by id with the transcript fetched
    (console.js)."""
    live = []
    while not live or not live[-1]["text"].startswith(until):
        live.append(desk.transcript_event(conversation_id))
    fetched = desk.get(f"/agent/api/handoffs/{handoff_id}").json()["transcript"]
    live_ids = [l["id"] for l in live]
    assert len(live_ids) == len(set(live_ids)), f"a line pushed twice: {live}"
    merged = {l["id"]: l for l in [*fetched, *live]}
    return [(merged[i]["actor"], merged[i]["text"]) for i in sorted(merged)]


def user_and_agent_turns(stack, conversation_id) -> list:
    """The tracker's customer lines and pause/resume events, in order."""
    out = []
    for e in tracker_events(stack, conversation_id):
        if e["event"] == "user" and not e["text"].startswith("EXTERNAL"):
            out.append(("customer", e["text"]))
        elif e["event"] in ("pause", "resume"):
            out.append((e["event"], None))
    return out


@pytest.mark.parametrize("ask, follow_up, joined", [
    ("转人工", "我的宽带断了三天了", "人工客服 Demo Supervisor 已接入"),
    ("轉人工", "我的寬頻斷了三天了", "人工客服 Demo Supervisor 已接入"),
    ("talk to a human", "my broadband has been down for three days", "Demo Supervisor from our support team has joined"),
])
def test_a_message_in_the_same_instant_as_the_escalation(stack, ask, follow_up, joined):
    customer = stack.customer()
    try:
        with online(stack) as desk:  # a free agent: the chat is given at once, greeting and all
            # Back to back on one socket, as a customer types on (one socket keeps its order;
            # the second reaches Rasa while it is still handling the first).
            customer.say(ask)
            customer.say(follow_up)
            # The customer's page: the queue notice, then the agent; the bot (paused)
            # does not answer the second message, nobody answers twice.
            assert customer.next_message()["text"].startswith(QUEUED)
            assert customer.next_message()["text"].startswith(joined)
            handoff = desk.handoff_for(customer.session_id)
            assert desk.post(f"/agent/api/handoffs/{handoff['id']}/messages",
                             {"text": "您好，我来看看", "client_message_id": "race-escalation-1"}).status_code == 202
            assert customer.next_message()["text"] == "您好，我来看看"
            # Both customer lines, once each, in the order sent, with the bot's and the agent's.
            shown = console_lines(desk, customer.session_id, handoff["id"], "您好，我来看看")
            customer_lines = [text for actor, text in shown if actor == "customer"]
            assert customer_lines[-2:] == [ask, follow_up] and customer_lines.count(follow_up) == 1
            assert [actor for actor, _ in shown].count("agent") == 2  # greeting and reply
            assert shown[-1] == ("agent", "您好，我来看看")
            # The tracker agrees: the follow-up was logged after the pause, for the agent.
            assert user_and_agent_turns(stack, customer.session_id)[-3:] == [
                ("customer", ask), ("pause", None), ("customer", follow_up)]
    finally:
        customer.close()


def test_a_message_in_the_same_instant_as_the_accept(stack, customer, agent):
    assert customer.ask("转人工")["text"].startswith(QUEUED)  # nobody online: it waits
    handoff = queued_handoff(agent, customer)
    accepted, _ = at_once(lambda: agent.post(f"/agent/api/handoffs/{handoff['id']}/accept"),
                          lambda: customer.say("还有人在吗"))
    assert accepted.status_code == 200
    try:
        assert customer.next_message()["text"].startswith("人工客服 Demo Agent 已接入")
        assert agent.post(f"/agent/api/handoffs/{handoff['id']}/messages",
                          {"text": "在的，请讲", "client_message_id": "race-accept-1"}).status_code == 202
        assert customer.next_message()["text"] == "在的，请讲"  # nothing in between: no second greeting
        shown = console_lines(agent, customer.session_id, handoff["id"], "在的，请讲")
        assert [text for actor, text in shown if actor == "customer"][-2:] == ["转人工", "还有人在吗"]
        assert [text for actor, text in shown if actor == "agent"] == ["人工客服 Demo Agent 已接入，请问有什么可以帮您？",
                                                                      "在的，请讲"]
    finally:
        agent.post(f"/agent/api/handoffs/{handoff['id']}/close")


@pytest.mark.parametrize("ask, question, answer, closed, thanks", [
    ("转人工", "怎么交话费", "您可以通过微信", "人工客服已结束对话", "感谢您的评分"),
    ("talk to a human", "How can I pay my bill?", "You can pay by WeChat Pay", "The agent has ended the chat",
     "Thank you for your rating"),
])
def test_a_message_in_the_same_instant_as_the_close(stack, customer, agent, ask, question, answer, closed, thanks):
    customer.ask(ask)
    handoff = queued_handoff(agent, customer)
    assert agent.post(f"/agent/api/handoffs/{handoff['id']}/accept").status_code == 200
    customer.next_message()  # the agent joined
    closing, _ = at_once(lambda: agent.post(f"/agent/api/handoffs/{handoff['id']}/close"),
                         lambda: customer.say(question))
    assert closing.status_code == 200
    # Which came first in Rasa: the customer's question while the agent still had the chat
    # (it is the agent's, shown on the console; the bot stays quiet), or after the bot
    # resumed (the bot answers it).
    # (Rasa has logged the question once the console is sent its line.)
    agent.next_event(lambda e: e["type"] == "transcript" and e["line"]["conversation_id"] == customer.session_id
                     and e["line"]["text"] == question)
    turns = user_and_agent_turns(stack, customer.session_id)
    after_resume = turns.index(("customer", question)) > turns.index(("resume", None))
    assert turns.count(("customer", question)) == 1
    # The customer's page: the closing notice once, and the bot's answer iff it was the bot's turn.
    seen = []
    while not (any(t.startswith(closed) for t in seen) and (not after_resume or any(t.startswith(answer) for t in seen))):
        seen.append(customer.next_message()["text"])
    assert customer.ask('/rate{"rating": "5"}')["text"].startswith(thanks)  # nothing else came before it
    assert sum(t.startswith(closed) for t in seen) == 1
    assert sum(t.startswith(answer) for t in seen) == (1 if after_resume else 0)
    # The console saw the question once, in its place, and the bot take over after it.
    shown = console_lines(agent, customer.session_id, handoff["id"], thanks)
    said = [text for actor, text in shown if actor == "customer"]
    assert said[-3:] == [ask, question, '/rate{"rating": "5"}'] and said.count(question) == 1, said
    bot_after_question = [text for actor, text in shown[[t for _, t in shown].index(question):] if actor == "bot"]
    assert sum(t.startswith(closed) for t in bot_after_question) <= 1
