"""Verification end to end: a host-site login token in the socket.io session metadata,
and the one-time code by SMS (the demo sender's outbox), over the real stack."""
import datetime as dt
import json

import jwt
import pytest
import sqlalchemy as sa

from actions.accounts.senders import read_outbox
from actions.accounts.sql import SqlAccounts, login_codes
from bot.database import create_engine
from tests.integration.probes import tracker_events
from tests.integration.stack import Customer
from tests.integration.test_accounts import LANGUAGES, BY_LANGUAGE, generated, texts

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def accounts(stack):
    engine = create_engine(stack.settings.database_url)
    yield SqlAccounts(engine)
    engine.dispose()


def login_token(stack, customer_id, aud="support-bot", iss="host-site", expires_in=600, secret=None):
    now = dt.datetime.now(dt.timezone.utc)
    return jwt.encode({"sub": str(customer_id), "aud": aud, "iss": iss, "iat": now,
                       "exp": now + dt.timedelta(seconds=expires_in)}, secret or stack.customer_jwt_secret, "HS256")


def stored(stack, conversation_id) -> str:
    return json.dumps(tracker_events(stack, conversation_id), ensure_ascii=False)


# ---------------------------------------------------------------- host-site login
@BY_LANGUAGE
def test_a_logged_in_customer_gets_the_balance_at_once(stack, accounts, language):
    words = LANGUAGES[language]
    customer_id = accounts.verify(words["phone"], words["pin"]).id
    token = login_token(stack, customer_id)
    c = stack.customer(custom_data={"customer_token": token})
    try:
        reply = c.ask(words["balance_q"])["text"]
        assert words["balance"] in reply and words["name"] in reply
        assert token not in stored(stack, c.session_id)  # masked in what Rasa keeps
    finally:
        c.close()


@pytest.mark.parametrize("kind", ["expired", "tampered", "wrong-audience", "wrong-issuer", "other-key"])
def test_a_bad_token_leads_into_verification_not_to_data(stack, accounts, kind):
    words = LANGUAGES["en"]
    customer_id = accounts.verify(words["phone"], words["pin"]).id
    token = {
        "expired": lambda: login_token(stack, customer_id, expires_in=-5),
        "tampered": lambda: _tampered(login_token(stack, customer_id), login_token(stack, customer_id + 1)),
        "wrong-audience": lambda: login_token(stack, customer_id, aud="another-app"),
        "wrong-issuer": lambda: login_token(stack, customer_id, iss="elsewhere"),
        "other-key": lambda: login_token(stack, customer_id, secret="x" * 64),
    }[kind]()
    c = stack.customer(custom_data={"customer_token": token})
    try:
        reply = c.ask(words["balance_q"])["text"]
        assert words["asks_phone"] in reply and words["balance"] not in reply
    finally:
        c.close()


def _tampered(token, other):
    """The payload of ``other`` (another customer) under the signature of ``token``."""
    header, _, signature = token.split(".")
    return f"{header}.{other.split('.')[1]}.{signature}"


# ---------------------------------------------------------------- one-time code
CODE_SENT = ("验证码已通过短信", "驗證碼已通過簡訊", "code is on its way")
ASKS_CODE = ("6 位验证码", "6 位驗證碼", "6-digit code from")
WRONG_CODE = ("验证码不正确", "驗證碼不正確", "That code is wrong")
BALANCE = ("余额为", "餘額為", "balance is")


def latest_code(stack, phone) -> str:
    sent = [m for m in read_outbox(stack.settings.var_dir / "outbox.jsonl") if m["to"] == phone and m["kind"] == "login_code"]
    return next(word for word in sent[-1]["text"].replace("，", " ").replace(".", " ").split() if word.isdigit() and len(word) == 6)


def ask_for_code(c, words, phone):
    assert words["asks_phone"] in c.ask(words["balance_q"])["text"]
    c.ask(phone)
    messages = texts(c.ask_all("/request_code", until=ASKS_CODE))
    assert any(any(s in m for s in CODE_SENT) for m in messages)


@BY_LANGUAGE
def test_verification_by_one_time_code_end_to_end(stack, language):
    words, who = LANGUAGES[language], generated(language, 5)
    c = stack.customer()
    try:
        ask_for_code(c, words, who.phone)
        code = latest_code(stack, who.phone)
        reply = texts(c.ask_all(code, until=("余额为", "餘額為", "balance is")))[-1]
        assert who.display_name in reply
        kept = stored(stack, c.session_id)
        assert code not in kept  # masked in the tracker store, like a PIN
        bot_lines = [e.get("text") or "" for e in tracker_events(stack, c.session_id) if e["event"] == "bot"]
        assert not any(code in line for line in bot_lines)
    finally:
        c.close()
    # Replayed in another conversation: refused.
    again = stack.customer()
    try:
        ask_for_code(again, words, who.phone)
        replayed = texts(again.ask_all(code, until=WRONG_CODE + BALANCE))
        assert any(w in replayed[-1] for w in WRONG_CODE), replayed
    finally:
        again.close()
    log = (stack.log_dir / "actions.log").read_text(errors="replace")
    assert code not in log and who.phone not in log


def test_an_expired_code_is_refused(stack, accounts):
    words, who = LANGUAGES["zh-Hans"], generated("zh-Hans", 6)
    c = stack.customer()
    try:
        ask_for_code(c, words, who.phone)
        code = latest_code(stack, who.phone)
        with accounts.engine.begin() as conn:  # five minutes later, as far as the code knows
            conn.execute(login_codes.update().where(login_codes.c.used_at.is_(None))
                         .values(expires_at=dt.datetime.utcnow() - dt.timedelta(seconds=1)))
        expired = texts(c.ask_all(code, until=WRONG_CODE + BALANCE))
        assert any(w in expired[-1] for w in WRONG_CODE), expired
    finally:
        c.close()


def test_wrong_codes_lock_the_number(stack):
    from actions.accounts.repository import MAX_PIN_FAILURES

    words, who = LANGUAGES["en"], generated("en", 4)
    c = stack.customer()
    try:
        ask_for_code(c, words, who.phone)
        code = latest_code(stack, who.phone)
        wrong = f"{(int(code) + 1) % 1000000:06d}"
        for _ in range(MAX_PIN_FAILURES):
            c.ask_all(wrong, until=WRONG_CODE)
        reply = texts(c.ask_all(code, until=("paused for 15 minutes",) + BALANCE))
        assert "paused for 15 minutes" in reply[-1], reply
    finally:
        c.close()


# ---------------------------------------------------------------- restarts
def test_verification_survives_a_restart_of_the_bot_the_actions_and_the_accounts_service(stack):
    """Verification is the conversation's (slots in the tracker store), not a process's."""
    words = LANGUAGES["zh-Hans"]
    c = stack.customer()
    try:
        assert words["asks_phone"] in c.ask(words["balance_q"])["text"]
        c.ask(words["phone"])
        assert any(words["balance"] in t for t in texts(c.ask_all(words["pin"], until=BALANCE)))
        conversation = c.session_id
    finally:
        c.close()
    stack.restart(*[name for name in ("rasa", "actions", "accounts") if name in stack.processes])
    again = Customer(stack.settings.rasa_url, session_id=conversation)  # the page reconnects
    try:
        reply = again.ask(words["balance_q"])["text"]
        assert words["balance"] in reply and words["asks_phone"] not in reply
    finally:
        again.close()
