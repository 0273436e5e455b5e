"""A real browser walks the dashboard: Debian's Chromium, headless, driven by Playwright.

It follows a day of the overview and an alert to their mentions, records a correction through the
form and sees the count change, and reads the pages with JavaScript off. Screenshots are kept in
$ZMOT_TEST_ARTIFACTS (or the test's tmp folder) and the folder is printed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb
import pytest

from tests.conftest import chromium as chromium_path
from tests.workbench_server import copy_warehouse, running
from zmot.workbench.app import create_app

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency (pip install -e '.[dev]')")

BRAND = "Acme Mobile"
OUTAGE = "2026-11-11"


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("ZMOT_TEST_ARTIFACTS") or tmp_path / "artifacts") / "workbench"
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {folder}")
    return folder


@pytest.fixture
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path(), args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def site(demo_warehouse: Path, tmp_path: Path):
    warehouse = copy_warehouse(demo_warehouse, tmp_path / "data")
    with running(create_app(warehouse)) as base:
        yield base, warehouse


def _count(page) -> int:
    return int(page.locator("h1 .count").inner_text())


def _signal(warehouse: Path, column: str) -> int:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(f"SELECT {column} FROM daily_signals WHERE brand = ? AND product = '*' AND source_kind = '*' "
                           "AND day = ?", [BRAND, OUTAGE]).fetchall()[0][0]
    finally:
        con.close()


def test_an_analyst_clicks_a_spike_through_to_its_mentions_corrects_one_and_sees_the_count_change(
        browser, site, artifacts: Path) -> None:
    base, warehouse = site
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    page.goto(base + "/")
    page.screenshot(path=artifacts / "1-overview.png")
    page.locator(f'svg a[href*="day_from={OUTAGE}"][href*="Acme+Mobile"]').first.click()
    page.wait_for_url(re.compile(r"/mentions\?"))
    assert _count(page) == _signal(warehouse, "mentions")
    page.screenshot(path=artifacts / "2-a-day-clicked.png")

    page.get_by_role("link", name="Alerts").click()
    page.screenshot(path=artifacts / "3-alerts.png", full_page=True)
    alert = page.locator("section.alert").filter(has_text=f"{BRAND}: negative mentions on {OUTAGE}")
    alert.get_by_role("link", name="The mentions behind it").click()
    page.wait_for_url(re.compile(r"sentiment=negative"))
    behind_url, negative = page.url, _count(page)
    assert negative == _signal(warehouse, "negative")
    page.screenshot(path=artifacts / "4-mentions-behind-the-alert.png")

    page.locator("table.mentions td.excerpt a").first.click()
    page.wait_for_url(re.compile(r"/mentions/[^/?]+\?day=\d{4}-\d{2}-\d{2}$"))  # list links carry the day
    form = page.locator("form#correct-sentiment")
    form.locator("select[name=brand]").select_option(BRAND)
    form.locator("select[name=value]").select_option("positive")
    form.locator("input[name=note]").fill("sarcasm, they are happy")
    form.get_by_role("button", name="Set the sentiment").click()
    page.wait_for_selector("p.done")
    assert "negative -> positive" in page.locator("p.done").inner_text()
    assert "sarcasm, they are happy" in page.locator("table").nth(2).inner_text()
    page.screenshot(path=artifacts / "5-corrected.png", full_page=True)

    page.goto(behind_url)
    assert _count(page) == negative - 1 == _signal(warehouse, "negative")
    page.screenshot(path=artifacts / "6-the-count-changed.png")
    assert errors == []
    assert sorted(p.name for p in artifacts.glob("*.png")) == [
        "1-overview.png", "2-a-day-clicked.png", "3-alerts.png", "4-mentions-behind-the-alert.png", "5-corrected.png",
        "6-the-count-changed.png"]


def test_the_pages_read_and_filter_with_javascript_off(browser, site, artifacts: Path) -> None:
    base, warehouse = site
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    for path in ("/", "/alerts", "/runs"):
        page.goto(base + path)
        assert page.locator("main h1").count() >= 1
    page.goto(base + "/mentions")
    form = page.locator("form.filters")
    form.locator("select[name=brand]").select_option(BRAND)
    form.locator("input[name=day_from]").fill(OUTAGE)
    form.locator("input[name=day_to]").fill(OUTAGE)
    form.locator("select[name=moment]").select_option("lzmot")
    form.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"moment=lzmot"))
    assert _count(page) == _signal(warehouse, "lzmot")
    page.locator("details.sql summary").click()
    assert "mention_targets" in page.locator("details.sql pre").first.inner_text()
    page.screenshot(path=artifacts / "no-javascript-filtered.png", full_page=True)
    context.close()
