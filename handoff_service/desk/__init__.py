"""The desk: handoffs, their queue and the agents who take them (service, storage)."""
from handoff_service.desk.service import (  # noqa: F401
    AGENT_JOINED, HANDOFF_CLOSED_INTENT, CannotReachCustomer, HandoffDesk, NotYourHandoff, ReplyInProgress,
)
