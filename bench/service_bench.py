"""The service's tick on a big database (p50/p95 per step) and page latency during ticks beside idle pages.

Usage: .venv/bin/python bench/make_big.py --posts 1000000 --db /tmp/big1m.duckdb
       .venv/bin/python bench/service_bench.py --db /tmp/big1m.duckdb [--ticks 5] [--repeat 3] [--json]

A tick (analysis.scheduler.run_tick: watched folder, inbox, every default alert rule, 督办, delivery, freshness,
briefings) runs in the service process beside the dashboard, on the same Store, so two figures matter: how long
a tick takes against its interval (default 300 s), and how much slower a page gets while one runs. The naive way,
measured in the same run, is what the README used to tell offices to do: `python -m analysis alerts run` from
cron, a new process that imports everything and opens the database each time (and cannot run at all while the
dashboard holds the file). Pages are rendered with Streamlit's AppTest in this process on the same Store (as the
service's sessions are), warm (served from st.cache_data) and cold (cache cleared before each render), idle and
then while a thread runs ticks back to back. Runs on a copy of --db (a tick writes).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
APP = ROOT / "app.py"
PAGES = (("overview", "views/overview.py"), ("heatmap", "views/heatmap.py"), ("alerts", "views/alerts.py"),
         ("incidents", "views/incidents.py"))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def naive_cron_run(db: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "analysis", "alerts", "run", "--db", str(db)], cwd=ROOT, check=False,
                   capture_output=True)
    return time.perf_counter() - started


def render_pages(repeat: int, cold: bool) -> dict[str, float]:
    """p50 seconds per page over `repeat` renders."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    out = {}
    for name, path in PAGES:
        at = AppTest.from_file(str(APP), default_timeout=1800)
        at.run()
        if name != "overview":
            at.switch_page(str(ROOT / path))
            at.run()
        times = []
        for _ in range(repeat):
            if cold:
                st.cache_data.clear()
            started = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - started)
            if at.exception:
                raise RuntimeError(f"{name}: {[e.message for e in at.exception]}")
        out[name] = statistics.median(times)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--ticks", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from analysis import alerts, config, scheduler
    from analysis.store import Store, register_owner, unregister_owner

    work = Path(tempfile.mkdtemp(prefix="service-bench-"))
    db = work / "bench.duckdb"
    shutil.copy(args.db, db)
    os.environ[config.DB_ENV_VAR] = str(db)
    naive = [naive_cron_run(db) for _ in range(2)]  # before anything holds the file; installs nothing

    store = Store(db, memory_limit=config.dashboard_memory_limit())
    register_owner(store)
    alerts.install_default_rules(store, "bench")
    posts = int(store.scalar("SELECT count(*) FROM posts"))
    reports = [scheduler.run_tick(store) for _ in range(args.ticks)]
    totals = [r.duration_seconds for r in reports]
    steps = {key: [r.seconds[key] for r in reports] for key, _, _ in scheduler.STEPS}
    errors = sorted({f"{k}: {v}" for r in reports for k, v in r.errors.items()})

    idle_warm = render_pages(args.repeat, cold=False)
    idle_cold = render_pages(args.repeat, cold=True)
    stop = threading.Event()
    during_ticks: list[float] = []

    def tick_loop():
        while not stop.is_set():
            during_ticks.append(scheduler.run_tick(store).duration_seconds)

    thread = threading.Thread(target=tick_loop, daemon=True)
    thread.start()
    time.sleep(0.2)
    busy_warm = render_pages(args.repeat, cold=False)
    busy_cold = render_pages(args.repeat, cold=True)
    stop.set()
    thread.join()
    unregister_owner(store)
    store.close()
    shutil.rmtree(work, ignore_errors=True)

    result = {
        "posts": posts, "ticks": args.ticks,
        "tick_p50_s": statistics.median(totals), "tick_p95_s": percentile(totals, 0.95),
        "steps_p50_s": {k: statistics.median(v) for k, v in steps.items()},
        "steps_p95_s": {k: percentile(v, 0.95) for k, v in steps.items()},
        "naive_cron_alerts_run_s": statistics.median(naive),
        "alerts_step_vs_cron_run": statistics.median(naive) / max(statistics.median(steps["alerts"]), 1e-9),
        "share_of_default_interval": statistics.median(totals) / 300,
        "pages_warm_idle_s": idle_warm, "pages_warm_during_tick_s": busy_warm,
        "pages_cold_idle_s": idle_cold, "pages_cold_during_tick_s": busy_cold,
        "ticks_during_pages": len(during_ticks), "errors": errors,
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    print(f"database                     {posts:,} posts, {args.ticks} ticks")
    print(f"tick                         p50 {result['tick_p50_s']:.2f} s, p95 {result['tick_p95_s']:.2f} s "
          f"({result['share_of_default_interval']:.1%} of the default 300 s interval)")
    for key, label, _ in scheduler.STEPS:
        print(f"  {label:<24}   p50 {result['steps_p50_s'][key]:.3f} s, p95 {result['steps_p95_s'][key]:.3f} s")
    print(f"naive: cron `alerts run`     {result['naive_cron_alerts_run_s']:.2f} s a run → the tick's alert step is "
          f"{result['alerts_step_vs_cron_run']:.1f}× faster (and cron cannot open a held file at all)")
    for name, _ in PAGES:
        print(f"page {name:<11} warm idle {idle_warm[name] * 1000:.0f} ms, during tick {busy_warm[name] * 1000:.0f} ms;"
              f" cold idle {idle_cold[name] * 1000:.0f} ms, during tick {busy_cold[name] * 1000:.0f} ms")
    if errors:
        print("tick errors: " + "; ".join(errors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
