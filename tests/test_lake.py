"""Scale-out path: the metric queries give the same numbers on the exported Parquet lake as on the DuckDB file."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import explore, metrics
from analysis.__main__ import main
from analysis.filters import Filters
from analysis.store import Store


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
            "spread": lambda s: metrics.spread(s, Filters(f.start, f.end, group_by="topic")),
            "keywords": lambda s: explore.top_keywords(s, f),
        }
        on_file = calls[query](store)
    on_lake = calls[query](Store.on_parquet_lake(lake))
    sort = [c for c in on_file.columns if on_file[c].dtype != object][:3] or list(on_file.columns[:1])
    pd.testing.assert_frame_equal(on_file.sort_values(sort).reset_index(drop=True),
                                  on_lake.sort_values(sort).reset_index(drop=True), check_dtype=False)
