"""The console's tools in real browsers over the real stack: an agent searches the knowledge
base and inserts an answer that reaches the customer's page, takes an agent-assist
suggestion, uses a canned reply; typing shows on both sides; a second customer's words
raise the unread count and the page title; customer HTML stays text. In each language."""
import re
import uuid

import pytest

from tests.integration.test_browser import LANGUAGES, PHONE, browser, login, page_opener, send  # noqa: F401  (fixture)

pytestmark = [pytest.mark.integration, pytest.mark.browser]


WORDS = {
    "zh-Hans": dict(ask="怎么开发票", invoice_answer="电子发票", search="营业时间", typing="Demo Agent 正在输入…",
                    canned_title="稍等", canned_body="{customer_name}您好，请稍等，我查一下。",
                    canned_sent="您好，请稍等，我查一下。"),
    "zh-Hant": dict(ask="怎麼開發票", invoice_answer="電子發票", search="營業時間", typing="Demo Agent 正在輸入…",
                    canned_title="稍等", canned_body="{customer_name}您好，請稍等，我查一下。",
                    canned_sent="您好，請稍等，我查一下。"),
    "en": dict(ask="How do I get an invoice", invoice_answer="E-invoices", search="opening hours",
               typing="Demo Agent is typing…", canned_title="One moment",
               canned_body="Hello {customer_name}, one moment please.", canned_sent="Hello, one moment please."),
}


@pytest.fixture
def contexts(browser, stack):  # noqa: F811
    with page_opener(browser, PHONE) as open_page:
        yield lambda viewport, locale: open_page(locale, viewport)


def start_chat(page, web, language):
    from playwright.sync_api import expect

    page.goto(f"{web}/")
    expect(page.get_by_test_id("chat-input")).to_be_enabled()
    send(page, LANGUAGES[language]["handoff"])
    expect(page.locator(".msg.msg-bot .msg-text").last).to_contain_text(LANGUAGES[language]["queued"])
    return page.evaluate("localStorage.getItem('supportbot.session_id')")


