"""Live fan-out to the agent consoles connected to this process."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, Optional

from aiohttp import web

logger = logging.getLogger(__name__)

# A console that cannot take a message this fast (a laptop gone to sleep, a dead network)
# is dropped; it reloads the queue when it reconnects. Others never wait for it.
SEND_TIMEOUT = 2.0


class AgentHub:
    def __init__(self) -> None:
        self._sockets: Dict[web.WebSocketResponse, Optional[str]] = {}  # socket -> staff username

    def add(self, ws: web.WebSocketResponse, username: Optional[str] = None) -> None:
        self._sockets[ws] = username

    def remove(self, ws: web.WebSocketResponse) -> None:
        self._sockets.pop(ws, None)

    async def close_for(self, username: str) -> None:
        """Close the live feeds of one staff member (on logout): no data after that."""
        for ws in [ws for ws, owner in self._sockets.items() if owner == username]:
            self.remove(ws)
            await ws.close()

    async def broadcast(self, message: Dict[str, Any]) -> None:
        for ws in [ws for ws in self._sockets if ws.closed]:
            self.remove(ws)
        await asyncio.gather(*(self._send(ws, message) for ws in list(self._sockets)))

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
