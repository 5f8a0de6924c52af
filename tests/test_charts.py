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
        return {
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
