"""The web (Rasa REST) channel: parse and render, offline."""

from __future__ import annotations

import pytest

from bot.messages import Button, Reply
from channels import web


def test_text_payload_and_location_are_parsed() -> None:
    text = web.parse(web.RestMessage(sender="u1", message="đèn đường hư", message_id="a"))
    assert text.text == "đèn đường hư" and text.message_id == "a" and text.payload is None
    button = web.parse(web.RestMessage(sender="u1", message="/category:giao_thong"))
    assert button.payload == "/category:giao_thong"
    pin = web.parse(
        web.RestMessage(sender="u1", message='/share_location{"lat": 10.25, "lon": 105.97}')
    )
    assert (pin.lat, pin.lon) == (10.25, 105.97)


def test_media_metadata_is_parsed_and_bad_media_refused() -> None:
    msg = web.parse(
        web.RestMessage(
            sender="u1", message="", metadata={"media": [{"kind": "image", "url": "/m/1.jpg"}]}
        )
    )
    assert msg.media[0].url == "/m/1.jpg"
    with pytest.raises(web.BadMessage):
        web.parse(web.RestMessage(sender="u1", message="", metadata={"media": [{"kind": "exe"}]}))


def test_replies_render_in_rasa_format() -> None:
    out = web.render(
        [Reply(text="Chọn", buttons=(Button(title="Có", payload="/public:yes"),))], "u1"
    )
    assert out == [
        {
            "recipient_id": "u1",
            "text": "Chọn",
            "buttons": [{"title": "Có", "payload": "/public:yes"}],
        }
    ]
