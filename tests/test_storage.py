"""Repositories against a real database (SQLite, and PostgreSQL when configured)."""
import pytest

from actions.accounts import AccountRepository, mask_phone
from handoff_service.desk.storage import HandoffConflict, HandoffRepository
from handoff_service.storage import CursorRepository, StaffRepository, TranscriptRepository
from knowledge_base.storage import FaqNotFound, FaqRepository, StaleEdit

ANSWERS = {"zh-Hans": "简体答案", "zh-Hant": "繁體答案", "en": "English answer"}
QUESTIONS = {"zh-Hans": ["营业时间"], "zh-Hant": ["營業時間"], "en": ["opening hours"]}


def test_faq_create_edit_and_refuse_stale_edit(engine):
    repo = FaqRepository(engine)
    faq_id = repo.upsert("hours", ANSWERS, QUESTIONS)
    faq = repo.get(faq_id)
    assert faq.answer_in("zh-Hant") == "繁體答案"
    assert faq.questions["en"] == ["opening hours"]

    edited = repo.update(faq_id, {**ANSWERS, "en": "New hours"}, {"en": ["when open"]}, faq.version, "editor")
    assert edited.answers["en"] == "New hours"
    assert edited.questions["en"] == ["when open"] and edited.questions["zh-Hans"] == []
    assert edited.version == faq.version + 1 and edited.updated_by == "editor"

    with pytest.raises(StaleEdit):  # a second editor still holding the old version
        repo.update(faq_id, ANSWERS, QUESTIONS, faq.version, "other")
    with pytest.raises(FaqNotFound):
        repo.update(faq_id + 99, ANSWERS, QUESTIONS, 1, "editor")


def test_faq_answer_falls_back_to_another_language(engine):
    repo = FaqRepository(engine)
    faq = repo.get(repo.upsert("only-en", {"en": "Only English"}, {"en": ["x"]}))
    assert faq.answer_in("zh-Hans") == "Only English"


def test_faq_list_is_paginated_in_slug_order(engine):
    repo = FaqRepository(engine)
    for i in range(5):
        repo.upsert(f"faq-{i}", ANSWERS, QUESTIONS)
    assert repo.count() == 5
    assert [f.slug for f in repo.list(offset=2, limit=2)] == ["faq-2", "faq-3"]


def test_customer_verification_needs_matching_phone_and_pin(engine):
    accounts = AccountRepository(engine)
    cid = accounts.add_customer("张伟", "138-0013-8000", "1234", balance_cents=8850)
    assert accounts.verify("13800138000", "1234").id == cid
    assert accounts.verify("13800138000", "9999") is None
    assert accounts.verify("13900000000", "1234") is None
    assert accounts.get(cid).balance == "88.50"
    # Loading the demo twice refreshes rather than duplicates.
    assert accounts.add_customer("张伟", "13800138000", "4321") == cid
    assert accounts.verify("13800138000", "4321").id == cid
    assert mask_phone("13800138000") == "•••••••8000"
    assert accounts.verify("+8613800138000", "4321").id == cid  # as the verification form passes it


def test_too_many_wrong_pins_lock_the_number_for_a_while(engine):
    import datetime as dt

    from actions.accounts import MAX_PIN_FAILURES, PIN_LOCK, AccountLocked

    accounts = AccountRepository(engine)
    cid = accounts.add_customer("张伟", "13800138000", "1234")
    now = dt.datetime(2026, 11, 23, 12, 0)
    assert accounts.verify("13800138000", "0000", now=now) is None
    assert accounts.verify("13800138000", "1234", now=now).id == cid  # a success starts the count again
    for _ in range(MAX_PIN_FAILURES):
        assert accounts.verify("13800138000", "0000", now=now) is None
    with pytest.raises(AccountLocked) as locked:  # now even the right PIN is not checked
        accounts.verify("13800138000", "1234", now=now + dt.timedelta(minutes=1))
    assert locked.value.until == now + PIN_LOCK
    assert accounts.verify("13800138000", "1234", now=now + PIN_LOCK).id == cid


def test_staff_login_and_roles(engine):
    staff = StaffRepository(engine)
    staff.upsert("amy", "Amy", "s3cret-pass", ["agent"])
    user = staff.authenticate("amy", "s3cret-pass")
    assert user.has_role("agent") and not user.has_role("editor")
    assert staff.authenticate("amy", "wrong") is None
    assert staff.authenticate("nobody", "s3cret-pass") is None
    with pytest.raises(ValueError):
        staff.upsert("x", "X", "pw", ["root"])


