"""Key flows in a real browser against the real server."""

from __future__ import annotations

import os
import re
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
    assert metrics.count() == 10  # the headline row and the KPI row
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


PAGES = {"": "舆情总览", "incidents": "事件时间线", "briefing": "简报", "heatmap": "热力图", "topic": "话题分析",
         "alerts": "预警", "corrections": "情感校正", "import": "数据导入"}


def open_page(page, server, path: str) -> None:
    page.goto(f"{server['url']}/{path}")
    page.wait_for_selector("[data-testid='stMain'] h1", timeout=60_000)
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)


def settle(page) -> None:
    """Wait until Streamlit has finished the rerun the last interaction triggered."""
    page.wait_for_timeout(600)
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)


def test_every_page_loads_without_an_error_element(server, page):
    for path, title in PAGES.items():
        open_page(page, server, path)
        assert page.locator("h1").first.inner_text() == title
        assert page.locator("[data-testid='stException']").count() == 0, path
        if SCREENSHOTS:
            page.screenshot(path=str(SCREENSHOTS / f"{path or 'overview'}.png"))


def test_clicking_a_heatmap_cell_lands_on_its_posts(server, page):
    open_page(page, server, "heatmap")
    page.wait_for_selector(".js-plotly-plot .scatterlayer .point", timeout=60_000)
    page.locator(".js-plotly-plot .scatterlayer .point").nth(5).click(force=True)
    page.wait_for_function("location.search.includes('row=')", timeout=30_000)
    settle(page)
    assert page.get_by_text("的帖子").first.is_visible()
    # the table's code is loaded on first use: on a busy machine it may arrive after the run has finished
    page.wait_for_selector("[data-testid='stDataFrame']", timeout=30_000)


def test_acknowledge_an_alert(server, page):
    # The server owns the database file (one writer), so the effect is checked through the UI.
    # How many alerts are still new depends on the hour the demo was built (a channel quiet at night).
    open_page(page, server, "")
    heading = page.get_by_text(re.compile(r"未处理预警（\d+）")).first.inner_text()
    waiting = int(re.search(r"（(\d+)）", heading).group(1))
    assert waiting >= 1
    open_page(page, server, "alerts?state=new")
    # The grid's aria-rowcount is its header plus its rows; with no alert left there is no grid.
    grid_rows = "(document.querySelector(\"[data-testid='stDataFrame'] [aria-rowcount]\")" \
                "?.getAttribute('aria-rowcount') ?? '1') === '%d'"
    page.wait_for_function(grid_rows % (waiting + 1), timeout=30_000)
    page.get_by_role("button", name="确认").first.click()
    page.wait_for_function(grid_rows % waiting, timeout=30_000)  # the acknowledged alert has left the list
    open_page(page, server, "")
    page.get_by_text(f"未处理预警（{waiting - 1}）").wait_for(timeout=30_000)


def test_add_a_lifecycle_event(server, page):
    open_page(page, server, f"incidents?incident={server['rumour']}")
    drawn = ("[...document.querySelectorAll('.js-plotly-plot .annotation-text')]"
             ".some(e => e.textContent === '处置')")
    page.wait_for_selector(".js-plotly-plot .annotation-text", timeout=30_000)
    assert not page.evaluate(drawn)  # the rumour has not been handled yet
    form = page.locator("[data-testid='stForm']").first
    choice = form.locator("[data-testid='stSelectbox'] input")
    choice.click()
    choice.fill("处置")
    page.keyboard.press("Enter")
    form.locator("textarea").fill("学校食堂暂停营业配合调查")
    form.get_by_role("button", name="记录").click()
    settle(page)
    page.wait_for_function(drawn, timeout=30_000)  # the new step is drawn on the incident's timeline


def test_import_a_file(server, page, tmp_path, real_posts):
    rows = real_posts.head(20)
    csv = tmp_path / "采集结果.csv"
    csv.write_text("标题,内容,来源,发布时间,链接\n" + "".join(
        f"帖子{i},\"{str(t).replace(chr(34), '')}\",新浪微博,2026-11-20 0{i % 10}:15,https://weibo.com/e2e/{i}\n"
        for i, t in enumerate(rows["text"])), encoding="gbk", errors="ignore")
    open_page(page, server, "import")
    page.locator("input[type='file']").set_input_files(str(csv))
    page.get_by_text("采集结果.csv").wait_for(timeout=30_000)
    settle(page)
    page.get_by_role("button", name="开始导入").click()
    page.wait_for_selector("text=导入完成", timeout=60_000)
    settle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.locator("[data-testid='stDataFrame']").count() >= 2  # the per-file summary and channel freshness
