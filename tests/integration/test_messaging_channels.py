"""WeChat Official Account and WeCom customer service, end to end: the real Rasa server
with our connectors, a local stand-in of the platforms' APIs (tests/standins/, started
by the stack), and the test playing the platform's callbacks as Tencent publishes them."""
from __future__ import annotations

import re
import time
import uuid
from typing import List, Optional

import pytest
import requests

from bot.channels import wechat_xml
from bot.channels.wechat_crypto import MessageCrypto, signature
from tests.integration.probes import LogWatch, tracker_events
from tests.integration.stack import WAIT

pytestmark = pytest.mark.integration


def standin(stack) -> str:
    return stack.channel_env["WECHAT_API_BASE_URL"]


def is_wait_update(text: str) -> bool:
    """The desk's queue-position updates come whenever other tests' chats move the queue."""
    return text.startswith(("您现在排在第", "您現在排在第", "You are now number"))


def sent_to(stack, touser: str, count: int) -> List[str]:
    """What the platform delivered to the user through the API (waits until ``count``)."""
    r = requests.get(f"{standin(stack)}/standin/sent", params={"touser": touser, "count": count}, timeout=WAIT + 5)
    return [m["text"]["content"] for m in r.json()["messages"]]


class WeChatUser:
    """A WeChat user writing to the Official Account: the callbacks the platform would send."""

    def __init__(self, stack):
        self.stack = stack
        env = stack.channel_env
        self.token, self.app_id = env["WECHAT_TOKEN"], env["WECHAT_APP_ID"]
        self.crypto = MessageCrypto(env["WECHAT_ENCODING_AES_KEY"], self.app_id)
        self.openid = "o" + uuid.uuid4().hex[:27]
        self.url = f"{stack.settings.rasa_url}/webhooks/wechat/webhook"
        self.active_seen = 0  # messages already read from the stand-in
        self.next_msg_id = int(time.time() * 1000)

    def callback(self, inner_xml: str, *, tamper_signature=False, raw_encrypt: Optional[str] = None):
        encrypted = raw_encrypt if raw_encrypt is not None else self.crypto.encrypt(inner_xml)
        timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
        sig = signature(self.token, timestamp, nonce, encrypted)
        if tamper_signature:
            sig = signature("not-the-token", timestamp, nonce, encrypted)
        body = f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        return requests.post(self.url, params={"signature": sig, "timestamp": timestamp, "nonce": nonce,
                                               "openid": self.openid, "encrypt_type": "aes", "msg_signature": sig},
                             data=body.encode("utf-8"), timeout=WAIT)

    def message_xml(self, kind: str, content: str = "", msg_id: Optional[int] = None) -> str:
        if msg_id is None:
            self.next_msg_id += 1
            msg_id = self.next_msg_id
        extra = f"<Content><![CDATA[{content}]]></Content>" if kind == "text" else \
            "<PicUrl><![CDATA[http://example.com/a.jpg]]></PicUrl><MediaId><![CDATA[m1]]></MediaId>"
        return (f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{self.openid}]]></FromUserName>"
                f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[{kind}]]></MsgType>{extra}"
                f"<MsgId>{msg_id}</MsgId></xml>")

    def passive(self, r) -> Optional[str]:
        """The passive reply in a callback's answer, decrypted; None for "success"."""
        assert r.status_code == 200, r.text
        if r.text in ("success", ""):
            return None
        outer = wechat_xml.parse(r.content)
        assert outer["MsgSignature"] == signature(self.token, outer["TimeStamp"], outer["Nonce"], outer["Encrypt"])
        inner = wechat_xml.parse(self.crypto.decrypt(outer["Encrypt"]).encode())
        assert inner["ToUserName"] == self.openid and inner["MsgType"] == "text"
        return inner["Content"]

    def next_active(self) -> str:
        while True:
            self.active_seen += 1
            messages = sent_to(self.stack, self.openid, self.active_seen)
            assert len(messages) >= self.active_seen, messages
            if not is_wait_update(messages[self.active_seen - 1]):
                return messages[self.active_seen - 1]

    def ask(self, text: str, msg_id: Optional[int] = None) -> str:
        """The bot's (first) answer, passive or through the API, whichever the connector chose."""
        r = self.callback(self.message_xml("text", text, msg_id))
        return self.passive(r) or self.next_active()


