"""The event-stream consumer is woken by PostgreSQL when Rasa writes (handoff_service/stream_wakeup.py)."""
import asyncio
import os

import pytest
import sqlalchemy as sa

from handoff_service.stream_wakeup import PollingWakeup, PostgresWakeup, wakeup_for
from tests.conftest import _create_pg_database, _drop_pg_database

needs_postgres = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs TEST_DATABASE_URL")


@pytest.fixture
def broker_url():
    admin, name, url = _create_pg_database(os.environ["TEST_DATABASE_URL"])
    yield url
    _drop_pg_database(admin, name)


def write_rasa_event(url: str, text: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # the shape of Rasa's SQLEventBroker table
        conn.execute(sa.text("CREATE TABLE IF NOT EXISTS events (id SERIAL PRIMARY KEY, sender_id VARCHAR(255), data TEXT)"))
        conn.execute(sa.text("INSERT INTO events (sender_id, data) VALUES ('c1', :data)"), {"data": text})
    engine.dispose()


def test_sqlite_streams_are_polled():
    assert type(wakeup_for("sqlite:///events.db")) is PollingWakeup


async def test_polling_waits_the_interval_and_says_nobody_woke_it():
    assert await PollingWakeup().wait(0.01) is False


@needs_postgres
async def test_a_row_rasa_writes_wakes_the_consumer_before_its_next_poll(broker_url):
    write_rasa_event(broker_url, "{}")  # Rasa created its table (the trigger needs it)
    wakeup = wakeup_for(broker_url)
    assert isinstance(wakeup, PostgresWakeup)
    wakeup.fallback_seconds = 120  # a poll would come far too late to pass this test
    wakeup.start()
    try:
        # The listener wakes the consumer once when it starts listening (rows written before).
        assert await wakeup.wait(120) is True
        assert wakeup.listening
        await asyncio.to_thread(write_rasa_event, broker_url, '{"event": "user"}')
        assert await wakeup.wait(120) is True
    finally:
        await wakeup.stop()


@needs_postgres
async def test_until_rasa_creates_its_table_the_consumer_polls(broker_url):
    wakeup = PostgresWakeup(broker_url)
    wakeup.start()
    try:
        assert await wakeup.wait(0.05) is False  # no table: no trigger, the poll interval applies
        assert not wakeup.listening
    finally:
        await wakeup.stop()
