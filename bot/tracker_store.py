"""Rasa's SQL tracker store, except that answers to secret prompts are saved masked.

Rasa saves the tracker (and publishes its new events to the event broker) at the end
of each turn, after the verification form's actions have checked the PIN; masking
here keeps the PIN out of the tracker database and the event stream alike, while the
turn itself still saw the real answer. Configured in endpoints.yml.
"""
from __future__ import annotations

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker

from bot.secret_prompts import mask_answers_to_secret_prompts


class MaskingSQLTrackerStore(SQLTrackerStore):
    async def save(self, tracker: DialogueStateTracker) -> None:
        mask_answers_to_secret_prompts(tracker.events)
        await super().save(tracker)
