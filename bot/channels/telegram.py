"""Telegram, through Rasa's own connector (``rasa.core.channels.telegram``), with what
Rasa 3.6.21's version lacks for a served bot (docs/architecture.md, pitfalls):

* Its output channel is made once, inside the server's event loop. Rasa's builds a new
  one per call with ``asyncio.run(set_webhook)``: at start-up that binds aiogram's
  HTTP session to a loop that is then closed ("Event loop is closed" on every update),
  and during a handoff (agents' replies, ``output_channel=latest``) ``asyncio.run``
  cannot run inside the server's loop at all. The webhook is set at ``/set_webhook``.
* The Bot API server is a setting (``api_base_url``, aiogram's ``TelegramAPIServer``),
  so a local Bot API server or a test stand-in can be used.
* Updates are authenticated with the webhook's secret token (Telegram sends it in
  ``X-Telegram-Bot-Api-Secret-Token``; a wrong one gets ``403``) instead of a
  ``getMe`` call per update; an update id already handled is not handled again, on
  whichever Rasa replica (``bot/channels/callbacks_seen.py``).
* Photos, stickers, voice and other media get a polite text, not silence.
* A rate-limited call (429 with ``retry_after``) is retried after the pause Telegram asks for.

Configured in credentials.yml from ``TELEGRAM_*``; with no access token it answers 404.
"""
from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from aiogram import Bot
from aiogram.bot.api import TelegramAPIServer
from aiogram.types import Update
from aiogram.utils.exceptions import RetryAfter
from rasa.core.channels.channel import UserMessage
from rasa.core.channels.telegram import TelegramInput as RasaTelegramInput
from rasa.core.channels.telegram import TelegramOutput as RasaTelegramOutput
from sanic import Blueprint, response
from sanic.request import Request

from bot.channels.callbacks_seen import shared_callbacks_seen
from bot.channels.messaging import media_not_read
from bot.text_checks import TextRefused, check_customer_message

logger = logging.getLogger(__name__)

DEFAULT_API = "https://api.telegram.org"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class TelegramOutput(RasaTelegramOutput):
    # Telegram's "429 Too Many Requests" says how long to wait; waits longer than this are not.
    MAX_RETRY_AFTER = 30
    ATTEMPTS = 3

    def __init__(self, access_token: Optional[Text], api_base_url: str = DEFAULT_API) -> None:
        # Rasa's __init__ takes no server; aiogram's Bot does.
        Bot.__init__(self, access_token, server=TelegramAPIServer.from_base(api_base_url))

    async def request(self, method: str, data: Optional[Dict] = None, files: Optional[Dict] = None, **kwargs: Any):
        """Every Bot API call, retried after the pause a rate limit (429) asks for."""
        for attempt in range(self.ATTEMPTS):
            try:
                return await super().request(method, data, files, **kwargs)
            except RetryAfter as limited:
                if attempt == self.ATTEMPTS - 1 or limited.timeout > self.MAX_RETRY_AFTER:
                    raise
                logger.warning("telegram: rate limited on %s; retrying in %s s", method, limited.timeout)
                await asyncio.sleep(limited.timeout)


class TelegramInput(RasaTelegramInput):
    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "TelegramInput":
        credentials = credentials or {}
        channel = cls(credentials.get("access_token") or None, credentials.get("verify") or None,
                      credentials.get("webhook_url") or None, debug_mode=False)
        channel.api_base_url = str(credentials.get("api_base_url") or DEFAULT_API).rstrip("/")
        channel.secret_token = str(credentials.get("secret_token") or "")
        # Shared by the Rasa replicas: a repeated update reaching another one is still handled once.
        channel.seen = shared_callbacks_seen(cls.name())
        return channel

    def get_output_channel(self) -> Optional[TelegramOutput]:
        if not self.access_token:
            return None
        if getattr(self, "_output", None) is None:  # first made inside the running server
            self._output = TelegramOutput(self.access_token, getattr(self, "api_base_url", DEFAULT_API))
        return self._output

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint(f"telegram_webhook_{id(self)}", __name__)
        if getattr(self, "seen", None) is None:  # made without from_credentials
            self.seen = shared_callbacks_seen(self.name())

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> response.HTTPResponse:
            return response.json({"status": "ok" if self.access_token else "not configured"})

        @hook.route("/set_webhook", methods=["POST"])
        async def set_webhook(_: Request) -> response.HTTPResponse:
            if not self.access_token:
                return response.text("not configured", status=404)
            # aiogram 2.15 predates the Bot API's secret_token: the request is made by hand.
            payload = {"url": self.webhook_url, **({"secret_token": self.secret_token} if self.secret_token else {})}
            ok = await self.get_output_channel().request("setWebhook", payload)
            return response.text("Webhook setup successful" if ok else "Invalid webhook", status=200 if ok else 502)

        @hook.route("/webhook", methods=["POST"])
        async def message(request: Request) -> response.HTTPResponse:
            if not self.access_token:
                return response.text("not configured", status=404)
            given = request.headers.get(SECRET_HEADER, "")
            if self.secret_token and not hmac.compare_digest(given, self.secret_token):
                logger.warning("telegram: update with a wrong secret token refused")
                return response.text("forbidden", status=403)
            try:
                update = Update(**(request.json or {}))
            except Exception:  # not an update (aiogram raises various errors on junk)
                logger.warning("telegram: a body that is not an update refused")
                return response.text("bad request", status=400)
            if update.update_id is None or not await self.seen.first_time(str(update.update_id)):
                return response.text("success")
            output = self.get_output_channel()
            if update.callback_query is not None and update.callback_query.message is not None:
                chat, text = update.callback_query.message.chat, update.callback_query.data
            else:
                msg = update.message or update.edited_message
                if msg is None or msg.chat is None:
                    return response.text("success")
                chat = msg.chat
                if msg.text is None:  # photo, sticker, voice, document …
                    await output.send_message(chat.id, media_not_read(_language(msg)))
                    return response.text("success")
                text = msg.text
            try:
                text = check_customer_message(text)
            except TextRefused as refused:
                await output.send_message(chat.id, refused.reason)
                return response.text("success")
            await on_new_message(UserMessage(text, output, str(chat.id), input_channel=self.name(),
                                             metadata={"channel": "telegram"}))
            return response.text("success")

        return hook


def _language(message: Any) -> str:
    code = str(getattr(getattr(message, "from_user", None), "language_code", "") or "").lower()
    if code.startswith("zh"):
        return "zh-Hant" if any(tag in code for tag in ("hant", "tw", "hk", "mo")) else "zh-Hans"
    return "en" if code else "zh-Hans"
