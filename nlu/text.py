"""The diacritics-free matching key, shared by the NLU and the bot's option matching."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^\w\s]")


def fold(text: str) -> str:
    """Lower-case, diacritics-free (đ → d), punctuation-free, single-spaced key."""
    decomposed = unicodedata.normalize("NFD", text.lower()).replace("đ", "d")
    stripped = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return " ".join(_NON_WORD.sub(" ", stripped).split())
