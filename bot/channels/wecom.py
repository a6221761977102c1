"""WeCom customer service (企业微信客服) connector: ``/webhooks/wecom/webhook``.

Follows the published protocol of WeCom's "微信客服" API:
* ``GET`` with ``msg_signature``, ``timestamp``, ``nonce``, ``echostr``: the URL
  check; ``echostr`` is encrypted and is answered decrypted.
* ``POST``: always encrypted (``<xml><Encrypt>…</Encrypt></xml>``, receive id = corp
  id), signed by ``msg_signature``. The callback only says that messages wait
  (``Event`` ``kf_msg_or_event`` with a ``Token``); they are fetched with
  ``/cgi-bin/kf/sync_msg`` (from a cursor) and answered with ``/cgi-bin/kf/send_msg``.
  The callback is answered at once with an empty 200; there are no passive replies.
  A bad signature gets ``403``, an undecryptable body ``400``; neither logs the body.
* Each fetched message is handled once (by ``msgid``), whether the callback or the
  fetch is repeated, on whichever Rasa replica (``bot/channels/callbacks_seen.py``). Only customers' messages (``origin`` 3) go to the bot.
* Access token from ``/cgi-bin/gettoken`` (corp id + the customer-service secret),
  cached, renewed; busy / rate-limited calls retried (``bot/channels/messaging.py``).
* Buttons become numbered options; pictures, voice, video, files and stickers get a
  polite text, in the language the customer last wrote in (zh-Hans before any). The sender id is ``<external_userid>@<open_kfid>`` (the reply must
  name both); the channel's name ``wecom``.

Configured in credentials.yml from ``WECOM_*`` environment variables; with no token
the channel answers 404 (not configured). The sync cursor is kept in memory: after a
restart (or on another replica) the platform's 3-day window is fetched again, and the
shared record of handled ``msgid``s (4 days) keeps those messages from being answered twice.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text, Tuple

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request

from bot.channels import wechat_xml
from bot.channels.messaging import (
    CustomerLanguages, NumberedOptions, PlatformApi, PlatformError, TextOnlyOutput, media_not_read,
)
from bot.channels.callbacks_seen import CallbacksSeen, shared_callbacks_seen
from bot.channels.offered_options import shared_offered_options
from bot.channels.wechat_crypto import DecryptError, MessageCrypto, SignatureInvalid, check_signature
from bot.text_checks import TextRefused, check_customer_message

logger = logging.getLogger(__name__)

DEFAULT_API = "https://qyapi.weixin.qq.com"
MEDIA_TYPES = frozenset(("image", "voice", "video", "file", "location", "link", "business_card", "miniprogram",
                         "channels_shop_product", "channels"))
CUSTOMER = 3  # sync_msg "origin": 3 = the WeChat customer, 4 = system, 5 = a staff member


def split_sender(sender_id: str) -> Tuple[str, str]:
    user, _, kf = sender_id.rpartition("@")
    return user, kf


class WeComOutput(TextOnlyOutput, OutputChannel):
    @classmethod
    def name(cls) -> Text:
        return "wecom"

    def __init__(self, api: PlatformApi, options: NumberedOptions):
        self.api = api
        self.options = options

    async def _send(self, recipient_id: Text, text: Text) -> None:
        user, kf = split_sender(recipient_id)
        await self.api.post("/cgi-bin/kf/send_msg",
                            {"touser": user, "open_kfid": kf, "msgtype": "text", "text": {"content": text}})

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self._send(recipient_id, text.strip())


class WeComInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return "wecom"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "WeComInput":
        credentials = credentials or {}
        return cls(
            token=str(credentials.get("token") or ""),
            corp_id=str(credentials.get("corp_id") or ""),
            secret=str(credentials.get("secret") or ""),
            encoding_aes_key=str(credentials.get("encoding_aes_key") or ""),
            api_base_url=str(credentials.get("api_base_url") or DEFAULT_API),
            retry_pause=float(credentials.get("retry_pause") or 0.5),
        )

    def __init__(self, token: str, corp_id: str, secret: str, encoding_aes_key: str,
                 api_base_url: str = DEFAULT_API, retry_pause: float = 0.5, seen: Optional[CallbacksSeen] = None,
                 offered: Optional[Any] = None):
        self.token = token if encoding_aes_key else ""  # WeCom callbacks are always encrypted
        self.crypto = MessageCrypto(encoding_aes_key, corp_id) if encoding_aes_key else None
        self.api = PlatformApi(api_base_url, "/cgi-bin/gettoken", {"corpid": corp_id, "corpsecret": secret},
                               retry_pause=retry_pause)
        # What was offered is known to every replica: the reply "2" may reach another one.
        self.options = NumberedOptions(shared=offered if offered is not None else shared_offered_options(self.name()))
        # Shared by the Rasa replicas and kept across restarts (bot/channels/callbacks_seen.py).
        self.seen = seen or shared_callbacks_seen(self.name())
        self.languages = CustomerLanguages()  # for the answer to media, in the customer's language
        self.cursors: Dict[str, str] = {}
        self._sync_lock = asyncio.Lock()
        self._background: set = set()

    def get_output_channel(self) -> OutputChannel:
        return WeComOutput(self.api, self.options)

    def _decrypt(self, request: Request, encrypted: str) -> str:
        args = request.args
        check_signature(args.get("msg_signature"), self.token, args.get("timestamp", ""), args.get("nonce", ""),
                        encrypted)
        return self.crypto.decrypt(encrypted)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint(f"wecom_webhook_{id(self)}", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> response.HTTPResponse:
            return response.json({"status": "ok" if self.token else "not configured"})

        @hook.route("/webhook", methods=["GET"])
        async def verify_url(request: Request) -> response.HTTPResponse:
            if not self.token:
                return response.text("not configured", status=404)
            try:
                return response.text(self._decrypt(request, request.args.get("echostr", "")))
            except SignatureInvalid:
                logger.warning("wecom: URL check with a bad signature refused")
                return response.text("invalid signature", status=403)
            except DecryptError:
                logger.warning("wecom: URL check that does not decrypt refused")
                return response.text("bad request", status=400)

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> response.HTTPResponse:
            if not self.token:
                return response.text("not configured", status=404)
            try:
                outer = wechat_xml.parse(request.body)
                event = wechat_xml.parse(self._decrypt(request, outer.get("Encrypt", "")).encode("utf-8"))
            except SignatureInvalid:
                logger.warning("wecom: callback with a bad signature refused")
                return response.text("invalid signature", status=403)
            except (DecryptError, wechat_xml.XmlRefused) as e:
                logger.warning("wecom: callback refused (%s)", type(e).__name__)
                return response.text("bad request", status=400)
            if event.get("Event") == "kf_msg_or_event":
                task = asyncio.ensure_future(self._sync(event.get("Token", ""), event.get("OpenKfId", ""), on_new_message))
                self._background.add(task)
                task.add_done_callback(self._background.discard)
            return response.text("")

        return hook

    async def _sync(self, token: str, open_kfid: str, on_new_message) -> None:
        """Fetch what waits and hand each new customer message to the bot, in order."""
        try:
            async with self._sync_lock:
                has_more = True
                while has_more:
                    body = {"token": token, "open_kfid": open_kfid, "limit": 1000}
                    if self.cursors.get(open_kfid):
                        body["cursor"] = self.cursors[open_kfid]
                    result = await self.api.post("/cgi-bin/kf/sync_msg", body)
                    for message in result.get("msg_list") or []:
                        await self._handle(message, on_new_message)
                    if result.get("next_cursor"):
                        self.cursors[open_kfid] = result["next_cursor"]
                    has_more = bool(result.get("has_more"))
        except PlatformError as e:
            logger.error("wecom: fetching messages failed (errcode %s)", e.errcode)
        except Exception:
            logger.exception("wecom: handling messages failed")

    async def _handle(self, message: Dict[str, Any], on_new_message) -> None:
        if message.get("origin") != CUSTOMER or not await self.seen.first_time(str(message.get("msgid"))):
            return
        user, kf = str(message.get("external_userid") or ""), str(message.get("open_kfid") or "")
        if not user or not kf:
            return
        sender = f"{user}@{kf}"
        output = WeComOutput(self.api, self.options)
        kind = message.get("msgtype")
        if kind in MEDIA_TYPES:
            await output.send_text_message(sender, media_not_read(self.languages.of(sender)))
            return
        if kind != "text":
            return  # events (enter_session …)
        content = (message.get("text") or {}).get("content")
        self.languages.note(sender, content if isinstance(content, str) else "")
        try:
            text = check_customer_message(await self.options.resolve(sender, content))
        except TextRefused as refused:
            await output.send_text_message(sender, refused.reason)
            return
        await on_new_message(UserMessage(text, output, sender, input_channel=self.name(),
                                         metadata={"channel": "wecom"}))
