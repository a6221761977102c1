"""The desk over the real processes: why a conversation reaches a person (each trigger in
each script), what the customer is told while waiting, leaving the queue, the automatic
assignment and the rating after the agent.

Tests that switch an agent online put them back offline: the stack is shared."""
from contextlib import contextmanager
import re
from urllib.parse import quote

import pytest
import requests

from tests.integration.stack import WAIT

pytestmark = pytest.mark.integration

TAKE_A_PERSON = "/human_handoff"
QUEUED = ("正在为您转接人工客服", "正在為您轉接人工客服", "I'm connecting you to a human agent")


def queued_handoff(agent, customer) -> dict:
    return agent.next_event(lambda e: e["type"] == "handoff"
                            and e["handoff"]["conversation_id"] == customer.session_id)["handoff"]


def set_slot(stack, conversation_id, name, value) -> None:
    """What accounts (#9) does on verification or a failed backend call."""
    r = requests.post(
        f"{stack.settings.rasa_url}/conversations/{quote(conversation_id, safe='')}/tracker/events",
        params={"token": stack.settings.rasa_token}, json={"event": "slot", "name": name, "value": value}, timeout=WAIT)
    assert r.status_code == 200, r.text


def offers_yes_and_no(reply) -> bool:
    payloads = [b.get("payload") for b in reply.get("quick_replies") or reply.get("buttons") or []]
    return payloads == [TAKE_A_PERSON, "/deny"]


def take_the_offer(customer) -> dict:
    reply = customer.ask(TAKE_A_PERSON)
    assert reply["text"].startswith(QUEUED), reply
    return reply


@pytest.mark.parametrize("ask", ["转人工", "轉人工", "talk to a human"])
def test_an_explicit_request(customer, agent, ask):
    assert customer.ask(ask)["text"].startswith(QUEUED)
    handoff = queued_handoff(agent, customer)
    language = {"转人工": "zh-Hans", "轉人工": "zh-Hant"}.get(ask, "en")
    assert (handoff["reason"], handoff["skill_group"], handoff["language"]) == ("explicit_request", "general", language)


@pytest.mark.parametrize("gibberish, again, language", [
    ("豆腐脑咸的甜的", "蛤蟆功第九层", "zh-Hans"),
    ("豆腐腦鹹的甜的", "蛤蟆功第九層", "zh-Hant"),
    ("purple monkey dishwasher", "flibber quantum wombat", "en"),
])
def test_two_failed_understandings_offer_a_person(customer, agent, gibberish, again, language):
    customer.ask(gibberish)
    customer.ask(again)  # the offer (tests/integration/test_conversation.py checks its wording)
    take_the_offer(customer)
    handoff = queued_handoff(agent, customer)
    assert (handoff["reason"], handoff["language"]) == ("repeated_misunderstanding", language)


@pytest.mark.parametrize("said, reason, language", [
    ("我要投诉你们", "business_rule:complaint", "zh-Hans"),
    ("我要投訴你們", "business_rule:complaint", "zh-Hant"),
    ("I want to file a complaint", "business_rule:complaint", "en"),
    ("你们这什么破服务", "frustration", "zh-Hans"),
    ("你們這什麼爛服務，氣死我了", "frustration", "zh-Hant"),
    ("THIS IS RIDICULOUS, WORST SERVICE EVER", "frustration", "en"),
])
def test_a_complaint_or_anger_is_offered_a_person_not_forced(customer, agent, said, reason, language):
    offer = customer.ask(said)
    assert offer.get("handoff") is None  # nothing queued before the customer says yes
    take_the_offer(customer)
    handoff = queued_handoff(agent, customer)
    assert (handoff["reason"], handoff["language"]) == (reason, language)
    assert handoff["context"]["frustration"] >= (0.6 if reason == "frustration" else 0)


@pytest.mark.parametrize("said, language, offer", [
    ("我的账户被盗了", "zh-Hans", "您的账户安全最重要"),
    ("我的帳戶被盜了", "zh-Hant", "您的帳戶安全最重要"),
    ("my account was hacked", "en", "Your account's security comes first"),
])
def test_fraud_and_security_are_offered_a_person_with_priority(customer, agent, said, language, offer):
    reply = customer.ask(said)
    assert reply["text"].startswith(offer) and offers_yes_and_no(reply)
    take_the_offer(customer)
    handoff = queued_handoff(agent, customer)
    assert (handoff["reason"], handoff["priority"], handoff["skill_group"], handoff["language"]) == (
        "business_rule:fraud_security", 5, "billing", language)


