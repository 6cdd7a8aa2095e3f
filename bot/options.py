"""Reading short answers: numbered options, yes/no, "xong", names and phone numbers.

The bot remembers the options it last offered, so "1", "số 1", "một" or the
option's title typed without diacritics map back to the same payload on any
channel (buttons where the channel has them, numbered lines where it does not).
"""

from __future__ import annotations

import re

from bot.messages import Button
from nlu import fold

_NUMBER_WORDS = {
    "mot": 1,
    "hai": 2,
    "ba": 3,
    "bon": 4,
    "tu": 4,
    "nam": 5,
    "sau": 6,
    "bay": 7,
    "tam": 8,
    "chin": 9,
}
_NUMBER_PREFIXES = ("so ", "chon ", "phuong an ", "muc ", "cau ")
_YES = {
    "co",
    "dong y",
    "ok",
    "oke",
    "okay",
    "u",
    "uh",
    "um",
    "uhm",
    "vang",
    "da",
    "da vang",
    "dung",
    "dung roi",
    "duoc",
    "chuan",
    "yes",
    "gui",
    "gui di",
    "dong y cong khai",
    "cong khai",
    "co a",
    "da co",
    "vang a",
    "dc",
    "ok a",
    "xac nhan",
}
_NO = {
    "khong",
    "ko",
    "k",
    "kg",
    "khong a",
    "hong",
    "hok",
    "khum",
    "no",
    "chua",
    "thoi",
    "khong dong y",
    "khong cong khai",
    "dung cong khai",
    "da khong",
    "k a",
    "ko a",
    "khong muon",
}
_DONE = {
    "xong",
    "xong roi",
    "het",
    "het roi",
    "du roi",
    "khong",
    "ko",
    "k",
    "khong co",
    "khong co anh",
    "ko co",
    "k co",
    "khong co hinh",
    "het anh",
    "thoi",
    "bo qua",
    "khong can",
    "roi",
    "ok",
    "done",
}
_NAME_LEAD = {"toi", "ten", "la", "minh", "em", "chu", "co", "bac", "ho", "va", "cua", "day"}
_CONTACT_WORDS = {"ten", "sdt", "so", "dien", "thoai", "dt", "lien", "he", "lh", "di", "dong"}
_DIGITS = re.compile(r"[\d+][\d\s.\-]{6,}\d")


def pick(options: tuple[Button, ...], key: str) -> str | None:
    """The payload of the option `key` (a folded answer) designates, if any."""
    if not options or not key:
        return None
    number = _as_number(key)
    if number is not None:
        return options[number - 1].payload if 1 <= number <= len(options) else None
    exact = [b for b in options if fold(b.title) == key]
    if exact:
        return exact[0].payload
    partial = [b for b in options if len(key) >= 3 and key in fold(b.title)]
    return partial[0].payload if len(partial) == 1 else None


def _as_number(key: str) -> int | None:
    for prefix in _NUMBER_PREFIXES:
        if key.startswith(prefix):
            key = key[len(prefix) :]
    if key.isdigit() and len(key) <= 2:
        return int(key)
    return _NUMBER_WORDS.get(key)


def yes_no(key: str) -> bool | None:
    if key in _YES:
        return True
    if key in _NO:
        return False
    return None


_DONE_RE = re.compile(
    r"^(?:(?:khong|ko|k|kg|chua|het)(?: co)?(?: anh| hinh| video| gi)*|xong.*)(?: a| nha| roi)?$"
)


def is_done(key: str) -> bool:
    """ "xong", "không có ảnh", "ko co hinh": no (more) photos."""
    return key in _DONE or bool(_DONE_RE.match(key))


def extract_name(text: str) -> str | None:
    """A person's name from a contact answer ("Tôi tên Lan, sđt 0912 345 678" → "Lan")."""
    words = [w for w in re.split(r"[\s,;:.\-/]+", _DIGITS.sub(" ", text)) if w.isalpha()]
    words = [w for w in words if fold(w) not in _CONTACT_WORDS]
    while words and fold(words[0]) in _NAME_LEAD:
        words.pop(0)
    if not words or len(words) > 5:
        return None
    return " ".join(w[:1].upper() + w[1:].lower() for w in words)
