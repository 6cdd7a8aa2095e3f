"""The console's report page: what it shows, its action forms, reveals, merges and answer files."""

from __future__ import annotations

import html as htmllib
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import Engine, select

from backend.citizens.models import Citizen
from backend.conversations.models import Conversation, ConversationEvent
from backend.db import make_session_factory, unit_of_work
from backend.reports.models import Attachment, Report
from backend.settings import Settings
from backend.staff.models import AuditEntry
from tests.conftest import make_settings
from tests.console.conftest import LoginAs
from tests.console.test_inbox import add_report

PHONE = "+84912345678"
KEY = "ab/cd/" + "1" * 64 + ".jpg"
THUMB = "ab/cd/" + "2" * 64 + ".jpg"
AUDIO = "ef/01/" + "3" * 64 + ".mp3"
VIDEO = "ef/02/" + "4" * 64 + ".mp4"


@pytest.fixture
def console_settings(database_url: str, tmp_path: Path) -> Settings:
    """No map tiles (offline), media in a temporary folder, two answer templates."""
    return make_settings(
        database_url=database_url,
        console={"tile_url": ""},
        media={"root": str(tmp_path / "media")},
        answer_templates=[
            {
                "title": "Đã sửa đèn",
                "text": "Đơn vị đã thay bóng đèn.",
                "category": "dien_chieu_sang",
            },
            {"title": "Cảm ơn chung", "text": "Cảm ơn ông/bà đã phản ánh."},
            {"title": "Đã nạo vét", "text": "Đã nạo vét cống.", "category": "cap_thoat_nuoc"},
        ],
    )


def _fetch(engine: Engine, code: str) -> Report:
    with make_session_factory(engine)() as session:
        report = session.scalar(select(Report).where(Report.code == code))
        assert report is not None
        session.expunge(report)
        return report


def _with_media_and_transcript(engine: Engine, code: str) -> None:
    now = datetime.now(UTC)
    with unit_of_work(make_session_factory(engine)) as session:
        report = session.scalar(select(Report).where(Report.code == code))
        assert report is not None
        citizen = Citizen(phone=PHONE, created_at=now, updated_at=now)
        session.add(citizen)
        session.flush()
        conversation = Conversation(
            channel="voice", external_user_id="call-1", citizen_id=citizen.id, state={}
        )
        session.add(conversation)
        session.flush()
        report.conversation_id = conversation.id
        for i, (direction, text) in enumerate(
            [("out", "Xin chào, mời nói nội dung phản ánh"), ("in", f"Đèn hư, gọi {PHONE}")]
        ):
            session.add(
                ConversationEvent(
                    conversation_id=conversation.id,
                    direction=direction,
                    kind="speech" if direction == "in" else "say",
                    text=text,
                    created_at=now - timedelta(minutes=10 - i),
                )
            )
        for kind, key, thumb in (
            ("image", KEY, THUMB),
            ("audio", AUDIO, None),
            ("video", VIDEO, None),
        ):
            report.attachments.append(
                Attachment(
                    kind=kind, status="stored", storage_key=key, thumbnail_key=thumb, created_at=now
                )
            )
        report.attachments.append(
            Attachment(kind="image", status="failed", error="404", created_at=now)
        )


