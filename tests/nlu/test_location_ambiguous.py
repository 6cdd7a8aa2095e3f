"""Old ward names found in several places: split wards, ambiguous numbers, other provinces."""

from __future__ import annotations

from nlu.location import Locator
from tests.nlu.conftest import HCM, VL


def test_split_ward_says_so(locators: dict[str, Locator]) -> None:
    loc = locators["vl"].find("thị xã Bình Minh phường Cái Vồn")
    assert loc is not None and loc.note is not None
    assert "mặc định" in loc.note


# Ambiguous old ward names: "phường 1" existed in many towns.
def test_ambiguous_ward_prefers_deployment_but_not_confidently(
    locators: dict[str, Locator],
) -> None:
    loc = locators["vl"].find("phường 1")
    assert loc is not None
    # Tie broken by the old province whose code the new one kept (old Vĩnh Long = 86).
    assert (loc.province_code, loc.commune) == (VL, "Phường Long Châu")
    assert loc.confidence <= 0.5
    assert loc.note is not None and "Trà Vinh" in loc.note


def test_ambiguous_ward_nationwide_is_less_sure(locators: dict[str, Locator]) -> None:
    local = locators["vl"].find("phường 1")
    wide = locators["nw"].find("phường 1")
    assert local is not None and wide is not None
    assert wide.commune == "Phường Long Châu"
    assert wide.confidence < local.confidence


def test_ambiguous_ward_without_deployment_guesses_nothing(locators: dict[str, Locator]) -> None:
    loc = locators["none"].find("phường 1")
    assert loc is not None
    assert (loc.province_code, loc.commune_code) == (None, None)
    assert loc.confidence <= 0.15
    assert loc.note is not None and "nhiều nơi" in loc.note


def test_still_ambiguous_returns_province_only(locators: dict[str, Locator]) -> None:
    loc = locators["vl"].find("phường 7")  # Bến Tre city and Trà Vinh city, none in old VL
    assert loc is not None
    assert (loc.province_code, loc.commune_code) == (VL, None)
    assert loc.confidence <= 0.4
    assert loc.note is not None and "Bến Tre" in loc.note and "Trà Vinh" in loc.note


def test_ward_outside_deployment_is_flagged(locators: dict[str, Locator]) -> None:
    loc = locators["vl"].find("quận 3")
    assert loc is not None and loc.province_code == HCM
    assert loc.confidence < 0.3
    assert loc.note == "Địa danh nằm ngoài tỉnh triển khai."
