"""Errors in the Rasa server's log are one line, name the conversation, and quote nothing the customer typed."""
from __future__ import annotations

import asyncio
import io
import logging

import pytest

from bot import quiet_errors


@pytest.fixture
def rasa_like_log():
    """A logger printing as Rasa's does, with the one-line record factory installed."""
    factory = logging.getLogRecordFactory()
    quiet_errors.install()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s - %(message)s"))
    logger = logging.getLogger("rasa.core.channels.channel.test")
    logger.addHandler(handler)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)
    logging.setLogRecordFactory(factory)


def test_an_error_while_handling_a_message_is_one_line_naming_the_conversation(rasa_like_log):
    logger, stream = rasa_like_log

    async def handle(conversation_id: str, text: str) -> None:
        quiet_errors.note_conversation(conversation_id)
        await asyncio.sleep(0)
        try:
            raise ValueError(f"could not parse {text}")
        except ValueError:
            # Rasa's own words (rasa/core/channels/channel.py), which quote the message.
            logger.exception(f"An exception occurred while handling user message '{text}'.")

    async def two_conversations() -> None:
        await asyncio.gather(asyncio.create_task(handle("conv-a1", "my PIN is 2468, phone 13800138000")),
                             asyncio.create_task(handle("conv-b2", "hello")))

    asyncio.run(two_conversations())
    lines = stream.getvalue().splitlines()
    assert sorted(lines) == [
        "ERROR rasa.core.channels.channel.test - ValueError in conversation conv-a1 (logged by rasa.core.channels.channel.test)",
        "ERROR rasa.core.channels.channel.test - ValueError in conversation conv-b2 (logged by rasa.core.channels.channel.test)",
    ]


def test_errors_outside_a_conversation_and_other_records_are_kept(rasa_like_log):
    logger, stream = rasa_like_log
    logger.warning("model loaded in %d s", 3)
    try:
        raise RuntimeError("Cannot call write() after write_eof()")
    except RuntimeError:
        asyncio.run(_log_in_fresh_context(logger))
    assert stream.getvalue().splitlines() == [
        "WARNING rasa.core.channels.channel.test - model loaded in 3 s",
        "ERROR rasa.core.channels.channel.test - RuntimeError (logged by rasa.core.channels.channel.test)",
    ]


async def _log_in_fresh_context(logger: logging.Logger) -> None:
    logger.exception("Exception occurred while handling uri: 'ws://…'")


def test_the_answer_to_an_ended_websocket_writes_nothing_on_the_closed_connection():
    """python-engineio answers an ended websocket with an HTTP 200 that Sanic failed to write
    on the connection the client had closed ("Cannot call write() after write_eof()")."""
    from sanic.response import HTTPResponse

    from bot.channels.socketio import make_response

    class ClosedStream:
        async def send(self, data, end_stream=None):
            raise RuntimeError("Cannot call write() after write_eof()")

    ended = make_response("200 OK", [("Content-Type", "text/plain")], b"OK",
                          {"HTTP_UPGRADE": "websocket", "REQUEST_METHOD": "GET"})
    ended.stream = ClosedStream()
    asyncio.run(ended.send(end_stream=True))  # nothing written, nothing raised

    polling = make_response("200 OK", [("Content-Type", "text/plain")], b"2", {"REQUEST_METHOD": "GET"})
    assert isinstance(polling, HTTPResponse) and polling.status == 200 and polling.body == b"2"
    refused = make_response("400 BAD REQUEST", [], b"bad", {"HTTP_UPGRADE": "websocket"})
    assert refused.status == 400
