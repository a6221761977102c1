from bot.channels.history import ConversationHistory


def test_numbers_messages_and_returns_what_came_after():
    history = ConversationHistory()
    assert history.record_customer("c1", "你好") == 1
    assert history.record_bot("c1", {"text": "您好！", "quick_replies": []}) == 2
    assert history.record_bot("c2", {"text": "other"}) == 1  # numbered per conversation
    assert [m["text"] for m in history.since("c1", 0)] == ["你好", "您好！"]
    assert [m["seq"] for m in history.since("c1", 1)] == [2]
    assert history.since("unknown", 0) == []


def test_the_answer_to_the_pin_prompt_is_kept_masked():
    history = ConversationHistory()
    history.asked("c1", "utter_ask_account_pin")
    history.record_customer("c1", "1234")
    history.asked("c1", "utter_balance")
    history.record_customer("c1", "谢谢")
    assert [m["text"] for m in history.since("c1", 0)] == ["••••", "谢谢"]


def test_secrets_are_masked_wherever_they_are_typed_and_only_secrets():
    history = ConversationHistory()
    history.record_customer("c1", "帳號0912345678 密碼5678")  # before the bot asked for it
    history.asked("c1", "utter_ask_account_pin")
    history.record_customer("c1", "I don't have a PIN, can I talk to a person")
    history.asked("c1", "utter_ask_account_pin")
    history.record_customer("c1", "oops, it's 2468")
    history.record_bot("c1", {"text": "agent: so your pin is 2468?"})
    assert [m["text"] for m in history.since("c1", 0)] == [
        "帳號0912345678 密碼••••", "I don't have a PIN, can I talk to a person", "oops, it's ••••",
        "agent: so your pin is ••••?"]


def test_memory_is_bounded():
    history = ConversationHistory(per_conversation=3, conversations=2)
    for i in range(5):
        history.record_bot("c1", {"text": str(i)})
    assert [m["text"] for m in history.since("c1", 0)] == ["2", "3", "4"]
    history.record_bot("c2", {"text": "x"})
    history.record_bot("c3", {"text": "y"})  # the least recently used conversation is forgotten
    assert history.since("c1", 0) == [] and history.since("c3", 0)[0]["text"] == "y"
