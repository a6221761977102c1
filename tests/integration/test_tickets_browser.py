"""Callbacks and messages customers leave instead of waiting (desk #7), in real browsers.

Nobody is online (the demo agent is offline), so the bot offers a callback or a message.
A customer on the chat page (Traditional Chinese) leaves a message with HTML and their
phone number in it; another asks for a callback through the real chat channel. The
agent's console, in Traditional Chinese and open all along, shows both tickets as they
come: the customer's HTML as text, the phone numbers masked. The agent reveals them with
a reason, with the keyboard, and marks both done; they leave the list.
Every wait is on something appearing on a page."""
import re

import pytest

from tests.integration.test_browser import DESKTOP, PHONE, browser, login, page_opener, send  # noqa: F401 - fixture

pytestmark = [pytest.mark.integration, pytest.mark.browser]

MESSAGE = "<b>寬頻</b>一直斷線<script>alert('x')</script>，請打 0912345678 找我"


@pytest.fixture
def open_page(browser):  # noqa: F811
    with page_opener(browser, DESKTOP) as opener:
        yield opener


def test_an_agent_works_a_message_and_a_callback_left_through_the_chat(stack, open_page, tmp_path):
    from playwright.sync_api import expect

    web = stack.settings.web_url
    agent = open_page("zh-TW")
    dialogs = []
    agent.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    login(agent, web, "agent", "/agent/")
    panel = agent.get_by_test_id("tickets-panel")
    expect(panel.locator("#tickets-heading")).to_contain_text("回電與留言")
    expect(agent.get_by_test_id("ws-status")).to_have_text("即時")  # the feed is live: tickets arrive by it

    # A customer leaves a message from the chat page.
    customer = open_page("zh-TW", PHONE)
    customer.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    customer.goto(f"{web}/")
    expect(customer.get_by_test_id("chat-input")).to_be_enabled()
    conversation = customer.evaluate("localStorage.getItem('supportbot.session_id')")
    bot = customer.locator(".msg.msg-bot .msg-text")
    send(customer, "轉人工")
    expect(bot.last).to_contain_text("正在為您轉接人工客服")
    customer.locator(".quick-replies:not(.used) .quick-reply", has_text="留言").click()
    expect(bot.last).to_contain_text("留言的內容")
    send(customer, MESSAGE)
    expect(bot.last).to_contain_text("謝謝，您的留言已轉交客服人員")

    # It appears in the console without a reload: the customer's HTML as text, the phone masked.
    message = panel.locator(f'[data-testid="ticket"][data-conversation-id="{conversation}"]')
    expect(message).to_have_attribute("data-kind", "message")
    expect(message).to_contain_text("留言")
    expect(message).to_contain_text("繁體中文")
    text = message.get_by_test_id("ticket-message")
    expect(text).to_contain_text("<b>寬頻</b>一直斷線<script>alert('x')</script>")
    expect(text.get_by_test_id("masked-value")).to_have_text("••••••5678")
    expect(text).not_to_contain_text("0912345678")
    expect(panel.locator("b")).to_have_count(0)
    expect(panel.locator("script")).to_have_count(0)

    # Another customer asks for a callback through the real chat channel.
    caller = stack.customer()
    try:
        caller.ask("轉人工")
        caller.say("/handoff_callback")
        assert caller.next_message()["text"].startswith("請留下我們回電的手機號碼")
        assert caller.ask("0987654321")["text"]  # "when would suit you?"
        assert caller.ask("明天上午")["text"].startswith("謝謝，我們會在 明天上午 回電到")
    finally:
        caller.close()
    callback = panel.locator(f'[data-testid="ticket"][data-conversation-id="{caller.session_id}"]')
    expect(callback).to_have_attribute("data-kind", "callback")
    expect(callback).to_contain_text("回電")
    expect(callback.get_by_test_id("ticket-time")).to_have_text("明天上午")
    expect(callback.get_by_test_id("ticket-phone")).to_have_text(re.compile(r"^•+4321$"))  # kept as +886…

    # The agent reveals the number in the message with a reason, with the keyboard alone.
    text.get_by_test_id("reveal-span").focus()
    agent.keyboard.press("Enter")
    reason = message.get_by_test_id("reveal-reason")
    expect(reason).to_be_focused()
    reason.fill("客戶要求回電")
    reason.press("Enter")
    expect(text.locator(".revealed")).to_have_text("0912345678")
    # And the callback's number.
    callback.get_by_test_id("reveal-ticket-phone").click()
    callback.get_by_test_id("reveal-reason").fill("依約回電")
    callback.get_by_test_id("reveal-submit").click()
    expect(callback.get_by_test_id("ticket-phone")).to_have_text(re.compile(r"^(\+886|0)987654321$"))

    agent.screenshot(path=str(tmp_path / "tickets.png"))

    # Done: both leave the list, and the focus stays in it.
    done = message.get_by_test_id("ticket-done")
    expect(done).to_have_text("已處理")
    done.focus()
    agent.keyboard.press("Enter")
    expect(message).to_have_count(0)
    expect(panel.locator(":focus")).to_have_count(1)  # on the next ticket's Done, or the list's heading
    callback.get_by_test_id("ticket-done").click()
    expect(callback).to_have_count(0)
    # Still gone after a refresh from the server.
    panel.get_by_test_id("tickets-refresh").click()
    expect(panel.locator(".tickets-loading")).to_be_hidden()
    expect(panel.locator(f'[data-conversation-id="{conversation}"]')).to_have_count(0)
    assert dialogs == [], f"customer text ran as script: {dialogs}"