@pytest.mark.parametrize("said, language", [("豆腐脑咸的甜的", "zh-Hans"), ("豆腐腦鹹的甜的", "zh-Hant"),
                                            ("purple monkey dishwasher", "en")])
def test_a_vip_is_offered_a_person_at_the_first_miss_and_served_first(stack, customer, agent, said, language):
    customer.ask("hello" if language == "en" else "你好")
    set_slot(stack, customer.session_id, "customer_vip", True)
    assert offers_yes_and_no(customer.ask(said))
    take_the_offer(customer)
    handoff = queued_handoff(agent, customer)
    assert (handoff["reason"], handoff["priority"], handoff["language"]) == ("business_rule:vip", 10, language)
    assert handoff["context"]["vip"] is True


@pytest.mark.parametrize("ask", ["转人工", "轉人工", "talk to a human"])
def test_asking_for_help_after_an_account_action_failed(stack, customer, agent, ask):
    customer.ask("hello" if "human" in ask else "你好")
    set_slot(stack, customer.session_id, "account_action_failed", True)
    assert customer.ask(ask)["text"].startswith(QUEUED)
    assert queued_handoff(agent, customer)["reason"] == "business_rule:account_action_failed"


@pytest.mark.parametrize("question, offer, language", [
    ("怎么交话费", "抱歉，我的回答已经两次没能帮到您", "zh-Hans"),
    ("怎麼繳話費", "抱歉，我的回答已經兩次沒能幫到您", "zh-Hant"),
    ("How can I pay my bill?", "Sorry, my answers haven't helped twice now", "en"),
])
def test_an_faq_answer_not_helpful_twice_offers_a_person_of_the_faqs_team(customer, agent, question, offer, language):
    customer.ask(question)
    customer.ask("/faq_not_helpful")  # "sorry, say more or talk to a person"
    customer.ask(question)
    reply = customer.ask("/faq_not_helpful")
    assert reply["text"].startswith(offer) and offers_yes_and_no(reply)
    take_the_offer(customer)
    handoff = queued_handoff(agent, customer)
    assert (handoff["reason"], handoff["skill_group"], handoff["language"]) == ("faq_not_helpful", "billing", language)
    assert handoff["context"]["faq_shown"] == "payment-methods" and handoff["context"]["faq_not_helpful"] == 2


@contextmanager
def online(stack, username="supervisor", capacity=1):
    """The supervisor (who also serves as an agent) takes chats for the length of the block."""
    desk = stack.agent(username)
    desk.listen()
    # Earlier tests leave chats waiting (VIPs first): the queue starts empty here.
    for handoff in desk.get("/agent/api/handoffs").json()["handoffs"]:
        if handoff["status"] == "queued":
            closed = desk.post(f"/agent/api/handoffs/{handoff['id']}/close")
            # 409: it left the queue meanwhile (its customer closed the chat long enough: abandoned).
            assert closed.status_code == 200 or (
                closed.status_code == 409 and desk.get(f"/agent/api/handoffs/{handoff['id']}").json()["handoff"]["status"]
                in ("abandoned", "cancelled")), closed.text
    assert desk.post("/agent/api/me/status", {"status": "online", "capacity": capacity}).status_code == 200
    try:
        yield desk
    finally:
        desk.post("/agent/api/me/status", {"status": "offline", "capacity": 3})
        for handoff in desk.get("/agent/api/handoffs").json()["handoffs"]:
            if handoff["agent"] == username and handoff["status"] == "active":
                desk.post(f"/agent/api/handoffs/{handoff['id']}/close")
        desk.close()


