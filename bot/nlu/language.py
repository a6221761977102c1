"""NLU component that tells which language (zh-Hans, zh-Hant, en) a message is in.

It adds a ``language`` entity, which fills the ``language`` slot, so responses are
chosen in the customer's language (conditional response variations in domain.yml)
and actions can answer from the knowledge base in the same language.

The script of the text decides.  A message it cannot decide ("你好" is both
Chinese scripts, "13800138000" is none) takes the language the customer's chat
window is set to, when the channel passes it as ``metadata.language``; without
that it adds nothing, and the slot keeps the language the customer used before.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.chinese import converter as _converter
from bot.settings import SUPPORTED_LANGUAGES

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def detect_language(text: str) -> Optional[str]:
    """zh-Hant, zh-Hans or en; None when the script does not tell."""
    chinese = "".join(_CJK.findall(text or ""))
    if chinese:
        if _converter("t2s").convert(chinese) != chinese:
            return "zh-Hant"
        if _converter("s2t").convert(chinese) != chinese:
            return "zh-Hans"
        return None
    if _LATIN_WORD.search(text or ""):
        return "en"
    return None


def window_language(message: Message) -> Optional[str]:
    """The language the customer's chat window is set to, if the channel said (and it is one of ours)."""
    metadata = message.get("metadata")
    value = metadata.get("language") if isinstance(metadata, dict) else None
    return value if value in SUPPORTED_LANGUAGES else None


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False
)
class LanguageDetector(GraphComponent):
    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "LanguageDetector":
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            language = detect_language(message.get(TEXT) or "") or window_language(message)
            if language:
                text = message.get(TEXT)
                entity = {
                    "entity": "language",
                    "value": language,
                    "start": 0,
                    "end": len(text),
                    "extractor": self.__class__.__name__,
                }
                message.set(ENTITIES, message.get(ENTITIES, []) + [entity], add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
