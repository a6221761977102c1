"""Quick-reply buttons under an FAQ's answer: kept per language with every version, rolled
back, imported and exported, written and refused in the editor, and sent with the answer by
the FAQ action (leading to the chosen FAQ, or sending the text as if typed)."""
import re
from pathlib import Path

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot import staff_i18n
from knowledge_base import quick_replies
from knowledge_base.service import KnowledgeBase
from knowledge_base.storage import FaqDetails, FaqRepository, QuickReply
from knowledge_base.transfer import export_csv, import_file
from tests.test_knowledge_transfer import csv_bytes
from tests.test_web import client, login, settings  # noqa: F401 - fixtures

PAY = {"zh-Hans": ["怎么交话费"], "en": ["How can I pay my bill"]}
HOURS = {"zh-Hans": ["营业厅几点开门"], "en": ["store opening hours"]}
BUTTONS = {"zh-Hans": [QuickReply("营业时间", "faq:hours"), QuickReply("转人工", "转人工")],
           "en": [QuickReply("Opening hours", "faq:hours")]}


def test_buttons_are_kept_with_each_version_and_rolled_back(engine):
    repo = FaqRepository(engine)
    repo.upsert("hours", {"zh-Hans": "9 点到 21 点"}, HOURS)
    faq_id = repo.create("pay", {"zh-Hans": "微信"}, PAY, "editor", buttons=BUTTONS)
    assert repo.get(faq_id).buttons == BUTTONS
    repo.update(faq_id, {"zh-Hans": "支付宝"}, PAY, 1, "editor")  # no buttons given: kept
    assert repo.get(faq_id).buttons == BUTTONS
    repo.set_status(faq_id, "archived", 2, "editor")
    assert repo.get(faq_id).buttons == BUTTONS
    repo.update(faq_id, {"zh-Hans": "支付宝"}, PAY, 3, "editor", buttons={"en": [QuickReply("Human", "agent")]})
    assert repo.get(faq_id).buttons == {"en": [QuickReply("Human", "agent")]}
    assert [v.buttons for v in repo.history(faq_id)][-1] == BUTTONS  # the first version keeps its own
    repo.rollback(faq_id, to_version=1, expected_version=4, updated_by="editor")
    faq = repo.get(faq_id)
    assert faq.buttons == BUTTONS and faq.details.status == "published" and faq.version == 5


def test_traditional_buttons_are_converted_from_simplified_unless_written():
    from knowledge_base.storage import Faq

    faq = Faq(1, "pay", {"zh-Hans": "微信"}, PAY, buttons=BUTTONS)
    assert faq.buttons_in("zh-Hant") == [QuickReply("營業時間", "faq:hours"), QuickReply("轉人工", "轉人工")]
    assert faq.buttons_in("en") == BUTTONS["en"]
    assert Faq(2, "x", {}, {}, buttons={"zh-Hans": BUTTONS["zh-Hans"]}).buttons_in("en") == []


@pytest.mark.parametrize("lines, wrong", [
    (["a | faq:one", "b", "c", "d", "e", "f"], "at most 5"),
    (["按钮" * 21 + " | 转人工"], "longer than 40 characters"),
    (["title | " + "转" * 22], "longer than 64 bytes"),
    (["Human | /human_handoff"], "starts with “/”"),
    (["<b>x</b> | y"], "HTML tags"),
    (["x | faq:Not A Slug!"], "no valid short name"),
    ([" | payload"], "needs a title and a payload"),
])
def test_bad_buttons_are_refused_with_the_reason(lines, wrong):
    buttons, error = quick_replies.parse_lines(lines, "en")
    assert buttons == [] and wrong in error


def test_a_title_alone_is_its_own_payload_and_faq_targets_are_normalised():
    buttons, error = quick_replies.parse_lines(["转人工", "Hours | FAQ:Hours ", ""], "zh-Hans")
    assert error is None and buttons == [QuickReply("转人工", "转人工"), QuickReply("Hours", "faq:hours")]
    assert quick_replies.as_text(buttons) == "转人工\nHours | faq:hours"


