"""Secrets in what Rasa stores: masked by the tracker store before it saves, which
also masks what Rasa streams to the event broker (both real, on SQLite here)."""
import asyncio
import json
import sqlite3

from rasa.core.brokers.sql import SQLEventBroker
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.secret_prompts import MASK, mask_secrets_in_events
from bot.tracker_store import MaskingSQLTrackerStore


def verification_turns():
    return [
        UserUttered("查话费", intent={"name": "check_balance", "confidence": 0.9}),
        SlotSet("requested_slot", "account_phone"),
        BotUttered("请输入手机号码"),
        # The phone and a PIN before it was asked for, in one message kept whole by a from_text slot.
        UserUttered("我号码13800138000 密码是1234", intent={"name": "inform", "confidence": 0.8},
                    entities=[{"entity": "number", "value": "1234", "start": 21, "end": 25}]),
        SlotSet("account_phone", "我号码13800138000 密码是1234"),
        SlotSet("requested_slot", "account_pin"),
        BotUttered("请输入 4 位服务密码"),
        UserUttered("oops, it's 2468"),
        SlotSet("account_pin", "oops, it's 2468"),
        SlotSet("account_pin", "verified"),
        SlotSet("requested_slot", "account_pin"),
        UserUttered("I don't have a PIN, can I talk to a person"),
        SlotSet("requested_slot", None),
        BotUttered("your PIN 1357 is wrong", metadata={"sender": "agent"}),
        UserUttered("2468 谢谢"),
    ]


def test_secrets_are_masked_and_other_answers_are_not():
    events = verification_turns()
    assert mask_secrets_in_events(events) == 5
    users = [e.text for e in events if isinstance(e, UserUttered)]
    assert users == ["查话费", f"我号码13800138000 密码是{MASK}", f"oops, it's {MASK}",
                     "I don't have a PIN, can I talk to a person", "2468 谢谢"]  # not asked for, no cue: a number
    slots = [(e.key, e.value) for e in events if isinstance(e, SlotSet) and e.key != "requested_slot"]
    assert slots == [("account_phone", f"我号码13800138000 密码是{MASK}"), ("account_pin", MASK),
                     ("account_pin", "verified")]
    with_entities = events[3].as_dict()
    assert with_entities["parse_data"]["text"] == f"我号码13800138000 密码是{MASK}"
    assert with_entities["parse_data"]["entities"][0]["value"] == MASK
    assert [e.text for e in events if isinstance(e, BotUttered)][-1] == f"your PIN {MASK} is wrong"
    assert mask_secrets_in_events(events) == 0  # saving again changes nothing


def test_neither_the_tracker_table_nor_the_broker_table_holds_a_pin(tmp_path):
    broker = SQLEventBroker(db=str(tmp_path / "events.db"))
    store = MaskingSQLTrackerStore(Domain.empty(), db=str(tmp_path / "tracker.db"), event_broker=broker)
    turns = verification_turns()
    # The PIN prompt ends the first turn; the answer "oops, it's 2468" comes in the next.
    first, later = turns[:7] + [ActionExecuted("action_listen")], turns[7:] + [ActionExecuted("action_listen")]
    asyncio.run(store.save(DialogueStateTracker.from_events("c1", first)))

    async def next_turn():  # as Rasa does: load, add the turn's events, save
        tracker = await store.retrieve("c1")
        for event in later:
            tracker.update(event)
        await store.save(tracker)

    asyncio.run(next_turn())
    for db in ("tracker.db", "events.db"):
        with sqlite3.connect(tmp_path / db) as conn:
            rows = [json.loads(data) for (data,) in conn.execute("SELECT data FROM events")]
        stored = json.dumps(rows, ensure_ascii=False)
        assert "1234" not in stored and "1357" not in stored, db
        assert "oops, it's 2468" not in stored and "oops, it's ••••" in stored, db
        assert "I don't have a PIN, can I talk to a person" in stored, db
        assert len(rows) == len(first) + len(later), db  # each event once
