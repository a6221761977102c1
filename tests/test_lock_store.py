"""The lock store wakes a conversation's next message when the previous one is done,
in one process and across processes (Redis), keeping Rasa's ticket order.

Each waiter is given a 30 s poll interval: without the wake-up it would sit out the
whole interval, so finishing inside the test's generous deadline shows the wake-up.
"""
import asyncio
import uuid

import pytest
import redis

from bot.lock_store import WakingLockStore

POLL = 30.0  # seconds a waiter would sleep without a wake-up
DEADLINE = 10.0
REDIS_URL = "redis://127.0.0.1:6379/15"


async def _handle(store, conversation_id, name, order, started=None, release=None):
    async with store.lock(conversation_id, wait_time_in_seconds=POLL):
        if started is not None:
            started.set()
        order.append(name)
        if release is not None:
            await release.wait()


async def _three_in_a_row(first_store, other_store):
    conversation_id = f"burst-{uuid.uuid4().hex}"
    order, started, release = [], asyncio.Event(), asyncio.Event()
    first = asyncio.create_task(_handle(first_store, conversation_id, "first", order, started, release))
    await started.wait()
    second = asyncio.create_task(_handle(other_store, conversation_id, "second", order))
    await asyncio.sleep(0)  # let the second message take its ticket before the third
    third = asyncio.create_task(_handle(other_store, conversation_id, "third", order))
    await asyncio.sleep(0)
    assert order == ["first"], "later messages must wait while the first is handled"
    release.set()
    await asyncio.wait_for(asyncio.gather(first, second, third), DEADLINE)
    return order


async def test_next_message_wakes_as_soon_as_the_previous_is_done_in_one_process():
    store = WakingLockStore()
    assert await _three_in_a_row(store, store) == ["first", "second", "third"]
    assert store.get_lock("nothing-here") is None


@pytest.fixture
def redis_url():
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    return REDIS_URL


async def test_a_release_on_one_replica_wakes_the_waiter_on_another(redis_url):
    replica_a, replica_b = WakingLockStore(redis_url=redis_url), WakingLockStore(redis_url=redis_url)
    # Replica B listens for releases before the race starts (in service it subscribes on its first wait).
    replica_b.releases.ensure_listening()
    await asyncio.wait_for(replica_b.releases.subscribed.wait(), DEADLINE)
    try:
        assert await _three_in_a_row(replica_a, replica_b) == ["first", "second", "third"]
    finally:
        await replica_b.releases.close()
