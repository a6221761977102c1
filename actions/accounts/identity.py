"""Customers already logged in on the host website: identified by a signed token (JWT).

The host page puts ``customer_token`` in the chat's socket.io session metadata
(``customData``); the channel passes it with each message, and Rasa gives the first
message's metadata to ``action_session_start``, which verifies the conversation with it.
Checked: the signature (HS256, ``CUSTOMER_JWT_SECRET``), audience, issuer, expiry, and a
subject naming a customer. The tracker store masks the token (bot/secret_prompts.py).
"""
from __future__ import annotations

import logging
from typing import Optional

import jwt

logger = logging.getLogger(__name__)
TOKEN_KEY = "customer_token"


def customer_ref_from_token(token: object, secret: Optional[str], audience: str, issuer: str) -> Optional[str]:
    """The customer ref the token names, or None when it is missing, malformed, tampered
    with, expired, or meant for another audience or from another issuer."""
    if not secret or not isinstance(token, str) or not token:
        return None
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], audience=audience, issuer=issuer,
                            options={"require": ["exp", "sub", "aud", "iss"]})
    except jwt.InvalidTokenError as e:
        logger.info("customer token refused: %s", type(e).__name__)  # never the token itself
        return None
    subject = claims.get("sub")
    return subject if isinstance(subject, str) and subject.isdigit() else None
