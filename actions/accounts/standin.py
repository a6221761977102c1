"""A local stand-in for a CRM / billing service: the HTTP protocol ``http.py`` speaks,
answered from the SQL repository on the app database.

    python -m actions.accounts.standin --port 8100

Tests and the demo start it as a process (``ACCOUNTS_BACKEND_URL`` then points the
action server at it). With ``--faults`` it also takes ``POST /_faults
{"delay": seconds, "down": bool}``: every later call is answered late (the work done, the
answer held back, as a slow system does: a change the client gave up on is made all the
same), or answered 503 (nothing done), so tests can show the bot surviving a slow or
failed backend.
"""
from __future__ import annotations

import argparse
import asyncio
import hmac
from typing import Optional

from aiohttp import web

from actions.accounts import repository as r
from actions.accounts.sql import SqlAccounts
from actions.accounts.wire import dump
from bot.database import create_engine
from bot.settings import Settings

ACCOUNTS = web.AppKey("accounts", SqlAccounts)
FAULTS = web.AppKey("faults", dict)


def _customer_id(request: web.Request) -> int:
    try:
        return int(request.match_info["customer_id"])
    except ValueError:
        raise web.HTTPNotFound() from None


async def _run(request: web.Request, fn, *args):
    return await asyncio.to_thread(fn, *args)


# ---------------------------------------------------------------- handlers
async def verify(request: web.Request) -> web.Response:
    body = await request.json()
    try:
        customer = await _run(request, request.app[ACCOUNTS].verify, str(body.get("phone", "")), str(body.get("pin", "")))
    except r.AccountLocked as e:
        return web.json_response({"until": e.until.isoformat()}, status=423)
    if customer is None:
        return web.json_response({"error": "no match"}, status=401)
    return web.json_response(dump(customer))


async def issue_code(request: web.Request) -> web.Response:
    body = await request.json()
    try:
        issued = await _run(request, request.app[ACCOUNTS].issue_code, str(body.get("phone", "")))
    except r.AccountLocked as e:
        return web.json_response({"until": e.until.isoformat()}, status=423)
    if issued is None:
        raise web.HTTPNotFound()
    customer, code = issued
    return web.json_response({"customer": dump(customer), "code": code}, status=201)


async def verify_code(request: web.Request) -> web.Response:
    body = await request.json()
    try:
        customer = await _run(request, request.app[ACCOUNTS].verify_code, str(body.get("phone", "")),
                              str(body.get("code", "")))
    except r.AccountLocked as e:
        return web.json_response({"until": e.until.isoformat()}, status=423)
    if customer is None:
        return web.json_response({"error": "no match"}, status=401)
    return web.json_response(dump(customer))


async def customer(request: web.Request) -> web.Response:
    found = await _run(request, request.app[ACCOUNTS].get, _customer_id(request))
    if found is None:
        raise web.HTTPNotFound()
    return web.json_response(dump(found))


async def bills(request: web.Request) -> web.Response:
    months = min(24, max(1, int(request.query.get("months", "6"))))
    return web.json_response(dump(await _run(request, request.app[ACCOUNTS].bills, _customer_id(request), months)))


async def usage(request: web.Request) -> web.Response:
    found = await _run(request, request.app[ACCOUNTS].usage, _customer_id(request))
    if found is None:
        raise web.HTTPNotFound()
    return web.json_response(dump(found))


async def payments(request: web.Request) -> web.Response:
    limit = min(50, max(1, int(request.query.get("limit", "5"))))
    return web.json_response(dump(await _run(request, request.app[ACCOUNTS].payments, _customer_id(request), limit)))


async def orders(request: web.Request) -> web.Response:
    return web.json_response(dump(await _run(request, request.app[ACCOUNTS].orders, _customer_id(request))))


async def tickets(request: web.Request) -> web.Response:
    open_only = request.query.get("open_only", "1") != "0"
    return web.json_response(dump(await _run(request, request.app[ACCOUNTS].tickets, _customer_id(request), open_only)))


async def report_fault(request: web.Request) -> web.Response:
    body = await request.json()
    ticket = await _run(request, request.app[ACCOUNTS].report_fault, _customer_id(request), str(body["what"]),
                        str(body["where"]), str(body["since"]), str(body["request_key"]))
    return web.json_response(dump(ticket), status=201)


async def plans(request: web.Request) -> web.Response:
    return web.json_response(dump(await _run(request, request.app[ACCOUNTS].plans)))


async def change_plan(request: web.Request) -> web.Response:
    body = await request.json()
    try:
        change = await _run(request, request.app[ACCOUNTS].change_plan, _customer_id(request),
                            str(body["plan_code"]), str(body["request_key"]))
    except r.UnknownPlan:
        return web.json_response({"error": "unknown plan"}, status=422)
    return web.json_response(dump(change))


async def profile(request: web.Request) -> web.Response:
    return web.json_response(await _run(request, request.app[ACCOUNTS].profile_summary, str(_customer_id(request))))


async def set_faults(request: web.Request) -> web.Response:
    body = await request.json()
    request.app[FAULTS].update(delay=float(body.get("delay") or 0), down=bool(body.get("down")))
    return web.json_response(request.app[FAULTS])


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


# ---------------------------------------------------------------- app
def _middlewares(token: Optional[str]):
    @web.middleware
    async def guard(request: web.Request, handler):
        if request.path in ("/healthz", "/_faults"):
            return await handler(request)
        if token and not hmac.compare_digest(request.headers.get("Authorization", ""), f"Bearer {token}"):
            raise web.HTTPUnauthorized()
        faults = request.app[FAULTS]
        if faults.get("down"):
            raise web.HTTPServiceUnavailable()
        response = await handler(request)
        if faults.get("delay"):
            await asyncio.sleep(faults["delay"])  # a slow backend, as the client sees it
        return response
    return [guard]


def create_app(accounts: SqlAccounts, token: Optional[str] = None, faults: bool = False) -> web.Application:
    app = web.Application(middlewares=_middlewares(token))
    app[ACCOUNTS] = accounts
    app[FAULTS] = {"delay": 0.0, "down": False}
    app.router.add_get("/healthz", healthz)
    app.router.add_post("/verify", verify)
    app.router.add_post("/login-codes", issue_code)
    app.router.add_post("/login-codes/verify", verify_code)
    app.router.add_get("/plans", plans)
    app.router.add_get("/customers/{customer_id}", customer)
    app.router.add_get("/customers/{customer_id}/bills", bills)
    app.router.add_get("/customers/{customer_id}/usage", usage)
    app.router.add_get("/customers/{customer_id}/payments", payments)
    app.router.add_get("/customers/{customer_id}/orders", orders)
    app.router.add_get("/customers/{customer_id}/tickets", tickets)
    app.router.add_post("/customers/{customer_id}/tickets", report_fault)
    app.router.add_post("/customers/{customer_id}/plan-changes", change_plan)
    app.router.add_get("/customers/{customer_id}/profile", profile)
    if faults:
        app.router.add_post("/_faults", set_faults)
    return app


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--faults", action="store_true", help="accept POST /_faults (tests only)")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    app = create_app(SqlAccounts(create_engine(settings.database_url)), settings.accounts_backend_token, args.faults)
    web.run_app(app, host=settings.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
