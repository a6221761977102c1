"""Custom actions.  Each gathers slots, calls a service, and utters; no SQL or HTTP here."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import escalation
from actions.accounts import AccountLocked, BackendUnavailable, Customer, mask_phone
from actions.faq import SHOWN_SLOT, language_of
from actions.handoff_client import HandoffUnavailable
from actions.services import services
from bot.chinese import to_traditional
from bot.privacy import mask, mask_secrets, phone_candidates, secret_value, warm_up
from bot.secret_prompts import SECRET_SLOT_VERDICTS

logger = logging.getLogger(__name__)
# The verification form's recogniser, built while the action server starts (about 2 s)
# rather than during the first customer's verification.
warm_up()


class ValidateVerifyForm(FormValidationAction):
    """Phone and PIN, each found by the recogniser (bot.privacy) in whatever the
    customer typed: "密码是1234喔" verifies as "1234" does, a phone number counts only
    when it is a valid one, and "我号码13800138000 密码是1234" verifies in one go. The
    PIN reaches this action only: the tracker store masks it in what Rasa keeps."""

    def name(self) -> Text:
        return "validate_verify_form"

    async def validate_account_phone(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:
        if _already_verified(tracker):
            # Rasa validates slots filled before the form starts: a verified conversation's
            # next account question finds them filled and goes straight to the answer.
            return {"account_phone": value}
        text = str(value or "")
        phones = phone_candidates(text)
        if not phones:
            dispatcher.utter_message(response="utter_phone_invalid")
            return {"account_phone": None}
        pin = secret_value(text, expecting=None)  # a PIN given with the number, by its cue
        if pin is None:
            return {"account_phone": phones[0]}
        return await self._verify(dispatcher, phones[0], pin)

    async def validate_account_pin(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:
        if _already_verified(tracker) and value in SECRET_SLOT_VERDICTS:
            return {"account_pin": value}
        by_code = bool(tracker.get_slot("verify_by_code"))
        secret = secret_value(str(value or ""), expecting="otp" if by_code else "pin")
        if secret is None:
            # No PIN in the answer: ask again, and do not count it as a wrong PIN.
            dispatcher.utter_message(response="utter_code_wrong" if by_code else "utter_pin_not_found")
            return {"account_pin": None}
        if by_code:
            return await self._verify_code(dispatcher, tracker.get_slot("account_phone"), secret)
        return await self._verify(dispatcher, tracker.get_slot("account_phone"), secret)

    @staticmethod
    async def _verify_code(dispatcher, phone: Text, code: Text) -> Dict[Text, Any]:
        try:
            customer = await asyncio.to_thread(services().accounts.verify_code, phone, code)
        except BackendUnavailable:
            dispatcher.utter_message(response="utter_account_unavailable")
            return {"account_pin": None, "account_action_failed": True}
        except AccountLocked:
            dispatcher.utter_message(response="utter_verify_locked")
            return {"account_phone": None, "account_pin": None, "verify_by_code": None}
        if customer is None:
            # Wrong, expired or used: the code is asked again (a new one is a button away).
            dispatcher.utter_message(response="utter_code_wrong")
            return {"account_pin": None}
        return verified_slots(customer, phone)

    @staticmethod
    async def _verify(dispatcher, phone: Text, pin: Text) -> Dict[Text, Any]:
        try:
            # PIN hashing is slow on purpose: off the event loop.
            customer = await asyncio.to_thread(services().accounts.verify, phone, pin)
        except BackendUnavailable:
            dispatcher.utter_message(response="utter_account_unavailable")
            return {"account_phone": None, "account_pin": None, "account_action_failed": True}
        except AccountLocked:
            dispatcher.utter_message(response="utter_verify_locked")
            return {"account_phone": None, "account_pin": None}
        if customer is None:
            dispatcher.utter_message(response="utter_verify_failed")
            return {"account_phone": None, "account_pin": None}
        # The PIN itself is not kept in the conversation state.
        return verified_slots(customer, phone)


def _already_verified(tracker: Tracker) -> bool:
    return bool(tracker.get_slot("customer_id")) and tracker.get_slot("account_pin") in SECRET_SLOT_VERDICTS


class ActionAskAccountPin(Action):
    """The PIN prompt, or the code prompt once the customer chose a one-time code."""

    def name(self) -> Text:
        return "action_ask_account_pin"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> List[EventType]:
        dispatcher.utter_message(response="utter_ask_code" if tracker.get_slot("verify_by_code") else "utter_ask_account_pin")
        return []


class ActionSendCode(Action):
    """A one-time code to the phone number given, through the sender (never into the chat).
    The reply is the same whether or not the number is a customer's."""

    def name(self) -> Text:
        return "action_send_code"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> List[EventType]:
        phone = tracker.get_slot("account_phone")
        if not phone:
            return []  # the form asks for the number first
        try:
            issued = await asyncio.to_thread(services().accounts.issue_code, phone)
        except BackendUnavailable:
            dispatcher.utter_message(response="utter_account_unavailable")
            return [SlotSet("account_action_failed", True)]
        except AccountLocked:
            dispatcher.utter_message(response="utter_verify_locked")
            return [SlotSet("account_phone", None), SlotSet("account_pin", None)]
        if issued is not None:
            customer, code = issued
            await asyncio.to_thread(services().sender.send, customer, "login_code", login_code_text(code, language_of(tracker)),
                                    tracker.sender_id)
        dispatcher.utter_message(response="utter_code_sent")
        return [SlotSet("verify_by_code", True), SlotSet("account_pin", None)]


