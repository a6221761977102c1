"""kill -9 of the web service in the middle of handed-off conversations (issue #7).

One customer is with an agent, two more wait in the queue. The web service is killed
(SIGKILL: no shutdown handler runs) while an agent's reply is on its way to Rasa, the
customers go on writing while it is down, and it is started again. Then: the queue and
the assignments are as they were, the transcript holds every line once and in order,
the lines written while it was down reach the console, the relay goes on live, and the
reply that was in flight reaches the customer exactly once however often the agent's
console sends it again. The stack is shared: the web service is running again (same
command, same databases) when the test ends, whatever happens.
"""
import signal
import threading
import time

import pytest
import requests
import sqlalchemy as sa

from bot.database import create_engine
from handoff_service.desk.routing import RoutingRepository
from handoff_service.desk.storage import agent_replies
from tests.integration.probes import tracker_events
from tests.integration.stack import WAIT
from tests.integration.test_desk import QUEUED, online

pytestmark = pytest.mark.integration


def customer_texts(stack, conversation_id):
    return [e["text"] for e in tracker_events(stack, conversation_id) if e["event"] == "user"]


def wait_until(condition, what, timeout=WAIT):
    """Poll ``condition`` (a state in another process no event announces) until it holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.1)


def reply_claimed(stack, client_message_id) -> bool:
    """Whether the web service has claimed (started sending) this reply."""
    engine = create_engine(stack.settings.database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(agent_replies.c.status)
                                .where(agent_replies.c.client_message_id == client_message_id)).first() is not None
    finally:
        engine.dispose()


def relayed(desk, customer, text):
    """The console receives this customer line live (earlier lines may come first)."""
    return desk.next_event(lambda e: e["type"] == "transcript" and e["line"]["conversation_id"] == customer.session_id
                           and e["line"]["text"] == text)


def assignments(stack, handoff_id):
    """The handoff's rows in handoff_assignments (no console API lists them)."""
    engine = create_engine(stack.settings.database_url)
    try:
        return RoutingRepository(engine).assignments(handoff_id)
    finally:
        engine.dispose()


def console_view(desk, handoff_id):
    """What the console shows after a (re)connect: the transcript fetched, then merged with
    the live lines by id (console.js appendLine)."""
    return desk.get(f"/agent/api/handoffs/{handoff_id}").json()


