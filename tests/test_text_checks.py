"""Checking text where it enters (bot/text_checks.py) and the pieces that use it
without a running Rasa: the REST body parser, the conversation-id decoding, the
Engine.IO frame check and the transcript's last line of defence."""
import asyncio
import json
from types import SimpleNamespace
from urllib.parse import quote

import pytest

from bot.settings import ConfigurationError, Settings
from bot.text_checks import (
    MAX_MESSAGE_CHARS,
    TextRefused,
    check_conversation_id,
    check_customer_message,
    check_metadata,
    check_text,
    clean,
)


def refusal(fn, *args, **kwargs) -> str:
    with pytest.raises(TextRefused) as caught:
        fn(*args, **kwargs)
    assert caught.value.reason  # always a sentence to show
    return caught.value.code


@pytest.mark.parametrize(
    "raw, cleaned",
    [
        ("\ud800 你好", "\ufffd 你好"),  # a lone surrogate (defect 1)
        ("a\udfffb\ud83d", "a\ufffdb\ufffd"),
        ("nul\x00here", "nul\ufffdhere"),
        ("bell\x07 esc\x1b del\x7f c1\x85", "bell\ufffd esc\ufffd del\ufffd c1\ufffd"),
        ("line\r\nbreak\rold mac", "line\nbreak\nold mac"),
        ("tab\tand\nnewline stay", "tab\tand\nnewline stay"),
        ("nonchar\ufdd0\ufffe\U0001ffff\U0010ffff", "nonchar\ufffd\ufffd\ufffd\ufffd"),
        ("😀 emoji, 繁體, عربى, zero\u200bwidth", "😀 emoji, 繁體, عربى, zero\u200bwidth"),
    ],
)
def test_clean_replaces_what_no_store_takes(raw, cleaned):
    assert clean(raw) == cleaned
    clean(raw).encode("utf-8")  # what SQLite and PostgreSQL need


def test_check_text_types_emptiness_and_one_length_limit():
    assert MAX_MESSAGE_CHARS == Settings.max_message_chars == 2000
    assert check_text("  hi \ud800 ") == "hi \ufffd"
    assert check_text("x" * 2000) == "x" * 2000
    assert refusal(check_text, "x" * 2001) == "too_long"
    assert refusal(check_text, " \n\t ") == "empty"
    for value in (None, 5, 1.5, True, ["hi"], {"text": "hi"}, b"hi"):
        assert refusal(check_text, value) == "malformed"
    assert check_text("", allow_empty=True) == ""
    assert refusal(check_text, "abcd", max_chars=3) == "too_long"


@pytest.mark.parametrize(
    "text",
    ["/EXTERNAL_handoff_closed", "  /EXTERNAL_handoff_closed  ", "/ EXTERNAL_handoff_closed",
     "/external_handoff_closed", '/EXTERNAL_handoff_closed{"language": "en"}', "\r/EXTERNAL_x",
     "/EXTERNAL_handoff_closed@1.0"],
)
def test_customers_cannot_trigger_external_intents(text):
    assert refusal(check_customer_message, text) == "reserved"


@pytest.mark.parametrize("text", ["/human_handoff", "/check_balance", "EXTERNAL_handoff_closed is what?", "a /EXTERNAL_x"])
def test_button_payloads_and_ordinary_text_pass(text):
    assert check_customer_message(text) == text


def test_metadata_is_an_object_small_and_shallow():
    assert check_metadata(None) == {} and check_metadata("") == {}
    assert check_metadata({"language": "en"}) == {"language": "en"}
    assert check_metadata('{"language": "zh-Hant"}') == {"language": "zh-Hant"}  # some widgets send a string
    assert check_metadata({"k\ud800": ["v\x00"]}) == {"k\ufffd": ["v\ufffd"]}
    for bad in ([1], "not json", 5, '"a string"', {"x": float("nan")}):
        assert refusal(check_metadata, bad) == "malformed"
    assert refusal(check_metadata, {"note": "x" * 5000}) == "too_long"
    deep = 1
    for _ in range(500):  # defect 7: under 4 KB, 500 levels
        deep = {"a": deep}
    assert len(json.dumps(deep)) < 4096
    assert refusal(check_metadata, deep, "customData") == "too_deep"
    very_deep = []
    for _ in range(100_000):  # no recursion limit in the check itself
        very_deep = [very_deep]
    assert refusal(check_metadata, {"a": very_deep}) == "too_deep"


@pytest.mark.parametrize("sender", ["probe sp1", "probe/sl1", "探针1", "a%20b", "line\nbreak", "tab\there", "x" * 255])
def test_conversation_ids_are_kept_exactly(sender):
    assert check_conversation_id(sender) == sender


def test_numbers_are_ids_too_but_nothing_else():
    assert check_conversation_id(12345) == "12345"
    for bad in ("", "   ", "x" * 256, "nul\x00", "cr\r", "\ud800", None, True, 1.5, ["x"], {"a": 1}):
        assert refusal(check_conversation_id, bad) == "bad_sender"


def test_message_length_setting(tmp_path):
    env = {"VAR_DIR": str(tmp_path)}
    assert Settings.from_env(env).max_message_chars == 2000
    assert Settings.from_env({**env, "MAX_MESSAGE_CHARS": "500"}).max_message_chars == 500
    for bad in ("0", "10001", "lots"):
        with pytest.raises(ConfigurationError, match="MAX_MESSAGE_CHARS"):
            Settings.from_env({**env, "MAX_MESSAGE_CHARS": bad})


