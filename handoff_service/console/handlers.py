"""Agent console: the page, its JSON API and its websocket."""
from __future__ import annotations

import asyncio
import logging
import re

import aiohttp_jinja2
from aiohttp import WSMsgType, web

from bot.database import parse_row_id
from bot.privacy import mask_value
from bot.text_checks import TextRefused, check_text
from handoff_service.audit import storage as audit
from handoff_service.audit.recorder import record
from handoff_service.auth import current_user, origin_allowed
from handoff_service.desk import CannotReachCustomer, HandoffDesk, NotYourHandoff, ReplyInProgress
from handoff_service.hub import HUB
from handoff_service.privacy.personal_data import REVEALABLE, PersonalData, mask
from handoff_service.rasa_client import RasaUnavailable
from handoff_service.desk.storage import HandoffConflict, HandoffRepository
from handoff_service.desk.tickets import TicketRepository
from handoff_service.storage import TranscriptRepository
from handoff_service.web_errors import bad_request, conflict, forbidden, not_found, read_json_object, unavailable

logger = logging.getLogger(__name__)

DESK = web.AppKey("desk", HandoffDesk)
HANDOFFS = web.AppKey("handoffs", HandoffRepository)
TRANSCRIPTS = web.AppKey("transcripts", TranscriptRepository)
PERSONAL_DATA = web.AppKey("personal_data", PersonalData)
TICKETS = web.AppKey("tickets", TicketRepository)
MAX_REASON_CHARS = 200
CLIENT_MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def _handoff_id(request: web.Request) -> int:
    try:
        return parse_row_id(request.match_info["handoff_id"])
    except ValueError:
        raise not_found("No such handoff.")


@aiohttp_jinja2.template("console.html")
async def console_page(request: web.Request):
    return {"user": current_user(request)}


async def _visible_to(request: web.Request, handoff) -> bool:
    """A supervisor sees every chat; an agent their own chats and the queues of their skills."""
    user = current_user(request)
    if user.has_role("supervisor"):
        return True
    if handoff.agent_username == user.username:
        return True
    if handoff.status != "queued":
        return False
    skills = (await asyncio.to_thread(request.app[DESK].routing.agent, user.username)).skills
    return handoff.skill_group in skills


async def list_handoffs(request: web.Request) -> web.Response:
    handoffs = await asyncio.to_thread(request.app[HANDOFFS].list)
    user = current_user(request)
    if not user.has_role("supervisor"):
        skills = (await asyncio.to_thread(request.app[DESK].routing.agent, user.username)).skills
        handoffs = [h for h in handoffs if h.agent_username == user.username
                    or (h.status == "queued" and h.skill_group in skills)]
    return web.json_response({"handoffs": [h.as_json() for h in handoffs]})


async def get_handoff(request: web.Request) -> web.Response:
    handoff = await asyncio.to_thread(request.app[HANDOFFS].get, _handoff_id(request))
    if handoff is None or not await _visible_to(request, handoff):
        raise not_found("No such handoff.")
    transcripts = request.app[TRANSCRIPTS]
    # as_json runs the privacy recogniser over each line: off the event loop, like the read.
    lines = await asyncio.to_thread(lambda: [l.as_json() for l in transcripts.for_conversation(handoff.conversation_id)])
    await record(request, current_user(request).username, audit.HANDOFF_OPENED, "handoff", handoff.id)
    return web.json_response({"handoff": handoff.as_json(), "transcript": lines})


def reveal_reason(data) -> str:
    """The reason a reveal request gives, which goes into the audit log; a clear 400 without one."""
    reason = data.get("reason")
    if not isinstance(reason, str) or len(reason.strip()) < 3:
        raise bad_request("reason_required", "Say why you need it (at least 3 characters); it is recorded.")
    if len(reason) > MAX_REASON_CHARS:
        raise bad_request("too_long", f"The reason is limited to {MAX_REASON_CHARS} characters.")
    return reason.strip()


async def reveal(request: web.Request) -> web.Response:
    """The clear value of one masked field, for the agent handling this chat, with a
    reason that goes into the audit log."""
    data = await read_json_object(request)
    field, reason = data.get("field"), reveal_reason(data)
    if field not in REVEALABLE:
        raise bad_request("unknown_field", f"Only these can be revealed: {', '.join(REVEALABLE)}.")
    handoff = await asyncio.to_thread(request.app[HANDOFFS].get, _handoff_id(request))
    if handoff is None:
        raise not_found("No such handoff.")
    user = current_user(request)
    if handoff.status == "closed":
        raise conflict("This conversation is closed.")
    if handoff.status != "active" or handoff.agent_username != user.username:
        raise forbidden("not_your_chat", "Only the agent who accepted this chat can reveal it.")
    customer_id = (handoff.context.get("customer") or {}).get("id")
    value = None
    if isinstance(customer_id, (int, float)) and not isinstance(customer_id, bool):
        value = await asyncio.to_thread(request.app[PERSONAL_DATA].clear_value, int(customer_id), field)
    if not value:
        raise not_found("This customer has nothing of that kind on record.")
    await record(request, user.username, audit.PERSONAL_DATA_REVEALED, "handoff", handoff.id,
                 {"field": field, "customer_id": int(customer_id), "shown_as": mask(value), "reason": reason})
    response = web.json_response({"field": field, "value": value})
    response.headers["Cache-Control"] = "no-store"
    return response


