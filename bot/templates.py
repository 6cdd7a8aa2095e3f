"""Every sentence the bot says to a citizen, in Vietnamese, in one place.

Channel adapters may shorten or strip diacritics (SMS) or speak (voice), but
the wording itself lives here so that it can be reviewed and translated once.
"""

from __future__ import annotations

from datetime import date

from bot.commands import ReportCreated, ReportReopened, StatusFound
from bot.config import BotConfig
from bot.messages import Button, Reply
from bot.state import Draft
from nlu import Location

# Button payloads (Rasa style "/intent" or "/intent:value").
P_REPORT, P_LOOKUP, P_HELP = "/report", "/lookup", "/help"
P_CONFIRM, P_EDIT, P_CANCEL = "/confirm", "/edit", "/cancel"
P_RESUME, P_RESTART = "/resume", "/restart"
P_MEDIA_DONE, P_CONTACT_SKIP = "/media:done", "/contact:skip"
P_PUBLIC_YES, P_PUBLIC_NO = "/public:yes", "/public:no"
P_CATEGORY = "/category:"
P_MY_REPORTS = "/my_reports"  # the citizen's own reports (bot.followup_templates)
P_EDIT_FIELD = "/edit:"
# Follow-ups on an answered report, each followed by the report code.
P_RATE_VERY_GOOD, P_RATE_GOOD, P_RATE_BAD = "/rate_very_good:", "/rate_good:", "/rate_bad:"
P_REOPEN, P_KEEP_CLOSED = "/reopen:", "/keep_closed:"
RATE_SCORES = {P_RATE_VERY_GOOD: 3, P_RATE_GOOD: 2, P_RATE_BAD: 1}
RATING_TITLES = {3: "Rất hài lòng", 2: "Hài lòng", 1: "Chưa hài lòng"}

MENU = (
    Button(title="Gửi phản ánh", payload=P_REPORT),
    Button(title="Tra cứu phản ánh", payload=P_LOOKUP),
    Button(title="Hướng dẫn", payload=P_HELP),
)
MY_REPORTS_BUTTON = Button(title="Phản ánh của tôi", payload=P_MY_REPORTS)
FIELD_TITLES = {
    "content": "Nội dung",
    "location": "Địa điểm",
    "media": "Ảnh, video",
    "category": "Lĩnh vực",
    "urgent": "Mức độ khẩn cấp",
    "public": "Công khai",
    "contact": "Liên hệ",
}


def welcome(cfg: BotConfig) -> Reply:
    return Reply(
        text=(
            f"Xin chào! Đây là kênh tiếp nhận phản ánh hiện trường của {cfg.province_name}. "
            "Bạn có thể phản ánh về đường sá, điện chiếu sáng, rác thải, ngập nước, xây dựng, "
            "an ninh trật tự... hoặc tra cứu phản ánh đã gửi."
        ),
        buttons=(*MENU, MY_REPORTS_BUTTON),
    )


def help_text() -> Reply:
    return Reply(
        text=(
            "Cách gửi phản ánh: (1) mô tả sự việc; (2) cho biết địa điểm: số nhà, đường, ấp/khu "
            "phố, xã/phường, hoặc gửi vị trí; (3) gửi ảnh nếu có. Có thể nói tất cả trong một tin "
            "nhắn. Tra cứu: gửi «tra cứu» kèm mã phản ánh, ví dụ «tra cứu 202611230007». "
            "Gửi «hủy» để hủy phản ánh đang soạn, «sửa địa chỉ» để sửa thông tin."
        ),
        buttons=MENU,
    )


def ask_content() -> Reply:
    return Reply(text="Bạn vui lòng mô tả sự việc cần phản ánh: việc gì, ở đâu, từ khi nào?")


def content_too_short() -> Reply:
    return Reply(text="Nội dung hơi ngắn. Bạn mô tả thêm giúp: sự việc gì, ở đâu, từ khi nào?")


def ask_location() -> Reply:
    return Reply(
        text=(
            "Sự việc xảy ra ở đâu? Vui lòng ghi số nhà, tên đường, ấp/khu phố, xã/phường, "
            "hoặc gửi vị trí của bạn."
        ),
        ask_location=True,
    )


