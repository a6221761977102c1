"""The demo pages (/demo/, DEMO_PAGES=on only) in-process: the texts the demo sender wrote,
shown only for the conversation that asked; a signed-in demo customer's chat page."""
import re

import pytest

from actions.accounts import SqlAccounts
from actions.accounts.identity import customer_ref_from_token
from actions.accounts.senders import DemoSender, demo_outbox
from handoff_service.app import create_app
from tests.test_web import browser_client, settings  # noqa: F401  (the settings fixture)


@pytest.fixture
def customer(engine):
    accounts = SqlAccounts(engine)
    return accounts.get(accounts.add_customer("张伟", "13800138000", "1234", balance_cents=8850))


@pytest.fixture
async def demo(settings, customer):  # noqa: F811
    settings = settings.with_overrides(demo_pages=True, customer_jwt_secret="k" * 64)
    async with browser_client(create_app(settings), settings) as c:
        c.settings = settings
        yield c


async def test_no_demo_pages_outside_demo_mode(settings, customer):  # noqa: F811
    async with browser_client(create_app(settings), settings) as c:
        assert (await c.get("/demo/")).status == 404
        assert (await c.get("/demo/api/outbox?conversation=abc")).status == 404
        assert (await c.get(f"/demo/signed-in/{customer.ref}")).status == 404
        assert "data-demo-outbox" not in await (await c.get("/")).text()


async def test_the_outbox_shows_a_conversation_only_its_own_texts(demo, customer):
    sender = DemoSender(demo_outbox(demo.settings.var_dir))
    sender.send(customer, "login_code", "您的在线客服验证码为 123456", "conversation-a")
    sender.send(customer, "login_code", "您的在线客服验证码为 654321", "conversation-b")
    r = await demo.get("/demo/api/outbox?conversation=conversation-a")
    assert r.status == 200
    messages = (await r.json())["messages"]
    assert [m["text"] for m in messages] == ["您的在线客服验证码为 123456"]
    assert messages[0]["to"].endswith("8000") and "13800138000" not in messages[0]["to"]
    assert (await (await demo.get("/demo/api/outbox?conversation=nobody")).json())["messages"] == []
    assert "data-demo-outbox" in await (await demo.get("/")).text()


@pytest.mark.parametrize("conversation", ["", "a b", "<script>", "x" * 200])
async def test_the_outbox_refuses_what_is_not_a_conversation_id(demo, conversation):
    r = await demo.get("/demo/api/outbox", params={"conversation": conversation})
    assert r.status == 400 and (await r.json())["error"]["code"] == "bad_conversation"


async def test_the_signed_in_page_carries_a_token_for_that_customer_only(demo, customer):
    index = await (await demo.get("/demo/")).text()
    assert f'href="/demo/signed-in/{customer.ref}"' in index and "张伟" in index and "13800138000" not in index
    r = await demo.get(f"/demo/signed-in/{customer.ref}")
    assert r.status == 200 and r.headers["Cache-Control"] == "no-store"
    token = re.search(r'data-customer-token="([^"]+)"', await r.text()).group(1)
    s = demo.settings
    assert customer_ref_from_token(token, s.customer_jwt_secret, s.customer_jwt_audience, s.customer_jwt_issuer) == customer.ref
    assert customer_ref_from_token(token, s.customer_jwt_secret, "another-app", s.customer_jwt_issuer) is None
    for missing in ("999999", "abc", "1" * 20):
        assert (await demo.get(f"/demo/signed-in/{missing}")).status == 404
