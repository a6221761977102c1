"""The Rasa server's HTTP API, as the web service uses it to speak for agents."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Optional
from urllib.parse import quote

import aiohttp

logger = logging.getLogger(__name__)


class RasaUnavailable(RuntimeError):
    pass


def conversation_path(conversation_id: str, action: str) -> str:
    """``/conversations/<id>/<action>`` with the id percent-encoded whole (``/`` too).

    Rasa decodes it back before use (``bot.rasa_server.decode_conversation_id``), so
    any id round-trips exactly: ``probe sp1``, ``probe/sl1``, ``探针1``, ``a%20b``, newlines.
    """
    return f"/conversations/{quote(conversation_id, safe='')}/{action}"


class RasaClient:
    def __init__(self, base_url: str, token: str, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: Optional[aiohttp.ClientSession] = None

    async def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _request(self, method: str, path: str, params: Dict[str, str], body: Any = None) -> Any:
        http = await self._http()
        try:
            async with http.request(
                method, f"{self.base_url}{path}", json=body, params={**params, "token": self.token}
            ) as resp:
                if resp.status >= 400:
                    detail = (await resp.text())[:300]
                    raise RasaUnavailable(f"Rasa answered {resp.status}: {detail}")
                return await resp.json()
        except (aiohttp.ClientError, asyncio.TimeoutError) as e:
            raise RasaUnavailable(f"Rasa server not reachable: {e}") from e

    async def bot_message_ids(self, conversation_id: str) -> set:
        """The ``client_message_id`` of every bot message in the conversation's current session."""
        tracker = await self._request(
            "GET", conversation_path(conversation_id, "tracker"), {"include_events": "AFTER_RESTART"}
        )
        return {
            (e.get("metadata") or {}).get("client_message_id")
            for e in tracker.get("events") or []
            if e.get("event") == "bot"
        } - {None}

    async def append_events(self, conversation_id: str, events: List[Dict[str, Any]]) -> None:
        """Append events and deliver any bot messages among them to the customer.

        ``execute_side_effects`` makes Rasa send bot events through the output
        channel; ``output_channel=latest`` picks the channel the customer last wrote on.
        """
        await self._request(
            "POST",
            conversation_path(conversation_id, "tracker/events"),
            {"output_channel": "latest", "execute_side_effects": "true", "include_events": "NONE"},
            events,
        )

    async def trigger_intent(self, conversation_id: str, intent: str) -> None:
        await self._request(
            "POST",
            conversation_path(conversation_id, "trigger_intent"),
            {"output_channel": "latest", "include_events": "NONE"},
            {"name": intent, "entities": {}},
        )

    async def typing(self, conversation_id: str, typing: bool, agent_name: str) -> None:
        """Show (or stop showing) "agent is typing" on the customer's web chat page: our
        socket.io channel's own endpoint (bot/channels/socketio.py), not Rasa's API, since
        an indicator is not part of the conversation and is never stored."""
        await self._request("POST", "/webhooks/socketio/typing", {},
                            {"conversation_id": conversation_id, "typing": typing, "agent_name": agent_name})
