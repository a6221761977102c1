"""The pieces of the WeChat / WeCom connectors that need no platform: the WXBizMsgCrypt
scheme, callback XML, numbered options, callbacks seen once, the reply window."""
import asyncio
import base64
import hashlib

import pytest

from bot.channels import wechat_xml
from bot.channels.messaging import NumberedOptions, ReplyWindow, SeenOnce
from bot.channels.wechat_crypto import DecryptError, MessageCrypto, SignatureInvalid, check_signature, signature

KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")


def test_signature_is_sha1_of_the_sorted_parts():
    assert signature("tok", "1700000000", "nonce1") == hashlib.sha1("".join(sorted(["tok", "1700000000", "nonce1"])).encode()).hexdigest()
    check_signature(signature("tok", "1", "n", "ENC"), "tok", "1", "n", "ENC")
    for given in (None, "", signature("other", "1", "n", "ENC"), signature("tok", "2", "n", "ENC")):
        with pytest.raises(SignatureInvalid):
            check_signature(given, "tok", "1", "n", "ENC")


def test_messages_round_trip_and_follow_the_published_layout():
    crypto = MessageCrypto(KEY, "wx0123456789abcdef")
    encrypted = crypto.encrypt("<xml><Content>你好</Content></xml>", random_prefix=b"R" * 16)
    assert crypto.decrypt(encrypted) == "<xml><Content>你好</Content></xml>"
    # 16 random bytes, length (big-endian), message, app id; padded to 32 bytes.
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key = base64.b64decode(KEY + "=")
    plain = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor().update(base64.b64decode(encrypted))
    body = "<xml><Content>你好</Content></xml>".encode()
    assert plain[:16] == b"R" * 16 and int.from_bytes(plain[16:20], "big") == len(body)
    assert plain[20:20 + len(body)] == body and len(plain) % 32 == 0


@pytest.mark.parametrize("encrypted", ["not base64!", "", base64.b64encode(b"x" * 15).decode(),
                                       base64.b64encode(b"x" * 32).decode()])
def test_bodies_that_do_not_decrypt_are_refused(encrypted):
    with pytest.raises(DecryptError):
        MessageCrypto(KEY, "wx1").decrypt(encrypted)


def test_a_message_for_another_app_is_refused():
    encrypted = MessageCrypto(KEY, "wx-other").encrypt("hello")
    with pytest.raises(DecryptError):
        MessageCrypto(KEY, "wx-mine").decrypt(encrypted)


def test_callback_xml_refuses_entities_and_replies_quote_cdata():
    assert wechat_xml.parse(b"<xml><MsgType><![CDATA[text]]></MsgType><MsgId>1</MsgId></xml>") == {"MsgType": "text", "MsgId": "1"}
    with pytest.raises(wechat_xml.XmlRefused):
        wechat_xml.parse(b'<!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Content>&a;</Content></xml>')
    reply = wechat_xml.text_reply("user", "app", "a ]]> b")
    assert wechat_xml.parse(reply.encode())["Content"] == "a ]]> b"


def _pick_numbers(options, offers, replies):
    """Each (recipient, text, buttons) offered, then each (recipient, reply) resolved, in order."""
    async def scenario():
        rendered = [await options_of(recipient).render(recipient, text, buttons)
                    for options_of, recipient, text, buttons in offers]
        return rendered, [await options_of(recipient).resolve(recipient, reply) for options_of, recipient, reply in replies]

    return asyncio.run(scenario())


CHOICES = [{"title": "Opening hours", "payload": "/ask_hours"}, {"title": "Talk to a human", "payload": "/human_handoff"}]


def test_buttons_become_numbered_options_and_a_number_picks_one_once():
    options = NumberedOptions()
    same = lambda _: options  # noqa: E731
    rendered, picked = _pick_numbers(options, [(same, "u1", "What would you like?", CHOICES)],
                                     [(same, "u2", "2"), (same, "u1", "３"), (same, "u1", " ２ "), (same, "u1", "1")])
    assert rendered == ["What would you like?\n1. Opening hours\n2. Talk to a human"]
    # Offered to someone else; not an option; full-width digits, as Chinese keyboards type them;
    # picked already: now the customer's own words.
    assert picked == ["2", "３", "/human_handoff", "1"]


