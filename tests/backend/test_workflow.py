"""The workflow's pure parts: the transition table, routing, answer sanitising, citizen wording.

The table's expectations are written out by hand from the process (intake classifies and routes, the
unit drafts, its leader approves or returns, side exits for rejection, merging, extensions and
reopening), not derived from `workflow.TRANSITIONS`.
"""

from __future__ import annotations

import pytest

from backend.notifications import wording
from backend.reports import workflow
from backend.reports.routing import route
from backend.reports.sanitize import clean_html, to_plain_text
from backend.reports.service import CODE_RE
from backend.reports.workflow import Action, Actor, Role, Status
from backend.settings import Settings
from bot.templates import RATE_SCORES
from channels.base import without_diacritics
from channels.sms_text import measure, sms_text
from tests.conftest import make_settings

UNIT = "so_xay_dung"
INTAKE = Actor(Role.INTAKE, "van_phong_ubnd")
SPECIALIST = Actor(Role.SPECIALIST, UNIT)
LEADER = Actor(Role.LEADER, UNIT)
ADMIN = Actor(Role.ADMIN, None)
OTHER_LEADER = Actor(Role.LEADER, "so_y_te")


def parse_rating(payload: str) -> tuple[str, int] | None:
    """(report code, score) from a rating button's payload: the format the bot reads."""
    prefix, _, code = payload.strip().partition(":")
    score = RATE_SCORES.get(prefix + ":")
    if score is None or not CODE_RE.match(code):
        return None
    return code, score


def walk(start: Status, steps: list[tuple[Action, Actor]]) -> list[Status]:
    """Apply each step as `authorize` says; the statuses visited after each one."""
    status, seen = start, []
    for action, actor in steps:
        after = workflow.authorize(action, status=status, actor=actor, report_unit=UNIT)
        status = after or status
        seen.append(status)
    return seen


def test_happy_path_from_intake_to_completed_answer() -> None:
    steps = [
        (Action.CLASSIFY, INTAKE),
        (Action.CLASSIFY, INTAKE),  # a second correction keeps the status
        (Action.ASSIGN, INTAKE),
        (Action.ASSIGN, INTAKE),  # re-routed before the unit starts
        (Action.ACCEPT, SPECIALIST),
        (Action.SAVE_DRAFT, SPECIALIST),
        (Action.SUBMIT, SPECIALIST),
        (Action.RETURN, LEADER),  # trả bước trước, once
        (Action.SUBMIT, SPECIALIST),
        (Action.APPROVE, LEADER),
    ]
    assert walk(Status.RECEIVED, steps) == [
        Status.CLASSIFIED,
        Status.CLASSIFIED,
        Status.ASSIGNED,
        Status.ASSIGNED,
        Status.IN_PROGRESS,
        Status.IN_PROGRESS,
        Status.PENDING_APPROVAL,
        Status.IN_PROGRESS,
        Status.PENDING_APPROVAL,
        Status.COMPLETED,
    ]


def test_intake_may_assign_without_a_separate_classification() -> None:
    assert walk(Status.RECEIVED, [(Action.ASSIGN, INTAKE)]) == [Status.ASSIGNED]


@pytest.mark.parametrize(
    ("start", "action", "actor", "end"),
    [
        (Status.RECEIVED, Action.REJECT, INTAKE, Status.REJECTED),
        (Status.CLASSIFIED, Action.REJECT, INTAKE, Status.REJECTED),
        (Status.ASSIGNED, Action.REJECT, LEADER, Status.REJECTED),
        (Status.IN_PROGRESS, Action.REJECT, LEADER, Status.REJECTED),
        (Status.PENDING_APPROVAL, Action.REJECT, LEADER, Status.REJECTED),
        (Status.RECEIVED, Action.MERGE, INTAKE, Status.MERGED),
        (Status.CLASSIFIED, Action.MERGE, INTAKE, Status.MERGED),
        (Status.CLASSIFIED, Action.RETURN, INTAKE, Status.RECEIVED),
        (Status.ASSIGNED, Action.RETURN, SPECIALIST, Status.CLASSIFIED),
        (Status.IN_PROGRESS, Action.RETURN, LEADER, Status.CLASSIFIED),
        (Status.PENDING_APPROVAL, Action.RETURN, LEADER, Status.IN_PROGRESS),
        (Status.COMPLETED, Action.REOPEN, INTAKE, Status.ASSIGNED),
        (Status.COMPLETED, Action.REOPEN, LEADER, Status.ASSIGNED),
    ],
)
def test_side_exits(start: Status, action: Action, actor: Actor, end: Status) -> None:
    assert walk(start, [(action, actor)]) == [end]


