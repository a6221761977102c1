"""Live fan-out to the agent consoles connected to this process."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, Set

from aiohttp import web

logger = logging.getLogger(__name__)

# A console that cannot take a message this fast (a laptop gone to sleep, a dead network)
# is dropped; it reloads the queue when it reconnects. Others never wait for it.
SEND_TIMEOUT = 2.0


class AgentHub:
    def __init__(self) -> None:
        self._sockets: Set[web.WebSocketResponse] = set()

    def add(self, ws: web.WebSocketResponse) -> None:
        self._sockets.add(ws)

    def remove(self, ws: web.WebSocketResponse) -> None:
        self._sockets.discard(ws)

    async def broadcast(self, message: Dict[str, Any]) -> None:
        sockets = [ws for ws in self._sockets if not ws.closed]
        self._sockets.intersection_update(sockets)
        await asyncio.gather(*(self._send(ws, message) for ws in sockets))

    async def _send(self, ws: web.WebSocketResponse, message: Dict[str, Any]) -> None:
        try:
            await asyncio.wait_for(ws.send_json(message), SEND_TIMEOUT)
        except (ConnectionError, RuntimeError, asyncio.TimeoutError):
            self._sockets.discard(ws)
            logger.info("dropped a console connection that did not take a message")
            if not ws.closed:
                asyncio.ensure_future(ws.close())

    async def close_all(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        self._sockets.clear()
