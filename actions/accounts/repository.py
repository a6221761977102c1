"""What actions may ask about a customer's account, whatever system answers it.

Two implementations: ``actions.accounts.sql`` (the app database; the demo and a
single-machine install) and ``actions.accounts.http`` (a CRM / billing system over
HTTP; ``actions.accounts.standin`` is a local stand-in for one). Every read takes
the verified customer's id, so a conversation only ever sees its own customer's data;
nothing here looks a customer up by anything a chat message could name except
``verify`` (phone + PIN).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Protocol, Tuple

from bot.privacy import mask_value

# A 4-digit PIN has 10,000 values: after this many wrong ones in a row the number is
# locked for a while, whoever is asking and in however many conversations.
MAX_PIN_FAILURES = 5
PIN_LOCK = dt.timedelta(minutes=15)
# One-time codes sent by SMS: six digits, good for five minutes, once; wrong ones count
# towards the same lock as wrong PINs.
CODE_DIGITS = 6
CODE_LIFETIME = dt.timedelta(minutes=5)

# Bill line kinds; the words for them are the actions' business (actions/account_text.py).
LINE_KINDS = ("plan", "data", "calls", "roaming", "sms", "value_added", "device", "discount")


class AccountLocked(Exception):
    """Too many wrong PINs for this phone number; verification resumes at ``until`` (UTC)."""

    def __init__(self, until: dt.datetime):
        super().__init__(f"verification locked until {until.isoformat()}")
        self.until = until


class BackendUnavailable(Exception):
    """The accounts system did not answer in time, or answered with an error: nothing
    was read or changed as far as the caller can tell. The bot apologises and offers a person."""


class ChangeOutcomeUnknown(BackendUnavailable):
    """A change (plan, ticket) was sent but its answer did not come in time: the system may
    have made it or not. Never twice: it carried a request key the system applies once. The
    bot must not say "nothing was changed" then; it says it cannot tell, and offers a person."""


class UnknownPlan(ValueError):
    """No plan with that code can be chosen."""


def normalise_phone(raw: str) -> str:
    """Digits only, so "138-0013-8000" and "13800138000" are the same number."""
    return re.sub(r"\D", "", raw or "")


def mask_phone(phone: str) -> str:
    """The number as agents and customers see it: "•••••••8000"."""
    return mask_value("phone", normalise_phone(phone))


@dataclass(frozen=True)
class Customer:
    id: int
    display_name: str
    phone: str
    language: str
    balance_cents: int
    currency: str
    plan_name: str
    plan_code: str = ""
    vip_tier: int = 0

    @property
    def balance(self) -> str:
        return f"{self.balance_cents / 100:.2f}"

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @property
    def ref(self) -> str:
        """The customer's id as the desk and the channels name it (``customer_ref``)."""
        return str(self.id)


@dataclass(frozen=True)
class Plan:
    code: str
    name: str          # zh-Hans
    name_en: str
    monthly_fee_cents: int
    data_mb: int
    minutes: int
    currency: str = "CNY"

    def name_in(self, language: str) -> str:
        return self.name_en if language == "en" else self.name


@dataclass(frozen=True)
class BillLine:
    kind: str
    amount_cents: int


@dataclass(frozen=True)
class Bill:
    id: int
    period: dt.date            # the first day of the month billed
    total_cents: int
    currency: str
    due_date: dt.date
    status: str                # paid | unpaid | overdue
    lines: Tuple[BillLine, ...] = ()

    def amount_of(self, kind: str) -> int:
        return sum(line.amount_cents for line in self.lines if line.kind == kind)


@dataclass(frozen=True)
class Usage:
    period: dt.date
    data_used_mb: int
    data_total_mb: int
    minutes_used: int
    minutes_total: int

    @property
    def data_left_mb(self) -> int:
        return max(0, self.data_total_mb - self.data_used_mb)

    @property
    def minutes_left(self) -> int:
        return max(0, self.minutes_total - self.minutes_used)


@dataclass(frozen=True)
class Payment:
    id: int
    amount_cents: int
    currency: str
    method: str                # alipay | wechat | card | bank
    status: str                # succeeded | pending | failed
    created_at: dt.datetime


@dataclass(frozen=True)
class Order:
    id: int
    item: str
    status: str                # placed | shipped | in_transit | delivered | cancelled
    carrier: str
    tracking_no: str
    placed_at: dt.datetime
    eta: Optional[dt.date]


@dataclass(frozen=True)
class Ticket:
    id: int
    what: str
    where: str
    since: str
    status: str                # open | in_progress | resolved
    created_at: dt.datetime

    @property
    def is_open(self) -> bool:
        return self.status != "resolved"


@dataclass(frozen=True)
class PlanChange:
    id: int
    from_plan: str
    to_plan: str
    created_at: dt.datetime
    # False when this request key had already changed the plan: the change was not made twice.
    applied_now: bool = True


@dataclass(frozen=True)
class LineChange:
    kind: str
    before_cents: int
    after_cents: int

    @property
    def delta_cents(self) -> int:
        return self.after_cents - self.before_cents


def bill_differences(this: Bill, last: Bill) -> List[LineChange]:
    """What made ``this`` bill differ from ``last``: the line kinds whose amounts changed,
    the biggest rise first (what the customer asks about when the bill is higher)."""
    kinds = [k for k in LINE_KINDS if this.amount_of(k) or last.amount_of(k)]
    changes = [LineChange(k, last.amount_of(k), this.amount_of(k)) for k in kinds]
    return sorted((c for c in changes if c.delta_cents), key=lambda c: -c.delta_cents)


def is_unusual(this: Bill, history: List[Bill]) -> bool:
    """A bill a customer would want mentioned first: a quarter above the average of the
    months before it (and at least 10 units of money more)."""
    if not history:
        return False
    average = sum(b.total_cents for b in history) / len(history)
    return this.total_cents > average * 1.25 and this.total_cents - average >= 1000


class AccountsRepository(Protocol):
    """The accounts interface actions call (``services().accounts``)."""

    def verify(self, phone: str, pin: str, now: Optional[dt.datetime] = None) -> Optional[Customer]: ...

    def issue_code(self, phone: str, now: Optional[dt.datetime] = None) -> Optional[Tuple[Customer, str]]: ...

    def verify_code(self, phone: str, code: str, now: Optional[dt.datetime] = None) -> Optional[Customer]: ...

    def get(self, customer_id: int) -> Optional[Customer]: ...

    def bills(self, customer_id: int, months: int = 6) -> List[Bill]: ...

    def usage(self, customer_id: int) -> Optional[Usage]: ...

    def payments(self, customer_id: int, limit: int = 5) -> List[Payment]: ...

    def orders(self, customer_id: int) -> List[Order]: ...

    def tickets(self, customer_id: int, open_only: bool = True) -> List[Ticket]: ...

    def report_fault(self, customer_id: int, what: str, where: str, since: str, request_key: str) -> Ticket: ...

    def plans(self) -> List[Plan]: ...

    def change_plan(self, customer_id: int, plan_code: str, request_key: str) -> PlanChange: ...

    def profile_summary(self, customer_ref: str) -> Dict: ...
