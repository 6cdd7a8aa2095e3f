"""Place mentions -> post-2025 (province, commune), old names kept: tables and full-data sweeps."""

from __future__ import annotations

import pytest

from nlu.gazetteer import Gazetteer
from nlu.location import Locator
from tests.nlu.conftest import CT, HCM, VL

# mode, text, province code, new commune name (None: not chosen), old names, confidence range
RESOLVE_CASES = [
    (
        "vl",
        "phường 9 tp Vĩnh Long",
        VL,
        "Phường Long Châu",
        ("Phường 9", "Thành phố Vĩnh Long"),
        (0.9, 1.0),
    ),
    (
        "vl",
        "p9 tp vinh long",
        VL,
        "Phường Long Châu",
        ("Phường 9", "Thành phố Vĩnh Long"),
        (0.9, 1.0),
    ),
    (
        "vl",
        "P.9, TP. Vĩnh Long",
        VL,
        "Phường Long Châu",
        ("Phường 9", "Thành phố Vĩnh Long"),
        (0.9, 1.0),
    ),
    ("vl", "F9 vinh long", VL, "Phường Long Châu", ("Phường 9",), (0.7, 0.9)),
    (
        "vl",
        "Phường 5 TP Vĩnh Long",
        VL,
        "Phường Thanh Đức",
        ("Phường 5", "Thành phố Vĩnh Long"),
        (0.9, 1.0),
    ),
    (
        "vl",
        "tp vinh long p5",
        VL,
        "Phường Thanh Đức",
        ("Phường 5", "Thành phố Vĩnh Long"),
        (0.9, 1.0),
    ),
    (
        "vl",
        "X. Long Mỹ huyện Mang Thít",
        VL,
        "Xã Bình Phước",
        ("Xã Long Mỹ", "Huyện Mang Thít"),
        (0.9, 1.0),
    ),
    (
        "vl",
        "xa long my huyen mang thit",
        VL,
        "Xã Bình Phước",
        ("Xã Long Mỹ", "Huyện Mang Thít"),
        (0.9, 1.0),
    ),
    (
        "vl",
        "Xã Long Mỹ, huyện Giồng Trôm, tỉnh Bến Tre",
        VL,
        "Xã Phước Long",
        ("Xã Long Mỹ", "Huyện Giồng Trôm", "Tỉnh Bến Tre"),
        (0.9, 1.0),
    ),
    ("vl", "xa long my ben tre", VL, "Xã Phước Long", ("Xã Long Mỹ", "Tỉnh Bến Tre"), (0.85, 1.0)),
    ("vl", "TT Cái Nhum", VL, "Xã Cái Nhum", ("Thị trấn Cái Nhum",), (0.8, 0.9)),
    ("vl", "xã Cái Nhum, huyện Mang Thít", VL, "Xã Cái Nhum", ("Huyện Mang Thít",), (0.9, 1.0)),
    (
        "vl",
        "xã Thanh Đức huyện Long Hồ",
        VL,
        "Phường Thanh Đức",
        ("Xã Thanh Đức", "Huyện Long Hồ"),
        (0.9, 1.0),
    ),
    ("vl", "Phường Long Châu", VL, "Phường Long Châu", (), (0.8, 0.9)),
    ("vl", "phuong long chau", VL, "Phường Long Châu", (), (0.8, 0.9)),
    (
        "vl",
        "phường Tân Ngãi TP Vĩnh Long",
        VL,
        "Phường Tân Ngãi",
        ("Thành phố Vĩnh Long",),
        (0.9, 1.0),
    ),
    (
        "vl",
        "Phường 3, TP Trà Vinh",
        VL,
        "Phường Trà Vinh",
        ("Phường 3", "Thành phố Trà Vinh"),
        (0.9, 1.0),
    ),
    (
        "vl",
        "phường 8 tp bến tre",
        VL,
        "Phường Phú Khương",
        ("Phường 8", "Thành phố Bến Tre"),
        (0.9, 1.0),
    ),
    # Phường 1 of Bến Tre city was merged into An Hội before the reform (an alias).
    ("vl", "phường 1 Bến Tre", VL, "Phường An Hội", ("Tỉnh Bến Tre",), (0.85, 1.0)),
    (
        "vl",
        "xã Đông Thạnh thị xã Bình Minh",
        VL,
        "Phường Đông Thành",
        ("Xã Đông Thạnh", "Thị xã Bình Minh"),
        (0.9, 1.0),
    ),
    (
        "vl",
        "xã Đông Thành thị xã Bình Minh",
        VL,
        "Phường Đông Thành",
        ("Xã Đông Thành", "Thị xã Bình Minh"),
        (0.9, 1.0),
    ),
    # New name, but old Phường Cái Vồn (split) also matches: a little less sure.
    ("vl", "phường Cái Vồn", VL, "Phường Cái Vồn", (), (0.7, 0.85)),
    ("vl", "45 Nguyễn Huệ, Long Châu, Vĩnh Long", VL, "Phường Long Châu", (), (0.6, 0.8)),
    # Province or old district only: province known, no commune, confidence capped at 0.5.
    ("vl", "huyện Mang Thít", VL, None, ("Huyện Mang Thít",), (0.4, 0.5)),
    ("vl", "thị xã Bình Minh", VL, None, ("Thị xã Bình Minh",), (0.4, 0.5)),
    ("vl", "tp vinh long", VL, None, ("Thành phố Vĩnh Long",), (0.4, 0.5)),
    ("vl", "tỉnh Vĩnh Long", VL, None, (), (0.5, 0.5)),
    ("vl", "ở Cần Thơ", CT, None, (), (0.5, 0.5)),
    ("vl", "tỉnh Hậu Giang", CT, None, ("Tỉnh Hậu Giang",), (0.5, 0.5)),
    ("vl", "Bến Tre", VL, None, ("Tỉnh Bến Tre",), (0.5, 0.5)),
    ("vl", "ở Trà Vinh", VL, None, ("Tỉnh Trà Vinh",), (0.5, 0.5)),
    ("vl", "TP.HCM", HCM, None, (), (0.5, 0.5)),
    ("none", "sài gòn", HCM, None, (), (0.5, 0.5)),
    ("vl", "tỉnh Hòa Bình", "25", None, ("Tỉnh Hòa Bình",), (0.5, 0.5)),
    ("vl", "Q3 TP.HCM", HCM, None, ("Quận 3",), (0.4, 0.5)),
    ("vl", "nhà tôi ở quận Bình Thạnh TP HCM", HCM, None, ("Quận Bình Thạnh",), (0.4, 0.5)),
    ("vl", "huyện Châu Thành", VL, None, ("Huyện Châu Thành",), (0.3, 0.45)),  # BT and TV
    # Nationwide deployments.
    (
        "nw",
        "phường 12 quận Gò Vấp",
        HCM,
        "Phường An Hội Tây",
        ("Phường 12", "Quận Gò Vấp"),
        (0.9, 1.0),
    ),
    (
        "nw",
        "Phường Bến Nghé Quận 1",
        HCM,
        "Phường Sài Gòn",
        ("Phường Bến Nghé", "Quận 1"),
        (0.9, 1.0),
    ),
    ("vl", "Huyện Côn Đảo", HCM, "Đặc khu Côn Đảo", ("Huyện Côn Đảo",), (0.4, 0.6)),
    # Split wards: the mapping's default target, with a lower confidence.
    (
        "nw",
        "xã Tân Thạnh huyện Thới Lai Cần Thơ",
        CT,
        "Xã Trường Thành",
        ("Xã Tân Thạnh", "Huyện Thới Lai"),
        (0.5, 0.7),
    ),
    (
        "vl",
        "thị xã Bình Minh phường Cái Vồn",
        VL,
        "Phường Bình Minh",
        ("Phường Cái Vồn", "Thị xã Bình Minh"),
        (0.5, 0.7),
    ),
]


