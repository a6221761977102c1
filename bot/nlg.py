"""Replies in the customer's script without writing every response three times.

domain.yml writes each response in zh-Hans (the default variation) and en.  For a
zh-Hant customer this generator uses a hand-written zh-Hant variation when there is
one, and otherwise converts the zh-Hans variation with OpenCC's Taiwan phrasing
(bot.chinese.to_traditional).  The template is converted before slots and
arguments are filled in, so a customer's name or an amount is never altered.

endpoints.yml names this class under ``nlg: type:`` (Rasa 3.6 loads a custom
generator from its module path, with ``endpoint_config`` and ``domain``).
"""
from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional, Text

from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.utils.endpoints import EndpointConfig

from bot.chinese import to_traditional

LANGUAGE_SLOT = "language"
GENERATED_LANGUAGE = "zh-Hant"
SOURCE_LANGUAGE = "zh-Hans"


def has_written_variation(variations: List[Dict[Text, Any]], language: str) -> bool:
    return any(
        condition.get("name") == LANGUAGE_SLOT and condition.get("value") == language
        for variation in variations
        for condition in variation.get("condition") or []
    )


def to_traditional_response(response: Dict[Text, Any]) -> Dict[Text, Any]:
    """The text and buttons of a zh-Hans response in Traditional Chinese.  Button payloads
    that are text the customer "says" are converted too; intent payloads (/intent) are not."""
    converted = copy.deepcopy(response)
    if converted.get("text"):
        converted["text"] = to_traditional(converted["text"])
    for key in ("buttons", "quick_replies"):
        for button in converted.get(key) or []:
            button["title"] = to_traditional(button.get("title") or "")
            payload = button.get("payload") or ""
            if not payload.startswith("/"):
                button["payload"] = to_traditional(payload)
    return converted


class ScriptAwareNaturalLanguageGenerator(TemplatedNaturalLanguageGenerator):
    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, domain: Optional[Domain] = None) -> None:
        super().__init__((domain or Domain.empty()).responses)

    def generate_from_slots(
        self, utter_action: Text, filled_slots: Dict[Text, Any], output_channel: Text, **kwargs: Any
    ) -> Optional[Dict[Text, Any]]:
        variations = self.responses.get(utter_action)
        if filled_slots.get(LANGUAGE_SLOT) != GENERATED_LANGUAGE or not variations or has_written_variation(
            variations, GENERATED_LANGUAGE
        ):
            return super().generate_from_slots(utter_action, filled_slots, output_channel, **kwargs)
        source = self._random_response_for(
            utter_action, output_channel, {**filled_slots, LANGUAGE_SLOT: SOURCE_LANGUAGE}
        )
        if source is None:
            return None
        return self._fill_response(to_traditional_response(source), filled_slots, **kwargs)
