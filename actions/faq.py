"""FAQ actions: answer from the knowledge base, offer close matches, or say honestly
that there is no answer and offer a person.

``utter_lookup`` is the one place a knowledge-base ``Lookup`` becomes bot messages; the
NLU fallback action calls it too.  Suggestion buttons carry the FAQ's id
(``/faq{"faq_id": "12"}``), so a click is answered with exactly the FAQ chosen.
"""
from __future__ import annotations

import abc
import asyncio
import json
import logging
import threading
from typing import Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.escalation import not_helpful_count
from actions.services import services
from knowledge_base.search import Lookup
from knowledge_base.storage import Faq

logger = logging.getLogger(__name__)
FAQ_ID_ENTITY = "faq_id"
SHOWN_SLOT = "faq_shown"  # the slug of the FAQ last answered (analytics, the agent's context)


def language_of(tracker: Tracker) -> str:
    return tracker.get_slot("language") or "zh-Hans"


def faq_payload(faq: Faq) -> str:
    """A button payload that is answered with exactly this FAQ."""
    return "/faq" + json.dumps({FAQ_ID_ENTITY: str(faq.id)})


def suggestion_button(faq: Faq, language: str) -> Dict[str, str]:
    return {"title": faq.question_in(language), "payload": faq_payload(faq)}


def quick_reply_buttons(faq: Faq, language: str) -> List[Dict[str, str]]:
    """The editor's quick replies of the FAQ: one to another FAQ carries its id (left out
    while that FAQ is not published), one with text sends the text as if typed."""
    buttons = []
    for reply in faq.buttons_in(language):
        if reply.faq_slug is None:
            buttons.append({"title": reply.title, "payload": reply.payload})
            continue
        target = services().knowledge_base.published_by_slug(reply.faq_slug)
        if target is not None:
            buttons.append({"title": reply.title, "payload": faq_payload(target)})
    return buttons


def utter_answer(dispatcher: CollectingDispatcher, faq: Faq, language: str) -> List[EventType]:
    """The answer with "helpful / not helpful" buttons (the response's) and the FAQ's own
    quick replies after them; remembers which FAQ was shown."""
    dispatcher.utter_message(response="utter_faq_answer", answer=faq.answer_in(language),
                             buttons=quick_reply_buttons(faq, language))
    return [SlotSet(SHOWN_SLOT, faq.slug)]


async def counted(events: List[EventType]) -> List[EventType]:
    """Count the FAQ an answer showed (the editors' list shows how often each entry is used)."""
    for event in events:
        if event.get("event") == "slot" and event.get("name") == SHOWN_SLOT and event.get("value"):
            await asyncio.to_thread(services().knowledge_base.record_shown, event["value"])
    return events


def utter_lookup(dispatcher: CollectingDispatcher, lookup: Lookup, language: str) -> List[EventType]:
    """Say what the knowledge base made of a question; the events to return (which FAQ was shown)."""
    if lookup.outcome == "answer":
        return utter_answer(dispatcher, lookup.best.faq, language)
    if lookup.outcome == "suggest":
        dispatcher.utter_message(
            response="utter_faq_suggest", buttons=[suggestion_button(s.faq, language) for s in lookup.entries]
        )
        return []
    dispatcher.utter_message(response="utter_faq_unknown")
    return []


def chosen_faq_id(tracker: Tracker) -> Optional[int]:
    """The FAQ id a suggestion button carried, if the latest message is such a click."""
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == FAQ_ID_ENTITY:
            try:
                return int(str(entity.get("value")))
            except ValueError:
                return None
    return None


async def look_up_latest(tracker: Tracker, language: str) -> Tuple[str, Lookup]:
    """The customer's latest message and what the knowledge base makes of it."""
    question = tracker.latest_message.get("text") or ""
    # Ranking is CPU work: off the action server's event loop.
    return question, await asyncio.to_thread(services().knowledge_base.lookup, question, language)


