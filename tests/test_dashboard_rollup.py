"""The hourly conversation rollup the history reads (``dash_conversation_hours``) is kept
by the summary handler event by event: after any stream (replays, restarts, customers
coming back, outcomes changing their mind) it must hold exactly what summing up the
conversation rows gives, and the migration that fills it from existing rows must give
the same. SQLite, and PostgreSQL when TEST_DATABASE_URL is set.
"""
import datetime as dt
import random
from collections import defaultdict

import sqlalchemy as sa

from handoff_service.dashboard.storage import CONVERSATION_FIGURES, conversation_hours, conversations
from handoff_service.dashboard.summary import SummaryHandler, conversation_figures

START = dt.datetime(2026, 11, 20, 6, 0)
ROLLUP_REVISION = "0015"  # migrations/versions/0015_dashperf_conversation_hours.py


def random_stream(seed: int, senders: int = 40, events: int = 1500):
    """(event id, sender, event) of customers talking over a few hours, in order."""
    rng = random.Random(seed)
    moment = START
    stream = []
    for event_id in range(1, events + 1):
        sender = f"s{rng.randrange(senders)}"
        moment += dt.timedelta(seconds=rng.randrange(1, 40))
        at = moment.replace(tzinfo=dt.timezone.utc).timestamp()
        kind = rng.random()
        if kind < 0.08:
            event = {"event": "session_started"}
        elif kind < 0.55:
            intent = rng.choice(["faq", "faq", "greet", "nlu_fallback", "faq_helpful", "faq_not_helpful",
                                 "human_handoff", "check_balance"])
            language = rng.choice([None, "zh-Hans", "en"])
            event = {"event": "user", "text": "…", "input_channel": rng.choice(["socketio", "telegram", None]),
                     "parse_data": {"intent": {"name": intent},
                                    "entities": [{"entity": "language", "value": language}] if language else []}}
        elif kind < 0.7:
            event = {"event": "slot", "name": "faq_shown", "value": rng.choice(["invoice", "payment-methods"])}
        elif kind < 0.78:
            event = {"event": "slot", "name": "customer_id", "value": float(rng.randrange(5))}
        elif kind < 0.82:
            event = {"event": "slot", "name": "language", "value": rng.choice(["zh-Hant", "en"])}
        elif kind < 0.88:
            event = {"event": "action", "name": rng.choice(["action_handoff", "action_default_fallback"])}
        else:
            event = {"event": "bot", "text": "…"}
        stream.append((event_id, sender, {**event, "timestamp": at}))
    return stream


def recomputed(engine):
    """The rollup as summing up the conversation rows gives it."""
    expected = defaultdict(lambda: dict.fromkeys(CONVERSATION_FIGURES, 0))
    with engine.connect() as conn:
        for row in conn.execute(sa.select(conversations)):
            figures = conversation_figures(dict(row._mapping))
            if figures:
                for name, n in figures[1].items():
                    expected[tuple(figures[0].values())][name] += n
    return {key: figures for key, figures in expected.items() if any(figures.values())}


def stored(engine):
    with engine.connect() as conn:
        rows = conn.execute(sa.select(conversation_hours)).fetchall()
    result = {}
    for row in rows:
        figures = {name: row._mapping[name] for name in CONVERSATION_FIGURES}
        if any(figures.values()):  # a conversation that moved away leaves a row of zeros behind
            result[(row.hour, row.channel, row.language, row.first_intent)] = figures
    return result


def test_the_rollup_kept_event_by_event_equals_the_rows_summed_up(engine):
    handler = SummaryHandler(engine)
    stream = random_stream(seed=13)
    rng = random.Random(13)
    position = 0
    while position < len(stream):
        # Event by event, or a batch of the consumer's at once (one transaction).
        size = rng.choice([1, 1, 5, 40, 200])
        handler.apply_many(stream[position:position + size])
        position += size
        if rng.random() < 0.05:
            handler._current.clear()  # a restarted process: rows are read from the table again
    # The consumer lost its cursor: the last few hundred events come again, to a restarted handler.
    restarted = SummaryHandler(engine)
    for event_id, sender, event in stream[-300:]:
        restarted.apply(event_id, sender, event)
    expected = recomputed(engine)
    assert sum(f["conversations"] for f in expected.values()) > 50  # the stream made many conversations
    assert sum(f["recontacted"] for f in expected.values()) > 0  # ... some of them by returning customers
    assert sum(f["confirmed"] for f in expected.values()) > 0 and sum(f["unresolved"] for f in expected.values()) > 0
    assert stored(engine) == expected


def test_the_migration_fills_the_rollup_from_the_rows_already_there(database_url, engine):
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from bot.settings import PROJECT_ROOT

    handler = SummaryHandler(engine)
    for event_id, sender, event in random_stream(seed=7, events=600):
        handler.apply(event_id, sender, event)
    kept = stored(engine)
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    before_rollup = ScriptDirectory.from_config(config).get_revision(ROLLUP_REVISION).down_revision
    command.downgrade(config, before_rollup)  # as before this rollup existed, with the conversation rows
    engine.dispose()
    command.upgrade(config, "head")
    assert kept and stored(engine) == kept


async def test_the_consumer_gives_the_summaries_whole_batches_and_a_bad_row_is_still_set_aside(engine, tmp_path):
    """The consumer hands the summary handler a batch at once; a row it cannot read makes
    the batch go row by row: that row is retried and set aside as before, the others count."""
    from rasa.core.brokers.sql import SQLEventBroker  # the broker Rasa itself uses

    from handoff_service.events import EventStreamConsumer, SqlEventSource
    from handoff_service.storage import CursorRepository, SetAsideRepository

    events_db = tmp_path / "events.db"
    broker = SQLEventBroker(db=str(events_db))
    stream = random_stream(seed=3, senders=8, events=120)
    for _, sender, event in stream[:60]:
        broker.publish({"sender_id": sender, **event})
    # Not what Rasa writes, but what a bug or a hand-made row could: unreadable for the summaries.
    broker.publish({"sender_id": "s-bad", "event": "user", "text": "…", "timestamp": 1.0, "parse_data": "bad"})
    for _, sender, event in stream[60:]:
        broker.publish({"sender_id": sender, **event})
    source = SqlEventSource(f"sqlite:///{events_db}")
    handler = SummaryHandler(engine)
    set_aside = SetAsideRepository(engine)
    consumer = EventStreamConsumer(source, CursorRepository(engine), [handler], set_aside, name="rollup-test")
    failures = 0
    try:
        while True:
            try:
                if not await consumer.poll_once():
                    break
            except AttributeError:  # the bad row, retried before it is set aside
                failures += 1
    finally:
        source.dispose()
    assert failures == 2 and set_aside.total() == 1
    assert consumer.cursors.get("rollup-test") == len(stream) + 1
    # The same as the stream without the bad row gives, handled event by event elsewhere.
    from bot.database import create_engine, migrate

    reference_url = f"sqlite:///{tmp_path / 'reference.db'}"
    migrate(reference_url)
    reference = create_engine(reference_url)
    try:
        SummaryHandler(reference).apply_many(stream)
        expected = stored(reference)
    finally:
        reference.dispose()
    assert stored(engine) == expected and sum(f["conversations"] for f in expected.values()) > 5
