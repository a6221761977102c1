"""Staff pages in a real browser (Debian's chromium via Playwright) over the real stack:
the console in each language, and a reveal of a masked phone number that the
supervisor then finds in the audit log."""
import pytest

from tests.integration.test_browser import DESKTOP, browser, login, page_opener  # noqa: F401 - fixture

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CONSOLE_WORDS = {  # what an agent reads: from the template, and from the console's script
    "zh-Hans": dict(locale="zh-CN", title="客服工作台", empty="没有等待中的客户", live="实时", logout="退出登录"),
    "zh-Hant": dict(locale="zh-TW", title="客服工作台", empty="沒有等待中的客戶", live="即時", logout="登出"),
    "en": dict(locale="en-GB", title="Agent console", empty="No customers waiting", live="Live", logout="Log out"),
}


@pytest.fixture
def staff_page(browser):  # noqa: F811
    with page_opener(browser, DESKTOP) as open_page:
        yield lambda locale="en-GB": open_page(locale)


@pytest.mark.parametrize("language", list(CONSOLE_WORDS))
def test_console_speaks_the_browsers_language_and_the_switcher_changes_it(stack, staff_page, language):
    from playwright.sync_api import expect

    words = CONSOLE_WORDS[language]
    page = staff_page(words["locale"])
    login(page, stack.settings.web_url, "agent", "/agent/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator(".app-title")).to_have_text(words["title"])
    expect(page.get_by_test_id("ws-status")).to_have_text(words["live"])  # written by the script
    expect(page.locator(".logout-form button")).to_have_text(words["logout"])
    # Another language from the switcher, kept for the next page.
    other = "en" if language != "en" else "zh-Hant"
    page.locator(f'[data-testid="language-switch"] button[data-lang="{other}"]').click()
    expect(page.locator("html")).to_have_attribute("lang", other)
    expect(page.locator(".app-title")).to_have_text(CONSOLE_WORDS[other]["title"])
    expect(page.get_by_test_id("ws-status")).to_have_text(CONSOLE_WORDS[other]["live"])
    page.goto(f"{stack.settings.web_url}/login")
    expect(page.locator("html")).to_have_attribute("lang", other)


def test_agent_reveals_a_masked_phone_and_the_supervisor_sees_it_on_record(stack, staff_page):
    from playwright.sync_api import expect

    web = stack.settings.web_url
    customer = stack.customer()
    try:
        customer.ask("查话费")
        customer.ask("13800138000")
        assert "张伟" in customer.ask("1234")["text"]  # verified
        customer.say("转人工")

        agent = staff_page("en-GB")
        login(agent, web, "agent", "/agent/")
        agent.locator(f'[data-testid="queue-item"][data-conversation-id="{customer.session_id}"]').click()
        phone = agent.get_by_test_id("personal-phone")
        expect(phone).to_have_text("•••••••8000")
        expect(agent.get_by_test_id("reveal-phone")).to_have_count(0)  # not before the agent takes the chat
        agent.get_by_test_id("accept-button").click()
        agent.get_by_test_id("reveal-phone").click()
        agent.get_by_test_id("reveal-reason").fill("customer asked for a call back")
        agent.get_by_test_id("reveal-reason").press("Enter")
        expect(phone).to_have_text("13800138000")
        # The audit log is not the agent's to read.
        assert agent.goto(f"{web}/audit/").status == 403

        supervisor = staff_page("zh-CN")
        login(supervisor, web, "supervisor", "/audit/")
        supervisor.get_by_test_id("filter-action").select_option("personal_data_revealed")
        supervisor.get_by_test_id("filter-submit").click()
        row = supervisor.locator('[data-testid="audit-row"][data-action="personal_data_revealed"]').first
        expect(row).to_contain_text("agent")
        expect(row).to_contain_text("customer asked for a call back")
        expect(row).to_contain_text("•••••••8000")
        expect(row).to_contain_text("查看个人信息")  # the supervisor's page in their language
        expect(row).not_to_contain_text("13800138000")
    finally:
        customer.close()
