"""Self-service actions for a verified customer: gather slots, ask the accounts
repository (``services().accounts``), utter. Formatting lives in ``account_text``.

Every account question goes through ``verify_form`` first (data/accounts.yml); once it
is done ``action_account_answer`` answers the question that led there: the latest
account intent the customer sent. The first answer after verification greets the
customer by name and mentions an open fault ticket or an unusual bill first.

A backend that is slow or down (``BackendUnavailable``) gets an apology and the offer of
a person or a callback; the conversation and any open form stay as they were, and the
``account_action_failed`` slot tells the desk why the customer may then ask for help.
"""
from __future__ import annotations

import asyncio
import logging
import re
import uuid
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SessionStarted, SlotSet, ActionExecuted
from rasa_sdk.executor import CollectingDispatcher

from actions import account_text as say
from actions.accounts.identity import TOKEN_KEY, customer_ref_from_token
from actions.accounts.links import reset_link
from actions.accounts.repository import (
    BackendUnavailable, ChangeOutcomeUnknown, Customer, Plan, bill_differences, is_unusual,
)
from actions.actions import verified_slots
from actions.faq import language_of
from actions.form_corrections import corrected_slot, corrected_value
from bot.chinese import to_simplified
from actions.services import services

logger = logging.getLogger(__name__)

READ_INTENTS = ("check_balance", "check_bill", "bill_higher", "check_usage", "payment_status", "order_status")
ACCOUNT_INTENTS = READ_INTENTS + ("report_fault", "reset_password", "change_plan")
# What verification puts in the conversation: cleared when a new session starts.
VERIFICATION_SLOTS = ("account_phone", "account_pin", "customer_id", "customer_name", "customer_vip",
                      "customer_ref", "customer_greeted", "verify_by_code")
FAULT_SLOTS = ("fault_what", "fault_where", "fault_since")
PLAN_SLOTS = ("plan_change_to", "plan_change_confirmed", "plan_change_request")


async def backend(fn, *args):
    """A repository call off the event loop (the HTTP one blocks, PIN hashing is slow)."""
    return await asyncio.to_thread(fn, *args)


