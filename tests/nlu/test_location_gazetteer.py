"""The gazetteer: coverage of the 2025 reform, province names, folding helpers."""

from __future__ import annotations

import pytest

from nlu.gazetteer import Gazetteer, accents_conflict, fold, load_gazetteer, name_key
from nlu.location import Locator
from tests.nlu.conftest import CT, HCM, VL


def test_gazetteer_covers_the_reform(gaz: Gazetteer) -> None:
    assert len(gaz.provinces) == 34
    assert len(gaz.communes) == 3321
    assert len(gaz.old_provinces) == 63
    assert gaz.provinces[VL].name == "Tỉnh Vĩnh Long"
    assert {o.short for o in gaz.old_provinces.values() if o.province_code == VL} == {
        "Vĩnh Long",
        "Bến Tre",
        "Trà Vinh",
    }
    assert all(t in gaz.communes for w in gaz.old_wards.values() for t in w.targets)
    assert load_gazetteer() is gaz  # built once


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Tỉnh Vĩnh Long", VL),
        ("vinh long", VL),
        ("Bến Tre", VL),
        ("tra vinh", VL),
        ("TP.HCM", HCM),
        ("HCM", HCM),
        ("tphcm", HCM),
        ("Sài Gòn", HCM),
        ("Bình Dương", HCM),
        ("tỉnh Hậu Giang", CT),
        ("Thành phố Cần Thơ", CT),
        ("Thừa Thiên Huế", "46"),
        ("daklak", "66"),
        ("Hà Nội", "01"),
        ("BRVT", HCM),
    ],
)
def test_province_by_name(gaz: Gazetteer, name: str, code: str) -> None:
    province = gaz.province_by_name(name)
    assert province is not None and province.code == code


@pytest.mark.parametrize("name", ["", "xyz", "phường 9", "🙂"])
def test_province_by_name_unknown(gaz: Gazetteer, name: str) -> None:
    assert gaz.province_by_name(name) is None


def test_folding_helpers() -> None:
    text = "Đường Nguyễn Trãi, P.9"
    assert len(fold(text)) == len(text)
    assert fold(text) == "duong nguyen trai, p.9"
    assert name_key("Phường 09") == "phuong9"
    assert accents_conflict("quần", "quận")
    assert not accents_conflict("quan", "quận")
    assert not accents_conflict("Hoà", "Hòa")  # tone placement does not matter
    assert accents_conflict("Đông Thạnh", "Đông Thành")


def test_unknown_deployment_province_is_refused(gaz: Gazetteer) -> None:
    with pytest.raises(ValueError):
        Locator(gaz, province_code="83")  # Bến Tre no longer exists
