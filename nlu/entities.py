"""Entities in a citizen's message: phone numbers, ID numbers, report codes, a name.

Owns detection, canonical forms and masking:
- phones: Vietnamese mobile and landline numbers written with spaces, dots or
  dashes, with or without +84, validated with `phonenumbers`, returned as E.164;
- ID numbers: CCCD (12 digits, starting with a valid province code) and CMND
  (9 digits, only next to words such as "CMND", "chứng minh", "căn cước");
- report codes: YYYYMMDD + 4-digit sequence (a real date), as the gateway issues them;
- a person name introduced explicitly ("tôi tên là Nguyễn Văn An", "họ tên: ...").

`mask()` replaces phones, ID numbers and report codes with placeholders so the
text is safe to log and the classifiers do not learn from digits.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

import phonenumbers

from nlu.types import Entities

PHONE_MASK = "[phone]"
ID_MASK = "[id]"
CODE_MASK = "[code]"

_PHONE = re.compile(r"(?<![\w+])(?:\+\s?84|84|0)(?:[\s.\-]?\(?\d\)?){8,10}(?!\d)")
_CODE = re.compile(r"(?<![\d])(20\d{2})(\d{2})(\d{2})[\s.\-/]?(\d{4})(?!\d)")
_CCCD = re.compile(r"(?<!\d)0\d{11}(?!\d)")
_NINE = re.compile(r"(?<!\d)\d{9}(?!\d)|(?<!\d)\d{12}(?!\d)")
_ID_CONTEXT = re.compile(
    r"(?:cmnd|cmt|cccd|căn cước|can cuoc|chứng minh|chung minh|định danh|dinh danh|"
    r"\bcc\b|\bid\b)[^\d\n]{0,25}$",
    re.I,
)
_NAME_WORDS = r"(?P<name>[^\W\d_]+(?:[ \t]+[^\W\d_]+){1,4})"
_NAME = re.compile(
    r"(?:họ và tên|họ tên|ho va ten|ho ten|tên tôi là|ten toi la|tên em là|ten em la|"
    r"tên mình là|ten minh la|tôi tên là|toi ten la|tôi tên|toi ten|em tên là|em ten la|"
    r"em tên|em ten|mình tên là|minh ten la|mình tên|minh ten|tên là|ten la)"
    rf"\s*[:\-]?\s*{_NAME_WORDS}",
    re.I,
)
_INTRO = re.compile(rf"(?:[Tt]ôi là|[Ee]m là|[Mm]ình là|[Cc]háu là)\s+{_NAME_WORDS}")
_NAME_STOP = {
    "sdt",
    "sđt",
    "so",
    "số",
    "o",
    "ở",
    "tai",
    "tại",
    "nha",
    "nhà",
    "dia",
    "địa",
    "phan",
    "phản",
    "xin",
    "muon",
    "muốn",
    "can",
    "cần",
    "dt",
    "đt",
    "dien",
    "điện",
    "bao",
    "báo",
    "gui",
    "gửi",
    "va",
    "và",
    "la",
    "là",
    "cu",
    "cư",
    "tru",
    "trú",
    "song",
    "sống",
    "thuoc",
    "thuộc",
}


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str  # "phone" | "id" | "code"
    value: str


def canonical_phone(raw: str) -> str | None:
    """E.164 form of a Vietnamese phone number, or None when it is not a valid one."""
    digits = re.sub(r"\D", "", raw)
    if digits.startswith("84") and not raw.lstrip().startswith("0"):
        digits = "0" + digits[2:]
    if not digits.startswith("0") or len(digits) not in (10, 11):
        return None
    return _e164(digits)


@functools.lru_cache(maxsize=4096)
def _e164(national: str) -> str | None:
    try:
        number = phonenumbers.parse(national, "VN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _valid_date(year: str, month: str, day: str) -> bool:
    try:
        dt.date(int(year), int(month), int(day))
    except ValueError:
        return False
    return True


def find_spans(text: str) -> list[Span]:
    """Phones, ID numbers and report codes in `text`, in order, not overlapping."""
    if not any(c.isdigit() for c in text):
        return []
    spans: list[Span] = []
    for m in _CODE.finditer(text):
        if _valid_date(m.group(1), m.group(2), m.group(3)):
            spans.append(Span(m.start(), m.end(), "code", "".join(m.groups())))
    for m in _PHONE.finditer(text):
        phone = canonical_phone(m.group(0))
        if phone:
            spans.append(Span(m.start(), m.end(), "phone", phone))
    for m in _CCCD.finditer(text):
        if 1 <= int(m.group(0)[1:3]) <= 96:
            spans.append(Span(m.start(), m.end(), "id", m.group(0)))
    for m in _NINE.finditer(text):
        if _ID_CONTEXT.search(text, max(0, m.start() - 40), m.start()):
            spans.append(Span(m.start(), m.end(), "id", m.group(0)))
    return _without_overlaps(spans)


def _without_overlaps(spans: list[Span]) -> list[Span]:
    priority = {"id": 0, "code": 1, "phone": 2}
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, priority[s.kind])):
        if kept and span.start < kept[-1].end:
            continue
        kept.append(span)
    return kept


def mask(text: str, spans: list[Span] | None = None) -> str:
    """`text` with phones, ID numbers and report codes replaced by placeholders."""
    spans = find_spans(text) if spans is None else spans
    out: list[str] = []
    last = 0
    for span in spans:
        out.append(text[last : span.start])
        out.append({"phone": PHONE_MASK, "id": ID_MASK, "code": CODE_MASK}[span.kind])
        last = span.end
    out.append(text[last:])
    return "".join(out)


def person_name(text: str) -> str | None:
    """A name the citizen gave explicitly, title-cased, or None."""
    match = _NAME.search(text)
    capitalised = match is None
    match = match or _INTRO.search(text)
    if not match:
        return None
    words: list[str] = []
    for word in match.group("name").split():
        if word.lower() in _NAME_STOP or (capitalised and not word[0].isupper()):
            break
        words.append(word)
    if len(words) < 2:
        return None
    return " ".join(w[:1].upper() + w[1:].lower() for w in words)


def extract(text: str, spans: list[Span] | None = None) -> Entities:
    """All entities of `text` (pass `spans` when `find_spans` already ran)."""
    spans = find_spans(text) if spans is None else spans

    def values(kind: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.value for s in spans if s.kind == kind))

    return Entities(
        phones=values("phone"),
        id_numbers=values("id"),
        report_codes=values("code"),
        person_name=person_name(text),
    )
