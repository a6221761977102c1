"""Retention and a customer's rights, on a real app database and Rasa's real stores."""
import datetime as dt
import json
import time

import pytest
import sqlalchemy as sa

from actions.accounts import AccountRepository
from bot.database import create_engine
from handoff_service.audit import storage as audit
from handoff_service.audit.storage import AuditFilter, AuditLog, audit_events
from handoff_service.privacy import __main__ as privacy_cli
from handoff_service.privacy.customer_records import CustomerRecords
from handoff_service.privacy.retention import RetentionPurge
from handoff_service.desk.storage import HandoffRepository
from handoff_service.desk.tickets import TicketRepository
from handoff_service.identities.storage import IdentityRepository, customer_identities
from knowledge_base.storage import FaqRepository, faq_feedback
from knowledge_base.unanswered import UnansweredRepository, unanswered
from handoff_service.storage import CursorRepository, StaffRepository, TranscriptRepository

DAY = 24 * 3600
NAME, PHONE = "林晓雨", "13712340000"


@pytest.fixture
def settings(database_url, tmp_path):
    from bot.settings import Settings

    return Settings.from_env({"VAR_DIR": str(tmp_path)}).with_overrides(database_url=database_url)


@pytest.fixture
def stores(settings):
    engines = [create_engine(u) for u in (settings.database_url, settings.rasa_tracker_db_url, settings.rasa_events_db_url)]
    yield engines
    for e in engines:
        e.dispose()


def save_tracker(settings, conversation, events):
    """Through Rasa's own SQL tracker store, as the Rasa server writes it."""
    import asyncio

    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.trackers import DialogueStateTracker

    store = SQLTrackerStore(dialect="sqlite", db=settings.rasa_tracker_db_url.replace("sqlite:///", ""))
    asyncio.run(store.save(DialogueStateTracker.from_events(conversation, events)))


def publish(settings, events):
    from rasa.core.brokers.sql import SQLEventBroker

    broker = SQLEventBroker(db=settings.rasa_events_db_url.replace("sqlite:///", ""))
    for event in events:
        broker.publish(event)


def conversation_of_customer(settings, app_engine, conversation, customer_id, when, name=NAME, phone=PHONE):
    from rasa.shared.core.events import SlotSet, UserUttered

    save_tracker(settings, conversation, [
        UserUttered("查话费", timestamp=when), SlotSet("account_phone", phone, timestamp=when + 1),
        SlotSet("customer_id", float(customer_id), timestamp=when + 2),
        SlotSet("customer_name", name, timestamp=when + 2), UserUttered(f"我是{name}，转人工", timestamp=when + 3),
    ])
    publish(settings, [
        {"sender_id": conversation, "event": "user", "text": phone, "timestamp": when + 1, "parse_data": {}},
        {"sender_id": conversation, "event": "slot", "name": "customer_id", "value": float(customer_id), "timestamp": when + 2},
        {"sender_id": conversation, "event": "user", "text": f"我是{name}，转人工", "timestamp": when + 3, "parse_data": {}},
    ])
    transcripts = TranscriptRepository(app_engine)
    for i, text in enumerate((phone, f"我是{name}，转人工")):
        transcripts.add(dict(source_event_id=int(when) * 10 + i, conversation_id=conversation, actor="customer",
                             text=text, timestamp=when + i))
    handoff, _ = HandoffRepository(app_engine).create(
        conversation, "customer_request", "zh-Hans", {"customer": {"id": customer_id, "name": name, "phone": phone[:3] + "****" + phone[-4:]}})
    return handoff


def every_text_in(engine):
    """Every value of every row of every table, as one string; JSON written with
    \\u escapes (Rasa's) is read back as the characters."""
    found = []
    with engine.connect() as conn:
        for name in sa.inspect(engine).get_table_names():
            for row in conn.execute(sa.text(f'SELECT * FROM "{name}"')):
                found.append(" ".join(str(v) for v in row))
    text = "\n".join(found)
    return text + "\n" + text.encode("ascii", "backslashreplace").decode("unicode_escape", "replace")


