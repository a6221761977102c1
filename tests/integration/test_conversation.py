"""Whole conversations in the customer's own wording, in each script, with the real
Rasa server, action server and web service (issue 8: general conversation, out of
scope, fallback, questions in the middle of verification)."""
import queue
import time

import pytest

pytestmark = pytest.mark.integration

WAIT = 30


def buttons(reply):
    return [b["payload"] for b in reply.get("quick_replies") or reply.get("buttons") or []]


def replies_until(customer, done, timeout=WAIT):
    """The bot's messages up to and including the first one `done` accepts."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        try:
            message = customer.next_message(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            break
        seen.append(message)
        if done(message):
            return seen
    raise AssertionError(f"no matching reply; got {[m.get('text') for m in seen]}")


def offers_a_person_without_forcing(reply):
    return "/human_handoff" in buttons(reply) and not reply.get("handoff")


@pytest.mark.parametrize(
    "request_text, reply_start",
    [
        ("今天北京天气怎么样", "抱歉，这个我帮不上忙"),
        ("給我講一個笑話", "抱歉，這個我幫不上忙"),
        ("can you write some python code for me", "Sorry, I can't help with that"),
        ("帮我订一张去上海的机票", "抱歉，这个我帮不上忙"),
        ("推薦幾支會漲的股票", "抱歉，這個我幫不上忙"),
        ("book me a flight to Paris tomorrow", "Sorry, I can't help with that"),
    ],
)
def test_out_of_scope_is_declined_with_what_the_bot_can_do(customer, request_text, reply_start):
    reply = customer.ask(request_text)
    assert reply["text"].startswith(reply_start)
    assert "/check_balance" in buttons(reply) and "/human_handoff" in buttons(reply)


@pytest.mark.parametrize(
    "question, still_broken, apology",
    [
        ("怎么交话费", "还是不行", "很抱歉问题还没有解决"),
        ("怎麼繳話費", "還是不行", "很抱歉問題還沒有解決"),
        ("How can I pay my bill?", "still broken", "I'm sorry it's still not working"),
    ],
)
def test_still_broken_is_not_a_goodbye(customer, question, still_broken, apology):
    customer.ask(question)
    reply = customer.ask(still_broken)
    assert reply["text"].startswith(apology)
    assert offers_a_person_without_forcing(reply)


@pytest.mark.parametrize(
    "question, acknowledgement",
    [
        ("怎么交话费", "您已经问了好几次了"),
        ("怎麼繳話費", "您已經問了好幾次了"),
        ("How can I pay my bill?", "You've asked this a few times"),
    ],
)
def test_the_third_identical_question_gets_an_acknowledgement_and_the_offer_of_a_person(customer, question, acknowledgement):
    first = customer.ask(question)
    assert customer.ask(question)["text"] == first["text"]
    third = customer.ask(question + " ")  # the same question, typed again
    assert third["text"].startswith(acknowledgement)
    assert offers_a_person_without_forcing(third)


@pytest.mark.parametrize(
    "nudge, reply_start",
    [("在吗", "我在的！"), ("在嗎？", "我在的！"), ("hello?", "I'm here!"), ("有人嗎", "我在的！"), ("anyone there?", "I'm here!")],
)
def test_nudges_are_answered(customer, nudge, reply_start):
    assert customer.ask(nudge)["text"].startswith(reply_start)


@pytest.mark.parametrize(
    "question, answer_part",
    [("有积分吗", "积分"), ("有積分嗎", "積分"), ("有没有积分兑换", "积分"), ("got loyalty points?", "point")],
)
def test_a_short_question_shaped_like_a_nudge_is_answered_not_greeted(customer, question, answer_part):
    """"有X吗" / "有没有X" is the shape of "有人吗": it was answered "I'm here", never the question.
    Now the knowledge base answers it, or suggests the entries it may mean."""
    reply = customer.ask(question)
    assert not reply["text"].startswith(("我在的", "I'm here"))
    assert answer_part in reply["text"] or any(answer_part in b["title"] for b in reply.get("quick_replies") or [])


@pytest.mark.parametrize(
    "anger, apology",
    [
        ("你们这什么破服务", "非常抱歉给您带来不好的体验"),
        ("你們這什麼爛服務，氣死我了", "非常抱歉給您帶來不好的體驗"),
        ("THIS IS RIDICULOUS, WORST SERVICE EVER", "I'm really sorry about this"),
    ],
)
def test_anger_gets_an_apology_and_the_offer_of_a_person(customer, anger, apology):
    reply = customer.ask(anger)
    assert reply["text"].startswith(apology)
    assert offers_a_person_without_forcing(reply)


@pytest.mark.parametrize(
    "challenge, answer",
    [("你是机器人吗", "我是智能客服机器人"), ("你是真人嗎", "我是智慧客服機器人"), ("are you a bot?", "I'm the automated support assistant")],
)
def test_are_you_a_robot_is_answered_honestly(customer, challenge, answer):
    reply = customer.ask(challenge)
    assert reply["text"].startswith(answer)
    assert offers_a_person_without_forcing(reply)


@pytest.mark.parametrize(
    "ask, question, answer, asks_phone, phone, pin, balance",
    [
        ("查话费", "先问一下怎么交话费", "您可以通过微信、支付宝", "请输入账户绑定的手机号码", "13800138000", "1234", "88.50"),
        ("查詢餘額", "等等，怎麼繳話費", "您可以透過微信、支付寶", "請輸入帳戶綁定的手機號碼", "0912345678", "5678", "320.00"),
        ("check my balance", "wait, how do I pay my bill?", "You can pay by WeChat Pay", "What is the phone number", "447700900123", "2468", "15.75"),
    ],
)
def test_a_question_in_the_middle_of_verification_is_answered_and_verification_goes_on(
    customer, ask, question, answer, asks_phone, phone, pin, balance
):
    assert asks_phone in customer.ask(ask)["text"]
    customer.say(question)
    seen = replies_until(customer, lambda m: asks_phone in (m.get("text") or ""))
    assert any((m.get("text") or "").startswith(answer) for m in seen), [m.get("text") for m in seen]
    customer.ask(phone)
    assert balance in customer.ask(pin)["text"]


@pytest.mark.parametrize(
    "gibberish, again, clarification, offer",
    [
        ("豆腐脑咸的甜的", "蛤蟆功第九层", "抱歉，我不太确定您的意思", "抱歉，我还是没能理解您的意思"),
        ("豆腐腦鹹的甜的", "蛤蟆功第九層", "抱歉，我不太確定您的意思", "抱歉，我還是沒能理解您的意思"),
        ("purple monkey dishwasher", "flibber quantum wombat", "Sorry, I'm not sure what you mean", "Sorry, I still don't understand"),
    ],
)
def test_not_understood_twice_gets_a_clarification_then_the_offer_of_a_person(customer, gibberish, again, clarification, offer):
    first = customer.ask(gibberish)
    assert first["text"].startswith(clarification)
    assert 2 <= len(buttons(first)) <= 3
    second = customer.ask(again)
    assert second["text"].startswith(offer)
    assert offers_a_person_without_forcing(second)


@pytest.mark.parametrize(
    "turns",
    [
        [("你好", "您好！"), ("谢谢", "不客气"), ("你是谁", "我是客服助手"), ("好的", "好的"), ("再见", "再见")],
        [("您好", "您好！"), ("謝謝", "不客氣"), ("你叫什麼名字", "我是客服助手"), ("不用了", "好的。"), ("再見", "再見")],
        [("hi", "Hello!"), ("thanks", "You're welcome"), ("how are you", "I'm the support assistant"), ("no thanks", "All right"), ("bye", "Goodbye")],
    ],
)
def test_small_talk_is_kept_short_in_the_customers_script(customer, turns):
    for said, reply_start in turns:
        assert customer.ask(said)["text"].startswith(reply_start), said


@pytest.mark.parametrize("text", ["😀😀", "👍"])
def test_emoji_only_gets_a_sensible_reply(customer, text):
    assert customer.ask(text)["text"]
