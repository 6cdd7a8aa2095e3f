"""Every sentence the voice hotline speaks or texts, in Vietnamese, in one place.

Written to be heard, not read: short sentences, one instruction each, keys named
as "bấm phím 1", report codes read digit by digit in groups of four, dates read
as "ngày 30 tháng 11 năm 2026". The TTS voice and its speaking rate are the
adapter's business (`channels.voice`); the wording is reviewed here once.
"""

from __future__ import annotations

from datetime import date

DIGIT_WORDS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")

# Phrases that help the speech recogniser with typical report content.
CONTENT_HINTS = (
    "đèn đường",
    "ổ gà",
    "ngập nước",
    "rác thải",
    "cây đổ",
    "mất điện",
    "mất nước",
    "lấn chiếm vỉa hè",
    "xây dựng trái phép",
    "tai nạn",
    "cháy",
    "sạt lở",
)
LOCATION_HINTS = ("số nhà", "đường", "hẻm", "ấp", "khu phố", "xã", "phường", "gần chợ")

MAX_READBACK_WORDS = 60


def spell_code(code: str) -> str:
    """202611230001 → "hai không hai sáu, một một hai ba, không không không một"."""
    words = [DIGIT_WORDS[int(c)] if c.isdigit() else c for c in code]
    groups = [" ".join(words[i : i + 4]) for i in range(0, len(words), 4)]
    return ", ".join(groups)


def say_date(day: date) -> str:
    return f"ngày {day.day} tháng {day.month} năm {day.year}"


def _clip(text: str) -> str:
    words = text.split()
    if len(words) <= MAX_READBACK_WORDS:
        return " ".join(words).rstrip(".")
    return " ".join(words[:MAX_READBACK_WORDS]) + "..."


# --- greeting and menu -------------------------------------------------------


def greeting(province_name: str) -> str:
    return (
        f"Xin chào. Đây là đường dây tiếp nhận phản ánh hiện trường của {province_name}. "
        "Cuộc gọi có thể được ghi âm để phục vụ việc xử lý."
    )


def menu(operator: bool) -> str:
    text = "Để gửi phản ánh mới, bấm phím 1. Để tra cứu phản ánh đã gửi, bấm phím 2."
    if operator:
        text += " Để gặp cán bộ trực, bấm phím 0."
    return text


def invalid_key() -> str:
    return "Phím bạn bấm chưa đúng."


def not_heard() -> str:
    return "Tôi chưa nghe thấy bạn."


# --- new report --------------------------------------------------------------


def ask_content() -> str:
    return (
        "Xin mời bạn nói nội dung phản ánh: sự việc gì, từ khi nào. "
        "Nói xong, xin chờ trong giây lát."
    )


def ask_again() -> str:
    return "Xin lỗi, tôi nghe chưa rõ. Bạn vui lòng nói lại, chậm và rõ hơn."


def content_too_short() -> str:
    return "Nội dung hơi ngắn. Bạn vui lòng nói rõ hơn: sự việc gì, ở đâu."


def readback_content(text: str) -> str:
    return f"Bạn đã nói: {_clip(text)}. Nếu đúng, bấm phím 1. Để nói lại, bấm phím 2."


def ask_location() -> str:
    return (
        "Sự việc xảy ra ở đâu? Xin mời nói số nhà, tên đường, ấp hoặc khu phố, "
        "và tên xã hoặc phường."
    )


def readback_location(place: str) -> str:
    return f"Địa điểm: {_clip(place)}. Nếu đúng, bấm phím 1. Để nói lại, bấm phím 2."


def record_prompt(content_known: bool) -> str:
    what = "địa điểm xảy ra sự việc" if content_known else "nội dung và địa điểm sự việc"
    return (
        f"Xin lỗi, tôi vẫn chưa nghe rõ. Sau tiếng bíp, xin mời bạn nói {what}. "
        "Cán bộ sẽ nghe lại lời của bạn. Nói xong, bấm phím thăng."
    )


def leave_message() -> str:
    return (
        "Sau tiếng bíp, xin mời bạn để lại lời nhắn: nội dung và địa điểm sự việc. "
        "Nói xong, bấm phím thăng."
    )


