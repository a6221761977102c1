"""Socket.IO channel for the web chat, speaking Rasa's own socket.io protocol.

Same events as ``rasa.core.channels.socketio`` (``session_request`` /
``session_confirm``, ``user_uttered`` / ``bot_uttered``, session persistence) so
existing Rasa web widgets keep working, with these differences:

* ``enter_room`` is awaited.  Rasa 3.6.21 calls it without ``await``; with
  python-socketio >= 5.10 it is a coroutine, so the socket never joined its
  session room and no bot reply reached a persistent web chat.
* A socket may only send messages for the session it confirmed, so one browser
  cannot write into (or read) another customer's conversation.
* Messages are checked by ``bot.text_checks`` (type, length, invalid code points,
  ``/EXTERNAL_`` intents, customData size and depth); what is refused gets an
  ``error`` event ``{code, message}``, never an exception.
* A client's malformed Engine.IO or Socket.IO packet is dropped with one warning
  line, no traceback (a malformed websocket frame also closes that connection).
* Widgets built for Rasa get exactly Rasa's protocol: ``session_confirm`` with
  the id, ``bot_uttered`` with only Rasa's fields (``text``, ``quick_replies``,
  ``attachment``, custom JSON as the bot wrote it). Widgets that check a message's
  shape drop anything else. An agent's words reach them as plain text that starts
  with the agent's name.
* Our own chat page opts in with ``extended: true`` in ``session_request``; it then
  gets, on the same server: who wrote each message (``sender``: bot or agent,
  ``agent_name``, ``notice``, ``handoff``), a number on every message (``seq``), an
  acknowledgement ``message_received {seq}`` for each of its own, and, when it
  gives ``last_seq``, a ``history {messages}`` event with what that browser has not
  shown yet (``bot/channels/history.py``): nothing is lost to a dropped connection
  or a reload. (These need session persistence, which credentials.yml turns on.)
  It may also send ``typing {session_id, typing}`` while a person handles the chat and
  gets ``typing {sender: "agent", typing, agent_name}`` (``bot/channels/typing.py``).
* A client that drops its websocket leaves nothing in the log: python-engineio
  answered the ended websocket with an HTTP 200 that Sanic then failed to write on
  the closed connection ("Cannot call write() after write_eof()", a traceback).
  Errors while a message is handled are one line naming the conversation
  (``bot.quiet_errors``).

Both kinds of socket may watch one conversation: plain ones join the session's
room (as in Rasa), extended ones a twin room (``<session_id>#x``; ids never hold
``#``), and each bot message is sent to each room in its own shape.
"""
from __future__ import annotations

import base64
import binascii
import logging
import re
import sys
import uuid
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from engineio.async_drivers.sanic import WebSocket as SanicWebSocket
from engineio.async_drivers.sanic import make_response as _sanic_make_response
from rasa.core.channels.channel import UserMessage, decode_bearer_token
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput as RasaSocketIOInput
from rasa.core.channels.socketio import SocketIOOutput as RasaSocketIOOutput
from sanic import Blueprint, response
from sanic.response import HTTPResponse
from socketio import AsyncServer

from bot.channels.history import ConversationHistory
from bot.channels.presence import PresenceRelay
from bot.channels.typing import TYPING_EVENT, TypingRelay
from bot.quiet_errors import note_conversation
from bot.settings import Settings
from bot.text_checks import TextRefused, check_customer_message, check_metadata

logger = logging.getLogger(__name__)

# Checked with fullmatch: "$" would also accept a trailing newline.
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")

# Bot-event metadata that our own page may see (extended sockets only).
PUBLIC_METADATA = ("sender", "agent_name", "notice", "handoff")
# Fields a bot message has only for extended sockets.
EXTENDED_FIELDS = frozenset((*PUBLIC_METADATA, "seq"))
# The room of a session's extended sockets, beside Rasa's room named by the session id.
EXTENDED_ROOM_SUFFIX = "#x"


def extended_room(session_id: Text) -> Text:
    return f"{session_id}{EXTENDED_ROOM_SUFFIX}"