class ActionAnswerFaq(Action):
    def name(self) -> Text:
        return "action_answer_faq"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> List[EventType]:
        language = language_of(tracker)
        knowledge_base = services().knowledge_base
        faq_id = chosen_faq_id(tracker)
        if faq_id is not None:
            faq = knowledge_base.published_faq(faq_id)
            if faq is None:  # archived since it was offered
                dispatcher.utter_message(response="utter_faq_unknown")
                return []
            return await counted(utter_answer(dispatcher, faq, language))
        question, lookup = await look_up_latest(tracker, language)
        if lookup.outcome == "dont_know":  # for the editors' list of what to write next
            await asyncio.to_thread(knowledge_base.record_unanswered, question, language, "dont_know",
                                    tracker.sender_id)
        return await counted(utter_lookup(dispatcher, lookup, language))


class KnowledgeBaseFirst(Action, abc.ABC):
    """An intent that asks nothing of its own here (out of scope, "cancel" with nothing to
    cancel): the knowledge base is asked first, and only a confident answer is given.

    Editors publish answers that are live within seconds, without retraining, so the model
    may read a question about a new entry ("do you lend umbrellas?") as out of scope, or a
    short one ("can I leave my bike at the store?") as the closest intent it knows. Without a
    confident answer the intent's own response is said, as before.
    """

    fallback_response = ""

    @abc.abstractmethod
    def name(self) -> Text:
        """Abstract, so that the action server does not register this class itself."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> List[EventType]:
        language = language_of(tracker)
        _question, lookup = await look_up_latest(tracker, language)
        if lookup.outcome == "answer":
            return await counted(utter_answer(dispatcher, lookup.best.faq, language))
        dispatcher.utter_message(response=self.fallback_response)
        return []


class ActionOutOfScope(KnowledgeBaseFirst):
    fallback_response = "utter_out_of_scope"  # what the bot cannot do, and what it can

    def name(self) -> Text:
        return "action_out_of_scope"


class ActionNothingToCancel(KnowledgeBaseFirst):
    fallback_response = "utter_form_cancelled"

    def name(self) -> Text:
        return "action_nothing_to_cancel"


def question_before_feedback(tracker: Tracker) -> str:
    """What the customer typed before the answer they are judging (a clicked button's
    payload is no question: the typed text before it is)."""
    users = [e for e in tracker.events if e.get("event") == "user"]
    for event in reversed(users[:-1]):  # the last one is the feedback itself
        text = (event.get("text") or "").strip()
        if text and not text.startswith("/"):
            return text
    return ""



class ActionRecordFaqFeedback(Action):
    """The customer pressed "helpful" or "not helpful" under the last FAQ answer."""

    def name(self) -> Text:
        return "action_record_faq_feedback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> List[EventType]:
        helpful = tracker.latest_message.get("intent", {}).get("name") == "faq_helpful"
        slug = tracker.get_slot(SHOWN_SLOT)
        knowledge_base = services().knowledge_base
        if slug:
            await asyncio.to_thread(knowledge_base.record_feedback, slug, helpful, tracker.sender_id)
        if not helpful:
            await asyncio.to_thread(knowledge_base.record_unanswered, question_before_feedback(tracker),
                                    language_of(tracker), "not_helpful", tracker.sender_id)
        if helpful:
            dispatcher.utter_message(response="utter_faq_feedback_thanks")
        elif not_helpful_count(tracker.events) >= 2:
            # The second "not helpful" in this session (desk #7): offer a person.
            dispatcher.utter_message(response="utter_offer_person_faq")
        else:
            dispatcher.utter_message(response="utter_faq_feedback_sorry")
        return []

def _warm_up() -> None:
    """Build the index while the action server starts, not on the first customer's question."""
    try:
        services()
    except Exception as exc:  # no settings (an import outside the action server): built on first use
        logger.debug("knowledge base not warmed up: %s", exc)


threading.Thread(target=_warm_up, name="kb-warm-up", daemon=True).start()
