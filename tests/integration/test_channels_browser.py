"""One customer, one history, as the agent sees it (channels #10): a customer verified on
the web chat and later on Telegram (through Rasa's Telegram connector and the platform
stand-in) is one person in the agent console, whose context panel lists the earlier web
conversation with its channel and date and lets the agent read its transcript, with the
personal data in it masked and revealed with a reason, as in the open chat (the server's
rule and its audit record: tests/test_privacy_console.py)."""
import pytest

from tests.integration.test_browser import TIMEOUT, browser, login  # noqa: F401 - fixture
from tests.integration.test_messaging_channels import TelegramUser
from tests.integration.test_staff_browser import staff_page  # noqa: F401 - fixture

pytestmark = [pytest.mark.integration, pytest.mark.browser]

WORDS = {  # the console's words for this, per staff language
    "zh-Hans": dict(locale="zh-CN", earlier="以往对话", web="网页聊天", telegram="Telegram", messages="条消息",
                    reveal="显示"),
    "en": dict(locale="en-GB", earlier="Earlier conversations", web="Web chat", telegram="Telegram",
               messages="messages", reveal="Reveal"),
}


@pytest.mark.parametrize("language", list(WORDS))
def test_the_console_shows_a_customers_web_conversation_beside_their_telegram_chat(stack, staff_page, language):
    from playwright.sync_api import expect

    words = WORDS[language]
    agent_api = stack.agent()
    agent_api.listen()
    web = stack.customer()
    handoff_id = None
    try:
        # On the web today: verified, then a question.
        web.ask("查话费")
        web.ask("13800138000")
        assert web.ask("1234")["text"].startswith("张伟")
        web.ask("怎么开发票")
        # On Telegram tomorrow: verified again, then asks for a person.
        user = TelegramUser(stack)
        user.ask("查话费")
        user.ask("13800138000")
        assert user.ask("1234").startswith("张伟")
        assert user.ask("转人工").startswith("正在为您转接人工客服")
        handoff_id = agent_api.next_event(lambda e: e["type"] == "handoff"
                                          and e["handoff"]["conversation_id"] == user.conversation_id)["handoff"]["id"]
        page = staff_page(words["locale"])
        login(page, stack.settings.web_url, "agent", "/agent/")
        page.locator(f'[data-testid="queue-item"][data-conversation-id="{user.conversation_id}"]').click()
        context = page.get_by_test_id("context-panel")
        expect(context).to_contain_text(words["telegram"])  # the channel the customer is on now
        expect(context).to_contain_text(words["earlier"])
        earlier = page.locator(f'[data-testid="earlier-conversation"][data-conversation-id="{web.session_id}"]')
        expect(earlier).to_have_count(1)
        expect(earlier).to_have_attribute("data-channel", "socketio")
        summary = earlier.locator("summary")
        expect(summary).to_contain_text(words["web"])
        expect(summary.locator("time")).to_have_count(1)  # when it happened
        expect(summary).to_contain_text(words["messages"])
        # The Telegram chat itself is the main transcript, not an "earlier" one.
        expect(page.locator(f'[data-testid="earlier-conversation"][data-conversation-id="{user.conversation_id}"]')
               ).to_have_count(0)
        transcript = earlier.get_by_test_id("earlier-transcript")
        expect(transcript).to_be_hidden()
        summary.click()  # the agent reads the earlier transcript
        expect(transcript).to_be_visible()
        expect(transcript.get_by_test_id("earlier-line").filter(has_text="怎么开发票")).to_have_count(1)
        expect(transcript).not_to_contain_text("1234")  # the PIN was masked when stored
        # Accepting redraws the panel: the transcript the agent opened stays open.
        page.get_by_test_id("accept-button").click()
        expect(page.get_by_test_id("close-button")).to_be_visible()
        transcript = page.locator(f'[data-testid="earlier-conversation"][data-conversation-id="{web.session_id}"] '
                                  '[data-testid="earlier-transcript"]')
        expect(transcript).to_be_visible()
        # The phone number the customer typed on the web is masked there too; Reveal, with a reason.
        typed = transcript.get_by_test_id("earlier-line").filter(has=page.get_by_test_id("masked-value"))
        expect(typed).to_have_count(1)
        expect(typed.get_by_test_id("masked-value")).to_have_text("•••••••8000")
        expect(transcript).not_to_contain_text("13800138000")
        expect(typed.get_by_test_id("reveal-span")).to_have_text(words["reveal"])
        typed.get_by_test_id("reveal-span").click()
        typed.get_by_test_id("reveal-reason").fill("customer asked for a call back")
        typed.get_by_test_id("reveal-reason").press("Enter")
        expect(typed).to_contain_text("13800138000")
        expect(typed.get_by_test_id("reveal-span")).to_have_count(0)
    finally:
        if handoff_id is not None:
            agent_api.post(f"/agent/api/handoffs/{handoff_id}/accept")
            agent_api.post(f"/agent/api/handoffs/{handoff_id}/close")
        web.close()
        agent_api.close()
