"""Text normalisation: from what a citizen typed to what the models read.

Owns every string transformation that happens before classification:
Unicode NFC, removal of noise (URLs, emoji, HTML tags, control characters,
stretched letters "quáaaa"), Vietnamese tone-mark placement (one canonical
spelling: "hoà"/"hòa" -> "hòa", "thuý"/"thúy" -> "thúy", the convention of
underthesea's `text_normalize`), underthesea's token rules (typos such as
"đuợc" -> "được"), the teencode/abbreviation dictionary read from
`synonyms.yml` ("ko" -> "không", "dc" -> "được"), and the diacritics-free key
used to match text written without accents.

Everything here is pure and fast (a few microseconds per word, cached); the
underthesea rule table is read once, when a `Normalizer` is built.
"""

from __future__ import annotations

import functools
import html
import importlib.util
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nlu.text import fold

# --- diacritics -----------------------------------------------------------

_TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}  # huyền sắc ngã hỏi nặng
_FOLD_TABLE = str.maketrans({"đ": "d", "Đ": "D"})


@functools.lru_cache(maxsize=65536)
def _strip_word(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word.translate(_FOLD_TABLE))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def strip_diacritics(text: str) -> str:
    """Remove Vietnamese diacritics, keep case and punctuation ("Đường" -> "Duong")."""
    if text.isascii():
        return text
    return " ".join(_strip_word(w) for w in text.split(" "))


def has_diacritics(text: str) -> bool:
    """True when the text carries Vietnamese accents (so it was not typed without them)."""
    return not text.isascii() and strip_diacritics(text) != text


# --- tone-mark placement --------------------------------------------------

_VOWELS = set("aăâeêioôơuưy")
_MODIFIED = set("ăâêôơư")
_VN_WORD = re.compile(r"[^\W\d_]+")


def _tone_position(bare: str) -> int | None:
    """Index of the vowel that carries the tone in `bare` (lower case, no tone)."""
    start = 0
    if bare.startswith("qu") or (bare.startswith("gi") and any(c in _VOWELS for c in bare[2:])):
        start = 2
    vowels = [i for i in range(start, len(bare)) if bare[i] in _VOWELS]
    if not vowels:
        return None
    # One vowel cluster only: Vietnamese syllables never have two.
    if vowels[-1] - vowels[0] + 1 != len(vowels):
        return None
    modified = [i for i in vowels if bare[i] in _MODIFIED]
    if modified:
        return modified[-1]
    if len(vowels) == 1:
        return vowels[0]
    closed = vowels[-1] < len(bare) - 1
    if closed:
        return vowels[-1]
    return vowels[1] if len(vowels) == 3 else vowels[0]


@functools.lru_cache(maxsize=65536)
def fix_tone_marks(word: str) -> str:
    """Place the tone mark of one syllable where Vietnamese spelling puts it.

    Uses the convention of underthesea's normaliser ("hòa", "thủy", "khỏe");
    words that are not a single Vietnamese syllable are returned unchanged.
    """
    if word.isascii() or len(word) > 8:
        return word
    decomposed = unicodedata.normalize("NFD", word)
    tones = [c for c in decomposed if c in _TONE_MARKS]
    if len(tones) != 1:
        return word
    bare = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONE_MARKS))
    position = _tone_position(bare.lower())
    if position is None:
        return word
    placed = bare[: position + 1] + tones[0] + bare[position + 1 :]
    return unicodedata.normalize("NFC", placed)


# --- noise ------------------------------------------------------------------

_URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w.-]+\.(?:com|vn|net|org)(?:/\S*)?\b", re.I)
_TAG = re.compile(r"</?[a-zA-Z][^<>]{0,200}>")
_STRETCH = re.compile(r"(?P<prev>[^\W\d_]?)(?P<char>[^\W\d_])(?P=char)+")
_PUNCT_RUN = re.compile(r"([!?.,;:~*=_\-])\1+")
_SPACES = re.compile(r"[ \t\u00a0\u200b]+")


def _is_noise_char(char: str) -> bool:
    if char in "\n\t":
        return False
    category = unicodedata.category(char)
    # So: emoji and pictographs; Cc/Cf: control and zero-width; Co/Cs: private, surrogates;
    # Sk: skin-tone modifiers; Mn outside Vietnamese marks is handled by NFC.
    return category in {"So", "Cc", "Cf", "Co", "Cs", "Cn", "Sk"}


def _unstretch(match: re.Match[str]) -> str:
    """ "quáaaa" -> "quá", "nhaaaa" -> "nha"; keeps real double letters ("xoong")."""
    prev, char = match.group("prev"), match.group("char")
    if prev and _strip_word(prev).lower() == char.lower():
        return prev
    if len(match.group(0)) - len(prev) >= 3:
        return prev + char
    return match.group(0)


