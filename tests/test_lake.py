"""Scale-out path: the metric queries give the same numbers on the exported Parquet lake as on the DuckDB file."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from analysis import config, explore, metrics
from analysis.__main__ import main
from analysis.filters import Filters
from analysis.store import POST_COLUMNS, Store


@pytest.fixture(scope="module")
def lake(demo_db, tmp_path_factory):
    directory = tmp_path_factory.mktemp("lake") / "posts"
    assert main(["export-parquet", str(directory), "--db", str(demo_db)]) == 0
    return directory


def test_lake_is_partitioned_by_shanghai_day(lake, demo_db):
    days = sorted(p.name for p in lake.iterdir())
    with Store(demo_db) as store:
        expected = store.query("SELECT DISTINCT strftime(created_at, '%Y-%m-%d') AS d FROM posts ORDER BY d")["d"]
    assert days == [f"day={d}" for d in expected]


@pytest.mark.parametrize("query", ["headline", "trend", "breakdown", "heatmap", "spread", "keywords"])
def test_metrics_on_the_lake_equal_metrics_on_the_file(lake, demo_db, query):
    with Store(demo_db) as store:
        f = Filters.from_query_params({}, metrics.latest_day(store))
        calls = {
            "headline": lambda s: pd.DataFrame([metrics.headline(s, f).current]),
            "trend": lambda s: metrics.trend(s, Filters(f.start, f.end, grain="hour", group_by="channel")),
            "breakdown": lambda s: metrics.breakdown(s, f, "topic"),
            "heatmap": lambda s: metrics.heatmap_cells(s, f, "region_topic"),
            "spread": lambda s: metrics.spread(s, Filters(f.start, f.end, group_by="topic"), config.MAINSTREAM_SITES),
            "keywords": lambda s: explore.top_keywords(s, f),
        }
        on_file = calls[query](store)
    on_lake = calls[query](Store.on_parquet_lake(lake))
    sort = [c for c in on_file.columns if on_file[c].dtype != object][:3] or list(on_file.columns[:1])
    pd.testing.assert_frame_equal(on_file.sort_values(sort).reset_index(drop=True),
                                  on_lake.sort_values(sort).reset_index(drop=True), check_dtype=False)


def test_export_appends_new_days_and_rewrites_nothing_on_a_rerun(demo_db, tmp_path):
    db = tmp_path / "copy.duckdb"
    shutil.copy(demo_db, db)
    lake = tmp_path / "lake"
    with Store(db) as store:
        total = metrics.post_count(store)
        last = metrics.latest_day(store)
        cut = pd.Timestamp(last, tz="Asia/Shanghai").to_pydatetime()
        newest = store.query(f"SELECT {', '.join(POST_COLUMNS)} FROM posts WHERE created_at >= ?", [cut])
        store.execute([("DELETE FROM posts WHERE created_at >= ?", [cut])])  # as if the last day were not yet in
        assert store.export_parquet(lake) == total - len(newest)
        files = {p: p.stat().st_mtime_ns for p in lake.rglob("*.parquet")}
        assert store.export_parquet(lake) == 0  # idempotent: nothing written, nothing touched
        assert {p: p.stat().st_mtime_ns for p in lake.rglob("*.parquet")} == files
        store.append_generated(newest)  # the last day arrives
        assert store.export_parquet(lake) == len(newest)
    assert {p: p.stat().st_mtime_ns for p in lake.rglob("*.parquet") if p in files} == files  # old days untouched
    assert sorted(p.name for p in lake.iterdir())[-1] == f"day={last.isoformat()}"
    assert Store.on_parquet_lake(lake).scalar("SELECT count(*) FROM posts") == total
