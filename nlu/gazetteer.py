"""Vietnamese administrative geography after the 2025-07-01 reform, as lookup tables.

Owns the data (34 provinces, 3,321 communes/wards, and the 63 provinces, 696
districts and 10,035 wards in force before the reform with their old -> new
mapping), the folded-name indexes built on it, and the text folding helpers the
location finder shares.

Data: `nlu/data/gazetteer/vn_admin_2025.json`, derived from vietnamadminunits
1.0.4 (MIT) by `build_data.py` next to it; see SOURCES.md there. We ship our
own compact copy instead of reading underthesea's `address/data/mapping.json`
because that file (derived from the same upstream) drops what we need: the
GSO codes of the new communes, any coordinates, and the old district codes.
Hand-curated words (unit prefixes, aliases such as "Sài Gòn", detail and stop
words) live in `lexicon.json`. Everything is read from the installed package
by `load_gazetteer()`, once, never at import and never from the network.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

_DATA_PACKAGE = "nlu"
_DATA_DIR = ("data", "gazetteer")
_TOKEN_RE = re.compile(r"[a-z]+|[0-9]+")
_QUALITY_MARKS = frozenset("\u0302\u0306\u031b")  # circumflex, breve, horn
_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")
_GRID_DEG = 0.2  # spatial grid cell, about 22 km


def _fold_table() -> dict[int, str]:
    table: dict[int, str] = {ord(c): c.lower() for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
    for cp in (*range(0xC0, 0x250), *range(0x1E00, 0x1F00)):
        base = unicodedata.normalize("NFD", chr(cp).lower())[:1]
        if base.isascii() and base.isalpha():
            table[cp] = base
    table[ord("đ")] = table[ord("Đ")] = "d"
    return table


_FOLD = _fold_table()


def fold(text: str) -> str:
    """Lower-case and strip diacritics; keeps the length, so offsets still apply."""
    return text.translate(_FOLD)


def tokens_of(folded: str) -> list[str]:
    """Tokens of a folded string; letters and digits split ("p9" -> "p", "9")."""
    return [norm_token(t) for t in _TOKEN_RE.findall(folded)]


def norm_token(token: str) -> str:
    """A number loses its leading zeros ("09" -> "9"); words are kept."""
    return (token.lstrip("0") or "0") if token[0].isdigit() else token


def name_key(text: str) -> str:
    """Compact matching key: folded tokens without spaces ("Phường 09" -> "phuong9")."""
    return "".join(tokens_of(fold(unicodedata.normalize("NFC", text))))


def _syllable_marks(syllable: str) -> tuple[list[str], str]:
    letters: list[str] = []
    tone = ""
    for ch in unicodedata.normalize("NFD", syllable):
        if ch in _TONE_MARKS:
            tone = ch
        elif ch in _QUALITY_MARKS and letters:
            letters[-1] += ch
        else:
            letters.append(ch)
    return letters, tone


def accents_conflict(written: str, canonical: str) -> bool:
    """True when `written` carries diacritics that disagree with `canonical`.

    Missing diacritics never conflict ("vinh long" fits "Vĩnh Long"); tone
    placement does not matter ("hoà" fits "hòa"); a different mark does
    ("quần" does not fit "quận").
    """
    got = re.findall(r"\w+", unicodedata.normalize("NFC", written.lower()))
    want = re.findall(r"\w+", unicodedata.normalize("NFC", canonical.lower()))
    if len(got) != len(want):
        return False
    for g, w in zip(got, want, strict=True):
        g_letters, g_tone = _syllable_marks(g)
        w_letters, w_tone = _syllable_marks(w)
        if g_tone and g_tone != w_tone:
            return True
        if len(g_letters) == len(w_letters) and any(
            a != b and (len(a) > 1 or a == "đ") for a, b in zip(g_letters, w_letters, strict=True)
        ):
            return True
    return False


@dataclass(frozen=True)
class Province:
    """A province or centrally-run city in force since 2025-07-01."""

    code: str
    name: str  # "Tỉnh Vĩnh Long"
    short: str  # "Vĩnh Long"
    kind: str  # "Tỉnh" | "Thành phố"
    lat: float
    lon: float


@dataclass(frozen=True)
class Commune:
    """A commune, ward or special zone (xã / phường / đặc khu) since 2025-07-01."""

    code: str
    name: str
    province_code: str
    short: str = ""
    kind: str = ""
    lat: float | None = None
    lon: float | None = None
    area_km2: float | None = None


@dataclass(frozen=True)
class OldProvince:
    code: str
    name: str
    short: str
    province_code: str  # the new province it belongs to


@dataclass(frozen=True)
class OldDistrict:
    code: str
    name: str
    short: str
    kind: str
    old_province_code: str
    province_code: str
    targets: tuple[str, ...]  # only for island districts that had no wards


@dataclass(frozen=True)
class OldWard:
    code: str
    name: str
    short: str
    kind: str
    district_code: str
    old_province_code: str
    province_code: str
    targets: tuple[str, ...]  # new commune codes, the default first
    divided: bool  # split over several new communes


@dataclass(frozen=True)
class NameRef:
    """One unit a folded name can stand for. `level`: P, OP, D, W or C."""

    level: str
    kind: str  # folded unit kind: "tinh", "thanhpho", "quan", "phuong", "xa"...
    code: str
    canonical: str  # the name with diacritics, "" for an alias key


@dataclass(frozen=True)
class Lexicon:
    """Hand-curated words of `lexicon.json`, keyed by folded phrase."""

    words: Mapping[str, Mapping[str, tuple[str, ...]]]  # group -> folded phrase -> forms
    starts: Mapping[str, Mapping[str, tuple[int, ...]]]  # group -> first token -> lengths
    prefix_kinds: Mapping[str, frozenset[str]]  # folded unit prefix -> {"W:xa", "C:xa"}
    abbreviated: frozenset[str]
    bare_blocklist: frozenset[str]  # province names never taken without a prefix
    bare_accented_only: frozenset[str]  # ... unless written with their diacritics
    bare_unit_blocklist: frozenset[str]  # unit names never taken without a unit word
    max_phrase: int


def _kind_key(kind: str) -> str:
    return name_key(kind)


def _phrases(words: Iterable[str]) -> Mapping[str, tuple[str, ...]]:
    """Folded phrase -> its written forms ("hem" -> ("hẻm", "hẽm"))."""
    out: dict[str, list[str]] = defaultdict(list)
    for word in words:
        out[" ".join(tokens_of(fold(word)))].append(word)
    return MappingProxyType({k: tuple(v) for k, v in out.items()})


def _starts(table: Iterable[str]) -> Mapping[str, tuple[int, ...]]:
    """First token -> lengths of the phrases it opens, longest first."""
    out: dict[str, set[int]] = defaultdict(set)
    for phrase in table:
        out[phrase.split()[0]].add(len(phrase.split()))
    return MappingProxyType({k: tuple(sorted(v, reverse=True)) for k, v in out.items()})


def _load_lexicon(raw: Mapping[str, Any]) -> Lexicon:
    prefixes = raw["unit_prefixes"]
    kinds = {" ".join(tokens_of(fold(k))): frozenset(v) for k, v in prefixes.items()}
    groups = (
        *("street", "number", "subunit", "landmark", "preposition", "stop", "accented_stop"),
        *("name_blocker", "locative", "water", "common_phrase", "surname"),
    )
    words = {"prefix": _phrases(prefixes), **{g: _phrases(raw[f"{g}_words"]) for g in groups}}
    longest = max(len(p.split()) for table in words.values() for p in table)
    return Lexicon(
        words=MappingProxyType(words),
        starts=MappingProxyType({g: _starts(table) for g, table in words.items()}),
        prefix_kinds=MappingProxyType(kinds),
        abbreviated=frozenset(" ".join(tokens_of(fold(a))) for a in raw["abbreviated_prefixes"]),
        bare_blocklist=frozenset(name_key(n) for n in raw["bare_province_blocklist"]),
        bare_accented_only=frozenset(name_key(n) for n in raw["bare_province_accented_only"]),
        bare_unit_blocklist=frozenset(name_key(n) for n in raw["bare_unit_blocklist"]),
        max_phrase=longest,
    )


def _freeze(index: Mapping[str, list[NameRef]]) -> Mapping[str, tuple[NameRef, ...]]:
    return MappingProxyType({k: tuple(dict.fromkeys(v)) for k, v in index.items()})


class Gazetteer:
    """Immutable tables and folded-name indexes; build it with `load_gazetteer()`.

    `provinces` and `communes` hold the units in force (keyed by GSO code);
    `old_provinces`, `old_districts` and `old_wards` the pre-reform ones (their
    codes are a separate namespace: a new commune often reuses an old code).
    """

    def __init__(self, data: Mapping[str, Any], lexicon: Mapping[str, Any]) -> None:
        self.provinces: Mapping[str, Province] = MappingProxyType(
            {r[0]: Province(r[0], r[1], r[2], r[3], r[4], r[5]) for r in data["provinces"]}
        )
        self.communes: Mapping[str, Commune] = MappingProxyType(
            {
                r[0]: Commune(
                    r[0], r[1], r[4], short=r[2], kind=r[3], lat=r[5], lon=r[6], area_km2=r[7]
                )
                for r in data["communes"]
            }
        )
        self.old_provinces: Mapping[str, OldProvince] = MappingProxyType(
            {r[0]: OldProvince(r[0], r[1], r[2], r[3]) for r in data["old_provinces"]}
        )
        self.old_districts: Mapping[str, OldDistrict] = MappingProxyType(
            {
                r[0]: OldDistrict(
                    r[0],
                    r[1],
                    r[2],
                    r[3],
                    r[4],
                    self.old_provinces[r[4]].province_code,
                    tuple(r[6]),
                )
                for r in data["old_districts"]
            }
        )
        self.old_wards: Mapping[str, OldWard] = MappingProxyType(
            {r[0]: self._old_ward(r) for r in data["old_wards"]}
        )
        self.lexicon = _load_lexicon(lexicon)
        # Keys are compact folded names ("vinhlong", "9", "longchau"); see `name_key`.
        self.province_index, self.province_starts = self._province_index(lexicon)
        self.unit_index, self.max_name_tokens = self._unit_index(data)
        district_communes: dict[str, set[str]] = defaultdict(set)
        for ward in self.old_wards.values():
            district_communes[ward.district_code].update(ward.targets)
        self.district_communes: Mapping[str, frozenset[str]] = MappingProxyType(
            {k: frozenset(v) for k, v in district_communes.items()}
        )
        self._grid = self._build_grid()

    def _old_ward(self, r: list[Any]) -> OldWard:
        district = self.old_districts[r[4]]
        return OldWard(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            district.old_province_code,
            district.province_code,
            tuple(r[5]),
            bool(r[6]),
        )

    def _province_index(
        self, lexicon: Mapping[str, Any]
    ) -> tuple[Mapping[str, tuple[NameRef, ...]], frozenset[str]]:
        """Province names and aliases, old and new; and the tokens they start with."""
        index: dict[str, list[NameRef]] = defaultdict(list)
        shorts = [p.short for p in self.provinces.values()]
        shorts += [o.short for o in self.old_provinces.values()]
        starts = {tokens_of(fold(s))[0] for s in shorts}
        for p in self.provinces.values():
            index[name_key(p.short)].append(NameRef("P", _kind_key(p.kind), p.code, p.short))
        for o in self.old_provinces.values():
            kind = _kind_key(o.name[: -len(o.short)])
            index[name_key(o.short)].append(NameRef("OP", kind, o.code, o.short))
        for level, group in (("P", "province_aliases"), ("OP", "old_province_aliases")):
            for code, aliases in lexicon[group].items():
                unit: Province | OldProvince = (
                    self.provinces[code] if level == "P" else self.old_provinces[code]
                )
                kind = _kind_key(unit.name[: -len(unit.short)])
                for alias in aliases:
                    canonical = alias if alias != fold(alias) else ""
                    index[name_key(alias)].append(NameRef(level, kind, code, canonical))
                    starts.add(tokens_of(fold(alias))[0])
        return _freeze(index), frozenset(starts)

    def _unit_index(self, data: Mapping[str, Any]) -> tuple[Mapping[str, tuple[NameRef, ...]], int]:
        """Short names of communes, old districts and wards; and the longest in tokens."""
        index: dict[str, list[NameRef]] = defaultdict(list)
        kinds: dict[str, str] = {}
        longest = 0
        for level, units in (
            ("C", self.communes),
            ("D", self.old_districts),
            ("W", self.old_wards),
        ):
            for unit in units.values():
                words = tokens_of(fold(unit.short))  # the data file is NFC
                longest = max(longest, len(words))
                kind = kinds.setdefault(unit.kind, _kind_key(unit.kind))
                index["".join(words)].append(NameRef(level, kind, unit.code, unit.short))
        for level, rows, column in (("D", data["old_districts"], 5), ("W", data["old_wards"], 7)):
            for row in rows:
                for alias in row[column]:
                    kind, _, key = alias.partition(":")
                    key = norm_token(key) if key.isdigit() else key
                    index[key].append(NameRef(level, kind, row[0], ""))
        return _freeze(index), longest

    def province_by_name(self, name: str) -> Province | None:
        """Resolve an old or new province name, abbreviation or alias to the new province.

        Accepts "Tỉnh Vĩnh Long", "vinh long", "TP.HCM", "HCM", "Sài Gòn",
        "Bến Tre" (-> Vĩnh Long), "tỉnh Hậu Giang" (-> Cần Thơ)...
        """
        words = tokens_of(fold(unicodedata.normalize("NFC", name)))
        candidates = ["".join(words)]
        for size in range(min(len(words) - 1, self.lexicon.max_phrase), 0, -1):
            if " ".join(words[:size]) in self.lexicon.prefix_kinds:
                candidates.append("".join(words[size:]))
        for key in candidates:
            refs = self.province_index.get(key, ())
            for level in ("P", "OP"):
                for ref in refs:
                    if ref.level == level:
                        return self.province_of(ref)
        return None

    def province_of(self, ref: NameRef) -> Province:
        """The new province a name reference belongs to."""
        if ref.level == "P":
            return self.provinces[ref.code]
        if ref.level == "OP":
            return self.provinces[self.old_provinces[ref.code].province_code]
        if ref.level == "D":
            return self.provinces[self.old_districts[ref.code].province_code]
        if ref.level == "W":
            return self.provinces[self.old_wards[ref.code].province_code]
        return self.provinces[self.communes[ref.code].province_code]

    def _build_grid(self) -> Mapping[tuple[int, int], tuple[Commune, ...]]:
        grid: dict[tuple[int, int], list[Commune]] = defaultdict(list)
        for c in self.communes.values():
            if c.lat is not None and c.lon is not None:
                grid[_cell(c.lat, c.lon)].append(c)
        return MappingProxyType({k: tuple(v) for k, v in grid.items()})

    def nearest_commune(
        self, lat: float, lon: float, *, max_km: float = 30.0
    ) -> tuple[Commune, float] | None:
        """The commune whose centroid is nearest to (lat, lon), with the distance in km."""
        if not (math.isfinite(lat) and math.isfinite(lon)):
            return None
        row, col = _cell(lat, lon)
        reach = math.ceil(max_km / (111.0 * _GRID_DEG)) + 1
        best: tuple[Commune, float] | None = None
        for r in range(row - reach, row + reach + 1):
            for c in range(col - reach, col + reach + 1):
                for commune in self._grid.get((r, c), ()):
                    assert commune.lat is not None and commune.lon is not None
                    dist = distance_km(lat, lon, commune.lat, commune.lon)
                    if dist <= max_km and (best is None or dist < best[1]):
                        best = (commune, dist)
        return best


def _cell(lat: float, lon: float) -> tuple[int, int]:
    return math.floor(lat / _GRID_DEG), math.floor(lon / _GRID_DEG)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Equirectangular distance, accurate to well under 1 % at commune scale."""
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return 6371.0 * math.hypot(x, y)


def _read_json(name: str) -> Any:
    path = resources.files(_DATA_PACKAGE).joinpath(*_DATA_DIR, name)
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def load_gazetteer() -> Gazetteer:
    """Read the shipped data and build the indexes (about 0.3 s, once per process)."""
    return Gazetteer(_read_json("vn_admin_2025.json"), _read_json("lexicon.json"))