@pytest.mark.parametrize(("mode", "text", "province", "commune", "old", "conf"), RESOLVE_CASES)
def test_resolves_to_new_units(
    locators: dict[str, Locator],
    gaz: Gazetteer,
    mode: str,
    text: str,
    province: str,
    commune: str | None,
    old: tuple[str, ...],
    conf: tuple[float, float],
) -> None:
    loc = locators[mode].find(text)
    assert loc is not None
    assert loc.province_code == province
    assert loc.province == gaz.provinces[province].name
    assert loc.commune == commune
    if commune is not None:
        assert loc.commune_code is not None
        assert gaz.communes[loc.commune_code].name == commune
        assert gaz.communes[loc.commune_code].province_code == province
    else:
        assert loc.commune_code is None
    assert loc.old_names == old
    assert conf[0] <= loc.confidence <= conf[1], loc


MORE_CASES = [
    ("vl", "Phường 9 Quận 3 TP Hồ Chí Minh", HCM, "Phường Nhiêu Lộc", ("Phường 9", "Quận 3")),
    (
        "nw",
        "phường Tăng Nhơn Phú A quận 9",
        HCM,
        "Phường Tăng Nhơn Phú",
        ("Phường Tăng Nhơn Phú A", "Thành phố Thủ Đức"),
    ),  # Quận 9: merged into Thủ Đức in 2021
    (
        "vl",
        "Kiến nghị sửa đường tại Ấp Phú Thạnh, Xã Long Mỹ, Huyện Mang Thít, Tỉnh Vĩnh Long",
        VL,
        "Xã Bình Phước",
        ("Xã Long Mỹ", "Huyện Mang Thít"),
    ),
    ("vl", "Long Mỹ, Mang Thít", VL, "Xã Bình Phước", ("Xã Long Mỹ", "Huyện Mang Thít")),
    ("vl", "TT Huế", "46", None, ()),
    ("vl", "Sóc Trăng", CT, None, ("Tỉnh Sóc Trăng",)),
    # Unaccented and without commas: "thanh pho" must not be eaten by a ward name.
    (
        "nw",
        "phuong tan hoa thanh pho hoa binh tinh hoa binh",
        "25",
        "Phường Tân Hòa",
        ("Thành phố Hòa Bình", "Tỉnh Hòa Bình"),
    ),
    # A writer using diacritics means "Thanh An", not "Thạnh An" (both exist in HCM).
    ("none", "Xã Thanh An, TP.HCM", HCM, "Xã Thanh An", ()),
]


