"""NLU component: "are you there?" and "hello" intents only for messages that say nothing else.

A nudge ("在吗", "有人吗", "有没有人") and a greeting carry no question. DIET learns their
shape, 有…吗 / 有没有…, and then reads a short question in the same shape as one:
"有没有优惠" → nudge 0.99, "你们有卫星电话吗" → nudge 0.64, and the customer got "I'm
here, go ahead" instead of an answer. A word list of what such messages may contain
is easy to learn, though: the units (Chinese characters, other words) of the guarded
intents' own training examples. A message predicted as one of them that holds at least
``min_content_units`` units outside that list has content, so it becomes
``nlu_fallback`` (the knowledge base answers it, or the bot asks what was meant),
keeping DIET's ranking for the clarification's buttons.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.unknown_words import VocabularyComponent, token_texts, units


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class ContentFreeIntentGuard(VocabularyComponent):
    vocabulary_file = "content_free_vocabulary.json"

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"intents": ["nudge", "greet"], "min_content_units": 2}

    def train(self, training_data: TrainingData) -> Resource:
        guarded = set(self._config["intents"])
        return self.keep_vocabulary({w for m in training_data.intent_examples if m.get(INTENT) in guarded
                                     for w in units(token_texts(m))})

    def content_units(self, message: Message) -> List[str]:
        """The message's units that none of the guarded intents' examples use."""
        return [w for w in units(token_texts(message)) if w not in self.vocabulary]

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            if intent.get(INTENT_NAME_KEY) not in self._config["intents"]:
                continue
            if len(self.content_units(message)) < self._config["min_content_units"]:
                continue
            message.set(INTENT, {INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME,
                                 PREDICTED_CONFIDENCE_KEY: intent.get(PREDICTED_CONFIDENCE_KEY)}, add_to_output=True)
        return messages