def login_code_text(code: Text, language: Text) -> Text:
    if language == "en":
        return f"Your support chat code is {code}. It works once, for 5 minutes. Never share it."
    text = f"您的在线客服验证码为 {code}，5 分钟内有效，仅可使用一次。请勿告诉他人。"
    return to_traditional(text) if language == "zh-Hant" else text


def verified_slots(customer: Customer, phone: Text) -> Dict[Text, Any]:
    """What the conversation keeps of a verified customer (the desk's handoff context reads
    customer_vip and customer_ref). The PIN itself is not kept."""
    return {"account_phone": phone, "account_pin": "verified", "customer_id": float(customer.id),
            "customer_name": customer.display_name, "customer_vip": customer.vip_tier > 0,
            "customer_ref": customer.ref, "customer_greeted": False, "verify_by_code": None}


class ActionHandoff(Action):
    """Queue the conversation for a human agent and pause the bot."""

    def name(self) -> Text:
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> List[EventType]:
        events = tracker.events
        slots = {name: tracker.get_slot(name) for name in ("customer_vip", "account_action_failed")}
        reason = escalation.handoff_reason(events, slots)
        faq_shown = tracker.get_slot(SHOWN_SLOT)
        skill_group = escalation.skill_group_for(events, services().knowledge_base_skill_group(faq_shown))
        customer = _verified_customer(tracker)
        said = [mask_secrets(text) for text in escalation.customer_messages(events)]
        frustration = max((escalation.frustration_score(t) for t in said), default=0.0)
        not_helpful = escalation.not_helpful_count(events)
        customer_ref = tracker.get_slot("customer_ref")
        profile = await _profile(customer_ref)
        context = {
            "intent": tracker.latest_message.get("intent", {}),
            "customer": customer,
            "bot_actions": _recent_bot_actions(tracker),
            # --- desk (#7): what the agent's context panel shows ---
            "intents": _recent_intents(tracker),
            "faq_shown": faq_shown,
            "faq_not_helpful": not_helpful,
            "frustration": round(frustration, 2),
            "vip": bool(slots["customer_vip"]),
            "account_action_failed": bool(slots["account_action_failed"]),
            "summary": escalation.summary(reason, skill_group, bool(customer), faq_shown, not_helpful,
                                          frustration >= 0.6, said[-1] if said else None),
            # --- accounts (#9): the verified customer's plan, tier and open tickets (phone masked) ---
            "profile": profile,
        }
        try:
            ticket = await services().handoffs.request_handoff(
                tracker.sender_id, reason=reason, language=language_of(tracker), context=context,
                # The console warns the agent when this channel cannot receive their replies.
                input_channel=tracker.get_latest_input_channel(),
                skill_group=skill_group, priority=escalation.priority_for(reason, slots),
                customer_ref=str(customer_ref) if customer_ref else None,
            )
        except HandoffUnavailable:
            dispatcher.utter_message(response="utter_handoff_unavailable")
            return [ActiveLoop(None), SlotSet("requested_slot", None)]
        question = escalation.question_before_handoff(events)
        if question:  # the editors see what ended with a person (masked by the knowledge base)
            await asyncio.to_thread(services().knowledge_base.record_unanswered, question, language_of(tracker),
                                    "handoff", tracker.sender_id)
        # `handoff` reaches the chat page with the text: a person answers from now on.
        # A long wait, nobody qualified online or outside hours: the notice also offers a
        # callback, a message or the way back (the desk acts on those while the bot is paused).
        buttons = escalation.alternative_buttons(language_of(tracker)) if ticket.offer_callback else None
        if ticket.wait_minutes is not None:
            dispatcher.utter_message(response="utter_handoff_queued_wait", position=ticket.position,
                                     minutes=ticket.wait_minutes, handoff="queued", buttons=buttons)
        else:
            dispatcher.utter_message(response="utter_handoff_queued", position=ticket.position, handoff="queued",
                                     buttons=buttons)
        return [ActiveLoop(None), SlotSet("requested_slot", None), ConversationPaused()]