def test_erasing_a_customer_leaves_their_phone_and_name_nowhere_but_keeps_the_counts(settings, stores):
    app_engine, tracker, broker = stores
    accounts = AccountRepository(app_engine)
    customer_id = accounts.add_customer(NAME, PHONE, "1357")
    other_id = accounts.add_customer("何志明", "13600001111", "2468")
    now = time.time()
    handoff = conversation_of_customer(settings, app_engine, "conv-lin", customer_id, now - 60)
    HandoffRepository(app_engine).accept(handoff.id, "agent")
    HandoffRepository(app_engine).close(handoff.id, "agent")
    conversation_of_customer(settings, app_engine, "conv-other", other_id, now - 30, "何志明", "13600001111")
    # privacy (#14): the same customer verified on Telegram too, left a callback number and a
    # message there, asked what the bot could not answer and voted on an answer.
    IdentityRepository(app_engine).link(str(customer_id), "socketio", "conv-lin")
    IdentityRepository(app_engine).link(str(customer_id), "telegram", "tg-lin")
    IdentityRepository(app_engine).link(str(other_id), "socketio", "conv-other")
    tickets = TicketRepository(app_engine, "ticket-secret")
    tickets.create("callback", "tg-lin", "zh-Hans", phone=PHONE, preferred_time="明早", customer_ref=str(customer_id))
    tickets.create("message", "tg-lin", "zh-Hans", message=f"我是{NAME}，请回电")
    UnansweredRepository(app_engine).record(f"{NAME}的宽带为什么断了", "zh-Hans", "dont_know", "tg-lin")
    UnansweredRepository(app_engine).record("营业厅几点关门", "zh-Hans", "dont_know", "conv-other")
    faqs = FaqRepository(app_engine)
    faq_id = faqs.upsert("hours", {"zh-Hans": "9点到18点"}, {"zh-Hans": ["营业时间"]})
    faqs.record_feedback("hours", True, "tg-lin")
    faqs.record_feedback("hours", False, "conv-other")
    records = CustomerRecords(app_engine, tracker, broker)
    assert records.conversations_of(customer_id) == {"conv-lin", "tg-lin"}

    exported = records.export(customer_id)
    assert exported["account"]["phone"] == PHONE and "pin_hash" not in exported["account"]
    conversation = exported["conversations"]["conv-lin"]
    assert [l["text"] for l in conversation["transcript"]] == [PHONE, f"我是{NAME}，转人工"]
    assert conversation["handoffs"][0]["context"]["customer"]["name"] == NAME
    assert any(e.get("value") == PHONE for e in conversation["bot_events"])
    assert len(conversation["event_stream"]) == 3
    assert [(c["channel"], c["sender_id"]) for c in exported["channels"]] == [("socketio", "conv-lin"), ("telegram", "tg-lin")]
    assert [(t["kind"], t["phone_masked"]) for t in exported["tickets"]] == [("callback", "•••••••0000"), ("message", None)]
    assert all("phone_encrypted" not in t for t in exported["tickets"])
    assert [q["question"] for q in exported["unanswered_questions"]] == [f"{NAME}的宽带为什么断了"]
    assert [f["helpful"] for f in exported["answer_feedback"]] == [True]
    json.dumps(exported)  # JSON as it is

    with app_engine.connect() as conn:
        lines_before = conn.execute(sa.text("SELECT count(*) FROM transcript_events")).scalar()
    for engine in stores:  # the search below finds them where they are
        assert PHONE in every_text_in(engine) and NAME in every_text_in(engine)
    done = records.erase(customer_id)
    assert done["conversations"] == 2 and done["event_stream_deleted"] == 3 and done["handoffs_anonymised"] == 1
    assert (done["channel_links_deleted"], done["tickets_deleted"], done["unanswered_questions_deleted"],
            done["answer_feedback_anonymised"]) == (2, 2, 1, 1)
    assert IdentityRepository(app_engine).identities_of(str(customer_id)) == []
    assert tickets.list("open") == [] and [q["question"] for q in UnansweredRepository(app_engine).questions()] == ["营业厅几点关门"]
    assert "tg-lin" not in every_text_in(app_engine)
    assert faqs.feedback_counts([faq_id]) == {faq_id: (1, 1)}  # the votes stay
    for engine in stores:
        text = every_text_in(engine)
        assert PHONE not in text and NAME not in text
    # The figures survive: as many handoffs (closed, by the same agent) and lines as before.
    closed = HandoffRepository(app_engine).list(statuses=("closed",))
    assert [(h.status, h.agent_username, h.context) for h in closed] == [("closed", "agent", {"erased": True})]
    with app_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM transcript_events")).scalar() == lines_before
    # The other customer is untouched.
    assert records.conversations_of(other_id) == {"conv-other"}
    assert [i.sender_id for i in IdentityRepository(app_engine).identities_of(str(other_id))] == ["conv-other"]
    assert "何志明" in every_text_in(app_engine) and accounts.get(other_id).phone == "13600001111"


