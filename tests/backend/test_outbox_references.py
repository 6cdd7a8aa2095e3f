"""An outbox message sent again (after a crash, after its lease) carries the same client
reference to an SMS gateway as the first time, so a provider that deduplicates on it
(`{message_id}` in the send template) drops the repeat."""

from __future__ import annotations

from datetime import UTC, datetime

from backend.notifications.sending import Due, _render
from bot.messages import Reply
from tests.channels.sms_gateway.conftest import CITIZEN, make_adapter

UNTIL = datetime(2026, 11, 23, 3, 2, tzinfo=UTC)


def _due(row_id: int) -> Due:
    payload = Reply(text="Phản ánh của bạn đã được tiếp nhận.").model_dump(mode="json")
    return Due(row_id, "sms", CITIZEN, payload, 0, UNTIL)


def _references(row_id: int) -> list[str]:
    """The client references of the provider requests for outbox row `row_id`."""
    adapter = make_adapter("http://127.0.0.1:9")
    return [adapter.build_request(part)[1] for part in _render(adapter, _due(row_id))]


def test_a_resent_sms_has_the_same_reference_and_another_message_another() -> None:
    first = _references(41)
    assert first == _references(41)  # the same row, sent again by another dispatcher
    assert len(first) == 1 and len(first[0]) == 32  # a UUID, as the gateway's own
    assert _references(42) != first
