"""Account self-service in a real browser (Debian's chromium, Playwright), on the demo pages
(DEMO_PAGES=on, as `make run` has them): a customer signed in on the demo shop gets the
balance at once; a visitor verifies by phone and the one-time code the demo panel beside
the chat shows (never the chat itself, never another browser)."""
import re

import pytest

from tests.integration.test_accounts import LANGUAGES, generated
from tests.integration.test_browser import PHONE, browser, page_opener  # noqa: F401  (the browser fixture)

pytestmark = [pytest.mark.integration, pytest.mark.browser]

LOCALES = {"zh-Hans": "zh-CN", "zh-Hant": "zh-TW", "en": "en-GB"}
BY_LANGUAGE = pytest.mark.parametrize("language", list(LOCALES))
ASKS_PIN = {"zh-Hans": "4 位服务密码", "zh-Hant": "4 位服務密碼", "en": "4-digit service PIN"}
CODE_BUTTON = {"zh-Hans": "改用短信验证码", "zh-Hant": "改用簡訊驗證碼", "en": "Text me a code instead"}
NO_TEXTS_YET = {"zh-Hans": "暂无", "zh-Hant": "暫無", "en": "None yet"}


@pytest.fixture
def page_in(browser):  # noqa: F811
    """Pages in new browser contexts (each its own storage: another visitor), closed after."""
    with page_opener(browser, PHONE) as open_page:
        yield lambda language: open_page(LOCALES[language])


def send(page, text):
    page.get_by_test_id("chat-input").fill(text)
    page.get_by_test_id("chat-input").press("Enter")


@BY_LANGUAGE
def test_a_customer_signed_in_on_the_demo_shop_gets_the_balance_at_once(stack, page_in, language):
    from playwright.sync_api import expect

    words = LANGUAGES[language]
    page = page_in(language)
    page.goto(f"{stack.settings.web_url}/demo/")
    page.get_by_test_id("demo-customer").filter(has_text=words["name"]).click()
    expect(page.get_by_test_id("signed-in-as")).to_contain_text(words["name"])
    expect(page.get_by_test_id("chat-input")).to_be_enabled()
    send(page, words["balance_q"])
    bot = page.locator(".msg.msg-bot .msg-text")
    expect(bot.last).to_contain_text(words["balance"])  # no phone number, no PIN, no code asked
    expect(bot.last).to_contain_text(words["name"])
    expect(page.locator(".msg.msg-bot .msg-text", has_text=words["asks_phone"])).to_have_count(0)


@BY_LANGUAGE
def test_a_visitor_verifies_by_the_code_the_demo_panel_shows_and_then_gets_data(stack, page_in, language):
    from playwright.sync_api import expect

    words, who = LANGUAGES[language], generated(language, 7)
    page = page_in(language)
    page.goto(f"{stack.settings.web_url}/")
    expect(page.get_by_test_id("chat-input")).to_be_enabled()
    expect(page.get_by_test_id("demo-outbox-empty")).to_contain_text(NO_TEXTS_YET[language])
    bot = page.locator(".msg.msg-bot .msg-text")
    send(page, words["balance_q"])
    expect(bot.last).to_contain_text(words["asks_phone"])
    send(page, who.phone)
    expect(bot.last).to_contain_text(ASKS_PIN[language])
    page.locator(".quick-reply", has_text=CODE_BUTTON[language]).click()

    sent = page.get_by_test_id("demo-outbox-item")
    expect(sent).to_have_count(1)
    expect(sent.first).to_contain_text(who.phone[-4:])
    code = re.search(r"\b\d{6}\b", sent.first.inner_text()).group(0)
    expect(page.get_by_test_id("chat-log")).not_to_contain_text(code)  # the chat never shows it

    send(page, code)
    expect(bot.last).to_contain_text(say_money(who, language))
    expect(bot.last).to_contain_text(who.display_name)
    expect(page.locator(".msg.msg-bot .msg-text", has_text=code)).to_have_count(0)

    # Another visitor's browser sees none of it.
    other = page_in(language)
    other.goto(f"{stack.settings.web_url}/")
    expect(other.get_by_test_id("chat-input")).to_be_enabled()
    expect(other.get_by_test_id("demo-outbox")).to_have_attribute("data-loaded", "true")  # it asked, and got
    expect(other.get_by_test_id("demo-outbox-empty")).to_be_visible()
    expect(other.get_by_test_id("demo-outbox-item")).to_have_count(0)


def say_money(customer, language):
    from actions import account_text as say

    return say.money(customer.balance_cents, customer.currency, language)
