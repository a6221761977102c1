"""What the messaging-app connectors share (WeChat Official Account, WeCom customer
service): access tokens, API calls with retries, callbacks seen once, buttons as
numbered options, and a polite answer to media the bot cannot read.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections import OrderedDict
from typing import Any, Awaitable, Callable, Dict, List, Optional

import aiohttp

from bot.nlu.language import detect_language

logger = logging.getLogger(__name__)

# Tencent's errcodes: the token is invalid or expired (get a new one and try again) ...
TOKEN_ERRORS = frozenset((40001, 40014, 42001))
# ... the platform is busy or the app calls too often (wait and try again).
RETRY_ERRORS = frozenset((-1, 45009, 45011))


class PlatformError(RuntimeError):
    def __init__(self, errcode: int, errmsg: str = ""):
        super().__init__(f"platform error {errcode}")  # errmsg may quote a user's id: kept out of str()
        self.errcode = errcode
        self.errmsg = errmsg


class PlatformApi:
    """Calls to one app's API: a cached access token refreshed before it expires and when
    the platform says it is no longer valid; busy / rate-limited calls retried with
    growing pauses (``retry_pause`` × 1, 2, 4 …, at most ``attempts`` tries)."""

    def __init__(self, base_url: str, token_path: str, token_params: Dict[str, str],
                 attempts: int = 4, retry_pause: float = 0.5, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.token_path = token_path
        self.token_params = token_params
        self.attempts = attempts
        self.retry_pause = retry_pause
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._token: Optional[str] = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()
        self._session: Optional[aiohttp.ClientSession] = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def access_token(self, refresh: bool = False) -> str:
        async with self._token_lock:
            if refresh or not self._token or time.monotonic() >= self._token_expires:
                async with self._http().get(f"{self.base_url}{self.token_path}", params=self.token_params) as resp:
                    body = await resp.json(content_type=None)
                if not body.get("access_token"):
                    raise PlatformError(int(body.get("errcode") or -1), str(body.get("errmsg") or ""))
                self._token = body["access_token"]
                # Renewed five minutes early (or halfway, for short lives), as Tencent advises.
                lifetime = float(body.get("expires_in") or 7200)
                self._token_expires = time.monotonic() + max(lifetime - 300, lifetime / 2)
            return self._token

    async def post(self, path: str, payload: Dict[str, Any]) -> Dict[str, Any]:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")  # Chinese as itself, as the API expects
        refreshed = False
        for attempt in range(self.attempts):
            token = await self.access_token()
            try:
                async with self._http().post(f"{self.base_url}{path}", params={"access_token": token}, data=data,
                                             headers={"Content-Type": "application/json"}) as resp:
                    body = await resp.json(content_type=None)
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
                body = {"errcode": -1}
            errcode = int(body.get("errcode") or 0)
            if errcode == 0:
                return body
            if errcode in TOKEN_ERRORS and not refreshed:
                refreshed = True
                await self.access_token(refresh=True)
                continue
            if errcode not in RETRY_ERRORS or attempt == self.attempts - 1:
                raise PlatformError(errcode, str(body.get("errmsg") or ""))
            logger.warning("platform busy (errcode %s) on %s; retrying", errcode, path)
            await asyncio.sleep(self.retry_pause * 2 ** attempt)
        raise PlatformError(-1)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class SeenOnce:
    """Ids of callbacks already handled (the platform repeats a callback it did not get an
    answer to in time): each is processed once. Bounded: the most recent ``size``."""

    def __init__(self, size: int = 10_000):
        self.size = size
        self._seen: "OrderedDict[str, None]" = OrderedDict()

    def first_time(self, key: str) -> bool:
        if key in self._seen:
            return False
        self._seen[key] = None
        while len(self._seen) > self.size:
            self._seen.popitem(last=False)
        return True


class NumberedOptions:
    """Buttons where the app has none: the choices are listed with numbers, and a reply
    that is just one of those numbers is taken as that button's payload.

    With ``shared`` (``bot/channels/offered_options.py``) what was offered is known to
    every Rasa replica, so the reply may reach another one than the offer came from;
    this process's memory serves when the shared record cannot be reached."""

    NUMBER = re.compile(r"\s*([0-9０-９]{1,2})\s*[.。、]?\s*")

    def __init__(self, conversations: int = 10_000, shared: Optional[Any] = None):
        self.conversations = conversations
        self.shared = shared
        self._offered: "OrderedDict[str, List[str]]" = OrderedDict()
        self._warned = False

    def _shared_failed(self, error: Exception) -> None:
        if not self._warned:
            self._warned = True
            logger.warning("the shared record of offered options is unreachable (%s); using this process's memory",
                           type(error).__name__)

    async def render(self, recipient_id: str, text: str, buttons: List[Dict[str, Any]]) -> str:
        payloads, lines = [], [text.strip()] if text and text.strip() else []
        for i, button in enumerate(buttons, 1):
            title = str(button.get("title") or button.get("payload") or "")
            payloads.append(str(button.get("payload") or title))
            lines.append(f"{i}. {title}")
        self._offered[recipient_id] = payloads
        self._offered.move_to_end(recipient_id)
        while len(self._offered) > self.conversations:
            self._offered.popitem(last=False)
        if self.shared is not None:
            try:
                await self.shared.put(recipient_id, payloads)
            except Exception as e:  # the memory above still serves replies to this process
                self._shared_failed(e)
        return "\n".join(lines)

    async def resolve(self, recipient_id: str, text: str) -> str:
        """The payload when ``text`` picks an offered option; else the text unchanged.
        An option is picked once: later numbers are the customer's own words."""
        match = self.NUMBER.fullmatch(text or "")
        if not match:
            return text
        number = int(match.group(1).translate(str.maketrans("０１２３４５６７８９", "0123456789")))
        if self.shared is not None:
            try:
                payload = await self.shared.take(recipient_id, number)
            except Exception as e:
                self._shared_failed(e)
            else:
                if payload is not None:
                    self._offered.pop(recipient_id, None)
                return text if payload is None else payload
        offered = self._offered.get(recipient_id)
        if not offered or not 1 <= number <= len(offered):
            return text
        del self._offered[recipient_id]
        return offered[number - 1]