def test_wechat_text_buttons_media_and_replays(stack):
    user = WeChatUser(stack)
    assert user.ask("怎么交话费").startswith("您可以通过微信")
    # Buttons become numbered options; the number picks one.
    greeting = user.ask("你好")
    assert greeting.startswith("您好！我是智能客服")
    numbered = [line for line in greeting.splitlines() if line[:2] in ("1.", "2.", "3.")]
    assert len(numbered) == 3
    hours = next(line for line in numbered if "营业时间" in line)
    assert "8:00–22:00" in user.ask(hours.split(".")[0])
    # A picture or a voice message gets a polite text.
    assert "只能看懂文字" in user.passive(user.callback(user.message_xml("image")))
    assert "只能看懂文字" in user.passive(user.callback(user.message_xml("voice")))
    # The platform repeats a callback (no answer within 5 s): handled once.
    user.next_msg_id += 1
    replayed_id = user.next_msg_id
    assert user.ask("怎么开发票", msg_id=replayed_id)
    again = user.callback(user.message_xml("text", "怎么开发票", msg_id=replayed_id))
    assert again.status_code == 200 and again.text == "success"
    assert user.ask("怎么交话费").startswith("您可以通过微信")  # the next message is answered as usual
    said = [e["text"] for e in tracker_events(stack, user.openid) if e["event"] == "user"]
    assert said.count("怎么开发票") == 1


def test_wechat_refuses_bad_signatures_and_undecryptable_bodies_without_logging_them(stack):
    user = WeChatUser(stack)
    logs = LogWatch(stack)
    secret_words = "我的密码是 Secret-7788"
    forged = user.callback(user.message_xml("text", secret_words), tamper_signature=True)
    assert forged.status_code == 403
    garbage = user.callback("", raw_encrypt="QUJD" * 11)  # signed, but not our key's ciphertext
    assert garbage.status_code == 400
    r = requests.get(user.url, params={"signature": "0" * 40, "timestamp": "1", "nonce": "n", "echostr": "e"}, timeout=WAIT)
    assert r.status_code == 403
    # The URL check the platform makes when the account is configured.
    timestamp, nonce = "1700000000", "abc"
    r = requests.get(user.url, params={"signature": signature(user.token, timestamp, nonce), "timestamp": timestamp,
                                       "nonce": nonce, "echostr": "echo-123"}, timeout=WAIT)
    assert r.status_code == 200 and r.text == "echo-123"
    assert not [e for e in tracker_events(stack, user.openid) if e["event"] == "user"]
    for name, text in logs.new_text().items():
        assert "Secret-7788" not in text and "QUJD" not in text, name


def test_wechat_handoff_agent_replies_reach_the_app_through_token_expiry_and_rate_limits(stack, agent):
    user = WeChatUser(stack)
    queued = user.ask("转人工")
    # The waiting message fits a messaging app: no need to stay, the reply comes to the app.
    assert queued.startswith("正在为您转接人工客服") and "客服的回复会直接发到这个对话" in queued
    handoff = agent.next_event(lambda e: e["type"] == "handoff" and e["handoff"]["conversation_id"] == user.openid)["handoff"]
    assert handoff["input_channel"] == "wechat"  # the console shows where the customer is
    assert agent.post(f"/agent/api/handoffs/{handoff['id']}/accept").status_code == 200
    assert user.next_active().startswith("人工客服 Demo Agent 已接入")
    # The access token expires, then the platform is busy once: the reply still arrives, once.
    requests.post(f"{standin(stack)}/standin/expire_tokens", timeout=WAIT)
    requests.post(f"{standin(stack)}/standin/busy", json={"times": 1}, timeout=WAIT)
    assert agent.post(f"/agent/api/handoffs/{handoff['id']}/messages", {"text": "您好，我来帮您看看"}).status_code == 202
    assert user.next_active() == "您好，我来帮您看看"
    assert requests.get(f"{standin(stack)}/standin/stats", timeout=WAIT).json()["busy_answered"] >= 1
    # What the customer writes meanwhile reaches the agent; the bot stays quiet.
    r = user.callback(user.message_xml("text", "好的谢谢"))
    assert r.status_code == 200 and r.text == "success"
    agent.next_event(lambda e: e["type"] == "transcript" and e["line"]["conversation_id"] == user.openid
                     and e["line"]["text"] == "好的谢谢")
    assert agent.post(f"/agent/api/handoffs/{handoff['id']}/close").status_code == 200
    closed = user.next_active()
    # The rating buttons fit a text-only app: numbered options, and the number rates.
    assert closed.startswith("人工客服已结束对话") and closed.splitlines()[-1] == "5. 5 分", closed
    assert user.ask("5").startswith("感谢您的评分")