def test_purge_deletes_what_is_past_retention_and_anonymises_what_figures_need(settings, stores):
    from rasa.shared.core.events import UserUttered

    app_engine, tracker, broker = stores
    now = time.time()
    old, recent = now - 200 * DAY, now - 60
    save_tracker(settings, "conv-old", [UserUttered("旧的问题", timestamp=old)])
    save_tracker(settings, "conv-new", [UserUttered("新的问题", timestamp=recent)])
    publish(settings, [
        {"sender_id": "conv-old", "event": "user", "text": "旧的问题", "timestamp": old, "parse_data": {}},
        {"sender_id": "conv-old", "event": "user", "text": "旧的问题 2", "timestamp": now - 8 * DAY, "parse_data": {}},
        {"sender_id": "conv-new", "event": "user", "text": "新的问题", "timestamp": recent, "parse_data": {}},
        {"sender_id": "conv-new", "event": "user", "text": "未读", "timestamp": old, "parse_data": {}},  # not consumed yet
    ])
    CursorRepository(app_engine).set("web", 3)
    transcripts, handoffs = TranscriptRepository(app_engine), HandoffRepository(app_engine)
    transcripts.add(dict(source_event_id=1, conversation_id="conv-old", actor="customer", text="旧的问题", timestamp=old))
    transcripts.add(dict(source_event_id=3, conversation_id="conv-new", actor="customer", text="新的问题", timestamp=recent))
    old_handoff, _ = handoffs.create("conv-old", "customer_request", "zh-Hans", {"customer": {"name": NAME}})
    handoffs.close(old_handoff.id, "agent")
    with app_engine.begin() as conn:
        conn.execute(sa.text("UPDATE handoffs SET created_at = :t"), {"t": dt.datetime.utcnow() - dt.timedelta(days=200)})
        conn.execute(audit_events.insert().values(
            occurred_at=dt.datetime.utcnow() - dt.timedelta(days=400), actor="agent", action=audit.LOGIN))
    AuditLog(app_engine).record("agent", audit.LOGIN)
    # privacy (#14): links across channels, tickets, unanswered questions and answer feedback.
    identities = IdentityRepository(app_engine)
    identities.link("1", "socketio", "conv-old")
    identities.link("2", "socketio", "conv-new")
    tickets = TicketRepository(app_engine, "ticket-secret")
    done_long_ago = tickets.create("callback", "conv-old", "zh-Hans", phone=PHONE)
    tickets.done(done_long_ago.id, "agent")
    left_long_ago = tickets.create("message", "conv-old", "zh-Hans", message="旧的留言")
    done_lately = tickets.create("message", "conv-old", "zh-Hans", message="刚处理的留言")
    tickets.done(done_lately.id, "agent")
    tickets.create("message", "conv-new", "zh-Hans", message="新的留言")
    UnansweredRepository(app_engine).record("旧的问题 3", "zh-Hans", "dont_know", "conv-old")
    UnansweredRepository(app_engine).record("新的问题 3", "zh-Hans", "dont_know", "conv-new")
    faqs = FaqRepository(app_engine)
    faq_id = faqs.upsert("hours", {"zh-Hans": "9点到18点"}, {"zh-Hans": ["营业时间"]})
    faqs.record_feedback("hours", True, "conv-old")
    faqs.record_feedback("hours", True, "conv-new")
    long_ago = dt.datetime.utcnow() - dt.timedelta(days=200)
    with app_engine.begin() as conn:
        conn.execute(customer_identities.update().where(customer_identities.c.sender_id == "conv-old").values(linked_at=long_ago))
        conn.execute(sa.text("UPDATE desk_tickets SET created_at = :t"), {"t": long_ago})
        conn.execute(sa.text("UPDATE desk_tickets SET done_at = :t WHERE id = :id"), {"t": long_ago, "id": done_long_ago.id})
        conn.execute(sa.text("UPDATE desk_tickets SET created_at = :t WHERE conversation_id = 'conv-new'"),
                     {"t": dt.datetime.utcnow() - dt.timedelta(days=89)})
        conn.execute(unanswered.update().where(unanswered.c.conversation_id == "conv-old").values(created_at=long_ago))
        conn.execute(faq_feedback.update().where(faq_feedback.c.conversation_id == "conv-old").values(created_at=long_ago))

    done = RetentionPurge(settings, app_engine, tracker, broker).run()

    assert done == {"bot_events_deleted": 1, "event_stream_deleted": 2, "transcript_lines_deleted": 1,
                    "handoffs_anonymised": 1, "audit_events_deleted": 1, "channel_links_deleted": 1,
                    "tickets_deleted": 2, "unanswered_questions_deleted": 1, "answer_feedback_anonymised": 1}
    assert [i.sender_id for i in identities.identities_of("1")] == [] and identities.customer_of(None, "conv-new") == "2"
    # Done 200 days ago, or left 200 days ago and never done: gone. Done lately, or left 89 days ago: kept.
    assert sorted(t.message for t in tickets.list("open") + tickets.list("done")) == ["刚处理的留言", "新的留言"]
    assert [q["question"] for q in UnansweredRepository(app_engine).questions()] == ["新的问题 3"]
    assert faqs.feedback_counts([faq_id]) == {faq_id: (2, 0)}  # every vote counts still
    with app_engine.connect() as conn:
        assert sorted(conn.execute(sa.select(faq_feedback.c.conversation_id)).scalars()) == ["", "conv-new"]
    assert "旧的问题" not in every_text_in(tracker) and "新的问题" in every_text_in(tracker)
    assert "旧的问题" not in every_text_in(broker) and "未读" in every_text_in(broker)
    assert [l.text for l in transcripts.for_conversation("conv-new")] == ["新的问题"]
    [kept] = handoffs.list(statuses=("closed",))
    assert kept.reason == "customer_request" and kept.agent_username == "agent" and NAME not in json.dumps(kept.context)
    recorded, _ = AuditLog(app_engine).query(AuditFilter(action=audit.RETENTION_PURGE))
    assert recorded[0].detail == done
    assert RetentionPurge(settings, app_engine, tracker, broker).run()["handoffs_anonymised"] == 0  # once is enough


