"""GET /agent/api/handoffs/{id}/customer-history: the customer's conversations on every
channel they verified on (channels #10; the console's "Earlier conversations",
static/console_history.js, reads it)."""
from __future__ import annotations

import asyncio

from aiohttp import web

from handoff_service.audit import storage as audit
from handoff_service.audit.recorder import record
from handoff_service.auth import current_user
from handoff_service.console.handlers import HANDOFFS, _handoff_id, _visible_to
from handoff_service.identities.history import CustomerHistory
from handoff_service.web_errors import not_found

CUSTOMER_HISTORY = web.AppKey("customer_history", CustomerHistory)


async def customer_history(request: web.Request) -> web.Response:
    handoff = await asyncio.to_thread(request.app[HANDOFFS].get, _handoff_id(request))
    # The same rule as the handoff itself: another team's customer is not this agent's to read.
    if handoff is None or not await _visible_to(request, handoff):
        raise not_found("No such handoff.")
    # The customer the bot verified, as the handoff says: the link of this very conversation
    # is made from the event stream and may not be there yet; the earlier ones are.
    history = await asyncio.to_thread(request.app[CUSTOMER_HISTORY].for_handoff, handoff, handoff.customer_ref)
    # privacy (#14): a customer record opened, like the chat itself.
    await record(request, current_user(request).username, audit.CUSTOMER_HISTORY_OPENED, "handoff", handoff.id,
                 {"customer_ref": history.get("customer_ref"), "conversations": len(history.get("conversations") or [])})
    return web.json_response({"handoff_id": handoff.id, "input_channel": handoff.input_channel, **history})
