"""A web-chat citizen sends a photo: upload → media store → report attachment stored → served back.

The whole app runs (the pipeline's media step in the background) with the default local
media store pointed at a temporary folder.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import ExifTags, Image
from PIL.ExifTags import GPS
from sqlalchemy import Engine, select

from backend.app import create_app
from backend.channels.registry import Channels
from backend.db import make_session_factory
from backend.reports.models import Report
from nlu import Nlu
from tests.conftest import make_settings
from tests.e2e.conftest import wait_for

CODE = re.compile(r"Mã phản ánh: (\d{12})")
SENDER = "web-citizen-7"
ANSWERS = (
    ("Sự việc xảy ra ở đâu", "chợ phường 3, thành phố Vĩnh Long"),
    ("công khai", "/public:yes"),
    ("họ tên và số điện thoại", "Trần Thị Bình 0912 345 678"),
    ("thuộc lĩnh vực nào", "1"),
)


def gps_photo() -> bytes:
    exif = Image.Exif()
    exif[ExifTags.IFD.GPSInfo] = {
        GPS.GPSLatitudeRef: "N",
        GPS.GPSLatitude: (10.0, 15.0, 18.0),  # 10.255
        GPS.GPSLongitudeRef: "E",
        GPS.GPSLongitude: (105.0, 58.0, 12.0),  # 105.97
    }
    out = io.BytesIO()
    Image.new("RGB", (800, 600), "gray").save(out, "JPEG", exif=exif)
    return out.getvalue()


@pytest.fixture
def client(engine: Engine, database_url: str, nlu: Nlu, tmp_path: Path) -> Iterator[TestClient]:
    settings = make_settings(database_url=database_url, media={"root": str(tmp_path / "media")})
    app = create_app(settings, nlu=nlu, channels=Channels())
    with TestClient(app) as client:
        yield client


def say(client: TestClient, text: str, **extra: Any) -> str:
    response = client.post(
        "/webhooks/rest/webhook", json={"sender": SENDER, "message": text, **extra}
    )
    assert response.status_code == 200, response.text
    return "\n".join(reply["text"] for reply in response.json())


def report_with_photo(client: TestClient, media: dict[str, str]) -> str:
    """Tell the bot about a problem, send the photo when asked, answer the rest, confirm."""
    asked = say(client, "Rác thải đổ tràn ra lòng đường ở chợ phường 3 mấy ngày nay, bốc mùi")
    for _ in range(10):
        if "Vui lòng kiểm tra lại phản ánh" in asked:
            break
        if "ảnh hoặc video" in asked:
            assert "Đã nhận 1" in say(client, "", metadata={"media": [media]})
            asked = say(client, "/media:done")
            continue
        asked = say(client, next(answer for prompt, answer in ANSWERS if prompt in asked))
    else:
        raise AssertionError(f"no summary: {asked}")
    match = CODE.search(say(client, "/confirm"))
    assert match is not None
    return match.group(1)


def test_a_web_chat_photo_is_stored_attached_and_served(
    client: TestClient, engine: Engine, tmp_path: Path
) -> None:
    data = gps_photo()
    upload = client.post("/chat/media", files={"file": ("IMG_0001.JPG", data, "image/jpeg")})
    assert upload.status_code == 200, upload.text
    media = upload.json()
    assert media["kind"] == "image" and media["url"].startswith("/media/")

    code = report_with_photo(client, media)

    sessions = make_session_factory(engine)

    def stored() -> Report | None:
        with sessions() as session:
            report = session.scalar(select(Report).where(Report.code == code))
            assert report is not None
            _ = report.events
            if all(a.status == "stored" for a in report.attachments):
                return report
            return None

    wait_for(stored)
    report = stored()
    assert report is not None
    [attachment] = report.attachments
    digest = hashlib.sha256(data).hexdigest()
    assert attachment.url == media["url"] and attachment.sha256 == digest
    assert attachment.storage_key == f"{digest[:2]}/{digest[2:4]}/{digest}.jpg"
    assert (tmp_path / "media" / attachment.storage_key).read_bytes() == data
    assert report.lat == pytest.approx(10.255) and report.lon == pytest.approx(105.97)
    assert "location_from_photo" in [e.kind for e in report.events]

    original = client.get(f"/media/{attachment.storage_key}")
    thumbnail = client.get(f"/media/{attachment.thumbnail_key}")
    assert original.content == data and len(thumbnail.content) < len(data)
    for served in (original, thumbnail):
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/jpeg"
        assert served.headers["x-content-type-options"] == "nosniff"
    assert client.get("/media/..%2F..%2Fpaht.db").status_code == 404
