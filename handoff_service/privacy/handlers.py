"""Supervisors' page for a customer's request: export everything held, or erase it."""
from __future__ import annotations

import asyncio
import json

import aiohttp_jinja2
from aiohttp import web

from bot.database import parse_row_id
from handoff_service.audit.recorder import AUDIT
from handoff_service.auth import current_user
from handoff_service.privacy.customer_records import (
    ERASE,
    EXPORT,
    CustomerRecords,
    NoSuchCustomer,
    RequestRefused,
    carry_out_request,
)

RECORDS = web.AppKey("customer_records", CustomerRecords)


@aiohttp_jinja2.template("customer_requests.html")
async def requests_page(request: web.Request):
    return {"form": {}, "error": None, "erased": None}


def _customer_id(raw: str):
    try:
        return parse_row_id(raw) if raw else None
    except ValueError:
        raise RequestRefused("The customer id is a whole number.") from None


def _handler(kind: str, respond):
    """A POST handler that carries out one kind of request, then ``respond(request,
    customer_id, result)``; a request that cannot be carried out gets the form back with why."""
    async def handle(request: web.Request) -> web.StreamResponse:
        form = await request.post()
        values = {k: str(form.get(k, "")).strip() for k in ("customer_id", "phone", "reason")}
        try:
            if kind == ERASE and form.get("confirm") != "yes":
                raise RequestRefused("Tick the box to confirm the erasure; it cannot be undone.")
            customer_id, result = await asyncio.to_thread(
                carry_out_request, request.app[RECORDS], request.config_dict[AUDIT], current_user(request).username,
                kind, values["reason"], _customer_id(values["customer_id"]), values["phone"],
            )
        except RequestRefused as e:
            error, status = str(e), 400
        except NoSuchCustomer:
            error, status = "No customer with that id or phone number.", 404
        else:
            return respond(request, customer_id, result)
        return aiohttp_jinja2.render_template(
            "customer_requests.html", request, {"form": values, "error": error, "erased": None}, status=status)
    return handle


def _download(request: web.Request, customer_id: int, data) -> web.Response:
    return web.Response(
        body=json.dumps(data, ensure_ascii=False, indent=2).encode(), content_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="customer-{customer_id}.json"', "Cache-Control": "no-store"},
    )


def _erased_page(request: web.Request, customer_id: int, erased) -> web.Response:
    return aiohttp_jinja2.render_template(
        "customer_requests.html", request, {"form": {}, "error": None, "erased": {"customer_id": customer_id, **erased}})


export = _handler(EXPORT, _download)
erase = _handler(ERASE, _erased_page)
