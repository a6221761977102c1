"""The accounts repository: the SQL one on a real database, and the HTTP one against the
stand-in service started as a process on the same data; both answer alike."""
import datetime as dt
import os
import subprocess
import sys

import pytest
import requests

from actions.accounts import repository as r
from actions.accounts.http import HttpAccounts
from actions.accounts.sql import SqlAccounts
from bot import demo_accounts
from bot.settings import PROJECT_ROOT
from tests.integration.stack import free_port

TODAY = dt.date(2026, 11, 29)
NAMED = [
    {"display_name": "张伟", "phone": "13800138000", "pin": "1234", "language": "zh-Hans", "balance_cents": 8850,
     "currency": "CNY", "plan_name": "畅享 99 元套餐", "vip_tier": 1, "unusual_last_bill": True,
     "open_fault": ["宽带断线", "家里"]},
    {"display_name": "Alex Smith", "phone": "447700900123", "pin": "2468", "language": "en",
     "balance_cents": 1575, "currency": "GBP", "plan_name": "Unlimited Talk 20GB"},
]


@pytest.fixture
def seeded(engine):
    accounts = SqlAccounts(engine)
    # A few generated customers are enough here (each PIN is hashed, slowly on purpose).
    demo_accounts.load_demo_accounts(accounts, NAMED, today=TODAY, generated=3)
    return accounts


def test_demo_data_is_about_fifty_customers_the_same_every_time(engine, seeded):
    first = demo_accounts.generated_customers()
    assert first == demo_accounts.generated_customers()  # seeded
    assert len(first) + len(NAMED) == 49
    assert {c.language for c in first} == {"zh-Hans", "zh-Hant", "en"}
    # Loading again neither duplicates customers nor their history.
    demo_accounts.load_demo_accounts(seeded, NAMED, today=TODAY, generated=3)
    zhang = seeded.verify("13800138000", "1234")
    assert len(seeded.bills(zhang.id, months=12)) == 6


def test_six_months_of_bills_with_lines_and_the_unusual_one(seeded):
    zhang = seeded.verify("13800138000", "1234")
    bills = seeded.bills(zhang.id)
    assert [b.period for b in bills] == [dt.date(2026, m, 1) for m in (10, 9, 8, 7, 6, 5)]
    for bill in bills:
        assert bill.total_cents == sum(line.amount_cents for line in bill.lines)
        assert bill.amount_of("plan") == 9900
    assert r.is_unusual(bills[0], bills[1:])
    changes = r.bill_differences(bills[0], bills[1])
    assert changes[0].kind == "roaming" and changes[0].before_cents == 0 and changes[0].delta_cents > 0
    assert sum(c.delta_cents for c in changes) == bills[0].total_cents - bills[1].total_cents


def test_reads_are_the_customers_own(seeded):
    zhang = seeded.verify("13800138000", "1234")
    alex = seeded.verify("447700900123", "2468")
    assert zhang.vip_tier == 1 and zhang.plan_code == "joy99"
    [ticket] = seeded.tickets(zhang.id)
    assert ticket.what == "宽带断线" and ticket.is_open
    assert seeded.tickets(alex.id) == []
    assert seeded.usage(zhang.id).data_total_mb == 30 * 1024
    assert all(p.status == "succeeded" for p in seeded.payments(zhang.id))
    summary = seeded.profile_summary(zhang.ref)
    assert summary["name"] == "张伟" and summary["phone"] == "•••••••8000" and summary["vip_tier"] == 1
    assert summary["open_tickets"][0]["what"] == "宽带断线"
    assert seeded.profile_summary("not-a-number") == {} and seeded.profile_summary("999999") == {}


def test_plan_change_happens_once_per_request_key(seeded):
    alex = seeded.verify("447700900123", "2468")
    first = seeded.change_plan(alex.id, "max199", "conv-1:1")
    again = seeded.change_plan(alex.id, "max199", "conv-1:1")
    assert first.applied_now and not again.applied_now and first.id == again.id
    assert (first.from_plan, first.to_plan) == ("joy99", "max199")
    assert seeded.get(alex.id).plan_code == "max199" and seeded.get(alex.id).plan_name == "尊享 199 元套餐"
    with pytest.raises(r.UnknownPlan):
        seeded.change_plan(alex.id, "nope", "conv-1:2")
    zhang = seeded.verify("13800138000", "1234")
    with pytest.raises(ValueError):  # another customer's key is not theirs to replay
        seeded.change_plan(zhang.id, "max199", "conv-1:1")


