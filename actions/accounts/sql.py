"""The accounts repository on the app database (SQLAlchemy; SQLite or PostgreSQL).

Identity is verified with the phone number on the account plus a PIN, and every read
takes the verified customer's id. The write methods below the reads (``add_*``) are for
the demo seeder (``bot/demo_accounts.py``) and tests; actions only change a plan and
open fault tickets, each keyed by a request key so a repeated request does it once.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
import secrets
from typing import Dict, Iterable, List, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from actions.accounts.repository import (
    CODE_DIGITS,
    CODE_LIFETIME,
    MAX_PIN_FAILURES,
    PIN_LOCK,
    AccountLocked,
    Bill,
    BillLine,
    Customer,
    Order,
    Payment,
    Plan,
    PlanChange,
    Ticket,
    UnknownPlan,
    Usage,
    mask_phone,
    normalise_phone,
)
from bot.privacy import phone_number_forms
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
    # 0010: the plan by code (plan_name stays the name shown), VIP tier (0 = none).
    sa.Column("plan_code", sa.String(32), nullable=False, server_default=""),
    sa.Column("vip_tier", sa.Integer, nullable=False, server_default="0"),
)

plans = sa.Table(
    "acct_plans",
    metadata,
    sa.Column("code", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("name_en", sa.String(120), nullable=False),
    sa.Column("monthly_fee_cents", sa.Integer, nullable=False),
    sa.Column("data_mb", sa.Integer, nullable=False),
    sa.Column("minutes", sa.Integer, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False, server_default="CNY"),
)

bills = sa.Table(
    "acct_bills",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("customer_id", sa.Integer, sa.ForeignKey("acct_customers.id", ondelete="CASCADE"), nullable=False),
    sa.Column("period", sa.Date, nullable=False),
    sa.Column("total_cents", sa.Integer, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.UniqueConstraint("customer_id", "period", name="uq_acct_bills_customer_period"),
)

bill_lines = sa.Table(
    "acct_bill_lines",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("bill_id", sa.Integer, sa.ForeignKey("acct_bills.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("amount_cents", sa.Integer, nullable=False),
)

usage = sa.Table(
    "acct_usage",
    metadata,
    sa.Column("customer_id", sa.Integer, sa.ForeignKey("acct_customers.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("period", sa.Date, nullable=False),
    sa.Column("data_used_mb", sa.Integer, nullable=False),
    sa.Column("data_total_mb", sa.Integer, nullable=False),
    sa.Column("minutes_used", sa.Integer, nullable=False),
    sa.Column("minutes_total", sa.Integer, nullable=False),
)

payments = sa.Table(
    "acct_payments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("customer_id", sa.Integer, sa.ForeignKey("acct_customers.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("amount_cents", sa.Integer, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("method", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

orders = sa.Table(
    "acct_orders",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("customer_id", sa.Integer, sa.ForeignKey("acct_customers.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("item", sa.String(120), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("carrier", sa.String(40), nullable=False, server_default=""),
    sa.Column("tracking_no", sa.String(40), nullable=False, server_default=""),
    sa.Column("placed_at", sa.DateTime, nullable=False),
    sa.Column("eta", sa.Date),
)

tickets = sa.Table(
    "acct_tickets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("customer_id", sa.Integer, sa.ForeignKey("acct_customers.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("what", sa.Text, nullable=False),
    sa.Column("location", sa.Text, nullable=False),
    sa.Column("since", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    # The same report sent twice (a retried request) opens one ticket.
    sa.Column("request_key", sa.String(80), unique=True),
)

plan_changes = sa.Table(
    "acct_plan_changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("customer_id", sa.Integer, sa.ForeignKey("acct_customers.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("from_plan", sa.String(32), nullable=False),
    sa.Column("to_plan", sa.String(32), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    # One change per confirmation: a repeated "yes" or a retried request finds its row.
    sa.Column("request_key", sa.String(80), nullable=False, unique=True),
)

login_codes = sa.Table(
    "acct_login_codes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("customer_id", sa.Integer, sa.ForeignKey("acct_customers.id", ondelete="CASCADE"), nullable=False, index=True),
    # Hashed like PINs: the database never holds a usable code.
    sa.Column("code_hash", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
    sa.Column("used_at", sa.DateTime),
)

ACCOUNT_TABLES = (login_codes, plan_changes, tickets, orders, payments, usage, bill_lines, bills)


def stored_forms(phone: str) -> list:
    """The forms the number may have been added in: a number the recogniser found
    comes in E.164 ("+8613800138000"); the demo customers were added as typed."""
    if phone.startswith("+"):
        return phone_number_forms(phone)
    return [normalise_phone(phone)]


@lru_cache(maxsize=1)
def _unknown_number_hash() -> str:
    return hash_secret("no such customer")


class SqlAccounts:
    def __init__(self, engine: Engine):
        self.engine = engine

    # ------------------------------------------------------------ identity
    def verify(self, phone: str, pin: str, now: Optional[dt.datetime] = None) -> Optional[Customer]:
        """The customer when phone and PIN match, else None (same answer, and the same
        time taken, whether the number or the PIN was wrong).

        Raises AccountLocked after MAX_PIN_FAILURES wrong PINs in a row for the number,
        without checking the PIN, until the lock runs out.
        """
        now = now or dt.datetime.utcnow()
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(customers).where(customers.c.phone.in_(stored_forms(phone or "")))
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
        self._count_failure(row.id, now)
        return None

    def issue_code(self, phone: str, now: Optional[dt.datetime] = None) -> Optional[Tuple[Customer, str]]:
        """A new one-time code for the customer with this phone (earlier unused ones stop
        working), or None for a number that is not a customer's. Raises AccountLocked
        while wrong PINs or codes have locked the number."""
        now = now or dt.datetime.utcnow()
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(customers).where(customers.c.phone.in_(stored_forms(phone or "")))).first()
        if row is None:
            return None
        if row.locked_until is not None and now < row.locked_until:
            raise AccountLocked(row.locked_until)
        code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
        with self.engine.begin() as conn:
            conn.execute(login_codes.update().where(login_codes.c.customer_id == row.id, login_codes.c.used_at.is_(None))
                         .values(used_at=now))
            conn.execute(login_codes.insert().values(customer_id=row.id, code_hash=hash_secret(code), created_at=now,
                                                     expires_at=now + CODE_LIFETIME))
        return self._customer(row), code

    def verify_code(self, phone: str, code: str, now: Optional[dt.datetime] = None) -> Optional[Customer]:
        """The customer when ``code`` is the number's latest code, unexpired and unused (it is
        used up now); else None, a wrong code counting towards the lock as a wrong PIN does."""
        now = now or dt.datetime.utcnow()
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(customers).where(customers.c.phone.in_(stored_forms(phone or "")))).first()
            latest = None if row is None else conn.execute(
                sa.select(login_codes).where(login_codes.c.customer_id == row.id, login_codes.c.used_at.is_(None),
                                             login_codes.c.expires_at > now)
                .order_by(login_codes.c.id.desc()).limit(1)).first()
        if row is None:
            verify_secret((code or "").strip(), _unknown_number_hash())
            return None
        if row.locked_until is not None and now < row.locked_until:
            raise AccountLocked(row.locked_until)
        if latest is not None and verify_secret((code or "").strip(), latest.code_hash):
            with self.engine.begin() as conn:
                # Single use, even when the same code arrives twice at once: one update wins.
                used = conn.execute(login_codes.update().where(login_codes.c.id == latest.id,
                                                               login_codes.c.used_at.is_(None))
                                    .values(used_at=now)).rowcount
                if used == 1:
                    conn.execute(customers.update().where(customers.c.id == row.id)
                                 .values(failed_pin_attempts=0, locked_until=None))
            if used == 1:
                return self._customer(row)
            return None
        self._count_failure(row.id, now)
        return None

    def _count_failure(self, customer_id: int, now: dt.datetime) -> None:
        with self.engine.begin() as conn:
            # Counted in the database, in one statement: parallel guesses all count.
            conn.execute(customers.update().where(customers.c.id == customer_id)
                         .values(failed_pin_attempts=customers.c.failed_pin_attempts + 1))
            conn.execute(
                customers.update()
                .where(customers.c.id == customer_id, customers.c.failed_pin_attempts >= MAX_PIN_FAILURES)
                .values(failed_pin_attempts=0, locked_until=now + PIN_LOCK)
            )

    def get(self, customer_id: int) -> Optional[Customer]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(customers).where(customers.c.id == customer_id)).first()
        return self._customer(row) if row else None

    def first_customers(self, limit: int) -> List[Customer]:
        """The first customers by id (the demo page offers them as signed-in customers)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(customers).order_by(customers.c.id).limit(limit)).all()
        return [self._customer(row) for row in rows]

    # ------------------------------------------------------------ reads
    def bills(self, customer_id: int, months: int = 6) -> List[Bill]:
        """The latest ``months`` bills, newest first, with their lines."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(bills).where(bills.c.customer_id == customer_id)
                .order_by(bills.c.period.desc()).limit(months)
            ).all()
            ids = [r.id for r in rows]
            lines: Dict[int, list] = {i: [] for i in ids}
            if ids:
                for line in conn.execute(
                    sa.select(bill_lines).where(bill_lines.c.bill_id.in_(ids)).order_by(bill_lines.c.id)
                ):
                    lines[line.bill_id].append(BillLine(line.kind, line.amount_cents))
        return [
            Bill(r.id, r.period, r.total_cents, r.currency, r.due_date, r.status, tuple(lines[r.id]))
            for r in rows
        ]

    def usage(self, customer_id: int) -> Optional[Usage]:
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(usage).where(usage.c.customer_id == customer_id)).first()
        if r is None:
            return None
        return Usage(r.period, r.data_used_mb, r.data_total_mb, r.minutes_used, r.minutes_total)

    def payments(self, customer_id: int, limit: int = 5) -> List[Payment]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(payments).where(payments.c.customer_id == customer_id)
                .order_by(payments.c.created_at.desc(), payments.c.id.desc()).limit(limit)
            ).all()
        return [Payment(r.id, r.amount_cents, r.currency, r.method, r.status, r.created_at) for r in rows]

    def orders(self, customer_id: int) -> List[Order]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(orders).where(orders.c.customer_id == customer_id)
                .order_by(orders.c.placed_at.desc(), orders.c.id.desc())
            ).all()
        return [Order(r.id, r.item, r.status, r.carrier, r.tracking_no, r.placed_at, r.eta) for r in rows]

    def tickets(self, customer_id: int, open_only: bool = True) -> List[Ticket]:
        query = sa.select(tickets).where(tickets.c.customer_id == customer_id)
        if open_only:
            query = query.where(tickets.c.status != "resolved")
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(tickets.c.created_at.desc(), tickets.c.id.desc())).all()
        return [self._ticket(r) for r in rows]

    def plans(self) -> List[Plan]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(plans).order_by(plans.c.monthly_fee_cents)).all()
        return [self._plan(r) for r in rows]

    def profile_summary(self, customer_ref: str) -> Dict:
        """What an agent sees about the verified customer on handoff (masked phone)."""
        try:
            customer = self.get(int(customer_ref))
        except (TypeError, ValueError):
            return {}
        if customer is None:
            return {}
        return {
            "ref": customer.ref,
            "name": customer.display_name,
            "phone": customer.masked_phone,
            "plan": customer.plan_name,
            "vip_tier": customer.vip_tier,
            "language": customer.language,
            "open_tickets": [
                {"id": t.id, "what": t.what, "status": t.status, "created_at": t.created_at.isoformat()}
                for t in self.tickets(customer.id)
            ],
            "last_contacts": [],  # the desk's own records hold these
        }

    # ------------------------------------------------------------ changes
    def report_fault(self, customer_id: int, what: str, where: str, since: str, request_key: str) -> Ticket:
        """Open a fault ticket; the same ``request_key`` again returns the ticket it opened."""
        try:
            with self.engine.begin() as conn:
                conn.execute(tickets.insert().values(
                    customer_id=customer_id, what=what, location=where, since=since, status="open",
                    created_at=dt.datetime.utcnow(), request_key=request_key))
        except IntegrityError:
            pass  # this request already opened its ticket
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(tickets).where(tickets.c.request_key == request_key)).first()
        if row is None or row.customer_id != customer_id:
            raise ValueError("request key belongs to another customer")
        return self._ticket(row)

    def change_plan(self, customer_id: int, plan_code: str, request_key: str) -> PlanChange:
        """Move the customer to ``plan_code``, once per ``request_key``: the change and
        its record are one transaction, and a second call with the key finds the record."""
        with self.engine.connect() as conn:
            done = conn.execute(sa.select(plan_changes).where(plan_changes.c.request_key == request_key)).first()
        if done is not None:
            return self._plan_change(done, customer_id, applied_now=False)
        with self.engine.connect() as conn:
            plan = conn.execute(sa.select(plans).where(plans.c.code == plan_code)).first()
        if plan is None:
            raise UnknownPlan(plan_code)
        try:
            with self.engine.begin() as conn:
                current = conn.execute(
                    sa.select(customers.c.plan_code).where(customers.c.id == customer_id)
                ).scalar_one()
                conn.execute(plan_changes.insert().values(
                    customer_id=customer_id, from_plan=current, to_plan=plan_code,
                    created_at=dt.datetime.utcnow(), request_key=request_key))
                conn.execute(customers.update().where(customers.c.id == customer_id)
                             .values(plan_code=plan_code, plan_name=plan.name))
        except IntegrityError:  # the same key, at the same moment, from another process
            pass
        else:
            with self.engine.connect() as conn:
                row = conn.execute(sa.select(plan_changes).where(plan_changes.c.request_key == request_key)).one()
            return self._plan_change(row, customer_id, applied_now=True)
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(plan_changes).where(plan_changes.c.request_key == request_key)).one()
        return self._plan_change(row, customer_id, applied_now=False)

    # ------------------------------------------------------------ seeding (demo, tests)
    def add_customer(
        self,
        display_name: str,
        phone: str,
        pin: str,
        language: str = "zh-Hans",
        balance_cents: int = 0,
        currency: str = "CNY",
        plan_name: str = "",
        plan_code: str = "",
        vip_tier: int = 0,
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
            plan_code=plan_code,
            vip_tier=vip_tier,
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

    def upsert_plans(self, items: Iterable[Plan]) -> None:
        with self.engine.begin() as conn:
            for plan in items:
                values = dict(name=plan.name, name_en=plan.name_en, monthly_fee_cents=plan.monthly_fee_cents,
                              data_mb=plan.data_mb, minutes=plan.minutes, currency=plan.currency)
                if conn.execute(sa.select(plans.c.code).where(plans.c.code == plan.code)).first():
                    conn.execute(plans.update().where(plans.c.code == plan.code).values(**values))
                else:
                    conn.execute(plans.insert().values(code=plan.code, **values))

    def has_history(self, customer_id: int) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(bills.c.id).where(bills.c.customer_id == customer_id).limit(1)).first() is not None

    def add_history(self, customer_id: int, bill_items: Iterable[Bill], usage_item: Optional[Usage],
                    payment_items: Iterable[Payment] = (), order_items: Iterable[Order] = (),
                    ticket_items: Iterable[Ticket] = ()) -> None:
        """Bills (with lines), usage, payments, orders and tickets of one customer (ids are the store's)."""
        with self.engine.begin() as conn:
            for bill in bill_items:
                bill_id = conn.execute(bills.insert().values(
                    customer_id=customer_id, period=bill.period, total_cents=bill.total_cents,
                    currency=bill.currency, due_date=bill.due_date, status=bill.status)).inserted_primary_key[0]
                if bill.lines:
                    conn.execute(bill_lines.insert(), [
                        {"bill_id": bill_id, "kind": line.kind, "amount_cents": line.amount_cents}
                        for line in bill.lines])
            if usage_item is not None:
                conn.execute(usage.delete().where(usage.c.customer_id == customer_id))
                conn.execute(usage.insert().values(
                    customer_id=customer_id, period=usage_item.period, data_used_mb=usage_item.data_used_mb,
                    data_total_mb=usage_item.data_total_mb, minutes_used=usage_item.minutes_used,
                    minutes_total=usage_item.minutes_total))
            for p in payment_items:
                conn.execute(payments.insert().values(
                    customer_id=customer_id, amount_cents=p.amount_cents, currency=p.currency,
                    method=p.method, status=p.status, created_at=p.created_at))
            for o in order_items:
                conn.execute(orders.insert().values(
                    customer_id=customer_id, item=o.item, status=o.status, carrier=o.carrier,
                    tracking_no=o.tracking_no, placed_at=o.placed_at, eta=o.eta))
            for t in ticket_items:
                conn.execute(tickets.insert().values(
                    customer_id=customer_id, what=t.what, location=t.where, since=t.since,
                    status=t.status, created_at=t.created_at))

    def set_usage(self, customer_id: int, item: Usage) -> None:
        self.add_history(customer_id, (), item)

    # ------------------------------------------------------------ rows → values
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
            plan_code=row.plan_code,
            vip_tier=row.vip_tier,
        )

    @staticmethod
    def _plan(row) -> Plan:
        return Plan(row.code, row.name, row.name_en, row.monthly_fee_cents, row.data_mb, row.minutes, row.currency)

    @staticmethod
    def _ticket(row) -> Ticket:
        return Ticket(row.id, row.what, row.location, row.since, row.status, row.created_at)

    @staticmethod
    def _plan_change(row, customer_id: int, applied_now: bool) -> PlanChange:
        if row.customer_id != customer_id:
            raise ValueError("request key belongs to another customer")
        return PlanChange(row.id, row.from_plan, row.to_plan, row.created_at, applied_now)


# The name the rest of the code base knew the SQL repository by.
AccountRepository = SqlAccounts
__all__ = ["AccountRepository", "SqlAccounts", "customers", "metadata", "mask_phone", "stored_forms"]
