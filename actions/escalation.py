"""When and why a conversation goes to a person, and to which team (desk #7).

The reason is read from the conversation, not kept in a slot: when the customer takes
a person the bot had offered, the offer's response says why it was offered (a reply
the bot gives when it did not understand twice, to a complaint, to a fraud report…);
without an offer it is the customer's own request, unless a business rule (an account
action that failed, a VIP customer) says more. Every non-explicit reason comes with an
offer first: nothing here forces a person on anyone.
"""
from __future__ import annotations

import re
from typing import Any, Dict, Iterable, List, Optional

# The bot's offer the customer accepted (its response name) -> the handoff's reason.
OFFER_REASONS: Dict[str, str] = {
    "utter_offer_human": "repeated_misunderstanding",   # not understood twice in a row
    "utter_complaint": "business_rule:complaint",
    "utter_still_broken": "frustration",                 # the bot's help did not solve it
    "utter_offer_person_fraud": "business_rule:fraud_security",
    "utter_offer_person_vip": "business_rule:vip",
    "utter_offer_person_account": "business_rule:account_action_failed",
    "utter_offer_person_faq": "faq_not_helpful",          # "not helpful" twice
}
# Reasons a business rule on the customer's slots may refine: the plain request, or
# "still broken" after an account action had failed.
REFINABLE = ("explicit_request", "frustration")

# Skill group of the conversation by the customer's most recent topical intent.
INTENT_SKILLS: Dict[str, str] = {
    "check_balance": "billing",
    "report_fraud": "billing",
}
SKILL_GROUPS = ("billing", "technical", "sales", "general")
PRIORITY = {"business_rule:vip": 10, "business_rule:fraud_security": 5}
VIP_PRIORITY = 10

# Words of anger or exasperation, in each script; plus shouting (capitals, "!!!").
_ANGRY_WORDS = re.compile(
    r"气死|氣死|生气|生氣|愤怒|憤怒|火大|受够|受夠|无语|無語|垃圾|太烂|太爛|烂透|爛透|什么破|什麼破|破服务|破服務|"
    r"坑人|太差|差劲|差勁|滚|滾|\bangry\b|\bfurious\b|\bridiculous\b|\buseless\b|\bterrible\b|\bworst\b|"
    r"fed up|sick of|\bunacceptable\b|\bwtf\b|\bjoke\b|\bpathetic\b|\bhate\b",
    re.IGNORECASE,
)


def frustration_score(text: str) -> float:
    """0 (calm) to 1 (clearly angry): words of anger, shouting, a row of "!" or "？"."""
    text = text or ""
    score = 0.0
    if _ANGRY_WORDS.search(text):
        score += 0.6
    letters = [c for c in text if c.isascii() and c.isalpha()]
    if len(letters) >= 8 and sum(c.isupper() for c in letters) / len(letters) > 0.7:
        score += 0.3
    if re.search(r"[!！]{2,}|[?？]{3,}", text):
        score += 0.3
    return min(1.0, score)


def is_frustrated(text: str) -> bool:
    return frustration_score(text) >= 0.6


def last_bot_response(events: Iterable[Dict[str, Any]]) -> Optional[str]:
    """The response name of the bot's last message before the customer's latest one."""
    seen_user = False
    for event in reversed(list(events)):
        kind = event.get("event")
        if kind == "user":
            if seen_user:
                return None  # two customer messages with no bot reply between: no offer pending
            seen_user = True
        elif kind == "bot" and seen_user:
            return (event.get("metadata") or {}).get("utter_action")
    return None


def offer_reason(events: List[Dict[str, Any]]) -> Optional[str]:
    """Why the bot offered a person just before the customer took one, if it did."""
    return OFFER_REASONS.get(last_bot_response(events) or "")


def _message_before_offer(events: List[Dict[str, Any]]) -> str:
    """What the customer said that made the bot offer a person (the message before the offer)."""
    users = [e for e in events if e.get("event") == "user"]
    return (users[-2].get("text") or "") if len(users) >= 2 else ""