def test_page_shows_media_transcript_timeline_and_map(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    code = add_report(
        engine,
        console_settings,
        content="Đèn đường trước chợ bị hư",
        category="dien_chieu_sang",
        category_confidence=0.87,
        channel="voice",
        urgent=True,
        urgent_reasons=["dây điện rơi xuống đường"],
        location_raw="trước chợ xã Long Đức cũ",
        commune_name="Phường Long Châu",
        location_old_names=["Xã Long Đức"],
        lat=10.2537,
        lon=105.9722,
    )
    _with_media_and_transcript(engine, code)
    page = login_as("intake").get(f"/console/reports/{code}")
    assert page.status_code == 200
    html = page.text
    assert f'href="/media/{KEY}"' in html and f'src="/media/{THUMB}"' in html
    assert f'<audio controls preload="metadata" src="/media/{AUDIO}">' in html
    assert "Ghi âm cuộc gọi" in html
    assert f'src="/media/{VIDEO}"' in html
    assert "Không tải được một tệp (ảnh)" in html
    citizen_line = html.index("Đèn hư, gọi")
    assert html.index("Xin chào, mời nói nội dung phản ánh") < citizen_line  # oldest first
    assert 'data-lat="10.2537"' in html and 'data-lon="105.9722"' in html
    assert 'data-tile-url=""' in html  # no tiles configured: no network
    assert "/console/static/vendor/leaflet/leaflet.js" in html
    assert "Xã Long Đức" in html and "trước chợ xã Long Đức cũ" in html
    assert "Điện, chiếu sáng" in html and "độ tin cậy 87%" in html
    assert "dây điện rơi xuống đường" in html
    timeline = html.split('id="timeline"')[1]
    assert "Tiếp nhận phản ánh" in timeline and "Người dân (Tổng đài)" in timeline


def test_no_map_without_coordinates_and_unknown_codes_are_404(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    code = add_report(engine, console_settings)
    intake = login_as("intake")
    html = intake.get(f"/console/reports/{code}").text
    assert 'id="report-map"' not in html and "leaflet.js" not in html
    missing = intake.get("/console/reports/209901010001", headers={"accept": "text/html"})
    assert missing.status_code == 404 and "Không tìm thấy phản ánh" in missing.text
    assert intake.get("/console/reports/../../etc").status_code == 404


def test_personal_data_is_masked_until_an_audited_reveal(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    code = add_report(
        engine,
        console_settings,
        content="Cột điện nghiêng, liên hệ 0912345678 hoặc CCCD 079123456789",
        reporter_name="Trần Văn Bình",
        reporter_phone=PHONE,
        unit_id="dien_luc",
        status="assigned",
    )
    specialist = login_as("specialist", unit_id="dien_luc")
    masked = specialist.get(f"/console/reports/{code}").text
    assert "0912345678" not in masked and PHONE not in masked and "079123456789" not in masked
    assert "Trần Văn Bình" in masked and "+8491" in masked  # masked, still recognisable
    assert "Hiện thông tin cá nhân" in masked
    revealed = specialist.post(
        f"/console/reports/{code}/reveal", data={"csrf_token": specialist.csrf}
    )
    assert revealed.status_code == 200
    assert PHONE in revealed.text and "0912345678" in revealed.text
    assert revealed.headers["cache-control"] == "no-store"
    with make_session_factory(engine)() as session:
        entries = list(session.scalars(select(AuditEntry).where(AuditEntry.action == "view_pii")))
    assert [(e.actor_id, e.report_id is not None, e.client_ip) for e in entries] == [
        (specialist.user_id, True, "testclient")
    ]
    # Reloading the page masks again: the reveal was for that response only.
    assert PHONE not in specialist.get(f"/console/reports/{code}").text


def test_admin_never_sees_unmasked_data(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    code = add_report(engine, console_settings, reporter_phone=PHONE, reporter_name="Bình")
    admin = login_as("admin")
    page = admin.get(f"/console/reports/{code}").text
    assert PHONE not in page and "Hiện thông tin cá nhân" not in page
    refused = admin.post(f"/console/reports/{code}/reveal", data={"csrf_token": admin.csrf})
    assert refused.status_code == 403 and PHONE not in refused.text
    no_csrf = login_as("intake").post(f"/console/reports/{code}/reveal")
    assert no_csrf.status_code == 403 and PHONE not in no_csrf.text
    with make_session_factory(engine)() as session:
        assert (
            session.scalars(select(AuditEntry).where(AuditEntry.action == "view_pii")).all() == []
        )


def _post(client: object, code: str, action: str, **data: str) -> object:
    return client.post(  # type: ignore[attr-defined]
        f"/console/reports/{code}/actions/{action}",
        data={"csrf_token": client.csrf, **data},  # type: ignore[attr-defined]
        headers={"accept": "text/html"},
        follow_redirects=False,
    )


def test_actions_move_the_report_and_appear_on_the_timeline(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    code = add_report(
        engine,
        console_settings,
        content="Đèn đường hư",
        category="giao_thong",
        reporter_phone=PHONE,
    )
    intake = login_as("intake")
    page = intake.get(f"/console/reports/{code}").text
    assert re.search(r'<option value="giao_thong" selected>', page)  # current category preselected
    classified = _post(intake, code, "classify", category="dien_chieu_sang", comment="Đúng là đèn")
    assert classified.status_code == 303
    assert classified.headers["location"] == f"/console/reports/{code}?flash=classify"
    after = intake.get(classified.headers["location"]).text
    assert "Đã thực hiện: Xác nhận phân loại." in after
    timeline = after.split('id="timeline"')[1]
    assert "Xác nhận phân loại" in timeline and "Mới tiếp nhận → Đã phân loại, xác minh" in timeline
    assert "Đúng là đèn" in timeline and "Cán bộ intake" in timeline
    # The assign form suggests the unit the routing rule gives for the new category.
    assert re.search(r'<option value="dien_luc" selected>', after)
    assert _post(intake, code, "assign", unit_id="dien_luc").status_code == 303
    specialist = login_as("specialist", unit_id="dien_luc")
    assert _post(specialist, code, "accept").status_code == 303
    draft = "<p>Đã thay <b>bóng đèn</b>.</p>"
    assert _post(specialist, code, "submit", answer=draft).status_code == 303
    leader = login_as("leader", unit_id="dien_luc")
    assert _post(leader, code, "approve").status_code == 303
    report = _fetch(engine, code)
    assert (report.status, report.unit_id) == ("completed", "dien_luc")
    done = leader.get(f"/console/reports/{code}").text
    assert '<div class="answer approved"><p>Đã thay <b>bóng đèn</b>.</p></div>' in done
    assert "Chờ phê duyệt → Hoàn thành" in done


def test_only_the_allowed_action_forms_are_shown(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    code = add_report(engine, console_settings, category="dien_chieu_sang")
    intake_page = login_as("intake").get(f"/console/reports/{code}").text
    assert f"/console/reports/{code}/actions/classify" in intake_page
    assert f"/console/reports/{code}/actions/assign" in intake_page
    assert f"/console/reports/{code}/actions/approve" not in intake_page
    specialist_page = login_as("specialist", unit_id="dien_luc").get(f"/console/reports/{code}")
    assert "/actions/" not in specialist_page.text.replace("/actions/comment", "")
    admin_page = login_as("admin").get(f"/console/reports/{code}").text
    assert "/actions/" not in admin_page


def test_refused_actions_render_an_error_and_change_nothing(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    code = add_report(engine, console_settings, category="dien_chieu_sang")
    other = add_report(engine, console_settings, unit_id="ubnd_phuoc_hau", status="assigned")
    intake = login_as("intake")
    specialist = login_as("specialist", unit_id="dien_luc")
    leader = login_as("leader", unit_id="dien_luc")
    cases = [
        (intake, code, "fly_away", {}, 404),
        (specialist, code, "classify", {"category": "giao_thong"}, 403),
        (leader, code, "approve", {}, 409),
        (intake, code, "reject", {}, 400),  # a rejection needs its reason
        (intake, code, "relocate", {"lat": "abc", "lon": "1"}, 422),
        (specialist, other, "comment", {"comment": "xem giúp"}, 403),  # another unit's report
    ]
    for client, target, action, data, status in cases:
        response = _post(client, target, action, **data)
        assert response.status_code == status, (action, response.text)
        assert "text/html" in response.headers["content-type"]
        assert 'class="card error-page"' in response.text
    assert "Hãy ghi rõ lý do từ chối" in _post(intake, code, "reject").text
    report = _fetch(engine, code)
    assert (report.status, report.category, len(_events(engine, code))) == (
        "received",
        "dien_chieu_sang",
        1,
    )


def _events(engine: Engine, code: str) -> list[str]:
    with make_session_factory(engine)() as session:
        report = session.scalar(select(Report).where(Report.code == code))
        assert report is not None
        return [e.kind for e in report.events]


def test_duplicate_candidates_offer_a_one_click_merge(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    s = console_settings
    first = add_report(
        engine,
        s,
        content="Cột điện nghiêng sắp đổ ở ấp Phú Hữu",
        commune_code="29870",
        ago=timedelta(days=1),
    )
    again = add_report(
        engine, s, content="Cot dien bi nghieng sap do o ap Phu Huu", commune_code="29870"
    )
    unrelated = add_report(engine, s, content="Trường học thiếu nước sạch", commune_code="29870")
    intake = login_as("intake")
    page = intake.get(f"/console/reports/{again}").text
    duplicates = page.split('class="duplicates"')[1].split("</ul>")[0]
    assert f'data-code="{first}"' in duplicates and unrelated not in duplicates
    assert f'<input type="hidden" name="target_code" value="{first}">' in duplicates
    assert "Gộp vào phản ánh này" in duplicates
    merged = _post(intake, again, "merge", target_code=first)
    assert merged.status_code == 303
    report = _fetch(engine, again)
    assert report.status == "merged" and report.merged_into_id == _fetch(engine, first).id


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_answer_files_are_stored_for_the_units_handlers_only(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    working = add_report(engine, console_settings, unit_id="dien_luc", status="in_progress")
    waiting = add_report(engine, console_settings, unit_id="dien_luc", status="assigned")
    specialist = login_as("specialist", unit_id="dien_luc")
    intake = login_as("intake")

    def upload(client: object, code: str) -> object:
        return client.post(  # type: ignore[attr-defined]
            f"/console/reports/{code}/answer-attachments",
            data={"csrf_token": client.csrf},  # type: ignore[attr-defined]
            files={"file": ("ảnh hiện trường.png", _png(), "image/png")},
            follow_redirects=False,
        )

    assert upload(intake, working).status_code == 403
    assert upload(specialist, waiting).status_code == 409
    ok = upload(specialist, working)
    assert ok.status_code == 303 and ok.headers["location"].endswith("?flash=attached")
    with make_session_factory(engine)() as session:
        files = session.scalars(select(Attachment).where(Attachment.purpose == "answer")).all()
        assert [(f.kind, f.status, f.filename, f.mime_type) for f in files] == [
            ("image", "stored", "ảnh hiện trường.png", "image/png")
        ]
        key = files[0].storage_key
    assert key and (console_settings.media.root / key).is_file()
    page = specialist.get(ok.headers["location"]).text
    assert "Đã đính kèm tệp vào câu trả lời." in page
    assert f'href="/media/{key}"' in page and "ảnh hiện trường.png" in page
    assert "Đính kèm tệp vào câu trả lời" in page.split('id="timeline"')[1]
    assert specialist.get(f"/media/{key}").content == _png()


def test_answer_editor_offers_the_categorys_templates(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    code = add_report(
        engine,
        console_settings,
        category="dien_chieu_sang",
        unit_id="dien_luc",
        status="in_progress",
    )
    page = login_as("specialist", unit_id="dien_luc").get(f"/console/reports/{code}").text
    editor = page.split('class="action answer-editor"')[1].split("</form>")[0]
    assert 'data-text="Đơn vị đã thay bóng đèn."' in editor
    assert 'data-text="Cảm ơn ông/bà đã phản ánh."' in editor
    assert "Đã nạo vét" not in editor  # another category's template
    assert 'formaction="/console/reports/' + code + '/actions/save_draft"' in editor
    assert htmllib.unescape("Lưu dự thảo") in editor
