"""The fallback: what the bot does when NLU is unsure what the customer meant.

The knowledge base gets the first try.  When it has nothing, the customer gets one
clarification with NLU's most likely meanings as buttons; when the next message is
not understood either (two failures in a row), the offer of a person.
"""
from __future__ import annotations

import asyncio
from typing import Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.faq import counted, language_of, utter_lookup
from actions.services import services
from bot.chinese import to_traditional

CLARIFY = "utter_clarify"
OFFER_HUMAN = "utter_offer_human"
# Replies that mean "I did not understand / have no answer": the failure before this one.
NOT_UNDERSTOOD = (CLARIFY, OFFER_HUMAN, "utter_faq_unknown", "utter_offer_person_vip")

# What a button says for each meaning a clarification can offer (zh-Hant is generated).
# Intents without a label (faq, greet, out_of_scope ...) are never offered: their
# payload would not say what the customer asked.
MEANING_LABELS: Dict[str, Dict[str, str]] = {
    "check_balance": {"zh-Hans": "查询余额", "en": "Check my balance"},
    "human_handoff": {"zh-Hans": "转人工客服", "en": "Talk to a human"},
    "complain": {"zh-Hans": "我要投诉", "en": "Make a complaint"},
    "still_broken": {"zh-Hans": "问题还没解决", "en": "My problem isn't solved"},
    "bot_challenge": {"zh-Hans": "你是机器人吗", "en": "Am I talking to a bot?"},
    "goodbye": {"zh-Hans": "没有了，再见", "en": "That's all, bye"},
}
# Offered when NLU has fewer than two labelled guesses: what the bot can do.
DEFAULT_MEANINGS = ["check_balance", "human_handoff"]
MAX_MEANINGS = 3
MIN_CONFIDENCE = 0.02


def meaning_label(intent: str, language: str) -> str:
    labels = MEANING_LABELS[intent]
    if language == "en":
        return labels["en"]
    return to_traditional(labels["zh-Hans"]) if language == "zh-Hant" else labels["zh-Hans"]


def likely_meanings(intent_ranking: List[Dict], limit: int = MAX_MEANINGS) -> List[str]:
    """The labelled intents NLU ranked highest, topped up to two with what the bot can do."""
    meanings = [
        guess["name"]
        for guess in intent_ranking or []
        if guess.get("name") in MEANING_LABELS and (guess.get("confidence") or 0) >= MIN_CONFIDENCE
    ][:limit]
    for intent in DEFAULT_MEANINGS:
        if len(meanings) >= 2:
            break
        if intent not in meanings:
            meanings.append(intent)
    return meanings


def clarification_buttons(intent_ranking: List[Dict], language: str) -> List[Dict[str, str]]:
    """The likeliest meanings, and always the way to a person (the knowledge base had no answer either)."""
    meanings = likely_meanings(intent_ranking, limit=MAX_MEANINGS - 1)
    if "human_handoff" not in meanings:
        meanings.append("human_handoff")
    return [{"title": meaning_label(i, language), "payload": f"/{i}"} for i in meanings]


def failed_just_before(tracker: Tracker) -> bool:
    """Did the bot's last reply before this message say it had not understood?"""
    for event in reversed(tracker.events):
        if event.get("event") == "bot":
            return (event.get("metadata") or {}).get("utter_action") in NOT_UNDERSTOOD
    return False


class ActionClarifyOrOfferHuman(Action):
    def name(self) -> Text:
        return "action_clarify_or_offer_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> List[EventType]:
        language = language_of(tracker)
        question = tracker.latest_message.get("text") or ""
        # Ranking is CPU work: off the action server's event loop.
        lookup = await asyncio.to_thread(services().knowledge_base.lookup, question, language) if question.strip() else None
        if lookup is not None and lookup.outcome in ("answer", "suggest"):
            return await counted(utter_lookup(dispatcher, lookup, language))  # an answer, or "did you mean…" buttons
        if failed_just_before(tracker):
            dispatcher.utter_message(response=OFFER_HUMAN)
        elif tracker.get_slot("customer_vip"):
            # Business rule (desk #7): a VIP customer is offered a person at the first miss.
            dispatcher.utter_message(response="utter_offer_person_vip")
        else:
            ranking = tracker.latest_message.get("intent_ranking") or []
            dispatcher.utter_message(response=CLARIFY, buttons=clarification_buttons(ranking, language))
        return []
