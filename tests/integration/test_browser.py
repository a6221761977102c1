"""The slice in a real browser: Debian's headless chromium, driven by Playwright.

Two pages at once: the customer's chat window and the agent console; then the
FAQ editor.  Every wait is on something appearing on the page.
"""
import contextlib
import shutil

import pytest

from tests.integration.stack import STAFF_PASSWORD

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TIMEOUT = 30_000  # ms


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not shutil.which("chromium"):
        pytest.fail("Debian's chromium is not installed (`make browser` installs it)")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


PHONE = {"width": 390, "height": 780}
DESKTOP = {"width": 1280, "height": 800}


@contextlib.contextmanager
def page_opener(browser, viewport: dict):
    """``open_page(locale)``: a page in a new browser context (its own storage: another
    person), all closed at the end; a JavaScript error on any of them fails the test."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT)
    contexts, errors = [], []

    def open_page(locale: str, viewport: dict = viewport):
        context = browser.new_context(viewport=viewport, locale=locale)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert errors == [], f"JavaScript errors on the pages: {errors}"


@pytest.fixture
def customer_locale():
    return "zh-CN"


@pytest.fixture
def pages(browser, stack, customer_locale):
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT)
    customer_ctx = browser.new_context(viewport={"width": 390, "height": 780}, locale=customer_locale)  # a phone
    agent_ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    errors = []
    customer, agent = customer_ctx.new_page(), agent_ctx.new_page()
    for page in (customer, agent):
        page.on("pageerror", lambda e: errors.append(str(e)))
    yield customer, agent
    customer_ctx.close()
    agent_ctx.close()
    assert errors == [], f"JavaScript errors on the pages: {errors}"


def login(page, web_url, username, next_path):
    page.goto(f"{web_url}/login?next={next_path}")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(STAFF_PASSWORD)
    page.get_by_test_id("login-submit").click()


def send(page, text):
    page.get_by_test_id("chat-input").fill(text)
    page.get_by_test_id("chat-input").press("Enter")


# What a customer sees in each language: the page's own words, then the conversation.
LANGUAGES = {
    "zh-Hans": dict(
        locale="zh-CN", placeholder="请输入消息…", hello="你好", greeting="您好！我是智能客服",
        quick_reply="营业时间", hours="人工客服每天 8:00–22:00 在线", pay="怎么交话费", paid="微信、支付宝",
        handoff="转人工", queued="正在为您转接人工客服", joined="人工客服 Demo Agent 已接入",
        waiting="我的网络一直断线", reply="您好，我来帮您检查线路", closed="人工客服已结束对话",
        invoice="怎么开发票", invoiced="电子发票",
    ),
    "zh-Hant": dict(
        locale="zh-TW", placeholder="請輸入訊息…", hello="您好", greeting="您好！我是智能客服。您可以問我問題",
        quick_reply="營業時間", hours="人工客服每天 8:00–22:00 在線", pay="怎麼繳話費", paid="微信、支付寶",
        handoff="轉人工", queued="正在為您轉接人工客服", joined="人工客服 Demo Agent 已接入",
        waiting="我的網路一直斷線", reply="您好，我來幫您檢查線路", closed="人工客服已結束對話",
        invoice="怎麼開發票", invoiced="電子發票",
    ),
    "en": dict(
        locale="en-GB", placeholder="Type your message…", hello="hello", greeting="Hello! I'm the support assistant",
        quick_reply="Opening hours", hours="Our agents are available every day", pay="How can I pay my bill?",
        paid="WeChat Pay, Alipay", handoff="talk to a human", queued="I'm connecting you to a human agent",
        joined="Demo Agent from our support team has joined", waiting="My internet keeps dropping",
        reply="Hello, I'm checking your line", closed="The agent has ended the chat",
        invoice="How do I get an invoice", invoiced="E-invoices",
    ),
}


@pytest.mark.parametrize(
    "language, customer_locale", [(name, words["locale"]) for name, words in LANGUAGES.items()], ids=list(LANGUAGES)
)
def test_customer_and_agent_in_two_browser_pages(stack, pages, language, tmp_path):
    from playwright.sync_api import expect

    words = LANGUAGES[language]
    customer, agent = pages
    web = stack.settings.web_url
    customer.goto(f"{web}/")
    expect(customer.get_by_test_id("chat-input")).to_be_enabled()
    # The page speaks the browser's language.
    expect(customer.get_by_test_id("chat-input")).to_have_attribute("placeholder", words["placeholder"])
    conversation = customer.evaluate("localStorage.getItem('supportbot.session_id')")

    # The bot greets with quick replies; a quick reply answers from the knowledge base.
    send(customer, words["hello"])
    bot = customer.locator(".msg.msg-bot .msg-text")
    expect(bot.last).to_contain_text(words["greeting"])
    customer.locator(".quick-reply", has_text=words["quick_reply"]).click()
    expect(bot.last).to_contain_text(words["hours"])

    # Text that looks like HTML is shown as text, never run.
    send(customer, "<img src=x onerror=alert(1)>" + words["pay"])
    expect(customer.locator(".msg.msg-user .msg-text").last).to_have_text("<img src=x onerror=alert(1)>" + words["pay"])
    expect(bot.last).to_contain_text(words["paid"])

    # A reload (or a dropped connection) keeps the conversation on screen, each message once.
    customer.reload()
    expect(customer.get_by_test_id("chat-input")).to_be_enabled()
    mine = customer.locator(".msg.msg-user .msg-text", has_text="<img src=x onerror=alert(1)>")
    expect(mine).to_have_count(1)
    expect(bot.last).to_contain_text(words["paid"])
    expect(customer.locator(".msg.msg-bot .msg-text", has_text=words["paid"])).to_have_count(1)

    # The customer asks for a person.
    send(customer, words["handoff"])
    expect(bot.last).to_contain_text(words["queued"])
    # Waiting for a person: the bot will not answer, so no "typing" dots.
    send(customer, words["waiting"])
    assert customer.get_by_test_id("typing-indicator").is_hidden()

    # The agent sees the chat in the queue, with what the bot understood.
    login(agent, web, "agent", "/agent/")
    item = agent.locator(f'[data-testid="queue-item"][data-conversation-id="{conversation}"]')
    expect(item).to_be_visible()
    item.click()
    expect(agent.get_by_test_id("context-panel")).to_contain_text("human_handoff")
    transcript = agent.get_by_test_id("transcript")
    expect(transcript).to_contain_text(words["pay"])  # the story before the handoff
    agent.get_by_test_id("accept-button").click()
    expect(customer.locator(".notice").last).to_contain_text(words["joined"])

    # While the agent has the chat, the customer's words reach the console live.
    send(customer, words["waiting"])
    assert customer.get_by_test_id("typing-indicator").is_hidden()
    expect(transcript.locator(".actor-customer").last).to_contain_text(words["waiting"])

    # The agent replies; the customer's window shows it as the agent's.
    agent.get_by_test_id("reply-input").fill(words["reply"])
    agent.get_by_test_id("reply-input").press("Enter")
    agent_bubble = customer.locator(".msg.msg-agent").last
    expect(agent_bubble).to_contain_text(words["reply"])
    expect(agent_bubble).to_contain_text("Demo Agent")
    expect(transcript.locator(".actor-agent").last).to_contain_text(words["reply"])
    customer.screenshot(path=str(tmp_path / "customer.png"))
    agent.screenshot(path=str(tmp_path / "agent.png"))

    # Closing hands back to the bot, which answers again.
    agent.get_by_test_id("close-button").click()
    expect(bot.last).to_contain_text(words["closed"])
    send(customer, words["invoice"])
    expect(bot.last).to_contain_text(words["invoiced"])


def test_editor_saves_an_answer_the_bot_uses_next(stack, browser, pages):
    from playwright.sync_api import expect

    customer, editor = pages
    web = stack.settings.web_url
    def save_invoice_answer(text: str) -> str:
        editor.goto(f"{web}/kb/?q=invoice")
        editor.locator('[data-testid="faq-row"][data-slug="invoice"] [data-testid="edit-link"]').click()
        before = editor.get_by_test_id("answer-zh-Hans").input_value()
        editor.get_by_test_id("answer-zh-Hans").fill(text)
        editor.get_by_test_id("save-faq").click()
        expect(editor.get_by_test_id("saved-notice")).to_contain_text("invoice")
        return before

    login(editor, web, "editor", "/kb/?q=invoice")
    original = save_invoice_answer("发票请在 App 的“账单”页下载（浏览器测试）。")
    try:
        customer.goto(f"{web}/")
        expect(customer.get_by_test_id("chat-input")).to_be_enabled()
        send(customer, "怎么开发票")
        expect(customer.locator(".msg.msg-bot .msg-text").last).to_have_text("发票请在 App 的“账单”页下载（浏览器测试）。")
    finally:
        save_invoice_answer(original)  # later tests in the session ask about invoices too


def test_console_says_when_a_customer_cannot_receive_live_replies(stack, pages):
    """Defect 8: a REST customer's chat looked like any other, and replies went nowhere."""
    import uuid

    import requests
    from playwright.sync_api import expect

    _, agent = pages
    web = stack.settings.web_url
    sender = f"rest-browser-{uuid.uuid4().hex[:8]}"
    r = requests.post(f"{stack.settings.rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": "转人工"},
                      timeout=30)
    assert r.status_code == 200
    login(agent, web, "agent", "/agent/")
    agent.locator(f'[data-testid="queue-item"][data-conversation-id="{sender}"]').click()
    notice = agent.get_by_test_id("channel-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("cannot receive live replies")
    agent.get_by_test_id("accept-button").click()
    expect(agent.get_by_test_id("close-button")).to_be_visible()
    expect(agent.get_by_test_id("reply-input")).to_be_disabled()  # nothing to send that would be lost
    agent.get_by_test_id("close-button").click()
    # A web chat customer's conversation shows no such notice.
    customer_page = pages[0]
    customer_page.goto(f"{web}/")
    expect(customer_page.get_by_test_id("chat-input")).to_be_enabled()
    conversation = customer_page.evaluate("localStorage.getItem('supportbot.session_id')")
    send(customer_page, "转人工")
    expect(customer_page.locator(".msg.msg-bot .msg-text").last).to_contain_text("正在为您转接人工客服")
    agent.locator(f'[data-testid="queue-item"][data-conversation-id="{conversation}"]').click()
    expect(agent.get_by_test_id("transcript")).to_contain_text("转人工")
    expect(notice).to_be_hidden()
    agent.get_by_test_id("accept-button").click()
    expect(agent.get_by_test_id("reply-input")).to_be_enabled()
    agent.get_by_test_id("close-button").click()
