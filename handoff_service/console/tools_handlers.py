"""The console's productivity tools: canned replies, agent assist (knowledge-base entries
for the customer's latest message) and typing indicators both ways.

Knowledge-base search itself is the staff search API (``/kb/api/search``, agents may use
it); the console asks it in the chat's language.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Optional

from aiohttp import web

from bot.database import parse_row_id
from bot.settings import SUPPORTED_LANGUAGES
from bot.text_checks import TextRefused, check_text
from bot.typing_indicator import TypingThrottle
from handoff_service.api import DESK as API_DESK
from handoff_service.auth import current_user
from handoff_service.console.canned_storage import (
    MAX_TITLE_CHARS, SCOPES, CannedReplyRepository, DuplicateTitle, TooMany,
)
from handoff_service.console.handlers import DESK, HANDOFFS, TRANSCRIPTS, _handoff_id, _visible_to
from handoff_service.rasa_client import RasaUnavailable
from handoff_service.web_errors import bad_request, conflict, forbidden, not_found, read_json_object
from knowledge_base.service import KnowledgeBase
from knowledge_base.staff_api import scored_json

logger = logging.getLogger(__name__)

CANNED = web.AppKey("canned_replies", CannedReplyRepository)
KNOWLEDGE = web.AppKey("console_knowledge_base", KnowledgeBase)
MAX_SUGGESTIONS = 3


# --- canned replies ----------------------------------------------------------------------
def _reply_id(request: web.Request) -> int:
    try:
        return parse_row_id(request.match_info["reply_id"])
    except ValueError:
        raise not_found("No such canned reply.")


def _language(value, required: bool = True) -> Optional[str]:
    if value is None and not required:
        return None
    if value not in SUPPORTED_LANGUAGES:
        raise bad_request("bad_language", f"language must be one of {', '.join(SUPPORTED_LANGUAGES)}.")
    return value


def _title_and_body(data: dict, partial: bool, max_body_chars: int) -> dict:
    fields = {}
    try:
        if "title" in data or not partial:
            fields["title"] = check_text(data.get("title"), MAX_TITLE_CHARS, "The title")
            if "\n" in fields["title"]:
                raise TextRefused("bad_title", "The title is one line.")
        if "body" in data or not partial:
            fields["body"] = check_text(data.get("body"), max_body_chars, "The reply")
    except TextRefused as refused:
        raise bad_request(refused.code, refused.reason)
    return fields


def _may_change(request: web.Request, reply) -> None:
    """Personal replies belong to their agent (others do not even see them); team replies
    are the supervisors' to change."""
    user = current_user(request)
    if reply is None or (reply.owner is not None and reply.owner != user.username):
        raise not_found("No such canned reply.")
    if reply.owner is None and not user.has_role("supervisor"):
        raise forbidden("supervisor_only", "Only a supervisor changes the team's canned replies.")


async def list_canned(request: web.Request) -> web.Response:
    language = _language(request.query.get("language"), required=False)
    user = current_user(request)
    replies = await asyncio.to_thread(request.app[CANNED].visible_to, user.username, language)
    can_edit_team = user.has_role("supervisor")
    return web.json_response({"replies": [
        {**r.as_json(), "editable": r.owner is not None or can_edit_team} for r in replies]})


async def create_canned(request: web.Request) -> web.Response:
    data = await read_json_object(request)
    scope = data.get("scope", "personal")
    if scope not in SCOPES:
        raise bad_request("bad_scope", "scope must be personal or team.")
    user = current_user(request)
    if scope == "team" and not user.has_role("supervisor"):
        raise forbidden("supervisor_only", "Only a supervisor adds team canned replies.")
    language = _language(data.get("language"))
    fields = _title_and_body(data, partial=False, max_body_chars=request.app[DESK].max_reply_chars)
    owner = user.username if scope == "personal" else None
    try:
        reply = await asyncio.to_thread(request.app[CANNED].create, owner, language, fields["title"], fields["body"],
                                        user.username)
    except DuplicateTitle:
        raise conflict("A canned reply with this title already exists in this language.", code="duplicate_title")
    except TooMany:
        raise conflict("There are as many canned replies as allowed; delete some first.", code="too_many")
    return web.json_response({"reply": {**reply.as_json(), "editable": True}}, status=201)


async def update_canned(request: web.Request) -> web.Response:
    data = await read_json_object(request)
    repository = request.app[CANNED]
    reply = await asyncio.to_thread(repository.get, _reply_id(request))
    _may_change(request, reply)
    if "scope" in data and data["scope"] != reply.scope:
        raise bad_request("bad_scope", "A reply's scope cannot change; add it again in the other list.")
    changes = _title_and_body(data, partial=True, max_body_chars=request.app[DESK].max_reply_chars)
    if "language" in data:
        changes["language"] = _language(data["language"])
    if not changes:
        raise bad_request("nothing_to_change", "Give a title, body or language to change.")
    try:
        reply = await asyncio.to_thread(repository.update, reply.id, current_user(request).username, **changes)
    except DuplicateTitle:
        raise conflict("A canned reply with this title already exists in this language.", code="duplicate_title")
    if reply is None:
        raise not_found("No such canned reply.")
    return web.json_response({"reply": {**reply.as_json(), "editable": True}})


