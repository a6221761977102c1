"""Demo pages: pick a demo customer to be signed in as, chat as them, see what was "sent".

The signed-in page plays the host website: it signs a short-lived customer token with
CUSTOMER_JWT_SECRET (as the host site would) and gives it to the chat page, which passes
it in the socket.io session metadata (actions/accounts/identity.py checks it). The
outbox API answers only for the conversation id the browser names, and a conversation id
is a random value only that browser holds: nobody else's codes are shown.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import re

import aiohttp_jinja2
import jwt
from aiohttp import web

from actions.accounts import SqlAccounts
from actions.accounts.repository import mask_phone
from actions.accounts.senders import demo_outbox, sent_in_conversation
from bot.settings import Settings
from handoff_service.web_errors import json_error

SETTINGS = web.AppKey("demo_settings", Settings)
ACCOUNTS = web.AppKey("demo_accounts", SqlAccounts)
OFFERED_CUSTOMERS = 8
TOKEN_LIFETIME = dt.timedelta(hours=1)
CONVERSATION_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


async def index(request: web.Request) -> web.Response:
    customers = await asyncio.to_thread(request.app[ACCOUNTS].first_customers, OFFERED_CUSTOMERS)
    return aiohttp_jinja2.render_template("demo_index.html", request, {
        "customers": [{"ref": c.ref, "name": c.display_name, "language": c.language, "phone": c.masked_phone}
                      for c in customers],
        "login_enabled": bool(request.app[SETTINGS].customer_jwt_secret),
    })


def customer_token(settings: Settings, customer_ref: str, now: dt.datetime) -> str:
    """What the host site gives a signed-in customer's chat (identity.py's claims)."""
    return jwt.encode({"sub": customer_ref, "aud": settings.customer_jwt_audience, "iss": settings.customer_jwt_issuer,
                       "iat": now, "exp": now + TOKEN_LIFETIME}, settings.customer_jwt_secret, "HS256")


async def signed_in_chat(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    ref = request.match_info["customer_ref"]
    if not ref.isdigit() or len(ref) > 12:
        raise web.HTTPNotFound(text="No such demo customer.")
    if not settings.customer_jwt_secret:
        raise web.HTTPServiceUnavailable(text="Signed-in customers need CUSTOMER_JWT_SECRET (make run sets one).")
    customer = await asyncio.to_thread(request.app[ACCOUNTS].get, int(ref))
    if customer is None:
        raise web.HTTPNotFound(text="No such demo customer.")
    response = aiohttp_jinja2.render_template("chat.html", request, {
        "rasa_url": settings.public_rasa_url, "demo_outbox": True, "signed_in_as": customer.display_name,
        "customer_token": customer_token(settings, customer.ref, dt.datetime.now(dt.timezone.utc)),
        # Its own conversation, apart from the anonymous chat's in the same browser.
        "session_scope": f"customer-{customer.ref}",
    })
    response.headers["Cache-Control"] = "no-store"  # the page holds a token
    return response


async def outbox(request: web.Request) -> web.Response:
    conversation = request.query.get("conversation", "")
    if not CONVERSATION_ID.fullmatch(conversation):
        return json_error(400, "bad_conversation", "conversation must be the chat's conversation id.")
    sent = await asyncio.to_thread(sent_in_conversation, demo_outbox(request.app[SETTINGS].var_dir), conversation)
    return web.json_response(
        {"messages": [{"kind": m["kind"], "to": mask_phone(m["to"]), "text": m["text"], "sent_at": m["sent_at"]}
                      for m in sent]},
        headers={"Cache-Control": "no-store"})
