"""NLU component: a message made mostly of words the model never saw is not understood.

DIET gives such a message no features to go on and still names an intent, often with
high confidence ("asdfgh" → affirm 1.0, "purple monkey dishwasher" → complain 0.75 on
this project's model).  This component remembers the training vocabulary (Chinese by
character, other scripts by word; the tokenizer has already folded scripts and widths)
and turns the prediction into ``nlu_fallback`` when less than ``min_known_share`` of a
message's units (at least ``min_units`` of them) are known, keeping DIET's ranking for the clarification's buttons.
Digits are not counted: numbers are answers (phone, PIN), not words.
"""
from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Optional, Set, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.nlu.constants import TOKENS_NAMES

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[^\W\d_]", re.UNICODE)
VOCABULARY_FILE = "vocabulary.json"


def units(tokens: List[str]) -> List[str]:
    """Chinese characters one by one; other tokens with a letter in them as lower-case words."""
    out: List[str] = []
    for token in tokens:
        if _CJK.search(token):
            out.extend(ch for ch in token if _CJK.match(ch))
        elif _WORD.search(token):
            out.append(token.lower())
    return out


def known_share(tokens: List[str], vocabulary: Set[str], min_units: int = 1) -> Optional[float]:
    """Share of the message's units seen in training; None for fewer than `min_units` units."""
    words = units(tokens)
    return sum(w in vocabulary for w in words) / len(words) if len(words) >= max(1, min_units) else None


def token_texts(message: Message) -> List[str]:
    return [t.text for t in message.get(TOKENS_NAMES[TEXT]) or []]


class VocabularyComponent(GraphComponent):
    """A trained NLU component whose whole model is a set of words (``vocabulary_file``)."""

    vocabulary_file = VOCABULARY_FILE

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 vocabulary: Optional[Set[str]] = None) -> None:
        self._config = config
        self._model_storage = model_storage
        self._resource = resource
        self.vocabulary = vocabulary or set()

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "VocabularyComponent":
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "VocabularyComponent":
        with model_storage.read_from(resource) as directory:
            vocabulary = set(json.loads((directory / cls.vocabulary_file).read_text(encoding="utf-8")))
        return cls(config, model_storage, resource, vocabulary)

    def keep_vocabulary(self, vocabulary: Set[str]) -> Resource:
        self.vocabulary = vocabulary
        with self._model_storage.write_to(self._resource) as directory:
            (directory / self.vocabulary_file).write_text(json.dumps(sorted(vocabulary), ensure_ascii=False),
                                                          encoding="utf-8")
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class UnknownWordsFallback(VocabularyComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # One-word messages are left to DIET: its character n-grams read "thx" or "hiya"
        # (measured on the held-out set: English accuracy fell 10 points without this).
        return {"min_known_share": 0.5, "min_units": 2}

    def train(self, training_data: TrainingData) -> Resource:
        return self.keep_vocabulary({w for m in training_data.intent_examples for w in units(token_texts(m))})

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            share = known_share(token_texts(message), self.vocabulary, self._config["min_units"])
            if share is None or share >= self._config["min_known_share"]:
                continue
            if (message.get(INTENT) or {}).get(INTENT_NAME_KEY) is None:
                continue
            message.set(INTENT, {INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME,
                                 PREDICTED_CONFIDENCE_KEY: round(1.0 - share, 2)}, add_to_output=True)
        return messages
