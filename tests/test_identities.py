"""One customer, one history: verified conversations are linked to their customer from
the event stream, and a handoff's customer history holds every linked channel's."""
import asyncio
import json

import sqlalchemy as sa

from bot.database import create_engine
from handoff_service.events import transcript_line
from handoff_service.identities.history import CustomerHistory
from handoff_service.identities.linker import IdentityLinker, customer_ref_of
from handoff_service.identities.storage import IdentityRepository
from handoff_service.storage import Handoff, TranscriptRepository


def _stream(tmp_path, rows):
    """Rasa's SQL event broker table, with these (id, sender_id, event) rows."""
    engine = create_engine(f"sqlite:///{tmp_path / 'events.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, data TEXT)"))
        for row_id, sender, event in rows:
            conn.execute(sa.text("INSERT INTO events VALUES (:i, :s, :d)"), {"i": row_id, "s": sender, "d": json.dumps(event)})
    return engine


def test_the_customer_id_a_slot_sets():
    assert customer_ref_of({"event": "slot", "name": "customer_ref", "value": "42"}) == "42"
    assert customer_ref_of({"event": "slot", "name": "customer_id", "value": 42.0}) == "42"
    assert customer_ref_of({"event": "slot", "name": "customer_id", "value": None}) is None  # logged out
    assert customer_ref_of({"event": "slot", "name": "account_phone", "value": "13800138000"}) is None


def test_verifications_on_two_channels_make_one_customer(engine, tmp_path):
    identities = IdentityRepository(engine)
    stream = _stream(tmp_path, [(1, "tg-777", {"event": "user", "text": "hi", "input_channel": "telegram"})])
    linker = IdentityLinker(identities, stream)

    async def feed():
        await linker(10, "web-abc", {"event": "user", "text": "查话费", "input_channel": "socketio"})
        await linker(11, "web-abc", {"event": "slot", "name": "customer_ref", "value": "7"})
        await linker(11, "web-abc", {"event": "slot", "name": "customer_ref", "value": "7"})  # replayed: once
        # A restarted consumer: the channel is read back from the stream.
        await IdentityLinker(identities, stream)(12, "tg-777", {"event": "slot", "name": "customer_id", "value": 7.0})

    asyncio.run(feed())
    linked = [(i.channel, i.sender_id) for i in identities.identities_of("7")]
    assert linked == [("socketio", "web-abc"), ("telegram", "tg-777")]
    assert identities.customer_of("telegram", "tg-777") == "7"
    stream.dispose()


def test_a_handoffs_history_holds_the_earlier_conversation_from_the_other_channel(engine):
    identities = IdentityRepository(engine)
    transcripts = TranscriptRepository(engine)
    identities.link("7", "socketio", "web-abc")
    identities.link("7", "telegram", "tg-777")
    for event_id, conversation, text in ((1, "web-abc", "我的网络断了"), (2, "tg-777", "还是断线")):
        transcripts.add(transcript_line(event_id, conversation, {"event": "user", "text": text, "timestamp": 1.0}))
    handoff = Handoff(id=1, conversation_id="tg-777", status="queued", reason="explicit_request", language="zh-Hans",
                      context={}, agent_username=None, created_at=None, input_channel="telegram")
    history = CustomerHistory(identities, transcripts).for_handoff(handoff)
    assert history["customer_ref"] == "7"
    assert [(c["channel"], c["current"], [l["text"] for l in c["transcript"]]) for c in history["conversations"]] == [
        ("socketio", False, ["我的网络断了"]), ("telegram", True, ["还是断线"])]
    stranger = Handoff(id=2, conversation_id="web-new", status="queued", reason="explicit_request",
                       language="en", context={}, agent_username=None, created_at=None, input_channel="socketio")
    assert CustomerHistory(identities, transcripts).for_handoff(stranger) == {"customer_ref": None, "conversations": []}
