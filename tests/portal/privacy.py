"""`assert_no_pii`: no personal data in a public response, in any usual spelling.

Reusable by every public surface (portal pages, map JSON, Open311):

    from tests.portal.privacy import assert_no_pii
    assert_no_pii(response.text, ["0912345678", "079123456789", "Nguyễn Văn An"])

A secret made of digits is looked for with any separators between its digits (spaces,
dots, dashes: "0912 345 678", "0912.345.678"), and a phone number in each of its forms
(0912345678, +84912345678, 84912345678). Other secrets (names) are looked for in any
case, with and without diacritics. The text is read as a browser would (HTML entities
decoded) and, when it is JSON, with its \\u escapes decoded.
"""

from __future__ import annotations

import contextlib
import html
import json
import re
import unicodedata
from collections.abc import Iterable


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()


def _readable(text: str) -> str:
    with contextlib.suppress(ValueError):
        text = json.dumps(json.loads(text), ensure_ascii=False)
    return unicodedata.normalize("NFC", html.unescape(text))


def _digit_forms(secret: str) -> set[str]:
    digits = re.sub(r"\D", "", secret)
    forms = {digits}
    if digits.startswith("84") and len(digits) in (11, 12):
        forms.add("0" + digits[2:])
    if digits.startswith("0") and len(digits) in (10, 11):
        forms.add("84" + digits[1:])  # "+84…" contains "84…"
    return forms


def find_pii(text: str, secrets: Iterable[str]) -> list[str]:
    """The secrets found in `text` (empty when none)."""
    readable = _readable(text)
    folded = _fold(readable)
    found = []
    for secret in secrets:
        if re.fullmatch(r"[\d\s.+\-()]+", secret):
            for form in _digit_forms(secret):
                spaced = r"[\s.\-]*".join(form)
                if re.search(rf"(?<!\d){spaced}(?!\d)", readable):
                    found.append(secret)
                    break
        elif _fold(secret) in folded:
            found.append(secret)
    return found


def assert_no_pii(text: str, secrets: Iterable[str], *, where: str = "") -> None:
    leaked = find_pii(text, secrets)
    assert not leaked, f"personal data {leaked} shown in {where or 'the response'}"