def handoff_reason(events: List[Dict[str, Any]], slots: Dict[str, Any]) -> str:
    reason = offer_reason(events) or "explicit_request"
    if reason == "business_rule:complaint" and is_frustrated(_message_before_offer(events)):
        reason = "frustration"  # "你们这什么破服务！！" is anger more than a complaint to file
    if reason in REFINABLE:
        if slots.get("account_action_failed"):
            return "business_rule:account_action_failed"
        if reason == "explicit_request" and slots.get("customer_vip"):
            return "business_rule:vip"
    return reason


def priority_for(reason: str, slots: Dict[str, Any]) -> int:
    """Higher is served first: a VIP customer, then fraud and security (urgent)."""
    priority = PRIORITY.get(reason, 0)
    if slots.get("customer_vip"):
        priority = max(priority, VIP_PRIORITY)
    return priority


def skill_group_for(events: List[Dict[str, Any]], faq_skill_group: Optional[str]) -> str:
    """The knowledge-base entry the customer was last shown names its team; otherwise the
    customer's most recent topical intent does; otherwise general."""
    if faq_skill_group in SKILL_GROUPS:
        return faq_skill_group
    for event in reversed(events):
        if event.get("event") == "user":
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if intent in INTENT_SKILLS:
                return INTENT_SKILLS[intent]
    return "general"


def not_helpful_count(events: List[Dict[str, Any]]) -> int:
    """How many FAQ answers the customer marked "not helpful" in this session."""
    count = 0
    for event in events:
        if event.get("event") == "action" and event.get("name") == "action_session_start":
            count = 0
        elif event.get("event") == "user" and ((event.get("parse_data") or {}).get("intent") or {}).get("name") == "faq_not_helpful":
            count += 1
    return count


ALTERNATIVES = (
    ("/handoff_callback", {"zh-Hans": "请回电给我", "zh-Hant": "請回電給我", "en": "Call me back"}),
    ("/handoff_leave_message", {"zh-Hans": "留言", "zh-Hant": "留言", "en": "Leave a message"}),
    ("/handoff_cancel", {"zh-Hans": "返回智能客服", "zh-Hant": "返回智慧客服", "en": "Back to the assistant"}),
)


def alternative_buttons(language: str) -> List[Dict[str, str]]:
    """What a queued customer may choose instead of waiting long."""
    return [{"title": labels.get(language, labels["en"]), "payload": payload} for payload, labels in ALTERNATIVES]


def customer_messages(events: List[Dict[str, Any]], limit: int = 5) -> List[str]:
    texts = [e.get("text") or "" for e in events if e.get("event") == "user"]
    return [t for t in texts if t and not t.startswith("/")][-limit:]


# Messages that are no question of their own: the request for a person, yes/no, form answers, nudges.
NOT_A_QUESTION = {"human_handoff", "affirm", "deny", "inform", "nudge", "greet", "goodbye", "thank", "hold_on"}


def question_before_handoff(events: List[Dict[str, Any]]) -> str:
    """The customer's last question before they were handed over (typed, not a button), for
    the editors' list of what the knowledge base should answer; empty if there was none."""
    for event in reversed(events):
        if event.get("event") != "user":
            continue
        text = (event.get("text") or "").strip()
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if text and not text.startswith("/") and intent not in NOT_A_QUESTION:
            return text
    return ""


def summary(reason: str, skill_group: str, verified: bool, faq_shown: Optional[str],
            not_helpful: int, frustrated: bool, last_question: Optional[str]) -> str:
    """One line for the agent's context panel (English keys; the console shows it as is)."""
    parts = []
    if last_question:
        parts.append(f"asked: {last_question[:120]}")
    parts.append("verified" if verified else "not verified")
    if faq_shown:
        parts.append(f"saw FAQ {faq_shown}" + (f" (not helpful ×{not_helpful})" if not_helpful else ""))
    if frustrated:
        parts.append("frustrated")
    parts.append(f"reason {reason}, team {skill_group}")
    return "; ".join(parts)