# What a customer who sent a picture, a voice message or a sticker is told.
MEDIA_NOT_READ = {
    "zh-Hans": "抱歉，我暂时只能看懂文字消息。请用文字描述您的问题，或输入“转人工”联系人工客服。",
    "zh-Hant": "抱歉，我暫時只能看懂文字訊息。請用文字描述您的問題，或輸入「轉人工」聯絡真人客服。",
    "en": "Sorry, I can only read text messages for now. Please describe your question in words, "
          "or type \"talk to a human\" to reach a person.",
}


def media_not_read(language: str = "zh-Hans") -> str:
    return MEDIA_NOT_READ.get(language, MEDIA_NOT_READ["zh-Hans"])


class CustomerLanguages:
    """The language each customer last wrote in, for what the connector answers itself
    (media it cannot read): the NLU's rule (``bot/nlu/language.py``), the script tells,
    and text that does not ("2", "你好") keeps the language before. zh-Hans until a text
    tells. This process's memory only: a customer whose texts reached another Rasa replica
    is answered in zh-Hans there."""

    DEFAULT = "zh-Hans"

    def __init__(self, customers: int = 10_000):
        self.customers = customers
        self._language: "OrderedDict[str, str]" = OrderedDict()

    def note(self, recipient_id: str, text: str) -> None:
        language = detect_language(text or "")
        if language:
            self._language[recipient_id] = language
        if recipient_id in self._language:
            self._language.move_to_end(recipient_id)
        while len(self._language) > self.customers:
            self._language.popitem(last=False)

    def of(self, recipient_id: str) -> str:
        return self._language.get(recipient_id, self.DEFAULT)


class ReplyWindow:
    """The bot's answers to one callback: passive (in the HTTP answer) when exactly one
    arrives within the platform's deadline, otherwise sent through the API in order."""

    def __init__(self, send_active: Callable[[str], Awaitable[None]]):
        self.send_active = send_active
        self.messages: List[str] = []
        self.active = False
        self._lock = asyncio.Lock()

    async def add(self, text: str) -> None:
        async with self._lock:
            if self.active:
                await self.send_active(text)
            else:
                self.messages.append(text)

    async def go_active(self) -> None:
        async with self._lock:
            self.active = True
            pending, self.messages = self.messages, []
            for text in pending:
                await self.send_active(text)


class TextOnlyOutput:
    """What a text-only messaging app gets for Rasa's richer messages (mixed into an
    OutputChannel that defines ``_send(recipient_id, text)`` and ``options``): buttons and
    quick replies as numbered options, an image or attachment as its link, custom JSON as
    its text."""

    options: "NumberedOptions"

    async def _send(self, recipient_id: str, text: str) -> None:  # pragma: no cover - each app's own
        raise NotImplementedError

    async def send_text_with_buttons(self, recipient_id: str, text: str, buttons: list, **kwargs) -> None:
        await self._send(recipient_id, await self.options.render(recipient_id, text, buttons))

    async def send_quick_replies(self, recipient_id: str, text: str, quick_replies: list, **kwargs) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs) -> None:
        await self._send(recipient_id, image)

    async def send_attachment(self, recipient_id: str, attachment, **kwargs) -> None:
        if isinstance(attachment, str):
            await self._send(recipient_id, attachment)

    async def send_custom_json(self, recipient_id: str, json_message: dict, **kwargs) -> None:
        if isinstance(json_message.get("text"), str):
            await self._send(recipient_id, json_message["text"])
