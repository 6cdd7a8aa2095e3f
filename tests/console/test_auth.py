"""Console login, logout, CSRF, admin-only account pages, and what a browser would be told."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from backend.db import make_session_factory
from backend.staff.models import AuditEntry, StaffSession, StaffUser
from backend.staff.service import SESSION_COOKIE
from tests.console.conftest import PASSWORD, LoginAs, login_form

WRONG = "Tên đăng nhập hoặc mật khẩu không đúng."
HTML = {"accept": "text/html,application/xhtml+xml"}  # what a browser asks for


def count(engine: Engine, model: type) -> int:
    with make_session_factory(engine)() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def new_account(admin: TestClient, **fields: str) -> TestClient:
    data = {
        "csrf_token": admin.csrf,  # type: ignore[attr-defined]
        "username": "chuyenvien.moi",
        "full_name": "Lê Thị Mới",
        "role": "specialist",
        "unit_id": "dien_luc",
        "password": "mat-khau-moi-123",
        **fields,
    }
    return admin.post("/console/users", data=data, follow_redirects=False)  # type: ignore[return-value]


def test_login_sets_a_safe_cookie_and_logout_ends_the_session(
    login_as: LoginAs, console_client: TestClient, engine: Engine
) -> None:
    admin = login_as("admin", username="quantri")
    assert admin.get("/console/users").status_code == 200
    page = console_client.get("/console/login")
    assert "Đăng nhập" in page.text and 'name="password"' in page.text
    again = login_form(console_client, username="quantri", password=PASSWORD)
    assert again.status_code == 303 and again.headers["location"] == "/console/reports"
    cookie = next(
        c for c in again.headers.get_list("set-cookie") if c.startswith(f"{SESSION_COOKIE}=")
    )
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Path=/;" in cookie
    assert "Secure" not in cookie  # secure_cookies is off in the test settings
    assert count(engine, StaffSession) == 2
    token = admin.cookies[SESSION_COOKIE]
    out = admin.post("/console/logout", data={"csrf_token": admin.csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/console/login"
    assert SESSION_COOKIE not in admin.cookies
    assert count(engine, StaffSession) == 1
    admin.cookies.set(SESSION_COOKIE, token)  # a stolen copy of the cookie is dead too
    assert admin.get("/console/users", headers=HTML, follow_redirects=False).status_code == 303


def test_wrong_password_gets_the_same_401_as_an_unknown_user(
    login_as: LoginAs, console_client: TestClient, engine: Engine
) -> None:
    login_as("intake", username="tiepnhan")
    for username in ("tiepnhan", "khong.ton.tai"):
        response = login_form(console_client, username=username, password="sai-mat-khau")
        assert response.status_code == 401
        assert WRONG in response.text
        assert SESSION_COOKIE not in console_client.cookies
    assert count(engine, StaffSession) == 1  # the fixture's own login only


def test_too_many_failures_refuse_even_the_right_password(
    login_as: LoginAs, console_client: TestClient
) -> None:
    login_as("intake", username="tiepnhan")
    limit = console_client.app.state.settings.console.login_max_failures  # type: ignore[attr-defined]
    for _ in range(limit):
        assert login_form(console_client, username="tiepnhan", password="sai").status_code == 401
    response = login_form(console_client, username="tiepnhan", password=PASSWORD)
    assert response.status_code == 429
    assert "Bạn đã nhập sai quá nhiều lần. Vui lòng thử lại sau 15 phút." in response.text
    assert SESSION_COOKIE not in console_client.cookies


def test_pages_send_an_anonymous_visitor_to_login_and_back(console_client: TestClient) -> None:
    response = console_client.get("/console/users?page=2", headers=HTML, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?next=%2Fconsole%2Fusers%3Fpage%3D2"
    form = console_client.get(response.headers["location"])
    assert 'name="next" value="/console/users?page=2"' in form.text


def test_login_only_redirects_inside_the_console(
    login_as: LoginAs, console_client: TestClient
) -> None:
    login_as("admin", username="quantri")
    targets = {
        "https://evil.example/console": "/console/reports",
        "//evil.example/console": "/console/reports",
        "/\\evil.example": "/console/reports",
        "/chat": "/console/reports",
        "/console.evil": "/console/reports",
        "/console/users?added=x": "/console/users?added=x",
    }
    for target, expected in targets.items():
        response = login_form(console_client, username="quantri", password=PASSWORD, next=target)
        assert response.status_code == 303
        assert response.headers["location"] == expected, target
    page = console_client.get("/console/login", params={"next": "https://evil.example/"})
    assert "evil.example" not in page.text


def test_posts_without_the_csrf_token_are_refused_and_change_nothing(
    login_as: LoginAs, console_client: TestClient, engine: Engine
) -> None:
    admin = login_as("admin", username="quantri")
    users = count(engine, StaffUser)
    refused = new_account(admin, csrf_token="")
    assert refused.status_code == 403
    assert new_account(admin, csrf_token="a" + admin.csrf).status_code == 403  # type: ignore[attr-defined]
    assert count(engine, StaffUser) == users
    assert admin.post("/console/logout", follow_redirects=False).status_code == 403
    assert admin.get("/console/users").status_code == 200  # still logged in
    # The login form has its own token; without it no session starts.
    forged = console_client.post(
        "/console/login",
        data={"username": "quantri", "password": PASSWORD},
        follow_redirects=False,
    )
    assert forged.status_code == 403 and count(engine, StaffSession) == 1


def test_account_pages_are_for_admins_only(login_as: LoginAs, engine: Engine) -> None:
    admin = login_as("admin")
    for role in ("intake", "specialist", "leader"):
        client = login_as(role)
        assert client.get("/console/users").status_code == 403, role
        users = count(engine, StaffUser)
        assert new_account(client, username=f"{role}.phu").status_code == 403
        target = f"/console/users/{admin.user_id}/deactivate"  # type: ignore[attr-defined]
        assert client.post(target, data={"csrf_token": client.csrf}).status_code == 403
        assert count(engine, StaffUser) == users
    assert admin.get("/console/users").status_code == 200  # admin is still active


def test_account_created_by_the_admin_can_log_in(
    login_as: LoginAs, console_client: TestClient, engine: Engine
) -> None:
    admin = login_as("admin", username="quantri")
    created = new_account(admin)
    assert created.status_code == 303
    page = admin.get(created.headers["location"])
    assert "Đã tạo tài khoản “chuyenvien.moi”." in page.text
    assert "Lê Thị Mới" in page.text and "Công ty Điện lực Vĩnh Long" in page.text
    with make_session_factory(engine)() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "user_add")).one()
        assert entry.actor_id == admin.user_id  # type: ignore[attr-defined]
        assert entry.detail and entry.detail["username"] == "chuyenvien.moi"
    response = login_form(console_client, username="chuyenvien.moi", password="mat-khau-moi-123")
    assert response.status_code == 303


def test_bad_account_form_is_shown_again_with_the_reason(login_as: LoginAs, engine: Engine) -> None:
    admin = login_as("admin", username="quantri")
    users = count(engine, StaffUser)
    response = new_account(admin, password="ngan")
    assert response.status_code == 400
    assert "Mật khẩu phải có ít nhất 10 ký tự." in response.text
    assert 'value="chuyenvien.moi"' in response.text and 'value="ngan"' not in response.text
    assert new_account(admin, username="quantri").status_code == 409
    assert count(engine, StaffUser) == users


def test_deactivated_account_is_logged_out_at_once(login_as: LoginAs) -> None:
    admin = login_as("admin")
    specialist = login_as("specialist", username="chuyenvien")
    assert specialist.get("/console/users").status_code == 403  # logged in, not allowed
    target = f"/console/users/{specialist.user_id}/deactivate"  # type: ignore[attr-defined]
    response = admin.post(target, data={"csrf_token": admin.csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert "Đã khóa tài khoản" in admin.get(response.headers["location"]).text
    gone = specialist.get("/console/users", headers=HTML, follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"].startswith("/console/login")
    login = login_form(specialist, username="chuyenvien", password=PASSWORD)
    assert login.status_code == 401


def test_names_with_html_are_shown_inert(login_as: LoginAs) -> None:
    admin = login_as("admin")
    assert new_account(admin, full_name="<script>alert(1)</script>").status_code == 303
    page = admin.get("/console/users")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert(1)" not in page.text