def _two_replicas_pick(make_shared):
    """Options offered by one replica, the customer's numbers reaching the other."""
    first, second = NumberedOptions(shared=make_shared()), NumberedOptions(shared=make_shared())
    offers = [(lambda _: first, "o-user-1", "What would you like?", CHOICES),
              (lambda _: first, "o-user-2", "Rate us", [{"title": f"{n} 分", "payload": f"/rate{n}"} for n in range(1, 6)])]
    replies = [(lambda _: second, "o-user-1", "9"),  # not an option: the offer stays
               (lambda _: second, "o-user-1", "2"), (lambda _: first, "o-user-1", "1"),  # picked once, on either
               (lambda _: second, "o-user-2", "5")]
    return _pick_numbers(None, offers, replies)[1]


def test_a_number_picks_the_option_another_replica_offered_through_the_database(database_url):
    from bot.channels.offered_options import SqlOfferedOptions, channel_offered_options
    from bot.database import create_engine

    engines = []

    def make_shared():
        return SqlOfferedOptions("wechat", lambda: engines.append(create_engine(database_url)) or engines[-1])

    try:
        assert _two_replicas_pick(make_shared) == ["9", "/human_handoff", "1", "/rate5"]
        with engines[0].connect() as conn:
            assert "o-user" not in str(conn.execute(channel_offered_options.select()).fetchall())  # digests only
    finally:
        for engine in engines:
            engine.dispose()


def test_an_offer_is_forgotten_after_a_day(database_url):
    import datetime as dt

    from bot.channels.offered_options import SqlOfferedOptions
    from bot.database import create_engine

    engine = create_engine(database_url)
    now = dt.datetime(2026, 11, 1, 12, 0)
    shared = SqlOfferedOptions("wecom", lambda: engine, clock=lambda: now)

    async def scenario():
        nonlocal now
        await shared.put("wm1@wk1", ["/ask_hours", "/human_handoff"])
        now = dt.datetime(2026, 11, 2, 13, 0)
        return await shared.take("wm1@wk1", 2)

    try:
        assert asyncio.run(scenario()) is None
    finally:
        engine.dispose()


def test_a_number_picks_the_option_another_replica_offered_through_redis():
    import uuid

    import redis

    from bot.channels.offered_options import RedisOfferedOptions

    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_timeout=2).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    channel = f"wechat-{uuid.uuid4().hex}"  # this run's keys apart from earlier runs'
    assert _two_replicas_pick(lambda: RedisOfferedOptions(channel, url)) == ["9", "/human_handoff", "1", "/rate5"]


def test_when_the_shared_offers_are_unreachable_the_replicas_memory_serves(tmp_path):
    from bot.channels.offered_options import SqlOfferedOptions
    from bot.database import create_engine

    engine = create_engine(f"sqlite:///{tmp_path / 'no-tables.db'}")
    options = NumberedOptions(shared=SqlOfferedOptions("wechat", lambda: engine))
    same = lambda _: options  # noqa: E731
    try:
        assert _pick_numbers(options, [(same, "u1", "", CHOICES)], [(same, "u1", "2")])[1] == ["/human_handoff"]
    finally:
        engine.dispose()


def test_each_callback_is_handled_once():
    seen = SeenOnce(size=2)
    assert seen.first_time("a") and not seen.first_time("a")
    assert seen.first_time("b") and seen.first_time("c") and seen.first_time("a")  # "a" aged out


def test_the_reply_window_keeps_order_when_it_turns_active():
    sent = []

    async def scenario():
        async def send(text):
            sent.append(text)

        window = ReplyWindow(send)
        await window.add("one")
        await window.add("two")
        await window.go_active()
        await window.add("three")

    asyncio.run(scenario())
    assert sent == ["one", "two", "three"]


# ---- callbacks handled once across Rasa replicas (bot/channels/callbacks_seen.py) ----

def _wechat_text(openid: str, msg_id: str, text: str = "怎么交话费") -> dict:
    return {"ToUserName": "gh_test", "FromUserName": openid, "CreateTime": "1700000000", "MsgType": "text",
            "Content": text, "MsgId": msg_id}


