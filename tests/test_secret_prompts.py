from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

from bot.secret_prompts import MASK, mask_answers_to_secret_prompts


def test_only_the_answer_to_the_pin_prompt_is_masked():
    events = [
        UserUttered("查话费", intent={"name": "check_balance", "confidence": 0.9}),
        SlotSet("requested_slot", "account_phone"),
        BotUttered("请输入手机号码"),
        UserUttered("13800138000"),
        SlotSet("requested_slot", "account_pin"),
        BotUttered("请输入 4 位服务密码"),
        UserUttered("1234", intent={"name": "inform", "confidence": 0.8}),
        ActionExecuted("validate_verify_form"),
        SlotSet("requested_slot", None),
        UserUttered("谢谢"),
    ]
    assert mask_answers_to_secret_prompts(events) == 1
    users = [e for e in events if isinstance(e, UserUttered)]
    assert [u.text for u in users] == ["查话费", "13800138000", MASK, "谢谢"]
    pin = users[2]
    assert pin.as_dict()["text"] == MASK and pin.as_dict()["parse_data"]["text"] == MASK
    assert pin.intent_name == "inform"  # what the bot understood stays
    assert mask_answers_to_secret_prompts(events) == 0  # saving again changes nothing