async def _desk_call(coro):
    """Run a desk operation; its failures become clear API errors."""
    try:
        return await coro
    except LookupError:
        raise not_found("No such handoff.")
    except (HandoffConflict, ReplyInProgress) as e:
        raise conflict(str(e))
    except CannotReachCustomer as e:
        raise conflict(str(e), code="channel_cannot_receive")
    except NotYourHandoff as e:
        raise forbidden("not_your_chat", str(e))
    except RasaUnavailable:
        logger.warning("Rasa unreachable while relaying an agent action")
        raise unavailable("bot_unreachable", "The chat server did not answer; please try again.")


async def accept(request: web.Request) -> web.Response:
    handoff = await asyncio.to_thread(request.app[HANDOFFS].get, _handoff_id(request))
    if handoff is not None and handoff.status == "queued" and not await _visible_to(request, handoff):
        raise forbidden("not_your_skill", "This chat waits in the queue of a skill group you do not serve.")
    handoff = await _desk_call(request.app[DESK].accept(_handoff_id(request), current_user(request)))
    return web.json_response({"handoff": handoff.as_json()})


async def reply(request: web.Request) -> web.Response:
    data = await read_json_object(request)
    desk = request.app[DESK]
    try:  # the same checks as a customer's message: type, length, invalid code points
        text = check_text(data.get("text"), desk.max_reply_chars, "The reply")
    except TextRefused as refused:
        raise bad_request(refused.code, refused.reason)
    client_message_id = data.get("client_message_id")
    if client_message_id is not None and not (isinstance(client_message_id, str) and CLIENT_MESSAGE_ID.match(client_message_id)):
        raise bad_request("bad_client_message_id", "client_message_id must be 8–64 letters, digits, '-' or '_'.")
    sent = await _desk_call(desk.reply(_handoff_id(request), current_user(request), text, client_message_id))
    # A repeat of a reply already sent is acknowledged, not sent again.
    return web.json_response({"ok": True, "duplicate": not sent}, status=202 if sent else 200)


MAX_TAGS, MAX_TAG_CHARS, MAX_DISPOSITION_CHARS = 10, 40, 64


async def close(request: web.Request) -> web.Response:
    """Close the chat (the bot resumes and asks for a rating), with an optional
    disposition (what came of it) and tags."""
    data = await read_json_object(request) if request.can_read_body else {}
    disposition, tags = data.get("disposition"), data.get("tags") or []
    if disposition is not None and not (isinstance(disposition, str) and 0 < len(disposition.strip()) <= MAX_DISPOSITION_CHARS):
        raise bad_request("bad_disposition", f"disposition must be text of at most {MAX_DISPOSITION_CHARS} characters.")
    if not (isinstance(tags, list) and len(tags) <= MAX_TAGS
            and all(isinstance(t, str) and 0 < len(t.strip()) <= MAX_TAG_CHARS for t in tags)):
        raise bad_request("bad_tags", f"tags must be a list of at most {MAX_TAGS} texts of at most {MAX_TAG_CHARS} characters.")
    handoff = await _desk_call(request.app[DESK].close(
        _handoff_id(request), current_user(request), disposition.strip() if disposition else None,
        [t.strip() for t in tags]))
    return web.json_response({"handoff": handoff.as_json()})


async def my_status(request: web.Request) -> web.Response:
    state = await asyncio.to_thread(request.app[DESK].routing.agent, current_user(request).username)
    return web.json_response({"agent": state.as_json()})


async def set_my_status(request: web.Request) -> web.Response:
    """An agent switches between online, away and offline (and may lower their capacity)."""
    data = await read_json_object(request)
    changes = {}
    if "status" in data:
        changes["status"] = data["status"]
    if "capacity" in data:
        if not isinstance(data["capacity"], int) or isinstance(data["capacity"], bool):
            raise bad_request("bad_capacity", "capacity must be a whole number.")
        changes["capacity"] = data["capacity"]
    try:
        state = await request.app[DESK].set_agent_status(current_user(request), **changes)
    except ValueError as e:
        raise bad_request("bad_agent_status", str(e))
    return web.json_response({"agent": state.as_json()})


async def list_agents(request: web.Request) -> web.Response:
    """Every agent's status, load and skills: supervisors only."""
    if not current_user(request).has_role("supervisor"):
        raise forbidden("supervisor_only", "Only a supervisor sees every agent.")
    agents = await asyncio.to_thread(request.app[DESK].routing.agents)
    return web.json_response({"agents": [a.as_json() for a in agents]})


