"""Key flows in a real browser against the real server."""

from __future__ import annotations

import os
from pathlib import Path

SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", "")) if os.environ.get("SCREENSHOT_DIR") else None


def wait_for_app(page) -> None:
    page.wait_for_selector("[data-testid='stMetric']", timeout=60_000)
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)


def test_overview_renders_without_error_and_headline_fits_1280x800(server, page, tmp_path):
    page.goto(server["url"])
    wait_for_app(page)
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.get_by_text("舆情总览").is_visible()
    metrics = page.locator("[data-testid='stMetric']")
    assert metrics.count() == 5
    last_box = metrics.nth(4).bounding_box()
    assert last_box["y"] + last_box["height"] <= 800  # the headline row is readable without scrolling
    shot = (SCREENSHOTS or tmp_path) / "overview.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000


def test_filter_link_is_shareable(server, page):
    page.goto(f"{server['url']}/?channel=12345热线")
    wait_for_app(page)
    assert "channel=" in page.url
    assert page.locator("[data-testid='stSidebar']").get_by_text("12345热线").first.is_visible()
