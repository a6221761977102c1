"""Personal data an agent may reveal, and how it is shown until then.

``mask`` is the one masking function of the web service for personal data; it points
at ``actions.accounts.mask_phone`` (last four digits) until the privacy recogniser in
``bot/privacy`` offers one masker for every kind.
"""
from __future__ import annotations

from typing import Optional

from actions.accounts import AccountRepository, mask_phone

REVEALABLE = ("phone",)


def mask(value: str) -> str:
    return mask_phone(value)


class PersonalData:
    """Clear values, read from the customer's account only when someone reveals them."""

    def __init__(self, accounts: AccountRepository):
        self.accounts = accounts

    def clear_value(self, customer_id: int, field: str) -> Optional[str]:
        if field not in REVEALABLE:
            raise ValueError(field)
        customer = self.accounts.get(customer_id)
        return customer.phone if customer else None
