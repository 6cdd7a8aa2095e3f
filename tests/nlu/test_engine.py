"""The engine end to end: what the bot and staff notice about each message.

Uses the session `nlu` fixture (tests/conftest.py), trained on the real
nlu/data into a temporary directory.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu import Nlu, load_nlu
from nlu.normalize import strip_diacritics
from nlu.types import (
    INTENT_ADD_INFO,
    INTENT_CANCEL,
    INTENT_GREET,
    INTENT_REPORT,
    INTENT_STATUS,
    INTENT_THANKS,
    INTENT_UNKNOWN,
)

CATEGORY_CASES = [
    ("đường không có đèn", "dien_chieu_sang"),
    ("duong ko co den", "dien_chieu_sang"),
    ("Đèn đường trước nhà số 12 hư mấy hôm nay, tối đi rất sợ", "dien_chieu_sang"),
    ("ổ gà lớn giữa đường Nguyễn Trãi, xe máy té liên tục", "giao_thong"),
    ("o ga to giua duong Nguyen Trai, xe may te lien tuc", "giao_thong"),
    ("Rác thải đổ bừa bãi đầu hẻm, bốc mùi hôi thối", "moi_truong"),
    ("rac thai do bua bai dau hem boc mui hoi thoi", "moi_truong"),
    ("cống nghẹt, nước thải tràn ra đường mỗi khi mưa", "cap_thoat_nuoc"),
    ("mất nước sinh hoạt 3 ngày nay", "cap_thoat_nuoc"),
    ("Cây xanh nghiêng sắp đổ, cành khô rơi xuống đường", "cay_xanh"),
    ("Nhà bên cạnh xây dựng không phép, đã lên tới tầng 4", "xay_dung"),
    ("quán cà phê lấn chiếm vỉa hè, người đi bộ phải đi xuống lòng đường", "trat_tu_do_thi"),
    ("Nhóm thanh niên tụ tập đua xe, lạng lách mỗi tối", "an_ninh_trat_tu"),
    ("cán bộ phường hẹn tới hẹn lui không giải quyết hồ sơ", "hanh_chinh"),
]


@pytest.mark.parametrize(("text", "category"), CATEGORY_CASES)
def test_reports_get_the_right_category(nlu: Nlu, text: str, category: str) -> None:
    result = nlu.understand(text)
    assert result.category == category, result.candidates
    assert category in [c.category for c in result.candidates]


def test_candidates_are_top_three_calibrated(nlu: Nlu) -> None:
    result = nlu.understand("đèn đường hư, hẻm tối om")
    assert len(result.candidates) == 3
    scores = [c.score for c in result.candidates]
    assert scores == sorted(scores, reverse=True)
    assert 0.0 < sum(scores) <= 1.0 + 1e-6
    assert result.category_sure is (scores[0] >= nlu.category_threshold)


@pytest.mark.parametrize("text", ["ok", "1", "xin chào", "cảm ơn ad"])
def test_dialogue_turns_are_never_sure_of_a_category(nlu: Nlu, text: str) -> None:
    assert not nlu.understand(text).category_sure


@pytest.mark.parametrize(
    "text",
    [
        "cháy nhà",
        "chay nha roi cuu voi",
        "Cháy lớn ở chợ, khói đen mù mịt",
        "dây điện bị đứt rơi xuống đường, đang xẹt lửa",
        "day dien dut roi xuong duong",
        "hố ga mất nắp giữa đường, xe máy lọt xuống",
        "sạt lở đất vùi 2 căn nhà",
        "vừa xảy ra tai nạn, có người bị thương nặng",
        "nước ngập tới ngực, mấy gia đình mắc kẹt trên mái nhà",
        "nha sap roi, co nguoi ben trong",
    ],
)
def test_dangers_are_urgent(nlu: Nlu, text: str) -> None:
    result = nlu.understand(text)
    assert result.urgent, text
    assert result.urgent_reasons


@pytest.mark.parametrize(
    "text",
    [
        "đèn đường tắt mấy hôm nay",
        "rác không ai dọn, bốc mùi",
        "xin hỏi thủ tục cấp giấy phép xây dựng",
        "nhà tôi sắp xây xong",
    ],
)
def test_everyday_problems_are_not_urgent(nlu: Nlu, text: str) -> None:
    assert not nlu.understand(text).urgent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("xin chào", INTENT_GREET),
        ("chao ad", INTENT_GREET),
        ("cảm ơn nhiều", INTENT_THANKS),
        ("tks ad", INTENT_THANKS),
        ("202507150012", INTENT_STATUS),
        ("tra cứu 202507150012", INTENT_STATUS),
        ("mã 20250715-0012 xử lý tới đâu rồi", INTENT_STATUS),
        ("bổ sung ảnh cho phản ánh 202507150012", INTENT_ADD_INFO),
        ("thôi hủy phản ánh giúp tôi", INTENT_CANCEL),
        ("tôi muốn phản ánh", INTENT_REPORT),
        (
            "Hẻm 12 Nguyễn Trãi có ổ gà lớn, tối qua có người đi xe máy bị té, "
            "đề nghị phường cho người xuống xem",
            INTENT_REPORT,
        ),
        ("", INTENT_UNKNOWN),
        ("😀😀😀", INTENT_UNKNOWN),
    ],
)
def test_intents(nlu: Nlu, text: str, intent: str) -> None:
    assert nlu.understand(text).intent == intent


def test_entities_and_masking(nlu: Nlu) -> None:
    result = nlu.understand("Tôi tên là Lê Văn Tám, sđt 0912 345 678, CCCD 079203004567")
    assert result.entities.phones == ("+84912345678",)
    assert result.entities.id_numbers == ("079203004567",)
    assert result.entities.person_name == "Lê Văn Tám"
    assert "0912" not in result.masked and "079203004567" not in result.masked
    assert "[phone]" in result.masked


def test_result_keeps_text_and_gives_normalized_and_key(nlu: Nlu) -> None:
    result = nlu.understand("Đèn đường ko sáng 😡")
    assert result.text == "Đèn đường ko sáng 😡"
    assert result.normalized == "Đèn đường không sáng"
    assert result.key == "den duong khong sang"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "🔥" * 50,
        "ngập " * 10_000,
        "'; DROP TABLE reports; --",
        "<script>alert('x')</script>",
        "Đường 渋谷 ngập Москва",
        "\x00\x01\u200b",
    ],
)
def test_bad_input_gives_a_defined_result(nlu: Nlu, text: str) -> None:
    result = nlu.understand(text)
    assert result.text == text
    assert isinstance(result.urgent, bool)
    assert len(result.candidates) <= 3


def test_same_answer_with_and_without_diacritics(nlu: Nlu) -> None:
    text = "Cống thoát nước bị nghẹt, nước thải tràn lên mặt đường bốc mùi"
    assert nlu.understand(strip_diacritics(text)).category == nlu.understand(text).category


def test_locate_point_always_answers(nlu: Nlu) -> None:
    place = nlu.locate_point(10.2536, 105.9722)
    assert place.lat == pytest.approx(10.2536) and place.lon == pytest.approx(105.9722)


def test_model_is_reused_then_retrained_when_data_changes(tmp_path: Path) -> None:
    categories = ["giao_thong", "moi_truong"]
    first = load_nlu(categories=categories, model_dir=tmp_path, with_locator=False)
    folders = [p for p in tmp_path.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(folders) == 1
    stamp = (folders[0] / "manifest.json").stat().st_mtime_ns
    again = load_nlu(categories=categories, model_dir=tmp_path, with_locator=False)
    assert (folders[0] / "manifest.json").stat().st_mtime_ns == stamp  # loaded, not trained
    assert again.models.fingerprint == first.models.fingerprint
    assert {c.category for c in again.understand("ổ gà giữa đường").candidates} <= set(categories)

    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "ngap.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: giao_thong\n  examples: |\n    - cầu khỉ gãy ván\n',
        "utf-8",
    )
    changed = load_nlu(
        categories=categories, model_dir=tmp_path, extra_data_dirs=[extra], with_locator=False
    )
    assert changed.models.fingerprint != first.models.fingerprint