def rasa_shape(message: Dict[Text, Any]) -> Dict[Text, Any]:
    """A bot message as Rasa's own socket.io channel would send it: without our fields,
    and an agent's words (not a notice, which names the agent already) led by the name."""
    plain = {k: v for k, v in message.items() if k not in EXTENDED_FIELDS}
    name = message.get("agent_name")
    if message.get("sender") == "agent" and name and not message.get("notice") and isinstance(plain.get("text"), str):
        plain["text"] = f"{name}: {plain['text']}"
    return plain


class SocketIOOutput(RasaSocketIOOutput):
    def __init__(self, sio: AsyncServer, bot_message_evt: Text, history: Optional[ConversationHistory] = None):
        super().__init__(sio, bot_message_evt)
        self.history = history

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        if self.history is not None:
            self.history.asked(recipient_id, message.get("utter_action") or "")
        await super().send_response(recipient_id, message)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        extra = {k: kwargs[k] for k in PUBLIC_METADATA if kwargs.get(k)}
        for part in text.strip().split("\n\n"):
            await self._send_message(recipient_id, {"text": part, **extra})

    async def send_text_with_buttons(self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]],
                                     **kwargs: Any) -> None:
        """As Rasa's, with the public metadata too: a queued notice that also offers a
        callback (desk #7) still tells the widget a person answers from now on."""
        extra = {k: kwargs[k] for k in PUBLIC_METADATA if kwargs.get(k)}
        parts = text.strip().split("\n\n") or [text]
        messages = [{"text": part, "quick_replies": [], **extra} for part in parts]
        messages[-1]["quick_replies"] = [
            {"content_type": "text", "title": b["title"], "payload": b["payload"]} for b in buttons]
        for message in messages:
            await self._send_message(recipient_id, message)

    async def _send_message(self, socket_id: Text, response: Any) -> None:
        if not isinstance(response, dict):
            await self.sio.emit(self.bot_message_evt, response, room=socket_id)
            return
        # socket_id is the session id (session persistence) or a socket's own id.
        await self.sio.emit(self.bot_message_evt, rasa_shape(response), room=socket_id)
        if self.history is not None:
            response = {**response, "seq": self.history.record_bot(socket_id, response)}
        await self.sio.emit(self.bot_message_evt, response, room=extended_room(socket_id))

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        """As Rasa does (the custom JSON is the emit's arguments), to both rooms."""
        for room in (recipient_id, extended_room(recipient_id)):
            message = dict(json_message)
            message.setdefault("room", room)
            await self.sio.emit(self.bot_message_evt, **message)


