"""The Zalo OA adapter's sends to the fake Zalo on 127.0.0.1, and Zalo's error codes, HTTP
statuses and timeouts mapped to the error family.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from channels.base import BadRequest, Outgoing, RateLimited, Transient, Unreachable
from channels.zalo import ZaloAdapter
from channels.zalo_tokens import FileTokenStore
from tests.channels.contract import REPLIES
from tests.channels.zalo.conftest import USER, make_adapter, text_out
from tests.fakes.zalo_api import FakeZalo

CS = "/v3.0/oa/message/cs"


@pytest.mark.parametrize("kind", ["text", "two_buttons", "image", "ask_contact"])
async def test_sends_post_the_rendered_payload_with_the_access_token(
    fake: FakeZalo, adapter: ZaloAdapter, kind: str
) -> None:
    outgoing = adapter.render([REPLIES[kind]], USER)
    ids = [await adapter.send(o) for o in outgoing]
    calls = fake.message_calls()
    assert [c.path for c in calls] == [CS] * len(outgoing)
    assert [c.json for c in calls] == [dict(o.payload) for o in outgoing]
    assert {c.headers["access_token"] for c in calls} == {"at-0"}
    assert ids == [f"msg-{i}" for i in range(1, len(outgoing) + 1)]
    if kind == "ask_contact":
        assert calls[-1].json["message"]["attachment"]["payload"]["template_type"] == (
            "request_user_info"
        )


ERRORS: list[tuple[str, int, dict[str, str], type[Exception], float | None]] = [
    ("error", -230, {}, Unreachable, None),  # outside the 7-day window
    ("error", -217, {}, Unreachable, None),
    ("error", -32, {}, RateLimited, 60.0),
    ("error", -32, {"retry-after": "5"}, RateLimited, 5.0),
    ("error", -211, {}, RateLimited, 3600.0),
    ("error", -201, {}, BadRequest, None),
    ("error", -240, {}, BadRequest, None),
    ("error", -999, {}, BadRequest, None),  # unknown refusal: do not retry blindly
    ("error", -320, {}, Transient, None),  # no Zalo Cloud balance: retry once topped up
    ("http", 429, {"retry-after": "7"}, RateLimited, 7.0),
    ("http", 429, {"retry-after": "nan"}, RateLimited, 60.0),
    ("http", 502, {}, Transient, None),
    ("http", 404, {}, BadRequest, None),
    ("http", 200, {}, Transient, None),  # 200 without a Zalo envelope
]


@pytest.mark.parametrize(("how", "code", "headers", "expected", "retry_after"), ERRORS)
async def test_zalo_errors_map_to_the_family(
    fake: FakeZalo,
    adapter: ZaloAdapter,
    how: str,
    code: int,
    headers: dict[str, str],
    expected: type[Exception],
    retry_after: float | None,
) -> None:
    if how == "error":
        fake.fail_next_with_error(code, headers=headers)
    else:
        fake.fail_next(code, b"<html>oops</html>", headers)
    with pytest.raises(expected) as raised:
        await adapter.send(text_out(adapter))
    if retry_after is not None:
        assert isinstance(raised.value, RateLimited) and raised.value.retry_after == retry_after
    assert fake.refreshes == []


async def test_timeouts_are_transient(token_file: Path) -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    adapter = make_adapter(
        "http://127.0.0.1:9",
        FileTokenStore(token_file),
        client_factory=lambda: httpx.AsyncClient(transport=httpx.MockTransport(timeout)),
    )
    with pytest.raises(Transient):
        await adapter.send(text_out(adapter))
    with pytest.raises(BadRequest):
        await adapter.send(Outgoing(USER, {}, kind="promotion"))
    await adapter.aclose()
