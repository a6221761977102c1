"""The accounts layer: demo customers and the questions self-service answers about them.

Actions never touch SQL; they ask this repository.  Identity is verified with the
phone number on the account plus a PIN, and every read takes the verified
customer's id, so a conversation only ever sees its own customer's data.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.secrets_hashing import hash_secret, verify_secret

metadata = sa.MetaData()

customers = sa.Table(
    "acct_customers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("display_name", sa.String(120), nullable=False),
    sa.Column("phone", sa.String(32), nullable=False, unique=True),
    sa.Column("pin_hash", sa.String(200), nullable=False),
    sa.Column("language", sa.String(8), nullable=False, server_default="zh-Hans"),
    sa.Column("balance_cents", sa.Integer, nullable=False, server_default="0"),
    sa.Column("currency", sa.String(3), nullable=False, server_default="CNY"),
    sa.Column("plan_name", sa.String(120), nullable=False, server_default=""),
    sa.Column("created_at", sa.DateTime, nullable=False),
    # Wrong PINs in a row, and until when verification is refused after too many.
    sa.Column("failed_pin_attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("locked_until", sa.DateTime),
)

# A 4-digit PIN has 10,000 values: after this many wrong ones in a row the number is
# locked for a while, whoever is asking and in however many conversations.
MAX_PIN_FAILURES = 5
PIN_LOCK = dt.timedelta(minutes=15)


class AccountLocked(Exception):
    """Too many wrong PINs for this phone number; verification resumes at ``until`` (UTC)."""

    def __init__(self, until: dt.datetime):
        super().__init__(f"verification locked until {until.isoformat()}")
        self.until = until


def normalise_phone(raw: str) -> str:
    """Digits only, so "138-0013-8000" and "13800138000" are the same number."""
    return re.sub(r"\D", "", raw or "")


def mask_phone(phone: str) -> str:
    digits = normalise_phone(phone)
    return (digits[:3] + "*" * max(len(digits) - 7, 0) + digits[-4:]) if len(digits) > 7 else "***"


@dataclass(frozen=True)
class Customer:
    id: int
    display_name: str
    phone: str
    language: str
    balance_cents: int
    currency: str
    plan_name: str

    @property
    def balance(self) -> str:
        return f"{self.balance_cents / 100:.2f}"

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)


@lru_cache(maxsize=1)
def _unknown_number_hash() -> str:
    return hash_secret("no such customer")


class AccountRepository:
    def __init__(self, engine: Engine):
        self.engine = engine

    def add_customer(
        self,
        display_name: str,
        phone: str,
        pin: str,
        language: str = "zh-Hans",
        balance_cents: int = 0,
        currency: str = "CNY",
        plan_name: str = "",
    ) -> int:
        """Add a customer, or refresh the one with this phone (demo loading is repeatable)."""
        phone = normalise_phone(phone)
        values = dict(
            display_name=display_name,
            pin_hash=hash_secret(pin),
            language=language,
            balance_cents=balance_cents,
            currency=currency,
            plan_name=plan_name,
        )
        with self.engine.begin() as conn:
            existing = conn.execute(
                sa.select(customers.c.id).where(customers.c.phone == phone)
            ).scalar()
            if existing is not None:
                conn.execute(customers.update().where(customers.c.id == existing).values(**values))
                return existing
            return conn.execute(
                customers.insert().values(
                    phone=phone, created_at=dt.datetime.utcnow(), **values
                )
            ).inserted_primary_key[0]

    def verify(self, phone: str, pin: str, now: Optional[dt.datetime] = None) -> Optional[Customer]:
        """The customer when phone and PIN match, else None (same answer, and the same
        time taken, whether the number or the PIN was wrong).

        Raises AccountLocked after MAX_PIN_FAILURES wrong PINs in a row for the number,
        without checking the PIN, until the lock runs out.
        """
        now = now or dt.datetime.utcnow()
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(customers).where(customers.c.phone == normalise_phone(phone))
            ).first()
        if row is None:
            verify_secret((pin or "").strip(), _unknown_number_hash())
            return None
        if row.locked_until is not None and now < row.locked_until:
            raise AccountLocked(row.locked_until)
        if verify_secret((pin or "").strip(), row.pin_hash):
            if row.failed_pin_attempts or row.locked_until:
                with self.engine.begin() as conn:
                    conn.execute(customers.update().where(customers.c.id == row.id)
                                 .values(failed_pin_attempts=0, locked_until=None))
            return self._customer(row)
        with self.engine.begin() as conn:
            # Counted in the database, in one statement: parallel guesses all count.
            conn.execute(customers.update().where(customers.c.id == row.id)
                         .values(failed_pin_attempts=customers.c.failed_pin_attempts + 1))
            conn.execute(
                customers.update()
                .where(customers.c.id == row.id, customers.c.failed_pin_attempts >= MAX_PIN_FAILURES)
                .values(failed_pin_attempts=0, locked_until=now + PIN_LOCK)
            )
        return None

    def get(self, customer_id: int) -> Optional[Customer]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(customers).where(customers.c.id == customer_id)).first()
        return self._customer(row) if row else None

    @staticmethod
    def _customer(row) -> Customer:
        return Customer(
            id=row.id,
            display_name=row.display_name,
            phone=row.phone,
            language=row.language,
            balance_cents=row.balance_cents,
            currency=row.currency,
            plan_name=row.plan_name,
        )
