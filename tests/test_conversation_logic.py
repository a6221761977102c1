"""The fallback's clarification buttons and failure count (actions/conversation.py) and the
repeated-question policy (bot/policies.py), on real trackers and a real domain."""
from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa_sdk import Tracker

from actions.conversation import clarification_buttons, failed_just_before, likely_meanings
from bot.policies import QuickFollowUpPolicy, RepeatedQuestionPolicy, same_question_key

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def domain():
    return Domain.load(str(ROOT / "domain.yml"))


def ranking(*names):
    return [{"name": n, "confidence": c} for n, c in zip(names, (0.4, 0.3, 0.2, 0.05, 0.03))]


def test_clarification_offers_the_likeliest_meanings_with_labels_in_the_customers_script():
    guesses = ranking("nlu_fallback", "check_balance", "faq", "complain", "still_broken")
    assert clarification_buttons(guesses, "zh-Hans") == [
        {"title": "查询余额", "payload": "/check_balance"},
        {"title": "我要投诉", "payload": "/complain"},
        {"title": "转人工客服", "payload": "/human_handoff"},  # always: the knowledge base had nothing either
    ]
    assert [b["title"] for b in clarification_buttons(guesses, "zh-Hant")] == ["查詢餘額", "我要投訴", "轉人工客服"]
    assert [b["title"] for b in clarification_buttons(guesses, "en")][0] == "Check my balance"


def test_clarification_always_offers_at_least_two_meanings():
    assert likely_meanings(ranking("nlu_fallback", "faq", "greet")) == ["check_balance", "human_handoff"]
    assert likely_meanings(ranking("complain", "faq")) == ["complain", "check_balance"]


def sdk_tracker(domain, events):
    rasa_tracker = DialogueStateTracker.from_events("c", events, domain.slots)
    return Tracker.from_dict(rasa_tracker.current_state(EventVerbosity.ALL))


def test_second_failure_in_a_row_is_recognised(domain):
    after_clarification = [
        UserUttered("blah", {"name": "nlu_fallback"}),
        ActionExecuted("action_clarify_or_offer_human"),
        BotUttered("抱歉，我不太确定您的意思。", metadata={"utter_action": "utter_clarify"}),
        ActionExecuted("action_listen"),
        UserUttered("blah again", {"name": "nlu_fallback"}),
    ]
    assert failed_just_before(sdk_tracker(domain, after_clarification))
    after_an_answer = after_clarification[:2] + [BotUttered("您可以通过微信缴费。"), ActionExecuted("action_listen"),
                                                 UserUttered("blah again", {"name": "nlu_fallback"})]
    assert not failed_just_before(sdk_tracker(domain, after_an_answer))


def test_the_same_question_is_recognised_across_scripts_width_and_punctuation():
    assert same_question_key("怎麼繳話費？") == same_question_key("怎么缴话费") == same_question_key("怎么缴话费 !")
    assert same_question_key("ＨＥＬＬＯ?") == same_question_key("hello")
    assert same_question_key("😀") == ""


def conversation(domain, texts, intent="faq", loop=None):
    events = [SlotSet("language", "zh-Hans")] + ([ActiveLoop(loop)] if loop else [])
    for text in texts:
        events += [ActionExecuted("action_listen"), UserUttered(text, {"name": intent, "confidence": 0.9})]
        events += [ActionExecuted("action_answer_faq"), BotUttered("answer")]
    events = events[:-2]  # waiting for the reply to the last message
    return DialogueStateTracker.from_events("c", events, domain.slots)


@pytest.mark.parametrize(
    "texts, intent, loop, expected",
    [
        (["怎么交话费", "怎么交话费？", "怎么交话费"], "faq", None, True),
        (["怎么交话费", "怎么交话费"], "faq", None, False),  # twice is not yet
        (["怎么交话费", "宽带怎么办", "怎么交话费"], "faq", None, False),
        (["好的", "好的", "好的"], "affirm", None, False),  # naturally repeated
        (["/check_balance"] * 3, "check_balance", None, False),  # button presses
        (["😀", "😀", "😀"], "nlu_fallback", None, False),
        (["13800138000"] * 3, "faq", "verify_form", False),  # an answer typed again in a form
    ],
)
def test_asked_a_third_time(domain, policy, texts, intent, loop, expected):
    assert predicted(policy, conversation(domain, texts, intent, loop), domain) == (
        "utter_repeated_question" if expected else None
    )


def test_after_the_acknowledgement_the_bot_listens(domain, policy):
    tracker = conversation(domain, ["怎么交话费"] * 3)
    tracker.update(ActionExecuted("utter_repeated_question"))
    assert predicted(policy, tracker, domain) == "action_listen"


