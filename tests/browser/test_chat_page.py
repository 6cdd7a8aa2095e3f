"""The web chat in a real browser (Debian's Chromium driven by Playwright), on a live server."""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn

from backend.app import create_app
from backend.migrate import upgrade
from nlu import Nlu
from tests.conftest import make_settings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI") != "true", reason="Debian's chromium is not installed"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, nlu: Nlu) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'paht.db'}"
    upgrade(url)
    app = create_app(make_settings(database_url=url), nlu=nlu)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not instance.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=10)


def test_citizen_reports_through_the_web_chat(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    assert CHROMIUM, "chromium is required under CI"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 390, "height": 800})
        page.goto(f"{server}/chat")
        expect(page.locator(".bot").first).to_contain_text("Xin chào")

        def answered(action: Callable[[], None]) -> str:
            """Do `action`, wait for the bot's answer, return its last bubble."""
            before = page.locator(".bot").count()
            action()
            page.wait_for_function(f"document.querySelectorAll('.bot').length > {before}")
            return page.locator(".bot").last.inner_text()

        def type_(text: str) -> None:
            page.get_by_label("Tin nhắn").fill(text)
            page.get_by_role("button", name="Gửi", exact=True).click()

        answer = answered(page.get_by_role("button", name="Gửi phản ánh").click)
        assert "mô tả sự việc" in answer
        answer = answered(
            lambda: type_("Ổ gà lớn giữa đường Phạm Hùng, phường 9, xe máy té liên tục")
        )
        for _ in range(8):
            if "kiểm tra lại phản ánh" in answer:
                break
            if "ở đâu" in answer:
                answer = answered(lambda: type_("đường Phạm Hùng, phường 9, TP Vĩnh Long"))
            else:
                answer = answered(page.locator(".buttons").last.locator("button").first.click)
        assert "kiểm tra lại phản ánh" in answer
        page.locator(".buttons").last.get_by_role("button", name="Gửi phản ánh").click()
        expect(page.locator(".bot").last).to_contain_text(re.compile(r"Mã phản ánh: \d{12}"))
        page.screenshot(path=str(tmp_path / "chat.png"))
        browser.close()
