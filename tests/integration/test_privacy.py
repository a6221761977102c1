"""Secrets over the real processes: customers type their PIN in every way they do, in
zh-Hans, zh-Hant and en; the conversations go to an agent; then no database table,
process log, console response (transcripts, tickets, customer histories), dashboard page or
export holds the PIN. A non-PIN answer to the PIN prompt
reaches the agent as typed."""
import json
import re
from contextlib import closing
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

pytestmark = pytest.mark.integration

DEMO_PINS = ("1234", "5678", "2468")
# The PIN as a whole token: not the digits inside a timestamp, a phone number or an id,
# nor the last four of a masked phone ("••••••5678": the zh-Hant demo number ends in its PIN).
PIN_LITERAL = re.compile(r"(?<![0-9A-Za-z•])(%s)(?![0-9A-Za-z])" % "|".join(DEMO_PINS))

HANDOFF = {"zh-Hans": ("转人工", "正在为您转接"), "zh-Hant": ("轉人工", "正在為您轉接"),
           "en": ("talk to a human", "I'm connecting you to a human agent")}
BALANCE = {"zh-Hans": ("查话费", "张伟，您的账户余额"), "zh-Hant": ("查詢餘額", "陳美玲，您的帳戶餘額"),
           "en": ("check my balance", "Alex Smith, your balance")}

PIN_WAYS = [
    # Phone and PIN in one message, before the PIN was asked for: verified in one go.
    ("zh-Hans", ["我号码13800138000 密码是1234"]),
    ("zh-Hant", ["帳號0912345678 密碼5678"]),
    ("en", ["my number is +44 7700 900123 and my pin is 2468"]),
    # The PIN inside a sentence, answering the PIN prompt.
    ("zh-Hans", ["138 0013 8000", "密码是1234喔"]),
    ("zh-Hant", ["0912-345-678", "是5678啦"]),
    ("en", ["447700900123", "oops, it's 2468"]),
    ("en", ["+44 7700 900123", "my pin is 2468"]),
    # Bare, as before.
    ("zh-Hans", ["13800138000", "1234"]),
]


def _verify_then_hand_off(stack, lang, messages):
    with closing(stack.customer()) as customer:
        ask, balance = BALANCE[lang]
        customer.ask(ask)
        for text in messages:
            reply = customer.ask(text)
        assert reply["text"].startswith(balance), (messages, reply)
        request, queued = HANDOFF[lang]
        assert customer.ask(request)["text"].startswith(queued)
        return customer.session_id


def _typed_text(document: str) -> str:
    """The text values of a JSON document: where anything a customer typed would be. Numbers
    (amounts in cents, ids) are left out: the demo accounts hold thousands of them, and 1234 cents
    is no PIN."""
    def strings(value):
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            for key, item in value.items():
                yield str(key)
                yield from strings(item)
        elif isinstance(value, list):
            for item in value:
                yield from strings(item)
    try:
        return "\n".join(strings(json.loads(document)))
    except ValueError:
        return document


def _all_rows(url: str):
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            for table in sa.inspect(conn).get_table_names():
                for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                    # Row ids and times are counters, not what anyone typed (row 5678 is no PIN).
                    values = [v for k, v in row._mapping.items()
                              if not (k == "id" or k.endswith("_id") and isinstance(v, int)) and not isinstance(v, float)]
                    yield table, " ".join(str(value) for value in values)
    finally:
        engine.dispose()


def _databases(settings):
    return (("app", settings.database_url), ("tracker", settings.rasa_tracker_db_url),
            ("broker", settings.rasa_events_db_url))


