"""Open311 fixtures: the app on each database, a client key, a fake DNS, helpers.

    def test_x(open311, api_key):
        response = open311.post("/open311/v2/requests.json", data={"api_key": api_key, ...})

The app's `open311_resolver` is a fake: `photos.example.vn` is public, `cdn.internal.vn`
resolves to a private address, any other name does not resolve.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.app import create_app
from backend.citizens.models import Citizen
from backend.db import make_session_factory, unit_of_work, utcnow
from backend.open311 import keys
from backend.open311.models import Open311Request
from backend.reports.models import Attachment, Report, ReportEvent
from backend.settings import Settings
from nlu import Nlu
from tests.conftest import make_settings
from tests.console.conftest import console_client, console_settings, login_as

__all__ = ["console_client", "console_settings", "login_as"]  # the console's fixtures, reused

BASE = "/open311/v2"
FAKE_DNS = {"photos.example.vn": ["93.184.216.34"], "cdn.internal.vn": ["10.1.2.3"]}
# Hoàn Kiếm, Hà Nội would be outside no box; this pin is in Vĩnh Long.
LAT, LON = "10.2537", "105.9722"


def fake_resolver(host: str, port: int) -> list[str]:
    try:
        return FAKE_DNS[host]
    except KeyError:
        raise OSError(f"unknown host {host}") from None


@pytest.fixture
def open311_settings(database_url: str) -> Settings:
    return make_settings(database_url=database_url)


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def open311(engine: Engine, open311_settings: Settings, nlu: Nlu) -> Iterator[TestClient]:
    app = create_app(open311_settings, nlu=nlu)
    app.state.open311_resolver = fake_resolver
    with TestClient(app) as client:
        yield client


@pytest.fixture
def api_key(sessions: sessionmaker[Session]) -> str:
    with unit_of_work(sessions) as session:
        return keys.add_key(session, name="Ứng dụng Công dân số", now=utcnow()).key


def submit(client: TestClient, api_key: str, fmt: str = "json", **fields: Any) -> Any:
    data = {
        "api_key": api_key,
        "description": "Đèn đường trước chợ bị hư mấy hôm nay, tối rất tối.",
        "lat": LAT,
        "long": LON,
        **fields,
    }
    data = {k: v for k, v in data.items() if v is not None}
    return client.post(f"{BASE}/requests.{fmt}", data=data)


def stored_counts(sessions: sessionmaker[Session]) -> dict[str, int]:
    """How many rows an Open311 POST could have written, per table."""
    models = (Report, ReportEvent, Attachment, Citizen, Open311Request)
    with sessions() as session:
        return {
            m.__tablename__: session.scalar(select(func.count()).select_from(m)) or 0
            for m in models
        }
