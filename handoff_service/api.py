"""Service API for the action server (bearer token, not a staff login)."""
from __future__ import annotations

import hmac

from aiohttp import web

from bot.settings import SUPPORTED_LANGUAGES
from handoff_service.desk import HandoffDesk
from handoff_service.web_errors import bad_request, json_error, read_json_object

DESK = web.AppKey("desk", HandoffDesk)
SERVICE_TOKEN = web.AppKey("service_token", str)


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
    reason = data.get("reason") or "customer_request"
    if not isinstance(reason, str) or len(reason) > 64:
        raise bad_request("invalid_reason", "reason must be a string of at most 64 characters.")
    language = data.get("language") or "zh-Hans"
    if language not in SUPPORTED_LANGUAGES:
        raise bad_request("invalid_language", f"language must be one of {', '.join(SUPPORTED_LANGUAGES)}.")
    context = data.get("context")
    context = {} if context is None else context
    if not isinstance(context, dict):
        raise bad_request("invalid_context", "context must be an object.")
    handoff, position, created = await request.app[DESK].request(conversation_id, reason, language, context)
    return web.json_response({"handoff": handoff.as_json(), "position": position}, status=201 if created else 200)


def create_api_app(desk: HandoffDesk, service_token: str) -> web.Application:
    app = web.Application(middlewares=[service_token_middleware])
    app[DESK] = desk
    app[SERVICE_TOKEN] = service_token
    app.router.add_post("/handoffs", create_handoff)
    return app