class _Bot:
    """Rasa's on_new_message: what the connectors hand the bot."""

    def __init__(self):
        self.messages = []

    async def __call__(self, message):
        self.messages.append((message.sender_id, message.text))


def _replicas_of(make_seen, count=2):
    from bot.channels.wechat import WeChatInput
    from bot.channels.wecom import WeComInput

    class NoOffers:  # these tests send no buttons and no numbers: nothing to share
        async def put(self, recipient_id, payloads):
            pass

        async def take(self, recipient_id, number):
            return None

    wechat = [WeChatInput("tok", "wx1", "secret", api_base_url="http://127.0.0.1:9", seen=make_seen("wechat"),
                          offered=NoOffers()) for _ in range(count)]
    wecom = [WeComInput("tok", "ww1", "secret", KEY, api_base_url="http://127.0.0.1:9", seen=make_seen("wecom"),
                        offered=NoOffers()) for _ in range(count)]
    return wechat, wecom


async def _replay_on_each_replica(wechat, wecom):
    """One WeChat callback and one WeCom message, each reaching every replica (the platform's repeats)."""
    bot = _Bot()
    for replica in wechat:
        answer = await replica._handle(_wechat_text("o-user-1", "6000000001"), bot)
        assert answer.status == 200
    wecom_message = {"msgid": "msg-abc", "origin": 3, "open_kfid": "wk1", "external_userid": "wm1",
                     "msgtype": "text", "text": {"content": "怎么开发票"}}
    for replica in wecom:
        await replica._handle(dict(wecom_message), bot)
    # A different message is still handled, on either replica.
    await wechat[-1]._handle(_wechat_text("o-user-1", "6000000002", "你好"), bot)
    return bot.messages


def test_a_callback_repeated_to_another_replica_is_handled_once_through_the_database(database_url):
    from bot.channels.callbacks_seen import SqlCallbacksSeen
    from bot.database import create_engine

    engines = []

    def make_seen(channel):  # each replica its own engine: two processes sharing one database
        return SqlCallbacksSeen(channel, lambda: engines.append(create_engine(database_url)) or engines[-1])

    async def scenario():
        wechat, wecom = _replicas_of(make_seen)
        return await _replay_on_each_replica(wechat, wecom)

    try:
        messages = asyncio.run(scenario())
    finally:
        for engine in engines:
            engine.dispose()
    assert messages == [("o-user-1", "怎么交话费"), ("wm1@wk1", "怎么开发票"), ("o-user-1", "你好")]


def test_the_memory_of_handled_callbacks_is_kept_for_its_retention_only(database_url):
    import datetime as dt

    from bot.channels.callbacks_seen import SqlCallbacksSeen, channel_callbacks_seen
    from bot.database import create_engine

    engine = create_engine(database_url)
    now = dt.datetime(2026, 11, 1, 12, 0)
    try:
        def replica():
            return SqlCallbacksSeen("telegram", lambda: engine, retention=dt.timedelta(days=4), clock=lambda: now)

        async def first_time(store, key):
            return await store.first_time(key)

        assert asyncio.run(first_time(replica(), "update-1"))
        now = dt.datetime(2026, 11, 4, 12, 0)
        assert not asyncio.run(first_time(replica(), "update-1"))  # three days on: still a repeat
        assert asyncio.run(first_time(replica(), "update-2"))
        now = dt.datetime(2026, 11, 5, 13, 0)
        assert replica().purge() == 1  # update-1 is older than four days; update-2 is not
        assert asyncio.run(first_time(replica(), "update-1"))
        assert not asyncio.run(first_time(replica(), "update-2"))
        with engine.connect() as conn:
            stored = [row.digest for row in conn.execute(channel_callbacks_seen.select())]
        assert len(stored) == 2 and all(len(d) == 64 and "update" not in d for d in stored)  # digests, not ids
    finally:
        engine.dispose()


