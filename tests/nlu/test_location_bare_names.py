"""Old districts, towns and cities named without a unit word, and look-alikes that are not."""

from __future__ import annotations

import pytest

from nlu.location import Locator
from tests.nlu.conftest import AG, CT, DN, DNAI, DT, HCM, HN, KH, LD, VL

# Old districts, towns and cities named bare: the province (the commune when the
# name pins it), less sure outside the deployment province than inside it.
# mode, text, province code, new commune name, old names, confidence range
BARE_CASES = [
    (
        "vl",
        "Giờ tan học trên đường Lê Văn Sỹ, Phú Nhuận, xe đậu hai lớp",
        HCM,
        None,
        ("Quận Phú Nhuận",),
        (0.15, 0.3),
    ),
    (
        "nw",
        "Giờ tan học trên đường Lê Văn Sỹ, Phú Nhuận, xe đậu hai lớp",
        HCM,
        None,
        ("Quận Phú Nhuận",),
        (0.25, 0.4),
    ),
    (
        "vl",
        "Tường rào đổ trên đường Hoàng Quốc Việt, Cầu Giấy",
        HN,
        None,
        ("Quận Cầu Giấy",),
        (0.15, 0.3),
    ),
    ("vl", "Nắp cống đường Mậu Thân, Ninh Kiều bị vỡ", CT, None, ("Quận Ninh Kiều",), (0.15, 0.3)),
    (
        "vl",
        "Công trình ở khu An Thượng, Ngũ Hành Sơn",
        DN,
        None,
        ("Quận Ngũ Hành Sơn",),
        (0.15, 0.3),
    ),
    ("vl", "Gió lốc làm sập nhà xưởng ở Hóc Môn", HCM, None, ("Huyện Hóc Môn",), (0.15, 0.3)),
    (
        "vl",
        "Phòng trọ ở Thủ Dầu Một xây thêm tầng",
        HCM,
        None,
        ("Thành phố Thủ Dầu Một",),
        (0.15, 0.3),
    ),
    ("vl", "Em trọ ở Dĩ An, chủ trọ giữ giấy tờ", HCM, None, ("Thành phố Dĩ An",), (0.15, 0.3)),
    (
        "vl",
        "Vịt chết trên kênh Xà No đoạn qua Vị Thanh",
        CT,
        None,
        ("Thành phố Vị Thanh",),
        (0.15, 0.3),
    ),
    ("vl", "Nhà cổ ở phố cổ Hội An sụp mái", DN, None, ("Thành phố Hội An",), (0.15, 0.3)),
    (
        "vl",
        "Cải tạo chợ Châu Đốc thi công ban đêm",
        AG,
        None,
        ("Thành phố Châu Đốc",),
        (0.15, 0.25),
    ),
    (
        "vl",
        "Quán lẩu đường Trần Phú Nha Trang lấn vỉa hè",
        KH,
        None,
        ("Thành phố Nha Trang",),
        (0.15, 0.3),
    ),
    ("vl", "Đồi thông ở Đà Lạt bị phá", LD, None, ("Thành phố Đà Lạt",), (0.15, 0.3)),
    ("vl", "Đèo Bảo Lộc sạt taluy", LD, None, ("Thành phố Bảo Lộc",), (0.15, 0.3)),
    ("vl", "Trường THCS ở Cái Bè thu tiền đồng phục", DT, None, ("Huyện Cái Bè",), (0.15, 0.3)),
    ("vl", "Cửa hàng điện thoại ở Vinh bán máy cũ", "40", None, ("Thành phố Vinh",), (0.15, 0.3)),
    # In the deployment province: surer.
    ("vl", "Ổ gà trên QL53 đoạn qua Long Hồ", VL, None, ("Huyện Long Hồ",), (0.3, 0.45)),
    ("vl", "Hạn mặn ở Thạnh Phú năm nay nặng", VL, None, ("Huyện Thạnh Phú",), (0.3, 0.45)),
    # Without diacritics, and without capitals (then only after a word like "ở", "qua").
    ("vl", "Co so rua xe o Hoc Mon xa nuoc thai", HCM, None, ("Huyện Hóc Môn",), (0.15, 0.3)),
    (
        "vl",
        "Quan lau duong Tran Phu Nha Trang lan via he",
        KH,
        None,
        ("Thành phố Nha Trang",),
        (0.15, 0.3),
    ),
    ("vl", "cay do o hoc mon", HCM, None, ("Huyện Hóc Môn",), (0.15, 0.25)),
    ("vl", "ngập ở thủ dầu một", HCM, None, ("Thành phố Thủ Dầu Một",), (0.15, 0.25)),
    ("vl", "den duong tren ql91 doan qua thot not tat", CT, None, ("Quận Thốt Nốt",), (0.15, 0.25)),
    ("vl", "rac o mang thit lau qua", VL, None, ("Huyện Mang Thít",), (0.25, 0.4)),
    # The name pins the commune: a special zone, a ward named in a landmark.
    (
        "vl",
        "Hàng cây trên đường Trần Hưng Đạo Phú Quốc bị nghiêng",
        AG,
        "Đặc khu Phú Quốc",
        (),
        (0.35, 0.5),
    ),
    (
        "vl",
        "Tôi đánh rơi hộ chiếu ở sân bay Tân Sơn Nhất",
        HCM,
        "Phường Tân Sơn Nhất",
        (),
        (0.25, 0.4),
    ),
    ("vl", "Bãi giữ xe trước chợ Bến Thành thu tiền", HCM, "Phường Bến Thành", (), (0.25, 0.4)),
    (
        "nw",
        "Cháy xưởng may trong KCN Trà Nóc",
        CT,
        "Phường Thới An Đông",
        ("Phường Trà Nóc",),
        (0.5, 0.65),
    ),
    (
        "vl",
        "ở Láng Hạ, Đống Đa",
        HN,
        "Phường Láng",
        ("Phường Láng Hạ", "Quận Đống Đa"),
        (0.5, 0.65),
    ),
    ("vl", "P.9 Phú Nhuận", HCM, "Phường Đức Nhuận", ("Phường 9", "Quận Phú Nhuận"), (0.9, 1.0)),
    # A name found in several provinces: the deployment's, a little less sure...
    ("vl", "Nước ngập ở Tân Phú", VL, "Xã Tân Phú", (), (0.45, 0.6)),
    ("vl", "Nước ngập ở Bình Tân", VL, None, ("Huyện Bình Tân",), (0.3, 0.45)),
    ("vl", "Nước ngập ở Hòa Bình", VL, "Xã Hòa Bình", (), (0.45, 0.6)),
    # ... or the province the text names.
    (
        "vl",
        "Nước ngập ở Phú Nhuận, Bến Tre",
        VL,
        "Phường An Hội",
        ("Xã Phú Nhuận", "Tỉnh Bến Tre"),
        (0.7, 0.85),
    ),
    ("vl", "Nước ngập ở Tân Phú, Đồng Nai", DNAI, None, ("Huyện Tân Phú",), (0.3, 0.45)),
]


