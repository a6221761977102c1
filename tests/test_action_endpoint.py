"""Rasa's calls to the action server share one pooled session (bot/action_endpoint.py)."""
import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.action_endpoint import KeepAliveActionEndpoint, close_action_sessions, keep_action_connections_alive, never_sent


@pytest.fixture
async def action_server():
    """A stand-in action server that counts calls and the connections they came on."""
    seen = {"calls": 0, "peers": set(), "auth": []}

    async def webhook(request: web.Request) -> web.Response:
        seen["calls"] += 1
        seen["peers"].add(request.transport.get_extra_info("peername"))
        seen["auth"].append(request.headers.get("Authorization"))
        body = await request.json()
        return web.json_response({"events": [], "responses": [{"text": body["next_action"]}]})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    server = TestServer(app)
    await server.start_server()
    server.seen = seen
    yield server
    await server.close()


async def test_calls_reuse_one_connection_and_keep_rasas_headers(action_server):
    endpoint = KeepAliveActionEndpoint(url=str(action_server.make_url("/webhook")),
                                       headers={"Authorization": "Bearer action-token"})
    try:
        for name in ("action_a", "action_b", "action_c"):
            answer = await endpoint.request(json={"next_action": name}, method="post", timeout=5)
            assert answer["responses"] == [{"text": name}]
    finally:
        await close_action_sessions()
    assert action_server.seen["calls"] == 3
    assert len(action_server.seen["peers"]) == 1  # one connection, kept alive
    assert action_server.seen["auth"] == ["Bearer action-token"] * 3


async def test_a_call_the_server_never_got_is_tried_once_more_then_raises_as_rasa_expects(unused_tcp_port):
    class Counting(KeepAliveActionEndpoint):
        attempts = 0

        def session(self):
            Counting.attempts += 1
            return super().session()

    endpoint = Counting(url=f"http://127.0.0.1:{unused_tcp_port}/webhook")  # nobody listens
    with pytest.raises(aiohttp.ClientConnectorError):  # RemoteAction turns it into "couldn't connect"
        await endpoint.request(json={"next_action": "x"}, method="post", timeout=5)
    await endpoint.close()
    assert Counting.attempts == 2
    assert never_sent(aiohttp.ClientOSError("Cannot write to closing transport"))
    assert not never_sent(aiohttp.ServerDisconnectedError())  # may have run: never repeated


def test_rasas_endpoints_file_gives_the_keep_alive_action_endpoint(tmp_path):
    from rasa.core.utils import AvailableEndpoints

    keep_action_connections_alive()
    keep_action_connections_alive()  # idempotent
    path = tmp_path / "endpoints.yml"
    path.write_text("action_endpoint:\n  url: http://localhost:5055/webhook\n  headers:\n    Authorization: Bearer t\n")
    endpoints = AvailableEndpoints.read_endpoints(str(path))
    assert isinstance(endpoints.action, KeepAliveActionEndpoint)
    assert endpoints.action.url == "http://localhost:5055/webhook"
    assert endpoints.action.headers == {"Authorization": "Bearer t"}
    assert isinstance(endpoints.action.copy(), KeepAliveActionEndpoint)
