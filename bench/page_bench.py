"""Every dashboard page rendered by Streamlit's AppTest on a big database: cold, warm p50/max, and the app's RSS.

Usage: .venv/bin/python bench/make_big.py --posts 10000000 --db /tmp/big.duckdb
       .venv/bin/python bench/page_bench.py --db /tmp/big.duckdb [--repeat 5] [--json] [--detail] [--next-minute]

The metric queries alone (bench/metrics_bench.py) are not what a reader waits for: a page is the router,
the sidebar, several cached analysis calls, pandas and plotly glue, all in one script run. This renders
each page of app.py's PAGES the way tests/test_pages.py does (AppTest.from_file, switch_page, query
params), once cold (filling st.cache_data / st.cache_resource, which AppTest instances in one process
share, like the sessions of one server) and --repeat times warm. Drill-downs (a heatmap cell, a topic's
post) are rendered as extra rows. The RSS afterwards is this process's: same code and caches as a server.

The app owns its database and writes (migrations, inbox drain), so it runs on a copy of --db, with access
control off (no users file) and nothing that needs the network. A database from make_big.py has posts
only; the copy gets the default alert rules, one evaluation of them and one incident, so that the
incidents and alerts pages show data (--no-seed renders the bare copy). Targets: each page warm ≤ 1 s,
app RSS ≤ 600 MB at 10 M posts.
"""

from __future__ import annotations

import argparse
import ast
import collections
import json
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
APP = ROOT / "app.py"
TIMEOUT = 1800  # a cold page on 10 M posts with two busy cores


def page_table() -> list[tuple[str, str]]:
    """(key, file) of every page app.py routes to, read from its PAGES tuple without running it."""
    tree = ast.parse(APP.read_text(encoding="utf-8"))
    node = next(n for n in tree.body if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "PAGES")
    return [(key, path) for _, key, path, _, _ in ast.literal_eval(node.value)]


def memory_mb() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MB."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return tuple(int(fields[name].split()[0]) / 1024 for name in ("VmRSS", "VmHWM"))


def seed(path: str) -> None:
    """Default rules, one evaluation and one incident, in a child process (its memory is not the app's)."""
    import pandas as pd

    from analysis import alerts, incidents
    from analysis.store import Store

    with Store(path) as store:
        alerts.install_default_rules(store, actor="bench")
        newest = pd.Timestamp(store.scalar("SELECT max(created_at) FROM posts")).tz_convert("Asia/Shanghai")
        alerts.run(store, newest, actor="bench")
        topic = store.scalar("SELECT topic FROM posts WHERE created_at >= ? GROUP BY topic ORDER BY count(*) DESC "
                             "LIMIT 1", [(newest - pd.Timedelta(days=1)).to_pydatetime()])
        ids = store.query("SELECT post_id FROM posts WHERE topic = ? AND created_at >= ? ORDER BY created_at LIMIT 300",
                          [topic, (newest - pd.Timedelta(days=2)).to_pydatetime()])["post_id"].tolist()
        incidents.create_incident(store, f"{topic}（压测事件）", ids, actor="bench")


def drill_downs(path: str) -> dict[str, tuple[str, dict[str, str]]]:
    """Extra renders: a heatmap cell and a topic's post, as links to them would open (read before the app opens)."""
    from analysis import metrics
    from analysis.filters import Filters
    from analysis.store import Store

    with Store(path, read_only=True) as store:
        f = Filters.from_query_params({}, metrics.latest_day(store))
        topic = store.scalar("SELECT topic FROM posts WHERE created_at >= ? AND created_at < ? GROUP BY topic "
                             "ORDER BY count(*) DESC LIMIT 1", [f.start_ts.to_pydatetime(), f.end_ts.to_pydatetime()])
        post = store.scalar("SELECT post_id FROM posts WHERE topic = ? ORDER BY created_at DESC LIMIT 1", [topic])
    return {"heatmap+cell": ("views/heatmap.py", {"kind": "topic_day", "row": topic, "col": f.end.isoformat()}),
            "topic+post": ("views/topic.py", {"t": topic, "post": post})}


