"""The staff pages' languages: every message translated, the language chosen as staff expect."""
import json
import re

import pytest
from babel.messages.extract import extract_from_dir

from bot import staff_i18n
from bot.settings import PROJECT_ROOT
from handoff_service.audit.handlers import parse_filter
from handoff_service.audit.storage import ACTIONS
from tests.test_web import PASSWORD, client, login, settings  # noqa: F401 - fixtures

METHODS = [("**/templates/**.html", "jinja2"), ("**/console/static/*.js", "javascript")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "t": None}
# Messages the code passes to _() / t() as values rather than literals.
SHOWN_FROM_CODE = [
    "queued", "active", "closed", "Wrong username or password.", *ACTIONS.values(),
    "Give the reason for the request (3 to 200 characters); it is recorded.", "Give the customer's id or phone number.",
    "The customer id is a whole number.", "Tick the box to confirm the erasure; it cannot be undone.",
    "No customer with that id or phone number.", "Only the agent who accepted this chat can reveal it.",
    "Say why you need it (at least 3 characters); it is recorded.",
    # privacy (#14): the transcript's reveal (handoff_service/console/transcript_reveal.py)
    "No such line.", "No such masked value in this line.", "span must be the number of a masked value in the line.",
    # desk (#7): tickets and the reveal of what is in their message (handoff_service/console/handlers.py)
    "No such ticket.", "This ticket has no number that can be read.", "No such masked value in this message.",
    "span must be the number of a masked value in the message.",
]


def messages_in_pages():
    found = set()
    for folder in ("handoff_service", "knowledge_base", "bot/staff_i18n"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            PROJECT_ROOT / folder, METHODS, OPTIONS, keywords=KEYWORDS
        ):
            found.update(m for m in (message if isinstance(message, tuple) else (message,)) if m)
    return found


def test_every_message_of_the_staff_pages_has_both_chinese_translations():
    wanted = messages_in_pages() | set(SHOWN_FROM_CODE)
    assert len(wanted) > 80  # the extraction found the pages' words
    for language in ("zh-Hans", "zh-Hant"):
        missing = sorted(m for m in wanted if m not in staff_i18n.catalog(language))
        assert missing == [], f"{language} lacks: {missing}"


def test_filter_errors_are_translated():
    _, errors = parse_filter({"from": "x", "to": "y", "action": "nonsense"})
    assert len(errors) == 3 and all(e in staff_i18n.catalog("zh-Hans") for e in errors)


def test_traditional_is_derived_from_simplified_unless_written_by_hand():
    assert staff_i18n.translate("zh-Hans", "Send") == "发送"
    assert staff_i18n.translate("zh-Hant", "Send") == "傳送"  # OpenCC, Taiwan phrasing
    assert staff_i18n.translate("zh-Hant", "Log out") == "登出"  # zh_Hant.po
    assert staff_i18n.translate("en", "Send") == "Send"


@pytest.mark.parametrize("header, language", [
    ("zh-TW,zh;q=0.9,en;q=0.8", "zh-Hant"), ("zh-HK", "zh-Hant"), ("zh-Hant-TW", "zh-Hant"),
    ("zh-CN,zh;q=0.9", "zh-Hans"), ("zh", "zh-Hans"), ("en-GB,en;q=0.9", "en"),
    ("fr-FR,fr;q=0.9,en;q=0.5", "en"), ("en;q=0.3,zh-TW;q=0.7", "zh-Hant"), ("de", "zh-Hans"), ("", "zh-Hans"),
    ("en;q=nonsense,zh-TW", "zh-Hant"),
])
def test_language_from_the_browser(header, language):
    assert staff_i18n.choose_language(None, header) == language


def test_the_switchers_cookie_wins_over_the_browser():
    assert staff_i18n.choose_language("zh-Hant", "en-GB") == "zh-Hant"
    assert staff_i18n.choose_language("klingon", "en-GB") == "en"


async def test_login_page_follows_the_browser_then_the_switcher(client):
    page = await (await client.get("/login", headers={"Accept-Language": "zh-CN"})).text()
    assert '<html lang="zh-Hans">' in page and "员工登录" in page
    r = await client.post("/language", data={"lang": "zh-Hant", "next": "/login"}, allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/login"
    page = await (await client.get("/login", headers={"Accept-Language": "zh-CN"})).text()
    assert '<html lang="zh-Hant">' in page and "員工登入" in page
    r = await client.post("/language", data={"lang": "fr", "next": "/login"}, allow_redirects=False)
    assert r.status == 400 and "choose one of" in await r.text()
    # The switcher never sends anyone to another site.
    r = await client.post("/language", data={"lang": "en", "next": "//evil.example/"}, allow_redirects=False)
    assert r.headers["Location"] == "/agent/"


async def test_console_and_editor_speak_the_chosen_language(client):
    await client.post("/language", data={"lang": "zh-Hant", "next": "/"}, allow_redirects=False)
    await login(client, "agent")
    page = await (await client.get("/agent/")).text()
    assert "客服工作台" in page
    script_messages = json.loads(re.search(r'id="staff-messages">(.*?)</script>', page).group(1))
    assert script_messages["Reveal"] == "顯示"  # the console's script speaks it too
    await login(client, "editor")
    page = await (await client.get("/kb/")).text()
    assert "知識庫編輯" in page and "新增問答" in page
