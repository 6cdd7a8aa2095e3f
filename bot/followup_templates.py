"""What the bot says about the citizen's own reports: "phản ánh của tôi", adding information
to one of them, and the contact step on a channel that already knows the citizen's number.

Kept apart from `bot.templates` (the intake wording) so that each stays readable;
the same rules apply: Vietnamese with diacritics, payloads in Rasa style.
"""

from __future__ import annotations

from bot.commands import InfoAdded, MyReports, ReportClosed, ReportSummary
from bot.messages import Button, Reply
from bot.templates import P_CONTACT_SKIP, P_HELP, P_REPORT, national_phone

P_LOOKUP_CODE = "/lookup:"  # followed by a report code
P_ADD_INFO = "/add_info"  # alone: which report? with ":" and a code: that one
P_ADD_DONE = "/add_info_done"
P_CONTACT_USE = "/contact:use"  # the number the channel knows is the contact number

LOOKUP_BUTTONS = 3  # "Xem" buttons under the list, the newest first; then "Bổ sung"
_NEW_REPORT = Button(title="Gửi phản ánh", payload=P_REPORT)
_DONE = Button(title="Xong", payload=P_ADD_DONE)
_EXAMPLE = "202611230007"


def _line(report: ReportSummary) -> str:
    """One report a line, with no sentence break inside (SMS shortens sentence by sentence)."""
    return f"• {report.code} ({report.created:%d/%m/%Y}) {report.status_label}: «{report.title}»"


def my_reports(found: MyReports) -> Reply:
    """The citizen's newest reports, a note when there are more, and what they can do next."""
    if not found.reports:
        return Reply(
            text=(
                "Bạn chưa gửi phản ánh nào. Để gửi phản ánh, bạn chỉ cần mô tả sự việc và địa "
                "điểm trong một tin nhắn (kèm ảnh nếu có). Nếu đã gửi qua tổng đài hoặc SMS, "
                "hãy chia sẻ số điện thoại đã dùng để xem cả những phản ánh đó."
            ),
            buttons=(_NEW_REPORT, Button(title="Hướng dẫn", payload=P_HELP)),
        )
    lines = ["Phản ánh bạn đã gửi (mới nhất trước):"]
    lines += [_line(r) for r in found.reports]
    if found.total > len(found.reports):
        lines.append(
            f"Bạn có tất cả {found.total} phản ánh; trên đây là {len(found.reports)} phản ánh "
            "gần nhất. Phản ánh cũ hơn: gửi «tra cứu» kèm mã."
        )
    buttons = tuple(
        Button(title=f"Xem {r.code}", payload=P_LOOKUP_CODE + r.code)
        for r in found.reports[:LOOKUP_BUTTONS]
    )
    if any(not r.closed for r in found.reports):
        lines.append("Để bổ sung thông tin hoặc ảnh: gửi «bổ sung» kèm mã phản ánh.")
        buttons += (Button(title="Bổ sung thông tin", payload=P_ADD_INFO),)
    return Reply(text="\n".join(lines), buttons=buttons)


def which_report(found: MyReports) -> Reply | None:
    """Which open report to add to; None when the citizen has none still open."""
    open_reports = [r for r in found.reports if not r.closed]
    if not open_reports:
        return None
    lines = ["Bạn muốn bổ sung cho phản ánh nào? Chọn bên dưới hoặc gửi mã phản ánh."]
    lines += [_line(r) for r in open_reports]
    buttons = tuple(
        Button(title=f"Bổ sung {r.code}", payload=f"{P_ADD_INFO}:{r.code}")
        for r in open_reports[: LOOKUP_BUTTONS + 1]
    )
    return Reply(text="\n".join(lines), buttons=buttons)


def nothing_open() -> Reply:
    return Reply(
        text=(
            "Bạn không có phản ánh nào đang xử lý để bổ sung. Nếu biết mã phản ánh, bạn gửi "
            f"«bổ sung» kèm mã, ví dụ «bổ sung {_EXAMPLE}»; hoặc gửi một phản ánh mới."
        ),
        buttons=(_NEW_REPORT,),
    )


def ask_info(code: str, title: str, media: bool) -> Reply:
    what = "nội dung cần bổ sung, hoặc gửi ảnh, video" if media else "nội dung cần bổ sung"
    return Reply(
        text=f"Bạn bổ sung cho phản ánh {code} «{title}»: vui lòng nhắn {what} ngay tại đây.",
        buttons=(_DONE,),
    )


def info_added(added: InfoAdded, media: bool) -> Reply:
    parts = (["nội dung"] if added.text else []) + (
        [f"{added.photos} ảnh/video"] if added.photos else []
    )
    more = "thông tin hoặc ảnh" if media else "thông tin"
    return Reply(
        text=(
            f"Đã bổ sung {' và '.join(parts) or 'thông tin'} vào phản ánh {added.code}; cán bộ "
            f"xử lý sẽ xem cùng phản ánh. Bạn có thể gửi thêm {more}, hoặc bấm «Xong»."
        ),
        buttons=(_DONE,),
    )


def adding_done() -> Reply:
    return Reply(text="Cảm ơn bạn đã bổ sung thông tin. Chúng tôi sẽ thông báo khi có kết quả.")


def report_closed(closed: ReportClosed) -> Reply:
    return Reply(
        text=(
            f"Phản ánh {closed.code} đã kết thúc ({closed.status_label}) nên không thể bổ sung "
            "thêm. Nếu sự việc vẫn tiếp diễn, bạn vui lòng gửi một phản ánh mới."
        ),
        buttons=(_NEW_REPORT,),
    )


def confirm_channel_phone(phone: str) -> Reply:
    """The contact step when the channel already knows the number: confirm, not ask."""
    return Reply(
        text=(
            f"Cán bộ sẽ liên hệ với bạn qua số {national_phone(phone)} bạn đang dùng để nhắn "
            "tin. Bạn có thể nhắn kèm họ tên, hoặc nhắn số khác. Nếu không muốn để lại liên hệ, "
            "chọn «Gửi ẩn danh»."
        ),
        buttons=(
            Button(title="Dùng số này", payload=P_CONTACT_USE),
            Button(title="Gửi ẩn danh", payload=P_CONTACT_SKIP),
        ),
    )
