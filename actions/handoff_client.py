"""Client of the web service's handoff API, used by the handoff action."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Dict, Optional

import aiohttp

logger = logging.getLogger(__name__)


class HandoffUnavailable(RuntimeError):
    """The handoff service could not take the request; the customer is told so."""


@dataclass
class HandoffTicket:
    handoff_id: int
    position: int


class HandoffClient:
    def __init__(self, base_url: str, token: str, timeout: float = 5.0, attempts: int = 2):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.attempts = attempts

    async def request_handoff(
        self, conversation_id: str, reason: str, language: str, context: Dict[str, Any]
    ) -> HandoffTicket:
        body = {
            "conversation_id": conversation_id,
            "reason": reason,
            "language": language,
            "context": context,
        }
        last_error: Optional[Exception] = None
        # Creating a handoff is idempotent per conversation, so a retry is safe.
        for attempt in range(self.attempts):
            try:
                async with aiohttp.ClientSession(timeout=self.timeout) as session:
                    async with session.post(
                        f"{self.base_url}/api/handoffs",
                        json=body,
                        headers={"Authorization": f"Bearer {self.token}"},
                    ) as resp:
                        if resp.status in (200, 201):
                            data = await resp.json()
                            return HandoffTicket(data["handoff"]["id"], data["position"])
                        last_error = HandoffUnavailable(f"handoff service answered {resp.status}")
                        if resp.status < 500:
                            break
            except (aiohttp.ClientError, asyncio.TimeoutError) as e:
                last_error = e
            await asyncio.sleep(0.2 * (attempt + 1))
        logger.warning("handoff request failed: %s", last_error)
        raise HandoffUnavailable(str(last_error))