def test_handoff_lifecycle_and_queue_positions(engine):
    repo = HandoffRepository(engine)
    first, created = repo.create("conv-1", "customer_request", "zh-Hans", {"intent": {"name": "human_handoff"}})
    assert created and first.status == "queued"
    again, created = repo.create("conv-1", "customer_request", "zh-Hans", {})
    assert not created and again.id == first.id  # a repeated request is not a second ticket
    second, _ = repo.create("conv-2", "customer_request", "en", {})
    assert repo.queue_position(first) == 1 and repo.queue_position(second) == 2

    accepted, newly = repo.accept(first.id, "amy")
    assert newly and accepted.status == "active" and accepted.agent_username == "amy"
    assert repo.accept(first.id, "amy")[1] is False  # accepting twice is harmless
    with pytest.raises(HandoffConflict):
        repo.accept(first.id, "bob")
    assert repo.queue_position(second) == 1

    closed = repo.close(first.id, "amy")
    assert closed.status == "closed" and closed.closed_at is not None
    with pytest.raises(HandoffConflict):
        repo.close(first.id, "amy")
    assert [h.conversation_id for h in repo.list()] == ["conv-2"]
    # A closed conversation can be handed off again later.
    assert repo.create("conv-1", "customer_request", "zh-Hans", {})[1] is True


def test_simultaneous_handoff_requests_queue_one(engine):
    from concurrent.futures import ThreadPoolExecutor

    repo = HandoffRepository(engine)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: repo.create("conv-same", "customer_request", "en", {}), range(8)))
    assert len({h.id for h, _ in results}) == 1 and [c for _, c in results].count(True) == 1
    repo.close(results[0][0].id, "agent")
    again, created = repo.create("conv-same", "customer_request", "en", {})  # a new one after closing
    assert created and again.id != results[0][0].id


def test_an_agent_reply_is_claimed_once(engine):
    import datetime as dt

    from handoff_service.desk.storage import agent_replies

    repo = HandoffRepository(engine)
    hid = repo.create("conv-reply", "customer_request", "en", {})[0].id
    assert repo.claim_reply(hid, "r-00000001") == "send"
    assert repo.claim_reply(hid, "r-00000001") == "in_progress"  # the first request is still sending
    repo.finish_reply(hid, "r-00000001", sent=False)
    assert repo.claim_reply(hid, "r-00000001") == "check"  # retry after a failure: check, then send
    repo.finish_reply(hid, "r-00000001", sent=True)
    assert repo.claim_reply(hid, "r-00000001") == "sent"
    # A request that died while sending does not block the reply for ever.
    assert repo.claim_reply(hid, "r-00000002") == "send"
    with engine.begin() as conn:
        conn.execute(agent_replies.update().values(updated_at=dt.datetime(2000, 1, 1))
                     .where(agent_replies.c.client_message_id == "r-00000002"))
    assert repo.claim_reply(hid, "r-00000002") == "check"
    assert repo.claim_reply(hid, "r-00000002") == "in_progress"


def test_transcript_ignores_replayed_events_and_keeps_order(engine):
    repo = TranscriptRepository(engine)
    line = dict(source_event_id=7, conversation_id="c", actor="customer", text="你好", timestamp=1.0,
                agent_username=None, intent="greet", confidence=0.9)
    assert repo.add(line) is not None
    assert repo.add(line) is None
    repo.add({**line, "source_event_id": 8, "actor": "bot", "text": "您好", "intent": None})
    assert [(l.actor, l.text) for l in repo.for_conversation("c")] == [("customer", "你好"), ("bot", "您好")]
    assert repo.for_conversation("other") == []


def test_event_cursor_persists(engine):
    cursors = CursorRepository(engine)
    assert cursors.get("web") == 0
    cursors.set("web", 41)
    cursors.set("web", 42)
    assert CursorRepository(engine).get("web") == 42


def test_event_cursor_only_advances_and_tolerates_a_second_consumer(engine):
    from concurrent.futures import ThreadPoolExecutor

    cursors = CursorRepository(engine)
    # Several consumers finishing the same batch at once: none fails, the row is made once.
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda p: cursors.advance("web", p), [9, 9, 7, 9]))
    assert cursors.get("web") == 9
    cursors.advance("web", 5)  # a late consumer with an older batch does not move it back
    assert cursors.get("web") == 9
    cursors.set("web", 0)  # an operator replaying the stream can
    assert cursors.get("web") == 0


def test_migrations_match_the_tables_the_code_declares(engine):
    """A table or column added in code without a migration (or the reverse) fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from bot.schema import app_metadata

    declared = app_metadata()
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, declared)
    assert [d for d in differences if d[0] != "remove_table" or d[1].name != "alembic_version"] == []