async def set_agent(request: web.Request) -> web.Response:
    """A supervisor sets an agent's skills, languages, capacity or status."""
    if not current_user(request).has_role("supervisor"):
        raise forbidden("supervisor_only", "Only a supervisor changes another agent's settings.")
    data = await read_json_object(request)
    changes = {k: data[k] for k in ("status", "capacity", "skills", "languages") if k in data}
    if "capacity" in changes and (not isinstance(changes["capacity"], int) or isinstance(changes["capacity"], bool)):
        raise bad_request("bad_capacity", "capacity must be a whole number.")
    for key in ("skills", "languages"):
        if key in changes and not (isinstance(changes[key], list) and all(isinstance(x, str) for x in changes[key])):
            raise bad_request("bad_agent_status", f"{key} must be a list of names.")
    username = request.match_info["username"]
    if await asyncio.to_thread(request.app[DESK].staff.get, username) is None:
        raise not_found("No such staff member.")
    try:
        state = await asyncio.to_thread(request.app[DESK].routing.set_agent, username, **changes)
    except ValueError as e:
        raise bad_request("bad_agent_status", str(e))
    await record(request, current_user(request).username, audit.AGENT_SETTINGS_CHANGED, "agent", username, changes)
    request.app[DESK].dispatch_soon()
    return web.json_response({"agent": state.as_json()})


async def websocket(request: web.Request) -> web.WebSocketResponse:
    # Browsers always send Origin on a websocket; a page of another site must not read the feed.
    if not origin_allowed(request, required=False):
        raise web.HTTPForbidden(text="Cross-origin websocket refused.")
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    hub = request.app[HUB]
    user = current_user(request)
    hub.add(ws, user.username, user.session_version)
    try:
        async for msg in ws:  # the console only listens; anything it sends is ignored
            if msg.type == WSMsgType.ERROR:
                break
    finally:
        hub.remove(ws)
    return ws


# --- desk (#7): callback and message tickets ---
def _ticket_id(request: web.Request) -> int:
    try:
        return parse_row_id(request.match_info["ticket_id"])
    except ValueError:
        raise not_found("No such ticket.")


async def _my_skills(request: web.Request):
    """None for a supervisor (every group), else the agent's skill groups."""
    user = current_user(request)
    if user.has_role("supervisor"):
        return None
    return (await asyncio.to_thread(request.app[DESK].routing.agent, user.username)).skills


async def _visible_ticket(request: web.Request):
    ticket = await asyncio.to_thread(request.app[TICKETS].get, _ticket_id(request))
    skills = await _my_skills(request)
    if ticket is None or (skills is not None and ticket.skill_group not in skills):
        raise not_found("No such ticket.")
    return ticket


async def list_tickets(request: web.Request) -> web.Response:
    status = request.query.get("status", "open")
    if status not in ("open", "done"):
        raise bad_request("bad_status", "status must be open or done.")
    skills = await _my_skills(request)
    # as_json runs the privacy recogniser over each message: off the event loop, like the read.
    tickets = await asyncio.to_thread(lambda: [t.as_json() for t in request.app[TICKETS].list(status, skills)])
    return web.json_response({"tickets": tickets})


async def ticket_done(request: web.Request) -> web.Response:
    await _visible_ticket(request)
    ticket = await asyncio.to_thread(request.app[TICKETS].done, _ticket_id(request), current_user(request).username)
    await request.app[DESK].publish_ticket(ticket)
    return web.json_response({"ticket": await asyncio.to_thread(ticket.as_json)})


def _not_stored(payload: dict) -> web.Response:
    response = web.json_response(payload)
    response.headers["Cache-Control"] = "no-store"
    return response


async def ticket_phone(request: web.Request) -> web.Response:
    """The clear number of a callback, for the agent who calls, with a reason that goes
    into the audit log (as every reveal of personal data)."""
    reason = reveal_reason(await read_json_object(request))
    ticket = await _visible_ticket(request)
    phone = await asyncio.to_thread(request.app[TICKETS].phone, ticket.id)
    if not phone:
        raise not_found("This ticket has no number that can be read.")
    await record(request, current_user(request).username, audit.PERSONAL_DATA_REVEALED, "ticket", ticket.id,
                 {"field": "phone", "shown_as": ticket.phone_masked, "reason": reason})
    return _not_stored({"phone": phone})


async def ticket_reveal(request: web.Request) -> web.Response:
    """The clear value of one piece of personal data the customer typed into the message,
    which the list shows masked: the span number from ``message_segments`` and a reason,
    recorded in the audit log. The span is found again in the stored message."""
    data = await read_json_object(request)
    span = data.get("span")
    if not isinstance(span, int) or isinstance(span, bool) or span < 0:
        raise bad_request("bad_span", "span must be the number of a masked value in the message.")
    reason = reveal_reason(data)
    ticket = await _visible_ticket(request)
    spans = await asyncio.to_thread(ticket.message_spans)
    if span >= len(spans):
        raise not_found("No such masked value in this message.")
    found = spans[span]
    value = ticket.message[found.start:found.end]
    await record(request, current_user(request).username, audit.PERSONAL_DATA_REVEALED, "ticket", ticket.id,
                 {"field": found.kind, "shown_as": mask_value(found.kind, value), "reason": reason})
    return _not_stored({"ticket_id": ticket.id, "span": span, "kind": found.kind, "value": value})
