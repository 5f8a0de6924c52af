"""A realistic N-post database, fast: the demo's scored posts as a pool, resampled with Arrow into DuckDB.

Usage: .venv/bin/python bench/make_big.py --posts 10000000 --db /tmp/big.duckdb [--days 365]

The pool is the 60-day demo (channels, topics, rhythm, incidents, cascades) scored once through the real
ingest path; every generated post is a pool post moved by a whole number of weeks (so hour-of-day and
weekday rhythms survive), with a new id and jittered interaction counts. Rows are appended in
time order, chunk by chunk, so DuckDB's zone maps prune time-range scans.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis import demo, ingest  # noqa: E402
from analysis.store import POST_COLUMNS, Store  # noqa: E402

WEEK_US = 7 * 24 * 3600 * 1_000_000


def scored_pool(seed: int) -> pa.Table:
    frame = demo.generate_posts(days=60, seed=seed)
    batch = ingest.prepare_table(ingest.table_from_frame(frame), "pool", "pool")
    posts = batch.posts[list(POST_COLUMNS)]
    return pa.Table.from_pandas(posts, preserve_index=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000_000)
    parser.add_argument("--db", required=True)
    parser.add_argument("--days", type=int, default=364, help="span of the generated data, in days")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chunk", type=int, default=1_000_000)
    args = parser.parse_args()
    started = time.perf_counter()
    pool = scored_pool(args.seed)
    print(f"pool: {pool.num_rows} scored demo posts in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    rng = np.random.default_rng(args.seed)
    weeks = max(1, args.days // 7 - 8)  # the pool itself spans ~9 weeks
    created = pc.cast(pool["created_at"], pa.timestamp("us", tz="Asia/Shanghai"))
    base_us = pc.cast(created, pa.int64()).to_numpy()
    picks = rng.integers(0, pool.num_rows, args.posts)
    times_us = base_us[picks] - rng.integers(0, weeks, args.posts) * WEEK_US
    order = np.argsort(times_us, kind="stable")  # insert in time order: zone maps then prune range scans
    picks, times_us = picks[order], times_us[order]
    db = Path(args.db)
    db.unlink(missing_ok=True)
    with Store(db) as store:
        for start in range(0, args.posts, args.chunk):
            part = slice(start, min(start + args.chunk, args.posts))
            n = part.stop - part.start
            chunk = pool.take(pa.array(picks[part]))
            ids = pa.array([f"big-{start + i:09d}" for i in range(n)])
            jitter = rng.lognormal(0, 0.5, n)
            columns = {name: chunk[name] for name in chunk.column_names}
            columns["post_id"] = ids
            columns["parent_id"] = pa.nulls(n, pa.string())  # pool parent ids do not exist in the big set
            columns["root_id"] = pa.nulls(n, pa.string())
            columns["created_at"] = pa.array(times_us[part], pa.int64()).cast(pa.timestamp("us", tz="Asia/Shanghai"))
            columns["content_key"] = ids
            for name in ("repost_count", "comment_count", "like_count", "read_count"):
                values = chunk[name].to_numpy(zero_copy_only=False)
                columns[name] = pa.array((values * jitter).astype(np.int64))
            store.append_generated(pa.table(columns))
            rate = part.stop / (time.perf_counter() - started)
            print(f"{part.stop:,}/{args.posts:,} posts ({rate:,.0f}/s)", file=sys.stderr)
    print(f"{args.posts:,} posts in {time.perf_counter() - started:.1f}s → {db}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
