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
    wait_minutes: Optional[int] = None  # None: no estimate (nobody qualified is online)
    offer_callback: bool = False


class HandoffClient:
    def __init__(self, base_url: str, token: str, timeout: float = 5.0, attempts: int = 2):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.attempts = attempts

    async def request_handoff(
        self, conversation_id: str, reason: str, language: str, context: Dict[str, Any],
        input_channel: Optional[str] = None, skill_group: str = "general", priority: int = 0,
        customer_ref: Optional[str] = None,
    ) -> HandoffTicket:
        body = {
            "conversation_id": conversation_id,
            "reason": reason,
            "language": language,
            "context": context,
            "input_channel": input_channel,
            "skill_group": skill_group,
            "priority": priority,
            "customer_ref": customer_ref,
        }
        # Creating a handoff is idempotent per conversation, so a retry is safe.
        data = await self._post("/api/handoffs", body)
        wait = data.get("wait") or {}
        return HandoffTicket(data["handoff"]["id"], data["position"], wait.get("wait_minutes"),
                             bool(wait.get("offer_callback")))

    async def rate(self, conversation_id: str, rating: int, comment: Optional[str] = None) -> bool:
        """Store the customer's rating of the last closed handoff; False when there is none."""
        body = {"conversation_id": conversation_id, "rating": rating}
        if comment:
            body["comment"] = comment[:2000]
        try:
            await self._post("/api/handoffs/rating", body)
        except HandoffUnavailable as e:
            if "404" in str(e):
                return False
            raise
        return True

    async def create_ticket(self, conversation_id: str, kind: str, language: str, skill_group: str = "general",
                            phone: Optional[str] = None, preferred_time: Optional[str] = None,
                            message: Optional[str] = None, customer_ref: Optional[str] = None) -> int:
        """A callback (phone + preferred time) or a message for agents; the ticket's id."""
        # Not retried: a ticket whose answer was lost would be created twice.
        data = await self._post("/api/tickets", retry=False, body={
            "conversation_id": conversation_id, "kind": kind, "language": language, "skill_group": skill_group,
            "phone": phone, "preferred_time": preferred_time, "message": message, "customer_ref": customer_ref,
        })
        return data["ticket"]["id"]

    async def _post(self, path: str, body: Dict[str, Any], retry: bool = True) -> Dict[str, Any]:
        """POST, with one retry for requests that are idempotent."""
        last_error: Optional[Exception] = None
        for attempt in range(self.attempts if retry else 1):
            try:
                async with aiohttp.ClientSession(timeout=self.timeout) as session:
                    async with session.post(
                        f"{self.base_url}{path}",
                        json=body,
                        headers={"Authorization": f"Bearer {self.token}"},
                    ) as resp:
                        if resp.status in (200, 201):
                            return await resp.json()
                        last_error = HandoffUnavailable(f"handoff service answered {resp.status}")
                        if resp.status < 500:
                            break
            except (aiohttp.ClientError, asyncio.TimeoutError) as e:
                last_error = e
            await asyncio.sleep(0.2 * (attempt + 1))
        logger.warning("handoff service request %s failed: %s", path, last_error)
        raise HandoffUnavailable(str(last_error))
