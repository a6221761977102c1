"""The privacy recogniser (bot/privacy) on the labelled corpus and on the cases the
stores and the verification form rely on."""
import pytest

from bench.eval_privacy import load_corpus, score
from bot.privacy import MASK, PERSONAL_KINDS, find, mask, mask_secrets, secret_value


@pytest.fixture(scope="module")
def corpus():
    return load_corpus()


def test_corpus_is_big_enough_and_covers_each_language_and_kind(corpus):
    assert len(corpus) >= 300
    assert {item["lang"] for item in corpus} == {"zh-Hans", "zh-Hant", "en"}
    kinds = {span["kind"] for item in corpus for span in item["spans"]}
    assert kinds == {"pin", "otp", "password", "phone", "id_number", "card", "email", "address"}
    for lang in ("zh-Hans", "zh-Hant", "en"):
        categories = {item["category"] for item in corpus if item["lang"] == lang}
        assert categories == {"secret", "personal", "near_miss", "ordinary"}


def test_corpus_targets(corpus):
    scores = score(corpus)
    assert scores.recall("secret") == 1.0, scores.mistakes
    assert scores.recall_of(PERSONAL_KINDS) >= 0.99, scores.mistakes
    assert scores.false_positive_rate <= 0.01, scores.mistakes


@pytest.mark.parametrize("text, masked", [
    ("我号码13800138000 密码是1234", "我号码13800138000 密码是••••"),
    ("帳號0912345678 密碼5678", "帳號0912345678 密碼••••"),
    ("my pin is 2468", "my pin is ••••"),
    ("密码是1234喔", "密码是••••喔"),
])
def test_a_pin_inside_a_sentence_is_masked_before_it_was_asked_for(text, masked):
    assert mask_secrets(text) == masked


def test_what_the_pin_prompt_gets_is_masked_only_when_it_is_a_pin():
    assert mask_secrets("oops, it's 2468", expecting="pin") == f"oops, it's {MASK}"
    assert mask_secrets("2468", expecting="pin") == MASK
    for answer in ("I don't have a PIN, can I talk to a person", "my number is +44 7700 900123",
                   "手机号输错了，应该是13912345678", "我沒有密碼，可以轉真人嗎"):
        assert mask_secrets(answer, expecting="pin") == answer
    assert mask_secrets("2468") == "2468"  # a bare number nobody asked a secret for


@pytest.mark.parametrize("text", [
    "订单 20261129001", "tracking 1Z999AA10123456784", "5G 套餐 199", "我2019年就开户了",
    "账单日期 2026-11-29", "话费还剩 ¥35.50", "I was charged £35.99", "call me back after 5:30 pm",
])
def test_near_misses_are_nothing_even_while_a_pin_is_asked_for(text):
    assert find(text) == []
    assert find(text, expecting="pin") == []


def test_personal_data_is_masked_to_its_last_four():
    assert mask("13800138000") == "•••••••8000"
    assert mask("call +44 7700 900123") == "call ••••••••0123"
    assert mask("身份证11010519491231002X") == "身份证••••••••••••••002X"
    assert mask("4111 1111 1111 1111") == "••••••••••••1111"
    assert mask("mail j.doe@example.com") == "mail j•••@example.com"


def test_checksums_decide_ids_and_cards():
    assert [s.kind for s in find("A123456789 and 4111111111111111")] == ["id_number", "card"]
    assert find("A123456788 and 4111111111111112") == []


def test_phones_are_validated_in_every_written_form():
    for typed in ("+86 138 0013 8000", "0086-138-0013-8000", "+886 912 345 678", "0912-345-678",
                  "+852 9123 4567", "07911 123456", "+44 (0)20 7123 4567", "447700900123"):
        assert [s.kind for s in find(typed)] == ["phone"], typed
    assert find("123456789012") == []  # twelve digits, no country's phone number


def test_the_value_the_verification_form_needs():
    assert secret_value("密码是1234喔") == "1234"
    assert secret_value("我号码13800138000 密码是1234") == "1234"
    assert secret_value("I don't have a PIN") is None
    assert secret_value("1234 or 5678?") is None  # two candidates: ask again rather than guess
