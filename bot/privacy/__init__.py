"""Secrets and personal data in what customers type: recognised once, masked wherever text travels.

Ground floor: imports nothing of ours. See ``recogniser`` for how
spans are found and ``masking`` for how they are shown.
"""
from bot.privacy.recogniser import (
    PERSONAL_KINDS,
    SECRET_KINDS,
    Span,
    find,
    phone_candidates,
    phone_number_forms,
    secret_value,
    warm_up,
)
from bot.privacy.masking import MASK, mask, mask_secrets, mask_spans, mask_value, masked_segments, personal_spans

__all__ = [
    "MASK",
    "PERSONAL_KINDS",
    "SECRET_KINDS",
    "Span",
    "find",
    "mask",
    "mask_secrets",
    "mask_spans",
    "mask_value",
    "masked_segments",
    "personal_spans",
    "phone_candidates",
    "phone_number_forms",
    "secret_value",
    "warm_up",
]
