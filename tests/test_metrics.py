"""Metrics: hand-computed small cases for every number the pages show."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from analysis import metrics, settings
from analysis.filters import Filters
from analysis.store import Store
from tests.factories import write_posts

ROWS = [
    {"created_at": "2026-11-10 09:30", "sentiment_label": "负面", "sentiment_score": 0.1, "repost_count": 10,
     "comment_count": 5, "like_count": 1, "channel": "微博", "topic": "交通出行", "author_id": "a1"},
    {"created_at": "2026-11-10 09:45", "post_type": "repost", "parent_id": "t0", "channel": "微博",
     "topic": "交通出行", "author_id": "a2"},
    {"created_at": "2026-11-10 23:59", "post_type": "comment", "parent_id": "t0", "sentiment_label": "负面",
     "sentiment_score": 0.2, "channel": "新闻跟帖", "site": "澎湃新闻", "topic": "交通出行", "author_id": "a3"},
    {"created_at": "2026-11-11 00:00", "sentiment_label": "正面", "sentiment_score": 0.9, "channel": "抖音",
     "site": "抖音", "topic": "教育", "author_id": "a1"},
    # the previous two days
    {"created_at": "2026-11-08 12:00", "sentiment_label": "负面", "sentiment_score": 0.3},
    {"created_at": "2026-11-09 12:00"},
    # outside both periods
    {"created_at": "2026-11-12 00:00", "sentiment_label": "负面"},
]
PERIOD = Filters(dt.date(2026, 11, 10), dt.date(2026, 11, 11))


@pytest.fixture()
def store(db_path):
    with Store(db_path) as opened:
        write_posts(opened, ROWS)
        yield opened


@pytest.mark.parametrize(("k", "n", "low", "high"), [
    (2, 4, 0.1500, 0.8500), (0, 10, 0.0, 0.2775), (2, 3, 0.2077, 0.9385), (50, 100, 0.4038, 0.5962),
])
def test_wilson_interval_matches_published_values(k, n, low, high):
    got_low, got_high = metrics.wilson_interval([k], [n])
    assert got_low[0] == pytest.approx(low, abs=1e-4)
    assert got_high[0] == pytest.approx(high, abs=1e-4)


def test_wilson_interval_of_nothing_is_undefined():
    low, high = metrics.wilson_interval([0], [0])
    assert math.isnan(low[0]) and math.isnan(high[0])


def test_heat_index_formula():
    expected = (0.2 * math.log(5) + 0.8 * (0.4 * math.log(11) + 0.4 * math.log(6) + 0.2 * math.log(2))) * 160
    assert metrics.heat_index([4], [10], [5], [1])[0] == pytest.approx(expected)
    assert expected == pytest.approx(283.757, abs=1e-3)
    assert metrics.heat_index([0], [0], [0], [0])[0] == 0


def test_headline_counts_splits_and_change_vs_previous_period(store):
    head = metrics.headline(store, PERIOD)
    now = head.current
    assert (now["posts"], now["originals"], now["reposts"], now["comments"]) == (4, 2, 1, 1)
    assert (now["negative"], now["positive"], now["authors"], now["sites"], now["channels"]) == (2, 1, 3, 3, 3)
    counts = ("posts", "originals", "reposts", "comments", "negative", "authors", "sites")
    assert all(isinstance(now[key], int) for key in counts), "counts are shown as 1,227, not 1,227.0"
    assert now["negative_ratio"] == 0.5
    assert now["heat"] == pytest.approx(283.757, abs=1e-3)
    assert head.previous["posts"] == 2 and head.previous["negative_ratio"] == 0.5
    assert head.change("posts") == pytest.approx(1.0)
    assert head.change("negative_ratio") == pytest.approx(0.0)


def test_day_boundaries_are_shanghai_midnight(store):
    daily = metrics.trend(store, PERIOD)
    assert daily["posts"].tolist() == [3, 1]
    assert daily["negative"].tolist() == [2, 0]
    assert [b.strftime("%Y-%m-%d %H:%M%z") for b in daily["bucket"]] == ["2026-11-10 00:00+0800",
                                                                          "2026-11-11 00:00+0800"]


def test_hourly_trend_fills_empty_hours_with_zero(store):
    hourly = metrics.trend(store, Filters(PERIOD.start, PERIOD.end, grain="hour"))
    assert len(hourly) == 48
    assert hourly["posts"].sum() == 4
    assert hourly.loc[hourly["bucket"].dt.hour == 9, "posts"].tolist() == [2, 0]


def test_grouped_trend_and_breakdown(store):
    grouped = metrics.trend(store, Filters(PERIOD.start, PERIOD.end, group_by="channel"))
    totals = grouped.groupby("grp")["posts"].sum().to_dict()
    assert totals == {"微博": 2, "新闻跟帖": 1, "抖音": 1}
    by_topic = metrics.breakdown(store, PERIOD, "topic").set_index("topic")
    assert by_topic.loc["交通出行", "posts"] == 3
    assert by_topic.loc["交通出行", "negative_ratio"] == pytest.approx(2 / 3)


def test_filters_narrow_the_numbers(store):
    only_weibo = Filters(PERIOD.start, PERIOD.end, channels=("微博",))
    assert metrics.headline(store, only_weibo).current["posts"] == 2
    hostile = Filters(PERIOD.start, PERIOD.end, channels=("微博' OR 1=1 --",))
    assert metrics.headline(store, hostile).current["posts"] == 0


def test_latest_day_and_dimension_values(store):
    assert metrics.latest_day(store) == dt.date(2026, 11, 12)
    values = metrics.dimension_values(store)
    assert values["channel"][0] == "微博"
    assert set(values["topic"]) == {"交通出行", "教育", "未分类"}


def test_heatmaps_hand_computed(store):
    cells = metrics.heatmap_cells(store, PERIOD, "hour_weekday")
    matrix = metrics.heatmap_matrix(cells, "posts", "hour_weekday")
    assert matrix.shape == (24, 7)
    assert matrix.loc[9, "周二"] == 2  # Tuesday 09:00: two posts
    assert matrix.loc[23, "周二"] == 1 and matrix.loc[0, "周三"] == 1
    assert matrix.loc[9, "周三"] == 0
    assert metrics.heatmap_cell_condition("hour_weekday", "9", "周二")[1] == [9, 2]
    ratio = metrics.heatmap_matrix(metrics.heatmap_cells(store, PERIOD, "topic_day"), "negative_ratio")
    assert ratio.loc["交通出行", "2026-11-10"] == pytest.approx(2 / 3)
    assert math.isnan(ratio.loc["教育", "2026-11-10"])
    assert list(metrics.heatmap_matrix(metrics.heatmap_cells(store, PERIOD, "region_topic"), "posts").index) == [
        "城关区"]
    with pytest.raises(ValueError):
        metrics.heatmap_matrix(cells, "bogus")


def test_spread_reach_mainstream_velocity_acceleration(store):
    total = metrics.spread(store, PERIOD, settings.policy(store).mainstream_sites).iloc[0]
    assert (total["channels"], total["sites"], total["mainstream_posts"]) == (3, 3, 1)
    assert total["mainstream_sites"] == ["澎湃新闻"]
    assert (total["peak_velocity"], total["active_hours"], total["acceleration"]) == (2, 3, 0)
    assert total["mean_velocity"] == pytest.approx(4 / 3)
    by_channel = metrics.spread(store, Filters(PERIOD.start, PERIOD.end, group_by="channel"),
                                settings.policy(store).mainstream_sites).set_index("channel")
    assert by_channel.loc["微博", "acceleration"] == 2  # its last hour (09:00) had 2, the hour before none
    assert by_channel.loc["微博", "repost_sum"] == 10