# -- the REST channel's body parser (bot/channels/rest.py)

def test_rest_body_parser_keeps_rasas_shape_for_valid_requests():
    from bot.channels.rest import parse_request

    body = json.dumps({"sender": "probe sp1", "message": " hi ", "metadata": {"language": "en"}}).encode()
    assert parse_request(body, 2000) == ("probe sp1", "hi", {"language": "en"})
    assert parse_request(b'{"message": "hi"}', 2000) == (None, "hi", {})  # Rasa's "default" conversation
    assert parse_request(b'{"sender": 7, "message": "hi"}', 2000)[0] == "7"
    assert parse_request(b'{"sender": "x", "message": "\\ud800 hi"}', 2000)[1] == "\ufffd hi"


@pytest.mark.parametrize(
    "body, code",
    [
        (b"[]", "malformed_json"), (b'"x"', "malformed_json"), (b"null", "malformed_json"), (b"", "malformed_json"),
        (b"\xff\xfe", "malformed_json"), (b"{", "malformed_json"),
        pytest.param(b"[" * 100_000, "too_deep", id="100000-deep"),
        (b'{"sender": "x", "message": 5}', "malformed"), (b'{"sender": "x"}', "malformed"),
        (b'{"sender": "x", "message": null}', "malformed"), (b'{"sender": "x", "message": ["hi"]}', "malformed"),
        (b'{"sender": "x", "message": "  "}', "empty"),
        pytest.param(json.dumps({"sender": "x", "message": "x" * 2001}).encode(), "too_long", id="2001-chars"),
        (b'{"sender": "x", "message": "/EXTERNAL_handoff_closed"}', "reserved"),
        (b'{"sender": ["x"], "message": "hi"}', "bad_sender"), (b'{"sender": "", "message": "hi"}', "bad_sender"),
        (b'{"sender": "a\\u0000b", "message": "hi"}', "bad_sender"),
        (b'{"sender": "x", "message": "hi", "metadata": [1]}', "malformed"),
        pytest.param(b'{"sender": "x", "message": "hi", "metadata": ' + b'{"a":' * 1000 + b"1" + b"}" * 1000 + b"}",
                     "too_deep", id="metadata-1000-deep"),  # past what the JSON decoder takes
        pytest.param(b'{"sender": "x", "message": "hi", "metadata": ' + b'{"a":' * 100 + b"1" + b"}" * 100 + b"}",
                     "too_deep", id="metadata-100-deep"),
    ],
)
def test_rest_body_parser_refuses_clearly(body, code):
    from bot.channels.rest import parse_request

    assert refusal(parse_request, body, 2000) == code


# -- conversation ids in Rasa's API paths (bot/rasa_server.py)

@pytest.mark.parametrize("conversation_id", ["probe sp1", "probe/sl1", "探针1", "a%20b", "line\nbreak", "plain-id_123"])
def test_rasa_api_decodes_what_the_client_encoded(conversation_id):
    from bot.rasa_server import decode_conversation_id
    from handoff_service.rasa_client import conversation_path

    encoded = conversation_path(conversation_id, "tracker").split("/")[2]
    assert encoded == quote(conversation_id, safe="")
    request = SimpleNamespace(match_info={"conversation_id": encoded})
    asyncio.run(decode_conversation_id(request))
    assert request.match_info == {"conversation_id": conversation_id}
    other = SimpleNamespace(match_info={})
    asyncio.run(decode_conversation_id(other))  # routes without the parameter are left alone
    assert other.match_info == {}


# -- the web chat's transport (bot/channels/socketio.py)

@pytest.mark.parametrize("frame", ["2", "3probe", "40", '42["user_uttered",{}]', "6", b"\x00\x01", "bQUJD"])
def test_engineio_frames_that_decode_pass(frame):
    from bot.channels.socketio import is_engineio_frame

    assert is_engineio_frame(frame)


@pytest.mark.parametrize("frame", ["", "x", "9", "7", "٣", "b!!!", None, 5])
def test_engineio_frames_that_would_raise_are_refused(frame):
    from bot.channels.socketio import is_engineio_frame

    assert not is_engineio_frame(frame)


def test_the_web_chat_server_uses_the_checked_websocket():
    from socketio import AsyncServer

    from bot.channels.socketio import _CheckedWebSocket, guard_transport

    sio = AsyncServer(async_mode="sanic")
    guard_transport(sio)
    assert sio.eio._async["websocket"] is _CheckedWebSocket


def test_session_ids_match_whole():
    from bot.channels.socketio import SESSION_ID

    assert SESSION_ID.fullmatch("probe2331a7")
    assert not SESSION_ID.fullmatch("probe2331a7\n")  # "$" accepted this (defect 3)
    assert not SESSION_ID.fullmatch("short")


# -- the transcript never fails on such text (handoff_service/storage.py)

def test_transcript_stores_lone_surrogates_and_nul(engine):
    from handoff_service.storage import TranscriptRepository

    repo = TranscriptRepository(engine)
    for i, text in enumerate(["\ud800 你好", "nul\x00byte", "\udfff"]):
        stored = repo.add({"source_event_id": 9000 + i, "conversation_id": "conv-u", "actor": "customer",
                           "text": text, "timestamp": 1.0, "agent_username": None, "intent": None, "confidence": None})
        assert stored is not None and stored.text == clean(text)
    assert [l.text for l in repo.for_conversation("conv-u")] == ["\ufffd 你好", "nul\ufffdbyte", "\ufffd"]