def test_kill_9_of_the_web_service_mid_conversation(stack):
    served, waiting, later = stack.customer(), stack.customer(), stack.customer()
    rasa = stack.processes["rasa"]
    try:
        with online(stack, capacity=1) as desk:
            assert served.ask("转人工")["text"].startswith(QUEUED)
            assert served.next_message()["text"].startswith("人工客服 Demo Supervisor 已接入")
            assert waiting.ask("talk to a human")["text"].startswith(QUEUED)
            assert later.ask("轉人工")["text"].startswith(QUEUED)
            ours = desk.handoff_for(served.session_id)
            before = {h["id"]: h for h in desk.get("/agent/api/handoffs").json()["handoffs"]}
            assert [before[desk.handoff_for(c.session_id)["id"]]["status"] for c in (served, waiting, later)] == [
                "active", "queued", "queued"]

            served.say("我的宽带断了")
            relayed(desk, served, "我的宽带断了")
            r = desk.post(f"/agent/api/handoffs/{ours['id']}/messages",
                          {"text": "请问您的宽带账号是？", "client_message_id": "restart-reply-1"})
            assert r.status_code == 202
            assert served.next_message()["text"] == "请问您的宽带账号是？"
            lines_before = console_view(desk, ours["id"])["transcript"]

            # The next reply is on its way when the service dies: Rasa is frozen so the
            # service has claimed the reply and is waiting on Rasa; then kill -9.
            in_flight = "restart-reply-2"
            rasa.send_signal(signal.SIGSTOP)
            try:
                sending = threading.Thread(target=lambda: _post_quietly(
                    desk, f"/agent/api/handoffs/{ours['id']}/messages",
                    {"text": "好的，我帮您查一下线路", "client_message_id": in_flight}), daemon=True)
                sending.start()
                wait_until(lambda: reply_claimed(stack, in_flight), "the reply claimed")
                stack.kill("web")
            finally:
                rasa.send_signal(signal.SIGCONT)
            sending.join(timeout=WAIT)
            try:
                # The customers go on writing while the service is down (Rasa logs it all).
                down_lines = ["宽带账号我忘了", "还在吗？", "宽带灯一直闪红色"]
                for text in down_lines:
                    served.say(text)
                waiting.say("How long will it take?")
                wait_until(lambda: customer_texts(stack, served.session_id)[-3:] == down_lines, "lines logged by Rasa")
                wait_until(lambda: customer_texts(stack, waiting.session_id)[-1:] == ["How long will it take?"],
                           "line logged by Rasa")
            finally:
                stack.start_again("web")

            desk.listen()  # the console reconnects, then fetches (console.js resync)
            after = {h["id"]: h for h in desk.get("/agent/api/handoffs").json()["handoffs"]}
            # Queue and assignments intact.
            assert {i: (h["status"], h["agent"], h["priority"], h["skill_group"]) for i, h in after.items()} == {
                i: (h["status"], h["agent"], h["priority"], h["skill_group"]) for i, h in before.items()}
            assert [(a["agent"], a["ended_at"]) for a in assignments(stack, ours["id"])] == [("supervisor", None)]

            # The transcript: what was there, then what was said while the service was
            # down, each once and in order (the relay resumed at its cursor). The
            # stream may still be catching up: wait for the last line.
            def customer_lines():
                return [l["text"] for l in console_view(desk, ours["id"])["transcript"] if l["actor"] == "customer"]
            wait_until(lambda: customer_lines()[-1:] == down_lines[-1:], "the stream caught up")
            view = console_view(desk, ours["id"])
            lines = view["transcript"]
            assert [(l["id"], l["text"]) for l in lines[:len(lines_before)]] == [
                (l["id"], l["text"]) for l in lines_before]
            assert [l["text"] for l in lines if l["actor"] == "customer"][-4:] == ["我的宽带断了", *down_lines]
            assert len({l["id"] for l in lines}) == len(lines) == len({l["event_id"] for l in lines})
            waiting_lines = [l["text"] for l in console_view(desk, desk.handoff_for(waiting.session_id)["id"])["transcript"]
                             if l["actor"] == "customer"]
            assert waiting_lines.count("How long will it take?") == 1

            # The relay is live again.
            served.say("现在能上网了吗")
            relayed(desk, served, "现在能上网了吗")

            # The reply that was in flight: the console sends it again until the service
            # stops saying it is still being sent; it reaches the customer once.
            deadline = time.monotonic() + 90  # a stalled claim is retried after 30 s
            tries = []
            while True:
                r = desk.post(f"/agent/api/handoffs/{ours['id']}/messages",
                              {"text": "好的，我帮您查一下线路", "client_message_id": in_flight})
                tries.append((r.status_code, r.text[:80]))
                if r.status_code != 409:
                    break
                assert time.monotonic() < deadline, r.text
                time.sleep(1)  # the console's retry pace; no event announces the claim's expiry
            assert r.status_code in (200, 202), r.text
            # And once more, as a console that missed the answer would.
            again = desk.post(f"/agent/api/handoffs/{ours['id']}/messages",
                              {"text": "好的，我帮您查一下线路", "client_message_id": in_flight})
            assert again.status_code == 200 and again.json()["duplicate"] is True
            assert desk.post(f"/agent/api/handoffs/{ours['id']}/messages",
                             {"text": "线路正常了", "client_message_id": "restart-reply-3"}).status_code == 202
            # What the customer saw after the first reply: the one in flight once, then the next.
            agent_events = [(e["text"], e.get("metadata"), e.get("timestamp")) for e in tracker_events(stack, served.session_id)
                            if e["event"] == "bot" and (e.get("metadata") or {}).get("sender") == "agent"]
            assert [served.next_message()["text"] for _ in range(2)] == ["好的，我帮您查一下线路", "线路正常了"], (
                tries[-3:], agent_events)
            tracker_replies = [e["text"] for e in tracker_events(stack, served.session_id)
                               if e["event"] == "bot" and (e.get("metadata") or {}).get("sender") == "agent"]
            assert tracker_replies.count("好的，我帮您查一下线路") == 1

            # What waited is still served, in its order: a seat frees, the next in line gets it.
            assert desk.post(f"/agent/api/handoffs/{ours['id']}/close").status_code == 200
            assert waiting.next_message()["text"].startswith("Demo Supervisor from our support team has joined")
    finally:
        if rasa.poll() is None:
            rasa.send_signal(signal.SIGCONT)
        if stack.processes["web"].poll() is not None:
            stack.start_again("web")
        for c in (served, waiting, later):
            c.close()


def _post_quietly(desk, path, body):
    """The console's request that the kill interrupts (its failure is expected)."""
    try:
        desk.post(path, body)
    except requests.RequestException:
        pass