@pytest.mark.parametrize("status", [Status.ASSIGNED, Status.IN_PROGRESS])
def test_extension_is_requested_by_the_unit_and_decided_by_its_leader(status: Status) -> None:
    steps = [
        (Action.REQUEST_EXTENSION, SPECIALIST),
        (Action.APPROVE_EXTENSION, LEADER),
        (Action.REQUEST_EXTENSION, LEADER),
        (Action.DENY_EXTENSION, LEADER),
    ]
    assert walk(status, steps) == [status] * 4
    with pytest.raises(workflow.Forbidden):
        walk(status, [(Action.APPROVE_EXTENSION, SPECIALIST)])


@pytest.mark.parametrize(
    ("status", "action", "actor"),
    [
        (Status.IN_PROGRESS, Action.APPROVE, LEADER),  # nothing submitted yet
        (Status.COMPLETED, Action.SUBMIT, SPECIALIST),
        (Status.IN_PROGRESS, Action.MERGE, INTAKE),  # only before the unit starts
        (Status.ASSIGNED, Action.CLASSIFY, INTAKE),
        (Status.COMPLETED, Action.REJECT, LEADER),
        (Status.REJECTED, Action.REOPEN, INTAKE),
        (Status.PENDING_APPROVAL, Action.REQUEST_EXTENSION, SPECIALIST),
        (Status.RECEIVED, Action.ACCEPT, SPECIALIST),
    ],
)
def test_right_role_wrong_moment_is_not_allowed_now(
    status: Status, action: Action, actor: Actor
) -> None:
    with pytest.raises(workflow.NotAllowedNow):
        workflow.authorize(action, status=status, actor=actor, report_unit=UNIT)


@pytest.mark.parametrize(
    ("status", "action", "actor"),
    [
        (Status.PENDING_APPROVAL, Action.APPROVE, SPECIALIST),  # never approves own work
        (Status.RECEIVED, Action.CLASSIFY, SPECIALIST),
        (Status.RECEIVED, Action.ASSIGN, LEADER),
        (Status.IN_PROGRESS, Action.REJECT, SPECIALIST),
        (Status.COMPLETED, Action.REOPEN, SPECIALIST),
        (Status.ASSIGNED, Action.ACCEPT, INTAKE),
        (Status.RECEIVED, Action.COMMENT, ADMIN),  # admin reads, changes nothing
        (Status.PENDING_APPROVAL, Action.APPROVE, OTHER_LEADER),  # another unit's report
        (Status.ASSIGNED, Action.COMMENT, OTHER_LEADER),
    ],
)
def test_wrong_role_or_other_unit_is_forbidden(
    status: Status, action: Action, actor: Actor
) -> None:
    with pytest.raises(workflow.Forbidden):
        workflow.authorize(action, status=status, actor=actor, report_unit=UNIT)


def test_other_unit_is_forbidden_even_when_the_action_does_not_apply_now() -> None:
    # Visibility is checked first: a 409 would tell another unit the report's state.
    with pytest.raises(workflow.Forbidden):
        workflow.authorize(
            Action.APPROVE, status=Status.RECEIVED, actor=OTHER_LEADER, report_unit=UNIT
        )


