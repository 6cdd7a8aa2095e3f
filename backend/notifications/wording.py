"""What the staff workflow tells citizens: every message text, in one place.

Each message comes in two forms (`Notice`): the full text, short polite Vietnamese with
diacritics for chat channels, and an SMS form written to fit one GSM-7 segment once the
SMS adapter drops the diacritics (160 characters; an answer's own text may make it
longer, and the adapter then keeps to the segment budget). Both name the report code so
the citizen can follow up. Hotline callers get their updates by SMS; what the hotline
says during a call is the IVR's own wording (bot/voice_endings.py). The rating buttons
sent with an answer are the bot's, which understands their payloads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.messages import Button, Reply
from bot.templates import rating_buttons

__all__ = ["Notice", "rating_buttons"]


@dataclass(frozen=True)
class Notice:
    text: str  # chat channels (Zalo, Telegram, web)
    sms: str  # SMS, and every fallback that ends in one

    def reply(self, buttons: tuple[Button, ...] = ()) -> Reply:
        return Reply(text=self.text, sms_text=self.sms, buttons=buttons)


def local_date(moment: datetime, tz: ZoneInfo) -> str:
    """dd/mm/yyyy in the deployment's time zone."""
    return moment.astimezone(tz).strftime("%d/%m/%Y")


def assigned(code: str, unit_name: str, due: str) -> Notice:
    return Notice(
        f"Phản ánh mã {code} đã được chuyển đến {unit_name} để xử lý. "
        f"Thời hạn trả lời: {due}. Cảm ơn anh/chị đã phản ánh.",
        f"PA {code}: đã chuyển {unit_name} xử lý, hạn trả lời {due}.",
    )


def extended(code: str, due: str) -> Notice:
    return Notice(
        f"Phản ánh mã {code} cần thêm thời gian để xử lý. "
        f"Thời hạn trả lời mới: {due}. Mong anh/chị thông cảm.",
        f"PA {code}: gia hạn xử lý, hạn trả lời mới {due}.",
    )


def rejected(code: str, reason: str) -> Notice:
    return Notice(
        f"Rất tiếc, phản ánh mã {code} không được tiếp nhận xử lý. Lý do: {reason.strip()}",
        f"PA {code} không được tiếp nhận. Lý do: {reason.strip()}",
    )


def merged(code: str, target_code: str) -> Notice:
    return Notice(
        f"Sự việc trong phản ánh mã {code} đang được xử lý theo phản ánh mã {target_code}. "
        f"Anh/chị sẽ nhận kết quả theo mã {target_code}. Cảm ơn anh/chị.",
        f"PA {code} được xử lý chung với PA {target_code}; kết quả gửi theo mã {target_code}.",
    )


def clustered(code: str, cluster_code: str) -> Notice:
    """A new report probably repeats an open one (backend.clusters); the citizen keeps theirs."""
    return Notice(
        f"Vấn đề anh/chị phản ánh có thể đã được ghi nhận và đang được xử lý theo phản ánh "
        f"mã {cluster_code}. Anh/chị vẫn nhận kết quả theo mã của mình ({code}). "
        f"Cảm ơn anh/chị.",
        f"PA {code}: vấn đề có thể đang được xử lý theo PA {cluster_code}; "
        f"kết quả vẫn gửi theo mã {code}.",
    )


def answer(code: str, text: str, *, ask_rating: bool = True) -> Notice:
    result = f"Kết quả xử lý phản ánh mã {code}:\n{text.strip()}"
    short = f"Kết quả PA {code}: {' '.join(text.split())}"
    if ask_rating:
        return Notice(result + "\n\nAnh/chị có hài lòng với kết quả này không?", short)
    return Notice(result + "\n\nCảm ơn anh/chị đã phản ánh.", short)


def reopened(code: str, due: str) -> Notice:
    return Notice(
        f"Phản ánh mã {code} đã được mở lại để tiếp tục xử lý. Thời hạn trả lời mới: {due}.",
        f"PA {code} đã mở lại để xử lý tiếp, hạn trả lời mới {due}.",
    )