def ask_media(received: int = 0) -> Reply:
    if received:
        return Reply(
            text=f"Đã nhận {received} ảnh/video. Bạn có thể gửi thêm, hoặc bấm «Xong».",
            buttons=(Button(title="Xong", payload=P_MEDIA_DONE),),
        )
    return Reply(
        text="Bạn có ảnh hoặc video hiện trường không? Gửi ngay tại đây, hoặc bấm «Không có ảnh».",
        buttons=(Button(title="Không có ảnh", payload=P_MEDIA_DONE),),
    )


def ask_public() -> Reply:
    return Reply(
        text=(
            "Bạn có đồng ý công khai nội dung phản ánh này trên cổng thông tin không? "
            "Họ tên và số điện thoại của bạn không bao giờ được công khai."
        ),
        buttons=(
            Button(title="Đồng ý công khai", payload=P_PUBLIC_YES),
            Button(title="Không công khai", payload=P_PUBLIC_NO),
        ),
    )


def ask_contact() -> Reply:
    return Reply(
        text=(
            "Để cán bộ liên hệ khi cần, bạn vui lòng cho biết họ tên và số điện thoại "
            "(ví dụ: Nguyễn Văn An 0912345678). Nếu không muốn, bấm «Gửi ẩn danh»."
        ),
        buttons=(Button(title="Gửi ẩn danh", payload=P_CONTACT_SKIP),),
        ask_contact=True,
    )


def ask_phone(name: str) -> Reply:
    return Reply(
        text=f"Cảm ơn {name}. Bạn vui lòng cho biết số điện thoại liên hệ, hoặc bấm «Bỏ qua».",
        buttons=(Button(title="Bỏ qua", payload=P_CONTACT_SKIP),),
        ask_contact=True,
    )


def bad_phone() -> Reply:
    return Reply(
        text=(
            "Số điện thoại chưa đúng. Vui lòng nhập số di động 10 chữ số (ví dụ 0912345678), "
            "hoặc bấm «Bỏ qua»."
        ),
        buttons=(Button(title="Bỏ qua", payload=P_CONTACT_SKIP),),
    )


def ask_category(choices: list[tuple[str, str]]) -> Reply:
    buttons = tuple(Button(title=name, payload=P_CATEGORY + cid) for cid, name in choices)
    return Reply(text="Phản ánh của bạn thuộc lĩnh vực nào?", buttons=buttons)


def place_text(place: Location | None) -> str:
    if place is None:
        return "chưa có"
    parts = [p for p in (place.detail, place.commune, place.province) if p]
    if not parts and place.lat is not None and place.lon is not None:
        parts = [f"vị trí GPS {place.lat:.5f}, {place.lon:.5f}"]
    text = ", ".join(parts) or place.raw
    if place.old_names:
        text += f" (tên cũ: {', '.join(place.old_names)})"
    return text


def national_phone(e164: str) -> str:
    """+84912345678 → 0912345678, the way Vietnamese citizens write their number."""
    return "0" + e164[3:] if e164.startswith("+84") else e164


def summary(draft: Draft, cfg: BotConfig) -> Reply:
    category = cfg.category_names.get(draft.category or "", "chưa xác định, cán bộ sẽ phân loại")
    phone = national_phone(draft.phone) if draft.phone else None
    contact = ", ".join(p for p in (draft.name, phone) if p) or "ẩn danh"
    lines = [
        "Vui lòng kiểm tra lại phản ánh:",
        f"• Nội dung: {draft.content}",
        f"• Địa điểm: {place_text(draft.location)}",
        f"• Ảnh, video: {len(draft.media) or 'không có'}",
        f"• Lĩnh vực: {category}",
        f"• Mức độ: {'KHẨN CẤP' if draft.urgent else 'thông thường'}",
        f"• Công khai: {'có' if draft.public else 'không'}",
        f"• Liên hệ: {contact}",
        "Bấm «Gửi phản ánh» để gửi, «Sửa» để sửa thông tin, hoặc «Hủy».",
    ]
    return Reply(
        text="\n".join(lines),
        buttons=(
            Button(title="Gửi phản ánh", payload=P_CONFIRM),
            Button(title="Sửa", payload=P_EDIT),
            Button(title="Hủy", payload=P_CANCEL),
        ),
    )


