"""Typing indicators over the real processes, at the protocol level: our page (an extended
socket) gets the agent's typing and may send its own; a widget that knows only Rasa's
protocol, on the same conversation, gets nothing new and its "typing" goes nowhere."""
import queue
import time

import pytest

from tests.integration.stack import WAIT, Customer

pytestmark = pytest.mark.integration


def test_typing_reaches_only_sockets_that_opted_in(stack, agent):
    page = Customer(stack.settings.rasa_url)
    plain = Customer(stack.settings.rasa_url, session_id=page.session_id, extended=False)
    seen = {"page": queue.Queue(), "plain": queue.Queue()}
    page.sio.on("typing", seen["page"].put)
    plain.sio.on("typing", seen["plain"].put)
    try:
        page.ask_all("转人工", until=["正在为您转接"])
        handoff = agent.handoff_for(page.session_id)
        assert agent.post(f"/agent/api/handoffs/{handoff['id']}/accept").status_code == 200

        # The agent types: our page is told, with the agent's name.
        r = agent.post(f"/agent/api/handoffs/{handoff['id']}/typing", {"typing": True})
        assert r.status_code == 200 and r.json()["sent"] is True
        assert seen["page"].get(timeout=WAIT) == {"sender": "agent", "typing": True, "agent_name": "Demo Agent"}
        # A socket's events arrive in order: the plain widget gets the reply sent after the
        # indicator, and no indicator before it.
        assert agent.post(f"/agent/api/handoffs/{handoff['id']}/messages", {"text": "您好"}).status_code == 202
        plain.until(lambda text: "您好" in text)
        assert seen["plain"].empty()

        # The plain widget's "typing" goes nowhere; the line it sends next does reach the console.
        plain.sio.emit("typing", {"session_id": page.session_id, "typing": True})
        plain.say("还在吗")
        deadline = time.monotonic() + WAIT
        while True:
            event = agent.events.get(timeout=max(0.1, deadline - time.monotonic()))
            if event.get("conversation_id") == page.session_id:
                pytest.fail(f"a plain widget's typing reached the console: {event}")
            if event["type"] == "transcript" and event["line"]["text"] == "还在吗":
                break
        # Our page's typing does.
        page.sio.emit("typing", {"session_id": page.session_id, "typing": True})
        typing = agent.next_event(lambda e: e["type"] == "typing" and e["conversation_id"] == page.session_id)
        assert typing["actor"] == "customer" and typing["typing"] is True and typing["handoff_id"] == handoff["id"]
        assert agent.post(f"/agent/api/handoffs/{handoff['id']}/close").status_code == 200
    finally:
        page.close()
        plain.close()
