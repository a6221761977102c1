"""Account facts in the customer's words: money, dates, data and the names of things,
formatted for zh-Hans, zh-Hant and en (Babel). The pieces go into domain.yml responses
as arguments; zh-Hant pieces are the zh-Hans ones through OpenCC (bot.chinese), as the
responses themselves are (bot/nlg.py).
"""
from __future__ import annotations

import datetime as dt
from typing import Dict, List

from babel.dates import format_date, format_skeleton
from babel.numbers import format_currency, format_decimal

from actions.accounts.repository import LineChange
from bot.chinese import to_traditional

LOCALES = {"zh-Hans": "zh_Hans_CN", "zh-Hant": "zh_Hant_TW", "en": "en_GB"}

WORDS: Dict[str, Dict[str, str]] = {
    "zh-Hans": {
        "plan": "套餐月费", "data": "流量费", "calls": "通话费", "roaming": "国际漫游费", "sms": "短信费",
        "value_added": "增值业务费", "device": "设备分期", "discount": "优惠",
        "paid": "已缴清", "unpaid": "待缴费", "overdue": "已逾期",
        "succeeded": "成功", "pending": "处理中", "failed": "失败",
        "alipay": "支付宝", "wechat": "微信支付", "card": "银行卡", "bank": "银行转账",
        "placed": "已下单，等待发货", "shipped": "已发货", "in_transit": "运输中", "delivered": "已签收",
        "cancelled": "已取消", "open": "待处理", "in_progress": "处理中", "resolved": "已解决",
        "new": "新增", "up": "增加", "down": "减少", "gone": "本月没有", "and": "；",
    },
    "en": {
        "plan": "plan fee", "data": "data charges", "calls": "call charges", "roaming": "roaming charges",
        "sms": "text messages", "value_added": "add-on services", "device": "device instalments",
        "discount": "discounts", "paid": "paid", "unpaid": "due", "overdue": "overdue",
        "succeeded": "succeeded", "pending": "is being processed", "failed": "failed",
        "alipay": "Alipay", "wechat": "WeChat Pay", "card": "card", "bank": "bank transfer",
        "placed": "placed, waiting to be shipped", "shipped": "shipped", "in_transit": "on its way",
        "delivered": "delivered", "cancelled": "cancelled", "open": "open", "in_progress": "being worked on",
        "resolved": "resolved", "new": "new", "up": "up", "down": "down", "gone": "none this month", "and": "; ",
    },
}


def _source(language: str) -> str:
    return "en" if language == "en" else "zh-Hans"


def _out(text: str, language: str) -> str:
    return to_traditional(text) if language == "zh-Hant" else text


def word(key: str, language: str) -> str:
    return _out(WORDS[_source(language)].get(key, key), language)


def locale(language: str) -> str:
    return LOCALES.get(language, LOCALES["zh-Hans"])


def money(cents: int, currency: str, language: str) -> str:
    return format_currency(cents / 100, currency, locale=locale(language))


def date(value: dt.date, language: str) -> str:
    return format_date(value, "long", locale=locale(language))


def month(value: dt.date, language: str) -> str:
    return format_skeleton("yMMMM", value, locale=locale(language))


def data_amount(mb: int, language: str) -> str:
    if mb >= 1024:
        return format_decimal(round(mb / 1024, 1), locale=locale(language)) + " GB"
    return format_decimal(mb, locale=locale(language)) + " MB"


def number(value: int, language: str) -> str:
    return format_decimal(value, locale=locale(language))


def bill_changes(changes: List[LineChange], currency: str, language: str, limit: int = 3) -> str:
    """"roaming charges new: £120.00; data charges up £25.00 (from £5.00 to £30.00)"."""
    src = _source(language)
    parts = []
    for c in changes[:limit]:
        name = WORDS[src][c.kind]
        amount = money(abs(c.delta_cents), currency, language)
        if c.before_cents == 0:
            parts.append(f"{name} {amount} ({WORDS[src]['new']})" if src == "en" else f"新增{name} {amount}")
        elif c.after_cents == 0:
            parts.append(f"{name}: {WORDS[src]['gone']}" if src == "en" else f"{name}本月没有（上月 {amount}）")
        else:
            direction = WORDS[src]["up" if c.delta_cents > 0 else "down"]
            before, after = money(c.before_cents, currency, language), money(c.after_cents, currency, language)
            parts.append(f"{name} {direction} {amount} ({before} → {after})" if src == "en"
                         else f"{name}{direction} {amount}（{before} → {after}）")
    return _out(WORDS[src]["and"].join(parts), language)


def bill_lines(bill, language: str) -> str:
    src = _source(language)
    sep = ", " if src == "en" else "，"
    return _out(sep.join(f"{WORDS[src][l.kind]} {money(l.amount_cents, bill.currency, language)}"
                         for l in bill.lines), language)


def shipping(order, language: str) -> str:
    src = _source(language)
    parts = []
    if order.carrier:
        parts.append(f"{order.carrier} {order.tracking_no}".strip())
    if order.eta and order.status != "delivered":
        parts.append(("expected " if src == "en" else "预计 ") + date(order.eta, language) +
                     ("" if src == "en" else " 送达"))
    return _out((", " if src == "en" else "，").join(parts), language)


def reset_message(link: str, language: str) -> str:
    if language == "en":
        return f"Reset your password here (valid for 30 minutes): {link}"
    return _out(f"请在 30 分钟内通过此链接重设密码：{link}", language)


def plan_difference(old, new, language: str) -> dict:
    fee_delta = new.monthly_fee_cents - (old.monthly_fee_cents if old else 0)
    sign = "+" if fee_delta >= 0 else "−"
    return {
        "old_plan": plan_name(old, language) if old else "-",
        "new_plan": plan_name(new, language),
        "old_fee": money(old.monthly_fee_cents, old.currency, language) if old else "-",
        "new_fee": money(new.monthly_fee_cents, new.currency, language),
        "fee_change": sign + money(abs(fee_delta), new.currency, language),
        "old_data": data_amount(old.data_mb, language) if old else "-",
        "new_data": data_amount(new.data_mb, language),
        "old_minutes": number(old.minutes, language) if old else "-",
        "new_minutes": number(new.minutes, language),
    }


def plan_name(plan, language: str) -> str:
    return _out(plan.name_in(language), language)
