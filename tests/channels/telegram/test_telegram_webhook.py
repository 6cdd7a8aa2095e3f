"""The Telegram adapter, inbound: the secret-token check, and parse on sample updates
(messages, media, contacts, button presses, ignored kinds, malformed and fuzzed bodies).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.base import PayloadError, SignatureError
from channels.telegram import TelegramAdapter, normalise_phone
from tests.channels.telegram.conftest import CITIZEN, DATA, SECRET, TOKEN, sample, webhook


def test_secret_is_compared_exactly(adapter: TelegramAdapter) -> None:
    adapter.verify(webhook(sample("text")))
    for wrong in ("", SECRET[:-1], SECRET + "x", SECRET.upper(), "sécret"):
        with pytest.raises(SignatureError):
            adapter.verify(webhook(sample("text"), secret=wrong))


def test_constructor_refuses_a_secret_telegram_would_refuse() -> None:
    for bad in ("", "has space", "x" * 257, "dấu"):
        with pytest.raises(ValueError):
            TelegramAdapter(TOKEN, bad)


def test_text_keeps_update_id_and_chat_id(adapter: TelegramAdapter) -> None:
    [message] = adapter.parse(webhook(sample("text")))
    assert message.channel == "telegram"
    assert message.message_id == "734118001" and message.sender_id == CITIZEN
    assert message.text.startswith("đèn đường hư ở đầu hẻm 45")
    assert message.media == () and message.payload is None and message.contact_phone is None


def test_photo_takes_the_largest_size_and_the_caption(adapter: TelegramAdapter) -> None:
    [message] = adapter.parse(webhook(sample("photo_caption")))
    assert message.text == "Cột đèn số 12 không sáng"
    [photo] = message.media
    assert photo.kind == "image" and photo.provider_ref == "AgACAgUAAxkBAAMFaSK1-large"
    assert photo.url is None  # the downloader asks file_url(provider_ref)


def test_photo_sizes_out_of_order_still_give_the_largest(adapter: TelegramAdapter) -> None:
    update = sample("photo_caption")
    update["message"]["photo"].reverse()
    [message] = adapter.parse(webhook(update))
    assert message.media[0].provider_ref == "AgACAgUAAxkBAAMFaSK1-large"


def test_location(adapter: TelegramAdapter) -> None:
    [message] = adapter.parse(webhook(sample("location")))
    assert (message.lat, message.lon) == (10.253456, 105.972345)
    assert message.text == ""


def test_own_contact_gives_an_e164_phone_and_name(adapter: TelegramAdapter) -> None:
    [message] = adapter.parse(webhook(sample("contact_own")))
    assert message.contact_phone == "+84912345678"
    assert message.sender_name == "Lan Nguyễn"


def test_someone_elses_contact_gives_no_phone(adapter: TelegramAdapter) -> None:
    [message] = adapter.parse(webhook(sample("contact_other")))
    assert message.contact_phone is None and message.sender_name is None
    unlinked = sample("contact_other")
    del unlinked["message"]["contact"]["user_id"]  # a phone-book entry, not a Telegram user
    [message] = adapter.parse(webhook(unlinked))
    assert message.contact_phone is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("84912345678", "+84912345678"),
        ("+84912345678", "+84912345678"),
        ("0912345678", "+84912345678"),
        ("+84 91 234 5678", "+84912345678"),
        ("84551234567", "+84551234567"),  # a range newer than phonenumbers' metadata
        ("+14155552671", "+14155552671"),
        ("12", None),
        ("not a phone", None),
    ],
)
def test_phone_normalisation(raw: str, expected: str | None) -> None:
    assert normalise_phone(raw) == expected


def test_callback_query_is_a_button_payload_and_is_acknowledged(
    adapter: TelegramAdapter,
) -> None:
    request = webhook(sample("callback_query"))
    [message] = adapter.parse(request)
    assert message.payload == "/public:yes" and message.sender_id == CITIZEN
    assert message.message_id == "734118006"
    [ack] = adapter.acknowledgements(request)
    assert ack.kind == "answer_callback" and ack.recipient == CITIZEN
    assert ack.payload == {
        "method": "answerCallbackQuery",
        "callback_query_id": "2201029381923847561",
    }
    assert adapter.acknowledgements(webhook(sample("text"))) == []


@pytest.mark.parametrize(
    ("name", "kind", "mime"),
    [("voice", "audio", "audio/ogg"), ("document_image", "image", "image/jpeg")],
)
def test_other_media_keep_their_mime_type(
    adapter: TelegramAdapter, name: str, kind: str, mime: str
) -> None:
    [message] = adapter.parse(webhook(sample(name)))
    [media] = message.media
    assert (media.kind, media.mime_type) == (kind, mime)


@pytest.mark.parametrize("name", ["sticker", "edited_message", "group_text", "chat_member", "poll"])
def test_updates_the_bot_does_not_act_on_are_ignored(adapter: TelegramAdapter, name: str) -> None:
    assert adapter.parse(webhook(sample(name))) == []


def test_ignored_kinds_are_not_read_at_all(adapter: TelegramAdapter) -> None:
    old_poll = sample("poll")
    for option in old_poll["poll"]["options"]:
        del option["persistent_id"]  # PTB 22.8 requires it (Bot API 9.6)
    assert adapter.parse(webhook(old_poll)) == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[1, 2]",
        b'{"update_id": "1"}',
        b'{"update_id": true}',
        b'{"update_id": 1, "message": "hi"}',
        b'{"update_id": 1, "message": {"message_id": 1, "date": 0, "text": "x"}}',
        b'{"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": "5",'
        b' "type": "private"}, "from": {"id": 5, "is_bot": false, "first_name": "A"},'
        b' "text": "x"}}',
        b"[" * 5000,
        "\ud800".encode("utf-8", "surrogatepass"),
    ],
)
def test_malformed_bodies_are_payload_errors(adapter: TelegramAdapter, body: bytes) -> None:
    with pytest.raises(PayloadError):
        adapter.parse(webhook(body))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
SAMPLES = [sample(p.stem) for p in sorted(DATA.glob("*.json"))]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return [prefix]
    found = [prefix]
    for key, child in items:
        found += _paths(child, (*prefix, key))
    return found


@st.composite
def mutated_samples(draw: st.DrawFn) -> bytes:
    """A recorded update with one value (or the whole thing) replaced by arbitrary JSON."""
    update = json.loads(json.dumps(draw(st.sampled_from(SAMPLES))))
    path = draw(st.sampled_from(_paths(update)))
    value = draw(JSON)
    if not path:
        return json.dumps(value).encode()
    target = update
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return json.dumps(update).encode()


def test_fuzzed_bodies_give_a_list_or_a_payload_error() -> None:
    adapter = TelegramAdapter(TOKEN, SECRET)  # parse is pure: no server needed

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.one_of(mutated_samples(), JSON.map(lambda v: json.dumps(v).encode()), st.binary()))
    def check(body: bytes) -> None:
        request = webhook(body)
        try:
            result = adapter.parse(request)
            adapter.acknowledgements(request)
        except PayloadError:
            return
        assert isinstance(result, list)

    check()