def location_in_recording() -> str:
    return "Địa điểm trong file ghi âm."


def recorded_content(guesses: tuple[str, ...]) -> str:
    """Report content when the citizen's words are only in the recording."""
    text = "Phản ánh qua tổng đài: nội dung trong file ghi âm kèm theo."
    if guesses:
        text += f" Nhận dạng giọng nói (chưa chắc chắn): {' / '.join(guesses)}"
    return text


def created(code: str, due: date, urgent: bool, sms: bool) -> str:
    spelled = spell_code(code)
    text = (
        f"Phản ánh của bạn đã được tiếp nhận. Mã phản ánh là: {spelled}. "
        f"Xin nhắc lại, mã phản ánh là: {spelled}. "
        f"Dự kiến trả lời trước {say_date(due)}."
    )
    if urgent:
        text += " " + emergency_numbers()
    if sms:
        text += " Mã phản ánh và cách gửi ảnh hiện trường sẽ được gửi tới bạn bằng tin nhắn."
    else:
        text += " Bạn vui lòng ghi lại mã phản ánh để tra cứu."
    return text


def emergency_numbers() -> str:
    return (
        "Nếu có nguy hiểm đến tính mạng, hãy gọi ngay 114 cứu nạn cứu hỏa, "
        "113 công an, hoặc 115 cấp cứu."
    )


# --- status lookup -----------------------------------------------------------


def ask_code() -> str:
    return "Xin mời bấm mã phản ánh gồm 12 chữ số, rồi bấm phím thăng."


def code_invalid() -> str:
    return "Mã phản ánh phải đủ 12 chữ số."


def status_found(
    code: str, status_label: str, created_on: date, due: date, answer: str | None
) -> str:
    text = (
        f"Phản ánh mã {spell_code(code)}: {status_label}. "
        f"Tiếp nhận {say_date(created_on)}. Hạn trả lời {say_date(due)}."
    )
    if answer:
        text += f" Nội dung trả lời: {_clip(answer)}."
    return text


def status_not_found(code: str) -> str:
    return f"Không tìm thấy phản ánh mã {spell_code(code)}. Bạn vui lòng kiểm tra lại mã."


# --- operator ----------------------------------------------------------------


def transferring() -> str:
    return "Xin bạn giữ máy. Tôi đang chuyển cuộc gọi tới cán bộ trực."


def transferring_urgent() -> str:
    return (
        "Tôi ghi nhận đây là việc khẩn cấp. Xin bạn giữ máy, tôi đang chuyển ngay tới cán bộ trực."
    )


def operator_unavailable() -> str:
    return "Hiện chưa có cán bộ trực tổng đài."


def operator_busy() -> str:
    return "Xin lỗi, cán bộ trực đang bận."


def code_reminder(code: str) -> str:
    return f"Phản ánh của bạn đã được ghi nhận với mã: {spell_code(code)}."


# --- closing -----------------------------------------------------------------


def goodbye() -> str:
    return "Cảm ơn bạn đã gọi. Xin chào và hẹn gặp lại."


def call_again() -> str:
    return "Xin cảm ơn. Bạn có thể gọi lại bất cứ lúc nào."


def give_up_transfer() -> str:
    return "Tôi sẽ chuyển bạn tới cán bộ trực. Xin bạn giữ máy."


def system_error() -> str:
    return "Xin lỗi, hệ thống đang gặp sự cố và chưa ghi nhận được phản ánh."


def sms_text(
    code: str, zalo_oa_name: str | None, zalo_link: str | None, telegram_link: str | None
) -> str:
    """The text sent after the call (the SMS adapter strips diacritics if it must)."""
    text = f"Phản ánh {code} đã được tiếp nhận."
    ways = []
    if zalo_oa_name or zalo_link:
        name = f" {zalo_oa_name}" if zalo_oa_name else ""
        link = f" ({zalo_link})" if zalo_link else ""
        ways.append(f"Zalo OA{name}{link}")
    if telegram_link:
        ways.append(f"Telegram {telegram_link}")
    if ways:
        text += f" Gửi ảnh hiện trường qua {' hoặc '.join(ways)}, kèm mã {code}."
    return text + f" Tra cứu: gửi «tra cứu {code}»."
