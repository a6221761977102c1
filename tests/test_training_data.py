"""The project's training data passes `rasa data validate --fail-on-warnings`, except
for warnings that are wrong about this project (checked here, not just ignored)."""
import re
import warnings
from pathlib import Path

from rasa.shared.importers.importer import TrainingDataImporter
from rasa.validator import Validator

ROOT = Path(__file__).resolve().parent.parent
UNUSED_UTTERANCE = re.compile(r"The utterance '(\w+)' is not used in any story or rule")
UNTRAINED_INTENT = re.compile(r"The intent '(\w+)' is listed in the domain file, but is not found in the NLU")


def _uttered_by_actions() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "actions").glob("*.py")) + "\n".join(
        p.read_text(encoding="utf-8") for p in (ROOT / "bot").glob("*.py")
    )


def test_training_data_validates_without_warnings():
    importer = TrainingDataImporter.load_from_config(
        domain_path=str(ROOT / "domain.yml"), training_data_paths=[str(ROOT / "data")], config_path=str(ROOT / "config.yml")
    )
    validator = Validator.from_importer(importer)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        checks = {
            "domain": validator.verify_domain_validity(),
            "actions in rules": validator.verify_actions_in_stories_rules(),
            "forms in rules": validator.verify_forms_in_stories_rules(),
            "form slots": validator.verify_form_slots(),
            "slot mappings": validator.verify_slot_mappings(),
            "nlu": validator.verify_nlu(ignore_warnings=True),
            "story structure": validator.verify_story_structure(ignore_warnings=False),
        }
    assert all(checks.values()), checks
    source = _uttered_by_actions()
    # Forms ask for their slots with utter_ask_<slot>; Rasa's core fallback utters utter_default.
    uttered_by_rasa = {"utter_default"} | {
        f"utter_ask_{slot}" for form in validator.domain.forms.values() for slot in form["required_slots"]
    }
    unexplained = []
    for warning in caught:
        message = str(warning.message)
        if not issubclass(warning.category, UserWarning) or "is deprecated" in message:
            continue
        unused = UNUSED_UTTERANCE.search(message)
        if unused and (unused.group(1) in uttered_by_rasa or f'"{unused.group(1)}"' in source):  # uttered by an action or a policy
            continue
        untrained = UNTRAINED_INTENT.search(message)
        if untrained and untrained.group(1).startswith("EXTERNAL_"):  # sent by the desk, never typed
            continue
        unexplained.append(message)
    assert unexplained == []


def test_held_out_examples_are_not_in_the_training_data():
    from rasa.shared.nlu.training_data.loading import load_data

    from bot.policies import same_question_key

    importer = TrainingDataImporter.load_from_config(
        domain_path=str(ROOT / "domain.yml"), training_data_paths=[str(ROOT / "data")], config_path=str(ROOT / "config.yml")
    )
    trained = {same_question_key(m.get("text")) for m in importer.get_nlu_data().intent_examples}
    held_out = {
        m.get("text")
        for folder in ("nlu_heldout", "nlu_heldout_v2")
        for path in (ROOT / "tests" / "data" / folder).glob("*.yml")
        for m in load_data(str(path)).intent_examples
    }
    assert len(held_out) > 350
    assert sorted(t for t in held_out if same_question_key(t) in trained) == []
