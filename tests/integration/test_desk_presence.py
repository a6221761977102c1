"""A queued web chat customer who closes the chat (desk #7): abandoned when they are not
back within DESK_ABANDON_GRACE_SECONDS (the stack sets 5 s), not when the page only
reconnects (a reload). The socket.io channel in Rasa's process tells the web service.

No sleeps: the customer who reloads left before the one who does not come back, so by the
time the agent's console hears of the second one's abandonment, the first one's grace
period is over too."""
import pytest

from tests.integration.stack import Customer
from tests.integration.test_desk import QUEUED

pytestmark = pytest.mark.integration


def queued(agent, customer) -> dict:
    assert customer.ask("转人工")["text"].startswith(QUEUED)
    return agent.next_event(lambda e: e["type"] == "handoff"
                            and e["handoff"]["conversation_id"] == customer.session_id)["handoff"]


def test_a_customer_who_closes_the_chat_while_queued_is_abandoned_one_who_reloads_is_not(stack, agent):
    rasa = stack.settings.rasa_url
    reloading, gone = stack.customer(), stack.customer()
    back = later = None
    try:
        stays = queued(agent, reloading)
        leaves = queued(agent, gone)
        reloading.close()
        back = Customer(rasa, session_id=reloading.session_id)  # the page reloaded at once
        gone.close()  # and this one does not come back
        left = agent.next_event(lambda e: e["type"] == "handoff" and e["handoff"]["id"] == leaves["id"]
                                and e["handoff"]["status"] != "queued")["handoff"]
        assert left["status"] == "abandoned" and left["abandoned_at"]
        assert agent.get(f"/agent/api/handoffs/{leaves['id']}").status_code == 404  # out of the agents' queue
        # The one who reloaded still waits, in the queue, and is still with the desk (the bot is paused).
        assert agent.get(f"/agent/api/handoffs/{stays['id']}").json()["handoff"]["status"] == "queued"
        back.say("还在吗")
        line = agent.next_event(lambda e: e["type"] == "transcript"
                                and e["line"]["conversation_id"] == reloading.session_id
                                and e["line"]["text"] == "还在吗")["line"]
        assert line["actor"] == "customer"
        # The one who left comes back later: the bot answers them again.
        later = Customer(rasa, session_id=gone.session_id)
        assert "8:00" in later.ask("客服营业时间是几点")["text"]
    finally:
        for c in (reloading, gone, back, later):
            if c is not None:
                c.close()