@pytest.mark.parametrize("ask, joined, wait", [
    ("转人工", "人工客服 Demo Supervisor 已接入", r"您目前排在第 1 位，预计等待约 \d+ 分钟"),
    ("轉人工", "人工客服 Demo Supervisor 已接入", r"您目前排在第 1 位，預計等待約 \d+ 分鐘"),
    ("talk to a human", "Demo Supervisor from our support team has joined",
     r"You are number 1 in the queue; the expected wait is about \d+ min"),
])
def test_a_free_agent_gets_the_chat_the_next_customer_is_told_the_wait(stack, ask, joined, wait):
    first, second = stack.customer(), stack.customer()
    try:
        with online(stack) as desk:
            # A free qualified agent: the chat is given at once.
            assert first.ask(ask)["text"].startswith(QUEUED)
            assert first.next_message()["text"].startswith(joined)
            # The agent's one seat is taken: the next customer is told the wait
            # (position 1 × the recent handle time of the group / 1 seat; docs/desk.md).
            reply = second.ask(ask)
            assert re.search(wait, reply["text"]), reply["text"]
            handoff = desk.handoff_for(first.session_id)
            assert handoff["status"] == "active" and handoff["agent"] == "supervisor"
            # The seat frees: the waiting customer gets it and is told.
            assert desk.post(f"/agent/api/handoffs/{handoff['id']}/close").status_code == 200
            assert second.next_message()["text"].startswith(joined)
            assert desk.handoff_for(second.session_id)["agent"] == "supervisor"
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize("ask, cancel, back", [
    ("转人工", "取消排队", "好的，已为您取消排队"),
    ("轉人工", "取消排隊", "好的，已為您取消排隊"),
    ("talk to a human", "cancel the queue", "OK, you've left the queue"),
])
def test_the_customer_can_leave_the_queue_and_the_bot_answers_again(customer, agent, ask, cancel, back):
    customer.ask(ask)
    handoff = queued_handoff(agent, customer)
    customer.say(cancel)
    assert customer.next_message()["text"].startswith(back)
    left = agent.next_event(lambda e: e["type"] == "handoff" and e["handoff"]["id"] == handoff["id"]
                            and e["handoff"]["status"] != "queued")["handoff"]
    assert left["status"] == "cancelled" and left["abandoned_at"]
    answer = customer.ask("How can I pay my bill?" if "human" in ask else "怎么交话费")
    assert answer["text"].startswith(("You can pay by WeChat Pay", "您可以通过微信"))


@pytest.mark.parametrize("ask, closed, thanks", [
    ("转人工", "人工客服已结束对话", "感谢您的评分"),
    ("轉人工", "人工客服已結束對話", "感謝您的評分"),
    ("talk to a human", "The agent has ended the chat", "Thank you for your rating"),
])
def test_after_the_agent_the_customer_rates_and_may_comment(stack, customer, agent, ask, closed, thanks):
    customer.ask(ask)
    handoff = queued_handoff(agent, customer)
    assert agent.post(f"/agent/api/handoffs/{handoff['id']}/accept").status_code == 200
    customer.next_message()  # the agent joined
    r = agent.post(f"/agent/api/handoffs/{handoff['id']}/close", {"disposition": "resolved", "tags": ["bill"]})
    assert r.json()["handoff"]["disposition"] == "resolved" and r.json()["handoff"]["tags"] == ["bill"]
    notice = customer.next_message()
    assert notice["text"].startswith(closed)
    assert [b["payload"] for b in notice["quick_replies"]] == [f'/rate{{"rating": "{n}"}}' for n in range(1, 6)]
    assert customer.ask('/rate{"rating": "4"}')["text"].startswith(thanks)
    customer.ask("/add_rating_comment")  # "type your comment"
    customer.ask("很耐心，谢谢" if "human" not in ask else "Very patient, thanks")
    rated = agent.get(f"/agent/api/handoffs/{handoff['id']}").json()["handoff"]
    assert rated["rating"] == 4 and rated["rating_comment"] == ("很耐心，谢谢" if "human" not in ask else "Very patient, thanks")


@pytest.mark.parametrize("ask, asks_phone, bad, phone, time, confirmed", [
    ("转人工", "请留下我们回电的手机号码", "12", "13800138000", "明天上午", "谢谢，我们会在 明天上午 回电到 •"),
    ("轉人工", "請留下我們回電的手機號碼", "12", "0912345678", "明天上午", "謝謝，我們會在 明天上午 回電到 "),
    ("talk to a human", "Which phone number should we call?", "12", "+44 7911 123456", "tomorrow 10-12",
     "Thank you. We will call you back on "),
])
def test_nobody_online_offers_a_callback_that_becomes_a_ticket(customer, agent, ask, asks_phone, bad, phone, time,
                                                               confirmed):
    queued = customer.ask(ask)  # the demo agents are offline: nobody can take it soon
    assert [b["payload"] for b in queued["quick_replies"]] == ["/handoff_callback", "/handoff_leave_message",
                                                             "/handoff_cancel"]
    handoff = queued_handoff(agent, customer)
    customer.say("/handoff_callback")
    assert customer.next_message()["text"].startswith(asks_phone)
    invalid = customer.ask(bad)  # "not a valid number", then the question again
    assert any(w in invalid["text"] for w in ("不是有效", "valid phone number")), invalid["text"]
    assert customer.next_message()["text"].startswith(asks_phone)
    assert customer.ask(phone)["text"]  # "when would suit you?"
    done = customer.ask(time)
    assert done["text"].startswith(confirmed) and phone[-4:] in done["text"], done["text"]
    # The handoff left the queue (an agent no longer sees it: neither theirs nor queued).
    left = agent.next_event(lambda e: e["type"] == "handoff" and e["handoff"]["id"] == handoff["id"]
                            and e["handoff"]["status"] != "queued")["handoff"]
    assert left["status"] == "cancelled"
    assert agent.get(f"/agent/api/handoffs/{handoff['id']}").status_code == 404
    tickets = [t for t in agent.get("/agent/api/tickets").json()["tickets"] if t["conversation_id"] == customer.session_id]
    assert len(tickets) == 1 and tickets[0]["kind"] == "callback" and tickets[0]["preferred_time"] == time
    assert tickets[0]["phone"].startswith("•") and agent.post(f"/agent/api/tickets/{tickets[0]['id']}/done").status_code == 200