class WeComCustomer:
    """A WeChat user writing to a company's WeCom customer-service account."""

    def __init__(self, stack):
        self.stack = stack
        env = stack.channel_env
        self.token = env["WECOM_TOKEN"]
        self.crypto = MessageCrypto(env["WECOM_ENCODING_AES_KEY"], env["WECOM_CORP_ID"])
        self.user = "wm" + uuid.uuid4().hex[:20]
        self.kf = "wkTEST" + uuid.uuid4().hex[:6]
        self.url = f"{stack.settings.rasa_url}/webhooks/wecom/webhook"
        self.seen = 0

    @property
    def conversation_id(self) -> str:
        return f"{self.user}@{self.kf}"

    def notify(self, *, tamper_signature=False, raw_encrypt: Optional[str] = None):
        inner = (f"<xml><ToUserName><![CDATA[ww]]></ToUserName><CreateTime>{int(time.time())}</CreateTime>"
                 f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>"
                 f"<Token><![CDATA[SYNC{uuid.uuid4().hex[:8]}]]></Token><OpenKfId><![CDATA[{self.kf}]]></OpenKfId></xml>")
        encrypted = raw_encrypt if raw_encrypt is not None else self.crypto.encrypt(inner)
        timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
        sig = signature("forged" if tamper_signature else self.token, timestamp, nonce, encrypted)
        body = f"<xml><ToUserName><![CDATA[ww]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>"
        return requests.post(self.url, params={"msg_signature": sig, "timestamp": timestamp, "nonce": nonce},
                             data=body.encode(), timeout=WAIT)

    def write(self, content: str = "", kind: str = "text", msg_id: Optional[str] = None) -> str:
        msg_id = msg_id or uuid.uuid4().hex
        requests.post(f"{standin(self.stack)}/standin/kf/messages", json={
            "msgid": msg_id, "open_kfid": self.kf, "external_userid": self.user, "msgtype": kind, "content": content},
            timeout=WAIT)
        r = self.notify()
        assert r.status_code == 200 and r.text == ""
        return msg_id

    def next_message(self) -> str:
        while True:
            self.seen += 1
            messages = sent_to(self.stack, self.user, self.seen)
            assert len(messages) >= self.seen, messages
            if not is_wait_update(messages[self.seen - 1]):
                return messages[self.seen - 1]

    def ask(self, content: str) -> str:
        self.write(content)
        return self.next_message()


def test_wecom_text_buttons_media_replays_and_refusals(stack):
    customer = WeComCustomer(stack)
    greeting = customer.ask("你好")
    assert greeting.startswith("您好！我是智能客服") and "\n1. " in greeting
    hours = next(line for line in greeting.splitlines() if "营业时间" in line)
    assert "8:00–22:00" in customer.ask(hours.split(".")[0])
    for media in ("image", "voice"):
        customer.write(kind=media)
        assert "只能看懂文字" in customer.next_message()
    # The callback repeated, and the same message fetched again: answered once.
    msg_id = customer.write("怎么开发票")
    assert customer.next_message()
    assert customer.notify().status_code == 200
    customer.write("怎么开发票", msg_id=msg_id)
    assert customer.ask("怎么交话费").startswith("您可以通过微信")
    said = [e["text"] for e in tracker_events(stack, customer.conversation_id) if e["event"] == "user"]
    assert said.count("怎么开发票") == 1
    # Forged and undecryptable callbacks, and the URL check.
    logs = LogWatch(stack)
    assert customer.notify(tamper_signature=True).status_code == 403
    assert customer.notify(raw_encrypt="QUJD" * 11).status_code == 400
    timestamp, nonce = "1700000000", "abc"
    echo = customer.crypto.encrypt("echo-456")
    r = requests.get(customer.url, params={"msg_signature": signature(customer.token, timestamp, nonce, echo),
                                           "timestamp": timestamp, "nonce": nonce, "echostr": echo}, timeout=WAIT)
    assert r.status_code == 200 and r.text == "echo-456"
    for name, text in logs.new_text().items():
        assert "QUJD" not in text and "echo-456" not in text, name


