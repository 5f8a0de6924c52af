"""Every benchmark in one table, with the machine's core count and the versions measured.

Query timings alone miss what a reader waits for, so the big database is also rendered page by page
(bench/page_bench.py: warm render per page and the app's RSS, the issue's targets ≤ 1 s and ≤ 600 MB).

Usage: .venv/bin/python bench/run_all.py [--big-db /tmp/big.duckdb | --big-posts 1000000] [--ingest-posts 200000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def run(*args: str) -> str:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, check=True).stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big-db", help="an existing bench/make_big.py database")
    parser.add_argument("--big-posts", type=int, default=1_000_000)
    parser.add_argument("--ingest-posts", type=int, default=200_000)
    args = parser.parse_args()
    rows: list[tuple[str, str]] = [
        ("machine", f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"),
        ("versions", ", ".join(f"{p} {version(p)}" for p in ("duckdb", "pandas", "streamlit", "snownlp", "jieba"))),
    ]
    sentiment = json.loads(run(str(BENCH / "sentiment_bench.py"), "--json"))
    def rate(key: str) -> str:
        value = sentiment[key]
        return f"{value['wall']:,.0f} posts/s wall, {value['cpu']:,.0f} posts/s CPU"

    def ratio(key: str) -> str:
        return f"{sentiment[key]['wall']}× wall, {sentiment[key]['cpu']}× CPU"

    identity = sentiment["identity_check"]
    rows += [
        ("sentiment: plain SnowNLP loop", rate("plain_snownlp_loop_posts_per_s")),
        ("sentiment: snownlp mode (bit-identical)",
         f"{rate('score_posts_snownlp_posts_per_s')} ({identity['bit_identical']}/{identity['sample']} identical)"),
        ("sentiment: domain mode", rate("score_posts_domain_posts_per_s")),
        ("sentiment: snownlp mode vs plain loop", ratio("ratio_score_snownlp_vs_plain")),
        ("sentiment: domain vs plain loop", ratio("ratio_domain_vs_plain")),
    ]
    ingest = json.loads(run(str(BENCH / "ingest_bench.py"), "--posts", str(args.ingest_posts), "--json"))
    rows += [
        (f"ingest {ingest['posts']:,} posts end to end", f"{ingest['seconds']} s, {ingest['posts_per_s']:,} posts/s, "
         f"peak RSS {ingest['peak_rss_mb']} MB"),
        ("ingest: naive (pandas + SnowNLP loop + row inserts)", f"{ingest['naive_posts_per_s']} posts/s → "
         f"ours {ingest['ratio']}× faster; 1 M posts ≈ {ingest['projected_1m_seconds']} s"),
    ]
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        big = args.big_db
        if big is None:
            big = str(Path(tmp) / "big.duckdb")
            made = run(str(BENCH / "make_big.py"), "--posts", str(args.big_posts), "--db", big)
            rows.append(("make_big", made.strip()))
        for line in run(str(BENCH / "metrics_bench.py"), "--db", big).splitlines():
            match = re.match(r"^(.{32}) +([\d.]+)(?: +([\d.]+))?$", line)
            if match:
                p95 = f", p95 {match.group(3)} ms" if match.group(3) else ""
                rows.append((f"query: {match.group(1).strip()}", f"p50 {match.group(2)} ms{p95}"))
            elif line.strip():
                rows.append(("metrics", line.strip()))
        pages = json.loads(run(str(BENCH / "page_bench.py"), "--db", big, "--json"))  # AppTest, on a copy of big
        rows += [(f"page: {name} warm p50", f"{page['warm_p50_ms']} ms (cold {page['cold_ms']} ms, "
                  f"max {page['warm_max_ms']} ms)") for name, page in pages["pages"].items()]
        rows.append(("app RSS after all pages", f"{pages['rss_mb']} MB (peak {pages['peak_rss_mb']} MB)"))
        statements = pages["queries"]  # every SQL statement the renders ran, by caller, slowest p95 first
        over = [name for name, q in statements.items() if q["p95_ms"] > 150]
        rows.append(("page SQL: callers over 150 ms p95", f"{len(over)} of {len(statements)}" +
                     (f" ({', '.join(over)})" if over else "")))
        rows += [(f"page SQL: {name}", f"{q['calls']} calls, p50 {q['p50_ms']} ms, p95 {q['p95_ms']} ms")
                 for name, q in list(statements.items())[:5]]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