class CallLog:
    """Wraps ui.cached (the pages look it up at call time): time per call and misses (the function really ran)."""

    def __init__(self, ui) -> None:
        self.seconds: collections.Counter = collections.Counter()
        self.calls: collections.Counter = collections.Counter()
        self.misses: collections.Counter = collections.Counter()
        original = ui.cached

        def cached(fn, *args, **kwargs):
            name = f"{fn.__module__.removeprefix('analysis.')}.{fn.__qualname__}"

            def run(*a, **k):
                self.misses[name] += 1
                return fn(*a, **k)

            run.__module__, run.__qualname__ = fn.__module__, fn.__qualname__  # the cache key ui.cached builds
            started = time.perf_counter()
            try:
                return original(run, *args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started
                self.calls[name] += 1

        ui.cached = cached

    def reset(self) -> None:
        for counter in (self.seconds, self.calls, self.misses):
            counter.clear()


class QueryLog:
    """Wraps Store.query and Store.scalar: every SQL statement the pages run, timed, named by the analysis
    function that ran it (the innermost caller outside store.py), so the per-query target is checked on
    what the pages really run, not on a hand-picked list."""

    def __init__(self) -> None:
        from analysis.store import Store

        self.seconds: collections.defaultdict[str, list[float]] = collections.defaultdict(list)
        for method in ("query", "scalar"):
            original = getattr(Store, method)

            def timed(store, *args, _original=original, **kwargs):
                started = time.perf_counter()
                try:
                    return _original(store, *args, **kwargs)
                finally:
                    self.seconds[self.caller()].append(time.perf_counter() - started)

            setattr(Store, method, timed)

    @staticmethod
    def caller() -> str:
        frame = sys._getframe(2)
        while frame and frame.f_code.co_filename.endswith(("store.py", "page_bench.py")):
            frame = frame.f_back
        if frame is None:
            return "?"
        module = Path(frame.f_code.co_filename).stem
        return f"{module}.{frame.f_code.co_name}"

    def summary(self) -> dict[str, dict]:
        """Per caller: calls, p50, p95 and max in ms, slowest first."""
        rows = {}
        for name, times in self.seconds.items():
            times = sorted(times)
            p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
            rows[name] = {"calls": len(times), "p50_ms": round(statistics.median(times) * 1000, 1),
                          "p95_ms": round(p95 * 1000, 1), "max_ms": round(times[-1] * 1000, 1)}
        return dict(sorted(rows.items(), key=lambda item: -item[1]["p95_ms"]))


def render(at, name: str) -> float:
    started = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - started
    if at.exception:
        raise RuntimeError(f"page {name}: {[e.message for e in at.exception]}")
    return elapsed


def bench_page(name: str, path: str, query: dict[str, str], repeat: int, log: CallLog) -> dict:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update(query)
    if path == "views/overview.py":  # the default page: the first run is the page
        log.reset()
        cold = render(at, name)
    else:  # like tests/test_pages.py: open the app (overview, warm by now), then switch with the query kept
        at.run()
        at.query_params.update(query)
        at.switch_page(str(ROOT / path))
        log.reset()
        cold = render(at, name)
    cold_calls = {n: log.seconds[n] for n in log.seconds}
    log.reset()
    warm = [render(at, name) for _ in range(repeat)]
    slowest = sorted(log.seconds.items(), key=lambda item: -item[1])[:5]
    return {"cold_ms": round(cold * 1000, 1), "warm_p50_ms": round(statistics.median(warm) * 1000, 1),
            "warm_max_ms": round(max(warm) * 1000, 1), "warm_misses": sum(log.misses.values()),
            "warm_cached_calls_ms": {n: round(s / repeat * 1000, 1) for n, s in slowest},
            "cold_cached_calls_ms": {n: round(s * 1000, 1) for n, s in
                                     sorted(cold_calls.items(), key=lambda item: -item[1])[:5]}}


def overview_next_minute(log: CallLog) -> dict:
    """总览 caches its incident board and KPIs per minute (their key is the current minute): the first render
    after the minute turns recomputes them, whoever asks. Wait for that and time it."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    render(at, "overview")
    time.sleep(60.5 - time.time() % 60)
    log.reset()
    elapsed = render(at, "overview")
    return {"ms": round(elapsed * 1000, 1), "misses": dict(log.misses),
            "missed_calls_ms": {n: round(log.seconds[n] * 1000, 1) for n in log.misses}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="a bench/make_big.py database (copied; the original is not opened)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON object (for bench/run_all.py)")
    parser.add_argument("--detail", action="store_true", help="also print the slowest ui.cached calls per page")
    parser.add_argument("--next-minute", action="store_true",
                        help="also time 总览 just after the minute turns (its per-minute cache entries expire)")
    parser.add_argument("--no-seed", action="store_true", help="no alert rules, alerts or incident in the copy")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="page-bench-") as tmp:
        copy = Path(tmp) / "app.duckdb"
        shutil.copy(args.db, copy)
        if Path(args.db + ".wal").exists():
            shutil.copy(args.db + ".wal", str(copy) + ".wal")
        os.environ["OPINION_DB"] = str(copy)
        os.environ["OPINION_USERS"] = str(Path(tmp) / "users.toml")  # absent: access control off
        sys.argv = sys.argv[:1]  # ui.py reads --db from sys.argv: it must not find ours (the original file)
        started = time.perf_counter()
        if not args.no_seed:
            child = multiprocessing.get_context("spawn").Process(target=seed, args=(str(copy),))
            child.start()
            child.join()
            if child.exitcode:
                raise SystemExit(f"seeding the copy failed (exit {child.exitcode})")
        seeded = time.perf_counter() - started
        pages = [(key, path, {}) for key, path in page_table()]
        pages += [(key, path, query) for key, (path, query) in drill_downs(str(copy)).items()]

        started = time.perf_counter()
        import plotly.graph_objects  # noqa: F401  (what the pages import: paid once per server process)
        import streamlit.testing.v1  # noqa: F401

        import ui
        from analysis import alerts, briefing, charts, corrections, explore, metrics, settings  # noqa: F401
        imports = time.perf_counter() - started
        rss_before, _ = memory_mb()
        log = CallLog(ui)
        queries = QueryLog()
        results = {name: bench_page(name, path, query, args.repeat, log) for name, path, query in pages}
        rss, peak = memory_mb()
        posts = ui.store().scalar("SELECT count(*) FROM posts")
        next_minute = overview_next_minute(log) if args.next_minute else None
    report = {"posts": posts, "repeat": args.repeat, "seed_s": round(seeded, 1), "imports_ms": round(imports * 1000),
              "rss_before_pages_mb": round(rss_before), "pages": results, "rss_mb": round(rss),
              "peak_rss_mb": round(peak), "next_minute": next_minute, "queries": queries.summary()}
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return 0
    print(f"{posts:,} posts (copy of {args.db}, seeded in {seeded:.1f} s); imports {imports * 1000:.0f} ms, "
          f"RSS before the first page {rss_before:.0f} MB; {args.repeat} warm runs per page")
    width = max(len(name) for name in results)
    for name, r in results.items():
        note = "" if r["warm_misses"] == 0 else f"  ({r['warm_misses']} cache misses while warm)"
        print(f"page {name:{width}}  cold {r['cold_ms']:8.1f} ms  warm p50 {r['warm_p50_ms']:7.1f} ms  "
              f"max {r['warm_max_ms']:7.1f} ms{note}")
        if args.detail:
            for label in ("cold", "warm"):
                calls = r[f"{label}_cached_calls_ms"]
                print(f"    {label} ui.cached: " + ", ".join(f"{n} {ms:.0f} ms" for n, ms in calls.items()))
    if next_minute:
        calls = ", ".join(f"{n} {ms:.0f} ms" for n, ms in next_minute["missed_calls_ms"].items())
        print(f"page overview after the minute turns  {next_minute['ms']:.1f} ms (recomputed: {calls or 'nothing'})")
    print(f"app RSS {rss:.0f} MB (peak {peak:.0f} MB)")
    print("every SQL statement the renders ran, by the function that ran it (target p95 ≤ 150 ms):")
    for name, q in report["queries"].items():
        print(f"    {name:40} {q['calls']:4} calls  p50 {q['p50_ms']:7.1f}  p95 {q['p95_ms']:7.1f}  "
              f"max {q['max_ms']:7.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
