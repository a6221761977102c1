"""The conversation tests' files (tests/stories/) and how bench/eval_conversation.py counts them."""
from collections import Counter

import yaml

from bench import eval_conversation
from bot.nlu.language import detect_language

SCRIPTS = ["zh-Hans", "zh-Hant", "en"]
FLOWS = ["greet", "goodbye", "thanks", "affirm", "deny", "bot challenge", "chitchat", "complaint",
         "frustration: anger", "frustration: still not solved", "frustration: the same question three times",
         "nudge", "several quick messages answered once", "out of scope", "fallback, clarification, then a person"]


def test_every_general_flow_has_a_story_in_every_script():
    for script in SCRIPTS:
        names = eval_conversation.story_names(eval_conversation.STORIES / f"test_conversation_{script}.yml")
        assert names == [f"{flow} ({script})" for flow in FLOWS]


def test_the_stories_are_written_in_their_script():
    for script in SCRIPTS:
        data = yaml.safe_load((eval_conversation.STORIES / f"test_conversation_{script}.yml").read_text(encoding="utf-8"))
        languages = Counter()
        for story in data["stories"]:
            for step in story["steps"]:
                if "user" in step and not step["user"].startswith("/"):
                    text = step["user"].strip()
                    if text.startswith("["):  # annotated with the language detector's entity
                        assert f'"value": "{script}"' in text
                        text = text[1:text.index("]")]
                    languages[detect_language(text) or "either"] += 1
        assert set(languages) <= {script, "either"}, languages


def test_a_failed_story_is_recognised_by_its_name(tmp_path, monkeypatch):
    stories = tmp_path / "test_x.yml"
    stories.write_text('stories:\n  - story: greet (en)\n    steps: []\n  - story: nudge (en)\n    steps: []\n', encoding="utf-8")

    def fake_test_core(model, stories, output):
        async def run():
            (tmp_path / "out").mkdir()
            (tmp_path / "out" / "failed_test_stories.yml").write_text(
                "stories:\n- story: nudge (en) (/tmp/x.yml)\n  steps: []\n", encoding="utf-8")
        return run()

    import rasa.model_testing

    monkeypatch.setattr(rasa.model_testing, "test_core", fake_test_core)
    assert eval_conversation.run_stories("model.tar.gz", stories, tmp_path / "out") == (["greet (en)", "nudge (en)"], ["nudge (en)"])
