"""`[media] store = "s3"`: the settings refuse an incomplete or placeholder bucket, and the
runtime then keeps media in that bucket (a signature-checking fake S3 on 127.0.0.1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from backend.channels.registry import Channels
from backend.media import LocalMediaStore, S3MediaStore
from backend.media.store import SigV4
from backend.runtime import open_runtime
from backend.settings import ConfigError
from nlu import Nlu
from tests.backend.media_helpers import JPEG
from tests.backend.test_media_store import fake_s3
from tests.conftest import make_settings
from tests.fakes.server import serve

ACCESS, SECRET, REGION = "minio-access", "minio-secret-key-for-tests", "ap-southeast-1"


def s3_section(endpoint: str = "http://127.0.0.1:9", **overrides: Any) -> dict[str, Any]:
    section = {
        "endpoint": endpoint,
        "bucket": "paht-media",
        "region": REGION,
        "prefix": "reports/",
        "access_key": ACCESS,
        "secret_key": SECRET,
        "presign_seconds": 600,
    }
    return {**section, **overrides}


def test_local_is_the_default_and_needs_no_bucket() -> None:
    assert make_settings().media.store == "local"


def test_choosing_s3_without_a_bucket_names_what_is_missing() -> None:
    with pytest.raises(ConfigError, match=r"media\.s3\.endpoint, media\.s3\.bucket"):
        make_settings(media={"store": "s3"})
    incomplete = s3_section()
    del incomplete["secret_key"]
    with pytest.raises(ConfigError, match=r"needs media\.s3\.secret_key$"):
        make_settings(media={"store": "s3", "s3": incomplete})


@pytest.mark.parametrize(
    ("key", "value"), [("bucket", "Paht_Media"), ("prefix", "/abs"), ("presign_seconds", 10)]
)
def test_an_invalid_s3_value_is_named(key: str, value: object) -> None:
    with pytest.raises(ConfigError, match=rf"media\.s3\.{key}"):
        make_settings(media={"store": "s3", "s3": s3_section(**{key: value})})


def test_placeholder_s3_secret_refused_in_production() -> None:
    media = {"store": "s3", "s3": s3_section(secret_key="changeme")}
    with pytest.raises(ConfigError, match=r"media\.s3\.secret_key: placeholder secret refused"):
        make_settings(env="production", session_secret="s" * 40, media=media)
    make_settings(env="development", media=media)  # allowed while developing
    ok = make_settings(env="production", session_secret="s" * 40, media={"s3": s3_section()})
    assert SECRET not in repr(ok.media)


async def test_runtime_keeps_media_in_the_configured_bucket(nlu: Nlu, tmp_path: Path) -> None:
    app, state = fake_s3(SigV4(ACCESS, SECRET, REGION))
    with serve(app) as endpoint:
        settings = make_settings(
            database_url=f"sqlite:///{tmp_path / 'paht.db'}",
            media={"store": "s3", "root": str(tmp_path / "media"), "s3": s3_section(endpoint)},
        )
        runtime = await open_runtime(settings, nlu=nlu, channels=Channels())
        store = runtime.media_store
        assert isinstance(store, S3MediaStore)
        key = await store.put(JPEG, kind="image", ext="jpg")
        assert state["objects"][f"/paht-media/reports/{key}"] == (JPEG, "image/jpeg")
        assert not (tmp_path / "media").exists(), "nothing written to the local folder"
        url = store.url_for(key)
        assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["600"]
        async with httpx.AsyncClient() as browser:
            fetched = await browser.get(url)
        assert fetched.status_code == 200 and fetched.content == JPEG
        await runtime.aclose()
        assert store.client.is_closed


async def test_runtime_uses_the_local_folder_by_default(nlu: Nlu, tmp_path: Path) -> None:
    settings = make_settings(
        database_url=f"sqlite:///{tmp_path / 'paht.db'}", media={"root": str(tmp_path / "m")}
    )
    runtime = await open_runtime(settings, nlu=nlu, channels=Channels())
    assert isinstance(runtime.media_store, LocalMediaStore)
    key = await runtime.media_store.put(JPEG, kind="image", ext="jpg")
    assert (tmp_path / "m" / key).read_bytes() == JPEG
    await runtime.aclose()
