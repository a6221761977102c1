"""Live fan-out to the agent consoles connected to this process."""
from __future__ import annotations

import logging
from typing import Any, Dict, Set

from aiohttp import web

logger = logging.getLogger(__name__)


class AgentHub:
    def __init__(self) -> None:
        self._sockets: Set[web.WebSocketResponse] = set()

    def add(self, ws: web.WebSocketResponse) -> None:
        self._sockets.add(ws)

    def remove(self, ws: web.WebSocketResponse) -> None:
        self._sockets.discard(ws)

    async def broadcast(self, message: Dict[str, Any]) -> None:
        for ws in list(self._sockets):
            if ws.closed:
                self._sockets.discard(ws)
                continue
            try:
                await ws.send_json(message)
            except (ConnectionError, RuntimeError):
                self._sockets.discard(ws)

    async def close_all(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        self._sockets.clear()
