"""Personal data a customer types, in a real browser over the real stack (privacy #14): the
agent's console shows it masked in the transcript, reveals it with a reason, and the
supervisor's audit page shows that reveal; each in the staff member's language."""
import pytest

from tests.integration.test_browser import browser, login  # noqa: F401 - fixture
from tests.integration.test_staff_browser import staff_page  # noqa: F401 - fixture

pytestmark = [pytest.mark.integration, pytest.mark.browser]

PHONE, MASKED = "13911112222", "•••••••2222"


def test_agent_reveals_a_number_the_customer_typed_and_the_supervisor_sees_it_on_record(stack, staff_page):
    from playwright.sync_api import expect

    web = stack.settings.web_url
    customer = stack.customer()
    try:
        assert customer.ask("转人工")["text"].startswith("正在为您转接")
        customer.say(f"我的电话是{PHONE}，方便的话请回电")  # while queued: straight to the desk

        agent = staff_page("zh-TW")
        login(agent, web, "agent", "/agent/")
        agent.locator(f'[data-testid="queue-item"][data-conversation-id="{customer.session_id}"]').click()
        typed = agent.locator('[data-testid="line"]', has_text="我的电话是")
        expect(typed.get_by_test_id("masked-value")).to_have_text(MASKED)
        expect(agent.get_by_test_id("transcript")).not_to_contain_text(PHONE)
        line = agent.locator(f'[data-testid="line"][data-line-id="{typed.get_attribute("data-line-id")}"]')
        reveal = line.get_by_test_id("reveal-span")
        expect(reveal).to_have_text("顯示")  # the console's words in the agent's language
        reveal.click()
        # An empty reason is not sent: the browser asks for one, nothing is revealed.
        line.get_by_test_id("reveal-submit").click()
        expect(line).to_contain_text(MASKED)
        line.get_by_test_id("reveal-reason").fill("客戶要求回電")
        line.get_by_test_id("reveal-reason").press("Enter")
        expect(line).to_contain_text(f"我的电话是{PHONE}，方便的话请回电")
        expect(line.get_by_test_id("reveal-span")).to_have_count(0)

        supervisor = staff_page("en-GB")
        login(supervisor, web, "supervisor", "/audit/")
        supervisor.get_by_test_id("filter-action").select_option("personal_data_revealed")
        supervisor.get_by_test_id("filter-submit").click()
        row = supervisor.locator('[data-testid="audit-row"][data-action="personal_data_revealed"]',
                                 has_text="客戶要求回電").first
        expect(row).to_contain_text("agent")
        expect(row).to_contain_text("Revealed personal data")
        expect(row).to_contain_text("transcript_line")
        expect(row).to_contain_text(MASKED)
        expect(row).not_to_contain_text(PHONE)
    finally:
        customer.close()
