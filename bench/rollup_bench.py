"""Page metric queries on a 100 M-post rollup against the raw 10 M-post database, and the rollup's build time.

Usage: .venv/bin/python bench/make_big.py --posts 10000000 --db /tmp/big.duckdb
       .venv/bin/python bench/rollup_bench.py --db /tmp/big.duckdb [--posts 100000000] [--repeat 3] [--json]

The 100 M rollup is built directly, not from 100 M raw posts: a rollup's size is set by the cells that hold
posts, not by the posts, and its worst case is the full cube, every hour of the 10 M database's span × every
(topic, channel, region) it holds. The bench fills that whole cube (hourly, and daily as its day sums) with
Poisson counts adding up to --posts and measures on it, so the figures are an upper bound for any post count.
The raw side is the 10 M-post database file as the dashboard opens it (256MB buffer pool). The headline's
distinct sites and authors are not in a rollup: the rollup store reads them from posts (here the 10 M file).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis import config, metrics, rollup  # noqa: E402
from analysis.filters import Filters  # noqa: E402
from analysis.store import Store, write_tables  # noqa: E402

CALLS = {
    "overview headline": lambda s, f: metrics.headline(s, f),
    "overview trend (day)": lambda s, f: metrics.trend(s, f),
    "overview hour×weekday": lambda s, f: metrics.heatmap_cells(s, f, "hour_weekday"),
    "overview channels": lambda s, f: metrics.breakdown(s, f, "channel"),
    "heatmap topic×day": lambda s, f: metrics.heatmap_cells(s, f, "topic_day"),
    "heatmap region×topic": lambda s, f: metrics.heatmap_cells(s, f, "region_topic"),
    "trend hour by topic": lambda s, f: metrics.trend(s, Filters(f.start, f.end, "hour", "topic")),
    "year trend (week)": lambda s, f: metrics.trend(s, Filters(f.end - pd.Timedelta(days=363), f.end, "week")),
    "sidebar pickers": lambda s, f: metrics.dimension_values(s),
}


def full_cube(raw: Store, posts: int, seed: int = 7) -> dict[str, pd.DataFrame]:
    """Every hour of the raw span × every key combination it holds, Poisson counts summing to about `posts`."""
    keys = raw.query("SELECT topic, channel, region FROM posts GROUP BY ALL")
    first, last = raw.query("SELECT min(created_at) AS a, max(created_at) AS b FROM posts").iloc[0]
    hours = pd.date_range(pd.Timestamp(first).floor("h"), pd.Timestamp(last).floor("h"), freq="h")
    rng = np.random.default_rng(seed)
    n = len(hours) * len(keys)
    counts = rng.poisson(posts / n, n).astype("int64")
    part = lambda share: rng.binomial(counts, share).astype("int64")  # noqa: E731
    originals, negatives = part(0.5), part(0.3)
    reposts = rng.binomial(counts - originals, 0.6).astype("int64")
    hourly = pd.DataFrame({
        "hour": np.repeat(hours, len(keys)).tz_convert(config.TIMEZONE),
        **{k: np.tile(keys[k].to_numpy(), len(hours)) for k in rollup.KEYS},
        "posts": counts, "originals": originals, "reposts": reposts, "comments": counts - originals - reposts,
        "negatives": negatives, "positives": rng.binomial(counts - negatives, 0.4).astype("int64"),
        "score_sum": counts * 0.45, "repost_sum": counts * 3, "comment_sum": counts * 2, "like_sum": counts * 9,
        "read_sum": counts * 120, "interactions": counts * 14, "sites": np.minimum(counts, 5),
    })
    hourly = hourly[hourly["posts"] > 0].reset_index(drop=True)
    daily = hourly.assign(day=hourly["hour"].dt.floor("D")).drop(columns="hour").groupby(
        ["day", *rollup.KEYS], dropna=False, as_index=False).sum()
    return {"hourly": hourly, "daily": daily}


def timed(fn, repeat: int) -> tuple[float, float]:
    """(first, median of the rest) in ms."""
    runs = []
    for _ in range(repeat + 1):
        started = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - started) * 1000)
    return runs[0], statistics.median(runs[1:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="the raw database (bench/make_big.py)")
    parser.add_argument("--posts", type=int, default=100_000_000, help="posts the rollup stands for")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    raw = Store(args.db, read_only=True, memory_limit=config.DASHBOARD_MEMORY_LIMIT)
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "rollup.duckdb"
        started = time.perf_counter()
        tables = full_cube(raw, args.posts)
        write_tables(out, tables)
        built = time.perf_counter() - started
        served = rollup.RollupStore(raw, out)
        f = Filters.from_query_params({}, metrics.latest_day(raw))
        rows = []
        for name, call in CALLS.items():
            before = served.served.copy()
            on_rollup = timed(lambda c=call: c(served, f), args.repeat)
            sources = dict(served.served - before)
            on_raw = timed(lambda c=call: c(raw, f), args.repeat)
            rows.append({"query": name, "rollup_first_ms": round(on_rollup[0]), "rollup_warm_ms": round(on_rollup[1]),
                         "raw_first_ms": round(on_raw[0]), "raw_warm_ms": round(on_raw[1]),
                         "answered_from": ",".join(sorted(sources))})
        summary = {"rollup_posts": int(tables["hourly"]["posts"].sum()), "hourly_rows": len(tables["hourly"]),
                   "daily_rows": len(tables["daily"]), "rollup_mb": round(out.stat().st_size / 2**20),
                   "cube_build_s": round(built, 1), "raw_posts": metrics.post_count(raw),
                   "raw_mb": round(Path(args.db).stat().st_size / 2**20)}
        served.close()
    if args.json:
        print(json.dumps({"summary": summary, "queries": rows}, ensure_ascii=False))
    else:
        print(" ".join(f"{k}={v:,}" if isinstance(v, int) else f"{k}={v}" for k, v in summary.items()))
        print(f"{'query':26} {'rollup 100M first/warm ms':>26} {'raw 10M first/warm ms':>22}  answered from")
        for r in rows:
            print(f"{r['query']:26} {r['rollup_first_ms']:>13,} / {r['rollup_warm_ms']:<10,} "
                  f"{r['raw_first_ms']:>9,} / {r['raw_warm_ms']:<10,} {r['answered_from']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
