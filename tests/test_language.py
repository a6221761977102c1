import pytest

from bot.nlu.language import detect_language


@pytest.mark.parametrize(
    "text, language",
    [
        ("转人工", "zh-Hans"),
        ("轉人工", "zh-Hant"),
        ("查询余额", "zh-Hans"),
        ("查詢餘額", "zh-Hant"),
        ("talk to a human", "en"),
        ("你好", None),  # the same in both scripts: keep the customer's last language
        ("13800138000", None),
        ("", None),
    ],
)
def test_detects_the_customers_language(text, language):
    assert detect_language(text) == language
