"""The contract every channel adapter passes; run once per adapter.

Subclass `AdapterContract` in `tests/channels/<name>/test_<name>_contract.py` as
`class TestZaloContract(AdapterContract)` and provide the fixtures:

- `adapter`: the adapter under test (its `send` pointed at a fake provider
  server on 127.0.0.1 when the test needs it);
- `text_request`: a correctly signed webhook request carrying the text
  "đèn đường hư" from a citizen;
- `forged_request`: the same request with a wrong signature;
- `unsigned_request`: the same request without its signature header;
- `malformed_request`: a signed request whose body is not this provider's format;
- `send_failure`: an async callable `(status: int, body: bytes) -> Exception | None`
  that makes the fake provider answer one send with that status and body and
  returns what `adapter.send` raised (`failing_send` builds one).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from bot.messages import Button, Reply
from channels.base import (
    BadRequest,
    ChannelAdapter,
    PayloadError,
    RateLimited,
    RawRequest,
    SignatureError,
    Transient,
)

SendFailure = Callable[[int, bytes], Awaitable[Exception | None]]
VIETNAMESE_MARKS = set("àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ")

REPLIES = {
    "text": Reply(text="Đã tiếp nhận phản ánh của bạn. Mã phản ánh: 202611230001."),
    "two_buttons": Reply(
        text="Bạn có đồng ý công khai không?",
        buttons=(
            Button(title="Có", payload="/public:yes"),
            Button(title="Không", payload="/public:no"),
        ),
    ),
    "many_buttons": Reply(
        text="Bạn muốn sửa thông tin nào?",
        buttons=tuple(Button(title=f"Mục {i}", payload=f"/edit:f{i}") for i in range(1, 8)),
    ),
    "image": Reply(text="Ảnh hiện trường", image="https://example.invalid/a.jpg"),
    "ask_location": Reply(text="Sự việc xảy ra ở đâu?", ask_location=True),
    "ask_contact": Reply(text="Cho biết số điện thoại", ask_contact=True),
    "long": Reply(text="Nội dung rất dài. " * 400),
}


def failing_send(
    fail_next: Callable[[int, bytes], object], send: Callable[[], Awaitable[object]]
) -> SendFailure:
    """A `send_failure`: `fail_next(status, body)` arms the fake provider, then one `send()`."""

    async def fail(status: int, body: bytes) -> Exception | None:
        fail_next(status, body)
        try:
            await send()
        except Exception as exc:
            return exc
        return None

    return fail


class AdapterContract:
    def test_signed_request_is_accepted(
        self, adapter: ChannelAdapter, text_request: RawRequest
    ) -> None:
        adapter.verify(text_request)

    def test_forged_or_missing_signature_is_refused(
        self, adapter: ChannelAdapter, forged_request: RawRequest, unsigned_request: RawRequest
    ) -> None:
        for request in (forged_request, unsigned_request):
            with pytest.raises(SignatureError):
                adapter.verify(request)

    def test_text_message_is_parsed_with_its_ids(
        self, adapter: ChannelAdapter, text_request: RawRequest
    ) -> None:
        messages = adapter.parse(text_request)
        assert len(messages) == 1
        message = messages[0]
        assert message.channel == adapter.name
        assert message.sender_id and message.message_id
        assert "đèn đường hư" in message.text or "den duong hu" in message.text

    def test_malformed_payload_is_a_payload_error(
        self, adapter: ChannelAdapter, malformed_request: RawRequest
    ) -> None:
        with pytest.raises(PayloadError):
            adapter.parse(malformed_request)

    @pytest.mark.parametrize("kind", sorted(REPLIES))
    def test_every_reply_kind_renders_within_limits(
        self, adapter: ChannelAdapter, kind: str
    ) -> None:
        reply = REPLIES[kind]
        outgoing = adapter.render([reply], "recipient-1")
        assert outgoing, "every reply produces at least one provider call"
        caps = adapter.capabilities
        rendered = " ".join(str(o.payload) for o in outgoing)
        for out in outgoing:
            assert out.recipient == "recipient-1"
        if reply.buttons and len(reply.buttons) > caps.max_buttons:
            assert "1. " in rendered, "options beyond the channel's buttons become numbered lines"
        if not caps.diacritics:
            assert not (set(rendered.lower()) & VIETNAMESE_MARKS)

    @pytest.mark.parametrize(
        ("status", "body", "expected"),
        [
            (429, b"", RateLimited),
            (500, b"", Transient),
            (503, b"", Transient),
            (400, b"", BadRequest),
        ],
    )
    async def test_provider_http_errors_map_to_the_error_family(
        self, send_failure: SendFailure, status: int, body: bytes, expected: type[Exception]
    ) -> None:
        raised = await send_failure(status, body)
        assert isinstance(raised, expected), raised
