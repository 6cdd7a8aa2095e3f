"""The deployment's media settings reach the web chat upload and the store."""

from __future__ import annotations

import io
from pathlib import Path

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Engine

from backend.app import create_app
from nlu import Nlu
from tests.conftest import make_settings


def _jpeg(size: int) -> bytes:
    out = io.BytesIO()
    Image.effect_noise((size, size), 90).convert("RGB").save(out, "JPEG", quality=95)
    return out.getvalue()


def test_upload_size_limit_and_root_come_from_the_settings(
    engine: Engine, database_url: str, nlu: Nlu, tmp_path: Path
) -> None:
    settings = make_settings(
        database_url=database_url, media={"root": str(tmp_path / "media"), "max_bytes": 20_000}
    )
    with TestClient(create_app(settings, nlu=nlu)) as client:
        small, large = _jpeg(40), _jpeg(400)
        assert len(large) > 20_000
        refused = client.post("/chat/media", files={"file": ("a.jpg", large, "image/jpeg")})
        assert refused.status_code == 413
        accepted = client.post("/chat/media", files={"file": ("b.jpg", small, "image/jpeg")})
        assert accepted.status_code == 200, accepted.text
        assert list((tmp_path / "media").rglob("*.jpg")), "stored under the configured root"
        served = client.get(accepted.json()["url"])
        assert served.status_code == 200 and served.content == small
