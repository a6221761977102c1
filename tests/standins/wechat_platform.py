"""A local stand-in of the WeChat Official Account and WeCom customer-service APIs,
following their published request and answer formats, for end-to-end tests.

    python -m tests.standins.wechat_platform --port 9100 --app-id wx1 --app-secret s1 \
        --corp-id ww1 --corp-secret s2

Platform side (what the connectors call):
    GET  /cgi-bin/token?grant_type=client_credential&appid=&secret=   → {access_token, expires_in}
    POST /cgi-bin/message/custom/send?access_token=                   → {errcode: 0, errmsg: "ok"}
    GET  /cgi-bin/gettoken?corpid=&corpsecret=                         → {errcode: 0, access_token, expires_in}
    POST /cgi-bin/kf/sync_msg?access_token=   {cursor, token, open_kfid, limit}
                                              → {errcode, next_cursor, has_more, msg_list}
    POST /cgi-bin/kf/send_msg?access_token=   {touser, open_kfid, msgtype, text}
                                              → {errcode: 0, errmsg: "ok", msgid}
Telegram's Bot API (as aiogram calls it: form fields, answers {ok, result}):
    POST /bot<token>/getMe | sendMessage | setWebhook    (another token: 401 Unauthorized)

Errors as the platform gives them: 40001 invalid credential / 42001 token expired,
45009 api freq out of limit, 40013 invalid appid.

Test side (the test drives and reads it):
    POST /standin/kf/messages {open_kfid, external_userid, msgtype, content, msgid}  a customer writes
    GET  /standin/sent?touser=&count=N   what was sent to a user, waiting (≤ 30 s) until there are N
    POST /standin/expire_tokens          every token issued so far becomes expired
    POST /standin/busy {"times": N}      the next N API calls answer 45009
    GET  /standin/stats                  {tokens_issued, busy_answered}
    GET  /standin/telegram/webhook       what setWebhook was given
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
from collections import defaultdict
from typing import Any, Dict, List

from aiohttp import web


class Platform:
    def __init__(self, app_id: str, app_secret: str, corp_id: str, corp_secret: str, telegram_token: str = ""):
        self.telegram_token = telegram_token
        self.telegram_webhook: Dict[str, Any] = {}
        self.message_ids = itertools.count(1)
        self.credentials = {("oa", app_id): app_secret, ("wecom", corp_id): corp_secret}
        self.valid_tokens: set = set()
        self.expired_tokens: set = set()
        self.token_numbers = itertools.count(1)
        self.tokens_issued = 0
        self.busy_left = 0
        self.busy_answered = 0
        self.sent: Dict[str, List[Dict[str, Any]]] = defaultdict(list)
        self.sent_changed = asyncio.Condition()
        self.kf_messages: List[Dict[str, Any]] = []

    def issue(self) -> Dict[str, Any]:
        token = f"TOKEN-{next(self.token_numbers)}"
        self.valid_tokens.add(token)
        self.tokens_issued += 1
        return {"access_token": token, "expires_in": 7200}

    def check(self, request: web.Request):
        """None when the call may go on, else the platform's error answer."""
        token = request.query.get("access_token", "")
        if token in self.expired_tokens:
            return {"errcode": 42001, "errmsg": "access_token expired"}
        if token not in self.valid_tokens:
            return {"errcode": 40001, "errmsg": "invalid credential"}
        if self.busy_left > 0:
            self.busy_left -= 1
            self.busy_answered += 1
            return {"errcode": 45009, "errmsg": "reach max api daily quota limit"}
        return None

    async def record(self, touser: str, message: Dict[str, Any]) -> None:
        async with self.sent_changed:
            self.sent[touser].append(message)
            self.sent_changed.notify_all()


PLATFORM = web.AppKey("platform", Platform)


async def oa_token(request: web.Request) -> web.Response:
    p, q = request.app[PLATFORM], request.query
    if q.get("grant_type") != "client_credential" or p.credentials.get(("oa", q.get("appid"))) != q.get("secret"):
        return web.json_response({"errcode": 40013, "errmsg": "invalid appid"})
    return web.json_response(p.issue())


async def wecom_token(request: web.Request) -> web.Response:
    p, q = request.app[PLATFORM], request.query
    if p.credentials.get(("wecom", q.get("corpid"))) != q.get("corpsecret"):
        return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
    return web.json_response({"errcode": 0, "errmsg": "ok", **p.issue()})


async def custom_send(request: web.Request) -> web.Response:
    p = request.app[PLATFORM]
    error = p.check(request)
    if error:
        return web.json_response(error)
    body = await request.json()
    if body.get("msgtype") != "text" or not isinstance((body.get("text") or {}).get("content"), str):
        return web.json_response({"errcode": 40008, "errmsg": "invalid message type"})
    await p.record(body["touser"], body)
    return web.json_response({"errcode": 0, "errmsg": "ok"})


async def kf_sync(request: web.Request) -> web.Response:
    p = request.app[PLATFORM]
    error = p.check(request)
    if error:
        return web.json_response(error)
    body = await request.json()
    start = int(body.get("cursor") or 0)
    kf = body.get("open_kfid")
    waiting = [m for m in p.kf_messages[start:] if not kf or m["open_kfid"] == kf]
    return web.json_response({"errcode": 0, "errmsg": "ok", "next_cursor": str(len(p.kf_messages)),
                              "has_more": 0, "msg_list": waiting})


