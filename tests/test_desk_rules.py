"""The desk's rules that need no process: why a conversation is escalated and to which
team, how long the customer is told to wait, and when a skill group is open."""
import datetime as dt

import pytest

from actions import escalation
from handoff_service.desk.hours import BusinessHours, HoursError
from handoff_service.desk.waits import changed_materially, estimate


def user(text, intent="human_handoff"):
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent, "confidence": 0.9}}}


def bot(response):
    return {"event": "bot", "text": "…", "metadata": {"utter_action": response}}


@pytest.mark.parametrize("offer, said_before, expected", [
    ("utter_offer_human", "asdf qwer", "repeated_misunderstanding"),
    ("utter_complaint", "我要投诉", "business_rule:complaint"),
    ("utter_complaint", "I want to file a complaint", "business_rule:complaint"),
    ("utter_complaint", "气死我了，你们这什么破服务！！", "frustration"),
    ("utter_complaint", "THIS IS THE WORST SERVICE EVER", "frustration"),
    ("utter_still_broken", "还是不行", "frustration"),
    ("utter_offer_person_fraud", "我的账户被盗了", "business_rule:fraud_security"),
    ("utter_offer_person_faq", "/faq_not_helpful", "faq_not_helpful"),
    ("utter_offer_person_vip", "hmm", "business_rule:vip"),
    ("utter_greet", "hi", "explicit_request"),
])
def test_the_reason_is_the_offer_the_customer_accepted(offer, said_before, expected):
    events = [user(said_before, "complain"), bot(offer), user("/human_handoff")]
    assert escalation.handoff_reason(events, {}) == expected


def test_an_offer_counts_only_when_it_was_the_last_reply():
    events = [user("我要投诉", "complain"), bot("utter_complaint"), user("嗯"), user("转人工")]
    assert escalation.handoff_reason(events, {}) == "explicit_request"


def test_business_rules_refine_a_plain_request():
    request = [user("转人工")]
    assert escalation.handoff_reason(request, {"customer_vip": True}) == "business_rule:vip"
    assert escalation.handoff_reason(request, {"account_action_failed": True}) == "business_rule:account_action_failed"
    still_broken = [user("还是不行", "still_broken"), bot("utter_still_broken"), user("/human_handoff")]
    assert escalation.handoff_reason(still_broken, {"account_action_failed": True}) == "business_rule:account_action_failed"
    # A specific offer keeps its own reason; VIPs are served first all the same.
    fraud = [user("被盗了", "report_fraud"), bot("utter_offer_person_fraud"), user("/human_handoff")]
    assert escalation.handoff_reason(fraud, {"customer_vip": True}) == "business_rule:fraud_security"
    assert escalation.priority_for("business_rule:fraud_security", {"customer_vip": True}) == 10
    assert escalation.priority_for("business_rule:fraud_security", {}) == 5
    assert escalation.priority_for("explicit_request", {}) == 0


def test_the_team_comes_from_the_faq_shown_then_the_topic():
    events = [user("查话费", "check_balance"), user("转人工")]
    assert escalation.skill_group_for(events, "technical") == "technical"
    assert escalation.skill_group_for(events, "") == "billing"
    assert escalation.skill_group_for(events, "not-a-team") == "billing"
    assert escalation.skill_group_for([user("转人工")], None) == "general"


def test_not_helpful_is_counted_per_session():
    feedback = user("/faq_not_helpful", "faq_not_helpful")
    assert escalation.not_helpful_count([feedback, feedback]) == 2
    assert escalation.not_helpful_count([feedback, {"event": "action", "name": "action_session_start"}, feedback]) == 1


@pytest.mark.parametrize("text, angry", [
    ("气死我了", True), ("氣死我了", True), ("I'm so angry", True), ("WHY IS THIS NOT WORKING", False),
    ("WHY IS THIS NOT WORKING!!!", True), ("请问怎么交话费", False), ("how do I pay my bill?", False),
])
def test_frustration_indicator(text, angry):
    assert escalation.is_frustrated(text) is angry


def test_expected_wait_from_handle_times_and_seats():
    wait = estimate(position=3, seats=2, agents_online=1, handle_seconds=[240, 360],
                    default_handle_seconds=300, long_wait_seconds=600)
    assert wait.seconds == 3 * 300 / 2 and wait.minutes == 8 and not wait.offer_callback
    nobody = estimate(1, 0, 0, [], 300, 600)
    assert nobody.seconds is None and nobody.offer_callback
    long = estimate(10, 1, 1, [], 300, 600)
    assert long.long and long.offer_callback
    closed = estimate(1, 3, 1, [], 300, 600, open_now=False)
    assert closed.offer_callback


def test_free_seats_serve_the_first_in_line_at_once():
    # Two seats free: the first two are served at the next dispatch, the third waits for one seat.
    assert estimate(2, 4, 2, [], 300, 600, free_seats=2).seconds == 0
    assert estimate(3, 4, 2, [], 300, 600, free_seats=2).seconds == 300 / 4
    assert estimate(3, 4, 2, [], 300, 600, free_seats=2).minutes == 2


def test_only_material_changes_are_told_again():
    told = estimate(4, 2, 1, [], 300, 600)  # 600 s
    assert changed_materially(None, told)
    assert changed_materially(told, estimate(3, 2, 1, [], 300, 600))  # moved up
    assert not changed_materially(told, estimate(4, 2, 1, [330], 300, 600))  # 660 s: 1 minute more
    assert changed_materially(told, estimate(4, 2, 1, [600], 300, 600))  # 1200 s
    assert changed_materially(told, estimate(4, 0, 0, [], 300, 600))  # nobody left online


def test_business_hours_per_skill_group():
    hours = BusinessHours.parse("billing=mon-fri 09:00-18:00; sales=sat,sun 10:00-16:00; technical=24/7",
                                "Asia/Shanghai")
    monday_10_shanghai = dt.datetime(2026, 11, 30, 2, 0)  # UTC
    monday_20_shanghai = dt.datetime(2026, 11, 30, 12, 0)
    assert hours.is_open("billing", monday_10_shanghai) and not hours.is_open("billing", monday_20_shanghai)
    assert not hours.is_open("sales", monday_10_shanghai)
    assert hours.is_open("technical", monday_20_shanghai) and hours.is_open("general", monday_20_shanghai)
    for bad in ("billing", "billing=someday 09:00-18:00", "billing=mon 18:00-09:00", "billing=mon 25:00-26:00"):
        with pytest.raises(HoursError):
            BusinessHours.parse(bad, "UTC")
    with pytest.raises(HoursError):
        BusinessHours.parse("", "Mars/Olympus")
