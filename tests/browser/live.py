"""What the browser tests share: Debian's Chromium, a live uvicorn server, a citizen's chat."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI") != "true", reason="Debian's chromium is not installed"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def live_server(app: Any) -> Iterator[str]:
    """Serve `app` on a free loopback port in a thread; yields its base URL."""
    port = _free_port()
    instance = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not instance.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        instance.should_exit = True
        thread.join(timeout=10)


def report_in_chat(page: Any, server: str, *, content: str, place: str) -> str:
    """A citizen opens the web chat and reports `content`; returns the report code."""
    from playwright.sync_api import expect

    page.goto(f"{server}/chat")
    expect(page.locator(".bot").first).to_contain_text("Xin chào")

    def answered(action: Callable[[], None]) -> str:
        """Do `action`, wait for the bot's answer, return its last bubble."""
        before = page.locator(".bot").count()
        action()
        page.wait_for_function(f"document.querySelectorAll('.bot').length > {before}")
        return str(page.locator(".bot").last.inner_text())

    def type_(text: str) -> None:
        page.get_by_label("Tin nhắn").fill(text)
        page.get_by_role("button", name="Gửi", exact=True).click()

    assert "mô tả sự việc" in answered(page.get_by_role("button", name="Gửi phản ánh").click)
    answer = answered(lambda: type_(content))
    for _ in range(8):
        if "kiểm tra lại phản ánh" in answer:
            break
        if "ở đâu" in answer:
            answer = answered(lambda: type_(place))
        else:
            answer = answered(page.locator(".buttons").last.locator("button").first.click)
    assert "kiểm tra lại phản ánh" in answer
    page.locator(".buttons").last.get_by_role("button", name="Gửi phản ánh").click()
    expect(page.locator(".bot").last).to_contain_text(re.compile(r"Mã phản ánh: \d{12}"))
    found = re.search(r"Mã phản ánh: (\d{12})", page.locator(".bot").last.inner_text())
    assert found
    return found.group(1)
