"""The public portal on a phone (390 px, Debian's Chromium driven by Playwright), live server.

A visitor opens the list, filters it by category, opens a report and sees its map pin and
the answer; screenshots go to test-artifacts/screenshots/portal/.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from backend.app import create_app
from backend.db import make_engine
from backend.migrate import upgrade
from backend.settings import Settings
from nlu import Nlu
from tests.browser.live import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, live_server, needs_chromium
from tests.conftest import make_settings
from tests.console.test_inbox import add_report

pytestmark = needs_chromium
SHOTS = ARTIFACTS / "portal"
ANSWER = "<p>Công ty Điện lực đã <strong>thay bóng đèn</strong> ngày 20/11/2026.</p>"


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory, nlu: Nlu) -> Iterator[tuple[str, str]]:
    """A live server with published reports; yields (base URL, the lamp report's code)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('portal') / 'paht.db'}"
    upgrade(url)
    settings: Settings = make_settings(database_url=url, console={"tile_url": ""})  # offline
    engine = make_engine(url)
    common = {"published": True, "status": "completed", "commune_name": "Phường Long Châu"}
    for i in range(6):
        add_report(
            engine,
            settings,
            ago=timedelta(hours=2 + i),
            title=f"Rác thải ven sông số {i}",
            category="moi_truong",
            **common,
        )
    lamp = add_report(
        engine,
        settings,
        title="Đèn đường trước chợ Long Châu bị hư",
        content="Đèn đường trước chợ hư ba ngày nay, gọi tôi 0912 345 678.",
        category="giao_thong",
        lat=10.2536,
        lon=105.9722,
        answer=ANSWER,
        answered_at=datetime.now(UTC) - timedelta(minutes=5),
        reporter_name="Lê Thị Hoa",
        **common,
    )
    engine.dispose()
    with live_server(create_app(settings, nlu=nlu)) as base:
        yield base, lamp


def test_visitor_filters_the_list_and_reads_a_report(portal: tuple[str, str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, lamp = portal
    assert CHROMIUM, "chromium is required under CI"
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(f"{base}/cong-dong")
        expect(page.get_by_role("heading", name="Phản ánh đã công khai")).to_be_visible()
        expect(page.locator(".report-card")).to_have_count(7)
        # nothing wider than the phone's screen
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(SHOTS / "list.png"), full_page=True)

        page.get_by_label("Lĩnh vực").select_option(label="Giao thông")
        page.get_by_role("button", name="Lọc").click()
        expect(page.locator(".report-card")).to_have_count(1)
        page.screenshot(path=str(SHOTS / "list-filtered.png"), full_page=True)

        page.get_by_role("link", name="Đèn đường trước chợ Long Châu bị hư").click()
        expect(page).to_have_url(f"{base}/cong-dong/{lamp}")
        expect(page.locator("#report-map[data-ready=true]")).to_be_visible()
        expect(page.locator("#report-map .leaflet-marker-icon")).to_have_count(1)
        expect(page.locator("#answer")).to_contain_text("thay bóng đèn")
        expect(page.locator("#reporters")).to_have_text("1 người đã phản ánh vấn đề này")
        body = page.locator("main").inner_text()
        assert "0912 345 678" not in body and "Lê Thị Hoa" not in body
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(SHOTS / "report.png"), full_page=True)
        browser.close()
