"""A handed-off customer's conversations on every channel, for the agent's history."""
from __future__ import annotations

from typing import Any, Dict, Optional

from handoff_service.identities.storage import IdentityRepository
from handoff_service.storage import Handoff, TranscriptRepository


class CustomerHistory:
    def __init__(self, identities: IdentityRepository, transcripts: TranscriptRepository, lines_per_conversation: int = 200):
        self.identities = identities
        self.transcripts = transcripts
        self.lines_per_conversation = lines_per_conversation

    def for_handoff(self, handoff: Handoff, customer_ref: Optional[str] = None) -> Dict[str, Any]:
        """``{customer_ref, conversations: [{channel, conversation_id, linked_at, current, transcript}]}``;
        an unverified customer has only the current conversation (no ``customer_ref``)."""
        ref = customer_ref or self.identities.customer_of(handoff.input_channel, handoff.conversation_id) \
            or self.identities.customer_of(None, handoff.conversation_id)
        if ref is None:
            return {"customer_ref": None, "conversations": []}
        conversations = []
        for identity in self.identities.identities_of(ref):
            lines = self.transcripts.for_conversation(identity.sender_id, limit=self.lines_per_conversation)
            conversations.append({**identity.as_json(), "current": identity.sender_id == handoff.conversation_id,
                                  "transcript": [line.as_json() for line in lines]})
        return {"customer_ref": ref, "conversations": conversations}