def test_allowed_actions_are_the_buttons_each_role_sees() -> None:
    def offered(status: Status, actor: Actor, unit: str | None = UNIT) -> set[Action]:
        return set(workflow.allowed_actions(status=status, actor=actor, report_unit=unit))

    assert offered(Status.RECEIVED, INTAKE) == {
        Action.CLASSIFY,
        Action.RELOCATE,
        Action.ASSIGN,
        Action.REJECT,
        Action.MERGE,
        Action.COMMENT,
    }
    assert offered(Status.IN_PROGRESS, SPECIALIST) == {
        Action.RELOCATE,
        Action.SAVE_DRAFT,
        Action.SUBMIT,
        Action.RETURN,
        Action.REQUEST_EXTENSION,
        Action.COMMENT,
    }
    assert offered(Status.PENDING_APPROVAL, LEADER) == {
        Action.APPROVE,
        Action.RETURN,
        Action.REJECT,
        Action.APPROVE_EXTENSION,
        Action.DENY_EXTENSION,
        Action.COMMENT,
    }
    assert offered(Status.PENDING_APPROVAL, SPECIALIST) == {Action.COMMENT}
    assert offered(Status.COMPLETED, LEADER) == {Action.REOPEN, Action.COMMENT}
    assert offered(Status.MERGED, INTAKE) == {Action.COMMENT}
    assert offered(Status.RECEIVED, ADMIN) == set()
    assert offered(Status.PENDING_APPROVAL, OTHER_LEADER) == set()
    assert offered(Status.RECEIVED, LEADER, unit=None) == set()


def test_every_offered_action_is_accepted_and_nothing_else_is() -> None:
    for status in Status:
        for actor in (INTAKE, SPECIALIST, LEADER, ADMIN, OTHER_LEADER):
            offered = workflow.allowed_actions(status=status, actor=actor, report_unit=UNIT)
            for action in Action:
                if action in offered:
                    workflow.authorize(action, status=status, actor=actor, report_unit=UNIT)
                    continue
                with pytest.raises((workflow.Forbidden, workflow.NotAllowedNow)):
                    workflow.authorize(action, status=status, actor=actor, report_unit=UNIT)


def test_can_see_across_units() -> None:
    assert workflow.can_see(INTAKE, "so_y_te") and workflow.can_see(INTAKE, None)
    assert workflow.can_see(ADMIN, "ubnd_long_chau")
    assert workflow.can_see(LEADER, UNIT) and workflow.can_see(SPECIALIST, UNIT)
    assert not workflow.can_see(LEADER, "so_y_te")
    assert not workflow.can_see(SPECIALIST, None)  # unrouted reports belong to intake
    assert not workflow.can_see(Actor(Role.SPECIALIST, None), None)  # no unit sees nothing


# --- routing, answer sanitising and citizen wording (pure) --------------------------------


def test_routing_precedence() -> None:
    settings = make_settings(
        routes=[
            {"category": "giao_thong", "commune": "Phường Phước Hậu", "unit": "ubnd_phuoc_hau"},
            {"category": "giao_thong", "unit": "van_phong_ubnd"},
        ]
    )
    # An override for this category and commune wins, then one for the category everywhere.
    assert route(settings, category="giao_thong", commune_name="phường  phước hậu") == (
        "ubnd_phuoc_hau"
    )
    assert route(settings, category="giao_thong", commune_name="Phường Long Châu") == (
        "van_phong_ubnd"
    )
    assert route(settings, category="giao_thong", commune_name=None) == "van_phong_ubnd"
    # Otherwise the category's default unit.
    assert route(settings, category="y_te", commune_name="Phường Long Châu") == "so_y_te"
    assert route(settings, category="khong_co", commune_name=None) is None
    assert route(settings, category=None, commune_name="Phường Long Châu") is None


def test_generic_commune_unit_becomes_the_communes_own_unit(settings: Settings) -> None:
    # trat_tu_do_thi goes to "UBND xã, phường nơi xảy ra sự việc" (kind commune, no name).
    assert route(settings, category="trat_tu_do_thi", commune_name="Phường Long Châu") == (
        "ubnd_long_chau"
    )
    assert route(settings, category="trat_tu_do_thi", commune_name="Xã Không Có") == "ubnd_xa"
    assert route(settings, category="trat_tu_do_thi", commune_name=None) == "ubnd_xa"
    # A department's category stays with the department whatever the commune.
    assert route(settings, category="dien_chieu_sang", commune_name="Phường Long Châu") == (
        "dien_luc"
    )


