"""The knowledge base answers what it knows in any of the three languages, offers a
choice when unsure, and says it does not know otherwise."""
import pytest

from knowledge_base.search import SearchIndex, best_match, normalise, word_tokens
from knowledge_base.storage import Faq

FAQS = [
    Faq(1, "hours", {"zh-Hans": "8-22点", "en": "8 to 22"},
        {"zh-Hans": ["客服营业时间是几点", "营业时间"], "zh-Hant": ["營業時間"], "en": ["What are your opening hours"]}),
    Faq(2, "pay", {"zh-Hans": "微信支付宝", "en": "WeChat Pay"},
        {"zh-Hans": ["怎么交话费", "缴费方式"], "en": ["How can I pay my bill"]}),
    Faq(3, "data-pack", {"zh-Hans": "加油包", "en": "Data packs"},
        {"zh-Hans": ["怎么买流量包", "流量不够用"], "en": ["How do I buy more data"]}),
    Faq(4, "data-cancel", {"zh-Hans": "退订", "en": "Cancel"},
        {"zh-Hans": ["怎么退订流量包", "取消流量包"], "en": ["How do I cancel a data pack"]}),
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


@pytest.mark.parametrize("question", ["", "   ", "天气怎么样", "tell me a joke", "<script>alert(1)</script>",
                                      ".*", "'; DROP TABLE kb_faqs; --", "(((", "%_%"])
def test_unrelated_questions_get_dont_know(question):
    lookup = SearchIndex(FAQS).lookup(question)
    assert lookup.outcome == "dont_know" and lookup.entries == []
    assert best_match(question, FAQS) is None


@pytest.mark.parametrize("question", ["流量包", "流量包的事", "data"])
def test_a_question_two_faqs_could_answer_gets_both_as_suggestions(question):
    lookup = SearchIndex(FAQS).lookup(question)
    assert lookup.outcome == "suggest"
    assert {s.faq.slug for s in lookup.entries} == {"data-pack", "data-cancel"}


def test_scores_are_confidences_and_the_answer_leads():
    lookup = SearchIndex(FAQS).lookup("怎么交话费")
    assert lookup.outcome == "answer" and lookup.best.faq.slug == "pay"
    assert 0 < lookup.candidates[-1].score < lookup.best.score <= 1
    assert lookup.best.matched_question == "怎么交话费"


def test_an_empty_knowledge_base_knows_nothing():
    assert SearchIndex([]).lookup("怎么交话费").outcome == "dont_know"


def test_normalise_folds_traditional_taiwan_phrasing_and_width():
    assert normalise("營業時間ＡＢＣ") == "营业时间abc"
    assert normalise("網路斷了") == "网络断了"
    assert word_tokens("營業時間") == word_tokens("营业时间") == ["营业时间"]
    assert word_tokens("My bills") == ["bill"]
    assert word_tokens("<img src=x onerror=alert(1)>pay my bill") == ["pay", "bill"]


def test_changes_laid_over_a_full_index_are_searched_as_if_rebuilt():
    from knowledge_base.search import LayeredIndex

    base = SearchIndex(FAQS, version=1)
    edited_pay = Faq(2, "pay", {"zh-Hans": "只能用微信"}, {"zh-Hans": ["怎么交话费"]})
    new = Faq(5, "roaming", {"zh-Hans": "漫游"}, {"zh-Hans": ["国际漫游怎么开"]})
    layered = LayeredIndex(base, SearchIndex([edited_pay, new], version=3), hidden={1, 2, 5}, version=3)  # 1 archived
    assert layered.lookup("国际漫游怎么开").best.faq is new
    assert layered.lookup("怎么交话费").best.faq.answers["zh-Hans"] == "只能用微信"
    assert layered.lookup("营业时间").outcome == "dont_know" and 1 not in layered.by_id
    assert layered.lookup("怎么买流量包").best.faq.slug == "data-pack"  # untouched FAQs still answered
