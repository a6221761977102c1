import pytest

from rasa.shared.nlu.training_data.message import Message

from bot.nlu.language import LanguageDetector, detect_language


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


@pytest.mark.parametrize(
    "text, window, language",
    [
        ("你好", "zh-Hant", "zh-Hant"),  # the text cannot tell: the chat window's language decides
        ("13800138000", "en", "en"),
        ("轉人工", "zh-Hans", "zh-Hant"),  # the text can tell: it wins over the window
        ("hello", "zh-Hant", "en"),
        ("你好", "fr", None),  # not one of ours: ignored
        ("你好", None, None),
    ],
)
def test_the_chat_windows_language_breaks_ties(text, window, language):
    metadata = {"language": window} if window else {}
    message = Message(data={"text": text, "metadata": metadata})
    LanguageDetector().process([message])
    found = [e["value"] for e in message.get("entities", []) if e["entity"] == "language"]
    assert found == ([language] if language else [])
