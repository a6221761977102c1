"""WeChat Official Account (微信公众号) connector: ``/webhooks/wechat/webhook``.

Follows the published callback protocol:
* ``GET`` with ``signature``, ``timestamp``, ``nonce``, ``echostr``: the platform
  checking the URL; ``echostr`` is returned when the signature is ours.
* ``POST``: a message. In safe mode (``encoding_aes_key`` set, the only mode accepted
  then) the body is ``<xml><Encrypt>…</Encrypt></xml>`` signed by ``msg_signature``;
  in plain mode the query's ``signature`` is checked. A bad signature gets ``403``,
  a body that does not parse or decrypt ``400`` (the platform only calls with good
  ones; it shows the app's failures in its console). Neither logs the body.
* Replies: passive (in the HTTP answer, encrypted in safe mode) when the bot answers
  with one message within ``reply_deadline`` seconds (the platform waits 5 s);
  otherwise ``success`` and the messages through the customer-service message API
  (``/cgi-bin/message/custom/send``), as are agents' replies during a handoff.
* The access token (``/cgi-bin/token``) is cached and renewed; busy / rate-limited
  calls are retried (``bot/channels/messaging.py``).
* A callback the platform repeats (it does after 5 s without an answer) is handled
  once, whichever Rasa replica it reaches: by ``MsgId``, or sender + ``CreateTime``
  for events (``bot/channels/callbacks_seen.py``).
* Buttons become numbered options; pictures, voice, video and stickers get a polite
  text, in the language the customer last wrote in (zh-Hans before any). The sender id is the customer's ``openid``; the channel's name ``wechat``.

Configured in credentials.yml from ``WECHAT_*`` environment variables; with no token
the channel answers 404 (not configured).
"""
from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request

from bot.channels import wechat_xml
from bot.channels.messaging import (
    CustomerLanguages, NumberedOptions, PlatformApi, PlatformError, ReplyWindow, TextOnlyOutput, media_not_read,
)
from bot.channels.callbacks_seen import CallbacksSeen, shared_callbacks_seen
from bot.channels.offered_options import shared_offered_options
from bot.channels.wechat_crypto import DecryptError, MessageCrypto, SignatureInvalid, check_signature, signature
from bot.text_checks import TextRefused, check_customer_message

logger = logging.getLogger(__name__)

DEFAULT_API = "https://api.weixin.qq.com"
MEDIA_TYPES = frozenset(("image", "voice", "video", "shortvideo", "location", "link", "file"))
# The platform waits 5 s for the HTTP answer; what is not ready by then goes through the API.
REPLY_DEADLINE = 4.0


class WeChatOutput(TextOnlyOutput, OutputChannel):
    @classmethod
    def name(cls) -> Text:
        return "wechat"

    def __init__(self, api: PlatformApi, options: NumberedOptions, window: Optional[ReplyWindow] = None):
        self.api = api
        self.options = options
        self.window = window

    async def send_active(self, recipient_id: Text, text: Text) -> None:
        await self.api.post("/cgi-bin/message/custom/send",
                            {"touser": recipient_id, "msgtype": "text", "text": {"content": text}})

    async def _send(self, recipient_id: Text, text: Text) -> None:
        if self.window is not None:
            await self.window.add(text)
        else:
            await self.send_active(recipient_id, text)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self._send(recipient_id, text.strip())


class WeChatInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return "wechat"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "WeChatInput":
        credentials = credentials or {}
        return cls(
            token=str(credentials.get("token") or ""),
            app_id=str(credentials.get("app_id") or ""),
            app_secret=str(credentials.get("app_secret") or ""),
            encoding_aes_key=str(credentials.get("encoding_aes_key") or ""),
            api_base_url=str(credentials.get("api_base_url") or DEFAULT_API),
            reply_deadline=float(credentials.get("reply_deadline") or REPLY_DEADLINE),
            retry_pause=float(credentials.get("retry_pause") or 0.5),
        )

    def __init__(self, token: str, app_id: str, app_secret: str, encoding_aes_key: str = "",
                 api_base_url: str = DEFAULT_API, reply_deadline: float = REPLY_DEADLINE, retry_pause: float = 0.5,
                 seen: Optional[CallbacksSeen] = None,
                 offered: Optional[Any] = None):
        self.token = token
        self.app_id = app_id
        self.crypto = MessageCrypto(encoding_aes_key, app_id) if encoding_aes_key else None
        self.api = PlatformApi(api_base_url, "/cgi-bin/token",
                               {"grant_type": "client_credential", "appid": app_id, "secret": app_secret},
                               retry_pause=retry_pause)
        self.reply_deadline = reply_deadline
        # What was offered is known to every replica: the reply "2" may reach another one.
        self.options = NumberedOptions(shared=offered if offered is not None else shared_offered_options(self.name()))
        # Shared by the Rasa replicas: a repeat reaching another one is still handled once.
        self.seen = seen or shared_callbacks_seen(self.name())
        self.languages = CustomerLanguages()  # for the answer to media, in the customer's language
        self._background: set = set()

    def get_output_channel(self) -> OutputChannel:
        return WeChatOutput(self.api, self.options)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _read(self, request: Request) -> Dict[str, str]:
        """The callback's message; raises SignatureInvalid, DecryptError or XmlRefused."""
        args = request.args
        timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
        outer = wechat_xml.parse(request.body)
        if self.crypto is None:
            check_signature(args.get("signature"), self.token, timestamp, nonce)
            return outer
        encrypted = outer.get("Encrypt", "")
        check_signature(args.get("msg_signature"), self.token, timestamp, nonce, encrypted)
        return wechat_xml.parse(self.crypto.decrypt(encrypted).encode("utf-8"))

    def _answer(self, message: Dict[str, str], text: str) -> response.HTTPResponse:
        xml = wechat_xml.text_reply(message.get("FromUserName", ""), message.get("ToUserName", ""), text)
        if self.crypto is None:
            return response.text(xml, content_type="application/xml")
        timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
        encrypted = self.crypto.encrypt(xml)
        return response.text(
            wechat_xml.encrypted_reply(encrypted, signature(self.token, timestamp, nonce, encrypted), timestamp, nonce),
            content_type="application/xml",
        )

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint(f"wechat_webhook_{id(self)}", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> response.HTTPResponse:
            return response.json({"status": "ok" if self.token else "not configured"})

        @hook.route("/webhook", methods=["GET"])
        async def verify_url(request: Request) -> response.HTTPResponse:
            if not self.token:
                return response.text("not configured", status=404)
            args = request.args
            try:
                check_signature(args.get("signature"), self.token, args.get("timestamp", ""), args.get("nonce", ""))
            except SignatureInvalid:
                logger.warning("wechat: URL check with a bad signature refused")
                return response.text("invalid signature", status=403)
            return response.text(args.get("echostr", ""))

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> response.HTTPResponse:
            if not self.token:
                return response.text("not configured", status=404)
            try:
                message = self._read(request)
            except SignatureInvalid:
                logger.warning("wechat: callback with a bad signature refused")
                return response.text("invalid signature", status=403)
            except (DecryptError, wechat_xml.XmlRefused) as e:
                logger.warning("wechat: callback refused (%s)", type(e).__name__)
                return response.text("bad request", status=400)
            return await self._handle(message, on_new_message)

        return hook

    async def _handle(self, message: Dict[str, str], on_new_message) -> response.HTTPResponse:
        openid = message.get("FromUserName", "")
        kind = message.get("MsgType", "")
        key = message.get("MsgId") or f"{openid}:{message.get('CreateTime', '')}:{message.get('Event', '')}"
        if not openid or not await self.seen.first_time(key):
            return response.text("success")  # a repeat: the first one is being (or was) answered
        if kind in MEDIA_TYPES:
            return self._answer(message, media_not_read(self.languages.of(openid)))
        if kind != "text":
            return response.text("success")  # events (subscribe, menu clicks …): nothing to say yet
        self.languages.note(openid, message.get("Content", ""))
        try:
            text = check_customer_message(await self.options.resolve(openid, message.get("Content", "")))
        except TextRefused as refused:
            return self._answer(message, refused.reason)
        window = ReplyWindow(lambda reply: WeChatOutput(self.api, self.options).send_active(openid, reply))
        output = WeChatOutput(self.api, self.options, window)
        task = asyncio.ensure_future(on_new_message(
            UserMessage(text, output, openid, input_channel=self.name(), metadata={"channel": "wechat"})))
        done, _ = await asyncio.wait({task}, timeout=self.reply_deadline)
        if task in done and not task.exception() and len(window.messages) == 1:
            return self._answer(message, window.messages[0])
        self._spawn(self._deliver_rest(window, task))
        return response.text("success")

    @staticmethod
    async def _deliver_rest(window: ReplyWindow, task: "asyncio.Future") -> None:
        try:
            await window.go_active()
            await task
        except PlatformError as e:
            logger.error("wechat: a reply could not be delivered (errcode %s)", e.errcode)
        except Exception:
            logger.exception("wechat: handling a message failed")
