"""Knowledge-base content over a real database: only published FAQs are answered, every
save is kept and can be rolled back, and a running index follows every change."""
import time

import pytest

from knowledge_base.service import KnowledgeBase
from knowledge_base.storage import FaqDetails, FaqRepository, StaleEdit, VersionNotFound

PAY = {"zh-Hans": ["怎么交话费", "缴费方式"], "en": ["How can I pay my bill"]}
HOURS = {"zh-Hans": ["营业时间", "你们几点上班"], "en": ["opening hours"]}


def wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


@pytest.fixture
def kb(engine):
    repo = FaqRepository(engine)
    repo.upsert("hours", {"zh-Hans": "8 点到 22 点", "en": "8 to 22"}, HOURS)
    knowledge_base = KnowledgeBase(repo, poll_interval=0.05).start()
    yield repo, knowledge_base
    knowledge_base.stop()


def test_every_change_bumps_the_content_version(engine):
    repo = FaqRepository(engine)
    start = repo.content_version()
    faq_id = repo.create("pay", {"zh-Hans": "微信"}, PAY, "editor")
    after_create = repo.content_version()
    repo.update(faq_id, {"zh-Hans": "支付宝"}, PAY, 1, "editor")
    assert start < after_create < repo.content_version()


def test_a_traditional_answer_is_generated_unless_written(engine):
    repo = FaqRepository(engine)
    faq = repo.get(repo.upsert("pay", {"zh-Hans": "您可以通过微信、支付宝缴费。"}, PAY))
    assert faq.answer_in("zh-Hant") == "您可以通過微信、支付寶繳費。"
    faq = repo.get(repo.upsert("pay", {"zh-Hans": "通过微信", "zh-Hant": "編輯寫的"}, PAY))
    assert faq.answer_in("zh-Hant") == "編輯寫的"


def test_only_published_faqs_are_answered(kb):
    repo, knowledge_base = kb
    faq_id = repo.create("pay", {"zh-Hans": "微信支付宝"}, PAY, "editor", FaqDetails(status="draft"))
    wait_until(lambda: knowledge_base.index.version == repo.content_version())
    assert knowledge_base.lookup("怎么交话费", "zh-Hans").outcome == "dont_know"  # a draft
    repo.set_status(faq_id, "published", 1, "editor")
    wait_until(lambda: knowledge_base.answer("怎么交话费", "zh-Hans") == "微信支付宝")
    repo.set_status(faq_id, "archived", 2, "editor")
    wait_until(lambda: knowledge_base.lookup("怎么交话费", "zh-Hans").outcome == "dont_know")
    assert knowledge_base.published_faq(faq_id) is None
    assert repo.get(faq_id).answers["zh-Hans"] == "微信支付宝"  # archived, not lost


def test_rollback_restores_an_old_version_as_the_newest(kb):
    repo, knowledge_base = kb
    faq_id = repo.create("pay", {"zh-Hans": "旧答案"}, PAY, "alice", FaqDetails(category="billing"))
    repo.update(faq_id, {"zh-Hans": "错的答案"}, {"zh-Hans": ["别的问题"]}, 1, "bob")
    wait_until(lambda: knowledge_base.answer("怎么交话费", "zh-Hans") is None)
    history = repo.history(faq_id)
    assert [(v.version, v.saved_by) for v in history] == [(2, "bob"), (1, "alice")]
    assert history[1].answers["zh-Hans"] == "旧答案"
    with pytest.raises(StaleEdit):  # someone saved in between: nothing is overwritten
        repo.rollback(faq_id, 1, expected_version=1, updated_by="carol")
    restored = repo.rollback(faq_id, 1, expected_version=2, updated_by="carol")
    assert restored.version == 3 and restored.answers["zh-Hans"] == "旧答案"
    assert restored.questions["zh-Hans"] == PAY["zh-Hans"] and restored.details.category == "billing"
    assert [v.version for v in repo.history(faq_id)] == [3, 2, 1]
    wait_until(lambda: knowledge_base.answer("怎么交话费", "zh-Hans") == "旧答案")
    with pytest.raises(VersionNotFound):
        repo.rollback(faq_id, 99, expected_version=3, updated_by="carol")


def test_an_edit_keeps_status_and_labels_unless_given(engine):
    repo = FaqRepository(engine)
    faq_id = repo.create("pay", {"en": "a"}, PAY, "e", FaqDetails("draft", "billing", "billing", ("fees", "pay")))
    edited = repo.update(faq_id, {"en": "b"}, PAY, 1, "e")
    assert edited.details == FaqDetails("draft", "billing", "billing", ("fees", "pay"))


def test_unknown_status_is_refused():
    with pytest.raises(ValueError):
        FaqDetails(status="deleted")


def test_feedback_is_counted_per_faq(engine):
    repo = FaqRepository(engine)
    pay = repo.upsert("pay", {"en": "a"}, PAY)
    hours = repo.upsert("hours", {"en": "b"}, HOURS)
    assert repo.record_feedback("pay", True, "c1") and repo.record_feedback("pay", False, "c2")
    assert repo.record_feedback("pay", True, "c3")
    assert not repo.record_feedback("gone", True, "c4")  # an FAQ deleted since: nothing to count
    assert repo.feedback_counts([pay, hours]) == {pay: (2, 1), hours: (0, 0)}


def test_each_answer_shown_is_counted_without_changing_the_content(engine):
    """The editor's list shows how often each entry was used; counting it is no edit (no new
    version, no new content version for the indexes to reload)."""
    repo = FaqRepository(engine)
    pay = repo.upsert("pay", {"en": "a"}, PAY)
    hours = repo.upsert("hours", {"en": "b"}, HOURS)
    content_before, version_before = repo.content_version(), repo.get(pay).version
    assert repo.record_shown("pay") and repo.record_shown("pay")
    assert not repo.record_shown("gone")
    assert repo.shown_counts([pay, hours]) == {pay: 2, hours: 0}
    assert repo.content_version() == content_before and repo.get(pay).version == version_before


def test_bulk_loading_is_all_or_nothing(engine):
    from knowledge_base.storage import Faq

    repo = FaqRepository(engine)
    good = Faq(0, "pay", {"en": "a"}, PAY)
    too_long = Faq(0, "x" * 200, {"en": "b"}, HOURS)  # a short name the column cannot hold (PostgreSQL)
    ids = repo.upsert_many([good, Faq(0, "hours", {"en": "b"}, HOURS)])
    assert [repo.get(i).slug for i in ids] == ["pay", "hours"]
    if engine.dialect.name == "postgresql":
        with pytest.raises(Exception):
            repo.upsert_many([Faq(0, "new", {"en": "c"}, PAY), too_long])
        assert repo.count() == 2


def test_the_very_next_question_after_a_save_gets_the_new_answer(engine):
    """Read-your-writes: a question checks the content version itself, so it never gets the
    answer from before an editor's save, whatever the background thread is doing."""
    repo = FaqRepository(engine)
    faq_id = repo.upsert("hours", {"en": "Old hours"}, {"en": ["opening hours"]})
    knowledge_base = KnowledgeBase(repo, poll_interval=3600).start()  # the background thread sleeps
    try:
        assert knowledge_base.answer("opening hours", "en") == "Old hours"
        repo.update(faq_id, {"en": "New hours"}, {"en": ["opening hours"]}, repo.get(faq_id).version, "editor")
        assert knowledge_base.answer("opening hours", "en") == "New hours"
    finally:
        knowledge_base.stop()
