"""Vietnamese phone numbers in one canonical form (E.164, `+84…`) for every channel.

Zalo forms, Telegram contacts and SMS senders write numbers in many ways
(`0912 345 678`, `84912345678`, `+84912345678`, old 11-digit `0169…`); the
store keeps one form and each adapter derives its provider's format at send
time. Built on `phonenumbers`, with two local rules it lacks: the 2018–2019
renumbering of 11-digit mobiles, and mobile ranges newer than its metadata.
"""

from __future__ import annotations

import re

import phonenumbers

_OLD_MOBILE = {  # 11-digit prefixes renumbered in 2018-2019 [VN-1011]
    **{"120": "70", "121": "79", "122": "77", "126": "76", "128": "78"},
    **{"123": "83", "124": "84", "125": "85", "127": "81", "129": "82"},
    **{f"16{d}": f"3{d}" for d in "23456789"},
    **{"186": "56", "188": "58", "199": "59"},
}
_VN_MOBILE = re.compile(r"[35789][0-9]{8}")


def normalise_phone(raw: str) -> str | None:
    """E.164 (+84…) for a Vietnamese number in any usual form; None when it is not one."""
    try:
        number = phonenumbers.parse(re.sub(r"[\s.()-]", "", raw), "VN")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 84:
        if not phonenumbers.is_valid_number(number):
            return None
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    national = str(number.national_number)
    if len(national) == 10 and national[:3] in _OLD_MOBILE:
        national = _OLD_MOBILE[national[:3]] + national[3:]
    try:
        candidate = phonenumbers.parse(f"+84{national}")
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_valid_number(candidate) or _VN_MOBILE.fullmatch(national):
        return f"+84{national}"  # new MVNO ranges (e.g. 055) are not all in phonenumbers yet
    return None
