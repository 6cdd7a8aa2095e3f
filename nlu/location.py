"""Find place mentions in citizen text and resolve them to post-2025 units.

`Locator.find` tokenises the text (`nlu.tokens`), takes the unit mentions
(`nlu.mentions`: prefixed names, bare province names, comma-separated unit
names; `nlu.bare_names`: district and commune names written without a unit
word, "Lê Văn Sỹ, Phú Nhuận") and the address detail (`nlu.address_detail`),
then resolves.

Resolution narrows the candidates of the ward-level mention by the other
mentions (old district, old or new province), then by the deployment
province, and returns the NEW commune. `confidence` estimates that the returned
province/commune are right: 0.95 when an old district backs the ward, 0.9 a
named province, 0.85 unique in the deployment province, 0.75 unique nationwide,
0.5 a tie broken by preference (the old province whose code the new one kept)
or a match outside the deployment province; times 0.7 for a split old ward
(default target), 0.8-0.9 for weaker readings (bare segment, diacritics or unit
kind that disagree, a newer name preferred over an old one); a name written
without a unit word counts 0.85 (0.75 in text without capitals, times 0.9
inside a landmark's name: "chợ Châu Đốc"). Without a commune it is at most 0.5
(province named) and as low as 0.1: a bare district elsewhere in the country
gives about 0.2, one in the deployment province about 0.35. `note` says why, in
Vietnamese, for staff.

Street, house number, hamlet and landmark words ("hẻm 12 Nguyễn Trãi", "gần
chợ Long Hồ", "ấp Phú Thạnh") become `detail`, without the unit names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from nlu.address_detail import detail_spans
from nlu.bare_names import BareNames
from nlu.gazetteer import Gazetteer, NameRef, fold
from nlu.mentions import Mention, MentionScanner
from nlu.tokens import Doc, span_text, tokenize
from nlu.types import Location

_BASE = {
    "district": 0.95,
    "province": 0.9,
    "deployment": 0.85,
    "nation": 0.75,
    "preferred": 0.7,
    "home": 0.5,
    "outside": 0.5,
}
_NO_GPS_DATA = "Chưa có dữ liệu tọa độ để xác định xã/phường từ vị trí GPS."


@dataclass(frozen=True)
class _Context:
    provinces: tuple[str, ...]  # new provinces named in the text (also via an old name)
    strong: frozenset[str]  # old provinces named by a name that is old only ("Bến Tre")
    soft: frozenset[str]  # old provinces whose name is also a new one ("Vĩnh Long")
    old_names: tuple[str, ...]
    penalty: float


@dataclass(frozen=True)
class _Pick:
    ref: NameRef | None
    confidence: float
    scope_province: str | None
    note: str | None = None


class Locator:
    """Finds and resolves place mentions for one deployment (thread-safe, immutable)."""

    def __init__(
        self, gazetteer: Gazetteer, *, province_code: str | None = None, nationwide: bool = False
    ) -> None:
        if province_code is not None and province_code not in gazetteer.provinces:
            raise ValueError(f"unknown province code {province_code!r}")
        self._g = gazetteer
        self._lex = gazetteer.lexicon
        self._home = province_code
        self._nationwide = nationwide or province_code is None
        self._scanner = MentionScanner(gazetteer, province_code)
        self._bare = BareNames(gazetteer, province_code)

    # ----------------------------------------------------------------- public
    def find(self, text: str) -> Location | None:
        """Resolve the place mentioned in `text`; None when it mentions no place."""
        doc = tokenize(text)
        mentions = self._bare.add(doc, self._scanner.scan(doc))
        places = [(m.tok_start, m.tok_end) for m in mentions]
        units = [span for span, m in zip(places, mentions, strict=True) if not m.soft]
        fragments = detail_spans(self._lex, doc, units)
        if not mentions and not fragments:
            return None
        loc = self._resolve(mentions)
        spans = places + fragments
        detail = ", ".join(span_text(doc, s, e) for s, e in sorted(fragments)) or None
        return replace(loc, raw=_raw(doc, spans), detail=detail)

    def locate_point(self, lat: float, lon: float) -> Location:
        """The commune whose centroid is nearest; approximate near boundaries."""
        raw = f"{lat:.6f},{lon:.6f}"
        hit = self._g.nearest_commune(lat, lon)
        if hit is None:
            return Location(raw=raw, lat=lat, lon=lon, confidence=0.1, note=_NO_GPS_DATA)
        commune, dist = hit
        radius = max(((commune.area_km2 or 10.0) / 3.14159) ** 0.5, 0.5)
        conf = next(
            c for c, r in ((0.6, 0.5), (0.45, 1.0), (0.3, 2.0), (0.2, 1e9)) if dist <= radius * r
        )
        province = self._g.provinces[commune.province_code]
        note = (
            f"Ước lượng theo tâm xã/phường gần nhất (cách {dist:.1f} km); "
            "có thể sai ở gần ranh giới."
        )
        return Location(
            raw=raw,
            province=province.name,
            province_code=province.code,
            commune=commune.name,
            commune_code=commune.code,
            lat=lat,
            lon=lon,
            confidence=conf,
            note=note,
        )

    # ------------------------------------------------------------- resolving
    def _resolve(self, mentions: Sequence[Mention]) -> Location:
        ctx = self._context(mentions)
        d_cands, d_pick = self._districts(mentions, ctx)
        wards = [m for m in mentions if m.group == "W"]
        picks = [(self._pick(list(m.refs), ctx, d_cands)[1], m) for m in wards]
        picks = [(replace(p, confidence=p.confidence * m.penalty), m) for p, m in picks]
        best = max(picks, key=lambda p: p[0].confidence if p[0].ref else -1.0, default=None)
        if best and best[0].ref:
            return self._commune_location(best[0], best[1], ctx, d_cands)
        names = (*self._district_names(d_cands, d_pick.ref), *ctx.old_names)
        island = self._g.old_districts[d_pick.ref.code].targets if d_pick.ref else ()
        if island:
            return self._location(island[0], None, d_pick.confidence, names, d_pick.note)
        d_provinces = {self._prov(r) for r in d_cands}
        if best and best[0].scope_province:
            code, conf, note = best[0].scope_province, 0.4 if ctx.provinces else 0.35, best[0].note
        elif len(d_provinces) == 1:
            conf = 0.5 * d_pick.confidence if d_pick.ref else 0.4
            code, note = d_provinces.pop(), d_pick.note or (best[0].note if best else None)
        elif ctx.provinces:
            code, conf, note = ctx.provinces[0], 0.4 if wards else 0.5 * ctx.penalty, None
        else:
            code, conf = None, 0.1 if wards or d_cands else 0.15
            note = best[0].note if best else d_pick.note
        return self._location(None, code, min(conf, 0.5), names, note)

    def _context(self, mentions: Sequence[Mention]) -> _Context:
        g = self._g
        named = [m for m in mentions if m.group == "P"]
        strong = {r.code for m in named if all(r.level == "OP" for r in m.refs) for r in m.refs}
        soft = {
            r.code
            for m in named
            if any(r.level == "P" for r in m.refs)
            for r in m.refs
            if r.level == "OP"
        }
        return _Context(
            provinces=tuple(dict.fromkeys(g.province_of(r).code for m in named for r in m.refs)),
            strong=frozenset(strong),
            soft=frozenset(soft),
            old_names=tuple(g.old_provinces[c].name for c in sorted(strong)),
            penalty=min((m.penalty for m in named), default=1.0),
        )

    def _districts(self, mentions: Sequence[Mention], ctx: _Context) -> tuple[list[NameRef], _Pick]:
        cands: list[NameRef] = []
        pick = _Pick(None, 0.0, None)
        for m in (m for m in mentions if m.group == "D"):
            kept, p = self._pick([r for r in m.refs if r.level == "D"], ctx, [])
            cands += kept
            pick = replace(p, confidence=p.confidence * m.penalty) if p.ref else pick
        return list(dict.fromkeys(cands)), pick

    def _prov(self, ref: NameRef) -> str:
        return self._g.province_of(ref).code

    def _old_prov(self, ref: NameRef) -> str | None:
        g = self._g
        if ref.level == "W":
            return g.old_wards[ref.code].old_province_code
        return g.old_districts[ref.code].old_province_code if ref.level == "D" else None

    def _outcome(self, ref: NameRef) -> str:
        """What the user gets: the new commune (wards) or the district itself."""
        return self._g.old_wards[ref.code].targets[0] if ref.level == "W" else ref.code

    def _in_districts(self, ref: NameRef, codes: set[str]) -> bool:
        g = self._g
        if ref.level == "W":
            return g.old_wards[ref.code].district_code in codes
        return any(ref.code in g.district_communes.get(c, ()) for c in codes)

    def _pick(
        self, cands: list[NameRef], ctx: _Context, districts: Sequence[NameRef]
    ) -> tuple[list[NameRef], _Pick]:
        """Keep the candidates the context supports, then pick one outcome if it is unique."""
        factor, label = 1.0, "nation"
        if districts:
            codes = {r.code for r in districts}
            cands, ok = _keep(cands, lambda r: self._in_districts(r, codes))
            label, factor = ("district", factor) if ok else (label, factor * 0.6)
        scope = {*ctx.provinces, *(self._prov(r) for r in districts)}
        if scope:
            cands, ok = _keep(cands, lambda r: self._prov(r) in scope)
            label = "province" if ok and label == "nation" else label
            factor *= 1.0 if ok else 0.5  # the text names another province
        if label == "nation":
            cands, label = self._by_deployment(cands)
        old_context = label == "district"  # the writer uses pre-reform names
        prefs: list[tuple[Callable[[NameRef], bool], float]] = [
            (self._in_old(codes), cost)
            for codes, cost in ((ctx.strong, 1.0), (ctx.soft, 0.9))
            if codes
        ]
        prefs += [
            (lambda r: bool(r.canonical), 0.9),  # names of 2025 over ones merged away earlier
            (lambda r: (r.level == "W") == old_context, 1.0 if old_context else 0.9),
        ]
        for pred, cost in prefs:
            if len({self._outcome(r) for r in cands}) > 1:
                kept, ok = _keep(cands, pred)
                factor *= cost if ok and len(kept) < len(cands) else 1.0
                cands = kept
        return cands, self._decide(cands, label, factor)

    def _in_old(self, codes: frozenset[str]) -> Callable[[NameRef], bool]:
        """In one of these old provinces (new communes have none, so they stay)."""
        return lambda r: r.level == "C" or self._old_prov(r) in codes

    def _by_deployment(self, cands: list[NameRef]) -> tuple[list[NameRef], str]:
        if self._home is None:
            return cands, "nation"
        inside = [r for r in cands if self._prov(r) == self._home]
        if self._nationwide:
            unique = len({self._outcome(r) for r in cands}) == 1
            return (cands, "nation") if unique or not inside else (inside, "preferred")
        return (inside, "deployment") if inside else (cands, "outside")

    def _decide(self, cands: list[NameRef], label: str, factor: float) -> _Pick:
        g = self._g
        provinces = {self._prov(r) for r in cands}
        scope = provinces.pop() if len(provinces) == 1 else None
        note: str | None = None
        if len({self._outcome(r) for r in cands}) > 1:
            note = "Tên này có ở nhiều nơi: " + self._alternatives(cands)
            # Tie-break: the old province whose code the new province kept (its centre).
            home = [r for r in cands if self._old_prov(r) == scope and label != "outside"]
            if scope is None or not home or len({self._outcome(r) for r in home}) > 1:
                return _Pick(None, 0.0, scope, note + ".")
            cands, label = home, "home"
            factor *= 0.9 if self._nationwide else 1.0
            note += f"; tạm chọn theo {g.old_provinces[scope].name} cũ."
        ref = cands[0]
        if label == "outside":
            note = "Địa danh nằm ngoài tỉnh triển khai."
        if ref.level == "W" and g.old_wards[ref.code].divided:
            factor *= 0.7
            note = (
                f"{g.old_wards[ref.code].name} cũ nay thuộc nhiều xã/phường; đã chọn "
                f"{g.communes[self._outcome(ref)].name} (mặc định). {note or ''}"
            ).strip()
        return _Pick(ref, _BASE[label] * factor, scope, note)

    def _alternatives(self, refs: Iterable[NameRef], limit: int = 4) -> str:
        g = self._g
        seen: list[str] = []
        for r in refs:
            older = "" if r.canonical else ", tên trước sáp nhập"
            if r.level == "W":
                w = g.old_wards[r.code]
                seen.append(
                    f"{w.name} ({g.old_districts[w.district_code].name}, "
                    f"{g.old_provinces[w.old_province_code].short}{older})"
                )
            elif r.level == "D":
                d = g.old_districts[r.code]
                seen.append(f"{d.name} ({g.old_provinces[d.old_province_code].short}{older})")
            else:
                seen.append(f"{g.communes[r.code].name} ({g.province_of(r).short})")
        seen = list(dict.fromkeys(seen))
        more = f" và {len(seen) - limit} nơi khác" if len(seen) > limit else ""
        return ", ".join(seen[:limit]) + more

    # ---------------------------------------------------------------- results
    def _district_names(self, cands: Sequence[NameRef], chosen: NameRef | None) -> list[str]:
        refs = [chosen] if chosen else cands
        names = {self._g.old_districts[r.code].name for r in refs}
        return sorted(names) if len(names) == 1 else []

    def _commune_location(
        self, pick: _Pick, m: Mention, ctx: _Context, districts: Sequence[NameRef]
    ) -> Location:
        g = self._g
        assert pick.ref is not None
        code = self._outcome(pick.ref)
        names: list[str] = []
        if pick.ref.level == "W":
            ward = g.old_wards[pick.ref.code]
            if ward.name != g.communes[code].name:
                names.append(ward.name if pick.ref.canonical else m.surface)
            districts = [d for d in districts if d.code == ward.district_code] or districts
        names += self._district_names(districts, None)
        note = pick.note
        if self._home and not self._nationwide and g.communes[code].province_code != self._home:
            note = note or "Địa danh nằm ngoài tỉnh triển khai."
        return self._location(code, None, pick.confidence, (*names, *ctx.old_names), note)

    def _location(
        self,
        commune_code: str | None,
        province_code: str | None,
        confidence: float,
        old_names: Iterable[str],
        note: str | None,
    ) -> Location:
        g = self._g
        commune = g.communes[commune_code] if commune_code else None
        code = commune.province_code if commune else province_code
        province = g.provinces[code] if code else None
        return Location(
            province=province.name if province else None,
            province_code=code,
            commune=commune.name if commune else None,
            commune_code=commune_code,
            old_names=tuple(dict.fromkeys(old_names)),
            confidence=round(min(max(confidence, 0.0), 1.0), 2),
            note=note,
        )


def _keep(cands: list[NameRef], pred: Callable[[NameRef], bool]) -> tuple[list[NameRef], bool]:
    kept = [c for c in cands if pred(c)]
    return (kept, True) if kept else (cands, False)


def _raw(doc: Doc, spans: Iterable[tuple[int, int]]) -> str:
    """The place words as written: touching spans merged, the others joined by ", "."""
    merged: list[list[int]] = []
    for s, e in sorted(spans):
        gap = doc.text[doc.toks[merged[-1][1] - 1].end : doc.toks[s].start] if merged else "x"
        if merged and (
            s <= merged[-1][1]
            or not re.search(r"\w", gap)
            or fold(gap).strip(" ,-") in ("o", "tai", "thuoc")
        ):
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return ", ".join(span_text(doc, s, e) for s, e in merged)
