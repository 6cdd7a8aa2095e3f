"""SMS text: GSM-7/UCS-2 segment arithmetic, rendering and its degradation, phone numbers.

All pure: what `channels.sms_text` and `channels.sms.render_sms` make of replies, whatever
provider then sends them.
"""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import templates as t
from bot.messages import Button, Reply
from channels.sms import InvalidPhone, SmsStyle, normalise_phone, render_sms
from channels.sms_text import GSM7_BASIC, GSM7_EXTENSION, measure, sms_text, to_gsm7
from tests.channels.contract import REPLIES, VIETNAMESE_MARKS
from tests.channels.sms.conftest import CITIZEN, YES_NO

# -- encoding and segments ------------------------------------------------------

VIETNAMESE_152 = (
    "Phản ánh 202611230001 đã được chuyển đến UBND xã Long Hồ xử lý. Hạn trả lời "
    "trước ngày 30/11/2026. Tra cứu: nhắn TRA CUU 202611230001. Xin cảm ơn bạn ạ."
)


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 1),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # extension characters count double
        ("€" * 81, "GSM-7", 162, 2),
        ("a" * 152 + "€" + "a" * 152, "GSM-7", 306, 3),  # an escape pair is never split
        ("{[]}" + "a" * 152, "GSM-7", 160, 1),
        ("àèéìòù Ñ ü @£$¥", "GSM-7", 15, 1),  # these accented letters are GSM-7
        ("ă" * 70, "UCS-2", 70, 1),
        ("ă" * 71, "UCS-2", 71, 2),
        ("ă" * 134, "UCS-2", 134, 2),
        ("ă" * 135, "UCS-2", 135, 3),
        ("😀" * 35, "UCS-2", 70, 1),  # outside the BMP: two UTF-16 units
        ("😀" * 36, "UCS-2", 72, 2),
        ("a" * 159 + "đ", "UCS-2", 160, 3),  # one Vietnamese letter turns all of it UCS-2
        (VIETNAMESE_152, "UCS-2", 152, 3),
        (to_gsm7(VIETNAMESE_152), "GSM-7", 152, 1),
    ],
)
def test_encoding_and_segments(text: str, encoding: str, units: int, segments: int) -> None:
    length = measure(text)
    assert (length.encoding, length.units, length.segments) == (encoding, units, segments)


def test_gsm_tables_are_complete() -> None:
    assert len(GSM7_BASIC) == 127 and len(GSM7_EXTENSION) == 10  # 128 codes minus ESC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Đèn đường hư", "Den duong hu"),
        ("KHẨN CẤP", "KHAN CAP"),
        ("bấm «Xong»", 'bam "Xong"'),
        ("“trích dẫn” – … •", '"trich dan" - ... -'),
        ("khoảng\u00a0cách\ttab", "khoang cach tab"),
        ("Ứng Ửng Ựng Ỳ ỹ", "Ung Ung Ung Y y"),
        ("😀 ✓", "? ?"),
        ("Œuvre ß", "?uvre ß"),
    ],
)
def test_to_gsm7(text: str, expected: str) -> None:
    assert to_gsm7(text) == expected
    assert measure(to_gsm7(text)).encoding == "GSM-7"


def test_every_vietnamese_letter_folds_into_gsm7() -> None:
    letters = "".join(sorted(VIETNAMESE_MARKS)) + "".join(sorted(VIETNAMESE_MARKS)).upper()
    folded = to_gsm7(letters)
    assert len(folded) == len(letters)
    assert set(folded) <= set(string.ascii_letters)


# -- rendering and degradation -----------------------------------------------------

CODE = "202611230001"


def test_options_become_numbered_lines_without_diacritics() -> None:
    [out] = render_sms([YES_NO], CITIZEN, SmsStyle())
    assert out.payload["body"] == "Ban co dong y khong?\n1. Co\n2. Khong\nTra loi bang so thu tu."
    assert (out.payload["encoding"], out.payload["segments"], out.kind) == ("GSM-7", 1, "sms")
    assert SmsStyle().capabilities.max_buttons == 0


def test_press_becomes_text_and_prompts_are_plain_text() -> None:
    contact = sms_text(t.ask_contact())
    assert 'nhan "Gui an danh"' in contact and "bam" not in contact
    assert "Nhan so dien thoai trong tin tra loi." in contact
    assert "Nhan dia chi trong tin tra loi." in sms_text(t.ask_location())


def test_images_are_dropped_or_become_a_link() -> None:
    reply = Reply(text="Ảnh hiện trường", image="https://paht.example.gov.vn/m/1.jpg")
    assert sms_text(reply) == "Anh hien truong"
    assert (
        sms_text(reply, image_urls=True) == "Anh hien truong\nhttps://paht.example.gov.vn/m/1.jpg"
    )


