"""Unit names written without a unit word: "Lê Văn Sỹ, Phú Nhuận", "ở Hóc Môn", "chợ Châu Đốc".

Citizens name old districts, towns and cities bare far more often than with
"quận"/"huyện". `BareNames.add` scans the tokens the other scanners left
(`nlu.mentions`) and returns their mentions plus the bare names it trusts, as
ordinary mentions with `bare=True` and a lower `penalty`; `nlu.location`
resolves them like the others.

Which words count (`_judge`, `_context`):
- Capitalised text: every word of the name capitalised, not part of a longer
  capitalised name ("Nguyễn Văn Giang", "Hải Châu Tower"; "đường Trần Phú Nha
  Trang" is a street, then the place), not after a street, house number or
  hamlet word, nor near a person title or business word ("đường Hậu Giang",
  "45 Điện Biên Phủ", "anh Vinh", "tiệm vàng Phú Quý"), not in
  `bare_unit_blocklist` (street and slogan names: "Hai Bà Trưng", "Thống Nhất").
- Text without capitals: only old district names of two words or more held
  by one province, after a locative word ("ở hoc mon", "qua thốt nốt") or as
  their own comma-separated segment, and not an everyday phrase that folds
  like one (`common_phrase_words`: "đi ăn" / Dĩ An, "văn bản" / Vân Bán).
- A ward or commune name (two words or more, not opening with a surname: "Lê
  Lợi" is a street) needs a cue: a locative word ("ở", "tại", "gần"), its own
  segment, a unit mention right before it, or a landmark word ("chợ Bến
  Thành"); after a landmark word the name also stays in the address detail
  (`soft`). After a river or canal word ("sông Sài Gòn", "kênh Tân Hóa") only a
  district reading counts. A one-word name ("Vinh") needs a cue and its exact
  spelling.

Readings (`_settle`): provinces named in the text keep only their units (none
left: no evidence); a ward of a district the text names wins ("Long Mỹ, Mang
Thít"). Otherwise an old district reading wins over ward readings (a bare name
is a district far more often than a pre-2025 ward), except that a current
commune of the deployment province wins over districts elsewhere ("Tân Phú" in
Vĩnh Long). A special zone named like its old district ("Phú Quốc") gives the
zone. Ward readings must fall in one province, the deployment's first (then a
little less sure), and in the districts the text names. A prefixed ward makes
bare ward readings redundant: they are dropped ("Nguyễn Văn Thảnh, phường 9").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from types import MappingProxyType

from nlu.gazetteer import Gazetteer, NameRef, accents_conflict, fold, tokens_of
from nlu.mentions import Mention
from nlu.tokens import Doc, phrase_len, span_text

_MAX_BARE = 12
_CAPITALISED, _LOWER, _SOFT, _UNACCENTED, _PREFERRED = 0.85, 0.75, 0.9, 0.8, 0.8
# Words before a name, longest first within a start position: what they make of it.
_CONTEXT_GROUPS = (
    ("name_blocker", "block"),
    ("water", "water"),
    ("landmark", "landmark"),
    ("street", "block"),
    ("number", "block"),
    ("subunit", "block"),
    ("preposition", "cue"),
    ("locative", "cue"),
)


@dataclass(frozen=True)
class BareIndex:
    """Folded words -> the units a bare name may stand for; first word -> name lengths;
    older district names -> the spelling they are checked against."""

    refs: Mapping[str, tuple[NameRef, ...]]
    starts: Mapping[str, tuple[int, ...]]
    spelled: Mapping[NameRef, str]


@cache
def bare_index(g: Gazetteer) -> BareIndex:
    """Old districts (also their older names) and multi-word ward/commune names (once).

    Keys keep the spaces ("son ha"), so "so nha" is not Sơn Hà. An older district
    name borrows the diacritics of a unit of that name in the same province
    ("Cửa Lò"); without one it is left out."""
    surnames = g.lexicon.words["surname"]
    refs: dict[str, list[NameRef]] = defaultdict(list)
    starts: dict[str, set[int]] = defaultdict(set)
    spelled: dict[NameRef, str] = {}
    for key, cands in g.unit_index.items():
        if key.isdigit() or key in g.lexicon.bare_unit_blocklist:
            continue
        for r in cands:
            name = r.canonical or _borrowed(g, r, cands)
            if not r.canonical and any(g.province_of(o) != g.province_of(r) for o in cands):
                continue  # "Tân Thành" (merged into Phú Mỹ): too many other places
            words = tokens_of(fold(name))
            if words and (r.level == "D" or (len(words) > 1 and not _person(name, surnames))):
                refs[" ".join(words)].append(r)
                starts[words[0]].add(len(words))
                spelled.update({r: name} if not r.canonical else {})
    return BareIndex(
        MappingProxyType({k: tuple(dict.fromkeys(v)) for k, v in refs.items()}),
        MappingProxyType({k: tuple(sorted(v, reverse=True)) for k, v in starts.items()}),
        MappingProxyType(spelled),
    )


def _borrowed(g: Gazetteer, ref: NameRef, cands: Iterable[NameRef]) -> str:
    if ref.level != "D":
        return ""
    home = g.province_of(ref).code
    return next((r.canonical for r in cands if r.canonical and g.province_of(r).code == home), "")


def _person(canonical: str, surnames: Mapping[str, tuple[str, ...]]) -> bool:
    """ "Lê Lợi", "Nguyễn Trãi": a ward named after a person, i.e. a street name too."""
    first = canonical.split()[0] if canonical else ""
    forms = surnames.get(fold(first), ())
    return any(not accents_conflict(first, form) for form in forms)


class BareNames:
    """Finds and vets bare unit names for one deployment (immutable)."""

    def __init__(self, gazetteer: Gazetteer, province_code: str | None) -> None:
        self._g = gazetteer
        self._lex = gazetteer.lexicon
        self._home = province_code
        self._index = bare_index(gazetteer)

    def add(self, doc: Doc, found: Sequence[Mention]) -> list[Mention]:
        """`found` plus the bare names that survive their context."""
        taken = {k for m in found for k in range(m.tok_start, m.tok_end)}
        words = [t.text for t in doc.toks]
        reach = _reach(doc, taken)
        bare: list[Mention] = []
        i = 0
        while i < len(words) and len(bare) < _MAX_BARE:
            m = None
            for size in self._index.starts.get(words[i], ()):
                refs = self._index.refs.get(" ".join(words[i : i + size]), ())
                if i + size <= reach[i] and refs:  # the longest name only: not "Tân Sơn" Nhất
                    m = self._judge(doc, i, i + size, refs, taken)
                    break
            bare += [m] if m else []
            i = m.tok_end if m else i + 1
        return [*found, *self._settle(bare, found)] if bare else list(found)

    # ------------------------------------------------------------- scanning
    def _judge(
        self, doc: Doc, i: int, end: int, refs: Sequence[NameRef], taken: set[int]
    ) -> Mention | None:
        toks = doc.toks
        one_word = end - i == 1
        if doc.lower_mode:
            if one_word or phrase_len(self._lex, doc, i, "common_phrase"):
                return None
        elif not all(t.cap for t in toks[i:end]) or self._runs_on(doc, end, taken):
            return None
        context = self._context(doc, i, taken)
        segment = (i == 0 or toks[i].hard) and (end == len(toks) or toks[end].hard)
        if context == "block" or ((doc.lower_mode or one_word) and context == "" and not segment):
            return None  # without capitals or with one word: only after a cue
        kept, penalty = _by_accent(doc, i, end, refs, self._index.spelled)
        if one_word and (penalty < 1.0 or not doc.accented):  # "Chu tịch" is not Chũ
            kept = [r for r in kept if r.canonical and fold(r.canonical) == r.canonical.lower()]
        if doc.lower_mode or one_word or context == "water" or (context == "" and not segment):
            kept = [r for r in kept if r.level == "D" or r.kind == "dackhu"]  # wards need a cue
        if not kept or (doc.lower_mode and len({self._prov(r) for r in kept}) > 1):
            return None
        soft = context in ("landmark", "water")
        penalty *= (_LOWER if doc.lower_mode else _CAPITALISED) * (_SOFT if soft else 1.0)
        group = "D" if any(r.level == "D" for r in kept) else "W"
        surface = span_text(doc, i, end)
        return Mention(i, end, group, tuple(kept), penalty, surface, bare=True, soft=soft)

    def _context(self, doc: Doc, i: int, taken: set[int]) -> str:
        """What the words right before token i make of a name there:
        "block", "landmark", "cue" (a locative word, a unit mention) or ""."""
        toks = doc.toks
        if i == 0 or toks[i].hard:
            return ""
        if i - 1 in taken:
            return "cue"  # "P.9 Phú Nhuận", "Cần Thơ Ninh Kiều"
        for j in range(max(0, i - self._lex.max_phrase), i):
            if any(t.hard for t in toks[j + 1 : i]):
                continue
            for group, label in _CONTEXT_GROUPS:
                if phrase_len(self._lex, doc, j, group) == i - j and self._plain(doc, j, i, group):
                    return label
        if self._named_by(doc, i):
            return "block"  # "tiệm vàng Phú Quý", "công ty TNHH Hòa Phát"
        prev = toks[i - 1]
        if prev.text.isdigit():  # "45 Điện Biên Phủ": a house number and a street
            return "" if self._ends_phrase(doc, i - 1, "subunit") else "block"  # "thôn 3 Đức Phổ"
        if not prev.cap or _upper(doc, i - 1) or not _spaced(doc, i):
            return ""
        if i - 1 == 0 or prev.hard:  # "Ở Hóc Môn", "Đèo Bảo Lộc"; not "Nguyễn Văn Giang"
            return "block" if phrase_len(self._lex, doc, i - 1, "surname") else ""
        return "" if self._after_street_name(doc, i - 1) else "block"

    def _named_by(self, doc: Doc, i: int) -> bool:
        """A business word or title two or three words back, only lower-case words
        or abbreviations in between."""
        for k in range(i - 1, max(0, i - 3), -1):
            tok = doc.toks[k]
            if tok.hard or (tok.cap and not _upper(doc, k)):
                return False
            if any(
                phrase_len(self._lex, doc, j, "name_blocker") == k - j
                and self._plain(doc, j, k, "name_blocker")
                for j in range(max(0, k - self._lex.max_phrase), k)
            ):
                return True
        return False

    def _plain(self, doc: Doc, j: int, i: int, group: str) -> bool:
        """Without diacritics "co", "di", "ba" are not surely "cô", "dì", "bà", nor a
        capitalised "Dinh" "đình": one-word titles count only in text with diacritics,
        one-word landmarks only in lower case ("cho Long Xuyen")."""
        if doc.accented or i - j > 1 or group not in ("name_blocker", "landmark", "water"):
            return True
        if any(fold(f) == f.lower() for f in self._lex.words[group][doc.toks[j].text]):
            return True
        return group != "name_blocker" and (not doc.toks[j].cap or j == 0 or doc.toks[j].hard)

    def _after_street_name(self, doc: Doc, k: int) -> bool:
        """ "đường Trần Phú Nha Trang": a street name of two words or more, then the place."""
        toks = doc.toks
        start = k
        while start > 0 and toks[start - 1].cap and not toks[start].hard:
            start -= 1
        if k - start < 1 or start == 0 or toks[start].hard:
            return False
        return self._ends_phrase(doc, start, "street")

    def _ends_phrase(self, doc: Doc, k: int, group: str) -> bool:
        """A lexicon phrase of `group` ends right before token k."""
        return any(
            phrase_len(self._lex, doc, j, group) == k - j
            for j in range(max(0, k - self._lex.max_phrase), k)
            if not any(t.hard for t in doc.toks[j + 1 : k])
        )

    def _runs_on(self, doc: Doc, end: int, taken: set[int]) -> bool:
        """The name goes on with another capitalised word ("Hải Châu Tower")."""
        if end >= len(doc.toks) or end in taken:
            return False
        nxt = doc.toks[end]
        return nxt.cap and _spaced(doc, end) and not _upper(doc, end)

    # -------------------------------------------------------------- settling
    def _settle(self, bare: Sequence[Mention], found: Sequence[Mention]) -> list[Mention]:
        provinces = {self._prov(r) for m in found if m.group == "P" for r in m.refs}
        ward_named = any(m.group == "W" for m in found)
        named = {r.code for m in found if m.group == "D" for r in m.refs if r.level == "D"}
        settled = [self._in_named(m, named) or self._reading(m, provinces) for m in bare]
        kept = [m for m in settled if m and not (ward_named and m.group == "W")]
        districts = {r.code for m in (*found, *kept) if m.group == "D" for r in m.refs}
        return [
            m
            for m in kept
            if m.group != "W" or not districts or any(self._in(r, districts) for r in m.refs)
        ]

    def _in_named(self, m: Mention, districts: set[str]) -> Mention | None:
        """ "Long Mỹ, Mang Thít": a ward of the district the text names."""
        inside = [r for r in m.refs if r.level != "D" and self._in(r, districts)]
        return replace(m, group="W", refs=tuple(inside)) if inside else None

    def _reading(self, m: Mention, provinces: set[str]) -> Mention | None:
        refs = [r for r in m.refs if self._prov(r) in provinces] if provinces else list(m.refs)
        if not refs:
            return None
        districts = [r for r in refs if r.level == "D"]
        wards = [r for r in refs if r.level != "D"]
        preferred = bool(districts) and self._home_commune_wins(districts, wards)
        if districts and not preferred:
            zone = self._zone(districts, wards)
            if zone:
                return replace(m, group="W", refs=(zone,))
            return replace(m, group="D", refs=tuple(districts))
        home = [r for r in wards if self._prov(r) == self._home]
        preferred = preferred or 0 < len(home) < len(wards)  # the name is found elsewhere too
        wards = home or wards
        if not wards or len({self._prov(r) for r in wards}) > 1:
            return None
        penalty = m.penalty * (_PREFERRED if preferred else 1.0)
        return replace(m, group="W", refs=tuple(wards), penalty=penalty)

    def _home_commune_wins(self, districts: Iterable[NameRef], wards: Iterable[NameRef]) -> bool:
        """ "Tân Phú" in Vĩnh Long: the province's own commune, not the districts elsewhere."""
        home = self._home
        if home is None or any(self._prov(r) == home for r in districts):
            return False
        return any(r.level == "C" and self._prov(r) == home for r in wards)

    def _zone(self, districts: Sequence[NameRef], wards: Iterable[NameRef]) -> NameRef | None:
        """ "Phú Quốc": the special zone that took over the island district of that name."""
        if len(districts) != 1:
            return None
        own = self._g.district_communes.get(districts[0].code, frozenset())
        zones = [r for r in wards if r.level == "C" and r.kind == "dackhu" and r.code in own]
        return zones[0] if len(zones) == 1 else None

    def _in(self, ref: NameRef, districts: set[str]) -> bool:
        g = self._g
        if ref.level == "W":
            return g.old_wards[ref.code].district_code in districts
        return any(ref.code in g.district_communes.get(d, ()) for d in districts)

    def _prov(self, ref: NameRef) -> str:
        return self._g.province_of(ref).code