def test_the_pin_typed_every_way_is_nowhere_and_other_answers_reach_the_agent(stack):
    # The stack is shared by the whole session: rows other tests left (the fuzz test's random
    # text can hold any four digits) are not this test's to judge.
    before = {(name, table, row) for name, url in _databases(stack.settings) for table, row in _all_rows(url)}
    log_lines_before = {log.name: len(log.read_text(encoding="utf-8", errors="replace").splitlines())
                        for log in Path(stack.log_dir).glob("*")}
    # The same for what staff are shown (the demo FAQ on SIM cards says their PIN starts as 1234).
    staff_lines_before = {line for _, text in staff_responses(stack, []) for line in text.splitlines()}
    agent = stack.agent()
    agent.listen()
    try:
        conversations = [_verify_then_hand_off(stack, lang, messages) for lang, messages in PIN_WAYS]

        # A message without a PIN is asked again and not counted as a wrong PIN.
        with closing(stack.customer()) as customer:
            customer.ask("查话费")
            assert customer.ask("13800138000")["text"] == "谢谢。请输入 4 位服务密码。"
            assert customer.ask("等一下，我找一找")["text"].startswith("没有看到服务密码")
            assert customer.next_message()["text"] == "谢谢。请输入 4 位服务密码。"
            assert _failed_pin_attempts(stack, "13800138000") == 0
            assert customer.ask("1234")["text"].startswith("张伟，您的账户余额")
        # A number that is no phone number (an order number) is refused before any PIN is asked for.
        with closing(stack.customer()) as customer:
            customer.ask("查話費")
            assert customer.ask("20261129001")["text"].startswith("這看起來不是有效的手機號碼")

        # A non-PIN answer to the PIN prompt reaches the agent as typed.
        with closing(stack.customer()) as customer:
            customer.ask("check my balance")
            assert customer.ask("447700900123")["text"].startswith("Thanks. Please enter your 4-digit service PIN")
            asking = "I don't have a PIN, can I talk to a person"
            assert customer.ask(asking)["text"].startswith("I'm connecting you to a human agent")
            no_pin_conversation = customer.session_id
        line = agent.next_event(lambda e: e["type"] == "transcript" and e["line"]["text"] == asking)["line"]
        assert line["conversation_id"] == no_pin_conversation and line["actor"] == "customer"

        # The agent takes one chat and opens every one: what the console is given.
        console = [agent.get("/agent/api/handoffs").text]
        handoffs = {h["conversation_id"]: h for h in agent.get("/agent/api/handoffs").json()["handoffs"]}
        for conversation in conversations + [no_pin_conversation]:
            detail = agent.get(f"/agent/api/handoffs/{handoffs[conversation]['id']}")
            console.append(detail.text)
            said = [l["text"] for l in detail.json()["transcript"] if l["actor"] == "customer"]
            assert any("••••" in text for text in said) or conversation == no_pin_conversation, said
        assert agent.post(f"/agent/api/handoffs/{handoffs[conversations[0]]['id']}/accept").status_code == 200
        console.append(agent.get(f"/agent/api/handoffs/{handoffs[conversations[0]]['id']}").text)
        # A message left for agents with the PIN in it (desk #7): kept and listed masked.
        ticket = {"conversation_id": conversations[0], "kind": "message", "message": "我的服务密码是1234，请回电"}
        assert requests.post(f"{stack.settings.web_url}/api/tickets", json=ticket, timeout=30,
                             headers={"Authorization": f"Bearer {stack.settings.service_token}"}).status_code == 201
        console.extend(json.dumps(e, ensure_ascii=False) for e in _drain(agent))
    finally:
        agent.close()

    hits = [f"console: {text[:200]}" for text in map(_typed_text, console) if PIN_LITERAL.search(text)]
    # The desk's tickets, customer histories, the dashboard and every export (privacy #14).
    staff = staff_responses(stack, [handoffs[c]["id"] for c in conversations + [no_pin_conversation]])
    assert any("我的服务密码是••••" in text for what, text in staff if what == "tickets (open)")
    hits += [f"{what}: {line[:200]}" for what, text in staff for line in text.splitlines()
             if line not in staff_lines_before and PIN_LITERAL.search(line)]
    settings = stack.settings
    for name, url in _databases(settings):
        hits += [f"{name}.{table}: {row[:200]}" for table, row in _all_rows(url)
                 if (name, table, row) not in before and PIN_LITERAL.search(row)]
    for log in Path(stack.log_dir).glob("*"):
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()[log_lines_before.get(log.name, 0):]
        hits += [f"{log.name}: {line[:200]}" for line in lines if PIN_LITERAL.search(line)]
    # What a supervisor exports for each demo customer (everything held on them) holds no PIN either.
    supervisor = stack.agent("supervisor")
    try:
        for phone in ("13800138000", "0912345678", "447700900123"):
            r = supervisor.http.post(f"{settings.web_url}/privacy/export", timeout=60,
                                     data={"phone": phone, "reason": "privacy test: exports hold no PIN"})
            assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json"), r.text[:300]
            hits += [f"export of {phone}: {m.group()}" for m in PIN_LITERAL.finditer(_typed_text(r.text))]
    finally:
        supervisor.close()
    assert hits == []


