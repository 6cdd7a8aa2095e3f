"""Portal fixtures: the app on each database, an anonymous client, and seeding reports.

    def test_something(client, seed):
        code = seed(title="Đèn đường hư", published=True, category="giao_thong")
        page = client.get(f"/cong-dong/{code}")

`seed` creates a report through the reports service (tests/console/test_inbox.add_report)
and sets the other fields (published, status, answer, merged_into_id, ...) directly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from backend.app import create_app
from backend.db import make_session_factory
from backend.media import LocalMediaStore
from backend.reports.models import Report
from backend.settings import Settings
from nlu import Nlu
from tests.conftest import make_settings
from tests.console.test_inbox import add_report

Seed = Callable[..., str]
FindId = Callable[[str], int]


@pytest.fixture
def portal_settings(database_url: str) -> Settings:
    return make_settings(database_url=database_url)


@pytest.fixture
def client(
    engine: Engine, portal_settings: Settings, nlu: Nlu, tmp_path: Path
) -> Iterator[TestClient]:
    """An anonymous client; the app keeps media in a temporary folder."""
    app = create_app(portal_settings, nlu=nlu)
    app.state.media_store = LocalMediaStore(tmp_path / "media")
    with TestClient(app) as client:
        yield client


@pytest.fixture
def seed(engine: Engine, portal_settings: Settings) -> Seed:
    def make(*, ago: timedelta = timedelta(hours=1), **fields: Any) -> str:
        fields.setdefault("published", True)
        fields.setdefault("status", "completed")
        return add_report(engine, portal_settings, ago=ago, **fields)

    return make


@pytest.fixture
def report_id(engine: Engine) -> FindId:
    sessions = make_session_factory(engine)

    def find(code: str) -> int:
        with sessions() as session:
            report = session.query(Report).filter_by(code=code).one()
            return report.id

    return find


def codes(html: str) -> list[str]:
    """Codes of the list's report cards, in display order."""
    return re.findall(r'<li class="report-card[^"]*" data-code="(\d+)"', html)