@pytest.mark.parametrize(("mode", "text", "province", "commune", "old"), MORE_CASES)
def test_more_addresses(
    locators: dict[str, Locator],
    mode: str,
    text: str,
    province: str,
    commune: str | None,
    old: tuple[str, ...],
) -> None:
    loc = locators[mode].find(text)
    assert loc is not None
    assert (loc.province_code, loc.commune, loc.old_names) == (province, commune, old)


def test_a_street_named_like_a_commune_is_not_a_commune(locators: dict[str, Locator]) -> None:
    loc = locators["vl"].find("Nguyễn Văn Thảnh, phường 9")  # also a commune in Bình Tân
    assert loc is not None
    assert loc.commune == "Phường Long Châu" and loc.old_names == ("Phường 9",)


def test_conflicting_province_lowers_confidence(locators: dict[str, Locator]) -> None:
    loc = locators["vl"].find("phường Long Châu, Cần Thơ")  # Long Châu is in Vĩnh Long
    assert loc is not None
    assert loc.confidence < 0.5


def test_every_old_ward_of_the_deployment_resolves(
    gaz: Gazetteer, locators: dict[str, Locator]
) -> None:
    """Full old addresses ("Phường 9, Thành phố Vĩnh Long, Tỉnh Vĩnh Long") in the data."""
    wrong = []
    for ward in gaz.old_wards.values():
        if ward.province_code != VL:
            continue
        district = gaz.old_districts[ward.district_code]
        text = f"{ward.name}, {district.name}, {gaz.old_provinces[ward.old_province_code].name}"
        loc = locators["vl"].find(text)
        if loc is None or loc.commune_code != ward.targets[0]:
            wrong.append(text)
    assert wrong == []


def test_every_new_commune_name_resolves_in_its_province(gaz: Gazetteer) -> None:
    wrong = []
    for code in ("86", "92", "79", "01"):
        locator = Locator(gaz, province_code=code)
        for commune in gaz.communes.values():
            if commune.province_code == code:
                loc = locator.find(commune.name)
                if loc is None or loc.commune_code != commune.code:
                    wrong.append(commune.name)
    assert wrong == []


def test_nationwide_sample_of_old_addresses(gaz: Gazetteer, locators: dict[str, Locator]) -> None:
    wards = list(gaz.old_wards.values())[::20]
    hits = 0
    for ward in wards:
        district = gaz.old_districts[ward.district_code]
        province = gaz.old_provinces[ward.old_province_code]
        loc = locators["nw"].find(f"{ward.name} {district.name} {province.name}")
        hits += loc is not None and loc.commune_code == ward.targets[0]
    assert hits / len(wards) > 0.99
