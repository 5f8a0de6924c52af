"""Spark over the Parquet lake gives every metric the numbers DuckDB gives: one SQL text, two engines."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import sqlglot

from analysis import config, explore, metrics
from analysis.dialects import named_placeholders, to_spark
from analysis.filters import Filters
from analysis.spark import SparkStore
from analysis.store import Store


@pytest.fixture(scope="module")
def duck(demo_lake):
    return Store.on_parquet_lake(demo_lake)


@pytest.fixture(scope="module")
def sparks(demo_lake, spark_session):
    return SparkStore(demo_lake, spark_session)


@pytest.fixture(scope="module")
def period(duck):
    return Filters.from_query_params({}, metrics.latest_day(duck))


def test_isodow_is_monday_one_to_sunday_seven(sparks, duck):
    """sqlglot's own Spark dialect is two days off here (its issue 8021); the project's dialect is not."""
    assert "DAYOFWEEK(x) % 7" in sqlglot.transpile("SELECT isodow(x)", read="duckdb", write="spark")[0]
    sql = "SELECT isodow(CAST(? AS DATE)) AS d"
    known = {dt.date(2026, 11, 16): 1, dt.date(2026, 11, 18): 3, dt.date(2026, 11, 21): 6, dt.date(2026, 11, 22): 7}
    for day, iso in known.items():  # 2026-11-16 is a Monday
        assert sparks.scalar(sql, [day.isoformat()]) == duck.scalar(sql, [day.isoformat()]) == iso


def test_parameters_are_bound_in_written_order_whatever_the_transpiler_moves():
    sql = "SELECT k FROM (SELECT unnest(keywords) AS k FROM posts WHERE topic = ? AND channel = ?) LIMIT ?"
    assert named_placeholders(sql).endswith("topic = $p0 AND channel = $p1) LIMIT $p2")
    assert named_placeholders("SELECT '?' AS q, ? AS v") == "SELECT '?' AS q, $p0 AS v"
    assert ":p2" in to_spark(sql) and "?" not in to_spark(sql)


def _same(on_duck: pd.DataFrame, on_spark: pd.DataFrame) -> None:
    """Equal as sets of rows (ties in an ORDER BY may come in either order), floats to 1e-9."""
    assert list(on_duck.columns) == list(on_spark.columns)
    keys = [c for c in on_duck.columns if not isinstance(on_duck[c].dropna().iloc[0] if on_duck[c].notna().any()
                                                          else 0, list | np.ndarray)]
    left = on_duck.sort_values(keys).reset_index(drop=True)
    right = on_spark.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(left, right, check_dtype=False, rtol=1e-9)


CALLS = {
    "headline": lambda s, f: pd.DataFrame([metrics.headline(s, f).current, metrics.headline(s, f).previous]),
    "trend_day": lambda s, f: metrics.trend(s, f),
    "trend_hour_by_channel": lambda s, f: metrics.trend(s, Filters(f.start, f.end, grain="hour", group_by="channel")),
    "trend_week_by_region": lambda s, f: metrics.trend(s, Filters(f.start, f.end, grain="week", group_by="region")),
    "breakdown_topic": lambda s, f: metrics.breakdown(s, f, "topic"),
    "breakdown_site": lambda s, f: metrics.breakdown(s, f, "site"),
    "heatmap_hour_weekday": lambda s, f: metrics.heatmap_cells(s, f, "hour_weekday"),
    "heatmap_topic_day": lambda s, f: metrics.heatmap_cells(s, f, "topic_day"),
    "heatmap_region_topic": lambda s, f: metrics.heatmap_cells(s, f, "region_topic"),
    "spread": lambda s, f: metrics.spread(s, Filters(f.start, f.end, group_by="topic", channels=("微博", "新闻")),
                                                  config.MAINSTREAM_SITES),
    "hourly_series": lambda s, f: metrics.hourly_series(s, f, "region"),
    "freshness": lambda s, f: metrics.freshness(s, pd.Timestamp(f.end_ts) - pd.Timedelta(hours=3)),
    "dimension_values": lambda s, f: pd.DataFrame({k: pd.Series(v) for k, v in metrics.dimension_values(s).items()}),
    "scalars": lambda s, f: pd.DataFrame([{"latest": metrics.latest_day(s), "posts": metrics.post_count(s)}]),
    "keywords": lambda s, f: explore.top_keywords(s, f),
    "sentiment_split": lambda s, f: explore.sentiment_split(s, f),
    "cell_posts": lambda s, f: explore.posts(s, f, cell=("hour_weekday", 10, "周三"), order="time", limit=50),
}


@pytest.mark.parametrize("call", CALLS)
def test_every_metric_is_equal_on_both_engines(call, duck, sparks, period):
    on_duck = CALLS[call](duck, period)
    assert len(on_duck) > 0
    _same(on_duck, CALLS[call](sparks, period))