def staff_responses(stack, handoff_ids):
    """(what, text) of everything staff are given beyond the chats' transcripts (privacy #14):
    the desk's ticket lists, each handoff and its customer history, the dashboard's pages,
    its JSON and every export (CSV and Excel), and the FAQ editor's exports. Spreadsheet
    cells and JSON values that are numbers are left out (figures, not what anyone typed)."""
    found = []
    supervisor, editor = stack.agent("supervisor"), stack.agent("editor")
    try:
        for status in ("open", "done"):
            found.append((f"tickets ({status})", _typed_text(_ok(supervisor.get(f"/agent/api/tickets?status={status}")).text)))
        for handoff_id in handoff_ids:
            found.append((f"handoff {handoff_id}", _typed_text(_ok(supervisor.get(f"/agent/api/handoffs/{handoff_id}")).text)))
            found.append((f"customer history of handoff {handoff_id}", _typed_text(
                _ok(supervisor.get(f"/agent/api/handoffs/{handoff_id}/customer-history")).text)))
        for path in ("/dashboard/", "/dashboard/history", "/dashboard/forecast"):
            found.append((path, FIGURES.sub(" ", _ok(supervisor.get(path)).text)))
        for path in ("/dashboard/api/wallboard", "/dashboard/api/history", "/dashboard/api/forecast"):
            found.append((path, _typed_text(_ok(supervisor.get(path)).text)))
        sheets = _xlsx_text(_ok(supervisor.get("/dashboard/api/export/all.xlsx")).content)
        found += [(f"dashboard export {name}.xlsx", text) for name, text in sheets.items()]
        for name in sheets:
            found.append((f"dashboard export {name}.csv", _csv_text(_ok(supervisor.get(f"/dashboard/api/export/{name}.csv")).text)))
        found.append(("FAQ export (csv)", _csv_text(_ok(editor.get("/kb/export.csv")).text)))
        found += [(f"FAQ export (xlsx) {name}", text) for name, text in _xlsx_text(_ok(editor.get("/kb/export.xlsx")).content).items()]
    finally:
        supervisor.close()
        editor.close()
    return found


# Figures in a page (decimals, times, dates: "12.34", "10:12:34", "2026-11-29"): not typed by anyone.
FIGURES = re.compile(r"\d+(?:[.:/-]\d+)+")


def _ok(response):
    assert response.status_code == 200, (response.url, response.status_code, response.text[:300])
    return response


def _number(value: str) -> bool:
    try:
        float(value)
        return True
    except ValueError:
        return False


def _csv_text(text: str) -> str:
    import csv
    import io

    return "\n".join(cell for row in csv.reader(io.StringIO(text)) for cell in row if not _number(cell))


def _xlsx_text(content: bytes) -> dict:
    import io

    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    return {sheet.title: "\n".join(str(v) for row in sheet.iter_rows(values_only=True) for v in row if isinstance(v, str))
            for sheet in book.worksheets}


def _failed_pin_attempts(stack, phone: str) -> int:
    engine = sa.create_engine(stack.settings.database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT failed_pin_attempts FROM acct_customers WHERE phone = :p"),
                                {"p": phone}).scalar()
    finally:
        engine.dispose()


def _drain(agent):
    events = []
    while not agent.events.empty():
        events.append(agent.events.get_nowait())
    return events
