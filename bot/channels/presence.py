"""Whether a web chat customer still has the chat open, told to the desk (issue #7).

The socket.io channel knows when a customer's last socket of a session goes away (the
page was closed, the network dropped) and when one comes back (a reload, a reconnect).
It tells the web service's API (``POST /api/presence {conversation_id, present}``,
service token), which records a queued customer who stays away longer than
``DESK_ABANDON_GRACE_SECONDS`` as ``abandoned`` (handoff_service/desk/presence.py).

The notices of one process go out one at a time, in the order they happened, so a
"back" is never overtaken by the "left" before it. "Back" is sent on every session
request, not only after a "left" this process sent: a restarted Rasa does not know which
customers it reported away before. Nothing is stored; a notice that cannot be delivered
is logged (without the conversation) and dropped: the worst that happens is an abandoned
customer counted as waiting until Rasa's next session for them.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Dict, Optional, Tuple

import aiohttp

logger = logging.getLogger(__name__)

FORWARD_TIMEOUT = aiohttp.ClientTimeout(total=5)
MAX_PENDING = 10_000  # notices waiting to go out; beyond that (the desk is down) they are dropped


class PresenceRelay:
    def __init__(self, desk_url: str, service_token: Optional[str]):
        self.desk_url = desk_url.rstrip("/")
        self.service_token = service_token
        self._sockets: Dict[str, str] = {}  # socket id -> conversation id
        self._queue: Optional[asyncio.Queue] = None
        self._worker: Optional[asyncio.Task] = None
        self._http: Optional[aiohttp.ClientSession] = None

    @property
    def enabled(self) -> bool:
        return bool(self.desk_url and self.service_token)

    def joined(self, sid: str, conversation_id: str) -> None:
        """A socket asked for (or came back to) this conversation."""
        previous = self._sockets.get(sid)
        self._sockets[sid] = conversation_id
        if previous is not None and previous != conversation_id:
            self._left_if_last(previous)
        self._send(conversation_id, True)

    def disconnected(self, sid: str) -> None:
        conversation_id = self._sockets.pop(sid, None)
        if conversation_id is not None:
            self._left_if_last(conversation_id)

    def _left_if_last(self, conversation_id: str) -> None:
        # Another tab of the same conversation still open: the customer is still there.
        if conversation_id not in self._sockets.values():
            self._send(conversation_id, False)

    def _send(self, conversation_id: str, present: bool) -> None:
        if not self.enabled:
            return
        if self._queue is None:
            self._queue = asyncio.Queue(MAX_PENDING)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._deliver())
        try:
            self._queue.put_nowait((conversation_id, present))
        except asyncio.QueueFull:
            logger.warning("presence notice dropped: too many waiting for the desk")

    async def _deliver(self) -> None:
        assert self._queue is not None
        while True:
            notice: Tuple[str, bool] = await self._queue.get()
            try:
                await self._post(*notice)
            finally:
                self._queue.task_done()

    async def drained(self) -> None:
        """Every notice so far has been delivered (or given up)."""
        if self._queue is not None:
            await self._queue.join()

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
        if self._http is not None:
            await self._http.close()

    async def _post(self, conversation_id: str, present: bool) -> None:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=FORWARD_TIMEOUT)
        try:
            async with self._http.post(f"{self.desk_url}/api/presence",
                                       json={"conversation_id": conversation_id, "present": present},
                                       headers={"Authorization": f"Bearer {self.service_token}"}) as resp:
                if resp.status >= 400:
                    logger.info("the desk refused a presence notice (HTTP %s)", resp.status)
        except (aiohttp.ClientError, asyncio.TimeoutError) as e:
            logger.info("presence notice not passed on to the desk (%s)", type(e).__name__)
