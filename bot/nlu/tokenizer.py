"""Tokenizer for Chinese customers who write Simplified, Traditional, full-width or
mixed Chinese and English ("幫我check一下話費", "ＡＰＰ登不上").

Before jieba cuts the text it is folded: Traditional to Simplified and full-width to
half-width (bot.chinese), so 話費 and 话费, ＡＰＰ and APP give the same tokens and the
model learns each word once.  Only the tokens are folded: the message text itself is
untouched, so the language detector, the tracker and the actions see what the customer
wrote.  jieba keeps Latin words and digits as tokens of their own ("帮我/check/一下/话费"),
and a small domain dictionary (jieba_dictionary/) keeps the trade's words whole (话费, 流量,
宽带, 套餐 ...), written in Simplified since the text is folded first.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Text, Tuple

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message

from bot.chinese import blank_markup, fold_width, to_simplified


def fold_text(text: str) -> str:
    return to_simplified(fold_width(blank_markup(text or "")))


_MEANINGFUL = re.compile(r"[^\W_]|[?!]", re.UNICODE)  # a letter, digit, CJK character, ? or !
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_APOSTROPHES = ("'", "\u2019")


def word_tokens(pieces: List[Tuple[str, int]]) -> List[Tuple[str, int]]:
    """jieba's (word, start) pieces with English contractions joined and bare punctuation dropped."""
    joined: List[Tuple[str, int]] = []
    i = 0
    while i < len(pieces):
        word, start = pieces[i]
        if (
            i + 2 < len(pieces)
            and _LATIN_WORD.fullmatch(word)
            and pieces[i + 1][0] in _APOSTROPHES
            and _LATIN_WORD.fullmatch(pieces[i + 2][0])
            and pieces[i + 1][1] == start + len(word)
            and pieces[i + 2][1] == start + len(word) + 1
        ):
            joined.append((word + pieces[i + 1][0] + pieces[i + 2][0], start))
            i += 3
            continue
        joined.append((word, start))
        i += 1
    meaningful = [piece for piece in joined if _MEANINGFUL.search(piece[0])]
    return meaningful or joined


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class FoldingJiebaTokenizer(JiebaTokenizer):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # keep_punctuation: jieba's pieces as they are (the pipeline before #8, for comparison).
        return {**JiebaTokenizer.get_default_config(), "keep_punctuation": False}

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        import jieba

        # Every fold keeps one character per character, so offsets stay those of the original text.
        folded = fold_text(message.get(attribute))
        pieces = [(word, start) for word, start, _ in jieba.tokenize(folded) if word.strip()]
        if not self._config.get("keep_punctuation"):
            pieces = word_tokens(pieces)
        return self._apply_token_pattern([Token(word, start) for word, start in pieces])
