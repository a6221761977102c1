"""The desk's queue and routing against a real database (SQLite, and PostgreSQL when
TEST_DATABASE_URL is set): who gets which chat, in which order, and what survives."""
import pytest

from handoff_service.desk.routing import RoutingRepository
from handoff_service.desk.storage import HandoffConflict, HandoffRepository


@pytest.fixture
def desk(engine):
    return RoutingRepository(engine)


def queue(desk, conversation_id, skill_group="general", language="zh-Hans", priority=0, reason="explicit_request"):
    handoff, created = desk.handoffs.create(conversation_id, reason, language, {}, "socketio",
                                            skill_group=skill_group, priority=priority)
    assert created
    return handoff


def test_an_agent_nobody_configured_is_offline_with_three_seats_for_general_chats(desk):
    amy = desk.agent("amy")
    assert (amy.status, amy.capacity, amy.skills, amy.load) == ("offline", 3, ["general"], 0)
    assert amy.languages == ["zh-Hans", "zh-Hant", "en"]


def test_settings_are_validated_and_kept(desk):
    with pytest.raises(ValueError):
        desk.set_agent("amy", status="busy")
    with pytest.raises(ValueError):
        desk.set_agent("amy", skills=["plumbing"])
    desk.set_agent("amy", status="online", capacity=2, skills=["billing"], languages=["en"])
    desk.set_agent("amy", status="away")  # only the status changes
    amy = desk.agent("amy")
    assert (amy.status, amy.capacity, amy.skills, amy.languages) == ("away", 2, ["billing"], ["en"])


def test_routing_respects_skill_language_and_status(desk):
    desk.set_agent("billing_en", status="online", skills=["billing"], languages=["en"])
    desk.set_agent("billing_zh_away", status="away", skills=["billing"], languages=["zh-Hans"])
    desk.set_agent("tech_zh", status="online", skills=["technical"], languages=["zh-Hans", "zh-Hant"])
    en_bill = queue(desk, "c1", "billing", "en")
    zh_bill = queue(desk, "c2", "billing", "zh-Hans")
    zh_tech = queue(desk, "c3", "technical", "zh-Hant")
    sales = queue(desk, "c4", "sales", "en")

    assigned = {h.id: h.agent_username for h in desk.route()}
    assert assigned == {en_bill.id: "billing_en", zh_tech.id: "tech_zh"}
    # Nobody online speaks Chinese for billing, nobody does sales: they wait.
    assert [h.id for h in desk.queued()] == [zh_bill.id, sales.id]

    desk.set_agent("billing_zh_away", status="online")  # back from a break: the queue is served
    assert [(h.id, h.agent_username) for h in desk.route()] == [(zh_bill.id, "billing_zh_away")]


def test_routing_respects_capacity_and_spreads_to_the_least_busy(desk):
    desk.set_agent("amy", status="online", capacity=2)
    desk.set_agent("bob", status="online", capacity=1)
    handoffs = [queue(desk, f"c{i}") for i in range(4)]
    desk.route()
    holders = [desk.handoffs.get(h.id).agent_username for h in handoffs]
    assert sorted(filter(None, holders)) == ["amy", "amy", "bob"]
    assert holders[:3].count(None) == 0 and holders[3] is None  # the oldest three, the fourth waits
    assert desk.agent("amy").load == 2 and desk.agent("bob").load == 1
    assert desk.agent("amy").free_seats == 0

    desk.handoffs.close(handoffs[0].id, holders[0])  # a seat frees: the waiting one goes there
    assert [h.id for h in desk.route()] == [handoffs[3].id]
    assert desk.handoffs.get(handoffs[3].id).agent_username == holders[0]


def test_the_queue_is_served_by_priority_then_age(desk):
    normal_old = queue(desk, "c1", "billing")
    normal_new = queue(desk, "c2", "billing")
    vip = queue(desk, "c3", "billing", priority=10)
    urgent = queue(desk, "c4", "billing", priority=5)
    other_group = queue(desk, "c5", "technical")
    assert [h.id for h in desk.queued(["billing"])] == [vip.id, urgent.id, normal_old.id, normal_new.id]
    # Positions count within the skill group's own queue.
    assert [desk.queue_position(h) for h in (vip, urgent, normal_old, normal_new, other_group)] == [1, 2, 3, 4, 1]

    desk.set_agent("amy", status="online", capacity=1, skills=["billing"])
    assert [h.id for h in desk.route()] == [vip.id]


def test_an_agent_can_claim_from_the_queue_and_every_holder_is_recorded(desk):
    handoff = queue(desk, "c1")
    taken, newly = desk.claim(handoff.id, "amy")
    assert newly and taken.status == "active" and taken.agent_username == "amy"
    assert desk.claim(handoff.id, "amy")[1] is False
    with pytest.raises(HandoffConflict):
        desk.claim(handoff.id, "bob")
    desk.handoffs.close(handoff.id, "amy", disposition="resolved", tags=["bill", "退款"])
    closed = desk.handoffs.get(handoff.id)
    assert closed.disposition == "resolved" and closed.tags == ["bill", "退款"]
    assert [(a["agent"], a["ended_reason"]) for a in desk.assignments(handoff.id)] == [("amy", "closed")]


def test_cancelled_or_abandoned_leaves_the_queue_and_the_conversation_can_ask_again(desk):
    first = queue(desk, "c1")
    second = queue(desk, "c2")
    cancelled = desk.handoffs.leave_queue(first.id, "cancelled")
    assert cancelled.status == "cancelled" and cancelled.abandoned_at is not None
    assert desk.queue_position(desk.handoffs.get(second.id)) == 1
    assert desk.handoffs.leave_queue(first.id, "abandoned") is None  # over already
    again, created = desk.handoffs.create("c1", "explicit_request", "en", {})
    assert created and again.id != first.id

    desk.claim(second.id, "amy")
    assert desk.handoffs.leave_queue(second.id, "abandoned") is None  # with an agent: not abandoned


def test_rating_goes_to_the_last_closed_handoff(desk):
    handoff = queue(desk, "c1")
    assert desk.handoffs.rate("c1", 5) is None  # nothing closed yet
    desk.claim(handoff.id, "amy")
    desk.handoffs.close(handoff.id, "amy")
    rated = desk.handoffs.rate("c1", 4)
    assert (rated.rating, rated.rating_comment) == (4, None)
    rated = desk.handoffs.rate("c1", 4, "很耐心")
    assert (rated.id, rated.rating, rated.rating_comment) == (handoff.id, 4, "很耐心")
    with pytest.raises(ValueError):
        desk.handoffs.rate("c1", 6)


def test_queue_and_assignments_survive_a_new_repository(engine):
    """What a restarted web service finds: everything is in the database."""
    before = RoutingRepository(engine)
    before.set_agent("amy", status="online", capacity=1)
    first = queue(before, "c1")
    second = queue(before, "c2", priority=5)
    before.route()
    after = RoutingRepository(engine)
    assert after.handoffs.get(second.id).agent_username == "amy"
    assert [h.id for h in after.queued()] == [first.id]
    assert after.agent("amy").load == 1 and after.agent("amy").status == "online"


def test_recent_handle_times_of_a_group_or_of_the_whole_centre(desk):
    """A skill group with no closed chat yet borrows the centre's (the desk's cold start)."""
    billing = queue(desk, "b1", skill_group="billing")
    desk.claim(billing.id, "amy")
    desk.handoffs.close(billing.id, "amy")
    assert desk.recent_handle_seconds("technical") == []
    assert len(desk.recent_handle_seconds("billing")) == 1
    assert desk.recent_handle_seconds(None) == desk.recent_handle_seconds("billing")
