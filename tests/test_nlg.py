"""zh-Hant replies are generated from zh-Hans ones unless written by hand (bot/nlg.py)."""
import asyncio
import re
from pathlib import Path

import pytest
from rasa.core.nlg.generator import NaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config

from bot.nlg import ScriptAwareNaturalLanguageGenerator

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def domain():
    return Domain.load(str(ROOT / "domain.yml"))


@pytest.fixture(scope="module")
def nlg(domain):
    # Built the way the Rasa server builds it: from endpoints.yml (whose other sections need these).
    with pytest.MonkeyPatch.context() as env:
        for name in re.findall(r"\$\{(\w+)\}", (ROOT / "endpoints.yml").read_text(encoding="utf-8")):
            env.setenv(name, "unused")
        config = read_endpoint_config(str(ROOT / "endpoints.yml"), "nlg")
    return NaturalLanguageGenerator.create(config, domain)


def reply(nlg, domain, response, language, **kwargs):
    tracker = DialogueStateTracker.from_events("c", [SlotSet("language", language)], domain.slots)
    return asyncio.run(nlg.generate(response, tracker, "socketio", **kwargs))


def test_endpoints_use_the_script_aware_generator(nlg):
    assert isinstance(nlg, ScriptAwareNaturalLanguageGenerator)


@pytest.mark.parametrize(
    "language, text, human_button",
    [
        ("zh-Hans", "抱歉，这个我帮不上忙。", "转人工"),
        ("zh-Hant", "抱歉，這個我幫不上忙。", "轉人工"),
        ("en", "Sorry, I can't help with that.", "Talk to a human"),
    ],
)
def test_each_script_gets_its_own_reply(nlg, domain, language, text, human_button):
    message = reply(nlg, domain, "utter_out_of_scope", language)
    assert message["text"].startswith(text)
    assert human_button in [b["title"] for b in message["buttons"]]


def test_generated_zh_hant_uses_taiwan_phrasing_and_converts_text_payloads_only(nlg, domain):
    message = reply(nlg, domain, "utter_nudge", "zh-Hant")
    assert message["text"] == "我在的！請問有什麼可以幫您？"
    payloads = {b["title"]: b["payload"] for b in message["buttons"]}
    assert payloads == {"查詢餘額": "/check_balance", "營業時間": "營業時間", "轉人工": "/human_handoff"}


def test_a_hand_written_zh_hant_variation_wins(nlg, domain):
    # Generated text would say 智慧客服 (Taiwan phrasing); the hand-written one says 智能客服.
    assert reply(nlg, domain, "utter_greet", "zh-Hant")["text"].startswith("您好！我是智能客服")


def test_values_filled_in_are_not_converted():
    domain = Domain.from_dict({"responses": {"utter_hi": [{"text": "{name}，您的余额为 {balance}"}]}})
    generator = ScriptAwareNaturalLanguageGenerator(domain=domain)
    message = generator.generate_from_slots("utter_hi", {"language": "zh-Hant"}, "socketio", name="张伟", balance="88.50")
    assert message["text"] == "张伟，您的餘額為 88.50"


def test_unknown_response_gives_nothing(nlg, domain):
    assert reply(nlg, domain, "utter_does_not_exist", "zh-Hant") is None