@pytest.fixture
def policy(tmp_path):
    return RepeatedQuestionPolicy.create(
        {**RepeatedQuestionPolicy.get_default_config()}, LocalModelStorage(tmp_path), Resource("repeated"),
        ExecutionContext(GraphSchema({}), "test"),
    )


def predicted(policy, tracker, domain):
    prediction = policy.predict_action_probabilities(tracker, domain)
    if prediction.max_confidence == 0:
        return None
    return domain.action_names_or_texts[prediction.max_confidence_index]


# --- knowledge base (#6) ---
def test_not_helpful_is_about_what_was_typed_before_the_answer_not_a_button(domain):
    from actions.faq import question_before_feedback

    events = [
        ActionExecuted("action_listen"), UserUttered("流量包怎么弄", {"name": "faq"}),
        BotUttered("您是想问…"), ActionExecuted("action_listen"),
        UserUttered('/faq{"faq_id": "12"}', {"name": "faq"}), BotUttered("在 App 里买。"),
        ActionExecuted("action_listen"), UserUttered("/faq_not_helpful", {"name": "faq_not_helpful"}),
    ]
    assert question_before_feedback(sdk_tracker(domain, events)) == "流量包怎么弄"
    assert question_before_feedback(sdk_tracker(domain, events[-1:])) == ""
# --- several quick messages answered once (#8) ---

def burst(domain, messages, answered=True):
    """Customer messages (text, intent, seconds), each answered but the last unless `answered` says."""
    events = [SlotSet("language", "zh-Hans")]
    for n, (text, intent, at) in enumerate(messages):
        events += [ActionExecuted("action_listen"), UserUttered(text, {"name": intent, "confidence": 0.9}, timestamp=at)]
        if n < len(messages) - 1 and (answered is True or n in answered):
            events += [ActionExecuted("utter_nudge"), BotUttered("我在的！请问有什么可以帮您？", timestamp=at + 0.01)]
    return DialogueStateTracker.from_events("c", events, domain.slots)


@pytest.fixture
def quick_policy(tmp_path):
    return QuickFollowUpPolicy.create(
        {**QuickFollowUpPolicy.get_default_config()}, LocalModelStorage(tmp_path), Resource("quick"),
        ExecutionContext(GraphSchema({}), "test"),
    )


@pytest.mark.parametrize(
    "messages, answered, silent",
    [
        ([("在吗", "nudge", 100.0), ("问一下", "nudge", 100.4)], True, True),
        ([("hi", "greet", 100.0), ("anyone there?", "nudge", 100.5)], True, True),
        # the third of a run: the first was answered, the second already kept silent
        ([("在嗎", "nudge", 100.0), ("問一下", "nudge", 100.3), ("在嗎", "nudge", 100.6)], [0], True),
        ([("在吗", "nudge", 100.0), ("在吗", "nudge", 400.0)], True, False),  # minutes later: answer again
        ([("怎么交话费", "faq", 100.0), ("在吗", "nudge", 100.5)], True, False),  # after a question: "I'm here"
        ([("在吗", "nudge", 100.0), ("话费怎么扣这么多", "faq", 100.5)], True, False),  # the question itself
        ([("在吗", "nudge", 100.0)], True, False),
        ([("在吗", "nudge", 100.0), ("/greet", "greet", 100.5)], True, False),  # a button press
    ],
)
def test_quick_fillers_after_an_answered_one_get_no_reply(domain, quick_policy, messages, answered, silent):
    assert predicted(quick_policy, burst(domain, messages, answered), domain) == ("action_listen" if silent else None)


def test_a_reply_predicted_but_not_sent_counts_too(domain, quick_policy):
    """As in `rasa test`, which predicts the response action without running it."""
    events = [SlotSet("language", "en"), ActionExecuted("action_listen"),
              UserUttered("hello?", {"name": "nudge"}, timestamp=100.0), ActionExecuted("utter_nudge"),
              ActionExecuted("action_listen"), UserUttered("quick question", {"name": "greet"}, timestamp=100.2)]
    tracker = DialogueStateTracker.from_events("c", events, domain.slots)
    assert predicted(quick_policy, tracker, domain) == "action_listen"


def test_quick_fillers_inside_a_form_are_left_to_the_form(domain, quick_policy):
    tracker = burst(domain, [("在吗", "nudge", 100.0), ("在吗", "nudge", 100.5)])
    tracker.update(ActiveLoop("verify_form"))
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered("在吗", {"name": "nudge"}, timestamp=100.7))
    assert predicted(quick_policy, tracker, domain) is None
