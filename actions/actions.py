"""Custom actions.  Each gathers slots, calls a service, and utters; no SQL or HTTP here."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.accounts import AccountLocked, normalise_phone
from actions.handoff_client import HandoffUnavailable
from actions.services import services

logger = logging.getLogger(__name__)


def language_of(tracker: Tracker) -> str:
    return tracker.get_slot("language") or "zh-Hans"


class ActionAnswerFaq(Action):
    def name(self) -> Text:
        return "action_answer_faq"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> List[EventType]:
        question = tracker.latest_message.get("text") or ""
        # Database and matching work: off the action server's event loop.
        answer = await asyncio.to_thread(services().knowledge_base.answer, question, language_of(tracker))
        if answer:
            dispatcher.utter_message(text=answer)
        else:
            dispatcher.utter_message(response="utter_faq_unknown")
        return []


class ValidateVerifyForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_verify_form"

    def validate_account_phone(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:
        digits = normalise_phone(str(value or ""))
        if not 6 <= len(digits) <= 15:
            dispatcher.utter_message(response="utter_phone_invalid")
            return {"account_phone": None}
        return {"account_phone": digits}

    async def validate_account_pin(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:
        try:
            # PIN hashing is slow on purpose: off the event loop.
            customer = await asyncio.to_thread(
                services().accounts.verify, tracker.get_slot("account_phone"), str(value or "")
            )
        except AccountLocked:
            dispatcher.utter_message(response="utter_verify_locked")
            return {"account_phone": None, "account_pin": None}
        if customer is None:
            dispatcher.utter_message(response="utter_verify_failed")
            return {"account_phone": None, "account_pin": None}
        # The PIN itself is not kept in the conversation state.
        return {"account_pin": "verified", "customer_id": float(customer.id), "customer_name": customer.display_name}


class ActionCheckBalance(Action):
    def name(self) -> Text:
        return "action_check_balance"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> List[EventType]:
        customer_id = tracker.get_slot("customer_id")
        customer = services().accounts.get(int(customer_id)) if customer_id else None
        if customer is None:
            dispatcher.utter_message(response="utter_verify_failed")
            return [SlotSet("account_phone", None), SlotSet("account_pin", None)]
        dispatcher.utter_message(
            response="utter_balance",
            name=customer.display_name,
            balance=customer.balance,
            currency=customer.currency,
            plan=customer.plan_name,
        )
        return []


class ActionHandoff(Action):
    """Queue the conversation for a human agent and pause the bot."""

    def name(self) -> Text:
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> List[EventType]:
        context = {
            "intent": tracker.latest_message.get("intent", {}),
            "customer": _verified_customer(tracker),
            "bot_actions": _recent_bot_actions(tracker),
        }
        try:
            ticket = await services().handoffs.request_handoff(
                tracker.sender_id, reason="customer_request", language=language_of(tracker), context=context
            )
        except HandoffUnavailable:
            dispatcher.utter_message(response="utter_handoff_unavailable")
            return [ActiveLoop(None), SlotSet("requested_slot", None)]
        # `handoff` reaches the chat page with the text: a person answers from now on.
        dispatcher.utter_message(response="utter_handoff_queued", position=ticket.position, handoff="queued")
        return [ActiveLoop(None), SlotSet("requested_slot", None), ConversationPaused()]


def _verified_customer(tracker: Tracker) -> Dict[str, Any]:
    customer_id = tracker.get_slot("customer_id")
    if not customer_id:
        return {}
    customer = services().accounts.get(int(customer_id))
    if customer is None:
        return {}
    return {"id": customer.id, "name": customer.display_name, "phone": customer.masked_phone}


def _recent_bot_actions(tracker: Tracker, limit: int = 10) -> List[str]:
    names = [
        e.get("name")
        for e in tracker.events
        if e.get("event") == "action" and e.get("name") not in (None, "action_listen", "action_session_start")
    ]
    return names[-limit:]
