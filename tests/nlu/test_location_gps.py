"""GPS points -> the nearest commune, or nothing outside the data."""

from __future__ import annotations

import math

import pytest

from nlu.location import Locator
from tests.nlu.conftest import VL


def test_locate_point_nearest_commune(locators: dict[str, Locator]) -> None:
    loc = locators["vl"].locate_point(10.2541, 105.946)
    assert (loc.province_code, loc.commune) == (VL, "Phường Long Châu")
    assert (loc.lat, loc.lon) == (10.2541, 105.946)
    assert 0.3 <= loc.confidence <= 0.6
    assert loc.note is not None and "gần nhất" in loc.note


@pytest.mark.parametrize(("lat", "lon"), [(0.0, 0.0), (48.85, 2.35), (math.nan, 106.0)])
def test_locate_point_outside_data(locators: dict[str, Locator], lat: float, lon: float) -> None:
    loc = locators["vl"].locate_point(lat, lon)
    assert loc.commune_code is None and loc.province_code is None
    assert loc.confidence <= 0.1
    assert loc.note == "Chưa có dữ liệu tọa độ để xác định xã/phường từ vị trí GPS."
    assert loc.found  # the coordinates themselves are kept
