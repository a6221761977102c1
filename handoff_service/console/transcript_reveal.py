"""POST /agent/api/handoffs/{handoff_id}/lines/{line_id}/reveal: the clear value of one
piece of personal data a customer (or agent) typed, which the console shows masked.

The request names the line and the span number the console got in the line's
``segments`` (``TranscriptLine.as_json``), and a reason. The span is found again in the
stored line, so the browser never holds a clear value it did not ask for. Allowed to
whoever may see the chat (a supervisor every chat, an agent their own and the queues
of their skills) for lines of that conversation or of the customer's earlier ones
(the customer history); every reveal goes into the audit log with the reason.
"""
from __future__ import annotations

import asyncio

from aiohttp import web

from bot.database import parse_row_id
from bot.privacy import mask_value
from handoff_service.audit import storage as audit
from handoff_service.audit.recorder import record
from handoff_service.auth import current_user
from handoff_service.console.customer_history import CUSTOMER_HISTORY
from handoff_service.console.handlers import HANDOFFS, TRANSCRIPTS, _handoff_id, _visible_to, reveal_reason
from handoff_service.web_errors import bad_request, not_found, read_json_object


def _conversations_of(request: web.Request, handoff) -> set:
    """This chat's conversation and the customer's others on every channel (as the history shows them)."""
    found = {handoff.conversation_id}
    history = request.app.get(CUSTOMER_HISTORY)
    if history is not None:
        identities = history.identities
        ref = identities.customer_of(handoff.input_channel, handoff.conversation_id) \
            or identities.customer_of(None, handoff.conversation_id)
        if ref is not None:
            found.update(identity.sender_id for identity in identities.identities_of(ref))
    return found


async def reveal_line(request: web.Request) -> web.Response:
    data = await read_json_object(request)
    span = data.get("span")
    if not isinstance(span, int) or isinstance(span, bool) or span < 0:
        raise bad_request("bad_span", "span must be the number of a masked value in the line.")
    reason = reveal_reason(data)
    handoff = await asyncio.to_thread(request.app[HANDOFFS].get, _handoff_id(request))
    if handoff is None or not await _visible_to(request, handoff):
        raise not_found("No such handoff.")
    try:
        line_id = parse_row_id(request.match_info["line_id"])
    except ValueError:
        raise not_found("No such line.")
    line = await asyncio.to_thread(request.app[TRANSCRIPTS].get, line_id)
    if line is None or line.conversation_id not in await asyncio.to_thread(_conversations_of, request, handoff):
        raise not_found("No such line.")
    spans = line.personal_spans()
    if span >= len(spans):
        raise not_found("No such masked value in this line.")
    found = spans[span]
    value = line.text[found.start:found.end]
    await record(request, current_user(request).username, audit.PERSONAL_DATA_REVEALED, "transcript_line", line.id,
                 {"handoff_id": handoff.id, "field": found.kind, "shown_as": mask_value(found.kind, value),
                  "reason": reason})
    response = web.json_response({"line_id": line.id, "span": span, "kind": found.kind, "value": value})
    response.headers["Cache-Control"] = "no-store"
    return response
