"""Shared by the place-mention tests (tests/nlu/test_location_*.py): codes and locators.

Deployment province for most cases: Vĩnh Long (code 86), which absorbed Bến
Tre (83) and Trà Vinh (84) on 2025-07-01. Expected codes and names come from
the shipped data (vietnamadminunits 1.0.4).
"""

from __future__ import annotations

import pytest

from nlu.gazetteer import Gazetteer, load_gazetteer
from nlu.location import Locator

VL, CT, HCM = "86", "92", "79"
HN, DN, KH, LD, DT, AG, DNAI = "01", "48", "56", "68", "82", "91", "75"


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return load_gazetteer()


@pytest.fixture(scope="module")
def locators(gaz: Gazetteer) -> dict[str, Locator]:
    return {
        "vl": Locator(gaz, province_code=VL),
        "nw": Locator(gaz, province_code=VL, nationwide=True),
        "none": Locator(gaz),
    }
