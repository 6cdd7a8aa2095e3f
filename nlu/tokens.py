"""The tokenised message that the place finder and the detail extractor both read.

`tokenize` folds the text once and records, per token, what the scanners need
about how it was written: capitalised or not, after a hard boundary (comma,
sentence end...), glued to the previous token ("p9"), after a lone full stop
("TP. Vĩnh Long"). `phrase_len` probes the lexicon for a phrase of one word
group starting at a token, refusing a written form whose diacritics disagree.
Token spans are half-open `(start, end)` token indexes; `span_text` gives the
words as written.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from nlu.gazetteer import Lexicon, accents_conflict, fold, norm_token

_TOKEN_RE = re.compile(r"[a-z]+|[0-9]+")
_HARD_GAP = re.compile(r"[,;!?\n()\[\]]|\.\s|\.\.")

# Spelled-out unit words: a street or landmark name never runs into one.
LONG_PREFIXES = frozenset(
    {"phuong", "xa", "quan", "huyen", "tinh", "thi xa", "thi tran", "thanh pho", "dac khu"}
)


@dataclass(frozen=True)
class Token:
    start: int
    end: int
    text: str  # folded, normalised ("09" -> "9")
    cap: bool  # written with a capital first letter ("Trãi", "THCS")
    hard: bool  # a hard boundary (comma, sentence end...) precedes it
    glued: bool  # no gap at all before it ("p9", "12a")
    dot: bool  # only a full stop before it ("TP. Vĩnh Long")


@dataclass(frozen=True)
class Doc:
    text: str
    toks: tuple[Token, ...]
    lower_mode: bool  # the writer does not capitalise names
    accented: bool  # the writer uses diacritics


def tokenize(text: str) -> Doc:
    nfc = unicodedata.normalize("NFC", text)
    folded = fold(nfc)
    toks: list[Token] = []
    caps = 0
    prev_end = 0
    for m in _TOKEN_RE.finditer(folded):
        word = nfc[m.start() : m.end()]
        cap = word[:1].isupper()
        caps += cap and bool(toks) and not word.isupper()  # "TP", "HCM" say nothing
        gap = nfc[prev_end : m.start()]
        toks.append(
            Token(
                m.start(),
                m.end(),
                norm_token(m.group()),
                cap,
                bool(_HARD_GAP.search(gap)),
                not gap and bool(toks),
                gap.strip() == ".",
            )
        )
        prev_end = m.end()
    return Doc(nfc, tuple(toks), caps == 0, folded != nfc.lower())


def span_text(doc: Doc, start: int, end: int) -> str:
    """Tokens start..end as written."""
    return doc.text[doc.toks[start].start : doc.toks[end - 1].end]


def phrase_len(lex: Lexicon, doc: Doc, i: int, group: str) -> int:
    """Length of the longest lexicon phrase of `group` starting at token i (0 if none)."""
    toks = doc.toks
    words = lex.words[group]
    for size in lex.starts[group].get(toks[i].text, ()):
        if i + size > len(toks) or any(t.hard for t in toks[i + 1 : i + size]):
            continue
        forms = words.get(" ".join(t.text for t in toks[i : i + size]), ())
        written = span_text(doc, i, i + size) if forms else ""
        if any(not accents_conflict(written, form) for form in forms):
            return size
    return 0
