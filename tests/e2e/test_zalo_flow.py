"""A citizen reports on Zalo: the real Zalo adapter against a fake OA API and OAuth server.

Webhook events are built like the recorded ones in tests/data/zalo/ with a
fresh timestamp (the adapter refuses stale ones) and signed as Zalo does;
button presses arrive as `user_send_text` carrying the button's hidden payload.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from backend.app import create_app
from backend.channels.models import InboxMessage
from backend.channels.registry import Channels
from backend.db import make_session_factory
from backend.reports.models import Report
from channels.zalo import ZaloAdapter
from channels.zalo_tokens import FileTokenStore, TokenPair
from nlu import Nlu
from tests.conftest import make_settings
from tests.e2e.conftest import settled, wait_for
from tests.fakes.server import serve
from tests.fakes.signing import zalo_signature
from tests.fakes.zalo_api import APP_ID, APP_SECRET, Call, FakeZalo

OA_SECRET = "e2e-oa-secret"
OA_ID = "388613280878808645"
USER = "246845883529197922"
PATH = "/channels/zalo/webhook"
CONTACT_IMAGE = "https://cdn.example/paht-banner.png"
PHOTO = "https://photo-stal.zadn.vn/org/den-duong.jpg"
_ticks = itertools.count(1)


def event(name: str, **fields: Any) -> bytes:
    """A Zalo webhook body with a fresh, unique timestamp (ms), as Zalo serialises it."""
    stamp = int(time.time() * 1000) + next(_ticks)
    who = {"follower": {"id": USER}} if name == "follow" else {"sender": {"id": USER}}
    body = {
        "app_id": APP_ID,
        **who,
        "user_id_by_app": "552177279717587730",
        "recipient": {"id": OA_ID},
        "event_name": name,
        **fields,
        "timestamp": str(stamp),
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def text(words: str) -> bytes:
    return event("user_send_text", message={"text": words, "msg_id": f"m{next(_ticks)}"})


def sign(raw: bytes, secret: str = OA_SECRET) -> str:
    return zalo_signature(raw, secret, app_id=APP_ID)


def headers(raw: bytes, signature: str | None = None) -> dict[str, str]:
    return {"content-type": "application/json", "x-zevent-signature": signature or sign(raw)}


def post(client: TestClient, raw: bytes, signature: str | None = None) -> int:
    return client.post(PATH, content=raw, headers=headers(raw, signature)).status_code


def buttons(call: Call) -> list[dict[str, str]]:
    """The buttons of one cs message (empty when it has none)."""
    attachment = call.json["message"].get("attachment") or {}
    return list(attachment.get("payload", {}).get("buttons", []))


class Zalo:
    """The app and the fake Zalo, with the citizen's side of the chat."""

    def __init__(self, client: TestClient, fake: FakeZalo, engine: Engine) -> None:
        self.client, self.fake, self.engine = client, fake, engine
        self.delivered: list[tuple[str, bytes, dict[str, str]]] = []  # path, body, headers

    def say(self, raw: bytes) -> list[Call]:
        """Deliver one event; the cs messages the bot sent in answer."""
        before = len(self.fake.message_calls())
        self.delivered.append((PATH, raw, headers(raw)))
        assert self.client.post(PATH, content=raw, headers=headers(raw)).status_code == 200
        wait_for(lambda: len(self.fake.message_calls()) > before and settled(self.engine))
        return self.fake.message_calls()[before:]

    def press(self, payload: str) -> list[Call]:
        return self.say(text(payload))


def texts(calls: list[Call]) -> str:
    return "\n".join(str(c.json["message"].get("text") or "") for c in calls)


@contextmanager
def running_zalo(engine: Engine, database_url: str, nlu: Nlu, tmp_path: Path) -> Iterator[Zalo]:
    """The app with the real Zalo adapter pointed at a fake Zalo on 127.0.0.1."""
    fake = FakeZalo()
    store = tmp_path / "zalo-tokens.json"
    store.write_text(TokenPair("at-0", "rt-0", datetime.now(UTC) + timedelta(hours=20)).to_json())
    with serve(fake.app) as url:
        adapter = ZaloAdapter(
            app_id=APP_ID,
            oa_secret_key=OA_SECRET,
            app_secret_key=APP_SECRET,
            token_store=FileTokenStore(store),
            contact_image_url=CONTACT_IMAGE,
            api_base=url,
            oauth_base=url,
        )
        channels = Channels(webhook={"zalo": adapter}, senders={"zalo": adapter})
        # the media step tries the photo in the background: never into the working tree
        media = {"root": str(tmp_path / "media")}
        app = create_app(
            make_settings(database_url=database_url, media=media), nlu=nlu, channels=channels
        )
        with TestClient(app) as client:
            yield Zalo(client, fake, engine)


