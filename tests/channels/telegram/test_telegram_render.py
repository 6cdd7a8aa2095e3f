"""The Telegram adapter's render (pure): keyboards and their degradation, photos, long texts."""

from __future__ import annotations

from typing import Any

from bot.messages import Button, Reply
from channels.telegram import SHARE_LOCATION, SHARE_PHONE, TelegramAdapter, split_text
from tests.channels.telegram.conftest import CITIZEN


def render_one(adapter: TelegramAdapter, reply: Reply) -> list[dict[str, Any]]:
    return [dict(out.payload) for out in adapter.render([reply], CITIZEN)]


def test_buttons_become_an_inline_keyboard(adapter: TelegramAdapter) -> None:
    reply = Reply(text="Công khai?", buttons=(Button(title="Có", payload="/public:yes"),))
    [call] = render_one(adapter, reply)
    assert call == {
        "method": "sendMessage",
        "chat_id": CITIZEN,
        "text": "Công khai?",
        "reply_markup": {"inline_keyboard": [[{"text": "Có", "callback_data": "/public:yes"}]]},
    }


def test_more_buttons_than_the_channel_shows_become_numbered_lines(
    adapter: TelegramAdapter,
) -> None:
    buttons = tuple(Button(title=f"Lĩnh vực {i}", payload=f"/category:c{i}") for i in range(12))
    [call] = render_one(adapter, Reply(text="Lĩnh vực nào?", buttons=buttons))
    assert "1. Lĩnh vực 0" in call["text"] and "12. Lĩnh vực 11" in call["text"]
    assert "inline_keyboard" not in call["reply_markup"]


def test_a_payload_longer_than_callback_data_degrades_to_numbered_lines(
    adapter: TelegramAdapter,
) -> None:
    long = Button(title="Đường Phạm Thái Bường", payload="/category:" + "đ" * 40)  # 90 bytes
    short = Button(title="Khác", payload="/category:khac")
    [call] = render_one(adapter, Reply(text="Chọn", buttons=(long, short)))
    assert "1. Đường Phạm Thái Bường\n2. Khác" in call["text"]
    assert call["reply_markup"] == {"remove_keyboard": True}


def test_ask_contact_is_a_one_time_request_contact_keyboard(adapter: TelegramAdapter) -> None:
    reply = Reply(
        text="Cho biết số điện thoại",
        buttons=(Button(title="Gửi ẩn danh", payload="/contact:skip"),),
        ask_contact=True,
    )
    [call] = render_one(adapter, reply)
    assert call["reply_markup"] == {
        "keyboard": [[{"text": SHARE_PHONE, "request_contact": True}], [{"text": "Gửi ẩn danh"}]],
        "one_time_keyboard": True,
        "resize_keyboard": True,
    }


def test_ask_location_is_a_request_location_button(adapter: TelegramAdapter) -> None:
    [call] = render_one(adapter, Reply(text="Ở đâu?", ask_location=True))
    assert call["reply_markup"]["keyboard"] == [
        [{"text": SHARE_LOCATION, "request_location": True}]
    ]


def test_image_with_a_short_text_is_one_photo_with_caption(adapter: TelegramAdapter) -> None:
    [call] = render_one(adapter, Reply(text="Ảnh hiện trường", image="https://x.invalid/a.jpg"))
    assert call["method"] == "sendPhoto" and call["photo"] == "https://x.invalid/a.jpg"
    assert call["caption"] == "Ảnh hiện trường"


def test_image_with_a_long_text_is_a_photo_then_the_text(adapter: TelegramAdapter) -> None:
    calls = render_one(adapter, Reply(text="Dài. " * 300, image="https://x.invalid/a.jpg"))
    assert [c["method"] for c in calls] == ["sendPhoto", "sendMessage"]
    assert "caption" not in calls[0] and "reply_markup" in calls[1]


def test_long_text_is_split_at_word_breaks_within_4096(adapter: TelegramAdapter) -> None:
    text = "Nội dung rất dài. " * 400
    calls = render_one(adapter, Reply(text=text, buttons=(Button(title="OK", payload="/ok"),)))
    assert len(calls) == 2
    assert all(len(c["text"]) <= 4096 for c in calls)
    assert " ".join(c["text"] for c in calls).split() == text.split()
    assert "reply_markup" not in calls[0] and "inline_keyboard" in calls[1]["reply_markup"]


def test_split_counts_utf16_units_and_cuts_words_only_when_it_must() -> None:
    assert split_text("😀" * 3000, 4096) == ["😀" * 2048, "😀" * 952]
    assert split_text("a" * 5000, 4096) == ["a" * 4096, "a" * 904]
    assert split_text("abcdef\n\ng h ij", 10) == ["abcdef", "g h ij"]  # paragraph first
    assert split_text("", 10) == []
