"""The address detail (street, hamlet, landmark) left once the unit names are taken out."""

from __future__ import annotations

import pytest

from nlu.location import Locator

# text, detail, commune name (None when no commune is expected)
DETAIL_CASES = [
    (
        "Đèn đường hẻm 12 Nguyễn Trãi phường 3 bị tắt cả tuần nay",
        "hẻm 12 Nguyễn Trãi",
        "Phường Phước Hậu",
    ),
    (
        "den duong hem 12 nguyen trai phuong 3 bi tat ca tuan nay",
        "hem 12 nguyen trai",
        "Phường Phước Hậu",
    ),
    ("gần chợ Long Hồ mặt đường bị lún", "gần chợ Long Hồ", None),
    ("km 15 QL1A bị sạt lở", "km 15 QL1A", None),
    ("số 45 đường 3/2 phường 1 Vĩnh Long", "số 45 đường 3/2", "Phường Long Châu"),
    ("ấp Phú Thạnh xã Long Mỹ huyện Mang Thít", "ấp Phú Thạnh", "Xã Bình Phước"),
    ("Cây đổ ở khu phố 3, phường 1, TP Vĩnh Long", "khu phố 3", "Phường Long Châu"),
    ("nước ngập đường Trần Phú khóm 2 phường 4", "đường Trần Phú khóm 2", "Phường Phước Hậu"),
    ("trước nhà số 12 hẻm 34", "trước nhà số 12 hẻm 34", None),
    ("tổ chức họp dân tại nhà văn hóa ấp 3", "nhà văn hóa ấp 3", None),
    (
        "Ổ gà trên đường Phạm Thái Bường, gần chợ Long Hồ, rất nguy hiểm",
        "đường Phạm Thái Bường, gần chợ Long Hồ",
        None,
    ),
    ("45 Nguyễn Huệ, Long Châu, Vĩnh Long", "45 Nguyễn Huệ", "Phường Long Châu"),
    ("đường Hậu Giang bị ngập", "đường Hậu Giang", None),  # a street, not the old province
]


@pytest.mark.parametrize(("text", "detail", "commune"), DETAIL_CASES)
def test_detail_is_the_address_without_units(
    locators: dict[str, Locator], text: str, detail: str, commune: str | None
) -> None:
    loc = locators["vl"].find(text)
    assert loc is not None
    assert loc.detail == detail
    assert loc.commune == commune
    assert loc.found


def test_raw_keeps_the_citizens_words(locators: dict[str, Locator]) -> None:
    loc = locators["vl"].find("Đèn đường hẻm 12 Nguyễn Trãi phường 3 bị tắt cả tuần nay")
    assert loc is not None
    assert loc.raw == "hẻm 12 Nguyễn Trãi phường 3"
    assert loc.old_names == ("Phường 3",)
