"""Typing indicators on the web chat channel (extended sockets only: a plain Rasa widget
never sees or sends anything new).

* Customer → agent: our page emits ``typing {session_id, typing}`` while a person handles
  the chat; the channel passes the worthwhile ones (``bot.typing_indicator``) to the web
  service's API (``POST /api/typing``, service token), which shows them in the console.
* Agent → customer: the web service posts ``{conversation_id, typing, agent_name}`` to
  ``POST /webhooks/socketio/typing`` (Rasa's token, as for Rasa's own HTTP API); the
  channel emits ``typing {sender: "agent", typing, agent_name}`` to the session's
  extended room.

Nothing is stored: an indicator that does not arrive is simply not shown.
"""
from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Any, Dict, Optional, Set

import aiohttp

from bot.typing_indicator import TypingThrottle

logger = logging.getLogger(__name__)

TYPING_EVENT = "typing"
MAX_AGENT_NAME_CHARS = 120
FORWARD_TIMEOUT = aiohttp.ClientTimeout(total=3)


class TypingRelay:
    def __init__(self, desk_url: str, service_token: Optional[str], rasa_token: Optional[str]):
        self.desk_url = desk_url.rstrip("/")
        self.service_token = service_token
        self.rasa_token = rasa_token
        self.throttle = TypingThrottle()
        self._http: Optional[aiohttp.ClientSession] = None
        self._tasks: Set[asyncio.Task] = set()

    # -- customer -> console
    def customer_typing(self, session_id: str, typing: Any) -> bool:
        """Pass the customer's typing on in the background; False when it is not worth it."""
        if not isinstance(typing, bool) or not self.service_token or not self.desk_url:
            return False
        if not self.throttle.should_pass("customer", session_id, typing):
            return False
        task = asyncio.get_running_loop().create_task(self._forward(session_id, typing))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _forward(self, session_id: str, typing: bool) -> None:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=FORWARD_TIMEOUT)
        try:
            async with self._http.post(f"{self.desk_url}/api/typing",
                                       json={"conversation_id": session_id, "typing": typing},
                                       headers={"Authorization": f"Bearer {self.service_token}"}) as resp:
                # 404: no open handoff (the page thought so a moment too long): nothing to show.
                if resp.status >= 400 and resp.status != 404:
                    logger.info("the desk refused a typing indicator (HTTP %s)", resp.status)
        except (aiohttp.ClientError, asyncio.TimeoutError) as e:
            logger.info("typing indicator not passed on to the desk (%s)", type(e).__name__)

    # -- agent -> customer
    def agent_request_allowed(self, token: Optional[str]) -> bool:
        return bool(self.rasa_token and token) and hmac.compare_digest(token.encode(), self.rasa_token.encode())

    @staticmethod
    def agent_event(body: Any, session_id_pattern) -> Optional[Dict[str, Any]]:
        """The event for the customer's page from the web service's request, None if malformed."""
        if not isinstance(body, dict):
            return None
        conversation_id, typing, name = body.get("conversation_id"), body.get("typing"), body.get("agent_name")
        if not (isinstance(conversation_id, str) and session_id_pattern.fullmatch(conversation_id)):
            return None
        if not isinstance(typing, bool) or not (name is None or isinstance(name, str)):
            return None
        return {"conversation_id": conversation_id,
                "event": {"sender": "agent", "typing": typing, "agent_name": (name or "")[:MAX_AGENT_NAME_CHARS]}}
