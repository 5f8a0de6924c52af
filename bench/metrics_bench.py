"""Dashboard aggregations on a big database: our SQL in DuckDB vs loading the table into pandas, same run.

Usage: .venv/bin/python bench/make_big.py --posts 10000000 --db /tmp/big.duckdb
       .venv/bin/python bench/metrics_bench.py --db /tmp/big.duckdb [--repeat 5]

Prints p50/p95 per query for the functions the pages call, and the time the usual small-dashboard way
takes (SELECT the columns into a DataFrame, then groupby), with the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis import config, explore, metrics  # noqa: E402
from analysis.filters import Filters  # noqa: E402
from analysis.store import Store  # noqa: E402


def timed(fn, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with Store(args.db, read_only=True, memory_limit=config.dashboard_memory_limit()) as store:  # as the app
        total = metrics.post_count(store)
        latest = metrics.latest_day(store)
        f = Filters.from_query_params({}, latest)
        queries = {
            "headline (30 d + previous)": lambda: metrics.headline(store, f),
            "trend by day": lambda: metrics.trend(store, f),
            "trend by hour": lambda: metrics.trend(store, Filters(f.start, f.end, grain="hour")),
            "breakdown by channel": lambda: metrics.breakdown(store, f, "channel"),
            "heatmap topic×day": lambda: metrics.heatmap_cells(store, f, "topic_day"),
            "heatmap hour×weekday": lambda: metrics.heatmap_cells(store, f, "hour_weekday"),
            "spread by topic": lambda: metrics.spread(store, Filters(f.start, f.end, group_by="topic"),
                                                      config.MAINSTREAM_SITES),
            "posts behind a cell": lambda: explore.posts(store, f, cell=("topic_day", "安全生产", str(f.end))),
            "top keywords": lambda: explore.top_keywords(store, f),
        }
        print(f"{total:,} posts; filters {f.start}..{f.end}; {args.repeat} runs each")
        print(f"{'query':32} {'p50 ms':>9} {'p95 ms':>9}")
        ours = 0.0
        for name, fn in queries.items():
            times = sorted(timed(fn, args.repeat))
            ours += statistics.median(times)
            p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
            print(f"{name:32} {statistics.median(times) * 1000:9.1f} {p95 * 1000:9.1f}")

        def naive() -> None:
            frame = store.query("SELECT created_at, channel, topic, sentiment_label, post_type, repost_count, "
                                "comment_count, like_count FROM posts")
            local = frame["created_at"].dt.tz_convert("Asia/Shanghai")
            inside = frame[(local >= f.start_ts) & (local < f.end_ts)]
            day = local[inside.index].dt.floor("D")
            negative = inside["sentiment_label"].eq("负面")
            inside.assign(day=day, negative=negative).groupby("day").agg(posts=("topic", "size"),
                                                                          negative=("negative", "sum"))
            inside.assign(negative=negative).groupby("channel").agg(posts=("topic", "size"),
                                                                     negative=("negative", "sum"))
            inside.assign(day=day).groupby(["topic", "day"]).size()
            inside.assign(hour=local[inside.index].dt.hour, wd=local[inside.index].dt.day_of_week).groupby(
                ["hour", "wd"]).size()

        naive_times = timed(naive, max(1, min(3, args.repeat)))
        naive_median = statistics.median(naive_times)
        print(f"{'pandas: load + 4 groupbys':32} {naive_median * 1000:9.1f}")
        subset = sum(statistics.median(timed(fn, 3)) for name, fn in queries.items()
                     if name in ("trend by day", "breakdown by channel", "heatmap topic×day", "heatmap hour×weekday"))
        print(f"same four aggregations in DuckDB: {subset * 1000:.1f} ms → {naive_median / subset:.1f}× faster "
              f"than loading into pandas")
        print(f"all {len(queries)} page queries together: {ours * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