def test_diacritics_kept_when_they_fit_and_dropped_when_the_budget_needs_it() -> None:
    assert sms_text(YES_NO, diacritics=True).startswith("Bạn có đồng ý không?\n1. Có")
    long = Reply(text=VIETNAMESE_152 + " Nội dung thêm, đủ để vượt quá ba phần tin nhắn có dấu.")
    assert measure(long.text).segments == 4
    text = sms_text(long, segments=3, diacritics=True)
    assert measure(text).encoding == "GSM-7" and CODE in text
    assert SmsStyle(diacritics=True).capabilities.diacritics


def test_politeness_tail_goes_first_and_the_report_code_stays_whole() -> None:
    reply = Reply(
        text=(
            f"Đã tiếp nhận phản ánh của bạn. Mã phản ánh: {CODE}. "
            "Cán bộ sẽ xem xét và trả lời bạn trong thời gian sớm nhất có thể. "
            "Cảm ơn bạn đã đồng hành cùng chính quyền. Chúc bạn một ngày tốt lành!"
        )
    )
    full = sms_text(reply, segments=2)
    assert "Cam on" in full
    one = sms_text(reply, segments=1)
    assert measure(one).segments == 1
    assert f"Ma phan anh: {CODE}." in one
    assert "Cam on" not in one and "Chuc" not in one


def test_a_polite_sentence_with_a_code_is_not_politeness() -> None:
    reply = Reply(text="Nội dung dài. " * 20 + f"Cảm ơn bạn, mã phản ánh của bạn là {CODE}.")
    assert f"ma phan anh cua ban la {CODE}." in sms_text(reply, segments=1)


def test_a_sentence_with_numbers_is_kept_whole_or_dropped() -> None:
    reply = Reply(
        text="Chào bạn. " + "Thông tin chung rất dài. " * 3 + f"Tra cứu bằng mã {CODE} khi cần."
    )
    for segments in (1, 2):
        text = sms_text(reply, segments=segments)
        assert measure(text).segments <= segments
        assert f"Tra cuu bang ma {CODE} khi can." in text


def test_long_and_template_replies_respect_every_budget() -> None:
    replies = [*REPLIES.values(), t.help_text(), t.ask_public(), t.edit_menu(), t.ask_contact()]
    for segments in range(1, 6):
        for reply in replies:
            text = sms_text(reply, segments=segments)
            assert text and measure(text).segments <= segments, (segments, reply.text[:30])
            assert measure(text).encoding == "GSM-7"


def test_budget_is_configurable_and_bounded() -> None:
    assert SmsStyle(segment_budget=1).capabilities.max_text == 160
    assert SmsStyle().capabilities.max_text == 459
    with pytest.raises(ValueError):
        SmsStyle(segment_budget=0)


_WORD = st.text(alphabet="abcđêôơưăâáàảãạ0123456789.,:?!«»", min_size=1, max_size=15)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    words=st.lists(_WORD, max_size=120),
    titles=st.lists(_WORD, max_size=6),
    segments=st.integers(1, 4),
)
def test_shortening_never_cuts_a_number(words: list[str], titles: list[str], segments: int) -> None:
    reply = Reply(
        text=" ".join(words), buttons=tuple(Button(title=w, payload="/x") for w in titles)
    )
    text = sms_text(reply, segments=segments)
    assert measure(text).segments <= segments
    if words or titles:
        assert text.strip()
    source = {w.strip('.,:?!"') for w in to_gsm7(" ".join(words + titles)).split()}
    options = {f"{i}. {to_gsm7(' '.join(w.split()))}" for i, w in enumerate(titles, 1)}
    shown = [line.split(" ", 1)[1] if line in options else line for line in text.split("\n")]
    for token in re.findall(r"\S*\d\S*", "\n".join(shown)):
        assert token.strip('.,:?!"') in source, token


# -- phone numbers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("0912345678", CITIZEN),
        ("+84 912 345 678", CITIZEN),
        ("84912345678", CITIZEN),
        ("091.234.5678", CITIZEN),
        ("0559123456", "+84559123456"),
        ("+15005550006", "+15005550006"),
    ],
)
def test_phone_numbers_normalise_to_e164(raw: str, e164: str) -> None:
    assert normalise_phone(raw) == e164


@pytest.mark.parametrize("raw", ["", "abc", "112", "0912"])
def test_not_phone_numbers_are_refused(raw: str) -> None:
    with pytest.raises(InvalidPhone):
        normalise_phone(raw)
