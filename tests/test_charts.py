"""The figures as a Chinese office reads them: drawn by Plotly in Chromium (kaleido) from the demo database."""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import datetime as dt
import re

import pandas as pd
import plotly.graph_objects as go
import pytest

from analysis import alerts, briefing, charts, incidents, metrics
from analysis.filters import Filters
from analysis.store import Store

ENGLISH_DATE_WORDS = re.compile(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
                                r"[a-z]*\b")


def drawn_text(figures: dict[str, go.Figure]) -> dict[str, list[str]]:
    """Every piece of text Plotly draws for each figure (ticks, titles, legends), from its SVG."""
    import kaleido

    browser = briefing.chromium_path()
    if browser is None:
        pytest.skip("Chromium not found: install Debian's chromium (see README) to render figures")

    async def render() -> dict[str, bytes]:
        async with kaleido.Kaleido(path=browser, mathjax=False, n=1) as k:
            return {name: await k.calc_fig(fig, opts={"format": "svg", "width": 1000,
                                                       "height": fig.layout.height or 360})
                    for name, fig in figures.items()}

    # a thread of its own: after the browser tests, Playwright's event loop is running in this one
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        svgs = pool.submit(asyncio.run, render()).result()
    return {name: [re.sub(r"<[^>]+>", " ", t).strip() for t in re.findall(r"<text[^>]*>(.*?)</text>",
                                                                          svg.decode(), flags=re.S)]
            for name, svg in svgs.items()}


@pytest.fixture(scope="module")
def figures(demo_db) -> dict[str, go.Figure]:
    with Store(demo_db, read_only=True) as store:
        latest = metrics.latest_day(store)
        month = Filters(latest - dt.timedelta(days=29), latest)
        two_days = dataclasses.replace(month, start=latest - dt.timedelta(days=1), grain="hour")
        listed = incidents.list_incidents(store)
        first = listed["incident_id"].iloc[0]
        hours = incidents.hourly_counts(incidents.incident_posts(store, first))
        trend_by_topic = metrics.trend(store, dataclasses.replace(month, group_by="topic"))
        end = pd.Timestamp(latest, tz="Asia/Shanghai") + pd.Timedelta(days=1)
        fired = alerts.backtest(store, alerts.load_rules(store)[:2], end - pd.Timedelta(days=7), end)
        rhythm = metrics.heatmap_matrix(metrics.heatmap_cells(store, month, "hour_weekday"), "posts", "hour_weekday")
        by_day = metrics.heatmap_matrix(metrics.heatmap_cells(store, month, "topic_day"), "negative_ratio", "topic_day")
        weeks = dataclasses.replace(month, grain="week")
        return {
            "weekly_trend": charts.volume_and_negativity(metrics.trend(store, weeks)),
            "weekday_heatmap": charts.heatmap_figure(rhythm.T, "posts", "发帖时段分布", "星期", "时段"),
            "weekday_cells": charts.heatmap_selectable(rhythm, "posts", "时段×星期", "时段", "星期"),
            "day_cells": charts.heatmap_selectable(by_day, "negative_ratio", "话题×日期", "话题", "日期"),
            "daily_trend": charts.volume_and_negativity(metrics.trend(store, month)),
            "hourly_trend": charts.volume_and_negativity(metrics.trend(store, two_days)),
            "topic_lines": charts.topic_lines(trend_by_topic, "grp", "话题走势"),
            "incident_hours": charts.hourly_volume(hours, "事件声量", incidents.events(store, first)),
            "gantt": charts.incident_gantt(listed, end, {}),
            "backtest": charts.backtest_fires(fired, "回测"),
            "channels": charts.breakdown_bars(metrics.breakdown(store, month, "channel"), "channel", "渠道"),
        }


def test_every_date_axis_reads_in_chinese_at_every_zoom(figures):
    texts = drawn_text(figures)
    for name, shown in texts.items():
        english = [t for t in shown if ENGLISH_DATE_WORDS.search(t)]
        assert not english, (name, english)
    for name in ("daily_trend", "hourly_trend", "topic_lines", "incident_hours", "gantt", "backtest"):
        assert any(re.fullmatch(r"\d{1,2}月\d{1,2}日", t) or re.search(r"\d{2}:\d{2}\s*\d{1,2}月\d{1,2}日", t)
                   for t in texts[name]), (name, texts[name])
    # Counts are whole numbers with separators, never Plotly's SI "1.5k" or half posts.
    volume_ticks = [t for t in texts["daily_trend"] if re.fullmatch(r"[\d,.]+k?", t)]
    assert volume_ticks and not [t for t in volume_ticks if "k" in t or "." in t], volume_ticks


