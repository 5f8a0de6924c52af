"""An office's own export, no demo: select posts in 话题分析 → 新建事件 → the graded incident's page, in Chromium."""

from __future__ import annotations

import pytest

from analysis.__main__ import main
from tests import own_data
from tests.conftest import running_dashboard
from tests.e2e.test_browser import open_page, settle


@pytest.fixture(scope="module")
def own_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("own_e2e")
    export = folder / "export.csv"
    own_data.write_export(export, own_data.rule_clock())
    db = folder / "own.duckdb"
    assert main(["ingest", str(export), "--db", str(db)]) == 0
    with running_dashboard(db) as url:
        yield {"url": url}


def test_select_posts_then_new_incident_opens_its_page(own_server, page):
    open_page(page, own_server, "topic?t=食品药品")
    # the post table: the first grid after the 帖子 heading (word-cloud, viewpoint and media tables come before it)
    grid = page.get_by_role("heading", name="帖子", exact=True).locator(
        "xpath=following::*[@data-testid='stDataFrame'][1]")
    grid.wait_for(timeout=60_000)
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    for row in range(3):  # the row-marker column: a checkbox per row (header and rows are 35 px high)
        page.mouse.click(box["x"] + 18, box["y"] + 35 + 35 * row + 17)
        settle(page)
    page.get_by_text("已选 3 条帖子").wait_for(timeout=30_000)
    form = page.locator("[data-testid='stForm']").filter(has_text="新建事件").first
    form.get_by_label("事件标题").fill("外卖食品安全投诉")
    form.get_by_role("button", name="新建事件").click()
    page.wait_for_function("location.pathname.endsWith('/incidents') && location.search.includes('incident=')",
                           timeout=60_000)
    settle(page)
    assert page.locator("h1").first.inner_text() == "事件时间线"
    assert page.locator("[data-testid='stException']").count() == 0
    page.get_by_text("外卖食品安全投诉").first.wait_for(timeout=30_000)
    def metric(label: str) -> str:
        return page.locator("[data-testid='stMetric']").filter(has_text=label).first.inner_text().split("\n")[-1]

    assert metric("当前定级") in ("一级", "二级", "三级")  # graded at once
    assert metric("状态") == "处置中" and metric("关联帖子") == "3"
    assert page.get_by_text("处置时限").first.is_visible() and page.get_by_text("事件脉络").first.is_visible()