def test_wecom_handoff_and_agent_reply(stack, agent):
    customer = WeComCustomer(stack)
    assert customer.ask("转人工").startswith("正在为您转接人工客服")
    handoff = agent.next_event(lambda e: e["type"] == "handoff"
                               and e["handoff"]["conversation_id"] == customer.conversation_id)["handoff"]
    assert handoff["input_channel"] == "wecom"
    assert agent.post(f"/agent/api/handoffs/{handoff['id']}/accept").status_code == 200
    assert customer.next_message().startswith("人工客服 Demo Agent 已接入")
    assert agent.post(f"/agent/api/handoffs/{handoff['id']}/messages", {"text": "请稍等，我查一下"}).status_code == 202
    assert customer.next_message() == "请稍等，我查一下"
    assert agent.post(f"/agent/api/handoffs/{handoff['id']}/close").status_code == 200
    closed = customer.next_message()
    assert closed.startswith("人工客服已结束对话") and closed.splitlines()[-1] == "5. 5 分", closed
    assert customer.ask("4").startswith("感谢您的评分")


class TelegramUser:
    """A Telegram user chatting with the bot: the updates Telegram would POST to the webhook."""

    def __init__(self, stack):
        self.stack = stack
        self.env = stack.channel_env
        self.chat_id = int(uuid.uuid4().int % 10**9) + 10**9
        self.url = f"{stack.settings.rasa_url}/webhooks/telegram/webhook"
        self.update_id = int(time.time() * 1000) % 10**9
        self.seen = 0

    @property
    def conversation_id(self) -> str:
        return str(self.chat_id)

    def post(self, update_fields: dict, *, update_id: Optional[int] = None, secret: Optional[str] = None):
        if update_id is None:
            self.update_id += 1
            update_id = self.update_id
        update = {"update_id": update_id, **update_fields}
        return requests.post(self.url, json=update, timeout=WAIT, headers={
            "X-Telegram-Bot-Api-Secret-Token": self.env["TELEGRAM_SECRET_TOKEN"] if secret is None else secret})

    def message(self, **content) -> dict:
        return {"message": {"message_id": self.update_id, "date": int(time.time()),
                            "chat": {"id": self.chat_id, "type": "private"},
                            "from": {"id": self.chat_id, "is_bot": False, "first_name": "Li", "language_code": "zh-hans"},
                            **content}}

    def new_messages(self) -> List[dict]:
        """What the bot sent since last asked (the webhook answers once the bot is done)."""
        r = requests.get(f"{standin(self.stack)}/standin/sent", params={"touser": self.conversation_id,
                                                                          "count": self.seen + 1}, timeout=WAIT + 5)
        messages = r.json()["messages"][self.seen:]
        self.seen += len(messages)
        return messages

    def ask(self, text: str) -> str:
        assert self.post(self.message(text=text)).status_code == 200
        return "\n\n".join(m["text"]["content"] for m in self.new_messages())


