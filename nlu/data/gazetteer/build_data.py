"""Rebuild `vn_admin_2025.json` from the vietnamadminunits package (MIT).

Not used at run time. Run it by hand when upstream publishes new data:

    pip download --no-deps vietnamadminunits==1.0.4 -d /tmp/vau
    unzip -q -o /tmp/vau/*.whl -d /tmp/vau/x
    python nlu/data/gazetteer/build_data.py /tmp/vau/x/vietnamadminunits

It reads the package's `data/dataset.db` (names, GSO codes, centroids of the
new and the pre-2025-07 units) and `data/converter_2025.json` (old ward ->
new commune, with the default target of split wards), and writes one compact
JSON file of arrays (field order documented in `SCHEMA` below).
"""

from __future__ import annotations

import json
import sqlite3
import sys
import unicodedata
from pathlib import Path
from typing import Any

SCHEMA = {
    "provinces": ["code", "name", "short", "kind", "lat", "lon"],
    "communes": ["code", "name", "short", "kind", "province_code", "lat", "lon", "area_km2"],
    "old_provinces": ["code", "name", "short", "province_code"],
    "old_districts": ["code", "name", "short", "kind", "old_province_code", "aliases", "targets"],
    "old_wards": [
        "code",
        "name",
        "short",
        "kind",
        "district_code",
        "targets",
        "divided",
        "aliases",
    ],
}
_PREFIXES = ("thanhpho", "thitran", "thixa", "phuong", "huyen", "quan", "xa")
_KINDS = ("Thành phố", "Thị trấn", "Thị xã", "Phường", "Huyện", "Quận", "Xã", "Đặc khu", "Tỉnh")

Row = dict[str, Any]


def _aliases(raw: str | None) -> list[str]:
    """Upstream aliases are compact keys ("phuongsaidong"); keep "kind:name" pairs."""
    if not raw:
        return []
    keys: list[str] = json.loads(raw)
    shorts = {k for k in keys for p in _PREFIXES if p + k in keys}
    out: list[str] = []
    for key in keys:
        if key in shorts:
            continue
        for prefix in _PREFIXES:
            rest = key[len(prefix) :]
            if (
                key.startswith(prefix)
                and rest
                and (rest in keys or rest.isdigit() or prefix != "xa")
            ):
                out.append(f"{prefix}:{rest}")
                break
    return sorted(set(out))


def _split(name: str, kind: str, short: str) -> tuple[str, str, str]:
    """(name, short, kind) with the kind read from the name.

    Upstream's type column disagrees with the name for a few units ("Xã Phong
    Điền" typed Phường) and some short names carry a suffix ("Yên Viên (Xã)").
    """
    for k in _KINDS:
        if name.lower().startswith(k.lower() + " "):
            rest = name[len(k) + 1 :]
            return f"{k} {rest}", rest, k
    return name, short, kind


def _targets(conv: dict[str, Any], new_code: dict[tuple[str, str], str]) -> dict[str, Any]:
    """Old compound key -> (target codes with the default first, divided flag)."""
    out: dict[str, Any] = {}
    for prov, wards in conv["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for new_key, olds in wards.items():
            for old in olds:
                out[old] = ([new_code[prov, new_key]], 0)
    for prov, olds in conv["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old, options in olds.items():
            ranked = sorted(options, key=lambda o: not o["isDefaultNewWard"])
            out[old] = ([new_code[prov, o["newWardKey"]] for o in ranked], 1)
    return out


def build(pkg_dir: Path) -> dict[str, Any]:
    con = sqlite3.connect(pkg_dir / "data" / "dataset.db")
    con.row_factory = sqlite3.Row
    new: list[Row] = [dict(r) for r in con.execute("SELECT * FROM admin_units ORDER BY wardCode")]
    old: list[Row] = [
        dict(r)
        for r in con.execute("SELECT * FROM admin_units_legacy ORDER BY districtCode, wardCode")
    ]
    conv = json.loads((pkg_dir / "data" / "converter_2025.json").read_text(encoding="utf-8"))
    new_code = {(r["provinceKey"], r["wardKey"]): r["wardCode"] for r in new}
    new_prov_by_key = {r["provinceKey"]: r["provinceCode"] for r in new}
    targets = _targets(conv, new_code)
    old_to_new_prov = {
        old_key: new_prov_by_key[new_key]
        for new_key, old_keys in conv["DICT_PROVINCE"].items()
        for old_key in old_keys
    }

    provinces: dict[str, list[Any]] = {}
    communes = []
    for r in new:
        kind = "Thành phố" if r["province"].startswith("Thành phố") else "Tỉnh"
        provinces[r["provinceCode"]] = [
            r["provinceCode"],
            r["province"],
            r["provinceShort"],
            kind,
            round(r["provinceLat"], 4),
            round(r["provinceLon"], 4),
        ]
        communes.append(
            [
                r["wardCode"],
                *_split(r["ward"], r["wardType"], r["wardShort"]),
                r["provinceCode"],
                round(r["wardLat"], 4),
                round(r["wardLon"], 4),
                r["wardAreaKm2"],
            ]
        )

    old_provinces: dict[str, list[Any]] = {}
    districts: dict[str, list[Any]] = {}
    wards = []
    for r in old:
        pcode = r["provinceCode"]
        old_provinces[pcode] = [
            pcode,
            r["province"],
            r["provinceShort"],
            old_to_new_prov[r["provinceKey"]],
        ]
        key = f"{r['provinceKey']}_{r['districtKey']}_{r['wardKey'] or ''}"
        if r["districtCode"] not in districts:
            districts[r["districtCode"]] = [
                r["districtCode"],
                *_split(r["district"], r["districtType"], r["districtShort"]),
                pcode,
                _aliases(r["districtAlias"]),
                [],
            ]
        if r["wardCode"] is None:  # island district without wards: maps as a whole
            districts[r["districtCode"]][6] = targets[key][0]
            continue
        codes, divided = targets[key]
        wards.append(
            [
                r["wardCode"],
                *_split(r["ward"], r["wardType"], r["wardShort"]),
                r["districtCode"],
                codes,
                divided,
                _aliases(r["wardAlias"]),
            ]
        )

    return {
        "meta": {
            "source": "vietnamadminunits 1.0.4 (PyPI), data/dataset.db + data/converter_2025.json",
            "licence": "MIT, Copyright (c) 2025 Tran Ngoc Minh Hieu",
            "effective_date": "2025-07-01",
            "schema": SCHEMA,
        },
        "provinces": sorted(provinces.values()),
        "communes": communes,
        "old_provinces": sorted(old_provinces.values()),
        "old_districts": sorted(districts.values()),
        "old_wards": wards,
    }


def main(argv: list[str]) -> None:
    data = build(Path(argv[1]))
    out = Path(__file__).with_name("vn_admin_2025.json")
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = unicodedata.normalize("NFC", text)
    # One record per line keeps diffs readable.
    out.write_text(text.replace("],[", "],\n["), encoding="utf-8")
    counts = {k: len(v) for k, v in data.items() if k != "meta"}
    print(f"wrote {out} {counts}")


if __name__ == "__main__":
    main(sys.argv)
