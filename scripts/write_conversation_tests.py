"""Writes tests/stories/test_conversation_<script>.yml: one Rasa test story per general flow,
the same flow in each script, each message annotated with the language the detector finds.

Run from the worktree root after changing a flow: .venv/bin/python scripts/write_conversation_tests.py
"""
import json, sys
sys.path.insert(0, ".")
from bot.nlu.language import detect_language

FLOWS = {  # name: [(text per script, intent) or action]
    "greet": [(("你好呀", "您好呀", "hello"), "greet"), "utter_greet"],
    "goodbye": [(("好的再见", "好的再見", "ok bye then"), "goodbye"), "utter_goodbye"],
    "thanks": [(("太感谢了", "太感謝了", "thanks a lot"), "thanks"), "utter_you_are_welcome"],
    "affirm": [(("好的没问题", "好的沒問題", "yes please"), "affirm"), "utter_affirm"],
    "deny": [(("不用了谢谢", "不用了謝謝", "no not really"), "deny"), "utter_deny"],
    "bot challenge": [(("你是机器人吗", "你是機器人嗎", "am i talking to a bot"), "bot_challenge"), "utter_bot_challenge"],
    "chitchat": [(("你叫什么名字", "你叫什麼名字", "how are you today"), "chitchat"), "utter_chitchat"],
    "complaint": [(("我要投诉你们", "我要投訴你們", "i want to file a complaint"), "complain"), "utter_complaint"],
    "frustration: anger": [(("你们这什么破服务", "你們這什麼爛服務", "THIS SERVICE IS TERRIBLE"), "complain"), "utter_complaint"],
    "frustration: still not solved": [(("还是不行啊", "還是不行啊", "it still doesn't work"), "still_broken"), "utter_still_broken"],
    "frustration: the same question three times": [
        (("怎么交话费", "怎麼繳話費", "how do i pay my bill"), "faq"), "action_answer_faq",
        (("怎么交话费", "怎麼繳話費", "how do i pay my bill"), "faq"), "action_answer_faq",
        (("怎么交话费", "怎麼繳話費", "how do i pay my bill"), "faq"), "utter_repeated_question",
    ],
    "nudge": [(("在吗", "在嗎", "hello?"), "nudge"), "utter_nudge"],
    "several quick messages answered once": [
        (("在吗", "在嗎", "anyone there?"), "nudge"), "utter_nudge",
        (("问一下", "問一下", "quick question"), "greet"),  # no reply of its own: the bot listens
        (("话费怎么扣这么多", "話費怎麼扣這麼多", "why is my bill so high this month"), "faq"), "action_answer_faq",
    ],
    "out of scope": [(("帮我订张机票", "幫我訂張機票", "book me a flight to rome"), "out_of_scope"), "utter_out_of_scope"],
    "fallback, clarification, then a person": [
        (("魑魅魍魉龘靐", "魑魅魍魎龘靐", "zxqv plmokn wibble"), "nlu_fallback"), "action_clarify_or_offer_human",
        (("魑魅魍魉龘靐龘", "魑魅魍魎龘靐龘", "zxqv plmokn wibble wobble"), "nlu_fallback"), "action_clarify_or_offer_human",
        (("/human_handoff", "/human_handoff", "/human_handoff"), "human_handoff"), "action_handoff",
    ],
}
SCRIPTS = ["zh-Hans", "zh-Hant", "en"]


def user_text(text):
    language = None if text.startswith("/") else detect_language(text)
    if not language:
        return text
    # The language detector's entity covers the whole message (bot/nlu/language.py).
    return "[" + text + "]" + json.dumps({"entity": "language", "value": language})


for n, script in enumerate(SCRIPTS):
    lines = ['version: "3.1"',
             f"# Conversation tests ({script}), Rasa's test-story format: `make eval` (bench/eval_conversation.py)",
             "# runs them with `rasa test core`. The language entity is the detector's (bot/nlu/language.py).",
             "stories:"]
    for flow, steps in FLOWS.items():
        lines += [f"  - story: {json.dumps(f'{flow} ({script})', ensure_ascii=False)}", "    steps:"]
        for step in steps:
            if isinstance(step, tuple):
                texts, intent = step
                lines += ["      - user: |", f"          {user_text(texts[n])}", f"        intent: {intent}"]
            else:
                lines += [f"      - action: {step}"]
    open(f"tests/stories/test_conversation_{script}.yml", "w").write("\n".join(lines) + "\n")
