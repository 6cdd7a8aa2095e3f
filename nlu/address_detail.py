"""Street, house number, hamlet and landmark fragments of a message: the address detail.

`detail_spans` returns the token spans that become `Location.detail` ("hẻm 12
Nguyễn Trãi", "gần chợ Long Hồ", "ấp Phú Thạnh"), never overlapping the unit
mentions the place finder already took. A fragment opens with a lexicon keyword
(number, street, subunit, landmark, preposition) followed by a name, or is a
comma-separated segment opening with a house number right before a unit
("45 Nguyễn Huệ, phường 1"). It runs over capitalised words (any word when the
writer does not capitalise names) and stops at a hard boundary, a unit word, a
stop word or after 12 tokens.
"""

from __future__ import annotations

from collections.abc import Sequence

from nlu.gazetteer import Lexicon
from nlu.tokens import LONG_PREFIXES, Doc, phrase_len

_MAX_DETAIL_TOKENS = 12

Span = tuple[int, int]


def detail_spans(lex: Lexicon, doc: Doc, mentions: Sequence[Span]) -> list[Span]:
    """Token spans of street / house number / hamlet / landmark fragments."""
    taken = {k for s, e in mentions for k in range(s, e)}
    out: list[Span] = []
    i = 0
    while i < len(doc.toks):
        size = 0 if i in taken else _detail_start(lex, doc, i, taken)
        if size:
            end = _detail_end(lex, doc, i + size, taken)
            out.append((i, end))
            i = end
        else:
            i += 1
    return out + _house_numbers(lex, doc, mentions, taken, out)


def _keyword(lex: Lexicon, doc: Doc, i: int) -> tuple[str, int]:
    for group in ("number", "street", "subunit", "landmark", "preposition"):
        size = phrase_len(lex, doc, i, group)
        if size:
            return group, size
    return "", 0


def _detail_start(lex: Lexicon, doc: Doc, i: int, taken: set[int]) -> int:
    group, size = _keyword(lex, doc, i)
    j = i + size
    if not size or j >= len(doc.toks) or doc.toks[j].hard or j in taken:
        return 0
    nxt = doc.toks[j]
    if group == "number":
        ok = nxt.text.isdigit()
    elif group == "landmark":
        ok = nxt.cap or nxt.text.isdigit() or _keyword(lex, doc, j)[0] not in ("", "preposition")
    elif group == "preposition":
        ok = _keyword(lex, doc, j)[0] not in ("", "preposition")
    else:
        ok = _names_follow(lex, doc, j)
    return size if ok else 0


def _names_follow(lex: Lexicon, doc: Doc, j: int) -> bool:
    tok = doc.toks[j]
    if tok.text.isdigit() or tok.cap:
        return True
    return (
        doc.lower_mode
        and not _stop(lex, doc, j)
        and not _keyword(lex, doc, j)[1]
        and " ".join(t.text for t in doc.toks[j : j + 2]) not in LONG_PREFIXES
    )


def _detail_end(lex: Lexicon, doc: Doc, j: int, taken: set[int]) -> int:
    start = j
    toks = doc.toks
    while j < len(toks) and j - start < _MAX_DETAIL_TOKENS:
        tok = toks[j]
        if tok.hard or j in taken or tok.text in LONG_PREFIXES:
            break
        size = _keyword(lex, doc, j)[1]
        if size:
            j += size
        elif (
            tok.text.isdigit()
            or tok.glued
            or ((tok.cap or doc.lower_mode) and not _stop(lex, doc, j))
        ):
            j += 1
        else:
            break
    return j


def _stop(lex: Lexicon, doc: Doc, j: int) -> bool:
    return bool(phrase_len(lex, doc, j, "stop")) or (
        doc.accented and bool(phrase_len(lex, doc, j, "accented_stop"))
    )


def _house_numbers(
    lex: Lexicon, doc: Doc, mentions: Sequence[Span], taken: set[int], done: Sequence[Span]
) -> list[Span]:
    """ "45 Nguyễn Huệ, phường 1": a segment opening with a number, right before a unit."""
    busy = taken | {k for s, e in done for k in range(s, e)}
    starts = {s for s, _ in mentions}
    out: list[Span] = []
    for s, tok in enumerate(doc.toks):
        if (
            (s == 0 or tok.hard)
            and tok.text.isdigit()
            and s not in busy
            and s + 1 < len(doc.toks)
            and _names_follow(lex, doc, s + 1)
        ):
            end = _detail_end(lex, doc, s + 1, taken)
            if end in starts and not busy & set(range(s, end)):
                out.append((s, end))
    return out
