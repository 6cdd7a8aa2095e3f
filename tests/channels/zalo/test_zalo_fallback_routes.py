"""The Zalo adapter's fallback routes against the fake Zalo: "giao dịch" (transaction) cards and
ZNS template messages, and the window / blocked refusals that send the outbox down the chain.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.messages import Button, Reply
from channels.base import BadRequest, Blocked, OutsideWindow, RateLimited, Transient, Unreachable
from channels.zalo import TRANSACTION_VIA, ZNS_VIA, ZaloAdapter
from channels.zalo_tokens import FileTokenStore
from tests.channels.zalo.conftest import NOW, USER, make_adapter, text_out
from tests.fakes.zalo_api import FakeZalo

PHONE = "+84912345678"
TEMPLATE = "301234"
UPDATE = Reply(
    text="Phản ánh PA-2026-000123 đã được chuyển đến UBND phường 9 xử lý.",
    buttons=(
        Button(title="Hài lòng", payload="/rate:5"),
        Button(title="Chưa hài lòng", payload="/rate:1"),
    ),
)


@pytest.fixture
async def zns_adapter(
    fake: FakeZalo, fake_url: str, token_file: Path
) -> AsyncIterator[ZaloAdapter]:
    adapter = make_adapter(
        fake_url,
        FileTokenStore(token_file),
        zns_base=fake_url,
        zns_template_id=TEMPLATE,
        zns_template_param="noi_dung",
    )
    yield adapter
    await adapter.aclose()


@pytest.mark.parametrize(
    ("kind", "code", "expected"),
    [
        ("cs", -230, OutsideWindow),  # no interaction in the past 7 days
        ("cs", -232, OutsideWindow),
        ("cs", -217, Blocked),
        ("cs", -227, Blocked),
        ("cs", -244, Unreachable),
        ("transaction", -232, OutsideWindow),  # nor within the year
    ],
)
async def test_refusals_tell_the_outbox_why_the_citizen_is_out_of_reach(
    fake: FakeZalo, adapter: ZaloAdapter, kind: str, code: int, expected: type[Exception]
) -> None:
    fake.refuse(kind, code)
    outgoing = (
        text_out(adapter)
        if kind == "cs"
        else adapter.render_via(TRANSACTION_VIA, [UPDATE], USER, ref="outbox1")[0]
    )
    with pytest.raises(expected) as raised:
        await adapter.send(outgoing)
    assert isinstance(raised.value, Unreachable)
    if expected is Unreachable:
        assert not isinstance(raised.value, OutsideWindow | Blocked)


async def test_a_transaction_card_goes_to_the_transaction_endpoint(
    fake: FakeZalo, adapter: ZaloAdapter
) -> None:
    fake.refuse("cs", -230)
    [outgoing] = adapter.render_via(TRANSACTION_VIA, [UPDATE], USER, ref="outbox7")
    assert await adapter.send(outgoing) == "msg-1"
    [call] = fake.message_calls()
    assert call.path == "/v3.0/oa/message/transaction"
    assert call.headers["access_token"] == "at-0"
    assert call.json["recipient"] == {"user_id": USER}
    payload = call.json["message"]["attachment"]["payload"]
    assert payload["template_type"] == "transaction" and payload["language"] == "VI"
    assert payload["elements"] == [
        {"type": "header", "content": "Cập nhật phản ánh", "align": "left"},
        {"type": "text", "content": UPDATE.text, "align": "left"},
    ]
    assert payload["buttons"] == [
        {"title": "Hài lòng", "type": "oa.query.hide", "payload": "/rate:5"},
        {"title": "Chưa hài lòng", "type": "oa.query.hide", "payload": "/rate:1"},
    ]


def test_a_card_keeps_zalos_limits() -> None:
    adapter = make_adapter("http://127.0.0.1:9", None)
    long = Reply(text=" ".join(["Đường Nguyễn Huệ đã được sửa xong"] * 40))
    [out] = adapter.render_via(TRANSACTION_VIA, [long], USER, ref="r")
    elements = out.payload["message"]["attachment"]["payload"]["elements"]
    texts = [e["content"] for e in elements if e["type"] == "text"]
    assert len(texts) == 2 and all(len(t) <= 250 for t in texts) and texts[-1].endswith("…")
    many = Reply(
        text="Chọn",
        buttons=tuple(Button(title=f"Lựa chọn số {i} " * 5, payload=f"/p{i}") for i in range(5)),
    )
    [out] = adapter.render_via(TRANSACTION_VIA, [many], USER, ref="r")
    payload = out.payload["message"]["attachment"]["payload"]
    assert "buttons" not in payload  # five do not fit a card: numbered lines instead
    shown = "\n".join(e["content"] for e in payload["elements"][1:])
    assert "5. Lựa chọn số 4" in shown and "Trả lời bằng số thứ tự." in shown
    four = many.model_copy(update={"buttons": many.buttons[:4]})
    [out] = adapter.render_via(TRANSACTION_VIA, [four], USER, ref="r")
    titles = [b["title"] for b in out.payload["message"]["attachment"]["payload"]["buttons"]]
    assert len(titles) == 4 and all(len(t) <= 35 for t in titles)


async def test_zns_goes_to_the_phone_with_the_configured_template(
    fake: FakeZalo, zns_adapter: ZaloAdapter
) -> None:
    assert zns_adapter.routes == (TRANSACTION_VIA, ZNS_VIA)
    [outgoing] = zns_adapter.render_via(ZNS_VIA, [UPDATE], PHONE, ref="outbox-42")
    assert outgoing.kind == "zns"
    assert await zns_adapter.send(outgoing) == "zns-1"
    [call] = fake.zns_calls()
    assert call.headers["access_token"] == "at-0"
    assert call.json == {
        "phone": "84912345678",
        "template_id": TEMPLATE,
        "template_data": {"noi_dung": UPDATE.text},
        "tracking_id": "outbox42",
    }
    assert fake.message_calls() == []


async def test_without_a_template_there_is_no_zns_route(adapter: ZaloAdapter) -> None:
    assert adapter.routes == (TRANSACTION_VIA,)
    with pytest.raises(BadRequest):
        adapter.render_via(ZNS_VIA, [UPDATE], PHONE, ref="r")


@pytest.mark.parametrize(
    ("code", "expected"),
    [(-118, Blocked), (-141, Blocked), (-108, Unreachable), (-144, Unreachable)],
)
async def test_zns_refusals_move_on_to_sms(
    fake: FakeZalo, zns_adapter: ZaloAdapter, code: int, expected: type[Exception]
) -> None:
    fake.refuse("zns", code)
    with pytest.raises(expected):
        await zns_adapter.send(zns_adapter.render_via(ZNS_VIA, [UPDATE], PHONE, ref="r")[0])


async def test_zns_at_night_waits_for_the_morning(fake: FakeZalo, zns_adapter: ZaloAdapter) -> None:
    fake.refuse("zns", -133)  # NOW is 19:14 in Vietnam: 10 h 46 min until 06:00
    with pytest.raises(RateLimited) as raised:
        await zns_adapter.send(zns_adapter.render_via(ZNS_VIA, [UPDATE], PHONE, ref="r")[0])
    assert raised.value.retry_after == (10 * 60 + 46) * 60
    assert NOW.hour == 12


async def test_zns_refreshes_a_refused_token_once(fake: FakeZalo, zns_adapter: ZaloAdapter) -> None:
    fake.revoke_access_tokens()
    out = zns_adapter.render_via(ZNS_VIA, [UPDATE], PHONE, ref="r")[0]
    assert await zns_adapter.send(out) == "zns-2"
    assert [c.headers["access_token"] for c in fake.zns_calls()] == ["at-0", "at-1"]
    assert fake.refreshes == ["rt-0"]
    fake.revoke_access_tokens()
    fake.refresh_tokens.clear()  # the refresh fails too: try again later
    with pytest.raises(Transient):
        await zns_adapter.send(out)
