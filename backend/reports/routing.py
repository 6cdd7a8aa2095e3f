"""Where a report is and which unit answers it: staff's place corrections, and routing.

`place` validates a staff member's correction of the place (a commune name, an address,
a map pin inside Vietnam). `route` picks the responsible unit from the category and the
commune and the deployment config. Both are pure. Routing's order of precedence:
1. a `[[routes]]` entry for this category and this commune;
2. a `[[routes]]` entry for this category in every commune (`commune` left out);
3. the category's default unit, except that a generic commune unit (kind "commune" without a
   commune name, like "UBND xã, phường nơi xảy ra sự việc") becomes the commune's own unit
   when the deployment has one for the report's commune.
Staff can always override the result when they assign.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

from backend.errors import DomainError
from backend.reports.sanitize import clean_text
from backend.settings import Settings, Unit

# Vietnam's mainland and near islands, roughly: a pin outside is a typo or a swapped pair.
LAT_RANGE = (8.0, 24.0)
LON_RANGE = (102.0, 110.0)
MAX_COMMUNE = 120
MAX_DETAIL = 1000


@dataclass(frozen=True)
class Place:
    """A corrected place; None fields are left as they were."""

    commune_name: str | None
    location_detail: str | None
    lat: float | None
    lon: float | None


def place(
    *,
    commune_name: str | None,
    location_detail: str | None,
    lat: float | None,
    lon: float | None,
    required: bool,
) -> Place:
    """The place staff entered, trimmed and checked; DomainError (Vietnamese) if it is wrong."""
    commune = clean_text(commune_name, limit=MAX_COMMUNE, what="Tên xã, phường")
    detail = clean_text(location_detail, limit=MAX_DETAIL, what="Địa chỉ")
    if (lat is None) != (lon is None):
        raise DomainError("Hãy nhập đủ cả vĩ độ và kinh độ.")
    if lat is not None and lon is not None and not in_vietnam(lat, lon):
        raise DomainError("Vị trí trên bản đồ nằm ngoài lãnh thổ Việt Nam.")
    if required and commune is None and detail is None and lat is None:
        raise DomainError("Hãy nhập xã/phường, địa chỉ hoặc vị trí trên bản đồ.")
    return Place(commune, detail, lat, lon)


def in_vietnam(lat: float, lon: float) -> bool:
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return False
    return LAT_RANGE[0] <= lat <= LAT_RANGE[1] and LON_RANGE[0] <= lon <= LON_RANGE[1]


def route(settings: Settings, *, category: str | None, commune_name: str | None) -> str | None:
    """The responsible unit's id, or None when the category is unknown."""
    known = settings.category(category)
    if known is None:
        return None
    commune = _key(commune_name)
    routes = [r for r in settings.routes if r.category == known.id]
    for entry in routes:
        if commune and entry.commune is not None and _key(entry.commune) == commune:
            return entry.unit
    for entry in routes:
        if entry.commune is None:
            return entry.unit
    default = settings.unit(known.unit)
    if default is not None and _generic_commune_unit(default) and commune:
        local = next((u for u in settings.units if u.commune and _key(u.commune) == commune), None)
        if local is not None:
            return local.id
    return known.unit


def _generic_commune_unit(unit: Unit) -> bool:
    return unit.kind == "commune" and not unit.commune


def _key(name: str | None) -> str:
    """Commune names compare without regard to case, spacing or Unicode composition."""
    if not name:
        return ""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", name)).strip().casefold()
