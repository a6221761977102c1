"""Finds secrets (PIN, one-time code, password) and personal data (phone, ID, card,
e-mail, address) in a customer's message.

Rules, not a model: spaCy blank pipelines for zh and en (nothing to download) whose
tokenizer keeps digit runs, e-mail addresses and ID numbers whole; a PhraseMatcher
finds the cue words around numbers (密码 / PIN / 验证码 / order / 订单 / ¥ ...), a Matcher
the runs of digit groups, an EntityRuler street addresses. Numbers are then checked by
maintained validators: ``phonenumbers`` for phones, ``python-stdnum`` for Chinese
resident IDs and card checksums (Luhn). Taiwan's national ID has no validator in
python-stdnum; its published checksum is computed here.

Context decides secrets, not the digits: a short number is a PIN only after (or just
before) a secret cue, or when the bot is waiting for a secret (``expecting``). Near
misses (amounts, dates, years, order / tracking numbers, plan names) are nothing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, Iterable, List, Optional, Tuple

import phonenumbers
from stdnum import luhn
from stdnum.cn import ric

# Full-width digits, letters and signs (１２３４, ＋８６) to their ASCII forms, one character for
# one so that offsets stay those of the text as typed. (bot.chinese.fold_width does the same
# with NFKC, but the layout keeps this ground package to ground imports.)
HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
HALF_WIDTH[0x3000] = ord(" ")

SECRET_KINDS = frozenset({"pin", "otp", "password"})
PERSONAL_KINDS = frozenset({"phone", "id_number", "card", "email", "address"})

# Where the project's customers are; a number written with + or 00 may be from anywhere.
PHONE_REGIONS = ("CN", "TW", "HK", "GB")
# Ofcom keeps 07700 900000-900999 for drama and demos (the English demo customer's
# number); phonenumbers rightly calls them invalid, but they are phone numbers.
FICTIONAL_PHONE_PREFIXES = ("+447700900",)
PIN_DIGITS = range(4, 9)  # a service PIN or one-time code: 4 to 8 digits
CUE_WINDOW = 20  # characters between a cue and its number ("the code you texted me is 218364")
CUE_AFTER_WINDOW = 8  # "1234是我的密码", "2468 is my pin"
# Phones have no checksum: right after "order" / "订单" a long number is the order's, not a phone.
NEAR_MISS_PHONE_WINDOW = 5

# Cue phrases, matched case-insensitively on whole tokens (Chinese: character by character).
SECRET_CUES: Dict[str, Tuple[str, ...]] = {
    "pin": ("密码", "密碼", "服务密码", "服務密碼", "pin", "pin码", "pin碼", "pin number", "pin code", "passcode"),
    "otp": ("验证码", "驗證碼", "校验码", "校驗碼", "动态码", "動態碼", "短信码", "簡訊碼", "code", "otp",
            "one-time code", "one time code", "verification code", "security code", "sms code"),
    "password": ("password", "口令", "pwd"),
}
# A number after these is not a secret (and, for the near-miss ones, not personal data either).
NEAR_MISS_CUES = (
    "订单", "訂單", "单号", "單號", "运单", "運單", "快递", "快遞", "物流", "包裹", "发票", "發票", "工单", "工單",
    "编号", "編號", "流水号", "流水號", "套餐", "方案", "型号", "型號", "版本", "房间", "房間", "航班", "车次", "車次",
    "金额", "金額", "余额", "餘額", "话费", "話費", "价格", "價格", "费用", "費用", "月费", "月費", "退款", "扣了",
    "付了", "充值", "充了", "流量", "分机", "分機", "楼", "樓", "第",
    "order", "tracking", "track", "parcel", "invoice", "ticket", "case", "reference", "ref", "booking", "plan",
    "model", "version", "room", "flight", "area code", "postcode", "post code", "zip code", "promo code",
    "discount code", "voucher code", "coupon code", "country code", "error code", "qr code", "dialling code",
    "tariff", "amount", "balance", "price", "cost", "fee", "charged", "paid", "refund", "top up", "topped up",
    "bill", "extension", "ext", "iphone", "galaxy", "pixel", "flat", "unit", "floor", "since",
    "order number", "tracking number", "case number", "reference number", "ticket number", "invoice number",
    "订单号码", "訂單號碼", "发票号码", "發票號碼", "追踪码", "追蹤碼", "追踪号码", "追蹤號碼",
)
PERSONAL_CUES = (
    "手机", "手機", "电话", "電話", "帐号", "帳號", "账号", "賬號", "身份证", "身分證", "卡号", "卡號", "邮箱", "郵箱",
    "地址", "号码", "號碼", "phone", "mobile", "tel", "telephone", "number", "id number", "card number", "email",
    "e-mail", "address",
)
# Words after a number that make it an amount, a date, a quantity or a plan: not a secret, not personal.
UNITS = frozenset(
    "元 块 塊 圓 圆 蚊 毛 角 分 % 年 月 日 号 號 点 點 时 時 小 天 周 週 个 個 次 条 條 张 張 位 岁 歲 秒 台 部 件 折 倍 人 楼 樓 "
    "g gb m mb k kb t tb mbps min mins minute minutes hour hours hrs day days week weeks month months year years "
    "yrs am pm dollars dollar pounds pound quid p pence rmb yuan cny hkd twd usd gbp ntd st nd rd th x "
    "minutes' texts sms calls people times".split()
)
CURRENCIES = ("¥", "$", "£", "€", "hk$", "nt$", "us$", "rmb", "cny", "hkd", "twd", "ntd", "gbp", "usd",
              "人民币", "人民幣", "港币", "港幣", "台币", "台幣", "新台币", "新台幣")
# After a password cue, words that say something about the password rather than being it.
NOT_A_PASSWORD = frozenset(
    "wrong incorrect not invalid expired locked forgotten forgot lost correct right changed reset blocked "
    "missing needed required and or but the a an my your it is was please help again still".split()
)

TOKEN = re.compile(
    r"(?P<email>[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"
    r"|(?P<twid>(?<![A-Za-z0-9])[A-Za-z][12]\d{8}(?!\d))"
    r"|(?P<ric>(?<!\d)\d{17}[Xx](?![A-Za-z0-9]))"
    r"|(?P<digits>\d+)"
    r"|(?P<word>[A-Za-z]+)"
    r"|(?P<space>\s+)"
    r"|(?P<other>.)",
    re.S,
)
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
DATE = re.compile(
    r"^(?:(?:19|20)\d\d[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.](?:19|20)?\d\d|\d{1,2}/\d{1,2}"
    r"|(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))$"
)
DECIMAL = re.compile(r"^\d+\.\d{1,2}$")
PASSWORD_VALUE = re.compile(r"\s*(?:(is|was|=|:|：|是|为|為)\s*)?([A-Za-z0-9!@#$%^&*_.\-]{4,32})")


@dataclass(frozen=True)
class Span:
    """``text[start:end]`` is a secret or personal data of ``kind``; ``value`` is its
    normalised form (digits of a number, the phone in E.164)."""

    start: int
    end: int
    kind: str
    value: str

    @property
    def secret(self) -> bool:
        return self.kind in SECRET_KINDS


class _RunTokenizer:
    """Digit runs, Latin words, e-mail addresses and ID numbers as single tokens; every
    other character (each Chinese character) on its own. One regex pass: cheap."""

    def __init__(self, vocab):
        self.vocab = vocab

    def __call__(self, text: str):
        from spacy.tokens import Doc

        words: List[str] = []
        spaces: List[bool] = []
        for match in TOKEN.finditer(text):
            piece = match.group()
            if piece == " " and words and not spaces[-1]:
                spaces[-1] = True
            else:
                words.append(piece)
                spaces.append(False)
        return Doc(self.vocab, words=words, spaces=spaces)


@lru_cache(maxsize=2)
def _pipeline(lang: str):
    """A blank spaCy pipeline with the privacy rules; built once per process."""
    import spacy
    from spacy.matcher import Matcher, PhraseMatcher

    config = {"nlp": {"tokenizer": {"segmenter": "char"}}} if lang == "zh" else {}
    nlp = spacy.blank(lang, config=config)
    nlp.tokenizer = _RunTokenizer(nlp.vocab)

    cues = PhraseMatcher(nlp.vocab, attr="LOWER")
    for kind, phrases in SECRET_CUES.items():
        cues.add(kind, [nlp.make_doc(p) for p in phrases])
    cues.add("near_miss", [nlp.make_doc(p) for p in NEAR_MISS_CUES])
    cues.add("personal", [nlp.make_doc(p) for p in PERSONAL_CUES])

    numbers = Matcher(nlp.vocab)
    # Digit groups joined by single spaces, dashes, dots, slashes or brackets: "+86 138-0013-8000".
    numbers.add("number", [[{"TEXT": {"REGEX": r"^(\d+|\d{17}[Xx]|\+|\(|\)|-|\.|/)$"}, "OP": "+"}]],
                greedy="LONGEST")

    ruler = nlp.add_pipe("entity_ruler")
    street = ["street", "st", "road", "rd", "avenue", "ave", "lane", "ln", "way", "drive", "dr", "close", "court",
              "place", "crescent", "terrace", "gardens", "square"]
    zh_street = ["路", "街", "道", "巷", "弄", "里"]
    ruler.add_patterns([
        {"label": "address", "pattern": [{"IS_DIGIT": True}, {"IS_ALPHA": True, "IS_TITLE": True, "OP": "{1,3}"},
                                         {"LOWER": {"IN": street}}]},
        {"label": "address", "pattern": [{"TEXT": {"REGEX": r"^[\u4e00-\u9fff]$"}, "OP": "{2,12}"},
                                         {"TEXT": {"IN": zh_street}},
                                         {"TEXT": {"REGEX": "^[一二三四五六七八九十]$"}, "OP": "?"},
                                         {"TEXT": "段", "OP": "?"}, {"IS_DIGIT": True},
                                         {"TEXT": {"IN": ["号", "號"]}}]},
    ])
    return nlp, cues, numbers


def warm_up() -> None:
    """Build both pipelines now (about 2 s with spaCy's import), not while a customer waits."""
    for lang in ("zh", "en"):
        _pipeline(lang)


def _lang(text: str) -> str:
    return "zh" if CJK.search(text) else "en"


def find(text: str, expecting: Optional[str] = None) -> List[Span]:
    """Secret and personal spans in ``text``, in order, not overlapping.

    ``expecting``: the secret kind the bot has just asked for ("pin", "otp",
    "password"), so that a bare number ("2468", "oops, it's 2468") is that secret.
    """
    if not text or not any(ch.isdigit() or ch == "@" for ch in text) and expecting != "password" \
            and not _mentions_password(text):
        return []
    folded = text.translate(HALF_WIDTH)
    nlp, cue_matcher, number_matcher = _pipeline(_lang(folded))
    doc = nlp(folded)
    lower = folded.lower()
    cues = sorted(
        ((doc[s:e].start_char, doc[s:e].end_char, nlp.vocab.strings[label]) for label, s, e in cue_matcher(doc)),
        key=lambda c: (c[0], -c[1]),
    )
    spans: List[Span] = []
    for ent in doc.ents:
        if ent.label_ == "address":
            start = _address_start(folded, ent.start_char, ent.end_char)
            spans.append(Span(start, ent.end_char, "address", folded[start:ent.end_char]))
    for token in doc:
        if "@" in token.text and EMAIL.match(token.text):
            spans.append(Span(token.idx, token.idx + len(token), "email", token.text.lower()))
        elif len(token) == 10 and token.text[0].isalpha() and _valid_taiwan_id(token.text):
            spans.append(Span(token.idx, token.idx + len(token), "id_number", token.text.upper()))
    for _, s, e in number_matcher(doc):
        spans.extend(_numbers_in_run(folded, lower, doc[s:e], cues, expecting))
    spans.extend(_passwords(folded, cues, spans))
    return _without_overlaps(spans)


def _mentions_password(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in SECRET_CUES["password"] + ("密码", "密碼"))


def _address_start(text: str, start: int, end: int) -> int:
    """The greedy Chinese pattern takes the words before the address too ("我住在…"): cut them."""
    head = text[start:end]
    cut = max(head.rfind(marker) for marker in ("在", "是", "到", "址", "：", ":", "，", ","))
    return start + cut + 1 if cut >= 0 else start


def _numbers_in_run(text: str, lower: str, run, cues, expecting: Optional[str]) -> List[Span]:
    groups = [t for t in run if t.text[0].isdigit()]
    if not groups:
        return []
    start = groups[0].idx
    if start > 0 and text[start - 1] == "+":
        start -= 1
    elif start > 1 and text[start - 2:start] == "+(":
        start -= 2
    end = groups[-1].idx + len(groups[-1])
    whole = text[start:end]
    if DATE.match(whole) or DECIMAL.match(whole) or _is_amount_or_unit(text, lower, start, end):
        return []
    cue, gap = _cue_before(text, cues, start)
    phones = not (cue == "near_miss" and gap <= NEAR_MISS_PHONE_WINDOW)
    if sum(len(g) for g in groups) in PIN_DIGITS and len(groups) > 1:
        # A PIN typed in pieces ("12 34", "1-2-3-4"), or an 8-digit phone / date.
        found = _personal(whole, start, end, phones)
        if found:
            return [found]
        secret = _secret(text, cues, start, end, cue, expecting)
        return [secret] if secret else []
    spans: List[Span] = []
    i = 0
    while i < len(groups):
        date_end = next((j for j in range(min(len(groups), i + 3), i, -1)
                         if DATE.match(text[groups[i].idx:groups[j - 1].idx + len(groups[j - 1])])), None)
        if date_end:
            i = date_end  # "2026-11-29 1234": the date is nothing, the rest is judged on its own
            continue
        for j in range(min(len(groups), i + 8), i, -1):
            s = groups[i].idx if i else start
            e = groups[j - 1].idx + len(groups[j - 1])
            found = _personal(text[s:e], s, e, phones)
            if found:
                spans.append(found)
                i = j
                break
        else:
            g = groups[i]
            s, e = g.idx, g.idx + len(g)
            own_cue = _cue_before(text, cues, s)[0] if i else cue
            if i and _is_amount_or_unit(text, lower, s, e):
                i += 1
                continue
            secret = _secret(text, cues, s, e, own_cue, expecting)
            if secret:
                spans.append(secret)
            i += 1
    return spans


def _is_amount_or_unit(text: str, lower: str, start: int, end: int) -> bool:
    before = lower[max(0, start - 8):start].rstrip()
    if before.endswith(CURRENCIES):
        return True
    after = lower[end:end + 12].lstrip(" ")
    if not after:
        return False
    if CJK.match(after[0]) or after[0] in "%％":
        return after[0] in UNITS or after[:2] in ("小时", "小時", "分钟", "分鐘")
    word = re.match(r"[a-z']+", after)
    return bool(word) and word.group() in UNITS and (after[len(word.group()):][:1] in ("", " ", ".", ",", "!", "?"))


def _cue_before(text: str, cues, start: int) -> Tuple[Optional[str], int]:
    """The label of the nearest cue ending shortly before ``start`` with no digit in
    between, and how many characters lie between them."""
    best = None
    for cue_start, cue_end, label in cues:
        if cue_end <= start and start - cue_end <= CUE_WINDOW and not any(ch.isdigit() for ch in text[cue_end:start]):
            if best is None or cue_end > best[0] or (cue_end == best[0] and cue_start < best[1]):
                best = (cue_end, cue_start, label)
    return (best[2], start - best[0]) if best else (None, CUE_WINDOW + 1)


def _cue_after(text: str, cues, end: int) -> Optional[str]:
    """The label of a cue just after ``end`` that has no number of its own after it
    ("1234是我的密码", but not the phone in "07911 654321 and PIN 5307")."""
    for cue_start, cue_end, label in cues:
        if cue_start >= end and cue_start - end <= CUE_AFTER_WINDOW and not any(
            ch.isdigit() for ch in text[end:cue_start]
        ):
            return None if any(ch.isdigit() for ch in text[cue_end:cue_end + CUE_WINDOW]) else label
    return None


def _secret(text: str, cues, start: int, end: int, cue: Optional[str], expecting: Optional[str]) -> Optional[Span]:
    digits = re.sub(r"\D", "", text[start:end])
    if len(digits) not in PIN_DIGITS:
        return None
    if cue in SECRET_KINDS:
        kind = cue
    elif cue in ("personal", "near_miss"):
        return None
    else:
        after = _cue_after(text, cues, end)
        if after in SECRET_KINDS:
            kind = after
        elif expecting in SECRET_KINDS:
            kind = expecting
        else:
            return None
    return Span(start, end, "pin" if kind == "password" else kind, digits)


def _personal(chunk: str, start: int, end: int, phones: bool = True) -> Optional[Span]:
    digits = re.sub(r"[^\dXx]", "", chunk).upper()
    if len(digits) < 7 or DATE.match(chunk):
        return None
    if len(digits) == 18 and ric.is_valid(digits):
        return Span(start, end, "id_number", digits)
    if "X" in digits:
        return None
    plus = chunk.startswith("+") or chunk.startswith("00")
    if 13 <= len(digits) <= 19 and not plus and luhn.is_valid(digits):
        return Span(start, end, "card", digits)
    phone = _phone(chunk) if phones else None
    if phone:
        return Span(start, end, "phone", phone)
    return None


def _phone(chunk: str) -> Optional[str]:
    """The number in E.164 when it is a valid phone number, else None."""
    candidate = chunk.strip()
    if candidate.startswith("00"):
        candidate = "+" + candidate[2:]
    regions: Iterable[Optional[str]] = (None,) if candidate.startswith("+") else PHONE_REGIONS
    for region in regions:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if phonenumbers.is_valid_number(number) or e164.startswith(FICTIONAL_PHONE_PREFIXES):
            return e164
    return None


def phone_number_forms(e164: str) -> List[str]:
    """The digit strings one number may be kept as: international ("8613800138000"),
    national ("13800138000", "0912345678") and without its trunk prefix ("912345678")."""
    number = phonenumbers.parse(e164, None)
    national = re.sub(r"\D", "", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))
    forms = [e164.lstrip("+"), national, str(number.national_number)]
    return list(dict.fromkeys(forms))


