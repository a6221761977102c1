"""Demo accounts: plans and about fifty customers with six months of history, generated
from a seed so every run (and every test) gets the same customers.

The three customers in ``actions/demo_customers.yml`` keep their phone numbers and PINs
(README); the others are generated: zh-Hans, zh-Hant and English names, phone numbers
from 139 0000 0001 on, PINs from the seed (``python -m bot.demo_accounts`` lists them).
History is dated relative to today (the newest bill is last month's), and is written
only once per customer, so tickets and plan changes made in a demo survive a restart.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import List, Optional

from actions.accounts.repository import Bill, BillLine, Order, Payment, Plan, Ticket, Usage
from actions.accounts.sql import SqlAccounts

SEED = 20261129
GENERATED_CUSTOMERS = 47

PLANS = (
    Plan("basic39", "轻享 39 元套餐", "Lite 39", 3900, 10 * 1024, 200),
    Plan("joy99", "畅享 99 元套餐", "Joy 99", 9900, 30 * 1024, 500),
    Plan("max199", "尊享 199 元套餐", "Max 199", 19900, 100 * 1024, 2000),
    Plan("home129", "宽带融合 129 元套餐", "Home Fibre 129", 12900, 40 * 1024, 1000),
)
PLAN_BY_NAME = {"畅享 99 元套餐": "joy99", "4G 吃到飽": "max199", "Unlimited Talk 20GB": "joy99",
                "宽带融合 129 元套餐": "home129"}

SURNAMES_ZH = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN_ZH = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英", "建华", "志强"]
FIRST_EN = ["Olivia", "Noah", "Amelia", "George", "Isla", "Arthur", "Ava", "Leo", "Mia", "Oscar", "Grace", "Harry"]
LAST_EN = ["Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Thomas", "Roberts", "Walker", "Wright"]
ITEMS = ("5G 路由器", "SIM 卡", "光猫", "iPhone 16", "Huawei Mate 70", "耳机")
CARRIERS = ("顺丰速运", "中通快递", "EMS", "Royal Mail")
FAULTS = (("宽带断线", "家里"), ("手机没有信号", "公司"), ("网速很慢", "家里"), ("电视盒子无法开机", "客厅"))


@dataclass(frozen=True)
class DemoCustomer:
    display_name: str
    phone: str
    pin: str
    language: str
    currency: str
    plan_code: str
    balance_cents: int
    vip_tier: int
    unusual_last_bill: bool = False
    open_fault: Optional[tuple] = None


def _to_traditional(text: str) -> str:
    from bot.chinese import to_traditional  # OpenCC, only for the zh-Hant names
    return to_traditional(text)


def generated_customers(seed: int = SEED, count: int = GENERATED_CUSTOMERS) -> List[DemoCustomer]:
    rng = random.Random(seed)
    result = []
    for i in range(count):
        language = rng.choices(("zh-Hans", "zh-Hant", "en"), weights=(5, 2, 3))[0]
        if language == "en":
            name = f"{rng.choice(FIRST_EN)} {rng.choice(LAST_EN)}"
        else:
            name = rng.choice(SURNAMES_ZH) + rng.choice(GIVEN_ZH)
            if language == "zh-Hant":
                name = _to_traditional(name)
        result.append(DemoCustomer(
            display_name=name, phone=f"139{i + 1:08d}", pin=f"{rng.randrange(10000):04d}", language=language,
            currency="CNY", plan_code=rng.choice(PLANS).code, balance_cents=rng.randrange(-5000, 30000),
            vip_tier=rng.choices((0, 1, 2), weights=(7, 2, 1))[0],
            unusual_last_bill=rng.random() < 0.2,
            open_fault=rng.choice(FAULTS) if rng.random() < 0.2 else None,
        ))
    return result


def _months_back(today: dt.date, n: int) -> dt.date:
    year, month = today.year, today.month - n
    while month <= 0:
        month += 12
        year -= 1
    return dt.date(year, month, 1)


def history(customer: DemoCustomer, plan: Plan, today: dt.date, seed: int = SEED):
    """Six bills (the newest last month's), this month's usage, payments, an order, a ticket."""
    rng = random.Random(f"{seed}:{customer.phone}")
    fee = plan.monthly_fee_cents
    bills = []
    for n in range(6, 0, -1):
        period = _months_back(today, n)
        lines = [BillLine("plan", fee), BillLine("calls", rng.randrange(0, 1500))]
        if rng.random() < 0.3:
            lines.append(BillLine("data", rng.randrange(500, 3000)))
        if rng.random() < 0.4:
            lines.append(BillLine("value_added", rng.choice((500, 1000, 1500))))
        if n == 1 and customer.unusual_last_bill:
            lines.append(BillLine("roaming", rng.randrange(8000, 20000)))
            lines.append(BillLine("data", rng.randrange(3000, 6000)))
        if rng.random() < 0.2:
            lines.append(BillLine("discount", -rng.choice((500, 1000))))
        due = _months_back(today, n - 1) + dt.timedelta(days=14)
        status = "paid" if n > 1 else rng.choice(("unpaid", "paid"))
        bills.append(Bill(0, period, sum(l.amount_cents for l in lines), customer.currency, due, status, tuple(lines)))
    payments = [
        Payment(0, b.total_cents, customer.currency, rng.choice(("alipay", "wechat", "card", "bank")), "succeeded",
                dt.datetime.combine(b.due_date - dt.timedelta(days=rng.randrange(1, 10)), dt.time(10, 30)))
        for b in bills if b.status == "paid"
    ]
    usage = Usage(_months_back(today, 0), data_used_mb=rng.randrange(0, plan.data_mb),
                  data_total_mb=plan.data_mb, minutes_used=rng.randrange(0, plan.minutes), minutes_total=plan.minutes)
    orders = []
    if rng.random() < 0.5:
        status = rng.choice(("placed", "shipped", "in_transit", "delivered"))
        placed = dt.datetime.combine(today - dt.timedelta(days=rng.randrange(1, 8)), dt.time(9, 0))
        orders.append(Order(0, rng.choice(ITEMS), status, rng.choice(CARRIERS) if status != "placed" else "",
                            f"SF{rng.randrange(10**11, 10**12)}" if status != "placed" else "", placed,
                            today + dt.timedelta(days=rng.randrange(0, 4)) if status != "delivered" else None))
    tickets = []
    if customer.open_fault:
        what, where = customer.open_fault
        tickets.append(Ticket(0, what, where, "上周", "in_progress",
                              dt.datetime.combine(today - dt.timedelta(days=6), dt.time(15, 0))))
    return bills, usage, payments, orders, tickets


def named_customers(records: list) -> List[DemoCustomer]:
    """The hand-written demo customers (demo_customers.yml); 李娜 has a story: her last
    bill has roaming in it and her broadband fault is being worked on."""
    result = []
    for c in records:
        result.append(DemoCustomer(
            display_name=c["display_name"], phone=c["phone"], pin=c["pin"], language=c.get("language", "zh-Hans"),
            currency=c.get("currency", "CNY"), plan_code=PLAN_BY_NAME.get(c.get("plan_name", ""), "joy99"),
            balance_cents=c.get("balance_cents", 0), vip_tier=c.get("vip_tier", 0),
            unusual_last_bill=c.get("unusual_last_bill", False),
            open_fault=tuple(c["open_fault"]) if c.get("open_fault") else None))
    return result


def load_demo_accounts(accounts: SqlAccounts, records: list, today: Optional[dt.date] = None,
                       seed: int = SEED, generated: int = GENERATED_CUSTOMERS) -> List[DemoCustomer]:
    today = today or dt.date.today()
    accounts.upsert_plans(PLANS)
    plans = {p.code: p for p in PLANS}
    everyone = named_customers(records) + generated_customers(seed, generated)
    for c in everyone:
        plan = plans[c.plan_code]
        plan_name = next((r.get("plan_name") for r in records if r["phone"] == c.phone), None) or plan.name
        customer_id = accounts.add_customer(
            c.display_name, c.phone, c.pin, language=c.language, balance_cents=c.balance_cents,
            currency=c.currency, plan_name=plan_name, plan_code=c.plan_code, vip_tier=c.vip_tier)
        if not accounts.has_history(customer_id):
            accounts.add_history(customer_id, *history(c, plan, today, seed))
    return everyone


if __name__ == "__main__":
    for c in generated_customers():
        print(f"{c.phone}  PIN {c.pin}  {c.language:8} {c.display_name}")
