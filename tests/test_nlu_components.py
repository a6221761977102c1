"""The Chinese tokenizer (bot/nlu/tokenizer.py) and the unknown-words fallback
(bot/nlu/unknown_words.py) as Rasa components."""
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.tokenizer import FoldingJiebaTokenizer, fold_text
from bot.nlu.content_free import ContentFreeIntentGuard
from bot.nlu.unknown_words import UnknownWordsFallback
from bot.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def storage(tmp_path_factory):
    return LocalModelStorage(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def tokenizer(storage):
    config = {**FoldingJiebaTokenizer.get_default_config(), "dictionary_path": str(PROJECT_ROOT / "bot/nlu/jieba_dictionary")}
    return FoldingJiebaTokenizer.create(config, storage, Resource("tokenizer"), ExecutionContext(GraphSchema({}), "t"))


def tokens(tokenizer, text):
    message = Message(data={TEXT: text})
    tokenizer.process([message])
    return message, [t.text for t in message.get(TOKENS_NAMES[TEXT])]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("帮我check一下话费", ["帮", "我", "check", "一下", "话费"]),  # English in Chinese: its own token
        ("幫我check一下話費", ["帮", "我", "check", "一下", "话费"]),  # Traditional: the same tokens
        ("ＡＰＰ登不上", ["APP", "登不上"]),  # full width folded
        ("宽带乱扣费", ["宽带", "乱扣费"]),  # the domain dictionary keeps trade words whole
        # --- #8: English as Rasa's whitespace tokenizer reads it, punctuation that means something kept
        ("I'm still waiting on my card, ok.", ["I'm", "still", "waiting", "on", "my", "card", "ok"]),
        ("top-up with Apple Pay?", ["top", "up", "with", "Apple", "Pay", "?"]),
        ("hello?", ["hello", "?"]),  # a nudge, where "hello" is a greeting
        ("在吗，在吗！", ["在", "吗", "在", "吗", "!"]),
        ("。。。", ["。", "。", "。"]),  # punctuation only: kept, it is all the customer said
    ],
)
def test_tokens_are_folded_and_cut_with_the_domain_dictionary(tokenizer, text, expected):
    message, words = tokens(tokenizer, text)
    assert words == expected
    assert message.get(TEXT) == text  # the language detector and the actions see what was written


def test_token_offsets_point_into_the_original_text(tokenizer):
    message, _ = tokens(tokenizer, "幫我check一下話費")
    assert [(t.start, t.end) for t in message.get(TOKENS_NAMES[TEXT])][-1] == (9, 11)


@pytest.fixture(scope="module")
def unknown_words(storage, tokenizer):
    component = UnknownWordsFallback.create(
        UnknownWordsFallback.get_default_config(), storage, Resource("unknown"), ExecutionContext(GraphSchema({}), "t")
    )
    examples = [Message(data={TEXT: t, INTENT: i}) for t, i in [("查询余额", "check_balance"), ("how do I pay my bill", "faq")]]
    tokenizer.process(examples)
    component.train(TrainingData(training_examples=examples))
    return UnknownWordsFallback.load(
        UnknownWordsFallback.get_default_config(), storage, Resource("unknown"), ExecutionContext(GraphSchema({}), "t")
    )


@pytest.mark.parametrize(
    "text, intent",
    [
        ("purple monkey dishwasher", "nlu_fallback"),
        ("豆腐脑咸的甜的", "nlu_fallback"),
        ("查詢餘額", "check_balance"),  # known in the other script
        ("how do I pay my phone bill", "faq"),  # one unknown word of seven
        ("13800138000", "check_balance"),  # digits are not words
        ("😀😀", "check_balance"),
        ("asdfgh", "check_balance"),  # one word: left to DIET's character n-grams
    ],
)
def test_mostly_unknown_words_are_not_understood(tokenizer, unknown_words, text, intent):
    message = Message(data={TEXT: text})
    tokenizer.process([message])
    message.set(INTENT, {"name": "check_balance" if intent != "faq" else "faq", "confidence": 0.9})
    unknown_words.process([message])
    assert message.get(INTENT)["name"] == intent


def test_markup_typed_around_a_question_is_blanked_for_the_model_only():
    typed = "<img src=x onerror=alert(1)>怎麼繳話費"
    folded = fold_text(typed)
    assert folded.strip() == "怎么缴话费" and len(folded) == len(typed)  # offsets still those of the text
    assert fold_text("a < b and c > d") == "a < b and c > d"  # comparisons are words, not markup


@pytest.fixture(scope="module")
def content_free(storage, tokenizer):
    config = ContentFreeIntentGuard.get_default_config()
    component = ContentFreeIntentGuard.create(config, storage, Resource("content_free"), ExecutionContext(GraphSchema({}), "t"))
    examples = [Message(data={TEXT: t, INTENT: i}) for t, i in [
        ("在吗", "nudge"), ("有人吗", "nudge"), ("有没有人", "nudge"), ("客服在吗", "nudge"), ("anyone there?", "nudge"),
        ("你好，问一下", "greet"), ("你好，我想咨询一下", "greet"), ("hello", "greet"), ("有没有优惠", "faq")]]
    tokenizer.process(examples)
    component.train(TrainingData(training_examples=examples))
    return ContentFreeIntentGuard.load(config, storage, Resource("content_free"), ExecutionContext(GraphSchema({}), "t"))


@pytest.mark.parametrize(
    "text, predicted, expected",
    [
        ("有没有优惠", "nudge", "nlu_fallback"),  # a question in a nudge's shape
        ("你们有卫星电话吗", "nudge", "nlu_fallback"),
        ("你們有衛星電話嗎", "nudge", "nlu_fallback"),  # the same in Traditional
        ("你好，请问宽带怎么报修", "greet", "nlu_fallback"),  # a greeting with the question in it
        ("在吗？？", "nudge", "nudge"),
        ("有沒有人啊", "nudge", "nudge"),  # one unit more than the examples: still a nudge
        ("在吗？我想问一下", "nudge", "nudge"),  # words of the other content-free intent
        ("anyone there??", "nudge", "nudge"),
        ("hello, is anyone there", "greet", "greet"),
        ("有没有优惠", "faq", "faq"),  # only the guarded intents are changed
    ],
)
def test_content_free_intents_keep_only_messages_that_say_nothing_else(tokenizer, content_free, text, predicted, expected):
    message = Message(data={TEXT: text})
    tokenizer.process([message])
    message.set(INTENT, {"name": predicted, "confidence": 0.9})
    content_free.process([message])
    assert message.get(INTENT)["name"] == expected
