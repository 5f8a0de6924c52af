"""End-to-end import throughput (read, validate, normalize, score, dedupe, insert) vs the naive pipeline.

Usage: .venv/bin/python bench/ingest_bench.py [--posts 1000000] [--naive-sample 500] [--workers N]

Ours: `python -m analysis ingest` on a CSV of N realistic posts: the demo's posts (channels, topics, rhythm,
reposts), re-dated and re-keyed copy after copy, each copy after the first carrying real Weibo/review texts
from ../shared/data, so almost every text is new to its chunk and nothing is scored for free. Printed: wall
time, posts/s, and peak memory of the whole process tree (the CLI plus its worker processes, sampled from
/proc). Naive, measured in the same run on a sample: pandas read, a plain `SnowNLP(text).sentiments` loop,
and one INSERT per row.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import duckdb
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from analysis import demo  # noqa: E402


def real_texts() -> list[str]:
    shared = REPO.parent / "shared" / "data"
    frames = [pd.read_csv(shared / name, usecols=["text"]) for name in ("sentiment_train.csv.gz",
                                                                        "sentiment_dev.csv.gz")]
    return pd.concat(frames)["text"].dropna().astype(str).tolist()


def make_csv(path: Path, posts: int) -> None:
    base = demo.generate_posts(days=60, seed=7)
    texts = real_texts()
    parts, copy, used = [], 0, 0
    while sum(len(p) for p in parts) < posts:
        part = base.assign(post_id=base["post_id"] + f"-{copy}", url=base["url"] + f"?c={copy}",
                           author_id=base["author_id"] + f"-{copy}", parent_id=None, root_id=None,
                           created_at=base["created_at"] - pd.Timedelta(days=63 * copy))
        if copy:
            part["text"] = [texts[(used + i) % len(texts)] for i in range(len(part))]
            used += len(part)
        parts.append(part)
        copy += 1
    pd.concat(parts).head(posts).to_csv(path, index=False)


def tree_rss_mb(root: int) -> float:
    """Resident memory of a process and all its descendants now (from /proc), in MB."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        children = [pid for pid, ppid in parents.items() if ppid in frontier and pid not in tree]
        tree.update(children)
        frontier = children
    total = 0
    for pid in tree:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        total += int(match.group(1)) if match else 0
    return total / 1024


def run_measured(command: list[str]) -> tuple[str, float, float]:
    """(stdout, seconds, peak MB of the process tree) of a command, sampling memory ten times a second."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    peak = 0.0
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.append(process.stdout.read()))
    reader.start()
    while process.poll() is None:
        peak = max(peak, tree_rss_mb(process.pid))
        time.sleep(0.1)
    reader.join()
    if process.returncode:
        raise RuntimeError(f"{command} exited {process.returncode}")
    return output[0], time.perf_counter() - started, peak


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
    parser.add_argument("--workers", type=int, help="worker processes (default: one per core)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        csv, db = Path(tmp) / "posts.csv", Path(tmp) / "bench.duckdb"
        make_csv(csv, args.posts)
        command = [sys.executable, "-m", "analysis", "ingest", str(csv), "--db", str(db), "--json"]
        if args.workers:
            command += ["--workers", str(args.workers)]
        stdout, elapsed, peak_mb = run_measured(command)
        total = json.loads(stdout)["total"]
        megabytes = csv.stat().st_size / 1024 / 1024
        naive_rate = naive(csv, args.naive_sample)
    ours = total["read"] / elapsed
    report = {"posts": total["read"], "inserted": total["inserted"], "file_mb": round(megabytes),
              "seconds": round(elapsed, 1), "posts_per_s": round(ours), "peak_rss_mb": round(peak_mb),
              "naive_posts_per_s": round(naive_rate, 1), "ratio": round(ours / naive_rate, 1),
              "projected_1m_seconds": round(1_000_000 / ours)}
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:24} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
