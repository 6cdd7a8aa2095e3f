"""The Zalo OA adapter's render (pure): query buttons and their degradation, media and
request-user-info templates, long texts split at Zalo's 2000 characters.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.messages import Button, Reply
from channels.zalo import ZaloAdapter, split_text
from tests.channels.contract import REPLIES
from tests.channels.zalo.conftest import CONTACT_IMAGE, PURE, USER, make_adapter


def messages_of(replies: list[Reply], adapter: ZaloAdapter = PURE) -> list[dict[str, Any]]:
    out = adapter.render(replies, USER)
    assert all(o.kind == "cs" and o.payload["recipient"] == {"user_id": USER} for o in out)
    return [dict(o.payload["message"]) for o in out]


def test_text_and_buttons_render_as_query_buttons() -> None:
    reply = REPLIES["two_buttons"]
    assert messages_of([reply]) == [
        {
            "text": reply.text,
            "attachment": {
                "type": "template",
                "payload": {
                    "buttons": [
                        {"title": "Có", "type": "oa.query.hide", "payload": "/public:yes"},
                        {"title": "Không", "type": "oa.query.hide", "payload": "/public:no"},
                    ]
                },
            },
        }
    ]
    show = make_adapter("http://127.0.0.1:9", None, button_type="oa.query.show")
    assert messages_of([reply], show)[0]["attachment"]["payload"]["buttons"][0]["type"] == (
        "oa.query.show"
    )


def test_five_buttons_fit_six_become_numbered_lines() -> None:
    buttons = tuple(Button(title=f"Mục {i}" * 30, payload=f"/edit:f{i}") for i in range(1, 7))
    five = messages_of([Reply(text="Chọn", buttons=buttons[:5])])[0]
    titles = [b["title"] for b in five["attachment"]["payload"]["buttons"]]
    assert len(titles) == 5 and all(len(t) <= 100 for t in titles)
    six = messages_of([Reply(text="Chọn", buttons=buttons)])
    assert six == [{"text": six[0]["text"]}] and "\n6. Mục 6" in six[0]["text"]


def test_image_is_a_media_template_with_its_caption() -> None:
    assert messages_of([REPLIES["image"]]) == [
        {
            "text": "Ảnh hiện trường",
            "attachment": {
                "type": "template",
                "payload": {
                    "template_type": "media",
                    "elements": [{"media_type": "image", "url": "https://example.invalid/a.jpg"}],
                },
            },
        }
    ]
    with_buttons = Reply(
        text="Đúng ảnh?", image="https://x.example/p.jpg", buttons=REPLIES["two_buttons"].buttons
    )
    image, text = messages_of([with_buttons])
    assert "text" not in image and image["attachment"]["payload"]["template_type"] == "media"
    assert text["text"] == "Đúng ảnh?" and len(text["attachment"]["payload"]["buttons"]) == 2


def test_ask_contact_adds_a_request_user_info_form() -> None:
    reply = Reply(
        text="Cho biết số điện thoại",
        buttons=(Button(title="Gửi ẩn danh", payload="/contact:skip"),),
        ask_contact=True,
    )
    text, form = messages_of([reply])
    assert text["attachment"]["payload"]["buttons"][0]["payload"] == "/contact:skip"
    payload = form["attachment"]["payload"]
    assert payload["template_type"] == "request_user_info"
    [element] = payload["elements"]
    assert element["image_url"] == CONTACT_IMAGE
    assert 0 < len(element["title"]) <= 100 and 0 < len(element["subtitle"]) <= 500


def test_long_text_is_split_at_2000_characters_and_buttons_go_last() -> None:
    reply = Reply(text=REPLIES["long"].text, buttons=REPLIES["two_buttons"].buttons)
    parts = messages_of([reply])
    assert len(parts) == 4 and all(len(p["text"]) <= 2000 for p in parts)
    assert [("attachment" in p) for p in parts] == [False, False, False, True]
    assert " ".join(p["text"] for p in parts).split() == reply.text.split()


@given(st.text(max_size=3000), st.integers(min_value=5, max_value=300))
def test_split_text_keeps_every_word_within_the_limit(text: str, limit: int) -> None:
    chunks = split_text(text, limit)
    assert all(len(c) <= limit for c in chunks)
    assert "".join("".join(chunks).split()) == "".join(text.split())