@pytest.mark.parametrize("ask, leave, text, thanks", [
    ("转人工", "/handoff_leave_message", "我的宽带一直断线，请联系我", "谢谢，您的留言已转交客服人员"),
    ("轉人工", "我要留言", "我的寬頻一直斷線，請聯絡我", "謝謝，您的留言已轉交客服人員"),
    ("talk to a human", "/handoff_leave_message", "My broadband keeps dropping", "Thank you, your message has been passed on"),
])
def test_a_customer_can_leave_a_message_instead_of_waiting(customer, agent, ask, leave, text, thanks):
    customer.ask(ask)
    queued_handoff(agent, customer)
    customer.say(leave)
    customer.next_message()  # "write your message"
    assert customer.ask(text)["text"].startswith(thanks)
    tickets = [t for t in agent.get("/agent/api/tickets").json()["tickets"] if t["conversation_id"] == customer.session_id]
    assert [(t["kind"], t["message"]) for t in tickets] == [("message", text)]


def user_parses(stack, conversation_id) -> list:
    """(text, intent name, language) of the customer's lines, as Rasa logged them."""
    r = requests.get(f"{stack.settings.rasa_url}/conversations/{quote(conversation_id, safe='')}/tracker",
                     params={"token": stack.settings.rasa_token}, timeout=WAIT)
    assert r.status_code == 200, r.text
    return [(e["text"], (e["parse_data"].get("intent") or {}).get("name"),
             next((x["value"] for x in e["parse_data"].get("entities") or [] if x["entity"] == "language"), None))
            for e in r.json()["events"] if e["event"] == "user"]


@pytest.mark.parametrize("ask, queued_line, agent_line, language, transfer_note", [
    ("转人工", "还要等多久", "我的宽带断了", "zh-Hans", "宽带故障"),
    ("轉人工", "還要等多久", "我的寬頻斷了", "zh-Hant", "寬頻故障"),
    ("talk to a human", "how long is the wait", "my broadband is down", "en", "broadband fault"),
])
def test_lines_to_the_agent_skip_the_nlu_and_queued_lines_do_not(stack, customer, agent, ask, queued_line,
                                                                   agent_line, language, transfer_note):
    """While an agent holds the chat the customer's lines reach the agent with their language
    but no intent (bot/agent_chat.py); queued again after a transfer, they are understood,
    so leaving the queue still works."""
    customer.ask(ask)
    handoff = queued_handoff(agent, customer)

    def reaches_console(text):
        agent.next_event(lambda e: e["type"] == "transcript" and e["line"]["conversation_id"] == customer.session_id
                         and e["line"]["text"] == text)

    customer.say(queued_line)
    reaches_console(queued_line)
    assert agent.post(f"/agent/api/handoffs/{handoff['id']}/accept").status_code == 200
    customer.next_message()  # the agent joined
    customer.say(agent_line)
    reaches_console(agent_line)
    said = {text: (intent, lang) for text, intent, lang in user_parses(stack, customer.session_id)}
    assert said[queued_line][0] is not None  # understood while queued
    assert said[agent_line] == (None, language)  # to the agent: not understood, language kept
    r = agent.post(f"/agent/api/handoffs/{handoff['id']}/transfer", {"skill_group": "technical", "note": transfer_note})
    assert r.status_code == 200, r.text
    customer.next_message()  # told of the transfer
    customer.say(CANCEL[language])
    assert customer.next_message()["text"].startswith(LEFT[language])


CANCEL = {"zh-Hans": "取消排队", "zh-Hant": "取消排隊", "en": "cancel the queue"}
LEFT = {"zh-Hans": "好的，已为您取消排队", "zh-Hant": "好的，已為您取消排隊", "en": "OK, you've left the queue"}
