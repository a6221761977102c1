"""Pushes the wallboard to the connected wallboards whenever a figure changes.

The desk does not know the dashboard (and must not), so changes are noticed by
looking: every ``interval`` seconds, only while a wallboard is connected, the
snapshot is recomputed from the desk's open records (a few indexed queries) and
sent if it differs from the last one sent. Waits shown on the screen tick in the
browser between pushes.
"""
from __future__ import annotations

import asyncio
import json
import logging

from handoff_service.dashboard.queries import Dashboard
from handoff_service.hub import AgentHub

logger = logging.getLogger(__name__)


class WallboardPusher:
    def __init__(self, dashboard: Dashboard, hub: AgentHub, interval: float = 0.5):
        self.dashboard = dashboard
        self.hub = hub
        self.interval = interval
        self._last = None

    async def push_once(self) -> bool:
        """Send the snapshot if it changed; returns whether it was sent."""
        if not self.hub.owners():
            self._last = None  # the next wallboard to connect gets its own snapshot anyway
            return False
        snapshot = await asyncio.to_thread(self.dashboard.wallboard)
        # "as of" and the waits (also in a wait alert) change every second: compare what is not a clock.
        comparable = json.dumps({**snapshot, "as_of": None,
                                 "queues": [{**q, "longest_wait": None} for q in snapshot["queues"]],
                                 "alerts": [{**a, "value": None} if a["kind"] == "wait" else a for a in snapshot["alerts"]]},
                                sort_keys=True)
        if comparable == self._last:
            return False
        self._last = comparable
        await self.hub.broadcast({"type": "wallboard", "wallboard": snapshot})
        return True

    async def run(self) -> None:
        while True:
            try:
                await self.push_once()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # a database hiccup: try again next tick
                logger.warning("wallboard push failed: %s", type(error).__name__)
            await asyncio.sleep(self.interval)
