"""Demo data for `make run`: a handful of reports so a newcomer sees a living system.

Idempotent: reports are created through the same service as chat reports and
keyed by their content, so running it twice adds nothing.
"""

from __future__ import annotations

from sqlalchemy import select

from backend.db import make_engine, make_session_factory, unit_of_work, utcnow
from backend.reports.models import Report
from backend.reports.schemas import ReportCreate
from backend.reports.service import create_report
from backend.settings import Settings
from backend.staff.demo import DemoAccount, seed_demo_staff

DEMO_REPORTS: tuple[dict[str, object], ...] = (
    {
        "content": (
            "Đèn đường hẻm 12 Nguyễn Trãi bị tắt cả tuần nay, buổi tối rất tối và nguy hiểm."
        ),
        "category": "dien_chieu_sang",
        "commune_name": "Phường Phước Hậu",
        "location_raw": "hẻm 12 Nguyễn Trãi, phường 3, TP Vĩnh Long",
        "location_detail": "hẻm 12 Nguyễn Trãi",
        "location_old_names": ["Phường 3", "Thành phố Vĩnh Long"],
        "public_consent": True,
    },
    {
        "content": "Rác thải tập kết trước chợ Long Hồ mấy ngày không ai thu gom, bốc mùi hôi.",
        "category": "moi_truong",
        "location_raw": "trước chợ Long Hồ",
        "location_detail": "trước chợ Long Hồ",
        "public_consent": True,
    },
    {
        "content": "Ổ gà lớn trên Quốc lộ 1A đoạn gần cầu Cái Vồn, xe máy đi qua dễ té ngã.",
        "category": "giao_thong",
        "commune_name": "Phường Cái Vồn",
        "location_raw": "QL1A gần cầu Cái Vồn",
        "location_detail": "Quốc lộ 1A gần cầu Cái Vồn",
        "public_consent": False,
        "reporter_name": "Nguyễn Văn An",
        "reporter_phone": "+84912345678",
    },
)


def seed_demo(settings: Settings) -> tuple[int, list[DemoAccount]]:
    """Demo reports, and the demo staff accounts unless this is production."""
    engine = make_engine(settings.database_url)
    created = 0
    accounts: list[DemoAccount] = []
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            if settings.env != "production":
                accounts = seed_demo_staff(session, settings=settings, now=utcnow())
            for item in DEMO_REPORTS:
                exists = session.scalar(select(Report.id).where(Report.content == item["content"]))
                if exists is not None:
                    continue
                data = ReportCreate.model_validate(
                    {
                        **item,
                        "channel": "demo",
                        "province_code": settings.province.code,
                        "province_name": settings.province.name,
                    }
                )
                create_report(session, data=data, settings=settings, now=utcnow())
                created += 1
    finally:
        engine.dispose()
    return created, accounts
