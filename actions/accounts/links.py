"""Signed, short-lived links the bot sends (password reset), as JWTs (PyJWT).

The host site's reset page checks the token (``check_reset_token``): issuer, audience
and expiry, signed with a key derived from the service token, so no new secret needs
handing out. The bot never sees or shows a password.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid
from urllib.parse import urlencode

import jwt

ISSUER = "support-bot"
RESET_AUDIENCE = "password-reset"
RESET_LIFETIME = dt.timedelta(minutes=30)


def _key(service_token: str, purpose: str) -> bytes:
    return hmac.new(service_token.encode(), purpose.encode(), hashlib.sha256).digest()


def reset_link(base_url: str, service_token: str, customer_ref: str, now: dt.datetime = None) -> str:
    now = now or dt.datetime.now(dt.timezone.utc)
    token = jwt.encode({"iss": ISSUER, "aud": RESET_AUDIENCE, "sub": customer_ref, "jti": uuid.uuid4().hex,
                        "iat": now, "exp": now + RESET_LIFETIME}, _key(service_token, RESET_AUDIENCE), "HS256")
    return f"{base_url.rstrip('/')}/account/reset?{urlencode({'token': token})}"


def check_reset_token(token: str, service_token: str) -> str:
    """The customer ref the token was issued for; jwt.InvalidTokenError when it is not valid."""
    claims = jwt.decode(token, _key(service_token, RESET_AUDIENCE), algorithms=["HS256"],
                        audience=RESET_AUDIENCE, issuer=ISSUER, options={"require": ["exp", "sub"]})
    return claims["sub"]
