"""Rasa's logistic-regression intent classifier, fed scaled counts and allowed a firmer fit.

Rasa's ``LogisticRegressionClassifier`` reads the raw token and character n-gram counts of
the featurizers before it and fits with scikit-learn's default regularisation (C = 1) and
balanced class weights. On this bot's short messages that leaves its probabilities flat:
"cya", "晚上好" or "掰掰" came out below the fallback threshold although the right intent
ranked first. Two changes, measured on the held-out sets (docs/nlu.md, #8):

* counts are damped (``log(1 + count)``) and each message's vector scaled to unit length,
  as a TF-IDF vectoriser with ``sublinear_tf`` does, so a long message does not outvote a
  short one and one repeated character does not dominate;
* ``C`` (inverse regularisation) is configurable; 10 by default.

It replaced DIET (bot/nlu/diet.py) in config.yml: more accurate on the held-out sets in all
three scripts, trains in seconds instead of minutes, loads without TensorFlow's tracing and
answers in about 1 ms instead of 10–90 ms.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.training_data.message import Message
from scipy.sparse import csr_matrix
from sklearn.preprocessing import normalize


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class ScaledLogisticRegressionClassifier(LogisticRegressionClassifier):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            **LogisticRegressionClassifier.get_default_config(),
            "max_iter": 1000,
            "C": 10.0,
            "class_weight": "balanced",  # as Rasa's: the account intents have far fewer examples than faq
            "sublinear_counts": True,
        }

    def __init__(self, config: Dict[Text, Any], name: Text, model_storage: ModelStorage, resource: Resource) -> None:
        super().__init__(config, name, model_storage, resource)
        self.clf.set_params(C=self.config["C"], class_weight=self.config["class_weight"])

    def _create_X(self, messages: List[Message]) -> csr_matrix:
        features = super()._create_X(messages).tocsr()
        if self.config["sublinear_counts"]:
            features = features.log1p()
        return normalize(features)
