"""The Zalo OA adapter under test: recorded events signed as Zalo signs them, and the adapter
sending to the fake Zalo of `tests.fakes.zalo_api` on 127.0.0.1 with its tokens in a
`FileTokenStore` under tmp_path.

The clock is fixed at NOW, a minute after the recorded events' timestamps.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.messages import Reply
from channels.base import RawRequest
from channels.zalo import ZaloAdapter
from channels.zalo_tokens import FileTokenStore, TokenPair
from tests.fakes.signing import zalo_signature
from tests.fakes.zalo_api import APP_ID, APP_SECRET, FakeZalo

DATA = Path(__file__).resolve().parents[2] / "data" / "zalo"
OA_SECRET = "oa-secret-key"
USER = "246845883529197922"
NOW = datetime(2025, 11, 23, 12, 14, tzinfo=UTC)
CONTACT_IMAGE = "https://cdn.example/paht-banner.png"
WEBHOOK_URL = "https://paht.example/channels/zalo/webhook"


def body(name: str) -> bytes:
    return (DATA / f"{name}.json").read_bytes()


def sign(raw: bytes, secret: str = OA_SECRET, prefix: str = "mac=") -> str:
    return zalo_signature(raw, secret, prefix=prefix)


def webhook(raw: bytes, signature: str | None = "sign") -> RawRequest:
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["x-zevent-signature"] = sign(raw) if signature == "sign" else signature
    return RawRequest(method="POST", url=WEBHOOK_URL, headers=headers, body=raw)


def make_adapter(
    url: str, store: Any, clock: Callable[[], datetime] = lambda: NOW, **kwargs: Any
) -> ZaloAdapter:
    return ZaloAdapter(
        app_id=APP_ID,
        oa_secret_key=OA_SECRET,
        app_secret_key=APP_SECRET,
        token_store=store,
        contact_image_url=CONTACT_IMAGE,
        api_base=url,
        oauth_base=url,
        clock=clock,
        **kwargs,
    )


PURE = make_adapter("http://127.0.0.1:9", FileTokenStore(Path("/nonexistent/tokens.json")))


def text_out(adapter: ZaloAdapter, text: str = "Đã tiếp nhận") -> Any:
    return adapter.render([Reply(text=text)], USER)[0]


@pytest.fixture(scope="module")
def provider() -> FakeZalo:
    return FakeZalo()


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "zalo-tokens.json"
    path.write_text(TokenPair("at-0", "rt-0", NOW + timedelta(hours=20)).to_json())
    return path


@pytest.fixture
async def adapter(fake: FakeZalo, fake_url: str, token_file: Path) -> AsyncIterator[ZaloAdapter]:
    adapter = make_adapter(fake_url, FileTokenStore(token_file))
    yield adapter
    await adapter.aclose()