def _reach(doc: Doc, taken: set[int]) -> list[int]:
    """Per token, where a name starting there must end at the latest: before the next
    hard boundary or mention (a name cannot start inside a mention)."""
    reach = [0] * len(doc.toks)
    limit = len(doc.toks)
    for k in range(len(doc.toks) - 1, -1, -1):
        limit = k if k in taken else limit
        reach[k] = limit
        limit = k if doc.toks[k].hard else limit
    return reach


def _by_accent(
    doc: Doc, start: int, end: int, refs: Sequence[NameRef], spelled: Mapping[NameRef, str]
) -> tuple[list[NameRef], float]:
    """Names whose diacritics fit the written ones; exact ones when the writer uses them."""
    written = span_text(doc, start, end)
    names = {r: r.canonical or spelled[r] for r in refs}
    fitting = [r for r in refs if not accents_conflict(written, names[r])]
    exact = [r for r in fitting if not accents_conflict(names[r], written)]
    if doc.accented and exact:
        return exact, 1.0
    return fitting, _UNACCENTED if doc.accented else 1.0


def _spaced(doc: Doc, k: int) -> bool:
    """Only spaces between tokens k-1 and k (not "Ninh Kiều - Ô Môn", "p9")."""
    gap = doc.text[doc.toks[k - 1].end : doc.toks[k].start]
    return bool(gap) and gap.isspace()


def _upper(doc: Doc, k: int) -> bool:
    """An all-capitals word ("KCN", "TP", "UBND"): an abbreviation, not a name."""
    tok = doc.toks[k]
    word = doc.text[tok.start : tok.end]
    return len(word) > 1 and word.isupper()
