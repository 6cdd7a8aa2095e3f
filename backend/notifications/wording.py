"""What the staff workflow tells citizens: every message text, in one place.

Short, polite Vietnamese with diacritics; each names the report code so the citizen can
follow up. Channels drop diacritics themselves where SMS needs it. The rating buttons sent
with an answer live here too, with the parser for the payload they send back.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.templates import rating_buttons

# The rating buttons are the bot's: it is the bot that understands their payloads.
__all__ = ["rating_buttons"]


def local_date(moment: datetime, tz: ZoneInfo) -> str:
    """dd/mm/yyyy in the deployment's time zone."""
    return moment.astimezone(tz).strftime("%d/%m/%Y")


def assigned(code: str, unit_name: str, due: str) -> str:
    return (
        f"Phản ánh mã {code} đã được chuyển đến {unit_name} để xử lý. "
        f"Thời hạn trả lời: {due}. Cảm ơn anh/chị đã phản ánh."
    )


def extended(code: str, due: str) -> str:
    return (
        f"Phản ánh mã {code} cần thêm thời gian để xử lý. "
        f"Thời hạn trả lời mới: {due}. Mong anh/chị thông cảm."
    )


def rejected(code: str, reason: str) -> str:
    return f"Rất tiếc, phản ánh mã {code} không được tiếp nhận xử lý. Lý do: {reason.strip()}"


def merged(code: str, target_code: str) -> str:
    return (
        f"Sự việc trong phản ánh mã {code} đang được xử lý theo phản ánh mã {target_code}. "
        f"Anh/chị sẽ nhận kết quả theo mã {target_code}. Cảm ơn anh/chị."
    )


def clustered(code: str, cluster_code: str) -> str:
    """A new report probably repeats an open one (backend.clusters); the citizen keeps theirs."""
    return (
        f"Vấn đề anh/chị phản ánh có thể đã được ghi nhận và đang được xử lý theo phản ánh "
        f"mã {cluster_code}. Anh/chị vẫn nhận kết quả theo mã của mình ({code}). "
        f"Cảm ơn anh/chị."
    )


def answer(code: str, text: str, *, ask_rating: bool = True) -> str:
    result = f"Kết quả xử lý phản ánh mã {code}:\n{text.strip()}"
    if ask_rating:
        return result + "\n\nAnh/chị có hài lòng với kết quả này không?"
    return result + "\n\nCảm ơn anh/chị đã phản ánh."


def reopened(code: str, due: str) -> str:
    return f"Phản ánh mã {code} đã được mở lại để tiếp tục xử lý. Thời hạn trả lời mới: {due}."


def rating_thanks(code: str) -> str:
    return f"Cảm ơn anh/chị đã đánh giá kết quả xử lý phản ánh mã {code}."