@pytest.fixture
def zalo(engine: Engine, database_url: str, nlu: Nlu, tmp_path: Path) -> Iterator[Zalo]:
    with running_zalo(engine, database_url, nlu, tmp_path) as running:
        yield running


def converse(zalo: Zalo) -> list[Call]:
    """A whole report on Zalo, pressing the buttons the bot offers; the last answer."""
    asked = zalo.say(
        text(
            "Đèn đường hư mấy hôm nay ở đường Phạm Thái Bường, phường 9 thành phố Vĩnh Long, "
            "tối om rất nguy hiểm"
        )
    )
    assert "ảnh" in texts(asked)
    assert "/media:done" in [b["payload"] for b in buttons(asked[-1])]

    image = {"type": "image", "payload": {"thumbnail": PHOTO, "url": PHOTO}}
    got = zalo.say(
        event(
            "user_send_image",
            message={"text": "", "msg_id": f"i{next(_ticks)}", "attachments": [image]},
        )
    )
    assert "Đã nhận 1 ảnh" in texts(got)

    assert "công khai" in texts(zalo.press("/media:done"))
    asked = zalo.press("/public:no")
    assert "số điện thoại" in texts(asked)
    form = asked[-1].json["message"]["attachment"]["payload"]
    assert form["template_type"] == "request_user_info"
    assert form["elements"][0]["image_url"] == CONTACT_IMAGE

    info = {"phone": 84987654321, "name": "Trần Thị Hoa", "address": "phường 9"}
    summary = zalo.say(event("user_submit_info", info=info))
    while "kiểm tra lại" not in texts(summary):  # the NLU may still ask for the category
        summary = zalo.press(buttons(summary[-1])[0]["payload"])
    assert "0987654321" in texts(summary)
    done = zalo.press("/confirm")
    assert "Mã phản ánh" in texts(done)
    return done


def test_full_report_with_photo_location_and_shared_phone(zalo: Zalo, engine: Engine) -> None:
    done = converse(zalo)
    calls = zalo.fake.message_calls()
    assert {c.path for c in calls} == {"/v3.0/oa/message/cs"}
    assert {c.json["recipient"]["user_id"] for c in calls} == {USER}
    assert {c.headers["access_token"] for c in calls} == {"at-0"}
    with make_session_factory(engine)() as session:
        report = session.scalars(select(Report)).one()
        assert report.channel == "zalo"
        assert report.code in texts(done)
        assert report.reporter_phone == "+84987654321"
        assert report.reporter_name == "Trần Thị Hoa"
        assert report.commune_code == "29551" and report.commune_name == "Phường Long Châu"
        assert "Phường 9" in report.location_old_names
        assert [(a.kind, a.url) for a in report.attachments] == [("image", PHOTO)]
        assert report.category == "dien_chieu_sang"


def test_follow_gets_the_welcome_guide(zalo: Zalo) -> None:
    welcome = zalo.say(event("follow", oa_id=OA_ID, source="oa_profile"))
    assert "Cách gửi phản ánh" in texts(welcome)
    assert [b["payload"] for b in buttons(welcome[-1])] == ["/report", "/lookup", "/help"]
    assert all(b["type"] == "oa.query.hide" for b in buttons(welcome[-1]))
    assert post(zalo.client, event("unfollow", follower={"id": USER})) == 200
    assert _count(zalo.engine, InboxMessage) == 1  # unfollow is acknowledged, not stored


def _count(engine: Engine, model: type[Any]) -> int:
    with make_session_factory(engine)() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_forged_signature_is_refused_and_nothing_is_stored(zalo: Zalo, engine: Engine) -> None:
    raw = text("Cống bể ngập nước đường 2 tháng 9, phường 9 thành phố Vĩnh Long")
    assert post(zalo.client, raw, sign(raw, secret="not-the-oa-secret")) == 403
    assert post(zalo.client, raw, "mac=" + "0" * 64) == 403
    tampered = raw.replace("Cống".encode(), "Cầu".encode())
    assert post(zalo.client, tampered, sign(raw)) == 403
    assert _count(engine, InboxMessage) == 0  # a webhook stores before it answers
    assert _count(engine, Report) == 0
    assert zalo.fake.message_calls() == []


def test_redelivered_event_has_no_second_effect(zalo: Zalo, engine: Engine) -> None:
    raw = text("Rác thải đổ bừa bãi ở chợ phường 9 thành phố Vĩnh Long, bốc mùi hôi thối")
    first = zalo.say(raw)
    assert first
    assert post(zalo.client, raw) == 200  # Zalo resends the identical body
    assert post(zalo.client, raw) == 200
    wait_for(lambda: settled(engine))
    assert _count(engine, InboxMessage) == 1
    assert zalo.fake.message_calls() == first  # the same replies, sent once