def figure_strings(value) -> list[str]:
    """Every string of a figure's JSON: hover templates and formats, tick and category labels, titles, texts."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict) and "bdata" not in value:  # numbers travel base64-encoded
        return [s for v in value.values() for s in figure_strings(v)]
    if isinstance(value, list | tuple) or hasattr(value, "tolist"):
        return [s for v in (value.tolist() if hasattr(value, "tolist") else value) for s in figure_strings(v)]
    return []


def test_hover_and_tick_text_is_chinese_and_every_date_axis_has_chinese_formats(figures):
    for name, fig in figures.items():
        english = [s for s in figure_strings(fig.to_plotly_json()) if ENGLISH_DATE_WORDS.search(s)]
        assert not english, (name, english)
        for axis in (a for a in fig.layout if a.startswith("xaxis") and fig.layout[a].type == "date"):
            # without these Plotly falls back to "Nov 8, 2026" in hovers and "Sun 08" on ticks
            assert "年" in fig.layout[axis].hoverformat and fig.layout[axis].tickformatstops, (name, axis)
    weekdays = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
    assert tuple(figures["weekday_heatmap"].data[0].y) == weekdays
    assert set(figures["weekday_cells"].data[0].x) == set(weekdays)
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", d) for d in figures["day_cells"].data[0].x)


def hover_texts(figures: dict[str, go.Figure]) -> dict[str, set[str]]:
    """What Chromium shows when the mouse rests over a grid of places on each figure's plot area."""
    import plotly.io as pio
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM, CHROMIUM_ARGS

    html = "".join(pio.to_html(fig, full_html=False, include_plotlyjs=n == 0, div_id=name)
                   for n, (name, fig) in enumerate(figures.items()))

    def hover() -> dict[str, set[str]]:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1100, "height": 800})
            page.set_content(f"<html><body>{html}</body></html>")
            seen = {}
            for name in figures:
                area = page.locator(f"#{name} .nsewdrag").first
                area.scroll_into_view_if_needed()
                box = area.bounding_box()
                seen[name] = set()
                for fx in (0.1, 0.3, 0.5, 0.7, 0.9):
                    for fy in (0.3, 0.7):
                        page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
                        page.wait_for_timeout(50)
                        seen[name].add(page.locator(f"#{name} .hoverlayer").text_content() or "")
            browser.close()
            return {name: texts - {""} for name, texts in seen.items()}

    if not CHROMIUM.exists():
        pytest.skip("Chromium not found: install Debian's chromium (see README) to hover figures")
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:  # Playwright's sync API wants no running loop
        return pool.submit(hover).result()


def test_hovering_shows_chinese_dates_and_weekdays(figures):
    shown = hover_texts({name: figures[name] for name in (
        "daily_trend", "hourly_trend", "weekly_trend", "topic_lines", "incident_hours",
        "weekday_heatmap", "weekday_cells", "day_cells")})
    for name, texts in shown.items():
        assert texts and not [t for t in texts if ENGLISH_DATE_WORDS.search(t)], (name, texts)
    assert all(re.match(r"\d{4}年\d{1,2}月\d{1,2}日", t) for t in shown["daily_trend"] | shown["weekly_trend"])
    assert all(re.match(r"\d{4}年\d{1,2}月\d{1,2}日 \d{2}:00", t) for t in shown["hourly_trend"])
    assert all(re.search("星期 周[一二三四五六日]", t) for t in shown["weekday_heatmap"] | shown["weekday_cells"])
    assert all(re.search(r"日期 \d{4}-\d{2}-\d{2}", t) for t in shown["day_cells"])


def test_hover_dates_show_the_hour_only_where_there_is_one(figures):
    assert figures["daily_trend"].layout.xaxis.hoverformat == "%Y年%-m月%-d日"
    assert figures["hourly_trend"].layout.xaxis.hoverformat == "%Y年%-m月%-d日 %H:%M"


@pytest.mark.parametrize(("value", "shown"), [
    (0, "0"), (9_876, "9,876"), (99_999, "99,999"), (123_456, "12.35万"), (10_000_000, "1000万"),
    (150_000_000, "1.5亿"), (float("nan"), ""),
])
def test_zh_count(value, shown):
    assert charts.zh_count(value) == shown


def test_large_count_axes_are_labelled_in_wan():
    trend = pd.DataFrame({"bucket": pd.date_range("2026-11-01", periods=3, tz="Asia/Shanghai"),
                          "originals": [120_000, 250_000, 90_000], "comments": [0, 0, 0], "reposts": [0, 0, 0],
                          "posts": [120_000, 250_000, 90_000], "negative_ratio": [0.1, 0.2, 0.3],
                          "negative_ratio_low": [0.05, 0.15, 0.25], "negative_ratio_high": [0.15, 0.25, 0.35]})
    axis = charts.volume_and_negativity(trend).layout.yaxis
    assert list(axis.ticktext) == ["0", "5万", "10万", "15万", "20万", "25万", "30万"]
    assert list(axis.tickvals)[-1] >= 250_000