def test_a_fault_report_opens_one_ticket_per_request(seeded):
    alex = seeded.verify("447700900123", "2468")
    ticket = seeded.report_fault(alex.id, "no signal", "office", "yesterday", "conv-2:1")
    assert seeded.report_fault(alex.id, "no signal", "office", "yesterday", "conv-2:1").id == ticket.id
    assert [t.id for t in seeded.tickets(alex.id)] == [ticket.id]


# ---------------------------------------------------------------- over HTTP
@pytest.fixture
def standin(seeded, database_url):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "ACCOUNTS_BACKEND_TOKEN": "standin-token"}
    proc = subprocess.Popen([sys.executable, "-m", "actions.accounts.standin", "--port", str(port), "--faults"],
                            cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _wait_healthy(url, proc):
    import time
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read().decode()
        try:
            if requests.get(url + "/healthz", timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)  # polling a health endpoint, not synchronising a test
    raise TimeoutError(url)


def test_http_client_answers_as_the_sql_repository_does(seeded, standin):
    remote = HttpAccounts(standin, "standin-token", timeout=5, retries=1)
    zhang = remote.verify("13800138000", "1234")
    assert zhang == seeded.verify("13800138000", "1234")
    assert remote.verify("13800138000", "9999") is None
    assert remote.bills(zhang.id) == seeded.bills(zhang.id)
    assert remote.usage(zhang.id) == seeded.usage(zhang.id)
    assert remote.payments(zhang.id) == seeded.payments(zhang.id)
    assert remote.orders(zhang.id) == seeded.orders(zhang.id)
    assert remote.tickets(zhang.id) == seeded.tickets(zhang.id)
    assert remote.plans() == seeded.plans()
    assert remote.profile_summary(zhang.ref) == seeded.profile_summary(zhang.ref)
    change = remote.change_plan(zhang.id, "basic39", "http-1")
    assert change.applied_now and not remote.change_plan(zhang.id, "basic39", "http-1").applied_now
    assert remote.get(999999) is None
    with pytest.raises(r.UnknownPlan):
        remote.change_plan(zhang.id, "nope", "http-2")


def test_http_client_needs_the_token_and_locks_like_the_database(seeded, standin):
    with pytest.raises(r.BackendUnavailable):
        HttpAccounts(standin, "wrong-token", timeout=5).get(1)
    remote = HttpAccounts(standin, "standin-token", timeout=5)
    for _ in range(r.MAX_PIN_FAILURES):
        assert remote.verify("447700900123", "0000") is None
    with pytest.raises(r.AccountLocked):
        remote.verify("447700900123", "2468")


def test_a_slow_or_down_backend_is_unavailable_not_a_hang(seeded, standin):
    remote = HttpAccounts(standin, "standin-token", timeout=0.5, retries=1)
    requests.post(standin + "/_faults", json={"delay": 2}, timeout=5)
    with pytest.raises(r.BackendUnavailable):
        remote.bills(1)
    requests.post(standin + "/_faults", json={"down": True}, timeout=5)
    with pytest.raises(r.BackendUnavailable) as refused:
        remote.change_plan(1, "max199", "down-1")
    assert not isinstance(refused.value, r.ChangeOutcomeUnknown)  # a 503: surely not made
    requests.post(standin + "/_faults", json={}, timeout=5)
    assert seeded.get(1).plan_code == "joy99"  # nothing half-done
    with pytest.raises(r.BackendUnavailable):
        HttpAccounts("http://127.0.0.1:%d" % free_port(), timeout=0.5, retries=0).get(1)


def test_a_change_answered_too_late_may_have_been_made_once(seeded, standin):
    """Slow, not down: the stand-in makes the change and answers late. The client cannot
    say nothing was changed; the retry with the same key does not make it twice."""
    from actions.accounts.sql import plan_changes

    remote = HttpAccounts(standin, "standin-token", timeout=0.5, retries=1)
    requests.post(standin + "/_faults", json={"delay": 2}, timeout=5)
    try:
        with pytest.raises(r.ChangeOutcomeUnknown):
            remote.change_plan(1, "max199", "slow-1")
    finally:
        requests.post(standin + "/_faults", json={}, timeout=5)
    assert seeded.get(1).plan_code == "max199"
    with seeded.engine.connect() as conn:
        assert len(conn.execute(plan_changes.select().where(plan_changes.c.request_key == "slow-1")).all()) == 1


# ---------------------------------------------------------------- one-time codes
def test_a_one_time_code_works_once_and_only_before_it_expires(seeded):
    now = dt.datetime(2026, 11, 29, 12, 0)
    customer, code = seeded.issue_code("447700900123", now=now)
    assert len(code) == r.CODE_DIGITS and code.isdigit()
    assert seeded.verify_code("447700900123", code, now=now + dt.timedelta(minutes=1)).id == customer.id
    assert seeded.verify_code("447700900123", code, now=now + dt.timedelta(minutes=2)) is None  # replayed
    _, late = seeded.issue_code("447700900123", now=now)
    assert seeded.verify_code("447700900123", late, now=now + r.CODE_LIFETIME) is None  # expired
    _, older = seeded.issue_code("447700900123", now=now)
    _, newer = seeded.issue_code("447700900123", now=now)
    if older != newer:
        assert seeded.verify_code("447700900123", older, now=now) is None  # a new code replaces the old
    assert seeded.verify_code("447700900123", newer, now=now).id == customer.id
    assert seeded.issue_code("13999999999", now=now) is None  # not a customer's number


def test_wrong_codes_lock_the_number_as_wrong_pins_do(seeded):
    now = dt.datetime(2026, 11, 29, 12, 0)
    _, code = seeded.issue_code("447700900123", now=now)
    wrong = f"{(int(code) + 1) % 10 ** r.CODE_DIGITS:06d}"
    for _ in range(r.MAX_PIN_FAILURES):
        assert seeded.verify_code("447700900123", wrong, now=now) is None
    with pytest.raises(r.AccountLocked):
        seeded.verify_code("447700900123", code, now=now)
    with pytest.raises(r.AccountLocked):  # and no new code while locked
        seeded.issue_code("447700900123", now=now)
    with pytest.raises(r.AccountLocked):  # the PIN is locked too
        seeded.verify("447700900123", "2468", now=now)


def test_codes_over_http_too(seeded, standin):
    remote = HttpAccounts(standin, "standin-token", timeout=5)
    customer, code = remote.issue_code("447700900123")
    assert remote.verify_code("447700900123", code).id == customer.id
    assert remote.verify_code("447700900123", code) is None
    assert remote.issue_code("13999999999") is None


# ---------------------------------------------------------------- words and numbers
def test_money_dates_and_data_in_each_language():
    from actions import account_text as say

    assert [say.money(8850, "CNY", lang) for lang in ("zh-Hans", "en")] == ["¥88.50", "CN¥88.50"]
    assert say.money(32000, "TWD", "zh-Hant") == "$320.00" and say.money(1575, "GBP", "en") == "£15.75"
    assert say.month(dt.date(2026, 10, 1), "zh-Hans") == "2026年10月"
    assert say.month(dt.date(2026, 10, 1), "en") == "October 2026"
    assert say.date(dt.date(2026, 11, 15), "en") == "15 November 2026"
    assert say.data_amount(12345, "en") == "12.1 GB" and say.data_amount(900, "zh-Hans") == "900 MB"
    changes = [r.LineChange("roaming", 0, 12000), r.LineChange("data", 500, 3000)]
    assert say.bill_changes(changes, "CNY", "zh-Hans") == "新增国际漫游费 ¥120.00；流量费增加 ¥25.00（¥5.00 → ¥30.00）"
    assert say.bill_changes(changes, "CNY", "zh-Hant").startswith("新增國際漫遊費")
    assert say.bill_changes(changes, "GBP", "en").startswith("roaming charges £120.00 (new); data charges up £25.00")


def test_a_plan_is_found_by_name_code_or_fee():
    from actions.account_actions import match_plan

    plans = list(demo_accounts.PLANS)
    assert match_plan("帮我换成尊享 199 元套餐", plans).code == "max199"
    assert match_plan("幫我換成尊享199元套餐", plans).code == "max199"
    assert match_plan("switch me to Lite 39", plans).code == "basic39"
    assert match_plan("the 129 one", plans).code == "home129"
    assert match_plan("我要换套餐", plans) is None
