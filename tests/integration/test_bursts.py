"""Customers type several quick lines in a row: every one is answered, in the order typed.

The lock store (bot/lock_store.py) wakes a conversation's next message as soon as the
previous one is done; how soon is a benchmark (`make bench`), not asserted here.
"""
import pytest

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "burst, answers",
    [
        (["怎么交话费", "How can I pay my bill?", "怎麼繳話費"],
         ["您可以通过微信、支付宝", "You can pay by WeChat Pay", "您可以透過微信、支付寶"]),
    ],
)
def test_three_quick_questions_are_all_answered_in_order(stack, burst, answers):
    customer = stack.customer()
    try:
        for text in burst:  # sent back to back, without waiting for replies
            customer.say(text)
        replies = [customer.next_message()["text"] for _ in burst]
    finally:
        customer.close()
    assert [r[: len(a)] for r, a in zip(replies, answers)] == answers


# --- several quick messages answered once (#8, bot.policies.QuickFollowUpPolicy) ---
from bot.chinese import to_traditional  # noqa: E402

HERE = {  # the bot's greeting-ish replies, per script (domain.yml utter_nudge / utter_greet)
    "zh-Hans": ("我在的！请问有什么可以帮您？", "您好！我是智能客服。"),
    "zh-Hant": (to_traditional("我在的！请问有什么可以帮您？"), "您好！我是智能客服。"),
    "en": ("I'm here! What can I help you with?", "Hello! I'm the support assistant."),
}
# knowledge_base/demo_faqs.yml "invoice" (a question about the customer's own bill leads into
# verification instead: tests/integration/test_accounts.py)
WELCOME = {"zh-Hans": "不客气", "zh-Hant": to_traditional("不客气"), "en": "You're welcome"}


@pytest.mark.parametrize(
    "script, burst, answer",
    [
        ("zh-Hans", ["在吗", "问一下", "电子发票在哪里下载"], "登录网上营业厅"),
        ("zh-Hant", ["在嗎", "問一下", "電子發票在哪裡下載"], "登入網上營業廳"),
        ("en", ["hello?", "quick question", "where can I download my e-invoice"], "Sign in to the online store"),
    ],
)
def test_a_quick_run_of_lines_gets_one_greeting_then_the_answer(stack, script, burst, answer):
    customer = stack.customer()
    try:
        for text in burst:  # typed back to back, without waiting for replies
            customer.say(text)
        greeting, reply = customer.next_message()["text"], customer.next_message()["text"]
        # Nothing was said in between or after: the next reply is the one to this thanks.
        welcome = customer.ask({"zh-Hans": "谢谢", "zh-Hant": "謝謝", "en": "thanks"}[script])["text"]
    finally:
        customer.close()
    assert greeting.startswith(HERE[script]), greeting
    assert reply.startswith(answer), reply
    assert welcome.startswith(WELCOME[script]), welcome