@pytest.mark.parametrize(("mode", "text", "province", "commune", "old", "conf"), BARE_CASES)
def test_names_without_a_unit_word(
    locators: dict[str, Locator],
    mode: str,
    text: str,
    province: str,
    commune: str | None,
    old: tuple[str, ...],
    conf: tuple[float, float],
) -> None:
    loc = locators[mode].find(text)
    assert loc is not None
    assert (loc.province_code, loc.commune, loc.old_names) == (province, commune, old)
    assert conf[0] <= loc.confidence <= conf[1], loc


def test_bare_district_elsewhere_is_less_sure_than_at_home(locators: dict[str, Locator]) -> None:
    home = locators["vl"].find("Ổ gà trên QL53 đoạn qua Long Hồ")
    away = locators["vl"].find("Ổ gà trên QL1A đoạn qua Hóc Môn")
    prefixed = locators["vl"].find("Ổ gà trên QL1A đoạn qua huyện Hóc Môn")
    assert home is not None and away is not None and prefixed is not None
    assert away.confidence < home.confidence
    assert away.confidence < prefixed.confidence
    assert away.note == "Địa danh nằm ngoài tỉnh triển khai."


@pytest.mark.parametrize("text", ["Nước ngập ở Tân Phú", "Nước ngập ở Châu Thành"])
def test_bare_name_of_several_provinces_without_deployment_guesses_nothing(
    locators: dict[str, Locator], text: str
) -> None:
    loc = locators["none"].find(text)
    assert loc is not None
    assert (loc.province_code, loc.commune_code) == (None, None)
    assert loc.confidence <= 0.15


@pytest.mark.parametrize(
    ("text", "detail", "province"),
    [
        ("Bãi giữ xe trước chợ Bến Thành thu tiền", "trước chợ Bến Thành", HCM),
        ("gần chợ Long Hồ mặt đường bị lún", "gần chợ Long Hồ", VL),
        ("Quán lẩu đường Trần Phú Nha Trang lấn vỉa hè", "đường Trần Phú", KH),
        ("Sạt lở ở Hóc Môn", None, HCM),
    ],
)
def test_landmark_names_stay_in_the_detail(
    locators: dict[str, Locator], text: str, detail: str | None, province: str
) -> None:
    loc = locators["vl"].find(text)
    assert loc is not None
    assert (loc.detail, loc.province_code) == (detail, province)


# Ordinary words, person, street and business names that look like unit names.
NOT_A_BARE_PLACE = [
    "bình minh hôm nay trời đẹp",
    "Bình minh hôm nay trời đẹp",
    "binh minh hom nay troi dep",
    "hòa bình",
    "mọi người sống hòa bình với nhau",
    "moi nguoi song hoa binh voi nhau",
    "chúng tôi thống nhất ý kiến",
    "chung toi thong nhat y kien",
    "Hội nghị đã Thống Nhất ý kiến",
    "cây xanh ở tân phú quá",
    "nha toi o tan phu",
    "Tân Phú hôm nay mưa to",
    "sáng nay đi ăn ở quán",
    "em di an com o quan",
    "xin gửi văn bản",
    "don duong giup voi",
    "yeu cau giay xac nhan",
    "can bo kiem tra cu tru",
    "con toi uong bi dau bung",
    "Anh Vinh đến nhà tôi đòi nợ",
    "Nguyễn Văn Giang 45 tuổi bị đánh",
    "Kinh gui Chu tich UBND",
    "Tiệm vàng Phú Quý bán vàng non",
    "Khách sạn Hòa Bình",
    "Hải Châu Tower bị cháy",
    "Nhà số 45 Điện Biên Phủ bị nứt",
    "Sổ hồng chung cư Him Lam chờ 5 năm",
    "Nhiều hộ ven kênh Tân Hóa lấn chiếm",
    # Without capitals only district names count: not "Tân Sơn" (Phú Thọ) in Tân Sơn Nhất.
    "tôi đánh rơi hộ chiếu ở sân bay tân sơn nhất",
]


@pytest.mark.parametrize("text", NOT_A_BARE_PLACE)
def test_look_alikes_are_not_places(locators: dict[str, Locator], text: str) -> None:
    loc = locators["vl"].find(text)
    assert loc is None or (loc.province_code, loc.commune_code) == (None, None), loc
