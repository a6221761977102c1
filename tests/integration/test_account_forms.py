"""Forms the customer steers (#9): put an answer right ("不对，地址是…"), ask something else
in the middle ("等一下，先帮我查余额") and come back, or give up ("算了"), in the fault report
and the plan change, over the real Rasa server, action server and accounts stand-in."""
import re

import pytest
import sqlalchemy as sa

from actions import account_text as say
from actions.accounts.sql import SqlAccounts, plan_changes
from bot.database import create_engine
from tests.integration.test_accounts import BY_LANGUAGE, FAULT_ASKS, LANGUAGES, customer_id, generated, texts, verify

pytestmark = pytest.mark.integration

WORDS = {
    "zh-Hans": dict(place="家里", right_place="上海市徐汇区漕溪北路88号", correct="不对，地址是上海市徐汇区漕溪北路88号",
                    since="前天开始的", corrected="已更正为", give_up="算了", kept="套餐保持不变", cancelled="已取消"),
    "zh-Hant": dict(place="公司", right_place="台中市西屯區台灣大道三段99號", correct="不對，地址是台中市西屯區台灣大道三段99號",
                    since="上週三開始的", corrected="已更正為", give_up="算了", kept="保持不變", cancelled="已取消"),
    "en": dict(place="at work", right_place="8 Mill Lane, Leeds", correct="no wait, the address is 8 Mill Lane, Leeds",
               since="since Tuesday morning", corrected="changed that to", give_up="never mind", kept="your plan stays as it is",
               cancelled="cancelled"),
}
CORRECT_PLAN = {"zh-Hans": "不对，我要换成{plan}", "zh-Hant": "不對，我要換成{plan}", "en": "sorry, I meant the {plan} plan"}
OFFER = ("确认办理吗", "確認辦理嗎", "Shall I go ahead")
# Generated demo customers no other test changes the same way (there are 8 zh-Hant ones).
CUSTOMER = {"fault": {"zh-Hans": 8, "zh-Hant": 0, "en": 8}, "plan": {"zh-Hans": 9, "zh-Hant": 6, "en": 9},
            "give_up": {"zh-Hans": 10, "zh-Hant": 1, "en": 10}}


@pytest.fixture(scope="module")
def accounts(stack):
    engine = create_engine(stack.settings.database_url)
    yield SqlAccounts(engine)
    engine.dispose()


@BY_LANGUAGE
def test_a_fault_report_answer_put_right_mid_form_goes_into_the_ticket(stack, accounts, language):
    words, say_ = LANGUAGES[language], WORDS[language]
    who = generated(language, CUSTOMER["fault"][language])
    c = stack.customer()
    try:
        verify(c, words["balance_q"], who.phone, who.pin, language)
        asked = c.ask(words["fault_q"])["text"]
        assert any(w in asked for w in FAULT_ASKS["where"]), asked
        answered = c.ask(say_["place"])["text"]
        assert any(w in answered for w in FAULT_ASKS["since"]), answered
        # "No, the address is …": taken, said back, and the form asks where it stopped.
        replies = texts(c.ask_all(say_["correct"], until=FAULT_ASKS["since"]))
        assert any(say_["corrected"] in r and say_["right_place"] in r for r in replies), replies
        done = c.ask(say_["since"])["text"]
        assert any(w in done for w in FAULT_ASKS["ticket"]), done
    finally:
        c.close()
    number = int(re.search(r"#(\d+)", done).group(1))
    ticket = next(t for t in accounts.tickets(customer_id(accounts, who.phone, who.pin)) if t.id == number)
    assert ticket.where == say_["right_place"] and ticket.since == say_["since"]


@BY_LANGUAGE
def test_a_plan_change_survives_a_question_takes_a_correction_and_can_be_given_up(stack, accounts, language):
    words, say_ = LANGUAGES[language], WORDS[language]
    who = generated(language, CUSTOMER["plan"][language])
    cid = customer_id(accounts, who.phone, who.pin)
    current = accounts.get(cid).plan_code
    first, second = [p for p in accounts.plans() if p.code != current][:2]
    c = stack.customer()
    try:
        verify(c, words["balance_q"], who.phone, who.pin, language)
        c.ask(words["plan_q"])
        offer = c.ask(say.plan_name(first, language))["text"]
        assert say.money(first.monthly_fee_cents, first.currency, language) in offer
        # "Wait, my balance first": answered, then the same offer again.
        replies = texts(c.ask_all(words["interrupt"], until=OFFER))
        assert any(say.money(who.balance_cents, who.currency, language) in r for r in replies), replies
        assert say.plan_name(first, language) in replies[-1]
        # "No, I meant …" (the plan's short name, "轻享 39"): the offer is made afresh for it.
        short = say.plan_name(second, language).split(" 元")[0]
        fixed = texts(c.ask_all(CORRECT_PLAN[language].format(plan=short), until=OFFER))[-1]
        assert say.plan_name(second, language) in fixed
        assert say.money(second.monthly_fee_cents, second.currency, language) in fixed
        # "算了" at the confirmation: nothing changes.
        assert say_["kept"] in c.ask(say_["give_up"])["text"]
        # And while still choosing a plan, "算了" gives the change up.
        c.ask(words["plan_q"])
        assert say_["cancelled"] in c.ask(say_["give_up"])["text"]
    finally:
        c.close()
    with accounts.engine.connect() as conn:
        assert conn.execute(sa.select(plan_changes).where(plan_changes.c.customer_id == cid)).all() == []
    assert accounts.get(cid).plan_code == current


@BY_LANGUAGE
def test_a_fault_report_is_given_up_with_a_no(stack, accounts, language):
    words, say_ = LANGUAGES[language], WORDS[language]
    who = generated(language, CUSTOMER["give_up"][language])
    c = stack.customer()
    try:
        verify(c, words["balance_q"], who.phone, who.pin, language)
        before = len(accounts.tickets(customer_id(accounts, who.phone, who.pin), open_only=False))
        c.ask(words["fault_q"])
        c.ask(say_["place"])
        assert say_["cancelled"] in c.ask(say_["give_up"])["text"]
        # Given up means gone: the next message is a question again, not the form's answer.
        assert say.money(who.balance_cents, who.currency, language) in c.ask(words["balance_q"])["text"]
    finally:
        c.close()
    assert len(accounts.tickets(customer_id(accounts, who.phone, who.pin), open_only=False)) == before
