"""Service API for the action server (bearer token, not a staff login)."""
from __future__ import annotations

import asyncio
import hmac

from aiohttp import web

from bot.privacy import phone_candidates
from bot.settings import SUPPORTED_LANGUAGES
from handoff_service.auth import TOKEN_AUTHENTICATED
from handoff_service.desk import HandoffDesk
from handoff_service.desk.presence import CustomerPresence
from handoff_service.desk.storage import SKILL_GROUPS
from handoff_service.desk.tickets import KINDS, TicketRepository
from handoff_service.web_errors import bad_request, json_error, read_json_object

DESK = web.AppKey("desk", HandoffDesk)
TICKETS = web.AppKey("tickets", TicketRepository)
SERVICE_TOKEN = web.AppKey("service_token", str)
PRESENCE = web.AppKey("presence", CustomerPresence)


@web.middleware
async def service_token_middleware(request: web.Request, handler):
    header = request.headers.get("Authorization", "")
    token = header[7:] if header.startswith("Bearer ") else ""
    if not hmac.compare_digest(token.encode(), request.app[SERVICE_TOKEN].encode()):
        return json_error(401, "unauthorized", "A valid service token is required.")
    return await handler(request)


async def create_handoff(request: web.Request) -> web.Response:
    data = await read_json_object(request)
    conversation_id = data.get("conversation_id")
    if not isinstance(conversation_id, str) or not 0 < len(conversation_id) <= 255:
        raise bad_request("invalid_conversation_id", "conversation_id must be a non-empty string of at most 255 characters.")
    reason = data.get("reason") or "explicit_request"
    if not isinstance(reason, str) or len(reason) > 64:
        raise bad_request("invalid_reason", "reason must be a string of at most 64 characters.")
    language = data.get("language") or "zh-Hans"
    if language not in SUPPORTED_LANGUAGES:
        raise bad_request("invalid_language", f"language must be one of {', '.join(SUPPORTED_LANGUAGES)}.")
    context = data.get("context")
    context = {} if context is None else context
    if not isinstance(context, dict):
        raise bad_request("invalid_context", "context must be an object.")
    input_channel = data.get("input_channel")
    if input_channel is not None and not (isinstance(input_channel, str) and 0 < len(input_channel) <= 64):
        raise bad_request("invalid_input_channel", "input_channel must be a channel name of at most 64 characters.")
    skill_group = data.get("skill_group") or "general"
    if skill_group not in SKILL_GROUPS:
        raise bad_request("invalid_skill_group", f"skill_group must be one of {', '.join(SKILL_GROUPS)}.")
    priority = data.get("priority") or 0
    if not isinstance(priority, int) or isinstance(priority, bool) or not 0 <= priority <= 100:
        raise bad_request("invalid_priority", "priority must be a whole number from 0 to 100.")
    customer_ref = data.get("customer_ref")
    if customer_ref is not None and not (isinstance(customer_ref, str) and 0 < len(customer_ref) <= 64):
        raise bad_request("invalid_customer_ref", "customer_ref must be a string of at most 64 characters.")
    handoff, wait, created = await request.app[DESK].request(
        conversation_id, reason, language, context, input_channel, skill_group, priority, customer_ref)
    return web.json_response({"handoff": handoff.as_json(), "position": wait.position, "wait": wait.as_json()},
                             status=201 if created else 200)


def _conversation_id(data: dict) -> str:
    conversation_id = data.get("conversation_id")
    if not isinstance(conversation_id, str) or not 0 < len(conversation_id) <= 255:
        raise bad_request("invalid_conversation_id", "conversation_id must be a non-empty string of at most 255 characters.")
    return conversation_id


async def rate_handoff(request: web.Request) -> web.Response:
    """The customer's 1-5 rating (and optional comment) of the chat an agent just closed."""
    data = await read_json_object(request)
    conversation_id = _conversation_id(data)
    rating = data.get("rating")
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise bad_request("invalid_rating", "rating must be a whole number from 1 to 5.")
    comment = data.get("comment")
    if comment is not None and not (isinstance(comment, str) and len(comment) <= 2000):
        raise bad_request("invalid_comment", "comment must be a string of at most 2000 characters.")
    handoff = await request.app[DESK].rate(conversation_id, rating, comment)
    if handoff is None:
        return json_error(404, "no_closed_handoff", "This conversation has no closed handoff to rate.")
    return web.json_response({"handoff": handoff.as_json()})


async def create_ticket(request: web.Request) -> web.Response:
    """A callback (phone + preferred time) or a message a customer left for agents."""
    data = await read_json_object(request)
    conversation_id = _conversation_id(data)
    kind = data.get("kind")
    if kind not in KINDS:
        raise bad_request("invalid_kind", f"kind must be one of {', '.join(KINDS)}.")
    language = data.get("language") or "zh-Hans"
    if language not in SUPPORTED_LANGUAGES:
        raise bad_request("invalid_language", f"language must be one of {', '.join(SUPPORTED_LANGUAGES)}.")
    skill_group = data.get("skill_group") or "general"
    if skill_group not in SKILL_GROUPS:
        raise bad_request("invalid_skill_group", f"skill_group must be one of {', '.join(SKILL_GROUPS)}.")
    fields = {}
    for name, limit in (("phone", 32), ("preferred_time", 64), ("message", 4000), ("customer_ref", 64)):
        value = data.get(name)
        if value is not None and not (isinstance(value, str) and len(value) <= limit):
            raise bad_request(f"invalid_{name}", f"{name} must be a string of at most {limit} characters.")
        fields[name] = value or None
    if kind == "callback" and not phone_candidates(fields["phone"] or ""):
        raise bad_request("invalid_phone", "A callback needs a valid phone number.")
    if kind == "message" and not (fields["message"] or "").strip():
        raise bad_request("invalid_message", "A message needs its text.")
    ticket = await asyncio.to_thread(request.app[TICKETS].create, kind, conversation_id, language, skill_group, **fields)
    await request.app[DESK].publish_ticket(ticket)
    return web.json_response({"ticket": await asyncio.to_thread(ticket.as_json)}, status=201)


async def customer_presence(request: web.Request) -> web.Response:
    """The web chat channel: a conversation's last socket went away, or one came back
    (desk/presence.py: a queued customer away too long has abandoned the queue)."""
    data = await read_json_object(request)
    conversation_id = _conversation_id(data)
    present = data.get("present")
    if not isinstance(present, bool):
        raise bad_request("invalid_present", "present must be true or false.")
    presence = request.app[PRESENCE]
    if present:
        presence.back(conversation_id)
    else:
        presence.left(conversation_id)
    return web.json_response({"ok": True})


def create_api_app(desk: HandoffDesk, service_token: str, tickets: TicketRepository,
                   presence: CustomerPresence) -> web.Application:
    app = web.Application(middlewares=[service_token_middleware])
    app[TICKETS] = tickets
    app[PRESENCE] = presence
    app[TOKEN_AUTHENTICATED] = True  # not a browser: no Origin to check
    app[DESK] = desk
    app[SERVICE_TOKEN] = service_token
    app.router.add_post("/handoffs", create_handoff)
    app.router.add_post("/handoffs/rating", rate_handoff)
    app.router.add_post("/tickets", create_ticket)
    app.router.add_post("/presence", customer_presence)
    return app
