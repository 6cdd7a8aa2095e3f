"""Console fixtures: the app on each database and clients logged in as a given role.

    def test_something(login_as):
        intake = login_as("intake")                        # unit: none
        leader = login_as("leader", unit_id="dien_luc")    # default unit: dien_luc
        page = leader.get("/console/reports")
        leader.post("/console/...", data={"csrf_token": leader.csrf, ...})

Each `login_as` call creates an account through the staff service (password
PASSWORD), logs in through the real login form, and returns its own TestClient
(own cookies) on the shared app, with `.csrf` (the session's CSRF token),
`.user_id` and `.username` set.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from backend.app import create_app
from backend.db import make_session_factory, unit_of_work, utcnow
from backend.reports.workflow import Role
from backend.settings import Settings
from backend.staff import service
from backend.staff.service import SESSION_COOKIE
from nlu import Nlu
from tests.conftest import make_settings

PASSWORD = "mat-khau-thu-nghiem"
DEFAULT_UNIT = "dien_luc"  # for specialists and leaders when the test names none

LoginAs = Callable[..., TestClient]


@pytest.fixture
def console_settings(database_url: str) -> Settings:
    return make_settings(database_url=database_url)


@pytest.fixture
def console_client(engine: Engine, console_settings: Settings, nlu: Nlu) -> Iterator[TestClient]:
    """An anonymous client; its `with` block runs the app's startup and shutdown."""
    with TestClient(create_app(console_settings, nlu=nlu)) as client:
        yield client


def login_form(
    client: TestClient, *, username: str, password: str, next: str = ""
) -> httpx.Response:
    """GET the login page (sets the login CSRF cookie) and POST the form; returns the response."""
    page = client.get("/console/login", params={"next": next} if next else None)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, "login form without a CSRF token"
    data = {"username": username, "password": password, "csrf_token": match.group(1)}
    if next:
        data["next"] = next
    return client.post("/console/login", data=data, follow_redirects=False)


@pytest.fixture
def login_as(
    console_client: TestClient, engine: Engine, console_settings: Settings
) -> Iterator[LoginAs]:
    sessions = make_session_factory(engine)
    counter = iter(range(1, 10_000))
    clients: list[TestClient] = []

    def login(role: str, unit_id: str | None = None, username: str | None = None) -> TestClient:
        if unit_id is None and Role(role) in service.UNIT_ROLES:
            unit_id = DEFAULT_UNIT
        username = username or f"{role}{next(counter)}"
        with unit_of_work(sessions) as session:
            user = service.create_user(
                session,
                username=username,
                full_name=f"Cán bộ {username}",
                password=PASSWORD,
                role=role,
                unit_id=unit_id,
                settings=console_settings,
                now=utcnow(),
            )
            user_id = user.id
        client = TestClient(console_client.app)
        clients.append(client)
        client.portal = console_client.portal  # requests run on the app's own event loop
        response = login_form(client, username=username, password=PASSWORD)
        assert response.status_code == 303, response.text
        with sessions() as session:
            found = service.resolve_session(
                session, token=client.cookies[SESSION_COOKIE], now=utcnow()
            )
            assert found is not None
            client.csrf = found[1].csrf_token  # type: ignore[attr-defined]
        client.user_id = user_id  # type: ignore[attr-defined]
        client.username = username  # type: ignore[attr-defined]
        return client

    yield login
    for client in clients:
        client.close()
