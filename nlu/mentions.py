"""Place mentions in a tokenised message: unit names found in the gazetteer.

`MentionScanner.scan` reads the tokens once: a unit prefix ("phường", "P.",
"F", "xã", "X.", "huyện", "Q", "TT", "tp"...) followed by a name from the
gazetteer, a bare province name or alias ("Cần Thơ", "Bến Tre", "TP.HCM"), or a
comma-separated segment that is exactly a unit name ("..., Long Châu, Vĩnh
Long"). Every lookup is a dict probe on folded, space-free n-grams, so the cost
grows with the message, not with the 14,000 units. Each mention keeps every
unit its name could be; choosing one is `nlu.location`'s job.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from nlu.gazetteer import Gazetteer, NameRef, accents_conflict, fold
from nlu.tokens import LONG_PREFIXES, Doc, phrase_len, span_text

_MAX_MENTIONS = 24
_GROUP_OF = {"P": "P", "OP": "P", "D": "D", "W": "W", "C": "W"}


@dataclass(frozen=True)
class Mention:
    tok_start: int
    tok_end: int
    group: str  # "P" province, "D" old district, "W" ward or commune
    refs: tuple[NameRef, ...]
    penalty: float
    surface: str
    bare: bool = False  # named without a unit word ("Phú Nhuận"): see `nlu.bare_names`
    soft: bool = False  # ... inside a landmark's name ("chợ Châu Đốc"): also address detail


class MentionScanner:
    """Finds the unit mentions of a message for one deployment (immutable)."""

    def __init__(self, gazetteer: Gazetteer, province_code: str | None) -> None:
        self._g = gazetteer
        self._lex = gazetteer.lexicon
        self._home = province_code

    def scan(self, doc: Doc) -> list[Mention]:
        """Prefixed and bare names left to right, then comma-separated unit names."""
        found: list[Mention] = []
        i = 0
        while i < len(doc.toks) and len(found) < _MAX_MENTIONS:
            m = self._prefixed(doc, i) or self._bare_province(doc, i)
            found += [m] if m else []
            i = m.tok_end if m else i + 1
        segments = self._segments(doc, found)
        if any(m.group == "W" for m in found):  # "Nguyễn Văn Thảnh, phường 9": a street
            segments = [m for m in segments if m.group != "W"]
        return found + segments

    def _prefixed(self, doc: Doc, i: int) -> Mention | None:
        size = phrase_len(self._lex, doc, i, "prefix")
        if not size:
            return None
        phrase = " ".join(t.text for t in doc.toks[i : i + size])
        if phrase in self._lex.abbreviated and doc.toks[i].glued:
            return None  # "12h", "3p": a unit, not an abbreviation
        kinds = self._lex.prefix_kinds[phrase]
        j = i + size
        if j < len(doc.toks) and doc.toks[j].hard and not doc.toks[j].dot:
            return None
        found = self._name_at(doc, i, j, min(len(doc.toks), j + self._g.max_name_tokens), kinds)
        for k in range(j + 1, found.tok_end if found else j):
            # "phuong tan hoa thanh pho hoa binh": "Tân Hòa" then "thành phố Hòa Bình",
            # not the longer "Tân Hòa Thành" swallowing the next unit word.
            if _unit_word(doc, k) and self._prefixed(doc, k):
                shorter = self._name_at(doc, i, j, k, kinds)
                if shorter and shorter.tok_end == k:
                    return shorter
        return found

    def _name_at(
        self, doc: Doc, i: int, j: int, limit: int, kinds: frozenset[str]
    ) -> Mention | None:
        """The longest unit name of a fitting kind in tokens j..limit (prefix at i)."""
        for end in range(limit, j, -1):
            if any(t.hard for t in doc.toks[j + 1 : end]):
                continue
            key = "".join(t.text for t in doc.toks[j:end])
            refs = self._g.unit_index.get(key, ()) + self._g.province_index.get(key, ())
            chosen, penalty = _by_kind(refs, kinds, key.isdigit() or end - j == 1)
            if chosen:
                chosen, penalty = self._by_accent(doc, j, end, chosen, penalty)
                group = _GROUP_OF[chosen[0].level]
                return Mention(i, end, group, chosen, penalty, span_text(doc, i, end))
        return None

    def _by_accent(
        self, doc: Doc, start: int, end: int, refs: Sequence[NameRef], penalty: float
    ) -> tuple[tuple[NameRef, ...], float]:
        """Drop names whose diacritics disagree; when the writer uses diacritics, "Thanh An"
        means Thanh An, not Thạnh An."""
        written = span_text(doc, start, end)
        fitting = tuple(
            r for r in refs if not r.canonical or not accents_conflict(written, r.canonical)
        )
        exact = tuple(r for r in fitting if not accents_conflict(r.canonical, written))
        if doc.accented and any(r.canonical for r in exact):  # a writer using diacritics
            return exact, penalty  # rarely leaves one out
        return (fitting, penalty) if fitting else (tuple(refs), penalty * 0.8)

    def _bare_province(self, doc: Doc, i: int) -> Mention | None:
        if doc.toks[i].text not in self._g.province_starts:
            return None
        if i and any(self._ends_with(doc, i, g) for g in ("street", "landmark")):
            return None  # "đường Hậu Giang", "chợ Bến Tre": part of a name
        if self._after_house_number(doc, i):
            return None  # "số 45 Điện Biên Phủ": a street
        for end in range(min(len(doc.toks), i + 6), i, -1):
            if any(t.hard for t in doc.toks[i + 1 : end]):
                continue
            key = "".join(t.text for t in doc.toks[i:end])
            written = span_text(doc, i, end)
            if key in self._lex.bare_blocklist or (
                key in self._lex.bare_accented_only and fold(written) == written.lower()
            ):
                continue
            refs = tuple(
                r
                for r in self._g.province_index.get(key, ())
                if not (r.canonical and accents_conflict(written, r.canonical))
            )
            if refs:
                return Mention(i, end, "P", refs, 1.0, written)
        return None

    def _after_house_number(self, doc: Doc, i: int) -> bool:
        """Numbers right before token i open their segment or follow "số" ("45/2 X",
        "nhà số 12 X"); not "phường 9 X", "QL1 X", "ấp 3 X"."""
        j = i
        while j and doc.toks[j - 1].text.isdigit() and not doc.toks[j].hard:
            j -= 1
        if j == i:
            return False
        return j == 0 or doc.toks[j].hard or self._ends_with(doc, j, "number")

    def _ends_with(self, doc: Doc, i: int, group: str) -> bool:
        words = self._lex.words[group]
        return any(
            " ".join(t.text for t in doc.toks[i - size : i]) in words
            for size in range(1, min(self._lex.max_phrase, i) + 1)
        )

    def _segments(self, doc: Doc, found: Sequence[Mention]) -> list[Mention]:
        """Comma-separated segments that are exactly a unit name: "..., Long Châu, ...".

        Only units of the deployment province or of a province named in the text:
        a bare "Nguyễn Huệ" is a street far more often than the commune in Cao Bằng.
        """
        allowed = {self._prov(r) for m in found if m.group != "W" for r in m.refs}
        allowed |= {self._home} if self._home else set()
        taken = {k for m in found for k in range(m.tok_start, m.tok_end)}
        starts = [k for k, t in enumerate(doc.toks) if t.hard or k == 0] + [len(doc.toks)]
        out: list[Mention] = []
        for s, e in itertools.pairwise(starts):
            if not 2 <= e - s <= self._g.max_name_tokens or taken & set(range(s, e)):
                continue
            if not any(t.cap for t in doc.toks[s:e]) and self._common(doc, s, e):
                continue  # "..., hòa bình, ...": peace, not Xã Hòa Bình
            key = "".join(t.text for t in doc.toks[s:e])
            every = self._g.unit_index.get(key, ())
            refs = tuple(
                r
                for r in every
                if r.canonical
                and self._prov(r) in allowed
                and not accents_conflict(span_text(doc, s, e), r.canonical)
            )
            if all(r.level == "W" for r in refs) and any(
                r.level == "D" and self._prov(r) not in allowed for r in every
            ):
                continue  # ", Phú Nhuận,": the district elsewhere, see `nlu.bare_names`
            if refs:
                group = "W" if any(r.level in ("W", "C") for r in refs) else "D"
                refs = tuple(r for r in refs if _GROUP_OF[r.level] == group)
                out.append(Mention(s, e, group, refs, 0.8, span_text(doc, s, e)))
        return out

    def _common(self, doc: Doc, s: int, e: int) -> bool:
        return phrase_len(self._lex, doc, s, "common_phrase") == e - s

    def _prov(self, ref: NameRef) -> str:
        return self._g.province_of(ref).code


def _by_kind(
    refs: Sequence[NameRef], kinds: frozenset[str], strict: bool
) -> tuple[tuple[NameRef, ...], float]:
    """Refs whose unit kind fits the prefix; other kinds of the same level cost 15 %,
    except for numbers and one-word names ("xã cho người" is not thị trấn Chờ)."""
    exact = tuple(
        r
        for r in refs
        if f"{_GROUP_OF[r.level]}:{r.kind}" in kinds or f"{r.level}:{r.kind}" in kinds
    )
    if exact:
        return tuple(r for r in exact if r.level in ("P", "OP")) or exact, 1.0
    levels = {k.split(":")[0] for k in kinds}
    loose = tuple(r for r in refs if not strict and _GROUP_OF[r.level] in levels)
    return loose, 0.85


def _unit_word(doc: Doc, k: int) -> bool:
    """A spelled-out unit word ("phường", "thành phố"...) starts at token k."""
    return (
        doc.toks[k].text in LONG_PREFIXES
        or " ".join(t.text for t in doc.toks[k : k + 2]) in LONG_PREFIXES
    )