async def kf_send(request: web.Request) -> web.Response:
    p = request.app[PLATFORM]
    error = p.check(request)
    if error:
        return web.json_response(error)
    body = await request.json()
    if not body.get("open_kfid") or body.get("msgtype") != "text":
        return web.json_response({"errcode": 95000, "errmsg": "invalid open_kfid or msgtype"})
    await p.record(body["touser"], body)
    return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": f"sent-{len(p.sent[body['touser']])}"})


async def telegram(request: web.Request) -> web.Response:
    p = request.app[PLATFORM]
    if not p.telegram_token or request.match_info["token"] != p.telegram_token:
        return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
    fields = dict(await request.post()) if request.content_type != "application/json" else await request.json()
    method = request.match_info["method"]
    if p.busy_left > 0:
        p.busy_left -= 1
        p.busy_answered += 1
        return web.json_response({"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                                  "parameters": {"retry_after": 1}}, status=429)
    if method == "getMe":
        return web.json_response({"ok": True, "result": {"id": 4242, "is_bot": True, "first_name": "Support",
                                                          "username": "support_test_bot"}})
    if method == "setWebhook":
        p.telegram_webhook = {k: str(v) for k, v in fields.items()}
        return web.json_response({"ok": True, "result": True, "description": "Webhook was set"})
    if method == "sendMessage":
        chat_id, text = str(fields.get("chat_id")), str(fields.get("text") or "")
        if not text:
            return web.json_response({"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}, status=400)
        markup = fields.get("reply_markup")
        await p.record(chat_id, {"text": {"content": text}, "reply_markup": json.loads(markup) if isinstance(markup, str) else markup})
        return web.json_response({"ok": True, "result": {
            "message_id": next(p.message_ids), "date": 1700000000, "text": text,
            "chat": {"id": int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id, "type": "private"}}})
    return web.json_response({"ok": False, "error_code": 404, "description": "Not Found: method not found"}, status=404)


async def telegram_webhook(request: web.Request) -> web.Response:
    return web.json_response(request.app[PLATFORM].telegram_webhook)


# ---- test side
async def kf_enqueue(request: web.Request) -> web.Response:
    p, body = request.app[PLATFORM], await request.json()
    message = {"msgid": body["msgid"], "open_kfid": body["open_kfid"], "external_userid": body["external_userid"],
               "send_time": 1700000000, "origin": body.get("origin", 3), "msgtype": body.get("msgtype", "text")}
    if message["msgtype"] == "text":
        message["text"] = {"content": body["content"]}
    else:
        message[message["msgtype"]] = {"media_id": "MEDIA"}
    p.kf_messages.append(message)
    return web.json_response({"ok": True})


async def sent(request: web.Request) -> web.Response:
    p = request.app[PLATFORM]
    touser, count = request.query["touser"], int(request.query.get("count", "1"))
    async with p.sent_changed:
        try:
            await asyncio.wait_for(p.sent_changed.wait_for(lambda: len(p.sent[touser]) >= count), 30)
        except asyncio.TimeoutError:
            pass
        return web.json_response({"messages": p.sent[touser]})


async def expire_tokens(request: web.Request) -> web.Response:
    p = request.app[PLATFORM]
    p.expired_tokens |= p.valid_tokens
    p.valid_tokens = set()
    return web.json_response({"ok": True})


async def busy(request: web.Request) -> web.Response:
    request.app[PLATFORM].busy_left = int((await request.json()).get("times", 1))
    return web.json_response({"ok": True})


async def stats(request: web.Request) -> web.Response:
    p = request.app[PLATFORM]
    return web.json_response({"tokens_issued": p.tokens_issued, "busy_answered": p.busy_answered})


async def health(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app(app_id: str, app_secret: str, corp_id: str, corp_secret: str, telegram_token: str = "") -> web.Application:
    app = web.Application()

    async def setup(app: web.Application) -> None:  # the Condition belongs to the running loop
        app[PLATFORM] = Platform(app_id, app_secret, corp_id, corp_secret, telegram_token)

    app.on_startup.append(setup)
    app.router.add_get("/cgi-bin/token", oa_token)
    app.router.add_post("/cgi-bin/message/custom/send", custom_send)
    app.router.add_get("/cgi-bin/gettoken", wecom_token)
    app.router.add_post("/cgi-bin/kf/sync_msg", kf_sync)
    app.router.add_post("/cgi-bin/kf/send_msg", kf_send)
    app.router.add_post("/standin/kf/messages", kf_enqueue)
    app.router.add_get("/standin/sent", sent)
    app.router.add_post("/standin/expire_tokens", expire_tokens)
    app.router.add_post("/standin/busy", busy)
    app.router.add_get("/standin/stats", stats)
    app.router.add_get("/healthz", health)
    app.router.add_post("/bot{token}/{method}", telegram)
    app.router.add_get("/standin/telegram/webhook", telegram_webhook)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    for name in ("app-id", "app-secret", "corp-id", "corp-secret"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--telegram-token", default="")
    args = parser.parse_args()
    web.run_app(create_app(args.app_id, args.app_secret, args.corp_id, args.corp_secret, args.telegram_token),
                host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
