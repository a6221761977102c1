"""The web chat channel tells the desk when a conversation's last socket goes and when one
comes back (desk #7: a queued customer away too long has abandoned), in order, over HTTP."""
import contextlib
import logging

from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.channels.presence import PresenceRelay


@contextlib.asynccontextmanager
async def desk_stub(received):
    """The web service's /api/presence, recording what it is told."""
    async def presence(request):
        if request.headers.get("Authorization") != "Bearer service-token":
            return web.json_response({}, status=401)
        received.append(await request.json())
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/api/presence", presence)
    async with TestServer(app) as server:
        yield str(server.make_url("")).rstrip("/")


async def test_the_last_socket_of_a_conversation_going_is_told_and_a_return_too():
    received = []
    async with desk_stub(received) as url:
        relay = PresenceRelay(url, "service-token")
        await _tell(relay)
        await relay.close()
    assert received == [
        {"conversation_id": "conv", "present": True}, {"conversation_id": "conv", "present": True},
        {"conversation_id": "conv", "present": False}, {"conversation_id": "conv", "present": True},
        {"conversation_id": "conv", "present": False}, {"conversation_id": "other", "present": True},
    ]


async def _tell(relay):
    relay.joined("sid-1", "conv")
    relay.joined("sid-2", "conv")  # a second tab
    relay.disconnected("sid-1")  # the customer still has the other one open: nothing
    relay.disconnected("sid-2")  # the last one: gone
    relay.disconnected("sid-unknown")  # a socket that never asked for a session: nothing
    relay.joined("sid-3", "conv")  # a reload
    relay.joined("sid-3", "other")  # the same socket asks for another conversation: the first is left
    await relay.drained()


async def test_nothing_is_sent_without_a_service_token_and_a_refusal_is_only_logged(caplog):
    caplog.set_level(logging.INFO, logger="bot.channels.presence")
    received = []
    async with desk_stub(received) as url:
        silent = PresenceRelay(url, None)
        silent.joined("sid", "conv")
        silent.disconnected("sid")
        await silent.drained()
        refused = PresenceRelay(url, "wrong-token")
        refused.joined("sid", "secret-conversation-id")
        await refused.drained()
        await refused.close()
    assert received == []
    assert "HTTP 401" in caplog.text and "secret-conversation-id" not in caplog.text
