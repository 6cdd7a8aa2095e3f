"""Bad Open311 submissions: a spec error in the asked format, and nothing stored."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from backend.db import unit_of_work, utcnow
from backend.open311 import keys
from tests.open311.conftest import stored_counts, submit

NOTHING = {"reports": 0, "report_events": 0, "attachments": 0, "citizens": 0}

BAD = {
    "missing description": ({"description": None}, 400),
    "blank description": ({"description": "   \n "}, 400),
    "huge description": ({"description": "Đèn hư. " * 600}, 400),
    "latitude not a number": ({"lat": "mười"}, 400),
    "infinite latitude": ({"lat": "inf"}, 400),
    "point in Paris": ({"lat": "48.8566", "long": "2.3522"}, 400),
    "swapped lat/long": ({"lat": "105.9722", "long": "10.2537"}, 400),
    "only lat": ({"long": None}, 400),
    "no place at all": ({"lat": None, "long": None}, 400),
    "address_id only": ({"lat": None, "long": None, "address_id": "A-123"}, 400),
    "unknown service_code": ({"service_code": "khong_co"}, 400),
    "loopback media": ({"media_url": "http://127.0.0.1/admin.jpg"}, 400),
    "private media host": ({"media_url": "https://cdn.internal.vn/a.jpg"}, 400),
    "link-local media": ({"media_url": "http://169.254.169.254/latest/meta-data"}, 400),
    "mapped loopback media": ({"media_url": "http://[::ffff:127.0.0.1]/a.jpg"}, 400),
    "multicast media": ({"media_url": "http://224.0.0.1/a.jpg"}, 400),
    "file media": ({"media_url": "file:///etc/passwd"}, 400),
    "ftp media": ({"media_url": "ftp://photos.example.vn/a.jpg"}, 400),
    "unresolvable media host": ({"media_url": "http://nowhere.invalid/a.jpg"}, 400),
    "media with credentials": ({"media_url": "http://u:p@photos.example.vn/a.jpg"}, 400),
    "bad phone": ({"phone": "12345"}, 400),
    "bad email": ({"email": "not-an-email"}, 400),
    "missing api_key": ({"api_key": None}, 403),
    "unknown api_key": ({"api_key": "paht311_" + "x" * 43}, 403),
}


def test_refused_and_nothing_stored(
    open311: TestClient, api_key: str, sessions: sessionmaker[Session]
) -> None:
    """One app for every case (an app per case would triple the suite's time)."""
    for case, (fields, status) in BAD.items():
        fields = dict(fields)
        key = fields.pop("api_key") if "api_key" in fields else api_key
        response = submit(open311, key, **fields)  # type: ignore[arg-type]
        assert response.status_code == status, (case, response.text)
        [error] = response.json()
        assert error["code"] == status, case
        assert error["description"], case
        assert stored_counts(sessions) == {**NOTHING, "open311_requests": 0}, case


def test_refusal_in_xml(open311: TestClient, api_key: str, sessions: sessionmaker[Session]) -> None:
    response = submit(open311, api_key, fmt="xml", lat="abc")
    assert response.status_code == 400
    root = ET.fromstring(response.content)
    assert root.tag == "errors"
    assert root.findtext("error/code") == "400"
    assert "lat" in (root.findtext("error/description") or "")
    forbidden = submit(open311, "wrong", fmt="xml")
    assert forbidden.status_code == 403
    assert ET.fromstring(forbidden.content).findtext("error/code") == "403"
    assert stored_counts(sessions)["reports"] == 0


def test_revoked_key_is_refused(
    open311: TestClient, api_key: str, sessions: sessionmaker[Session]
) -> None:
    assert submit(open311, api_key).status_code == 200
    with unit_of_work(sessions) as session:
        [row] = keys.list_keys(session)
        keys.revoke_key(session, key_id=row.id, now=utcnow())
    response = submit(open311, api_key)
    assert response.status_code == 403
    assert stored_counts(sessions)["reports"] == 1


def test_public_media_url_is_kept_for_the_media_intake(
    open311: TestClient, api_key: str, sessions: sessionmaker[Session]
) -> None:
    url = "https://photos.example.vn/den-hu.jpg"
    assert submit(open311, api_key, media_url=url).status_code == 200
    counts = stored_counts(sessions)
    assert counts["attachments"] == 1
    from backend.reports.models import Attachment

    with sessions() as session:
        [attachment] = session.query(Attachment).all()
        assert (attachment.url, attachment.status) == (url, "pending")


def test_private_media_host_allowed_by_setting(
    open311: TestClient, api_key: str, sessions: sessionmaker[Session]
) -> None:
    settings = open311.app.state.settings  # type: ignore[attr-defined]
    open311.app.state.settings = settings.model_copy(  # type: ignore[attr-defined]
        update={"open311": settings.open311.model_copy(update={"allow_private_media_hosts": True})}
    )
    assert submit(open311, api_key, media_url="https://cdn.internal.vn/a.jpg").status_code == 200


def test_rate_limit_per_key(
    open311: TestClient, api_key: str, sessions: sessionmaker[Session]
) -> None:
    settings = open311.app.state.settings  # type: ignore[attr-defined]
    open311.app.state.settings = settings.model_copy(  # type: ignore[attr-defined]
        update={"open311": settings.open311.model_copy(update={"rate_limit_per_minute": 2})}
    )
    assert [submit(open311, api_key).status_code for _ in range(3)] == [200, 200, 429]
    assert stored_counts(sessions)["reports"] == 2
    with unit_of_work(sessions) as session:  # another client is not held back
        other = keys.add_key(session, name="Tổng đài 1022", now=utcnow()).key
    assert submit(open311, other).status_code == 200
