"""The diacritics-free matching key, shared by the NLU and the bot's option matching."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^\w\s]")


def fold(text: str) -> str:
    """Lower-case, diacritics-free (đ → d), punctuation-free, single-spaced key."""
    lowered = text.lower()
    if not lowered.isascii():  # text typed without diacritics needs no decomposition
        decomposed = unicodedata.normalize("NFD", lowered).replace("đ", "d")
        lowered = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return " ".join(_NON_WORD.sub(" ", lowered).split())
