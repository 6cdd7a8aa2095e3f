"""Similar reports: is a new report probably the same problem as an open one?

Owns the duplicate score, a pure function of typed inputs (no database, no
clock): the caller passes the new report, the open candidate reports (already
narrowed down, e.g. same province and last 30 days) and the current time.

    score = 0.55 * text + 0.30 * place + 0.15 * recency

- text: cosine similarity of TF-IDF vectors (idf over the new report and its
  candidates) of folded words and of character 3-grams inside words, so
  "cột điện nghiêng" matches "cot dien bi nghieng";
- place: exp(-distance / 300 m) when both reports have coordinates; 1.0 for
  the same commune (at least 0.5 with coordinates under 2 km apart); 0.3 when unknown; a
  candidate in another known commune is a duplicate only within 600 m;
- recency: halves every 7 days; candidates older than `max_age` are ignored.
Candidates whose text similarity is below `min_text` are ignored.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from nlu.text import fold

TEXT_WEIGHT, PLACE_WEIGHT, RECENCY_WEIGHT = 0.55, 0.30, 0.15
UNKNOWN_PLACE = 0.3
RADIUS_M = 300.0
SAME_COMMUNE_MAX_M = 2000.0
HALF_LIFE = timedelta(days=7)
_EARTH_RADIUS_M = 6_371_000.0
# fmt: off
_STOPWORDS = frozenset((
    "a", "ah", "bi", "cho", "co", "cua", "da", "dang", "de", "di", "do", "duoc", "em", "gi",
    "hay", "khi", "khong", "la", "lam", "len", "luc", "ma", "minh", "mot", "nay", "nha", "nhe",
    "nhu", "nhung", "o", "oi", "qua", "ra", "roi", "se", "tai", "thi", "toi", "tren", "tu",
    "va", "vao", "voi", "xin", "ve",
))
# fmt: on


@dataclass(frozen=True)
class ReportSnapshot:
    """What the duplicate score needs to know about a report."""

    id: str
    text: str
    created_at: datetime
    commune_code: str | None = None
    lat: float | None = None
    lon: float | None = None
    category: str | None = None


@dataclass(frozen=True)
class SimilarReport:
    id: str
    score: float
    text_similarity: float
    place_score: float
    recency: float
    distance_m: float | None


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _terms(text: str, normalize: Callable[[str], str]) -> Counter[str]:
    words = [w for w in normalize(text).split() if w not in _STOPWORDS]
    terms: Counter[str] = Counter(f"w:{w}" for w in words)
    for word in words:
        padded = f"<{word}>"
        terms.update(f"c:{padded[i : i + 3]}" for i in range(max(1, len(padded) - 2)))
    return terms


def _tfidf(terms: Counter[str], idf: dict[str, float]) -> dict[str, float]:
    vector = {t: (1 + math.log(n)) * idf[t] for t, n in terms.items()}
    norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
    return {t: v / norm for t, v in vector.items()}


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(t, 0.0) for t, v in a.items())


def place_score(new: ReportSnapshot, old: ReportSnapshot) -> tuple[float, float | None]:
    """(score, distance in metres or None); a score of 0 means a different place."""
    meters: float | None = None
    near = 0.0
    if new.lat is not None and new.lon is not None and old.lat is not None and old.lon is not None:
        meters = distance_m(new.lat, new.lon, old.lat, old.lon)
        near = math.exp(-meters / RADIUS_M)
    if new.commune_code and old.commune_code:
        if new.commune_code == old.commune_code:
            if meters is None:
                return 1.0, None
            # Communes are large since 2025: coordinates far apart mean two places.
            return (max(near, 0.5) if meters <= SAME_COMMUNE_MAX_M else near), meters
        # Different communes: only a point right across the border still counts.
        return (near if meters is not None and meters < 2 * RADIUS_M else 0.0), meters
    return (UNKNOWN_PLACE if meters is None else near), meters


def find_similar(
    new: ReportSnapshot,
    candidates: Sequence[ReportSnapshot],
    *,
    now: datetime,
    limit: int = 5,
    min_score: float = 0.45,
    min_text: float = 0.2,
    max_age: timedelta = timedelta(days=30),
    normalize: Callable[[str], str] = fold,
) -> list[SimilarReport]:
    """Open reports that are probably the same problem as `new`, best first."""
    recent = [c for c in candidates if c.id != new.id and now - c.created_at <= max_age]
    if not recent:
        return []
    bags = [_terms(new.text, normalize)] + [_terms(c.text, normalize) for c in recent]
    df: Counter[str] = Counter()
    for bag in bags:
        df.update(bag.keys())
    idf = {t: math.log((1 + len(bags)) / (1 + n)) + 1.0 for t, n in df.items()}
    target = _tfidf(bags[0], idf)
    found: list[SimilarReport] = []
    for candidate, bag in zip(recent, bags[1:], strict=True):
        text = _cosine(target, _tfidf(bag, idf))
        place, meters = place_score(new, candidate)
        if text < min_text or place <= 0.0:
            continue
        age = abs((new.created_at - candidate.created_at).total_seconds())
        recency = 0.5 ** (age / HALF_LIFE.total_seconds())
        score = TEXT_WEIGHT * text + PLACE_WEIGHT * place + RECENCY_WEIGHT * recency
        if new.category and candidate.category and new.category != candidate.category:
            score *= 0.8
        if score >= min_score:
            found.append(
                SimilarReport(
                    candidate.id,
                    round(score, 4),
                    round(text, 4),
                    round(place, 4),
                    round(recency, 4),
                    meters,
                )
            )
    found.sort(key=lambda s: -s.score)
    return found[:limit]
