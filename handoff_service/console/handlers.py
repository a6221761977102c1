"""Agent console: the page, its JSON API and its websocket."""
from __future__ import annotations

import asyncio
import logging
import re
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import WSMsgType, web

from bot.database import parse_row_id
from handoff_service.auth import current_user
from handoff_service.desk import MAX_REPLY_CHARS, HandoffDesk, NotYourHandoff, ReplyInProgress
from handoff_service.hub import HUB
from handoff_service.rasa_client import RasaUnavailable
from handoff_service.storage import HandoffConflict, HandoffRepository, TranscriptRepository
from handoff_service.web_errors import bad_request, conflict, forbidden, not_found, read_json_object, unavailable

logger = logging.getLogger(__name__)

DESK = web.AppKey("desk", HandoffDesk)
HANDOFFS = web.AppKey("handoffs", HandoffRepository)
TRANSCRIPTS = web.AppKey("transcripts", TranscriptRepository)
CLIENT_MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def _handoff_id(request: web.Request) -> int:
    try:
        return parse_row_id(request.match_info["handoff_id"])
    except ValueError:
        raise not_found("No such handoff.")


@aiohttp_jinja2.template("console.html")
async def console_page(request: web.Request):
    return {"user": current_user(request)}


async def list_handoffs(request: web.Request) -> web.Response:
    handoffs = await asyncio.to_thread(request.app[HANDOFFS].list)
    return web.json_response({"handoffs": [h.as_json() for h in handoffs]})


async def get_handoff(request: web.Request) -> web.Response:
    handoff = await asyncio.to_thread(request.app[HANDOFFS].get, _handoff_id(request))
    if handoff is None:
        raise not_found("No such handoff.")
    lines = await asyncio.to_thread(request.app[TRANSCRIPTS].for_conversation, handoff.conversation_id)
    return web.json_response({"handoff": handoff.as_json(), "transcript": [l.as_json() for l in lines]})


async def _desk_call(coro):
    """Run a desk operation; its failures become clear API errors."""
    try:
        return await coro
    except LookupError:
        raise not_found("No such handoff.")
    except (HandoffConflict, ReplyInProgress) as e:
        raise conflict(str(e))
    except NotYourHandoff as e:
        raise forbidden("not_your_chat", str(e))
    except RasaUnavailable:
        logger.warning("Rasa unreachable while relaying an agent action")
        raise unavailable("bot_unreachable", "The chat server did not answer; please try again.")


async def accept(request: web.Request) -> web.Response:
    handoff = await _desk_call(request.app[DESK].accept(_handoff_id(request), current_user(request)))
    return web.json_response({"handoff": handoff.as_json()})


async def reply(request: web.Request) -> web.Response:
    data = await read_json_object(request)
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        raise bad_request("empty", "The reply is empty.")
    if len(text) > MAX_REPLY_CHARS:
        raise bad_request("too_long", f"Replies are limited to {MAX_REPLY_CHARS} characters.")
    client_message_id = data.get("client_message_id")
    if client_message_id is not None and not (isinstance(client_message_id, str) and CLIENT_MESSAGE_ID.match(client_message_id)):
        raise bad_request("bad_client_message_id", "client_message_id must be 8–64 letters, digits, '-' or '_'.")
    sent = await _desk_call(
        request.app[DESK].reply(_handoff_id(request), current_user(request), text.strip(), client_message_id)
    )
    # A repeat of a reply already sent is acknowledged, not sent again.
    return web.json_response({"ok": True, "duplicate": not sent}, status=202 if sent else 200)


async def close(request: web.Request) -> web.Response:
    handoff = await _desk_call(request.app[DESK].close(_handoff_id(request), current_user(request)))
    return web.json_response({"handoff": handoff.as_json()})


async def websocket(request: web.Request) -> web.WebSocketResponse:
    origin = request.headers.get("Origin")
    if origin and urlsplit(origin).netloc != request.host:
        raise web.HTTPForbidden(text="Cross-origin websocket refused.")
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    hub = request.app[HUB]
    hub.add(ws, current_user(request).username)
    try:
        async for msg in ws:  # the console only listens; anything it sends is ignored
            if msg.type == WSMsgType.ERROR:
                break
    finally:
        hub.remove(ws)
    return ws
