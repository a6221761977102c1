"""A widget that knows only Rasa 3.6's socket.io protocol (as third-party Rasa widgets
do) holds a whole conversation, handoff included, and every event it receives has
exactly Rasa's shape; our own page's extras never reach it."""
import queue

import pytest
import socketio

from tests.integration.stack import WAIT, Customer

pytestmark = pytest.mark.integration

# Rasa's SocketIOOutput: {"text"}, {"text", "quick_replies": [{content_type, title, payload}]},
# {"attachment": {...}}; session_confirm carries the bare session id.
RASA_QUICK_REPLY = {"content_type", "title", "payload"}


def assert_rasa_shape(event, data):
    assert event in ("session_confirm", "bot_uttered"), f"not an event of Rasa's protocol: {event} {data}"
    if event == "session_confirm":
        assert isinstance(data, str)
        return
    assert isinstance(data, dict) and set(data) in ({"text"}, {"text", "quick_replies"}, {"attachment"}), data
    assert isinstance(data.get("text", ""), str)
    for reply in data.get("quick_replies", []):
        assert set(reply) == RASA_QUICK_REPLY and reply["content_type"] == "text", reply


WAIT_UPDATE_STARTS = ("您现在排在第", "您現在排在第", "You are now number")


class RasaWidget:
    """Listens to every event (a catch-all handler) and speaks only Rasa's protocol."""

    def __init__(self, rasa_url: str):
        self.received: "queue.Queue" = queue.Queue()
        self.log = []
        self.sio = socketio.Client(reconnection=False)

        def on_any(event, *args):
            data = args[0] if args else None
            self.log.append((event, data))
            self.received.put((event, data))

        self.sio.on("*", on_any)
        self.sio.connect(rasa_url, transports=["websocket"])
        self.sio.emit("session_request", {"session_id": None})
        event, self.session_id = self.received.get(timeout=WAIT)
        assert event == "session_confirm"

    def say(self, text):
        self.sio.emit("user_uttered", {"message": text, "session_id": self.session_id, "customData": {"language": "zh-Hans"}})

    def next_message(self):
        while True:
            event, data = self.received.get(timeout=WAIT)
            assert event == "bot_uttered", (event, data)
            # The desk's queue-position updates arrive whenever other tests' chats move the
            # queue (a plain widget sees only their text): not the replies asserted here.
            if not str(data.get("text", "")).startswith(WAIT_UPDATE_STARTS):
                return data

    def ask(self, text):
        self.say(text)
        return self.next_message()

    def close(self):
        self.sio.disconnect()


def test_a_rasa_only_widget_gets_exactly_rasas_events_through_a_handoff(stack, agent):
    widget = RasaWidget(stack.settings.rasa_url)
    try:
        greeting = widget.ask("你好")
        assert greeting["text"].startswith("您好！我是智能客服") and len(greeting["quick_replies"]) == 3
        queued = widget.ask("转人工")
        assert queued["text"].startswith("正在为您转接人工客服") and "直接发到这个对话" not in queued["text"]  # web wording
        handoff = agent.next_event(lambda e: e["type"] == "handoff"
                                   and e["handoff"]["conversation_id"] == widget.session_id)["handoff"]
        assert agent.post(f"/agent/api/handoffs/{handoff['id']}/accept").status_code == 200
        assert widget.next_message() == {"text": "人工客服 Demo Agent 已接入，请问有什么可以帮您？"}
        assert agent.post(f"/agent/api/handoffs/{handoff['id']}/messages", {"text": "您好，我来看看"}).status_code == 202
        # The agent's words as plain text, with the agent's name.
        assert widget.next_message() == {"text": "Demo Agent: 您好，我来看看"}
        assert agent.post(f"/agent/api/handoffs/{handoff['id']}/close").status_code == 200
        assert widget.next_message()["text"].startswith("人工客服已结束对话")
        assert widget.ask("怎么交话费")["text"].startswith("您可以通过微信")
    finally:
        widget.close()
    for event, data in widget.log:
        assert_rasa_shape(event, data)


def test_our_page_and_a_rasa_widget_on_one_conversation_each_get_their_own_shape(stack):
    page = stack.customer()  # extended, as our chat page
    try:
        # A Rasa widget opening the same session (e.g. a site that embeds both) sees it in Rasa's shape.
        same = socketio.Client(reconnection=False)
        seen: "queue.Queue" = queue.Queue()
        same.on("*", lambda event, *args: seen.put((event, args[0] if args else None)))
        same.connect(stack.settings.rasa_url, transports=["websocket"])
        same.emit("session_request", {"session_id": page.session_id})
        assert seen.get(timeout=WAIT) == ("session_confirm", page.session_id)
        reply = page.ask("hello")
        assert isinstance(reply["seq"], int) and reply["text"].startswith("Hello!")
        event, data = seen.get(timeout=WAIT)
        assert_rasa_shape(event, data)
        assert data["text"] == reply["text"] and "seq" not in data
        same.disconnect()
    finally:
        page.close()


def test_history_and_acknowledgements_are_only_for_those_who_ask(stack):
    page = stack.customer()
    page.ask("hello")
    page.close()
    # A Rasa widget that sends last_seq without opting in gets no history event.
    plain = Customer(stack.settings.rasa_url, session_id=page.session_id, last_seq=0, extended=False)
    try:
        # A socket's events arrive in order: a history event would have come before this reply.
        # (A question: a second quick "hello" would rightly get no reply of its own, bot.policies.)
        assert plain.ask("How can I pay my bill?")["text"].startswith("You can pay")
        assert plain.history.empty()
    finally:
        plain.close()
    back = Customer(stack.settings.rasa_url, session_id=page.session_id, last_seq=0)
    try:
        assert [m["text"] for m in back.missed()][0] == "hello"
    finally:
        back.close()