def account_question(tracker: Tracker) -> Optional[str]:
    """The latest account intent the customer sent (the one verification interrupted)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if intent in ACCOUNT_INTENTS:
                return intent
    return None


def unavailable(dispatcher: CollectingDispatcher, error: Optional[BackendUnavailable] = None) -> List[EventType]:
    # A change the system may have made after all is not "nothing was changed".
    unknown = isinstance(error, ChangeOutcomeUnknown)
    dispatcher.utter_message(response="utter_change_unconfirmed" if unknown else "utter_account_unavailable")
    return [SlotSet("account_action_failed", True)]


async def verified_customer(tracker: Tracker) -> Optional[Customer]:
    customer_id = tracker.get_slot("customer_id")
    if not customer_id:
        return None
    return await backend(services().accounts.get, int(customer_id))


class ActionAccountAnswer(Action):
    def name(self) -> Text:
        return "action_account_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> List[EventType]:
        language = language_of(tracker)
        question = account_question(tracker) or "check_balance"
        try:
            customer = await verified_customer(tracker)
            if customer is None:
                dispatcher.utter_message(response="utter_verify_failed")
                return [SlotSet(s, None) for s in VERIFICATION_SLOTS]
            events: List[EventType] = []
            if not tracker.get_slot("customer_greeted"):
                await self._greet(dispatcher, customer, language, question)
                events.append(SlotSet("customer_greeted", True))
            answer = getattr(self, question)
            return events + await answer(dispatcher, tracker, customer, language)
        except BackendUnavailable:
            return unavailable(dispatcher)

    # -- the personal part
    async def _greet(self, dispatcher, customer: Customer, language: str, question: str) -> None:
        """Greets by name; an open ticket or an unusual bill is said first. (The balance
        answer starts with the name itself, so it needs no greeting of its own.)"""
        accounts = services().accounts
        tickets = await backend(accounts.tickets, customer.id)
        if tickets:
            t = tickets[0]
            dispatcher.utter_message(response="utter_open_ticket_reminder", name=customer.display_name, ticket=t.id,
                                     what=t.what, date=say.date(t.created_at.date(), language),
                                     status=say.word(t.status, language))
            return
        bills = await backend(accounts.bills, customer.id)
        if bills and is_unusual(bills[0], bills[1:]):
            dispatcher.utter_message(response="utter_unusual_bill_notice", name=customer.display_name,
                                     month=say.month(bills[0].period, language),
                                     total=say.money(bills[0].total_cents, bills[0].currency, language))
        elif question != "check_balance":
            dispatcher.utter_message(response="utter_greet_verified", name=customer.display_name)

    # -- one method per account intent
    async def check_balance(self, dispatcher, tracker, customer: Customer, language: str) -> List[EventType]:
        dispatcher.utter_message(response="utter_balance", name=customer.display_name,
                                 balance=say.money(customer.balance_cents, customer.currency, language),
                                 plan=customer.plan_name)
        return []

    async def check_bill(self, dispatcher, tracker, customer: Customer, language: str) -> List[EventType]:
        bills = await backend(services().accounts.bills, customer.id)
        if not bills:
            dispatcher.utter_message(response="utter_no_bills")
            return []
        bill = bills[0]
        dispatcher.utter_message(response="utter_bill_summary", month=say.month(bill.period, language),
                                 total=say.money(bill.total_cents, bill.currency, language),
                                 status=say.word(bill.status, language), due=say.date(bill.due_date, language),
                                 items=say.bill_lines(bill, language))
        return []

    async def bill_higher(self, dispatcher, tracker, customer: Customer, language: str) -> List[EventType]:
        bills = await backend(services().accounts.bills, customer.id, 2)
        if len(bills) < 2:
            return await self.check_bill(dispatcher, tracker, customer, language)
        this, last = bills
        args = dict(month=say.month(this.period, language), total=say.money(this.total_cents, this.currency, language),
                    last_total=say.money(last.total_cents, last.currency, language))
        if this.total_cents <= last.total_cents:
            dispatcher.utter_message(response="utter_bill_not_higher", **args)
            return []
        dispatcher.utter_message(response="utter_bill_higher",
                                 difference=say.money(this.total_cents - last.total_cents, this.currency, language),
                                 reasons=say.bill_changes(bill_differences(this, last), this.currency, language),
                                 **args)
        return []

    async def check_usage(self, dispatcher, tracker, customer: Customer, language: str) -> List[EventType]:
        usage = await backend(services().accounts.usage, customer.id)
        if usage is None:
            dispatcher.utter_message(response="utter_no_usage")
            return []
        dispatcher.utter_message(response="utter_usage", data_left=say.data_amount(usage.data_left_mb, language),
                                 data_total=say.data_amount(usage.data_total_mb, language),
                                 minutes_left=say.number(usage.minutes_left, language),
                                 minutes_total=say.number(usage.minutes_total, language))
        return []

    async def payment_status(self, dispatcher, tracker, customer: Customer, language: str) -> List[EventType]:
        accounts = services().accounts
        payments = await backend(accounts.payments, customer.id, 1)
        bills = await backend(accounts.bills, customer.id, 1)
        if payments:
            p = payments[0]
            dispatcher.utter_message(response="utter_last_payment", amount=say.money(p.amount_cents, p.currency, language),
                                     date=say.date(p.created_at.date(), language), method=say.word(p.method, language),
                                     status=say.word(p.status, language))
        if bills and bills[0].status != "paid":
            b = bills[0]
            dispatcher.utter_message(response="utter_bill_due", total=say.money(b.total_cents, b.currency, language),
                                     due=say.date(b.due_date, language))
        dispatcher.utter_message(response="utter_how_to_pay")
        return []

    async def order_status(self, dispatcher, tracker, customer: Customer, language: str) -> List[EventType]:
        orders = await backend(services().accounts.orders, customer.id)
        if not orders:
            dispatcher.utter_message(response="utter_no_orders")
            return []
        for o in orders[:3]:
            dispatcher.utter_message(
                response="utter_order_status", order=o.id, item=o.item, status=say.word(o.status, language),
                placed=say.date(o.placed_at.date(), language),
                shipping=say.shipping(o, language))
        return []

    async def report_fault(self, dispatcher, tracker, customer: Customer, language: str) -> List[EventType]:
        # What the customer said is what is wrong ("我家宽带坏了"); the form asks where and since when.
        text = (tracker.latest_message.get("text") or "") if tracker.latest_message.get(
            "intent", {}).get("name") == "report_fault" else None
        events: List[EventType] = [SlotSet(s, None) for s in FAULT_SLOTS]
        if text:
            events.append(SlotSet("fault_what", text))
        return events + [FollowupAction("fault_form")]

    async def reset_password(self, dispatcher, tracker, customer: Customer, language: str) -> List[EventType]:
        settings = services().settings
        link = reset_link(settings.public_web_url, settings.service_token, customer.ref)
        text = say.reset_message(link, language)
        await backend(services().sender.send, customer, "password_reset", text, tracker.sender_id)
        dispatcher.utter_message(response="utter_password_reset_sent", phone=customer.masked_phone)
        return []

    async def change_plan(self, dispatcher, tracker, customer: Customer, language: str) -> List[EventType]:
        plans = await backend(services().accounts.plans)
        chosen = match_plan(tracker.latest_message.get("text") or "", plans, customer.plan_code)
        return [SlotSet("plan_change_to", chosen.code if chosen else None), SlotSet("plan_change_confirmed", None),
                SlotSet("plan_change_request", uuid.uuid4().hex), FollowupAction("plan_change_form")]


def match_plan(text: str, plans: List[Plan], current: str = "") -> Optional[Plan]:
    """The plan a message names, by code, name (either language) or monthly fee ("199")."""
    folded = to_simplified(text).lower().replace(" ", "")
    for plan in plans:
        names = (plan.code, plan.name, plan.name_en)
        if any(n.lower().replace(" ", "") in folded for n in names if n):
            return plan
    numbers = set(re.findall(r"\d+", text))
    for plan in plans:
        if str(plan.monthly_fee_cents // 100) in numbers and plan.code != current:
            return plan
    return None


# ---------------------------------------------------------------- fault report
class ValidateFaultForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_fault_form"

    @staticmethod
    def _text(value: Any) -> Optional[str]:
        text = str(value or "").strip()
        return text[:500] if text else None

    async def validate_fault_what(self, value, dispatcher, tracker, domain):
        return {"fault_what": self._text(value)}

    async def validate_fault_where(self, value, dispatcher, tracker, domain):
        return {"fault_where": self._text(value)}

    async def validate_fault_since(self, value, dispatcher, tracker, domain):
        return {"fault_since": self._text(value)}


class ActionReportFault(Action):
    def name(self) -> Text:
        return "action_report_fault"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> List[EventType]:
        clear = [SlotSet(s, None) for s in FAULT_SLOTS]
        customer_id = tracker.get_slot("customer_id")
        if not customer_id:
            dispatcher.utter_message(response="utter_verify_failed")
            return clear
        what, where, since = (tracker.get_slot(s) for s in FAULT_SLOTS)
        try:
            ticket = await backend(services().accounts.report_fault, int(customer_id), what, where, since,
                                   f"{tracker.sender_id}:{uuid.uuid4().hex}")
        except BackendUnavailable as e:
            return unavailable(dispatcher, e) + clear
        dispatcher.utter_message(response="utter_fault_reported", ticket=ticket.id)
        return clear


# ---------------------------------------------------------------- plan change
class ValidatePlanChangeForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_plan_change_form"

    async def validate_plan_change_to(self, value, dispatcher, tracker, domain):
        try:
            plans = await backend(services().accounts.plans)
        except BackendUnavailable:
            return {"plan_change_to": None, **_failed_slots(unavailable(dispatcher))}
        chosen = match_plan(str(value or ""), plans)
        if chosen is None:
            dispatcher.utter_message(response="utter_plan_not_found")
            return {"plan_change_to": None}
        customer = await verified_customer(tracker)
        if customer is not None and chosen.code == customer.plan_code:
            dispatcher.utter_message(response="utter_plan_already", plan=say.plan_name(chosen, language_of(tracker)))
            return {"plan_change_to": None}
        return {"plan_change_to": chosen.code}


def _failed_slots(events: List[EventType]) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


class ActionAskPlanChangeTo(Action):
    """The plans to choose from, as buttons (their names: the customer may type one too)."""

    def name(self) -> Text:
        return "action_ask_plan_change_to"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        language = language_of(tracker)
        try:
            plans = await backend(services().accounts.plans)
            customer = await verified_customer(tracker)
        except BackendUnavailable:
            return unavailable(dispatcher) + [ActiveLoop(None), SlotSet("requested_slot", None)]
        current = customer.plan_code if customer else ""
        buttons = [{"title": f"{say.plan_name(p, language)} ({say.money(p.monthly_fee_cents, p.currency, language)})",
                    "payload": say.plan_name(p, language)} for p in plans if p.code != current]
        dispatcher.utter_message(response="utter_ask_plan_change_to", buttons=buttons)
        return []


class ActionAskPlanChangeConfirmed(Action):
    """The difference between the current plan and the chosen one, and "shall I?"."""

    def name(self) -> Text:
        return "action_ask_plan_change_confirmed"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        language = language_of(tracker)
        try:
            plans = {p.code: p for p in await backend(services().accounts.plans)}
            customer = await verified_customer(tracker)
        except BackendUnavailable:
            return unavailable(dispatcher) + [ActiveLoop(None), SlotSet("requested_slot", None)]
        new = plans.get(tracker.get_slot("plan_change_to"))
        old = plans.get(customer.plan_code) if customer else None
        if new is None or customer is None:
            dispatcher.utter_message(response="utter_plan_not_found")
            return [ActiveLoop(None), SlotSet("requested_slot", None)] + [SlotSet(s, None) for s in PLAN_SLOTS]
        dispatcher.utter_message(response="utter_plan_change_offer", **say.plan_difference(old, new, language))
        return []


class ActionChangePlan(Action):
    """Does the confirmed change, once: the request key made when the offer started goes
    with it, and the slots are cleared after, so a repeated "yes" changes nothing."""

    def name(self) -> Text:
        return "action_change_plan"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        clear = [SlotSet(s, None) for s in PLAN_SLOTS]
        code, request = tracker.get_slot("plan_change_to"), tracker.get_slot("plan_change_request")
        customer_id = tracker.get_slot("customer_id")
        if not tracker.get_slot("plan_change_confirmed") or not code or not customer_id or not request:
            dispatcher.utter_message(response="utter_plan_change_kept")
            return clear
        try:
            change = await backend(services().accounts.change_plan, int(customer_id), code,
                                   f"{tracker.sender_id}:{request}")
        except BackendUnavailable as e:
            # Nothing half-done: the backend applies a request key whole or not at all (and
            # once); when the answer never came, the customer is told it is not known which.
            return unavailable(dispatcher, e) + clear
        try:
            name = say.plan_name({p.code: p for p in await backend(services().accounts.plans)}[change.to_plan],
                                 language_of(tracker))
        except (BackendUnavailable, KeyError):  # made all the same: say so, by the plan's code
            name = change.to_plan
        dispatcher.utter_message(response="utter_plan_changed", plan=name)
        return clear


class ActionCorrectForm(Action):
    """"不对，地址是…" in the middle of a form: the answer it names (or the last one) takes
    the new value; the form then asks again where it stopped. A new plan is offered afresh."""

    def name(self) -> Text:
        return "action_correct_form"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        text = tracker.latest_message.get("text") or ""
        if tracker.active_loop_name == "plan_change_form":
            return await self._plan(dispatcher, tracker, text)
        requested = tracker.get_slot("requested_slot")
        slot = corrected_slot(text, FAULT_SLOTS, requested)
        value = corrected_value(text, slot) if slot else None
        if value is None:
            # Read as a correction but naming nothing to change ("昨天开始的"): it was the
            # answer to the question asked, and is taken as such (no loop of asking again).
            return [SlotSet(requested, text.strip()[:500])] if requested in FAULT_SLOTS and text.strip() else []
        dispatcher.utter_message(response="utter_form_corrected", value=value)
        return [SlotSet(slot, value)]

    @staticmethod
    async def _plan(dispatcher, tracker, text: str) -> List[EventType]:
        try:
            plans = await backend(services().accounts.plans)
            customer = await verified_customer(tracker)
        except BackendUnavailable:
            return unavailable(dispatcher)
        chosen = match_plan(text, plans, customer.plan_code if customer else "")
        if chosen is None or (customer is not None and chosen.code == customer.plan_code):
            if (tracker.latest_message.get("intent") or {}).get("name") != "nlu_fallback":
                dispatcher.utter_message(response="utter_plan_not_found")
            return []  # the form asks its question again
        return [SlotSet("plan_change_to", chosen.code), SlotSet("plan_change_confirmed", None)]


class ActionCancelForm(Action):
    def name(self) -> Text:
        return "action_cancel_form"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        dispatcher.utter_message(response="utter_form_cancelled")
        events = [ActiveLoop(None), SlotSet("requested_slot", None)] + [
            SlotSet(s, None) for s in FAULT_SLOTS + PLAN_SLOTS]
        if not tracker.get_slot("customer_id"):  # a verification given up starts afresh next time
            events += [SlotSet("account_phone", None), SlotSet("account_pin", None), SlotSet("verify_by_code", None)]
        return events


class ActionSessionStart(Action):
    """A new session keeps the customer's language and such, but not their verification:
    it belongs to the conversation's session and ends with it. A customer logged in on the
    host site (a valid token in the first message's metadata) starts verified."""

    def name(self) -> Text:
        return "action_session_start"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        carried = [SlotSet(name, value) for name, value in tracker.current_slot_values().items()
                   if value is not None and name not in VERIFICATION_SLOTS + FAULT_SLOTS + PLAN_SLOTS
                   and name not in ("requested_slot", "account_action_failed", "session_started_metadata")]
        return [SessionStarted(), *carried, *await self._logged_in(tracker), ActionExecuted("action_listen")]

    @staticmethod
    async def _logged_in(tracker: Tracker) -> List[EventType]:
        metadata = tracker.get_slot("session_started_metadata") or {}
        settings = services().settings
        ref = customer_ref_from_token(metadata.get(TOKEN_KEY) if isinstance(metadata, dict) else None,
                                      settings.customer_jwt_secret, settings.customer_jwt_audience,
                                      settings.customer_jwt_issuer)
        if ref is None:
            return []
        try:
            customer = await backend(services().accounts.get, int(ref))
        except BackendUnavailable:
            return [SlotSet("account_action_failed", True)]  # the customer can still verify in the chat
        if customer is None:
            return []
        return [SlotSet(name, value) for name, value in verified_slots(customer, "host-site login").items()]
