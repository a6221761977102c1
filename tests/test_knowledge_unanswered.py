"""Unanswered questions: kept masked, grouped by similarity, counted per group."""
import datetime as dt

import pytest

from knowledge_base.service import KnowledgeBase
from knowledge_base.storage import FaqRepository
from knowledge_base.unanswered import UnansweredRepository, cluster_questions
from tests.test_web import client, settings  # noqa: F401 - fixtures

ROAMING = ["怎么开通国际漫游", "出国漫游怎么开", "国际漫游怎么开通", "國際漫遊怎麼開通", "怎么开通国际漫游"]
BROADBAND = ["宽带装机要多久", "宽带多久能装好"]


def test_paraphrases_of_one_need_are_one_group_and_different_needs_are_not():
    clusters = cluster_questions(ROAMING + BROADBAND + ["流量包怎么退订", "???"], "zh-Hans")
    by_count = [(c["count"], sorted(c["examples"])) for c in clusters]
    assert by_count[0] == (5, sorted(set(ROAMING)))  # Traditional folded in; the repeat counted
    assert (2, sorted(BROADBAND)) in by_count
    assert (1, ["流量包怎么退订"]) in by_count and (1, ["???"]) in by_count
    assert clusters[0]["label"] in ROAMING


def test_clustering_handles_nothing_one_question_and_english():
    assert cluster_questions([], None) == []
    assert cluster_questions(["  "], None) == []
    assert cluster_questions(["esim"], None) == [{"label": "esim", "count": 1, "examples": ["esim"]}]
    clusters = cluster_questions(["Can I use an eSIM", "can i use esim?", "where is the nearest store"], "en")
    assert sorted(c["count"] for c in clusters) == [1, 2]


def test_questions_are_kept_masked_and_grouped_with_their_kinds(engine):
    knowledge_base = KnowledgeBase(FaqRepository(engine))
    assert knowledge_base.record_unanswered("我的号码13800138000怎么开通国际漫游", "zh-Hans", "dont_know", "c1")
    assert knowledge_base.record_unanswered("国际漫游怎么开通", "zh-Hans", "not_helpful", "c2")
    assert knowledge_base.record_unanswered("how long does broadband installation take", "en", "handoff", "c3")
    assert not knowledge_base.record_unanswered("   ", "zh-Hans", "dont_know", "c4")
    repo = UnansweredRepository(engine)
    stored = [r["question"] for r in repo.questions()]
    assert not any("13800138000" in q for q in stored) and any("8000" in q for q in stored)
    clusters = repo.clusters()
    assert clusters[0]["count"] == 2 and clusters[0]["kinds"] == {"dont_know": 1, "not_helpful": 1}
    assert [c["kinds"] for c in repo.clusters(language="en")] == [{"handoff": 1}]
    tomorrow = dt.datetime.utcnow() + dt.timedelta(days=1)
    assert repo.clusters(since=tomorrow) == []
    assert repo.clusters(until=tomorrow)[0]["count"] == 2


# -- the handoff kind: the question a customer asked before being handed to a person ----------

def said(text, intent):
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}, "entities": []}}


def bot_said(text):
    return {"event": "bot", "text": text}


@pytest.fixture
def action_services(client, settings, engine, monkeypatch, tmp_path):
    """The handoff action's real services: the knowledge base on the test database and the
    web service under test (aiohttp test server) taking the handoff request."""
    import actions.actions
    from actions.accounts import SqlAccounts
    from actions.accounts.senders import DemoSender
    from actions.handoff_client import HandoffClient
    from actions.services import Services

    services = Services(knowledge_base=KnowledgeBase(FaqRepository(engine)), accounts=SqlAccounts(engine),
                        handoffs=HandoffClient(str(client.make_url("")), settings.service_token),
                        sender=DemoSender(tmp_path / "outbox.jsonl"), settings=settings)
    monkeypatch.setattr(actions.actions, "services", lambda: services)
    yield services
    services.knowledge_base.stop()


async def hand_over(conversation_id, events):
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    from actions.actions import ActionHandoff

    tracker = Tracker(conversation_id, {"language": "zh-Hans"}, events[-1]["parse_data"] | {"text": events[-1]["text"]},
                      events, False, None, {}, None)
    dispatcher = CollectingDispatcher()
    result = await ActionHandoff().run(dispatcher, tracker, {})
    assert {"event": "pause", "timestamp": None} in result  # handed over, bot paused
    return dispatcher.messages


@pytest.mark.parametrize("asking_for_a_person", [said("/human_handoff", "human_handoff"), said("转人工", "human_handoff")])
async def test_the_last_question_before_a_handoff_is_kept_masked_as_handoff(action_services, engine, asking_for_a_person):
    events = [
        said("营业厅几点开门", "faq"), bot_said("9 点到 21 点"),
        said("我的号码13800138000，宽带装好后一直连不上怎么办", "faq"), bot_said("抱歉，我暂时无法回答这个问题。"),
        asking_for_a_person,  # the button, or typed: neither is the question
    ]
    messages = await hand_over("conv-handoff", events)
    assert messages[0]["response"].startswith("utter_handoff_queued")
    kept = [(r["question"], r["kind"], r["conversation_id"]) for r in UnansweredRepository(engine).questions()]
    assert len(kept) == 1
    question, kind, conversation = kept[0]
    assert (kind, conversation) == ("handoff", "conv-handoff")
    assert "宽带装好后一直连不上" in question and "13800138000" not in question  # masked


async def test_a_handoff_with_no_question_before_it_keeps_nothing(action_services, engine):
    await hand_over("conv-direct", [said("你好", "greet"), bot_said("您好！"), said("转人工", "human_handoff")])
    assert UnansweredRepository(engine).questions() == []
