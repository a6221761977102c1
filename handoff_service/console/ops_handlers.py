"""Console API of the desk's operations on a chat (issue #7): notes, transfer, and the
supervisor's takeover, reassign and whisper. The rules of who may do what are the desk's
(desk/transfers.py); who may see a chat is the console's (handlers._visible_to)."""
from __future__ import annotations

import asyncio

from aiohttp import web

from bot.text_checks import TextRefused, check_text
from handoff_service.audit import storage as audit
from handoff_service.audit.recorder import record
from handoff_service.auth import current_user
from handoff_service.console.handlers import DESK, HANDOFFS, _desk_call, _handoff_id, _visible_to
from handoff_service.desk.storage import SKILL_GROUPS
from handoff_service.desk.transfers import MAX_NOTE_CHARS, CannotMove, DeskOperations, SupervisorOnly
from handoff_service.web_errors import bad_request, forbidden, not_found, read_json_object

OPERATIONS = web.AppKey("desk_operations", DeskOperations)


async def _visible_handoff(request: web.Request):
    handoff = await asyncio.to_thread(request.app[HANDOFFS].get, _handoff_id(request))
    if handoff is None or not await _visible_to(request, handoff):
        raise not_found("No such handoff.")
    return handoff


def _text(data: dict, key: str, label: str, required: bool = True) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    try:
        return check_text(value, MAX_NOTE_CHARS, label, allow_empty=not required)
    except TextRefused as refused:
        raise bad_request(refused.code, refused.reason)


async def _ops_call(coro):
    try:
        return await _desk_call(coro)
    except SupervisorOnly as e:
        raise forbidden("supervisor_only", str(e))
    except CannotMove as e:
        raise bad_request("cannot_move", str(e))


def _supervisor_only(request: web.Request) -> None:
    """Nothing a supervisor alone may do is shown to an agent: a plain 403."""
    if not current_user(request).has_role("supervisor"):
        raise forbidden("supervisor_only", "Only a supervisor can do this.")


async def list_notes(request: web.Request) -> web.Response:
    """The notes, whispers and transfer notes of this conversation (every handoff of it), and
    who held this chat: what the next agent reads besides the transcript."""
    handoff = await _visible_handoff(request)
    ops = request.app[OPERATIONS]
    notes = await ops.notes_for(handoff)
    holders = await asyncio.to_thread(request.app[DESK].routing.assignments, handoff.id)
    transfers = await asyncio.to_thread(ops.moves.transfers, handoff.id)
    return web.json_response({"notes": [n.as_json() for n in notes], "assignments": holders, "transfers": transfers})


async def add_note(request: web.Request) -> web.Response:
    data = await read_json_object(request)
    text = _text(data, "text", "The note")
    handoff = await _visible_handoff(request)
    note = await _ops_call(request.app[OPERATIONS].add_note(handoff, current_user(request), text))
    return web.json_response({"note": note.as_json()}, status=201)


async def whisper(request: web.Request) -> web.Response:
    _supervisor_only(request)
    data = await read_json_object(request)
    text = _text(data, "text", "The whisper")
    note = await _ops_call(request.app[OPERATIONS].whisper(_handoff_id(request), current_user(request), text))
    return web.json_response({"note": note.as_json()}, status=201)


async def transfer(request: web.Request) -> web.Response:
    data = await read_json_object(request)
    to_skill_group, to_agent = data.get("skill_group"), data.get("agent")
    for value, name in ((to_skill_group, "skill_group"), (to_agent, "agent")):
        if value is not None and not (isinstance(value, str) and 0 < len(value) <= 80):
            raise bad_request("bad_target", f"{name} must be a name.")
    note = _text(data, "note", "The transfer note", required=False)
    before = await _visible_handoff(request)  # an agent cannot even learn that another's chat exists
    handoff = await _ops_call(request.app[OPERATIONS].transfer(
        before.id, current_user(request), note, to_skill_group=to_skill_group, to_agent=to_agent))
    await record(request, current_user(request).username, audit.HANDOFF_TRANSFERRED, "handoff", handoff.id,
                 {"from": before.agent_username, "to_agent": to_agent, "to_skill_group": to_skill_group})
    return web.json_response({"handoff": handoff.as_json()})


async def takeover(request: web.Request) -> web.Response:
    _supervisor_only(request)
    before = await asyncio.to_thread(request.app[HANDOFFS].get, _handoff_id(request))
    handoff = await _ops_call(request.app[OPERATIONS].takeover(_handoff_id(request), current_user(request)))
    if before is not None and before.agent_username != handoff.agent_username:
        await record(request, current_user(request).username, audit.HANDOFF_TAKEN_OVER, "handoff", handoff.id,
                     {"from": before.agent_username})
    return web.json_response({"handoff": handoff.as_json()})


async def reassign(request: web.Request) -> web.Response:
    _supervisor_only(request)
    data = await read_json_object(request)
    to_agent = data.get("agent")
    if not (isinstance(to_agent, str) and 0 < len(to_agent) <= 80):
        raise bad_request("bad_target", "agent must be a username.")
    before = await asyncio.to_thread(request.app[HANDOFFS].get, _handoff_id(request))
    handoff = await _ops_call(request.app[OPERATIONS].reassign(_handoff_id(request), current_user(request), to_agent))
    await record(request, current_user(request).username, audit.HANDOFF_REASSIGNED, "handoff", handoff.id,
                 {"from": before.agent_username if before else None, "to_agent": to_agent})
    return web.json_response({"handoff": handoff.as_json()})


async def transfer_targets(request: web.Request) -> web.Response:
    """Whom a chat can be transferred to: the teams, and the agents online or away (not
    offline: nobody would answer), with their load. Names and status only."""
    agents = await asyncio.to_thread(request.app[DESK].routing.agents)
    staff = request.app[DESK].staff
    me = current_user(request).username
    out = []
    for a in agents:
        if a.status == "offline" or a.username == me:
            continue
        user = await asyncio.to_thread(staff.get, a.username)
        if user is None or not user.has_role("agent"):
            continue
        out.append({"username": a.username, "display_name": user.display_name, "status": a.status,
                    "skills": a.skills, "load": a.load, "capacity": a.capacity})
    return web.json_response({"skill_groups": list(SKILL_GROUPS), "agents": out})
