"""A realistic N-post database, fast: the demo's scored posts as a pool, resampled with Arrow into DuckDB.

Usage: .venv/bin/python bench/make_big.py --posts 10000000 --db /tmp/big.duckdb [--days 365]

The pool is the 60-day demo (channels, topics, rhythm, incidents, cascades) scored once through the real
ingest path. The big set is copies of the whole pool, each moved back by a whole number of weeks (so
hour-of-day and weekday rhythms survive) as if another city's office had collected it: a copy's posts get
new ids and jittered interaction counts, and its reposts and comments point at the same copy's parents,
so cascades keep their shape. Rows are appended in time order, chunk by chunk, so DuckDB's zone maps
prune time-range scans.
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


def pool_positions(pool: pa.Table, column: str) -> np.ndarray:
    """For each pool post, the pool position of the post its `column` names (-1: none, or not in the pool)."""
    position = {post_id: i for i, post_id in enumerate(pool["post_id"].to_pylist())}
    return np.array([position.get(value, -1) for value in pool[column].to_pylist()], dtype=np.int64)


def big_ids(copies: np.ndarray, positions: np.ndarray) -> pa.Array:
    """Ids of pool positions within their copy; null where the position is -1."""
    pairs = zip(copies.tolist(), positions.tolist(), strict=True)
    return pa.array([f"big-{c}-{p}" if p >= 0 else None for c, p in pairs], pa.string())


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
    copy_of = np.arange(args.posts) // pool.num_rows  # whole copies; the last one is cut short
    picks = np.arange(args.posts) % pool.num_rows
    times_us = base_us[picks] - rng.integers(0, weeks, copy_of[-1] + 1)[copy_of] * WEEK_US
    order = np.argsort(times_us, kind="stable")  # insert in time order: zone maps then prune range scans
    picks, copy_of, times_us = picks[order], copy_of[order], times_us[order]
    parent_at, root_at = pool_positions(pool, "parent_id"), pool_positions(pool, "root_id")
    db = Path(args.db)
    db.unlink(missing_ok=True)
    with Store(db) as store:
        for start in range(0, args.posts, args.chunk):
            part = slice(start, min(start + args.chunk, args.posts))
            n = part.stop - part.start
            chunk = pool.take(pa.array(picks[part]))
            copies = copy_of[part]
            ids = big_ids(copies, picks[part])
            jitter = rng.lognormal(0, 0.5, n)
            columns = {name: chunk[name] for name in chunk.column_names}
            columns["post_id"] = ids
            columns["parent_id"] = big_ids(copies, parent_at[picks[part]])
            columns["root_id"] = big_ids(copies, root_at[picks[part]])
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
