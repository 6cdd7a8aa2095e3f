"""The admin's Zalo OA page: connection state without tokens, and re-authorisation with PKCE
through the fake Zalo OAuth server (its code "code-1" works once), on both databases.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from backend.app import create_app
from backend.channels.registry import Channels
from backend.channels.token_models import ZaloOAuthState
from backend.channels.zalo_token_store import DbTokenStore
from backend.db import make_session_factory, unit_of_work, utcnow
from backend.settings import Settings
from backend.staff import service
from backend.staff.models import AuditEntry
from channels.zalo_tokens import TokenError, TokenPair
from nlu import Nlu
from tests.channels.zalo.conftest import make_adapter
from tests.console.conftest import PASSWORD, LoginAs, login_form
from tests.fakes.server import serve
from tests.fakes.zalo_api import APP_ID, FakeZalo

CALLBACK = "http://127.0.0.1:8000/console/zalo/callback"


@pytest.fixture(scope="module")
def zalo_server() -> Iterator[tuple[FakeZalo, str]]:
    fake = FakeZalo()
    with serve(fake.app) as url:
        yield fake, url


@pytest.fixture
def fake(zalo_server: tuple[FakeZalo, str]) -> FakeZalo:
    zalo_server[0].reset()
    return zalo_server[0]


@pytest.fixture
def console_client(
    engine: Engine, console_settings: Settings, nlu: Nlu, zalo_server: tuple[FakeZalo, str]
) -> Iterator[TestClient]:
    """The console with a Zalo adapter whose tokens live in the database, at the fake Zalo."""
    adapter = make_adapter(zalo_server[1], DbTokenStore(make_session_factory(engine)), clock=utcnow)
    channels = Channels(webhook={"zalo": adapter}, senders={"zalo": adapter})
    with TestClient(create_app(console_settings, nlu=nlu, channels=channels)) as client:
        yield client


def start(admin: TestClient) -> dict[str, str]:
    """Press "Kết nối lại Zalo OA"; returns the query of the Zalo permission link."""
    response = admin.post(
        "/console/zalo/connect", data={"csrf_token": admin.csrf}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    link = urlsplit(response.headers["location"])
    assert link.path == "/v4/oa/permission"
    return {k: v[0] for k, v in parse_qs(link.query).items()}


def audit_actions(engine: Engine) -> list[str]:
    with make_session_factory(engine)() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_the_page_shows_the_state_but_never_a_token(login_as: LoginAs, engine: Engine) -> None:
    admin = login_as("admin")
    page = admin.get("/console/zalo")
    assert page.status_code == 200
    assert 'data-state="disconnected"' in page.text and "Chưa kết nối" in page.text
    assert "Kết nối lại Zalo OA" in page.text and 'href="/console/zalo"' in page.text

    expires = utcnow() + timedelta(hours=20)
    store = DbTokenStore(make_session_factory(engine))
    asyncio.run(store.save(TokenPair("at-secret-9", "rt-secret-9", expires)))
    page = admin.get("/console/zalo")
    assert 'data-state="connected"' in page.text and "Mã truy cập hết hạn lúc" in page.text
    assert "Làm mới gần nhất" in page.text
    assert "at-secret-9" not in page.text and "rt-secret-9" not in page.text


@pytest.mark.parametrize("role", ["intake", "specialist", "leader"])
def test_only_admins_see_or_start_the_connection(login_as: LoginAs, role: str) -> None:
    staff = login_as(role)
    assert staff.get("/console/zalo").status_code == 403
    assert 'href="/console/zalo"' not in staff.get("/console/reports").text
    refused = staff.post("/console/zalo/connect", data={"csrf_token": staff.csrf})
    assert refused.status_code == 403
    assert staff.get("/console/zalo/callback?code=code-1&state=x").status_code == 403


def test_reconnecting_exchanges_the_code_with_pkce_and_stores_the_pair(
    login_as: LoginAs, fake: FakeZalo, engine: Engine
) -> None:
    admin = login_as("admin")
    query = start(admin)
    assert query["app_id"] == APP_ID and query["redirect_uri"] == CALLBACK
    with make_session_factory(engine)() as session:
        stored = session.scalars(select(ZaloOAuthState)).one()
        assert stored.state_hash != query["state"], "the state is kept hashed"

    done = admin.get(
        "/console/zalo/callback",
        params={"code": "code-1", "state": query["state"], "oa_id": "1"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/console/zalo?connected=1"
    exchange = next(c for c in fake.calls if c.form.get("grant_type") == "authorization_code")
    verifier = exchange.form["code_verifier"]
    digest = hashlib.sha256(verifier.encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == query["code_challenge"]
    assert len(verifier) >= 43

    page = admin.get("/console/zalo?connected=1")
    assert "Đã kết nối lại Zalo OA." in page.text and 'data-state="connected"' in page.text
    with make_session_factory(engine)() as session:
        assert session.scalars(select(ZaloOAuthState)).all() == [], "the state was consumed"
    pair = _stored_pair(engine)
    assert (pair.access_token, pair.refresh_token) == ("at-1", "rt-1")
    assert audit_actions(engine)[-2:] == ["zalo_connect_start", "zalo_connect"]

    again = admin.get("/console/zalo/callback", params={"code": "code-1", "state": query["state"]})
    assert again.status_code == 400 and "không hợp lệ hoặc đã được dùng" in again.text


def test_a_wrong_or_expired_state_is_refused_in_vietnamese(
    login_as: LoginAs, fake: FakeZalo, engine: Engine
) -> None:
    admin, other = login_as("admin"), login_as("admin")
    wrong = admin.get("/console/zalo/callback", params={"code": "code-1", "state": "guessed"})
    assert wrong.status_code == 400 and "không hợp lệ" in wrong.text

    query = start(admin)
    stolen = other.get("/console/zalo/callback", params={"code": "code-1", "state": query["state"]})
    assert stolen.status_code == 400 and "quản trị viên khác" in stolen.text

    query = start(admin)
    with make_session_factory(engine).begin() as session:
        session.execute(update(ZaloOAuthState).values(expires_at=utcnow() - timedelta(seconds=1)))
    late = admin.get("/console/zalo/callback", params={"code": "code-1", "state": query["state"]})
    assert late.status_code == 400 and "đã hết hạn" in late.text

    query = start(admin)
    denied = admin.get("/console/zalo/callback", params={"state": query["state"]})
    assert denied.status_code == 400 and "không gửi mã cấp quyền" in denied.text

    assert not [c for c in fake.calls if c.form.get("grant_type")], "Zalo was never asked"
    assert _stored_pair(engine) is None


def test_a_code_zalo_refuses_leaves_the_oa_disconnected(
    login_as: LoginAs, fake: FakeZalo, engine: Engine
) -> None:
    admin = login_as("admin")
    query = start(admin)
    refused = admin.get(
        "/console/zalo/callback", params={"code": "code-forged", "state": query["state"]}
    )
    assert refused.status_code == 502 and "Zalo từ chối mã cấp quyền" in refused.text
    assert _stored_pair(engine) is None
    assert audit_actions(engine)[-1] == "zalo_connect_failed"


def _stored_pair(engine: Engine) -> TokenPair | None:
    try:
        return asyncio.run(DbTokenStore(make_session_factory(engine)).load())
    except TokenError:
        return None


def test_without_zalo_settings_the_page_says_so_and_offers_no_grant(
    engine: Engine, console_settings: Settings, nlu: Nlu
) -> None:
    with unit_of_work(make_session_factory(engine)) as session:
        service.create_user(
            session,
            username="quantri",
            full_name="Quản trị",
            password=PASSWORD,
            role="admin",
            unit_id=None,
            settings=console_settings,
            now=utcnow(),
        )
    with TestClient(create_app(console_settings, nlu=nlu)) as admin:
        assert login_form(admin, username="quantri", password=PASSWORD).status_code == 303
        page = admin.get("/console/zalo")
        assert 'data-state="not-configured"' in page.text
        assert "Kết nối lại Zalo OA" not in page.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf is not None
        refused = admin.post(
            "/console/zalo/connect", data={"csrf_token": csrf.group(1)}, follow_redirects=False
        )
        assert refused.status_code == 409 and "chưa được cấu hình" in refused.text
