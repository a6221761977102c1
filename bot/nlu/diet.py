"""DIET, trained as usual but loaded without tracing its training step.

Rasa rebuilds a DIET model on load by running one training step and one
prediction, both traced into TensorFlow graphs.  Tracing the training step took
17 of the 22 s Rasa spent loading this project's small model (docs/benchmarks.md),
and a loaded model never trains.  So the rebuild runs eagerly, and only the
prediction step is traced (at load time, so the first customer does not wait);
predictions stay in graph mode (~15 ms a message instead of ~100 ms eager).
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.nlu.extractors.extractor import EntityTagSpec
from rasa.shared.nlu.constants import TEXT
from rasa.utils.tensorflow.constants import RUN_EAGERLY
from rasa.utils.tensorflow.model_data import RasaModelData
from rasa.utils.tensorflow.models import RasaModel


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR],
    is_trainable=True,
)
class FastLoadingDIETClassifier(DIETClassifier):
    @classmethod
    def _load_model_class(
        cls,
        tf_model_file: Text,
        model_data_example: RasaModelData,
        label_data: RasaModelData,
        entity_tag_specs: List[EntityTagSpec],
        config: Dict[Text, Any],
        finetune_mode: bool,
    ) -> RasaModel:
        if finetune_mode:  # training goes on: keep Rasa's behaviour
            return super()._load_model_class(
                tf_model_file, model_data_example, label_data, entity_tag_specs, config, finetune_mode
            )
        model = super()._load_model_class(
            tf_model_file, model_data_example, label_data, entity_tag_specs,
            {**config, RUN_EAGERLY: True}, finetune_mode,
        )
        model.run_eagerly = False  # predict with a traced graph from now on ...
        model.run_inference(  # ... traced here, not on the first customer's message
            RasaModelData(
                label_key=model_data_example.label_key,
                data={name: f for name, f in model_data_example.items() if TEXT in name},
            )
        )
        return model