async def _profile(customer_ref: Any) -> Dict[Text, Any]:
    """What the accounts backend says of a verified customer, for the agent; nothing when the
    customer is not verified or the backend is down (the handoff goes ahead without it)."""
    if not customer_ref:
        return {}
    try:
        profile = await asyncio.to_thread(services().accounts.profile_summary, str(customer_ref))
    except BackendUnavailable:
        logger.warning("handoff without the customer's profile: the accounts backend is unavailable")
        return {}
    for ticket in profile.get("open_tickets") or []:  # the customer's own words: numbers in them masked
        ticket["what"] = mask(str(ticket.get("what") or ""))
    return profile


class ActionRecordRating(Action):
    """The customer's 1-5 rating of the agent who just closed the chat (a button)."""

    def name(self) -> Text:
        return "action_record_rating"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> List[EventType]:
        rating = None
        for entity in tracker.latest_message.get("entities") or []:
            if entity.get("entity") == "rating":
                try:
                    rating = int(str(entity.get("value")))
                except ValueError:
                    rating = None
        if rating is None or not 1 <= rating <= 5:
            dispatcher.utter_message(response="utter_ask_rating")
            return []
        try:
            await services().handoffs.rate(tracker.sender_id, rating)
        except HandoffUnavailable:
            logger.warning("could not record the rating of %s", tracker.sender_id)
        dispatcher.utter_message(response="utter_rating_thanks")
        return [SlotSet("rating_given", float(rating))]


class ActionRecordRatingComment(Action):
    """The optional comment after a rating (the comment form's one answer)."""

    def name(self) -> Text:
        return "action_record_rating_comment"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> List[EventType]:
        comment = (tracker.get_slot("rating_comment") or "").strip()
        rating = tracker.get_slot("rating_given")
        if comment and rating:
            try:
                await services().handoffs.rate(tracker.sender_id, int(rating), mask_secrets(comment))
            except HandoffUnavailable:
                logger.warning("could not record the rating comment of %s", tracker.sender_id)
        dispatcher.utter_message(response="utter_rating_comment_thanks")
        return [SlotSet("rating_comment", None)]


def _verified_customer(tracker: Tracker) -> Dict[str, Any]:
    customer_id = tracker.get_slot("customer_id")
    if not customer_id:
        return {}
    customer = services().accounts.get(int(customer_id))
    if customer is None:
        return {}
    return {"id": customer.id, "name": customer.display_name, "phone": customer.masked_phone}


class ValidateCallbackForm(FormValidationAction):
    """The number to call back, found by the privacy recogniser (a valid number only), and
    a preferred time in the customer's words (at most 64 characters)."""

    def name(self) -> Text:
        return "validate_callback_form"

    async def validate_callback_phone(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:
        phones = phone_candidates(str(value or ""))
        if not phones:
            dispatcher.utter_message(response="utter_callback_phone_invalid")
            return {"callback_phone": None}
        return {"callback_phone": phones[0]}

    async def validate_callback_time(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:
        text = " ".join(str(value or "").split())[:64]
        return {"callback_time": text or None}


class ActionCreateTicket(Action):
    """A callback or a message becomes a ticket agents work from the console."""

    def name(self) -> Text:
        return "action_create_ticket"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> List[EventType]:
        phone, time, message = (tracker.get_slot(n) for n in ("callback_phone", "callback_time", "desk_message"))
        kind = "callback" if phone else "message"
        faq_shown = tracker.get_slot(SHOWN_SLOT)
        customer_ref = tracker.get_slot("customer_ref")
        try:
            await services().handoffs.create_ticket(
                tracker.sender_id, kind, language_of(tracker),
                skill_group=escalation.skill_group_for(tracker.events, services().knowledge_base_skill_group(faq_shown)),
                phone=phone, preferred_time=time, message=message,
                customer_ref=str(customer_ref) if customer_ref else None,
            )
        except HandoffUnavailable:
            dispatcher.utter_message(response="utter_ticket_failed")
        else:
            if kind == "callback":
                dispatcher.utter_message(response="utter_ticket_callback", phone=mask_phone(phone), time=time)
            else:
                dispatcher.utter_message(response="utter_ticket_message")
        return [SlotSet("callback_phone", None), SlotSet("callback_time", None), SlotSet("desk_message", None)]


def _recent_intents(tracker: Tracker, limit: int = 5) -> List[Dict[str, Any]]:
    """The customer's last intents with NLU's confidence, for the agent."""
    found = []
    for event in tracker.events:
        if event.get("event") == "user":
            intent = (event.get("parse_data") or {}).get("intent") or {}
            if intent.get("name"):
                found.append({"name": intent["name"], "confidence": round(float(intent.get("confidence") or 0), 3)})
    return found[-limit:]


def _recent_bot_actions(tracker: Tracker, limit: int = 10) -> List[str]:
    names = [
        e.get("name")
        for e in tracker.events
        if e.get("event") == "action" and e.get("name") not in (None, "action_listen", "action_session_start")
    ]
    return names[-limit:]
