"""Rollups: the same tables from DuckDB and Spark, and a dashboard store that answers metrics from them exactly."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from analysis import config, explore, metrics, rollup
from analysis.__main__ import main
from analysis.filters import Filters
from analysis.store import Store
from tests.factories import same_rows
from tests.test_pages import metric_values, run_app


@pytest.fixture(scope="module")
def rollup_file(demo_lake, tmp_path_factory):
    out = tmp_path_factory.mktemp("rollup") / "rollup.duckdb"
    assert main(["rollup", "--lake", str(demo_lake), "--engine", "duckdb", "--out", str(out)]) == 0
    return out


def _tables(path) -> dict[str, pd.DataFrame]:
    with Store(path, read_only=True) as store:
        return {table: store.query(f"SELECT * FROM {table}") for table in (*rollup.TABLES, "rollup_info")}


def test_duckdb_and_spark_build_the_same_rollup(demo_lake, demo_db, rollup_file, spark_session, tmp_path):
    out = tmp_path / "spark-rollup.duckdb"
    assert main(["rollup", "--lake", str(demo_lake), "--engine", "spark", "--out", str(out),
                 "--master", spark_session.sparkContext.master]) == 0
    on_duck, on_spark = _tables(rollup_file), _tables(out)
    with Store(demo_db, read_only=True) as store:
        posts = metrics.post_count(store)
    for table, grain in rollup.TABLES.items():
        duck, spark = on_duck[table], on_spark[table]
        assert int(duck["posts"].sum()) == int(spark["posts"].sum()) == posts
        assert not duck.duplicated([grain, *rollup.KEYS]).any()
        exact = [c for c in duck.columns if c != "score_sum"]  # a float sum: the order of additions differs
        pd.testing.assert_frame_equal(duck[exact], spark[exact])
        pd.testing.assert_series_equal(duck["score_sum"], spark["score_sum"], rtol=1e-12)
    assert on_duck["rollup_info"]["posts"].iloc[0] == on_spark["rollup_info"]["posts"].iloc[0] == posts
    assert on_spark["rollup_info"]["engine"].iloc[0] == "spark"


def test_rollup_cells_add_up_to_the_posts_behind_them(rollup_file, demo_db):
    daily = _tables(rollup_file)["daily"]
    with Store(demo_db, read_only=True) as store:
        day = (metrics.latest_day(store) - dt.timedelta(days=10)).isoformat()
        one_day = store.query(
            """SELECT topic, channel, region, count(*) AS posts,
                      count(*) FILTER (WHERE post_type = 'repost') AS reposts,
                      count(*) FILTER (WHERE sentiment_label = '负面') AS negatives, count(DISTINCT site) AS sites,
                      coalesce(sum(repost_count + comment_count + like_count), 0) AS interactions
               FROM posts WHERE strftime(created_at, '%Y-%m-%d') = ? GROUP BY ALL""", [day])
    cells = daily[daily["day"].dt.strftime("%Y-%m-%d") == day][one_day.columns]
    same_rows(one_day, cells.reset_index(drop=True).astype(one_day.dtypes.to_dict()))


@pytest.fixture(scope="module")
def stores(demo_db, demo_lake, rollup_file):
    raw = Store(demo_db, read_only=True)
    yield raw, rollup.RollupStore(raw, rollup_file, demo_lake)
    raw.close()


@pytest.fixture(scope="module")
def period(stores):
    return Filters.from_query_params({}, metrics.latest_day(stores[0]))


# (call, where the rollup store answers it from)
SERVED = {
    "headline": (lambda s, f: pd.DataFrame([metrics.headline(s, f).current]), {"daily+posts": 2}),
    "trend_day": (lambda s, f: metrics.trend(s, f), {"daily": 1}),
    "trend_week_topic": (lambda s, f: metrics.trend(s, Filters(f.start, f.end, "week", "topic", ("微博",))),
                         {"daily": 1}),
    "trend_hour_region": (lambda s, f: metrics.trend(s, Filters(f.start, f.end, "hour", "region")), {"hourly": 1}),
    "breakdown_channel": (lambda s, f: metrics.breakdown(s, f, "channel"), {"daily": 1}),
    "breakdown_region": (lambda s, f: metrics.breakdown(s, f, "region"), {"daily": 1}),
    "heatmap_hour_weekday": (lambda s, f: metrics.heatmap_cells(s, f, "hour_weekday"), {"hourly": 1}),
    "heatmap_topic_day": (lambda s, f: metrics.heatmap_cells(s, f, "topic_day"), {"daily": 1}),
    "heatmap_channel_day": (lambda s, f: metrics.heatmap_cells(s, f, "channel_day"), {"daily": 1}),
    "heatmap_region_topic": (lambda s, f: metrics.heatmap_cells(s, f, "region_topic"), {"daily": 1}),
    "hourly_series": (lambda s, f: metrics.hourly_series(s, f, "topic"), {"hourly": 1}),
    "dimension_values": (lambda s, f: pd.DataFrame({k: pd.Series(v) for k, v in metrics.dimension_values(s).items()}),
                         {"daily": 3}),
    "post_count": (lambda s, f: pd.DataFrame([{"posts": metrics.post_count(s)}]), {"daily": 1}),
    # what needs posts reads the lake: distinct sites per group, the newest post, the posts of a heatmap cell (and
    # their clusters: 相似数, 首发)
    "spread": (lambda s, f: metrics.spread(s, Filters(f.start, f.end, group_by="topic"), config.MAINSTREAM_SITES),
               {"posts": 1, "hourly": 1}),
    "latest_day": (lambda s, f: pd.DataFrame([{"day": metrics.latest_day(s)}]), {"posts": 1}),
    "cell_posts": (lambda s, f: explore.posts(s, f, cell=("hour_weekday", 10, "周三"), limit=20), {"posts": 2}),
}


@pytest.mark.parametrize("call", SERVED)
def test_metrics_from_the_rollup_equal_metrics_from_the_posts(call, stores, period):
    raw, served = stores
    function, sources = SERVED[call]
    before = served.served.copy()
    on_rollup = function(served, period)
    assert dict(served.served - before) == sources
    expected = function(raw, period)
    assert len(expected) > 0
    same_rows(expected, on_rollup)


def test_a_range_not_on_a_bucket_start_is_answered_from_the_posts(stores, period):
    raw, served = stores
    sql = "SELECT count(*) AS n FROM posts WHERE created_at >= ? AND created_at < ?"
    day = pd.Timestamp(period.end - dt.timedelta(days=10), tz="Asia/Shanghai")
    for start, source in ((day, "daily"), (day + pd.Timedelta(hours=9), "hourly"),
                          (day + pd.Timedelta(hours=9, minutes=30), "posts")):
        params = [start.to_pydatetime(), (day + pd.Timedelta(days=1)).to_pydatetime()]
        before = served.served.copy()
        assert served.scalar(sql, params) == raw.scalar(sql, params) > 0
        assert dict(served.served - before) == {source: 1}


def test_other_tables_and_unknown_sql_go_to_the_database_file(stores):
    raw, served = stores
    before = served.served.copy()
    assert served.scalar("SELECT count(*) FROM incidents") == raw.scalar("SELECT count(*) FROM incidents") > 0
    assert dict(served.served - before) == {"database": 1}
    assert served.path == raw.path and served.data_version().startswith(raw.data_version())


def test_dashboard_runs_on_a_rollup_and_the_lake_without_posts_in_its_file(app_db, demo_db, demo_lake, rollup_file,
                                                                         monkeypatch):
    with Store(app_db) as store:
        store.execute([("DELETE FROM posts", [])])
    monkeypatch.setenv(rollup.ROLLUP_ENV_VAR, str(rollup_file))
    monkeypatch.setenv(rollup.LAKE_ENV_VAR, str(demo_lake))
    at = run_app()
    with Store(demo_db, read_only=True) as store:
        latest = metrics.latest_day(store)
        expected = metrics.headline(store, Filters.from_query_params({}, latest)).current
    shown = metric_values(at)
    assert (shown["发帖量"], shown["原创"], shown["覆盖站点"]) == (
        f"{expected['posts']:,}", f"{expected['originals']:,}", f"{expected['sites']:,}")
    assert len(at.get("plotly_chart")) == 3 and at.query_params["to"] == latest.isoformat()
    run_app("heatmap.py", kind="hour_weekday")  # renders from the hourly table without an exception
