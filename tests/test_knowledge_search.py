"""The FAQ search finds the same answer from Simplified, Traditional and English questions."""
import pytest

from knowledge_base.search import best_match, features, normalise
from knowledge_base.storage import Faq

FAQS = [
    Faq(1, "hours", {"zh-Hans": "8-22点", "zh-Hant": "8-22點", "en": "8 to 22"},
        {"zh-Hans": ["客服营业时间是几点", "营业时间"], "zh-Hant": ["營業時間"], "en": ["What are your opening hours"]}),
    Faq(2, "pay", {"zh-Hans": "微信支付宝", "zh-Hant": "微信支付寶", "en": "WeChat Pay"},
        {"zh-Hans": ["怎么交话费", "缴费方式"], "en": ["How can I pay my bill"]}),
]


@pytest.mark.parametrize(
    "question, slug",
    [
        ("你们营业时间是几点？", "hours"),
        ("請問營業時間", "hours"),
        ("what are the opening hours?", "hours"),
        ("怎麼繳話費", "pay"),  # Traditional, though only Simplified variants exist
        ("HOW CAN I PAY MY BILL", "pay"),
        ("ｐａｙ my bill", "pay"),  # full-width letters
    ],
)
def test_questions_in_any_script_find_their_faq(question, slug):
    assert best_match(question, FAQS).faq.slug == slug


@pytest.mark.parametrize("question", ["", "   ", "天气怎么样", "tell me a joke", "<script>alert(1)</script>"])
def test_unrelated_questions_find_nothing(question):
    assert best_match(question, FAQS) is None


def test_normalise_folds_traditional_and_width():
    assert normalise("營業時間ＡＢＣ") == "营业时间abc"
    assert "营业" in features("營業時間")