def test_command_line_export_and_erase_are_staff_requests_on_record(settings, stores, tmp_path, capsys):
    app_engine = stores[0]
    customer_id = AccountRepository(app_engine).add_customer(NAME, PHONE, "1357")
    StaffRepository(app_engine).upsert("sue", "Supervisor Sue", "pw-123456", ["supervisor"])
    StaffRepository(app_engine).upsert("amy", "Agent Amy", "pw-123456", ["agent"])
    out = tmp_path / "export.json"
    request = ["--phone", "137-1234-0000", "--reason", "ticket 42"]
    assert privacy_cli.main(["export", *request, "--requested-by", "amy"], settings) == 2  # not a supervisor
    assert privacy_cli.main(["export", *request, "--requested-by", "sue", "--out", str(out)], settings) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["account"]["id"] == customer_id
    assert privacy_cli.main(["erase", "--customer-id", str(customer_id), "--requested-by", "sue", "--reason", "ticket 42"], settings) == 0
    assert privacy_cli.main(["erase", "--customer-id", "9999", "--requested-by", "sue", "--reason", "ticket 43"], settings) == 1
    recorded, _ = AuditLog(app_engine).query()
    assert [(e.actor, e.action, e.target_id, e.detail["reason"]) for e in reversed(recorded)] == [
        ("sue", audit.CUSTOMER_DATA_EXPORTED, str(customer_id), "ticket 42"),
        ("sue", audit.CUSTOMER_DATA_ERASED, str(customer_id), "ticket 42"),
    ]
    assert "No customer" in capsys.readouterr().err
    assert privacy_cli.main(["purge"], settings) == 0
    assert json.loads(capsys.readouterr().out)["transcript_lines_deleted"] == 0


def test_retention_settings_refuse_what_the_law_or_sense_does_not_allow():
    from bot.settings import ConfigurationError, Settings

    assert Settings.from_env({"TRANSCRIPT_RETENTION_DAYS": "30"}).transcript_retention_days == 30
    with pytest.raises(ConfigurationError, match="AUDIT_RETENTION_DAYS must be a number of days from 180"):
        Settings.from_env({"AUDIT_RETENTION_DAYS": "30"})
    with pytest.raises(ConfigurationError, match="BROKER_RETENTION_DAYS must be a whole number"):
        Settings.from_env({"BROKER_RETENTION_DAYS": "a week"})
    with pytest.raises(ConfigurationError, match="TRACKER_RETENTION_DAYS must be a number of days from 1"):
        Settings.from_env({"TRACKER_RETENTION_DAYS": "0"})


def test_deleting_the_newest_broker_rows_never_lets_ids_go_back(tmp_path):
    """SQLite gives Rasa's broker rows max(id) + 1: had erasure deleted the newest rows, the
    next events would get ids the event-stream consumer already passed, and never be relayed."""
    from rasa.core.brokers.sql import SQLEventBroker

    from handoff_service.privacy import rasa_tables

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'broker.db'}")
    table = SQLEventBroker.SQLBrokerEvent.__table__
    table.metadata.create_all(engine)
    with engine.begin() as conn:
        for sender in ("keep", "erase", "erase"):
            conn.execute(table.insert().values(sender_id=sender, data='{"event": "user", "text": "13800138000"}'))
        assert rasa_tables.delete_events(conn, table, table.c.sender_id == "erase") == 2
        assert conn.execute(sa.select(table.c.sender_id)).scalars().all() == ["keep", "erased"]
        assert "13800138000" not in conn.execute(sa.select(table.c.data).where(table.c.id == 3)).scalar()
        next_id = conn.execute(table.insert().values(sender_id="new", data="{}")).inserted_primary_key[0]
    assert next_id == 4