def test_every_reason_a_button_is_refused_has_both_chinese_translations():
    source = (Path(quick_replies.__file__)).read_text(encoding="utf-8")
    msgids = re.findall(r'Message\("((?:[^"\\]|\\.)*)"(?:\s*\n?\s*"((?:[^"\\]|\\.)*)")?', source)
    msgids = [a + b for a, b in msgids]
    assert len(msgids) >= 8
    for language in ("zh-Hans", "zh-Hant"):
        assert [m for m in msgids if m not in staff_i18n.catalog(language)] == []


def test_buttons_survive_export_and_import_and_a_bad_target_is_reported(engine):
    repo = FaqRepository(engine)
    repo.upsert("hours", {"zh-Hans": "9 点到 21 点"}, HOURS)
    repo.upsert("pay", {"zh-Hans": "微信"}, PAY, buttons=BUTTONS)
    exported = export_csv(repo.all())
    assert "营业时间 | faq:hours\n转人工" in exported.decode("utf-8-sig")
    report = import_file(repo, exported, "faqs.csv", "editor")
    assert report.unchanged == ["hours", "pay"] and report.errors == []
    rows = [
        {"slug": "roam", "questions_en": "roaming", "answer_en": "Dial *100#", "buttons_en": "Data packs | faq:packs"},
        {"slug": "packs", "questions_en": "data packs", "answer_en": "Buy in the app"},  # created by the same file
        {"slug": "nowhere", "questions_en": "q", "answer_en": "a", "buttons_en": "Gone | faq:no-such-faq"},
        {"slug": "too-many", "questions_en": "q", "answer_en": "a", "buttons_en": "\n".join("abcdef")},
    ]
    report = import_file(repo, csv_bytes(rows), "faqs.csv", "editor")
    assert sorted(report.created) == ["packs", "roam"]
    assert [(e.line, e.reason.msgid) for e in report.errors] == [
        (4, "a button leads to faq:%(slug)s, but no FAQ has that short name"),
        (5, "at most %(max)s %(language)s buttons"),
    ]
    roam = next(f for f in repo.all() if f.slug == "roam")
    assert roam.buttons == {"en": [QuickReply("Data packs", "faq:packs")]}


def form(**fields):
    base = {"status": "published", "questions_zh_hans": "怎么交话费", "answer_zh_hans": "微信"}
    return {**base, **fields}


async def test_the_editor_saves_buttons_and_shows_them_in_the_form_and_history(client, engine):
    repo = FaqRepository(engine)
    repo.upsert("hours", {"zh-Hans": "9 点到 21 点"}, HOURS)
    await login(client, "editor")
    r = await client.post("/kb/faqs/new", data=form(slug="pay", buttons_zh_hans="营业时间 | faq:hours\n转人工"),
                          allow_redirects=False)
    assert r.status == 303
    faq = next(f for f in repo.all() if f.slug == "pay")
    assert faq.buttons == {"zh-Hans": [QuickReply("营业时间", "faq:hours"), QuickReply("转人工", "转人工")]}
    page = await (await client.get(f"/kb/faqs/{faq.id}")).text()
    assert 'data-testid="buttons-zh-Hans"' in page and "营业时间 | faq:hours\n转人工</textarea>" in page
    r = await client.post(f"/kb/faqs/{faq.id}", data=form(version="1", buttons_zh_hans="营业时间 | faq:hours"),
                          allow_redirects=False)
    assert r.status == 303
    history = await (await client.get(f"/kb/faqs/{faq.id}/history")).text()
    assert "Quick-reply buttons (Simplified Chinese)" in history and "<del>" in history


@pytest.mark.parametrize("buttons, language, said", [
    ("Gone | faq:no-such-faq", "en", "no FAQ has that short name"),
    ("Self | faq:pay", "zh-CN", "按钮不能指向它所在的常见问题"),
    ("x | /restart", "zh-TW", "開頭"),
    ("\n".join("abcdef"), "zh-TW", "按鈕最多 5 個"),
])
async def test_the_editor_refuses_bad_buttons_in_the_editors_language_and_saves_nothing(
        client, engine, buttons, language, said):
    await login(client, "editor")
    r = await client.post("/kb/faqs/new", data=form(slug="pay", buttons_zh_hans=buttons),
                          headers={"Accept-Language": language}, allow_redirects=False)
    page = await r.text()
    assert r.status == 400 and said in page
    assert FaqRepository(engine).count() == 0
    assert "x | /restart" not in buttons or "x | /restart</textarea>" in page  # what was typed is given back


