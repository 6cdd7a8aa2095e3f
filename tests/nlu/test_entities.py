"""Entities: phones, ID numbers, report codes and names, found and masked."""

from __future__ import annotations

import pytest

from nlu.entities import extract, find_spans, mask, person_name


@pytest.mark.parametrize(
    ("text", "phones"),
    [
        ("sđt 0912345678", ("+84912345678",)),
        ("gọi 0912 345 678 nhé", ("+84912345678",)),
        ("goi 0987.654.321", ("+84987654321",)),
        ("đt: 091-234-5678", ("+84912345678",)),
        ("+84 912 345 678", ("+84912345678",)),
        ("84912345678", ("+84912345678",)),
        ("bàn 028 3822 1234", ("+842838221234",)),
        ("0912345678 hoặc 0987654321", ("+84912345678", "+84987654321")),
        ("số nhà 123, hẻm 45", ()),
        ("mã 0123", ()),
        ("0000000000", ()),  # not a valid Vietnamese number
    ],
)
def test_phone_numbers_are_found_in_e164(text: str, phones: tuple[str, ...]) -> None:
    assert extract(text).phones == phones


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("CCCD 079203004567", ("079203004567",)),
        ("căn cước: 001203004567", ("001203004567",)),
        ("CMND: 271234567", ("271234567",)),
        ("so chung minh 271234567", ("271234567",)),
        ("thiệt hại 123456789 đồng", ()),  # nine digits without an ID word
        ("mã 202507150012", ()),  # a report code, not a CCCD
    ],
)
def test_id_numbers_need_their_shape_or_context(text: str, ids: tuple[str, ...]) -> None:
    assert extract(text).id_numbers == ids


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("tra cứu 202507150012", ("202507150012",)),
        ("mã PA 20250715-0012 sao rồi", ("202507150012",)),
        ("202507150012 202507150012", ("202507150012",)),
        ("20251340 0012", ()),  # no 40th day of the 13th month
    ],
)
def test_report_codes_are_real_dates_plus_sequence(text: str, codes: tuple[str, ...]) -> None:
    assert extract(text).report_codes == codes


def test_mask_hides_phones_ids_and_codes() -> None:
    text = "Tôi SĐT 0912 345 678, CCCD 079203004567, hồ sơ 202507150012"
    masked = mask(text)
    assert masked == "Tôi SĐT [phone], CCCD [id], hồ sơ [code]"
    assert not any(c.isdigit() for c in masked)


def test_spans_do_not_overlap() -> None:
    spans = find_spans("001203004567 0912345678")
    assert [s.kind for s in spans] == ["id", "phone"]
    assert spans[0].end <= spans[1].start


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Tôi tên là Nguyễn Văn An, sđt 0912345678", "Nguyễn Văn An"),
        ("Họ tên: Trần Thị Bích", "Trần Thị Bích"),
        ("ho ten: le van tam sdt 0909123456", "Le Van Tam"),
        ("Tôi là Trần Thị Bích ở hẻm 12", "Trần Thị Bích"),
        ("tôi là người dân phường 9", None),
        ("đường bị ngập", None),
    ],
)
def test_person_name_only_when_given(text: str, name: str | None) -> None:
    assert person_name(text) == name
