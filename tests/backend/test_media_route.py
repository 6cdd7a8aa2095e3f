"""The web chat upload and the media route: sniffed, stored, served with safe headers, or 404.

Runs on SQLite and PostgreSQL, through the app's `TestClient` with a store under `tmp_path`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.media import LocalMediaStore
from tests.backend.media_helpers import provider_photo

PHOTO = provider_photo()


@pytest.fixture
def store(tmp_path: Path) -> LocalMediaStore:
    return LocalMediaStore(tmp_path / "media")


@pytest.fixture
def web(client: TestClient, store: LocalMediaStore) -> TestClient:
    client.app.state.media_store = store  # type: ignore[attr-defined]
    return client


def test_uploads_are_sniffed_stored_and_served_with_safe_headers(
    web: TestClient, store: LocalMediaStore
) -> None:
    response = web.post("/chat/media", files={"file": ("x.png", PHOTO, "image/png")})
    assert response.status_code == 200, response.text
    body = response.json()
    key = hashlib.sha256(PHOTO).hexdigest()
    assert body == {"url": f"/media/{key[:2]}/{key[2:4]}/{key}.jpg", "kind": "image"}
    served = web.get(body["url"])
    assert served.status_code == 200 and served.content == PHOTO
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in served.headers["content-security-policy"]


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"<html><script>alert(1)</script></html>", 415),
        (b"MZ\x90\x00\x03\x00\x00\x00", 415),
        (b"", 422),
        (PHOTO[:2000], 422),
        (b"\xff\xd8\xff\xe0" + bytes(11 * 1024 * 1024), 413),
    ],
    ids=["html", "exe", "empty", "truncated photo", "too large"],
)
def test_uploads_that_are_not_media_are_refused(
    web: TestClient, store: LocalMediaStore, content: bytes, status: int
) -> None:
    response = web.post("/chat/media", files={"file": ("photo.jpg", content, "image/jpeg")})
    assert response.status_code == status, response.text
    assert [p for p in store.root.rglob("*") if p.is_file()] == []


def _missing_key() -> str:
    digest = hashlib.sha256(b"never stored").hexdigest()
    return f"{digest[:2]}/{digest[2:4]}/{digest}.jpg"


TRAVERSALS = [
    "..%2F..%2F..%2Fetc%2Fpasswd",
    "%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "%2Fetc%2Fpasswd",
    "ab/cd/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "..%5C..%5Cetc%5Cpasswd",
    f"ab/cd/{'a' * 64}.jpg",  # the right shape, the wrong directories
    _missing_key(),
    _missing_key().replace(".jpg", ".html"),
    _missing_key() + "%00.jpg",
    "linked",  # replaced by a key whose file is a symlink to /etc/passwd
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_media_route_serves_nothing_but_stored_keys(
    web: TestClient, store: LocalMediaStore, path: str
) -> None:
    if path == "linked":
        digest = hashlib.sha256(b"linked").hexdigest()
        path = f"{digest[:2]}/{digest[2:4]}/{digest}.jpg"
        link = store.root / path
        link.parent.mkdir(parents=True)
        link.symlink_to("/etc/passwd")
    response = web.get(f"/media/{path}")
    assert response.status_code == 404
    assert response.json() == {"detail": "Không tìm thấy tệp."}  # refused by the media route
