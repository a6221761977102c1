"""Socket.IO channel for the web chat, speaking Rasa's own socket.io protocol.

Same events as ``rasa.core.channels.socketio`` (``session_request`` /
``session_confirm``, ``user_uttered`` / ``bot_uttered``, session persistence) so
existing Rasa web widgets keep working, with these differences:

* ``enter_room`` is awaited.  Rasa 3.6.21 calls it without ``await``; with
  python-socketio >= 5.10 it is a coroutine, so the socket never joined its
  session room and no bot reply reached a persistent web chat.
* A socket may only send messages for the session it confirmed, so one browser
  cannot write into (or read) another customer's conversation.
* Malformed or oversized messages get an ``error`` event instead of an exception.
* Bot messages carry who wrote them (``sender``: bot or agent, ``agent_name``)
  when the bot event's metadata says so, for the agent's live replies.
* Every message carries a number (``seq``); a customer's message is acknowledged
  with ``message_received {seq}``. A ``session_request`` that gives ``last_seq``
  gets a ``history {messages}`` event with what that browser has not shown yet
  (``bot/channels/history.py``): nothing is lost to a dropped connection or a
  reload. Widgets that do not ask get exactly Rasa's protocol.
"""
from __future__ import annotations

import json
import logging
import re
import uuid
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import UserMessage, decode_bearer_token
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput as RasaSocketIOInput
from rasa.core.channels.socketio import SocketIOOutput as RasaSocketIOOutput
from sanic import Blueprint, response
from socketio import AsyncServer

from bot.channels.history import ConversationHistory

logger = logging.getLogger(__name__)

SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
# What a widget may attach to a message (customData, e.g. the window's language).
MAX_METADATA_CHARS = 4096

# Bot-event metadata that the customer's widget may see.
PUBLIC_METADATA = ("sender", "agent_name", "notice", "handoff")


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

    async def _send_message(self, socket_id: Text, response: Any) -> None:
        if self.history is not None and isinstance(response, dict):
            response = {**response, "seq": self.history.record_bot(socket_id, response)}
        await self.sio.emit(self.bot_message_evt, response, room=socket_id)


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
        channel.max_message_chars = int(credentials.get("max_message_chars", 2000))
        return channel

    def get_output_channel(self) -> Optional[SocketIOOutput]:
        if self.sio is None:
            return None
        return SocketIOOutput(self.sio, self.bot_message_evt, getattr(self, "history", None))

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # An empty list disables python-socketio's origin check (as Rasa does);
        # a list of origins restricts browsers to our own pages.
        sio = AsyncServer(
            async_mode="sanic",
            cors_allowed_origins=getattr(self, "cors_allowed_origins", []) or [],
        )
        blueprint = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio
        self.history = ConversationHistory()
        max_chars = getattr(self, "max_message_chars", 2000)

        @blueprint.route("/", methods=["GET"])
        async def health(_request):
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: Text, environ: Dict, auth: Optional[Dict]) -> bool:
            if not self.jwt_key:
                return True
            token = (auth or {}).get("token") if isinstance(auth, dict) else None
            return bool(token and decode_bearer_token(token, self.jwt_key, self.jwt_algorithm))

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: Text, data: Optional[Dict]) -> None:
            requested = data.get("session_id") if isinstance(data, dict) else None
            session_id = (
                requested
                if isinstance(requested, str) and SESSION_ID.match(requested)
                else uuid.uuid4().hex
            )
            await sio.save_session(sid, {"session_id": session_id}, namespace=self.namespace)
            if self.session_persistence:
                await sio.enter_room(sid, session_id, namespace=self.namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)
            last_seq = data.get("last_seq") if isinstance(data, dict) else None
            if self.session_persistence and isinstance(last_seq, int) and not isinstance(last_seq, bool):
                missed = self.history.since(session_id, last_seq)
                await sio.emit("history", {"messages": missed}, room=sid, namespace=self.namespace)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: Text, data: Any) -> None:
            async def reject(code: str, message: str) -> None:
                await sio.emit("error", {"code": code, "message": message}, room=sid, namespace=self.namespace)

            if not isinstance(data, dict):
                return await reject("malformed", "A message must be an object with a 'message' text.")
            text = data.get("message")
            if not isinstance(text, str) or not text.strip():
                return await reject("empty", "The message is empty.")
            if len(text) > max_chars:
                return await reject("too_long", f"Messages are limited to {max_chars} characters.")
            if self.session_persistence:
                session = await sio.get_session(sid, namespace=self.namespace)
                if not session or data.get("session_id") != session.get("session_id"):
                    return await reject(
                        "no_session", "Send session_request first and use the confirmed session_id."
                    )
                sender_id = session["session_id"]
            else:
                sender_id = sid
            metadata = data.get(self.metadata_key) or {}
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = {}
            if not isinstance(metadata, dict):
                metadata = {}
            if len(json.dumps(metadata, ensure_ascii=False, default=str)) > MAX_METADATA_CHARS:
                # It is stored with every message in the tracker: keep it small.
                return await reject("too_long", f"'{self.metadata_key}' is limited to {MAX_METADATA_CHARS} characters.")
            seq = self.history.record_customer(sender_id, text)
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
