"""The numbered options a text-only app's customer was offered, shared by every Rasa
replica: ``channel_offered_options``.

WeChat and WeCom have no buttons: the bot's buttons are sent as "1. … 2. …" and a reply
of just "2" means the second (``messaging.NumberedOptions``). The reply is a new callback
that may reach another replica than the one that sent the options, so what was offered is
kept where every replica reads it: Redis when ``LOCK_STORE_REDIS_URL`` is set, else the
app database, as for handled callbacks (``callbacks_seen.py``). One offer per customer
(the latest), picked once, forgotten after a day (a "2" typed the next day is the
customer's own words). The customer's id is stored as a digest.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Callable, List, Optional

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.channels.callbacks_seen import _utcnow, digest, metadata

KEPT = dt.timedelta(days=1)
REDIS_PREFIX = "supportbot:offered-options:"

channel_offered_options = sa.Table(
    "channel_offered_options",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),  # sha256(channel + recipient id), hex
    sa.Column("payloads", sa.Text, nullable=False),  # JSON list, in the order offered
    sa.Column("offered_at", sa.DateTime, nullable=False, index=True),
)


class SqlOfferedOptions:
    def __init__(self, channel: str, engine_factory: Callable[[], sa.engine.Engine], kept: dt.timedelta = KEPT,
                 clock: Callable[[], dt.datetime] = _utcnow):
        self.channel = channel
        self._engine_factory = engine_factory
        self._engine: Optional[sa.engine.Engine] = None
        self.kept = kept
        self.clock = clock

    @property
    def engine(self) -> sa.engine.Engine:
        if self._engine is None:
            self._engine = self._engine_factory()
        return self._engine

    async def put(self, recipient_id: str, payloads: List[str]) -> None:
        await asyncio.to_thread(self._put, digest(self.channel, recipient_id), json.dumps(payloads, ensure_ascii=False))

    def _put(self, key: str, payloads: str) -> None:
        now = self.clock()
        row = channel_offered_options.c.digest == key
        with self.engine.begin() as conn:
            # Offers older than a day are dropped as new ones come: the table holds a day of customers.
            conn.execute(channel_offered_options.delete().where(channel_offered_options.c.offered_at < now - self.kept))
            if conn.execute(channel_offered_options.update().where(row)
                            .values(payloads=payloads, offered_at=now)).rowcount:
                return
            try:
                with conn.begin_nested():
                    conn.execute(channel_offered_options.insert().values(digest=key, payloads=payloads, offered_at=now))
            except IntegrityError:  # another replica offered this customer something at the same moment
                conn.execute(channel_offered_options.update().where(row).values(payloads=payloads, offered_at=now))

    async def take(self, recipient_id: str, number: int) -> Optional[str]:
        """The payload of option ``number`` if this customer has it on offer; the offer is then gone."""
        return await asyncio.to_thread(self._take, digest(self.channel, recipient_id), number)

    def _take(self, key: str, number: int) -> Optional[str]:
        with self.engine.begin() as conn:
            found = conn.execute(sa.select(channel_offered_options).where(channel_offered_options.c.digest == key)).first()
            if found is None or found.offered_at < self.clock() - self.kept:
                return None
            payloads = json.loads(found.payloads)
            if not 1 <= number <= len(payloads):
                return None
            # Only the replica whose delete removes this very offer uses it.
            taken = conn.execute(channel_offered_options.delete().where(
                (channel_offered_options.c.digest == key) & (channel_offered_options.c.offered_at == found.offered_at)
            )).rowcount
            return payloads[number - 1] if taken else None


class RedisOfferedOptions:
    def __init__(self, channel: str, url: str, kept: dt.timedelta = KEPT):
        self.channel = channel
        self.url = url
        self.kept = kept
        self._client = None

    def _redis(self):
        if self._client is None:
            import redis.asyncio as aioredis

            self._client = aioredis.from_url(self.url, socket_timeout=5, socket_connect_timeout=5)
        return self._client

    async def put(self, recipient_id: str, payloads: List[str]) -> None:
        await self._redis().set(REDIS_PREFIX + digest(self.channel, recipient_id),
                                json.dumps(payloads, ensure_ascii=False), ex=int(self.kept.total_seconds()))

    async def take(self, recipient_id: str, number: int) -> Optional[str]:
        key = REDIS_PREFIX + digest(self.channel, recipient_id)
        stored = await self._redis().get(key)
        if stored is None:
            return None
        payloads = json.loads(stored)
        if not 1 <= number <= len(payloads):
            return None
        # Only the replica whose delete removes the offer uses it.
        return payloads[number - 1] if await self._redis().delete(key) == 1 else None

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()


def shared_offered_options(channel: str):
    """The record this Rasa process's connector uses: Redis when the lock store uses it, else the app database."""
    from bot.database import create_engine
    from bot.settings import Settings

    settings = Settings.from_env()
    if settings.lock_store_redis_url:
        return RedisOfferedOptions(channel, settings.lock_store_redis_url)
    return SqlOfferedOptions(channel, lambda: create_engine(settings.database_url))