def test_telegram_text_buttons_media_replays_and_refusals(stack):
    user = TelegramUser(stack)
    assert user.ask("怎么交话费").startswith("您可以通过微信")
    assert user.post(user.message(text="你好")).status_code == 200
    greeting = user.new_messages()[-1]
    buttons = [b for row in greeting["reply_markup"]["inline_keyboard"] for b in row]
    hours = next(b for b in buttons if "营业时间" in b["text"])
    r = user.post({"callback_query": {"id": "cq1", "from": {"id": user.chat_id, "is_bot": False, "first_name": "Li"},
                                      "chat_instance": "ci", "data": hours["callback_data"],
                                      "message": {"message_id": 1, "date": 1, "chat": {"id": user.chat_id, "type": "private"}}}})
    assert r.status_code == 200
    assert "8:00–22:00" in "".join(m["text"]["content"] for m in user.new_messages())
    # A sticker and a photo get a polite text.
    for media in ({"sticker": {"file_id": "s1", "file_unique_id": "u1", "width": 1, "height": 1, "is_animated": False}},
                  {"photo": [{"file_id": "p1", "file_unique_id": "u2", "width": 90, "height": 90}]},
                  {"voice": {"file_id": "v1", "file_unique_id": "u3", "duration": 2}}):
        assert user.post(user.message(**media)).status_code == 200
        assert "只能看懂文字" in user.new_messages()[0]["text"]["content"]
    # An English-speaking Telegram user is answered in English.
    english = user.message(photo=[{"file_id": "p2", "file_unique_id": "u4", "width": 90, "height": 90}])
    english["message"]["from"]["language_code"] = "en"
    assert user.post(english).status_code == 200
    assert user.new_messages()[0]["text"]["content"].startswith("Sorry, I can only read text messages")
    # A body that is not an update is refused.
    r = requests.post(user.url, data=b"not json", timeout=WAIT,
                      headers={"X-Telegram-Bot-Api-Secret-Token": user.env["TELEGRAM_SECRET_TOKEN"]})
    assert r.status_code == 400
    # Telegram repeats an update it got no answer to: handled once.
    repeated = user.message(text="怎么开发票")
    assert user.post(repeated).status_code == 200
    assert user.new_messages()
    assert user.post(repeated, update_id=user.update_id).status_code == 200
    said = [e["text"] for e in tracker_events(stack, user.conversation_id) if e["event"] == "user"]
    assert said.count("怎么开发票") == 1
    # Updates without Telegram's secret are refused, and not logged.
    logs = LogWatch(stack)
    assert user.post(user.message(text="Secret-5566"), secret="wrong").status_code == 403
    for name, text in logs.new_text().items():
        assert "Secret-5566" not in text, name
    # The webhook is registered with its secret.
    assert requests.post(f"{stack.settings.rasa_url}/webhooks/telegram/set_webhook", timeout=WAIT).status_code == 200
    registered = requests.get(f"{standin(stack)}/standin/telegram/webhook", timeout=WAIT).json()
    assert registered == {"url": user.env["TELEGRAM_WEBHOOK_URL"], "secret_token": user.env["TELEGRAM_SECRET_TOKEN"]}


def test_telegram_handoff_and_agent_reply(stack, agent):
    user = TelegramUser(stack)
    assert "客服的回复会直接发到这个对话" in user.ask("转人工")
    handoff = agent.next_event(lambda e: e["type"] == "handoff"
                               and e["handoff"]["conversation_id"] == user.conversation_id)["handoff"]
    assert handoff["input_channel"] == "telegram"
    assert agent.post(f"/agent/api/handoffs/{handoff['id']}/accept").status_code == 200
    assert user.new_messages()[0]["text"]["content"].startswith("人工客服 Demo Agent 已接入")
    busy_before = requests.get(f"{standin(stack)}/standin/stats", timeout=WAIT).json()["busy_answered"]
    requests.post(f"{standin(stack)}/standin/busy", json={"times": 1}, timeout=WAIT)  # one 429 with retry_after
    assert agent.post(f"/agent/api/handoffs/{handoff['id']}/messages", {"text": "您好，我是 Demo"}).status_code == 202
    assert user.new_messages()[0]["text"]["content"] == "您好，我是 Demo"
    assert requests.get(f"{standin(stack)}/standin/stats", timeout=WAIT).json()["busy_answered"] == busy_before + 1
    assert agent.post(f"/agent/api/handoffs/{handoff['id']}/close").status_code == 200
    closed = user.new_messages()[0]
    assert closed["text"]["content"].startswith("人工客服已结束对话")
    # Telegram has buttons: the rating is the app's own keyboard.
    rates = [b for row in closed["reply_markup"]["inline_keyboard"] for b in row]
    assert [b["text"] for b in rates] == ["1 分", "2 分", "3 分", "4 分", "5 分"]
    assert user.post({"callback_query": {
        "id": "cq-rate", "from": {"id": user.chat_id, "is_bot": False, "first_name": "Li"}, "chat_instance": "ci",
        "data": rates[4]["callback_data"],
        "message": {"message_id": 2, "date": 1, "chat": {"id": user.chat_id, "type": "private"}}}}).status_code == 200
    assert user.new_messages()[0]["text"]["content"].startswith("感谢您的评分")