@pytest.mark.parametrize(
    ("raw", "kept", "gone"),
    [
        ('<p onclick="x()">Chào <b>anh</b></p>', "<p>Chào <b>anh</b></p>", "onclick"),
        ("<script>alert('x')</script>Đã sửa", "Đã sửa", "alert"),
        ('<a href="javascript:alert(1)">bấm</a>', "bấm", "javascript"),
        ('<a href="/admin">bấm</a>', "bấm", "/admin"),
        ('<img src=x onerror="alert(1)"><h3>Kết quả</h3>', "<h3>Kết quả</h3>", "img"),
        ('<a href="https://vinhlong.gov.vn">cổng</a>', 'rel="noopener"', "<script"),
        ("<iframe src='https://x'></iframe><table><tr><td>ô</td></tr></table>", "ô", "<td"),
    ],
)
def test_clean_html_keeps_only_the_allowed_markup(raw: str, kept: str, gone: str) -> None:
    cleaned = clean_html(raw)
    assert kept in cleaned
    assert gone not in cleaned


def test_plain_textarea_input_keeps_its_lines_and_is_escaped() -> None:
    cleaned = clean_html("Đã vá ổ gà.\nCảm ơn anh.\n\nTrân trọng, a < b & c")
    assert cleaned == "<p>Đã vá ổ gà.<br>Cảm ơn anh.</p><p>Trân trọng, a &lt; b &amp; c</p>"
    assert to_plain_text(cleaned) == "Đã vá ổ gà.\nCảm ơn anh.\nTrân trọng, a < b & c"


def test_plain_text_for_chat() -> None:
    html = (
        "<h3>Kết quả</h3>\n<p>Đã vá&nbsp;xong &amp; dọn dẹp.<br>Xem thêm "
        '<a href="https://vinhlong.gov.vn/tb">thông báo</a>.</p>'
        "<ul>\n  <li>Ngày 24/11</li>\n  <li>Ngày 25/11</li>\n</ul><p>Trân trọng.</p>"
    )
    assert to_plain_text(html) == (
        "Kết quả\nĐã vá xong & dọn dẹp.\nXem thêm thông báo (https://vinhlong.gov.vn/tb).\n"
        "- Ngày 24/11\n- Ngày 25/11\nTrân trọng."
    )


def test_every_citizen_message_names_the_report_and_is_vietnamese() -> None:
    code, due = "202611230007", "30/11/2026"
    notices = [
        wording.assigned(code, "Sở Xây dựng", due),
        wording.extended(code, due),
        wording.rejected(code, "Không thuộc thẩm quyền"),
        wording.merged(code, "202611230001"),
        wording.clustered(code, "202611230001"),
        wording.answer(code, "Đã vá."),
        wording.answer(code, "Đã vá.", ask_rating=False),
        wording.reopened(code, due),
    ]
    for notice in notices:
        for text in (notice.text, notice.sms):
            assert code in text and any(ch in text for ch in "ảãơưđáàạêôă"), text
    assert wording.answer(code, "Đã vá.").text.endswith("không?")
    assert "không?" not in wording.answer(code, "Đã vá.", ask_rating=False).text


def test_sms_forms_fit_one_segment_without_diacritics() -> None:
    """An update by SMS costs one segment: the short form, folded to GSM-7, fits 160."""
    code, due, unit = "202611230007", "30/11/2026", "Phòng Kinh tế, Hạ tầng và Đô thị"
    notices = [
        wording.assigned(code, unit, due),
        wording.extended(code, due),
        wording.rejected(code, "Không thuộc thẩm quyền giải quyết của xã"),
        wording.merged(code, "202611230001"),
        wording.clustered(code, "202611230001"),
        wording.answer(code, "Đã vá xong ổ gà trước nhà số 12."),
        wording.reopened(code, due),
    ]
    for notice in notices:
        reply = notice.reply()
        body = sms_text(reply, segments=1)
        assert measure(body).encoding == "GSM-7" and measure(body).segments == 1, body
        assert code in body and len(body) < len(without_diacritics(notice.text)), body


def test_rating_payloads_round_trip_and_nothing_else_parses() -> None:
    buttons = wording.rating_buttons("202611230007")
    assert [parse_rating(b.payload) for b in buttons] == [
        ("202611230007", 3),
        ("202611230007", 2),
        ("202611230007", 1),
    ]
    for payload in ("/rate_great:202611230007", "/rate_good:2026", "/confirm", "rate_good:1"):
        assert parse_rating(payload) is None