def edit_menu() -> Reply:
    return Reply(
        text="Bạn muốn sửa thông tin nào?",
        buttons=tuple(Button(title=t, payload=P_EDIT_FIELD + f) for f, t in FIELD_TITLES.items()),
    )


def _date(day: date) -> str:
    return f"{day:%d/%m/%Y}"


def created(outcome: ReportCreated, cfg: BotConfig) -> Reply:
    text = (
        f"Đã tiếp nhận phản ánh của bạn. Mã phản ánh: {outcome.code}. "
        f"Dự kiến trả lời trước ngày {_date(outcome.due)}. "
        f"Bạn có thể tra cứu bất cứ lúc nào bằng cách gửi: tra cứu {outcome.code}"
    )
    if outcome.urgent:
        text += (
            "\nPhản ánh được đánh dấu KHẨN CẤP và được ưu tiên xử lý. Nếu có nguy "
            "hiểm đến tính mạng, hãy gọi ngay 114 (cứu nạn, cứu hỏa), 113 (công an) hoặc 115 "
            "(cấp cứu)."
        )
    return Reply(text=text)


def status(found: StatusFound) -> Reply:
    text = (
        f"Phản ánh {found.code} «{found.title}»: {found.status_label}. "
        f"Tiếp nhận ngày {found.created:%d/%m/%Y}, hạn trả lời {_date(found.due)}."
    )
    if found.answer:
        text += f"\nTrả lời: {found.answer}"
    return Reply(text=text)


def status_not_found(code: str) -> Reply:
    return Reply(
        text=(
            f"Không tìm thấy phản ánh mã {code}. Vui lòng kiểm tra lại mã "
            "(12 chữ số, ví dụ 202611230007)."
        )
    )


def ask_code() -> Reply:
    return Reply(
        text=(
            "Vui lòng nhập mã phản ánh gồm 12 chữ số (ví dụ: 202611230007). "
            "Không nhớ mã? Chọn «Phản ánh của tôi»."
        ),
        buttons=(MY_REPORTS_BUTTON,),
    )


def cancelled() -> Reply:
    return Reply(
        text="Đã hủy phản ánh đang soạn. Khi cần, bạn cứ nhắn lại cho chúng tôi.", buttons=MENU
    )


def nothing_to_cancel() -> Reply:
    return Reply(text="Hiện không có phản ánh nào đang soạn.", buttons=MENU)


def thanks() -> Reply:
    return Reply(text="Cảm ơn bạn đã đồng hành cùng chính quyền. Chúc bạn một ngày tốt lành!")


def not_understood() -> Reply:
    return Reply(
        text="Xin lỗi, tôi chưa hiểu ý bạn. Bạn muốn gửi phản ánh mới hay tra cứu phản ánh đã gửi?",
        buttons=MENU,
    )


def empty_message() -> Reply:
    return Reply(text="Tin nhắn trống. Bạn vui lòng nhập nội dung cần phản ánh.", buttons=MENU)


def too_long(max_chars: int) -> Reply:
    return Reply(
        text=f"Tin nhắn quá dài (tối đa {max_chars} ký tự). Bạn vui lòng rút gọn hoặc chia thành "
        "nhiều tin nhắn."
    )


def resume_prompt(draft: Draft) -> Reply:
    preview = (draft.content or "chưa có nội dung")[:80]
    return Reply(
        text=(
            f"Bạn đang có một phản ánh soạn dở: «{preview}». Bạn muốn tiếp tục hay làm lại từ đầu?"
        ),
        buttons=(
            Button(title="Tiếp tục", payload=P_RESUME),
            Button(title="Làm lại", payload=P_RESTART),
            Button(title="Hủy", payload=P_CANCEL),
        ),
    )


