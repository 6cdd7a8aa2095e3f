"""The web chat in a real browser (Debian's Chromium driven by Playwright), on a live server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backend.app import create_app
from backend.migrate import upgrade
from nlu import Nlu
from tests.browser.live import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    live_server,
    needs_chromium,
    report_in_chat,
)
from tests.conftest import make_settings

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, nlu: Nlu) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'paht.db'}"
    upgrade(url)
    with live_server(create_app(make_settings(database_url=url), nlu=nlu)) as base:
        yield base


def test_citizen_reports_through_the_web_chat(server: str) -> None:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM, "chromium is required under CI"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 800})
        code = report_in_chat(
            page,
            server,
            content="Ổ gà lớn giữa đường Phạm Hùng, phường 9, xe máy té liên tục",
            place="đường Phạm Hùng, phường 9, TP Vĩnh Long",
        )
        assert code.startswith("20")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "chat.png"))
        browser.close()