def test_a_customer_verified_on_the_web_and_on_telegram_is_one_person_with_both_conversations(stack, customer, agent):
    # On the web today ...
    customer.ask("查话费")
    customer.ask("13800138000")
    assert customer.ask("1234")["text"].startswith("张伟")
    customer.ask("怎么开发票")
    # ... on Telegram tomorrow.
    user = TelegramUser(stack)
    user.ask("查话费")
    user.ask("13800138000")
    assert user.ask("1234").startswith("张伟")
    assert user.ask("转人工").startswith("正在为您转接人工客服")
    conversation = user.conversation_id
    handoff = agent.next_event(lambda e: e["type"] == "handoff" and e["handoff"]["conversation_id"] == conversation)["handoff"]
    deadline = time.monotonic() + WAIT
    while True:  # the links are made from the event stream, which the service follows
        history = agent.get(f"/agent/api/handoffs/{handoff['id']}/customer-history").json()
        linked = {c["conversation_id"] for c in history["conversations"]}
        # (Other tests of the session verify the same demo customer: wait for these two.)
        if {conversation, customer.session_id} <= linked or time.monotonic() > deadline:
            break
        time.sleep(0.2)  # polling an endpoint, not synchronising
    channels = {c["conversation_id"]: c for c in history["conversations"]}
    assert history["input_channel"] == "telegram" and history["customer_ref"]
    assert channels[customer.session_id]["channel"] == "socketio" and not channels[customer.session_id]["current"]
    assert channels[conversation]["channel"] == "telegram" and channels[conversation]["current"]
    web_lines = [line["text"] for line in channels[customer.session_id]["transcript"]]
    assert "怎么开发票" in web_lines and "1234" not in web_lines  # the PIN masked there too
    agent.post(f"/agent/api/handoffs/{handoff['id']}/accept")
    agent.post(f"/agent/api/handoffs/{handoff['id']}/close")


def test_a_messaging_customer_is_told_the_wait_and_that_the_reply_will_come_to_the_app(stack):
    from tests.integration.test_desk import online

    web = stack.customer()
    user = WeChatUser(stack)
    try:
        with online(stack) as desk:
            assert web.ask("转人工")["text"].startswith("正在为您转接人工客服")  # takes the agent's one seat
            queued = user.ask("转人工")
            assert re.search(r"您目前排在第 1 位，预计等待约 \d+ 分钟", queued), queued
            assert "您不用一直等在这里：客服的回复会直接发到这个对话" in queued
            assert desk.post(f"/agent/api/handoffs/{desk.handoff_for(user.openid)['id']}/close").status_code == 200
    finally:
        web.close()


def test_a_returning_customer_is_told_first_what_is_still_open_on_any_channel(stack):
    # 李娜 (demo data) reported a broadband fault that is being worked on.
    wechat = WeChatUser(stack)
    wechat.ask("查话费")
    wechat.ask("13900139000")
    assert re.search(r"^李娜，您好！先告诉您：您在 .+ 报修的“宽带断线”，工单 #\d+ ", wechat.ask("8642"))
    telegram = TelegramUser(stack)
    telegram.ask("查话费")
    telegram.ask("13900139000")
    assert re.search(r"^李娜，您好！先告诉您：您在 .+ 报修的“宽带断线”，工单 #\d+ ", telegram.ask("8642"))
