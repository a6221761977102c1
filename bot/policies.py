"""Dialogue policy: the same question a third time gets an acknowledgement and the offer
of a person, not the same reply again.

Rules cannot count, and the answer that did not help may come from any flow (an FAQ
answer, a clarification, a canned response), so this is a policy that looks at the
customer's last messages and, when the last three say the same thing, predicts
``utter_repeated_question`` with a priority above the RulePolicy's.  It learns nothing.
Not inside a form (a phone number typed again is an answer, not a complaint) nor for
button payloads or words that are naturally repeated (yes, thanks, hello).
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from bot.chinese import fold_width, to_simplified

ACKNOWLEDGE_REPETITION = "utter_repeated_question"
_NOT_WORD = re.compile(r"[\W_]+")


def same_question_key(text: str) -> str:
    """What is compared: scripts, widths, case, spaces and punctuation folded away."""
    return _NOT_WORD.sub("", to_simplified(fold_width(text or "")).lower())


def asked_again(tracker: DialogueStateTracker, times: int, ignored_intents: List[str]) -> bool:
    messages = [e for e in tracker.applied_events() if isinstance(e, UserUttered)][-times:]
    if len(messages) < times:
        return False
    latest = messages[-1]
    if (latest.text or "").startswith("/") or (latest.intent_name or "") in ignored_intents:
        return False
    keys = {same_question_key(m.text) for m in messages}
    return len(keys) == 1 and "" not in keys


class RuleOfThumbPolicy(Policy):
    """A policy that learns nothing from stories: it decides from the tracker alone."""

    def train(self, training_trackers: List[TrackerWithCachedStates], domain: Domain, **kwargs: Any) -> Resource:
        return self._resource


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class RepeatedQuestionPolicy(RuleOfThumbPolicy):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "priority": 7,  # above RulePolicy (6): it overrides the rule that answered before
            "times": 3,
            "ignored_intents": ["greet", "goodbye", "thanks", "affirm", "deny", "human_handoff"],
        }

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[Dict[Text, Any]] = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        if ACKNOWLEDGE_REPETITION in domain.action_names_or_texts:
            if tracker.latest_action_name == ACKNOWLEDGE_REPETITION:
                probabilities[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
            elif (
                tracker.latest_action_name == ACTION_LISTEN_NAME
                and not tracker.active_loop_name
                and asked_again(tracker, self.config["times"], self.config["ignored_intents"])
            ):
                probabilities[domain.index_for_action(ACKNOWLEDGE_REPETITION)] = 1.0
        return self._prediction(probabilities)


# --- understanding and conversation (#8): several quick messages answered once ---

def _bot_replied(event: Any) -> bool:
    """A reply: the message itself, or the response action that sends it (`rasa test`
    predicts actions without running them, so its trackers hold no BotUttered)."""
    return isinstance(event, BotUttered) or (
        isinstance(event, ActionExecuted) and (event.action_name or "").startswith("utter_")
    )


def quick_fillers_already_answered(tracker: DialogueStateTracker, filler_intents: List[str],
                                   window_seconds: float) -> bool:
    """Is the latest message one more "在吗" / "问一下" / "hello?" in a quick run of them
    that the bot has already answered?

    Rasa's lock store handles a conversation's messages one at a time, in order (in memory
    or in Redis, bot/lock_store.py), so when the second of a burst is predicted for, the
    tracker already holds the bot's reply to the first: no look at the queue is needed,
    and the rule is the same for every channel and every replica.
    """
    events = tracker.applied_events()
    users = [i for i, e in enumerate(events) if isinstance(e, UserUttered)]
    if len(users) < 2 or (events[users[-1]].intent_name or "") not in filler_intents:
        return False
    if (events[users[-1]].text or "").startswith("/"):  # a button: the customer chose something
        return False
    # Walk back over the run of fillers, each within the window of the next one.
    later = events[users[-1]]
    for index in reversed(users[:-1]):
        earlier = events[index]
        if (earlier.intent_name or "") not in filler_intents or later.timestamp - earlier.timestamp > window_seconds:
            return False
        if any(_bot_replied(e) for e in events[index + 1:users[-1]]):
            return True  # the bot said "I'm here, go ahead" to this run already
        later = earlier
    return False


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class QuickFollowUpPolicy(RuleOfThumbPolicy):
    """A second "在吗" / "问一下" right after the bot said "I'm here, go ahead" gets no reply
    of its own: the customer is typing the question, and the bot answers that.

    "在吗" / "问一下" / "话费怎么扣这么多" within a second: one greeting-ish reply, then the
    answer, not three replies.  Above the RulePolicy (which would greet again) and the
    RepeatedQuestionPolicy (three quick "在吗" are not a complaint); outside a form only.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"priority": 8, "filler_intents": ["greet", "nudge"], "window_seconds": 10.0}

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[Dict[Text, Any]] = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        if (
            tracker.latest_action_name == ACTION_LISTEN_NAME
            and not tracker.active_loop_name
            and quick_fillers_already_answered(tracker, self.config["filler_intents"], self.config["window_seconds"])
        ):
            probabilities[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
        return self._prediction(probabilities)