def test_a_callback_repeated_to_another_replica_is_handled_once_through_redis():
    import datetime as dt
    import uuid

    import redis

    from bot.channels.callbacks_seen import REDIS_PREFIX, RedisCallbacksSeen, digest

    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_timeout=2).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    run = uuid.uuid4().hex  # the platform's ids are reused by every test run: keep this run's apart
    stores = []

    def make_seen(channel):
        store = RedisCallbacksSeen(f"{channel}-{run}", url, retention=dt.timedelta(days=4))
        stores.append(store)
        return store

    async def scenario():
        wechat, wecom = _replicas_of(make_seen)
        try:
            return await _replay_on_each_replica(wechat, wecom)
        finally:
            for store in stores:
                await store.close()

    assert asyncio.run(scenario()) == [("o-user-1", "怎么交话费"), ("wm1@wk1", "怎么开发票"), ("o-user-1", "你好")]
    ttl = redis.Redis.from_url(url).ttl(REDIS_PREFIX + digest(f"wechat-{run}", "6000000001"))
    assert 3 * 86400 < ttl <= 4 * 86400  # forgotten after the retention


def test_when_the_shared_record_is_unreachable_a_replica_still_handles_each_callback_once(tmp_path, caplog):
    from bot.channels.callbacks_seen import SqlCallbacksSeen
    from bot.database import create_engine

    engine = create_engine(f"sqlite:///{tmp_path / 'no-tables.db'}")  # never migrated

    async def scenario():
        store = SqlCallbacksSeen("wechat", lambda: engine)
        return [await store.first_time("m1"), await store.first_time("m1"), await store.first_time("m2")]

    try:
        assert asyncio.run(scenario()) == [True, False, True]
    finally:
        engine.dispose()
    warnings = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(warnings) == 1 and "m1" not in warnings[0].getMessage()


# ---------------------------------------------------------------- media, in the customer's language
class _SeenHere:
    def __init__(self, channel):
        self.seen = SeenOnce()

    async def first_time(self, key):
        return self.seen.first_time(key)


def _media(kind: str, openid: str, msg_id: str) -> dict:
    return {"ToUserName": "gh_test", "FromUserName": openid, "CreateTime": "1700000000", "MsgType": kind,
            "MediaId": "m", "MsgId": msg_id}


def test_the_answer_to_media_is_in_the_language_the_customer_last_wrote_in(monkeypatch):
    from bot.channels.messaging import MEDIA_NOT_READ
    from bot.channels.wecom import WeComOutput

    (wechat,), (wecom,) = _replicas_of(_SeenHere, count=1)
    sent = []

    async def send_text_message(self, recipient_id, text, **kwargs):
        sent.append((recipient_id, text))

    monkeypatch.setattr(WeComOutput, "send_text_message", send_text_message)

    async def scenario():
        bot, answers = _Bot(), []
        # WeChat: a picture from someone who wrote nothing yet; then after English; after
        # traditional Chinese; and after a text whose script does not tell ("2", "你好").
        script = [("o-new", None), ("o-en", "hello, my bill please"), ("o-en", None),
                  ("o-hant", "查詢餘額"), ("o-hant", "2"), ("o-hant", "你好"), ("o-hant", None),
                  ("o-hans", "查余额"), ("o-hans", None)]
        for n, (openid, text) in enumerate(script):
            message = _wechat_text(openid, f"7{n}", text) if text else _media("image", openid, f"7{n}")
            answer = await wechat._handle(message, bot)
            if text is None:
                answers.append(answer.body.decode())
        for n, (user, text) in enumerate([("wm-en", "hello"), ("wm-en", None), ("wm-new", None)]):
            message = {"msgid": f"w{n}", "origin": 3, "open_kfid": "wk1", "external_userid": user}
            message.update({"msgtype": "text", "text": {"content": text}} if text else {"msgtype": "voice"})
            await wecom._handle(message, bot)
        return answers

    answers = asyncio.run(scenario())
    assert [next(lang for lang, text in MEDIA_NOT_READ.items() if text in a) for a in answers] == \
        ["zh-Hans", "en", "zh-Hant", "zh-Hans"]
    assert sent == [("wm-en@wk1", MEDIA_NOT_READ["en"]), ("wm-new@wk1", MEDIA_NOT_READ["zh-Hans"])]