async def delete_canned(request: web.Request) -> web.Response:
    repository = request.app[CANNED]
    reply = await asyncio.to_thread(repository.get, _reply_id(request))
    _may_change(request, reply)
    await asyncio.to_thread(repository.delete, reply.id)
    return web.json_response({"deleted": reply.id})


# --- agent assist ------------------------------------------------------------------------
async def suggestions(request: web.Request) -> web.Response:
    """Knowledge-base entries for the customer's latest message, in the chat's language."""
    handoff = await asyncio.to_thread(request.app[HANDOFFS].get, _handoff_id(request))
    if handoff is None or not await _visible_to(request, handoff):
        raise not_found("No such handoff.")
    lines = await asyncio.to_thread(request.app[TRANSCRIPTS].for_conversation, handoff.conversation_id, 50)
    latest = next((line for line in reversed(lines) if line.actor == "customer"), None)
    if latest is None or not latest.text.strip("•").strip():  # nothing said yet, or a masked secret
        return web.json_response({"line_id": None, "question": None, "entries": []})
    knowledge_base = request.app[KNOWLEDGE]
    lookup = await asyncio.to_thread(knowledge_base.lookup, latest.text, handoff.language)
    threshold = knowledge_base.thresholds.suggest
    # What the bot would answer or offer, else the closest entries the bot found plausible.
    chosen = lookup.entries or [s for s in lookup.candidates if s.score >= threshold]
    return web.json_response({
        "line_id": latest.id, "question": latest.text, "language": handoff.language,
        "entries": [scored_json(s, handoff.language) for s in chosen[:MAX_SUGGESTIONS]],
    })


# --- typing indicators -------------------------------------------------------------------
TYPING = web.AppKey("typing_throttle", TypingThrottle)


def _typing_flag(data: dict) -> bool:
    typing = data.get("typing")
    if not isinstance(typing, bool):
        raise bad_request("bad_typing", "typing must be true or false.")
    return typing


async def agent_typing(request: web.Request) -> web.Response:
    """The agent who holds a web chat is typing (or stopped): shown on the customer's page."""
    data = await read_json_object(request)
    typing = _typing_flag(data)
    handoff = await asyncio.to_thread(request.app[HANDOFFS].get, _handoff_id(request))
    user = current_user(request)
    if handoff is None or not await _visible_to(request, handoff):
        raise not_found("No such handoff.")
    if handoff.status != "active" or handoff.agent_username != user.username:
        raise forbidden("not_your_chat", "Only the agent who accepted this chat can type in it.")
    # Only our web chat page shows it; other channels have no way to (and REST no push).
    if handoff.input_channel not in (None, "socketio") or not request.app[TYPING].should_pass(
            "agent", handoff.conversation_id, typing):
        return web.json_response({"sent": False})
    try:
        await request.app[DESK].rasa.typing(handoff.conversation_id, typing, user.display_name)
    except RasaUnavailable as e:
        logger.info("typing indicator not passed on (%s)", type(e).__name__)  # ephemeral: nothing to retry
        return web.json_response({"sent": False})
    return web.json_response({"sent": True})


async def customer_typing(request: web.Request) -> web.Response:
    """Service API (the chat channel, bearer token): a customer with an open handoff is
    typing; the consoles show it."""
    data = await read_json_object(request)
    typing = _typing_flag(data)
    conversation_id = data.get("conversation_id")
    if not isinstance(conversation_id, str) or not 0 < len(conversation_id) <= 255:
        raise bad_request("invalid_conversation_id", "conversation_id must be a non-empty string of at most 255 characters.")
    desk = request.app[API_DESK]
    handoff = await asyncio.to_thread(desk.handoffs.open_for, conversation_id)
    if handoff is None:
        raise not_found("This conversation has no open handoff.")
    # The channel passes on only what is worth it (the same throttle as the agent's side);
    # only the consoles that may see this chat hear of it (desk/audience.py).
    await desk.publish(handoff, message={"type": "typing", "actor": "customer", "handoff_id": handoff.id,
                                         "conversation_id": conversation_id, "typing": typing})
    return web.json_response({"ok": True})


def install_console_tools(console: web.Application, canned: CannedReplyRepository,
                          knowledge_base: KnowledgeBase) -> None:
    """Add the tools' routes to the console sub-app (before it is mounted)."""
    console[CANNED] = canned
    console[KNOWLEDGE] = knowledge_base
    console[TYPING] = TypingThrottle()
    console.router.add_get("/api/canned", list_canned)
    console.router.add_post("/api/canned", create_canned)
    console.router.add_put("/api/canned/{reply_id}", update_canned)
    console.router.add_delete("/api/canned/{reply_id}", delete_canned)
    console.router.add_get("/api/handoffs/{handoff_id}/suggestions", suggestions)
    console.router.add_post("/api/handoffs/{handoff_id}/typing", agent_typing)


def install_service_typing(api: web.Application) -> None:
    """Add the customer-typing endpoint to the service API sub-app (it holds the desk)."""
    api.router.add_post("/typing", customer_typing)
