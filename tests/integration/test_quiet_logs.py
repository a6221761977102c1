"""Issue 11, quiet logs: a web chat client that drops its connection at any moment leaves
no traceback (nor any error) in Rasa's log, and the chat goes on for everyone else."""
import json
import socket
import time

import pytest

from tests.integration.probes import LogWatch, RawEngineIO, tracker_events, unique
from tests.integration.stack import WAIT

pytestmark = pytest.mark.integration

# Moments a phone loses its network or a tab is closed.
MOMENTS = ("before the namespace", "after the session", "right after a message", "after the first reply",
           "mid-burst")


def drop(raw: RawEngineIO) -> None:
    """Gone without a goodbye: no websocket close frame, the TCP connection just ends."""
    raw.ws.sock.shutdown(socket.SHUT_RDWR)
    raw.ws.sock.close()


def close_politely(raw: RawEngineIO) -> None:
    """A websocket close frame first, as a browser closing its tab or socket.io's disconnect() does."""
    raw.ws.close()


def say(raw: RawEngineIO, session_id: str, text: str) -> None:
    raw.send("42" + json.dumps(["user_uttered", {"message": text, "session_id": session_id}]))


def answered(stack, conversation_id: str) -> bool:
    """Whether Rasa has answered the conversation's first message (sent to a room nobody is in)."""
    kinds = [e["event"] for e in tracker_events(stack, conversation_id)]
    return "user" in kinds and "bot" in kinds[kinds.index("user"):]


def test_clients_dropping_their_connection_at_any_moment_leave_no_traceback(stack):
    watch = LogWatch(stack)
    dropped = []  # conversations whose message was accepted (message_received) before they went
    for moment, leave in [(m, how) for m in MOMENTS for how in (drop, close_politely)]:
        raw = RawEngineIO(stack)
        try:
            if moment == "before the namespace":
                continue
            raw.connect_namespace()
            session_id = unique("dropped-")
            raw.send("42" + json.dumps(["session_request", {"session_id": session_id, "extended": True}]))
            raw.next_event("session_confirm")
            if moment == "right after a message":
                say(raw, session_id, "查话费")  # a custom action answers it
                raw.next_event("message_received")  # accepted: it must be answered
                dropped.append(session_id)
            elif moment == "after the first reply":
                say(raw, session_id, "怎么交话费")
                raw.next_event("bot_uttered")
                dropped.append(session_id)
            elif moment == "mid-burst":
                for text in ("在吗", "怎么交话费", "How can I pay my bill?"):
                    say(raw, session_id, text)
                raw.next_event("message_received")
                # Lines still on their way when the connection ends may never be read.
                dropped.append(session_id)
        finally:
            leave(raw)
    # Rasa still finishes what the dropped customers asked (their replies go to empty rooms) ...
    deadline = time.monotonic() + 3 * WAIT  # the whole stack shares a busy machine
    while not all(answered(stack, c) for c in dropped):
        assert time.monotonic() < deadline, [[e["event"] for e in tracker_events(stack, c)] for c in dropped]
        time.sleep(0.2)  # polling the tracker for a condition with a deadline
    # ... and serves the next customer.
    customer = stack.customer()
    try:
        assert customer.ask("hello")["text"].startswith("Hello!")
    finally:
        customer.close()
    rasa_log = watch.new_text().get("rasa.log", "")
    assert "Traceback" not in rasa_log, rasa_log[-4000:]
    assert "ERROR" not in rasa_log and "write_eof" not in rasa_log, rasa_log[-4000:]
