"""Rasa's ticket lock, waking the next message of a conversation as soon as the previous one is done.

Rasa handles one message per conversation at a time (``LockStore.lock`` in
rasa/core/lock_store.py). A message that finds the conversation busy sleeps a whole
second between looks, so a customer who types three quick lines ("在吗" / "问一下" /
"话费怎么扣这么多") waits about a second more for each extra answer whenever the first
one awaits a custom action. Here a waiting message sleeps on an event that the
release of the lock sets:

* in one process, directly (``finish_serving`` sets it);
* across Rasa replicas, through a Redis channel: the releasing replica publishes the
  conversation id, every replica's listener wakes its local waiters.

The one-second look stays as a safety net (an expired ticket, a lost publish), and the
order of tickets is Rasa's own. Configured in endpoints.yml; the tickets live in memory,
or in Redis when ``LOCK_STORE_REDIS_URL`` is set (several Rasa processes need that).
"""
from __future__ import annotations

import asyncio
import logging
from typing import Dict, Optional, Text
from urllib.parse import urlsplit

from rasa.core.lock import TicketLock
from rasa.core.lock_store import InMemoryLockStore, LockError, LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)

RELEASED_CHANNEL = "supportbot:lock-released"


class _Wakeups:
    """One asyncio event per conversation that has a message waiting in this process."""

    def __init__(self) -> None:
        self._events: Dict[Text, asyncio.Event] = {}

    def event_for(self, conversation_id: Text) -> asyncio.Event:
        return self._events.setdefault(conversation_id, asyncio.Event())

    def wake(self, conversation_id: Text) -> None:
        event = self._events.pop(conversation_id, None)
        if event is not None:
            event.set()


class _RedisReleases:
    """Publishes releases to other replicas and wakes local waiters on theirs."""

    def __init__(self, url: str, wakeups: _Wakeups) -> None:
        self.url = url
        self.wakeups = wakeups
        self._listener: Optional[asyncio.Task] = None
        self.subscribed = asyncio.Event()

    def ensure_listening(self) -> None:
        if self._listener is None or self._listener.done():
            self._listener = asyncio.get_running_loop().create_task(self._listen())

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)

    async def _listen(self) -> None:
        import redis.asyncio as aioredis

        client = aioredis.from_url(self.url)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(RELEASED_CHANNEL)
            self.subscribed.set()
            async for message in pubsub.listen():
                data = message.get("data")
                if isinstance(data, bytes):
                    self.wakeups.wake(data.decode("utf-8", "replace"))
        except asyncio.CancelledError:
            raise
        except Exception as e:  # the one-second look still serves every waiter
            logger.warning("lock release listener stopped (%s); waiting messages fall back to polling", type(e).__name__)
        finally:
            self.subscribed.clear()
            await pubsub.close()
            await client.close()


def _redis_lock_store(url: str) -> RedisLockStore:
    parts = urlsplit(url)
    db = parts.path.lstrip("/")
    return RedisLockStore(
        host=parts.hostname or "localhost",
        port=parts.port or 6379,
        db=int(db) if db.isdigit() else 1,
        username=parts.username or None,
        password=parts.password or None,
        use_ssl=parts.scheme == "rediss",
    )


class WakingLockStore(LockStore):
    """Rasa's ticket lock with tickets in memory or in Redis, and waiters woken on release."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, redis_url: Optional[str] = None) -> None:
        if redis_url is None and endpoint_config is not None:
            redis_url = endpoint_config.kwargs.get("redis_url") or None
        self.wakeups = _Wakeups()
        if redis_url:
            self.tickets: LockStore = _redis_lock_store(redis_url)
            self.releases: Optional[_RedisReleases] = _RedisReleases(redis_url, self.wakeups)
        else:
            self.tickets = InMemoryLockStore()
            self.releases = None
        super().__init__()

    # Storage of the tickets: delegated.
    def get_lock(self, conversation_id: Text) -> Optional[TicketLock]:
        return self.tickets.get_lock(conversation_id)

    def delete_lock(self, conversation_id: Text) -> None:
        self.tickets.delete_lock(conversation_id)

    def save_lock(self, lock: TicketLock) -> None:
        self.tickets.save_lock(lock)

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        super().finish_serving(conversation_id, ticket_number)
        self.wakeups.wake(conversation_id)
        if self.releases is not None:
            try:
                self.tickets.red.publish(RELEASED_CHANNEL, conversation_id)  # type: ignore[attr-defined]
            except Exception as e:  # other replicas' waiters still look every second
                logger.warning("could not publish a lock release (%s)", type(e).__name__)

    async def _acquire_lock(self, conversation_id: Text, ticket: int, wait_time_in_seconds: float) -> TicketLock:
        if self.releases is not None:
            self.releases.ensure_listening()
        while True:
            # Registered before looking, so a release between the look and the wait is not missed.
            released = self.wakeups.event_for(conversation_id)
            lock = self.get_lock(conversation_id)
            if not lock:
                break
            if not lock.is_locked(ticket):
                return lock
            try:
                await asyncio.wait_for(released.wait(), timeout=wait_time_in_seconds)
            except asyncio.TimeoutError:
                pass
            self.update_lock(conversation_id)
        raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")
