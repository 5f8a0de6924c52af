"""End-to-end import throughput (read, validate, normalize, score, dedupe, insert) vs the naive pipeline.

Usage: .venv/bin/python bench/ingest_bench.py [--posts 200000] [--naive-sample 500]

Ours: `python -m analysis ingest` on a CSV of N realistic posts (the demo's posts, re-dated and re-keyed),
wall time and peak RSS of that process. Naive, measured in the same run on a sample: pandas read,
a plain `SnowNLP(text).sentiments` loop, and one INSERT per row.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from analysis import demo  # noqa: E402


def make_csv(path: Path, posts: int) -> None:
    base = demo.generate_posts(days=60, seed=7)
    parts, copy = [], 0
    while sum(len(p) for p in parts) < posts:
        part = base.assign(post_id=base["post_id"] + f"-{copy}", url=base["url"] + f"?c={copy}",
                           author_id=base["author_id"] + f"-{copy}", parent_id=None, root_id=None,
                           created_at=base["created_at"] - pd.Timedelta(days=63 * copy))
        parts.append(part)
        copy += 1
    pd.concat(parts).head(posts).to_csv(path, index=False)


def naive(path: Path, sample: int) -> float:
    """posts/s of pandas read + SnowNLP loop + row-by-row INSERT, on the first `sample` rows."""
    from snownlp import SnowNLP

    started = time.perf_counter()
    frame = pd.read_csv(path, nrows=sample)
    conn = duckdb.connect(":memory:")
    conn.execute("CREATE TABLE posts (post_id VARCHAR PRIMARY KEY, channel VARCHAR, text VARCHAR, "
                 "created_at TIMESTAMP, score DOUBLE)")
    for row in frame.itertuples():
        text = str(row.text)
        score = SnowNLP(text).sentiments if text.strip() else 0.5
        conn.execute("INSERT INTO posts VALUES (?, ?, ?, ?, ?)", [row.post_id, row.channel, text,
                                                                  pd.Timestamp(row.created_at).to_pydatetime(), score])
    return sample / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=200_000)
    parser.add_argument("--naive-sample", type=int, default=500)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        csv, db = Path(tmp) / "posts.csv", Path(tmp) / "bench.duckdb"
        make_csv(csv, args.posts)
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "analysis", "ingest", str(csv), "--db", str(db), "--json"],
                                cwd=REPO, capture_output=True, text=True, check=True)
        elapsed = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        total = json.loads(result.stdout)["total"]
        naive_rate = naive(csv, args.naive_sample)
    ours = total["read"] / elapsed
    report = {"posts": total["read"], "inserted": total["inserted"], "seconds": round(elapsed, 1),
              "posts_per_s": round(ours), "peak_rss_mb": round(peak_mb), "naive_posts_per_s": round(naive_rate, 1),
              "ratio": round(ours / naive_rate, 1), "projected_1m_seconds": round(1_000_000 / ours)}
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:24} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
