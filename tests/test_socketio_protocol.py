"""Our socket.io output channel against Rasa 3.6's own, message for message: a socket
that did not opt in gets exactly what Rasa's channel would send; our page (the
extended room) gets the same with its extras."""
import asyncio
import copy

import pytest
from rasa.core.channels.socketio import SocketIOOutput as RasaSocketIOOutput

from bot.channels.history import ConversationHistory
from bot.channels.socketio import SocketIOOutput, extended_room, rasa_shape

SESSION = "session-1234"

BUTTONS = [{"title": "营业时间", "payload": "/ask_hours"}, {"title": "转人工", "payload": "/human_handoff"}]

# Messages as Rasa hands them to an output channel (BotUttered.message(): data and metadata merged).
MESSAGES = {
    "text": {"text": "您好！我是智能客服。", "utter_action": "utter_greet"},
    "paragraphs": {"text": "First part.\n\nSecond part."},
    "buttons": {"text": "Anything else?", "buttons": BUTTONS},
    "quick replies": {"text": "Pick one", "quick_replies": [{"title": "A", "payload": "/a"}]},
    "image": {"text": None, "image": "https://example.com/a.png"},
    "attachment": {"text": None, "attachment": {"type": "video", "payload": {"src": "https://example.com/v.mp4"}}},
    "elements": {"text": None, "elements": [{"title": "Plan", "subtitle": "99"}]},
    "custom": {"text": None, "custom": {"data": {"kind": "card", "title": "Plan"}}},
    "queued for a person": {"text": "正在为您转接人工客服，您目前排在第 1 位。", "handoff": "queued"},
    "agent joined": {"text": "人工客服 Demo Agent 已接入", "sender": "agent", "agent_name": "Demo Agent",
                     "agent_username": "agent", "notice": "agent_joined"},
    "agent reply": {"text": "您好，我来看看", "sender": "agent", "agent_name": "Demo Agent", "agent_username": "agent"},
}


class RecordingServer:
    """Stands in for python-socketio's AsyncServer: what would be emitted, to which room."""

    def __init__(self):
        self.emitted = []

    async def emit(self, event, data=None, room=None, **kwargs):
        self.emitted.append((room, event, copy.deepcopy(data), {k: v for k, v in kwargs.items() if k != "room"}))


def _send(output, message):
    asyncio.run(output.send_response(SESSION, copy.deepcopy(message)))


@pytest.mark.parametrize("kind", sorted(MESSAGES))
def test_a_plain_socket_gets_exactly_what_rasas_channel_sends(kind):
    theirs, ours = RecordingServer(), RecordingServer()
    _send(RasaSocketIOOutput(theirs, "bot_uttered"), MESSAGES[kind])
    _send(SocketIOOutput(ours, "bot_uttered", ConversationHistory()), MESSAGES[kind])
    plain = [e for e in ours.emitted if e[0] == SESSION]
    if kind == "agent reply":  # an agent's words: Rasa's shape, led by the agent's name
        assert plain == [(SESSION, "bot_uttered", {"text": "Demo Agent: 您好，我来看看"}, {})]
        assert theirs.emitted == [(SESSION, "bot_uttered", {"text": "您好，我来看看"}, {})]
    else:
        assert plain == theirs.emitted


def test_our_page_gets_numbered_messages_with_who_wrote_them():
    server = RecordingServer()
    output = SocketIOOutput(server, "bot_uttered", ConversationHistory())
    for kind in ("text", "buttons", "agent reply"):
        _send(output, MESSAGES[kind])
    extended = [data for room, _, data, _ in server.emitted if room == extended_room(SESSION)]
    assert extended == [
        {"text": "您好！我是智能客服。", "seq": 1},
        {"text": "Anything else?", "quick_replies": [
            {"content_type": "text", "title": "营业时间", "payload": "/ask_hours"},
            {"content_type": "text", "title": "转人工", "payload": "/human_handoff"}], "seq": 2},
        {"text": "您好，我来看看", "sender": "agent", "agent_name": "Demo Agent", "seq": 3},
    ]


def test_the_extended_room_never_names_a_real_session():
    # Session ids are [A-Za-z0-9_-]{8,64}: no id is another's extended room.
    from bot.channels.socketio import SESSION_ID

    assert not SESSION_ID.fullmatch(extended_room(SESSION))


def test_rasa_shape_keeps_a_notice_as_written():
    assert rasa_shape({"text": "Alice joined", "sender": "agent", "agent_name": "Alice", "notice": "agent_joined",
                       "seq": 4}) == {"text": "Alice joined"}