def phone_candidates(text: str) -> List[str]:
    """The valid phone numbers in ``text`` (E.164), for the verification form."""
    return [s.value for s in find(text) if s.kind == "phone"]


def secret_value(text: str, expecting: Optional[str] = "pin") -> Optional[str]:
    """The one secret in ``text`` (a PIN typed bare or inside a sentence), or None."""
    secrets = [s.value for s in find(text, expecting=expecting) if s.secret]
    return secrets[0] if len(secrets) == 1 else None


def _passwords(text: str, cues, found: List[Span]) -> List[Span]:
    """Letters-and-digits passwords after a password cue ("my password is hunter22")."""
    spans = []
    for _, cue_end, label in cues:
        if label not in ("password", "pin"):
            continue
        match = PASSWORD_VALUE.match(text, cue_end)
        if not match:
            continue
        value = match.group(2)
        s = match.start(2)
        if value.isdigit() or any(sp.start <= s < sp.end for sp in found):
            continue  # numbers were judged above
        explicit = match.group(1) is not None
        has_digit = any(ch.isdigit() for ch in value)
        if value.lower() in NOT_A_PASSWORD or not (has_digit or explicit):
            continue
        spans.append(Span(s, match.end(2), "password", value))
    return spans


def _valid_taiwan_id(value: str) -> bool:
    """Taiwan national ID (one letter, 1 or 2, eight digits) with its check digit."""
    letters = "ABCDEFGHJKLMNPQRSTUVXYWZIO"  # 10, 11, ... in the order the ministry assigns them
    value = value.upper()
    if not re.fullmatch(r"[A-Z][12]\d{8}", value):
        return False
    code = letters.index(value[0]) + 10
    digits = [int(d) for d in value[1:]]
    total = code // 10 + (code % 10) * 9 + sum(d * w for d, w in zip(digits[:8], range(8, 0, -1))) + digits[8]
    return total % 10 == 0


def _without_overlaps(spans: List[Span]) -> List[Span]:
    kept: List[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        if kept and span.start < kept[-1].end:
            continue
        kept.append(span)
    return kept
