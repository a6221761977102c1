"""A customer logged in on the host site: the token the page passes is checked, and
it is never kept in what Rasa stores."""
import datetime as dt

import jwt
import pytest

from actions.accounts.identity import customer_ref_from_token
from bot.secret_prompts import MASK, mask_secrets_in_events

SECRET, AUDIENCE, ISSUER = "host-site-secret-of-at-least-32-bytes", "support-bot", "host-site"


def token(sub="12", aud=AUDIENCE, iss=ISSUER, expires_in=300, secret=SECRET, **extra):
    now = dt.datetime.now(dt.timezone.utc)
    claims = {"sub": sub, "aud": aud, "iss": iss, "iat": now, "exp": now + dt.timedelta(seconds=expires_in), **extra}
    return jwt.encode(claims, secret, "HS256")


def check(value, secret=SECRET):
    return customer_ref_from_token(value, secret, AUDIENCE, ISSUER)


def test_a_valid_token_names_the_customer():
    assert check(token()) == "12"


def _tampered_signature():
    header, payload, signature = token().split(".")
    return f"{header}.{payload}.{signature[::-1]}"


@pytest.mark.parametrize("bad", [
    token(expires_in=-1),
    token(aud="another-app"),
    token(iss="somewhere-else"),
    token(secret="signed-by-someone-else-with-a-long-key"),
    _tampered_signature(),
    jwt.encode({"sub": "12", "aud": AUDIENCE, "iss": ISSUER}, SECRET, "HS256"),
    "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxMiJ9.",  # alg "none"
    token(sub="12 OR 1=1"),
    "", None, 12, "not.a.token",
], ids=["expired", "wrong-audience", "wrong-issuer", "other-key", "tampered-signature", "no-expiry", "alg-none",
        "not-an-id", "empty", "none", "number", "garbage"])
def test_bad_tokens_are_refused(bad):
    assert check(bad) is None


def test_a_tampered_payload_is_refused():
    header, payload, signature = token(sub="12").split(".")
    other = token(sub="13").split(".")[1]
    assert check(f"{header}.{other}.{signature}") is None


def test_no_secret_configured_means_no_token_is_accepted():
    assert check(token(), secret=None) is None


class _Event:
    def __init__(self, type_name, **kw):
        self.type_name = type_name
        self.__dict__.update(kw)


def test_the_token_is_masked_in_stored_events():
    secret = token()
    user = _Event("user", text="查余额", parse_data={"text": "查余额", "entities": []},
                  metadata={"customer_token": secret, "language": "zh-Hans"})
    slot = _Event("slot", key="session_started_metadata", value={"customer_token": secret})
    assert mask_secrets_in_events([slot, user]) == 2
    assert user.metadata == {"customer_token": MASK, "language": "zh-Hans"} and slot.value["customer_token"] == MASK
    assert mask_secrets_in_events([slot, user]) == 0


def test_a_one_time_code_typed_for_the_pin_prompt_is_masked():
    asked = _Event("slot", key="requested_slot", value="account_pin")
    user = _Event("user", text="验证码是 482913", parse_data={"text": "验证码是 482913", "entities": []}, metadata={})
    pin_slot = _Event("slot", key="account_pin", value="验证码是 482913")
    mask_secrets_in_events([asked, user, pin_slot])
    assert "482913" not in user.text and "482913" not in user.parse_data["text"] and pin_slot.value == MASK
