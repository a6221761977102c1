"""Live fan-out to the agent consoles connected to this process."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, Dict, Optional, Set, Tuple

from aiohttp import web

logger = logging.getLogger(__name__)

# A console that cannot take a message this fast (a laptop gone to sleep, a dead network)
# is dropped; it reloads the queue when it reconnects. Others never wait for it.
SEND_TIMEOUT = 2.0


class AgentHub:
    def __init__(self) -> None:
        # socket -> (staff username, session version it was opened under)
        self._sockets: Dict[web.WebSocketResponse, Tuple[Optional[str], int]] = {}

    def add(self, ws: web.WebSocketResponse, username: Optional[str] = None, session_version: int = 0) -> None:
        self._sockets[ws] = (username, session_version)

    def remove(self, ws: web.WebSocketResponse) -> None:
        self._sockets.pop(ws, None)

    def owners(self) -> Set[Tuple[str, int]]:
        """(username, session version) of every open feed."""
        return {owner for owner in self._sockets.values() if owner[0] is not None}

    async def close_for(self, username: str, session_version: Optional[int] = None) -> None:
        """Close the live feeds of one staff member (all, or those of one session
        version) on logout or lost access: no data after that."""
        for ws in [ws for ws, (owner, version) in self._sockets.items()
                   if owner == username and session_version in (None, version)]:
            self.remove(ws)
            await ws.close()

    def usernames(self) -> Set[str]:
        """Who has a feed open now (the audience of a message is chosen among them)."""
        return {owner for owner, _ in self._sockets.values() if owner is not None}

    async def broadcast(self, message: Dict[str, Any], audience: Optional[Callable[[str], bool]] = None) -> None:
        """Send to every feed, or (``audience``) only to those whose staff member it admits."""
        for ws in [ws for ws in self._sockets if ws.closed]:
            self.remove(ws)
        targets = [ws for ws, (owner, _) in list(self._sockets.items())
                   if audience is None or (owner is not None and audience(owner))]
        await asyncio.gather(*(self._send(ws, message) for ws in targets))

    async def _send(self, ws: web.WebSocketResponse, message: Dict[str, Any]) -> None:
        try:
            await asyncio.wait_for(ws.send_json(message), SEND_TIMEOUT)
        except (ConnectionError, RuntimeError, asyncio.TimeoutError):
            self.remove(ws)
            logger.info("dropped a console connection that did not take a message")
            if not ws.closed:
                asyncio.ensure_future(ws.close())

    async def close_all(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        self._sockets.clear()


# Where an app (the web service, the console sub-app) keeps its hub.
HUB = web.AppKey("hub", AgentHub)