@pytest.mark.parametrize("field, value, said", [
    ("questions_zh_hans", "问" * 501, "question is longer than 500 characters"),
    ("answer_en", "a" * 4001, "answer is longer than 4000 characters"),
])
async def test_an_oversized_question_or_answer_in_the_form_is_refused_and_nothing_is_saved(
        client, engine, field, value, said):
    repo = FaqRepository(engine)
    await login(client, "editor")
    r = await client.post("/kb/faqs/new", data=form(slug="big", **{field: value}), allow_redirects=False)
    assert r.status == 400 and said in await r.text()
    assert repo.count() == 0
    faq_id = repo.create("pay", {"zh-Hans": "微信"}, PAY, "editor")
    r = await client.post(f"/kb/faqs/{faq_id}", data=form(version="1", **{field: value}),
                          headers={"Accept-Language": "zh-CN"}, allow_redirects=False)
    assert r.status == 400 and "超过" in await r.text()  # said in the editor's language
    faq = repo.get(faq_id)
    assert faq.version == 1 and faq.answers["zh-Hans"] == "微信" and faq.questions["zh-Hans"] == PAY["zh-Hans"]


# -- the FAQ action ----------------------------------------------------------------------------

@pytest.fixture
def knowledge_base(engine, monkeypatch):
    """The action's services with a real knowledge base on the test database."""
    import actions.faq

    kb = KnowledgeBase(FaqRepository(engine), poll_interval=0.05).start()

    class Services:
        knowledge_base = kb

    monkeypatch.setattr(actions.faq, "services", lambda: Services)
    yield kb
    kb.stop()


def tracker(text, entities=(), language="zh-Hans"):
    return Tracker("c1", {"language": language}, {"text": text, "entities": list(entities),
                                                   "intent": {"name": "faq"}}, [], False, None, {}, None)


async def run_answer(text, entities=(), language="zh-Hans"):
    from actions.faq import ActionAnswerFaq

    dispatcher = CollectingDispatcher()
    events = await ActionAnswerFaq().run(dispatcher, tracker(text, entities, language), {})
    return dispatcher.messages, events


async def test_the_answer_carries_the_faqs_buttons_and_one_leads_to_the_chosen_faq(knowledge_base, engine):
    repo = knowledge_base.repository
    hours = repo.upsert("hours", {"zh-Hans": "9 点到 21 点", "en": "9 to 21"}, HOURS)
    repo.upsert("draft", {"zh-Hans": "草稿"}, {"zh-Hans": ["草稿问题"]}, details=FaqDetails(status="draft"))
    repo.upsert("pay", {"zh-Hans": "微信", "en": "WeChat"}, PAY,
                buttons={"zh-Hans": [*BUTTONS["zh-Hans"], QuickReply("草稿", "faq:draft")], "en": BUTTONS["en"]})
    messages, events = await run_answer("怎么交话费")
    assert messages[0]["response"] == "utter_faq_answer" and messages[0]["answer"] == "微信"
    # The draft's button is left out: it would lead nowhere.
    assert messages[0]["buttons"] == [{"title": "营业时间", "payload": '/faq{"faq_id": "%d"}' % hours},
                                      {"title": "转人工", "payload": "转人工"}]
    messages, _ = await run_answer("怎麼交話費", language="zh-Hant")
    assert [b["title"] for b in messages[0]["buttons"]] == ["營業時間", "轉人工"]
    messages, _ = await run_answer("How can I pay my bill", language="en")
    assert messages[0]["answer"] == "WeChat" and [b["title"] for b in messages[0]["buttons"]] == ["Opening hours"]
    # Pressing the button: its payload's entity names the FAQ, answered exactly.
    messages, events = await run_answer('/faq{"faq_id": "%d"}' % hours, [{"entity": "faq_id", "value": str(hours)}],
                                        language="en")
    assert messages[0]["answer"] == "9 to 21" and messages[0]["buttons"] == []
    assert {"event": "slot", "name": "faq_shown", "value": "hours", "timestamp": None} in events