def human_handoff(cfg: BotConfig) -> Reply:
    hotline = f" hoặc gọi đường dây nóng {cfg.hotline}" if cfg.hotline else ""
    return Reply(
        text=(
            "Bạn đang trò chuyện với trợ lý tự động. Nội dung bạn gửi đều được cán bộ xem xét; "
            f"để trao đổi trực tiếp, bạn vui lòng liên hệ trong giờ hành chính{hotline}."
        )
    )


def rating_thanks() -> Reply:
    return Reply(text="Cảm ơn bạn đã đánh giá. Ý kiến của bạn giúp chúng tôi phục vụ tốt hơn.")


def flood_reply() -> Reply:
    return Reply(
        text=(
            "Bạn đã gửi nhiều tin nhắn trong thời gian ngắn. Vui lòng đợi một phút rồi gửi tiếp; "
            "các tin nhắn vừa rồi chưa được xử lý."
        )
    )


# --- follow-ups on an answered report: rating, comment, reopening ---------------------


def rating_buttons(code: str) -> tuple[Button, ...]:
    """The three buttons under an answer; their payloads carry the report code."""
    return tuple(
        Button(title=RATING_TITLES[score], payload=prefix + code)
        for prefix, score in RATE_SCORES.items()
    )


def _reopen_buttons(code: str) -> tuple[Button, ...]:
    return (
        Button(title="Mở lại phản ánh", payload=P_REOPEN + code),
        Button(title="Không, cảm ơn", payload=P_KEEP_CLOSED + code),
    )


_BACK_TO_DRAFT = Button(title="Tiếp tục soạn phản ánh", payload=P_RESUME)


def rated(code: str, score: int, drafting: bool) -> Reply:
    """Thanks for a rating; "Chưa hài lòng" also asks what is wrong and offers to reopen."""
    if score == 1:
        text = (
            f"Cảm ơn bạn đã phản hồi về phản ánh {code}. Bạn vui lòng cho biết điều gì vẫn "
            "chưa được giải quyết? Nếu sự việc chưa được khắc phục, bạn có thể mở lại phản ánh "
            "để đơn vị tiếp tục xử lý."
        )
        buttons = _reopen_buttons(code)
    else:
        text = (
            f"Cảm ơn bạn đã đánh giá «{RATING_TITLES[score]}» cho phản ánh {code}. "
            "Nếu muốn góp ý thêm, bạn cứ nhắn tại đây."
        )
        buttons = ()
    if drafting:
        text += "\nPhản ánh bạn đang soạn vẫn được giữ nguyên."
        buttons += (_BACK_TO_DRAFT,)
    return Reply(text=text, buttons=buttons)


def rating_comment_saved(code: str, score: int) -> Reply:
    if score == 1:
        return Reply(
            text=(
                f"Đã ghi nhận ý kiến của bạn về phản ánh {code}. Nếu sự việc vẫn chưa được "
                "khắc phục, bạn có thể mở lại phản ánh."
            ),
            buttons=_reopen_buttons(code),
        )
    return Reply(text=f"Đã ghi nhận góp ý của bạn về phản ánh {code}. Cảm ơn bạn!")


def kept_closed() -> Reply:
    return Reply(
        text="Cảm ơn bạn. Ý kiến của bạn đã được ghi nhận để cải thiện chất lượng giải quyết."
    )


def reopened(outcome: ReportReopened) -> Reply:
    return Reply(
        text=(
            f"Đã mở lại phản ánh {outcome.code} và chuyển lại cho đơn vị xử lý. "
            f"Hạn trả lời mới: {_date(outcome.due)}. Chúng tôi sẽ thông báo khi có kết quả."
        )
    )


def own_report_not_found(code: str) -> Reply:
    return Reply(
        text=(
            f"Không tìm thấy phản ánh mã {code} trong các phản ánh bạn đã gửi. "
            "Vui lòng kiểm tra lại mã."
        )
    )


def not_completed(code: str) -> Reply:
    return Reply(
        text=(
            f"Phản ánh {code} đang được xử lý, chưa có kết quả để đánh giá hay mở lại. "
            f"Bạn có thể tra cứu tiến độ bằng cách gửi: tra cứu {code}"
        )
    )