class _TransportLog:
    """What python-engineio and python-socketio log through.

    Their info lines (every packet, with the customer's words) are dropped, as with
    their default loggers (errors only). A client's malformed packet they log as an
    error with a traceback ("message async handler error", "post request handler
    error"): here one warning line; the traceback only at DEBUG.
    """

    def __init__(self, target: logging.Logger):
        self._target = target

    def info(self, *args: Any, **kwargs: Any) -> None:
        pass

    debug = info

    def warning(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self._target.warning(msg, *args)

    def error(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self._target.error(msg, *args)

    def exception(self, msg: str, *args: Any, **kwargs: Any) -> None:
        error = sys.exc_info()[1]
        self._target.warning("%s (%s; packet dropped)", msg % args if args else msg, type(error).__name__)
        self._target.debug("dropped packet", exc_info=True)

    def __getattr__(self, name: str) -> Any:  # level, setLevel, addHandler
        return getattr(self._target, name)


def is_engineio_frame(data: Any) -> bool:
    """Whether a websocket frame is an Engine.IO v4 packet python-engineio can decode:
    a type digit 0-6 then anything, "b" and base64 (binary), or binary data."""
    if isinstance(data, (bytes, bytearray)):
        return True
    if not isinstance(data, str) or not data:
        return False
    if data[0] == "b":
        try:
            base64.b64decode(data[1:], validate=True)
        except (binascii.Error, ValueError):
            return False
        return True
    return data[0] in "0123456"


class _CheckedWebSocket(SanicWebSocket):
    """python-engineio's Sanic websocket, refusing frames it cannot decode: it raises
    outside its own error handling on those (an empty frame, "x"), or logs a
    traceback ("9"). Such a frame ends that connection, as a closed socket does."""

    async def wait(self):
        data = await super().wait()
        if data is not None and not is_engineio_frame(data):
            logger.warning("closing a web chat connection that sent a malformed Engine.IO frame")
            return None
        return data


class _WebSocketEnded(HTTPResponse):
    """The answer to a websocket request once the websocket is over: the connection was
    upgraded (and is usually closed by the client), so there is no HTTP response to write."""

    async def send(self, data: Any = None, end_stream: Optional[bool] = None) -> None:
        return None


def make_response(status: str, headers: Any, payload: Any, environ: Dict[str, Any]) -> HTTPResponse:
    """python-engineio's Sanic ``make_response``, except after a websocket session."""
    if environ.get("HTTP_UPGRADE", "").lower() == "websocket" and status.startswith("200"):
        return _WebSocketEnded()
    return _sanic_make_response(status, headers, payload, environ)


def guard_transport(sio: AsyncServer) -> None:
    """Make the server's engine use ``_CheckedWebSocket`` and ``make_response``: python-engineio 4
    takes its websocket class and response maker from the driver table ``_async`` (a test checks
    this still holds)."""
    drivers = getattr(sio.eio, "_async", None)
    if isinstance(drivers, dict) and drivers.get("websocket") is SanicWebSocket:
        sio.eio._async = {**drivers, "websocket": _CheckedWebSocket, "make_response": make_response}


class SocketIOInput(RasaSocketIOInput):
    """Drop-in replacement for Rasa's ``socketio`` channel (same name)."""

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "SocketIOInput":
        credentials = credentials or {}
        channel = super().from_credentials(credentials)
        origins = credentials.get("cors_allowed_origins") or []
        if isinstance(origins, str):
            origins = [o.strip() for o in origins.split(",") if o.strip()]
        channel.cors_allowed_origins = origins
        settings = Settings.from_env()
        channel.max_message_chars = settings.max_message_chars
        # Typing indicators between the page and the agent console (bot/channels/typing.py).
        channel.typing_relay = TypingRelay(settings.web_url, settings.service_token, settings.rasa_token)
        # Whether a customer still has the chat open (desk #7: abandoned after a grace period).
        channel.presence_relay = PresenceRelay(settings.web_url, settings.service_token)
        return channel

    def get_output_channel(self) -> Optional[SocketIOOutput]:
        if self.sio is None:
            return None
        return SocketIOOutput(self.sio, self.bot_message_evt, getattr(self, "history", None))

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # An empty list disables python-socketio's origin check (as Rasa does);
        # a list of origins restricts browsers to our own pages.
        transport_log = _TransportLog(logger)
        sio = AsyncServer(
            async_mode="sanic",
            cors_allowed_origins=getattr(self, "cors_allowed_origins", []) or [],
            logger=transport_log,
            engineio_logger=transport_log,
        )
        guard_transport(sio)
        blueprint = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio
        self.history = ConversationHistory()
        max_chars = getattr(self, "max_message_chars", Settings.max_message_chars)

        @blueprint.route("/", methods=["GET"])
        async def health(_request):
            return response.json({"status": "ok"})

        typing_relay = getattr(self, "typing_relay", None) or TypingRelay("", None, None)
        presence = getattr(self, "presence_relay", None) or PresenceRelay("", None)

        @blueprint.route("/typing", methods=["POST"])
        async def agent_typing(request):
            """The web service: an agent is typing to this session (our page shows it)."""
            header = request.headers.get("Authorization", "")
            token = header[7:] if header.startswith("Bearer ") else request.args.get("token")
            if not typing_relay.agent_request_allowed(token):
                return response.json({"error": {"code": "unauthorized", "message": "A valid token is required."}},
                                     status=401)
            try:
                body = request.json
            except Exception:  # Sanic raises its own error for a body that is not JSON
                body = None
            relayed = TypingRelay.agent_event(body, SESSION_ID)
            if relayed is None:
                return response.json({"error": {"code": "malformed", "message":
                                      "Give conversation_id, typing (true/false) and agent_name."}}, status=400)
            await sio.emit(TYPING_EVENT, relayed["event"], room=extended_room(relayed["conversation_id"]),
                           namespace=self.namespace)
            return response.json({"ok": True})

        @sio.on(TYPING_EVENT, namespace=self.namespace)
        async def customer_typing(sid: Text, data: Any = None) -> None:
            """Our page (extended sockets only): the customer is typing to a person."""
            if not isinstance(data, dict):
                return
            session = await sio.get_session(sid, namespace=self.namespace)
            if not session or not session.get("extended") or data.get("session_id") != session.get("session_id"):
                return  # a plain Rasa widget's socket gets nothing new, and sends nothing new
            typing_relay.customer_typing(session["session_id"], data.get("typing"))

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: Text, environ: Dict, auth: Optional[Dict] = None) -> bool:
            if not self.jwt_key:
                return True
            token = (auth or {}).get("token") if isinstance(auth, dict) else None
            return bool(token and decode_bearer_token(token, self.jwt_key, self.jwt_algorithm))

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: Text, data: Any = None) -> None:
            requested = data.get("session_id") if isinstance(data, dict) else None
            session_id = (
                requested
                if isinstance(requested, str) and SESSION_ID.fullmatch(requested)
                else uuid.uuid4().hex
            )
            # Our page asks for more than Rasa's protocol; the rest get exactly Rasa's.
            extended = bool(self.session_persistence and isinstance(data, dict) and data.get("extended") is True)
            # A host page's session metadata (e.g. a logged-in customer's token, accounts #9)
            # goes with every message of this socket.
            try:
                session_metadata = check_metadata(data.get(self.metadata_key), self.metadata_key) if isinstance(data, dict) else {}
            except TextRefused:
                session_metadata = {}
            await sio.save_session(sid, {"session_id": session_id, "extended": extended, "metadata": session_metadata},
                                   namespace=self.namespace)
            if self.session_persistence:
                room = extended_room(session_id) if extended else session_id
                await sio.enter_room(sid, room, namespace=self.namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)
            presence.joined(sid, session_id if self.session_persistence else sid)
            last_seq = data.get("last_seq") if extended else None
            if isinstance(last_seq, int) and not isinstance(last_seq, bool):
                missed = self.history.since(session_id, last_seq)
                await sio.emit("history", {"messages": missed}, room=sid, namespace=self.namespace)

        @sio.on("disconnect", namespace=self.namespace)
        async def disconnect(sid: Text, reason: Any = None) -> None:
            presence.disconnected(sid)  # the last socket of a conversation: the customer left

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: Text, data: Any = None) -> None:
            async def reject(code: str, message: str) -> None:
                await sio.emit("error", {"code": code, "message": message}, room=sid, namespace=self.namespace)

            if not isinstance(data, dict):
                return await reject("malformed", "A message must be an object with a 'message' text.")
            try:
                text = check_customer_message(data.get("message"), max_chars)
                metadata = check_metadata(data.get(self.metadata_key), self.metadata_key)
            except TextRefused as refused:
                return await reject(refused.code, refused.reason)
            session = await sio.get_session(sid, namespace=self.namespace)
            if self.session_persistence:
                if not session or data.get("session_id") != session.get("session_id"):
                    return await reject(
                        "no_session", "Send session_request first and use the confirmed session_id."
                    )
                sender_id = session["session_id"]
            else:
                sender_id = sid
            note_conversation(sender_id)  # named by any error logged while it is handled
            session_metadata = (session or {}).get("metadata")
            if session_metadata:
                metadata = {**metadata, **session_metadata}
            seq = self.history.record_customer(sender_id, text)
            if session and session.get("extended"):
                await sio.emit("message_received", {"seq": seq}, room=sid, namespace=self.namespace)
            await on_new_message(
                UserMessage(
                    text,
                    SocketIOOutput(sio, self.bot_message_evt, self.history),
                    sender_id,
                    input_channel=self.name(),
                    metadata=metadata,
                )
            )

        return blueprint