def remove_noise(text: str) -> str:
    """Drop URLs, HTML tags, emoji and control characters; shorten stretched letters."""
    if "&" in text:
        text = html.unescape(text)
    text = _URL.sub(" ", text)
    text = _TAG.sub(" ", text)
    if not text.isascii():
        text = "".join(" " if _is_noise_char(c) else c for c in text)
    text = _STRETCH.sub(_unstretch, text)
    text = _PUNCT_RUN.sub(r"\1", text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


# --- underthesea rules ----------------------------------------------------


def load_underthesea_token_map() -> dict[str, str]:
    """underthesea's text_normalize token rules (misplaced tones, common typos).

    The rule file ships inside the underthesea wheel; it is read directly so
    that the NLU does not pay for importing the whole toolkit. Falls back to
    the module attribute, then to no rules.
    """
    spec = importlib.util.find_spec("underthesea")
    for base in (spec.submodule_search_locations or []) if spec else []:
        rules = sorted(Path(base, "pipeline", "text_normalize").glob("tn_rules_*.bin"))
        if rules:
            import joblib

            data: Any = joblib.load(rules[-1])
            return {str(k): unicodedata.normalize("NFC", str(v)) for k, v in data["token"].items()}
    try:
        from underthesea.pipeline.text_normalize.text_normalizer import token_map
    except ImportError:  # pragma: no cover - underthesea is a hard dependency
        return {}
    return {str(k): unicodedata.normalize("NFC", str(v)) for k, v in token_map.items()}


# --- the normaliser ---------------------------------------------------------

_TOKEN = re.compile(r"\w+")
_JOINER = re.compile(r"[\s.]*")  # what may separate the words of one dictionary phrase


def phrase_key(text: str) -> tuple[str, ...]:
    """Dictionary key of a phrase: lower-case words, punctuation ignored except a
    final dot, which must then follow the word in the text ("p." but not "p")."""
    text = unicodedata.normalize("NFC", text).lower().strip()
    words = _TOKEN.findall(text)
    if words and text.endswith("."):
        words[-1] += "."
    return tuple(words)


@dataclass(frozen=True)
class Normalized:
    """The forms of one message. `clean` keeps the citizen's words (for location
    and entities); `text` also expands teencode (for the models); `key` is `text`
    folded to lower-case ASCII."""

    clean: str
    text: str
    key: str


@dataclass(frozen=True)
class Normalizer:
    """Normalises text with a teencode dictionary and underthesea's token rules."""

    teencode: Mapping[tuple[str, ...], str] = field(default_factory=dict)
    token_rules: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, synonyms: Mapping[str, str], *, underthesea_rules: bool = True) -> Normalizer:
        """`synonyms` maps a variant ("ko") to its canonical form ("không")."""
        teencode: dict[tuple[str, ...], str] = {}
        for variant, canonical in synonyms.items():
            words = phrase_key(variant)
            if words and phrase_key(canonical) != words:
                teencode[words] = unicodedata.normalize("NFC", canonical)
        rules = load_underthesea_token_map() if underthesea_rules else {}
        return cls(teencode=teencode, token_rules=rules)

    @functools.cached_property
    def _max_phrase(self) -> int:
        return max((len(k) for k in self.teencode), default=0)

    @functools.cached_property
    def _first_words(self) -> frozenset[str]:
        return frozenset(k[0].rstrip(".") for k in self.teencode)

    def clean(self, text: str) -> str:
        """NFC, noise removed, tone marks placed, underthesea token rules applied."""
        text = remove_noise(unicodedata.normalize("NFC", text))
        if text.isascii():
            return text
        return _VN_WORD.sub(self._fix_word, text)

    def _fix_word(self, match: re.Match[str]) -> str:
        word = match.group(0)
        if word.isascii():
            return word
        word = self.token_rules.get(word, word)
        return fix_tone_marks(word)

    def expand(self, text: str) -> str:
        """Replace teencode and abbreviations word-wise ("ko dc" -> "không được")."""
        if not self.teencode:
            return text
        tokens = list(_TOKEN.finditer(text))
        lowered = [t.group(0).lower() for t in tokens]
        out: list[str] = []
        last = 0
        i = 0
        first = self._first_words
        while i < len(tokens):
            word = lowered[i]
            if word not in first and ("đ" not in word or word.replace("đ", "d") not in first):
                i += 1
                continue
            size, canonical, end = self._longest(tokens, lowered, i)
            if size:
                out.append(text[last : tokens[i].start()])
                out.append(canonical)
                if end < len(text) and text[end].isalnum():
                    out.append(" ")
                last = end
                i += size
            else:
                i += 1
        out.append(text[last:])
        return "".join(out)

    def _longest(
        self, tokens: list[re.Match[str]], lowered: list[str], i: int
    ) -> tuple[int, str, int]:
        """(number of tokens, replacement, end offset) of the longest entry at token i."""
        text = tokens[i].string
        for size in range(min(self._max_phrase, len(tokens) - i), 0, -1):
            if size > 1 and not all(
                _JOINER.fullmatch(text, tokens[j].end(), tokens[j + 1].start())
                for j in range(i, i + size - 1)
            ):
                continue
            end = tokens[i + size - 1].end()
            words = lowered[i : i + size]
            keys = [tuple(words)]
            if text[end : end + 1] == ".":
                keys.insert(0, (*words[:-1], words[-1] + "."))
            for key in keys:
                canonical = self._lookup(key)
                dotted = key[-1].endswith(".")
                if canonical is None or (size == 1 and not dotted and _looks_numeric(lowered, i)):
                    continue
                return size, canonical, end + (1 if dotted else 0)
        return 0, "", 0

    def _lookup(self, words: tuple[str, ...]) -> str | None:
        canonical = self.teencode.get(words)
        if canonical is None and any("đ" in w for w in words):
            canonical = self.teencode.get(tuple(w.replace("đ", "d") for w in words))
        return canonical

    def normalize(self, text: str) -> Normalized:
        clean = self.clean(text)
        expanded = self.expand(clean)
        return Normalized(clean=clean, text=expanded, key=fold(expanded))


def _looks_numeric(lowered: list[str], i: int) -> bool:
    """A one-word abbreviation next to a number is a unit or a place, not teencode:
    "hem 12" is "hẻm 12" (not "không 12"), "50 k" is fifty thousand."""
    after = i + 1 < len(lowered) and lowered[i + 1].isdigit()
    before = i > 0 and lowered[i - 1].isdigit() and len(lowered[i]) == 1
    return after or before
