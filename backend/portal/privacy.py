"""What the public may read of a citizen's words: phone, ID numbers and the reporter's name
removed.

Citizens type their phone number, CCCD/CMND or name into the report itself; staff may
quote them in the answer. Everything the portal shows of a report's text goes through
`public_text` (plain text, escaped later by Jinja) or `public_html` (the sanitised
answer). The reporter's name and phone are never shown: the bot promises citizens
that they are not published, even when they agree to publish the report.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from backend.logs import is_report_code, mask_number, mask_pii
from backend.reports.sanitize import clean_html

# ID numbers written in groups ("079 123 456 789", "123.456.789"): mask_pii catches
# phone numbers and ungrouped ID numbers, this the grouped 9/12-digit ones.
_GROUPED_CCCD = re.compile(r"(?<![\d*])\d(?:[\s.\-]?\d){11}(?!\d)")
_GROUPED_CMND = re.compile(r"(?<![\d*])\d(?:[\s.\-]?\d){8}(?!\d)")
NAME_MASK = "***"


def is_code(value: str) -> bool:
    """A report code's shape (a date, then the day's sequence), which no ID number has."""
    return is_report_code(value)


def _mask_digits(text: str) -> str:
    # CCCD before phones ("079 123 456 789" is not "079 123 456" + "789"), CMND after
    # ("+84 912 345 678" is a phone, not "+84" + a CMND); report codes stay readable
    return _GROUPED_CMND.sub(mask_number, mask_pii(_GROUPED_CCCD.sub(mask_number, text)))


def _fold(text: str) -> str:
    """Without diacritics (đ → d): citizens often type names that way."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


@functools.lru_cache(maxsize=4096)
def _name_patterns(name: str | None) -> tuple[re.Pattern[str], ...]:
    """The reporter's full name with and without diacritics, any case and spacing."""
    words = unicodedata.normalize("NFC", name or "").split()
    if not words or sum(len(w) for w in words) < 3:
        return ()
    forms = {tuple(words), tuple(_fold(w) for w in words)}
    return tuple(re.compile(r"\s+".join(map(re.escape, form)), re.IGNORECASE) for form in forms)


def public_text(text: str | None, *, reporter_name: str | None = None) -> str:
    """Plain text for the public: phone/ID numbers and the reporter's name masked."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text)
    if sum(ch.isdigit() for ch in text) >= 9:  # every phone or ID number has at least nine
        text = _mask_digits(text)
    for pattern in _name_patterns(reporter_name):
        text = pattern.sub(NAME_MASK, text)
    return text


def public_html(html: str | None, *, reporter_name: str | None = None) -> str:
    """The answer HTML, sanitised again (it was on approval; a public page does not rely on
    every writer having done so) and masked: masking only puts asterisks in place of digits
    and words, which cannot open a tag."""
    return public_text(clean_html(html or ""), reporter_name=reporter_name)
