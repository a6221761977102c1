"""Callbacks already handled, shared by every Rasa replica: ``channel_callbacks_seen``.

Tencent repeats a callback it got no answer to within 5 s (three times), WeCom's
``sync_msg`` hands the last 3 days of messages again to a fetch without a cursor (after
a restart), Telegram repeats an update until it gets a 200. With several Rasa replicas
behind one webhook URL the repeat can reach another replica than the first: a memory
of its own would process it again, and the customer gets two answers (and the bot two
turns). So the memory is shared:

* in Redis when ``LOCK_STORE_REDIS_URL`` is set (several Rasa processes need Redis for
  their conversation locks anyway): ``SET … NX EX``, the key expiring after the retention;
* else in the app database (``DATABASE_URL``, SQLite on one machine, PostgreSQL scaled
  out): a row per callback, its primary key refusing a second insert; rows older than
  the retention are purged as new ones come. It also outlives a restart, which is when
  WeCom hands the 3-day window again.

Keys are the platform's ids (a message id, or an openid with a time): stored as a
SHA-256 digest, so no customer id sits in the store in clear. When the store cannot
be reached the replica falls back to its own memory (a repeat on another replica may
then be answered twice: better than no answer), and says so once in the log.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import time
from typing import Callable, Optional

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.channels.messaging import SeenOnce

logger = logging.getLogger(__name__)

# WeCom's sync window (3 days) is the longest any platform hands a message again; a day more for clock skew.
RETENTION = dt.timedelta(days=4)
# How often a replica deletes expired rows (each replica does; a delete of nothing is cheap).
PURGE_EVERY_SECONDS = 600.0
REDIS_PREFIX = "supportbot:callback-seen:"

metadata = sa.MetaData()

channel_callbacks_seen = sa.Table(
    "channel_callbacks_seen",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),  # sha256(channel + key), hex
    sa.Column("seen_at", sa.DateTime, nullable=False, index=True),
)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def digest(channel: str, key: str) -> str:
    return hashlib.sha256(f"{channel}\n{key}".encode("utf-8")).hexdigest()


class CallbacksSeen:
    """This process's memory only (the base of the shared stores, and their fallback)."""

    def __init__(self, channel: str, memory_size: int = 10_000):
        self.channel = channel
        self.memory = SeenOnce(memory_size)
        self._warned = False

    async def first_time(self, key: str) -> bool:
        """Whether no replica has handled this callback yet (and it is now marked as handled)."""
        hashed = digest(self.channel, key)
        if not self.memory.first_time(hashed):
            return False  # this replica had it: no need to ask the store
        try:
            return await self._claim(hashed)
        except Exception as e:  # the store is down: this replica's memory has to do
            if not self._warned:
                self._warned = True
                logger.warning("%s: the shared record of handled callbacks is unreachable (%s); "
                               "using this process's memory", self.channel, type(e).__name__)
            return True

    async def _claim(self, hashed: str) -> bool:
        return True

    async def close(self) -> None:
        pass


class SqlCallbacksSeen(CallbacksSeen):
    def __init__(self, channel: str, engine_factory: Callable[[], sa.engine.Engine],
                 retention: dt.timedelta = RETENTION, clock: Callable[[], dt.datetime] = _utcnow, **kwargs):
        super().__init__(channel, **kwargs)
        self._engine_factory = engine_factory
        self._engine: Optional[sa.engine.Engine] = None
        self.retention = retention
        self.clock = clock
        self._next_purge = 0.0

    @property
    def engine(self) -> sa.engine.Engine:
        if self._engine is None:  # made at the first callback: a channel that gets none needs no database
            self._engine = self._engine_factory()
        return self._engine

    async def _claim(self, hashed: str) -> bool:
        return await asyncio.to_thread(self._insert, hashed)

    def _insert(self, hashed: str) -> bool:
        now = self.clock()
        if time.monotonic() >= self._next_purge:
            self.purge(now)
        try:
            with self.engine.begin() as conn:
                conn.execute(channel_callbacks_seen.insert().values(digest=hashed, seen_at=now))
            return True
        except IntegrityError:  # another replica (or this one, before a restart) has it
            return False

    def purge(self, now: Optional[dt.datetime] = None) -> int:
        now = now or self.clock()
        self._next_purge = time.monotonic() + PURGE_EVERY_SECONDS
        with self.engine.begin() as conn:
            return conn.execute(channel_callbacks_seen.delete()
                                .where(channel_callbacks_seen.c.seen_at < now - self.retention)).rowcount


class RedisCallbacksSeen(CallbacksSeen):
    def __init__(self, channel: str, url: str, retention: dt.timedelta = RETENTION, **kwargs):
        super().__init__(channel, **kwargs)
        self.url = url
        self.retention = retention
        self._client = None

    async def _claim(self, hashed: str) -> bool:
        if self._client is None:
            import redis.asyncio as aioredis

            self._client = aioredis.from_url(self.url, socket_timeout=5, socket_connect_timeout=5)
        # NX: only the first SET of a key succeeds, on whichever replica makes it.
        return bool(await self._client.set(REDIS_PREFIX + hashed, b"1", nx=True,
                                           ex=int(self.retention.total_seconds())))

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()


def shared_callbacks_seen(channel: str) -> CallbacksSeen:
    """The record this Rasa process's connector uses, from the settings: Redis when the
    lock store uses it (several replicas), else the app database."""
    from bot.database import create_engine
    from bot.settings import Settings

    settings = Settings.from_env()
    if settings.lock_store_redis_url:
        return RedisCallbacksSeen(channel, settings.lock_store_redis_url)
    return SqlCallbacksSeen(channel, lambda: create_engine(settings.database_url))