@pytest.mark.parametrize("language", list(WORDS))
def test_agent_tools_in_the_console_reach_the_customer(stack, contexts, language, tmp_path):
    from playwright.sync_api import expect

    words, web = WORDS[language], stack.settings.web_url
    customer = contexts(viewport={"width": 390, "height": 780}, locale=LANGUAGES[language]["locale"])
    agent = contexts(viewport={"width": 1280, "height": 900}, locale="en-GB")
    conversation = start_chat(customer, web, language)

    login(agent, web, "agent", "/agent/")
    agent.locator(f'[data-testid="queue-item"][data-conversation-id="{conversation}"]').click()
    agent.get_by_test_id("accept-button").click()
    expect(agent.get_by_test_id("reply-input")).to_be_enabled()
    transcript = agent.get_by_test_id("transcript")

    # Customer HTML is shown as text in the console.
    send(customer, "<img src=x onerror=alert(1)><b>hi</b>")
    expect(transcript.locator(".actor-customer .line-text").last).to_have_text("<img src=x onerror=alert(1)><b>hi</b>")
    assert transcript.locator("img, b").count() == 0

    # Agent assist: the customer's question brings its entry, in the chat's language; one click inserts it.
    send(customer, words["ask"])
    suggestion = agent.locator('[data-testid="assist"] li[data-slug="invoice"]')
    expect(suggestion).to_contain_text(words["invoice_answer"])
    suggestion.get_by_test_id("assist-insert").click()
    reply = agent.get_by_test_id("reply-input")
    expect(reply).to_have_value(re.compile(re.escape(words["invoice_answer"])))
    reply.press("Enter")
    expect(customer.locator(".msg.msg-agent .msg-text").last).to_contain_text(words["invoice_answer"])

    # Knowledge-base search in the chat's language; the inserted answer reaches the customer.
    agent.get_by_test_id("kb-button").click()
    agent.get_by_test_id("kb-search").fill(words["search"])
    agent.get_by_test_id("kb-search").press("Enter")
    hours = agent.locator('[data-testid="kb-results"] li[data-slug="service-hours"]')
    expect(hours).to_contain_text("8:00–22:00")
    hours.get_by_test_id("kb-insert").click()
    expect(reply).to_have_value(re.compile("8:00–22:00"))
    reply.press("Enter")
    expect(customer.locator(".msg.msg-agent .msg-text").last).to_contain_text("8:00–22:00")

    # A canned reply: added once, then picked with "/" and the keyboard; {customer_name} filled
    # (this customer is not verified: left out).
    title = f"{words['canned_title']} {uuid.uuid4().hex[:4]}"
    agent.get_by_test_id("canned-button").click()
    agent.get_by_test_id("canned-new-title").fill(title)
    agent.get_by_test_id("canned-new-body").fill("draft")
    agent.get_by_test_id("canned-new-submit").click()
    option = agent.get_by_test_id("canned-option").filter(has_text=title)
    expect(option).to_contain_text("draft")
    option.get_by_test_id("canned-edit").click()  # the agent's own: they may change it
    expect(agent.get_by_test_id("canned-new-title")).to_have_value(title)
    agent.get_by_test_id("canned-new-body").fill(words["canned_body"])
    agent.get_by_test_id("canned-new-submit").click()
    expect(option).to_contain_text(words["canned_body"])
    agent.screenshot(path=str(tmp_path / "console-tools.png"))
    agent.get_by_test_id("canned-filter").press("Escape")
    expect(agent.get_by_test_id("canned-picker")).to_be_hidden()
    reply.fill("")
    reply.press_sequentially("/")
    picker_filter = agent.get_by_test_id("canned-filter")
    expect(picker_filter).to_be_focused()
    picker_filter.press_sequentially(title)
    expect(agent.get_by_test_id("canned-option")).to_have_count(1)
    picker_filter.press("ArrowDown")  # one option: stays on it
    picker_filter.press("Enter")
    expect(reply).to_have_value(words["canned_sent"])
    expect(reply).to_be_focused()
    reply.press("Enter")
    expect(customer.locator(".msg.msg-agent .msg-text").last).to_have_text(words["canned_sent"])

    # Typing, both ways; never in the transcript.
    customer.get_by_test_id("chat-input").fill("还在")
    expect(agent.get_by_test_id("customer-typing")).to_be_visible()
    customer.get_by_test_id("chat-input").fill("")
    expect(agent.get_by_test_id("customer-typing")).to_be_hidden()
    reply.fill("…")
    agent_typing = customer.get_by_test_id("agent-typing")
    expect(agent_typing).to_have_text(words["typing"])
    reply.fill("")
    expect(agent_typing).to_be_hidden()
    lines = transcript.locator('[data-testid="line"]').count()

    # A second customer writes while the agent is on the first: unread count, title, sound.
    other = contexts(viewport={"width": 390, "height": 780}, locale=LANGUAGES[language]["locale"])
    second = start_chat(other, web, language)
    item = agent.locator(f'[data-testid="queue-item"][data-conversation-id="{second}"]')
    expect(item).to_be_visible()
    send(other, LANGUAGES[language]["waiting"])
    expect(item.locator(".qi-unread")).to_have_text(re.compile(r"^\d+ new$"))
    expect(agent).to_have_title(re.compile(r"^\(\d+\) "))
    assert agent.locator("body").get_attribute("data-last-sound")
    item.click()
    expect(agent.get_by_test_id("transcript")).to_contain_text(LANGUAGES[language]["waiting"])
    expect(agent).not_to_have_title(re.compile(r"^\("))
    agent.get_by_test_id("accept-button").click()
    agent.get_by_test_id("close-button").click()

    agent.locator(f'[data-testid="queue-item"][data-conversation-id="{conversation}"]').click()
    expect(transcript.locator('[data-testid="line"]')).to_have_count(lines)  # no typing line was stored
    agent.get_by_test_id("close-button").click()
    expect(customer.locator(".msg.msg-bot .msg-text").last).to_contain_text(LANGUAGES[language]["closed"])
