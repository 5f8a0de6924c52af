"""`python -m analysis serve`: the one process that owns the database file. It hosts the Streamlit dashboard, the
scheduler (analysis.scheduler) and the loopback API (analysis.api) on one shared Store, so the monitoring loop runs
with no browser open and every CLI verb keeps working beside it. `status` reports what the service is doing.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

import pandas as pd

from analysis import api, backups, cli, config, scheduler, settings, watch
from analysis.config import TIMEZONE
from analysis.store import DatabaseLocked, Store, open_store, register_owner, unregister_owner

log = logging.getLogger(__name__)

APP_SCRIPT = config.REPO_ROOT / "app.py"

_CURRENT: scheduler.Scheduler | None = None  # the scheduler of this process, when it is the service


def current_scheduler() -> scheduler.Scheduler | None:
    return _CURRENT


# -- status -------------------------------------------------------------------------------------------------------
def collect_status(store: Store, running: scheduler.Scheduler | None = None) -> dict:
    """Posts, freshness per channel, files waiting, the last tick and the next, open incidents, new alerts."""
    from analysis import incidents  # the incident workflow is only needed here

    cfg = settings.service(store)
    fresh = scheduler.channel_freshness(store)
    ticks = scheduler.recent_ticks(store, limit=1)
    last = ticks.iloc[0] if not ticks.empty else None
    listed = incidents.list_incidents(store)
    folder = watch.incoming_dir(store.path, cfg["incoming_dir"])
    info = api.read_service_file(store.path)
    copies = backups.listed(store.path)
    return cli.jsonable({
        "db": str(store.path),
        "posts": int(store.scalar("SELECT count(*) FROM posts")),
        "last_post_at": fresh["last_post_at"].max() if not fresh.empty else None,
        "channels": [{"channel": r.channel, "last_post_at": r.last_post_at, "posts": int(r.posts)}
                     for r in fresh.itertuples()],
        "incoming": {"folder": str(folder), "waiting": [p.name for p in watch.waiting_files(folder)]},
        "inbox_batches": len(list(config.inbox_dir(store.path).glob("*.json")))
        if config.inbox_dir(store.path).is_dir() else 0,
        "service": {"running": running is not None, "pid": os.getpid() if running else (info or {}).get("pid"),
                    **(running.state() if running else {"tick_seconds": cfg["tick_seconds"], "next_tick_at": None})},
        "last_tick": None if last is None else {
            "started_at": last["started_at"], "finished_at": last["finished_at"],
            "duration_seconds": last["duration_seconds"], "summary": last["summary"], "errors": last["errors"]},
        "last_error": _last_error(store),
        "open_incidents": int(listed["status"].isin(["处置中", "重新打开"]).sum()),
        "new_alerts": int(store.scalar("SELECT count(*) FROM alerts WHERE state = 'new'")),
        "backups": {"folder": str(backups.folder_of(store.path)), "count": len(copies),
                    "newest": copies[0].name if copies else None},
    })


def _last_error(store: Store) -> dict | None:
    """The newest tick that had an error, even when later ticks went well (a webhook that failed at night)."""
    row = store.query("""SELECT started_at, CAST(errors AS VARCHAR) AS errors FROM service_ticks
                         WHERE CAST(errors AS VARCHAR) <> '{}' ORDER BY tick_id DESC LIMIT 1""")
    return None if row.empty else {"at": row["started_at"].iloc[0], "errors": json.loads(row["errors"].iloc[0])}


def cli_status(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis status", parents=[cli.common_options()],
                                     description="posts, channel freshness, waiting files, ticks, incidents, alerts")
    args = parser.parse_args(argv)
    db = cli.db_path(args)
    if not db.exists():
        print(f"error: database {db} does not exist", file=sys.stderr)
        return 1
    with open_store(db) as store:
        status = collect_status(store, current_scheduler())
    if cli.wants_json(args):
        cli.print_json(status)
        return 0
    service = status["service"]
    tick = status["last_tick"]
    print(f"database   {status['db']}")
    print(f"posts      {status['posts']:,} (newest {status['last_post_at'] or '—'})")
    print(f"service    {'running, pid ' + str(service['pid']) if service['running'] else 'not running'}; "
          f"tick every {service['tick_seconds']} s; next {service.get('next_tick_at') or '—'}")
    if tick:
        errors = "; ".join(f"{k}: {v}" for k, v in tick["errors"].items()) or "no errors"
        print(f"last tick  {tick['started_at']} ({tick['duration_seconds']:.1f} s), {errors}")
    if status["last_error"]:
        errors = "; ".join(f"{k}: {v}" for k, v in status["last_error"]["errors"].items())
        print(f"last error {status['last_error']['at']}: {errors}")
    print(f"incoming   {len(status['incoming']['waiting'])} file(s) waiting in {status['incoming']['folder']}")
    print(f"incidents  {status['open_incidents']} open; alerts {status['new_alerts']} new")
    print(f"backups    {status['backups']['count']} in {status['backups']['folder']}; "
          f"newest {status['backups']['newest'] or '—'}")
    for channel in status["channels"]:
        print(f"  {channel['channel']}: last post {channel['last_post_at']} ({channel['posts']:,} posts)")
    return 0


# -- the API's routes ---------------------------------------------------------------------------------------------
def _routes(store: Store, running: scheduler.Scheduler, main: Callable[..., int]) -> dict:
    from analysis import alerts, incidents, metrics
    from analysis.filters import Filters

    def status(query, body):
        return collect_status(store, running)

    def incident_list(query, body):
        incident_id = query["_path"][0]
        listed = incidents.list_incidents(store)
        if incident_id:
            row = listed[listed["incident_id"] == incident_id]
            if row.empty:
                raise LookupError(f"no incident {incident_id}")
            return cli.jsonable({**row.iloc[0].to_dict(),
                                 "events": incidents.events(store, incident_id),
                                 "deadlines": incidents.incident_clocks(row.iloc[0], incidents.events(
                                     store, incident_id), pd.Timestamp.now(tz=TIMEZONE),
                                     settings.policy(store).deadlines)})
        return cli.jsonable(listed)

    def alert_list(query, body):
        state = (query.get("state") or [None])[0]
        return cli.jsonable(alerts.list_alerts(store, state=state, limit=int((query.get("limit") or [500])[0])))

    def headline(query, body):
        latest = metrics.latest_day(store) or pd.Timestamp.now(tz=TIMEZONE).date()
        params = {k: query.get(k, []) for k in ("channel", "topic", "region")}
        params |= {k: (query.get(k) or [None])[0] for k in ("from", "to", "grain", "by")}
        f = Filters.from_query_params(params, latest)
        numbers = metrics.headline(store, f)
        return cli.jsonable({"filters": f.to_query_params(), "current": numbers.current, "previous": numbers.previous})

    def tick(query, body):
        running.wake()
        return {"ok": True}

    def run_cli(query, body):
        argv = body.get("argv")
        if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
            raise ValueError("argv must be a list of strings")
        return api.run_verb(main, argv)

    return {("GET", "/api/status"): status, ("GET", "/api/incidents"): incident_list,
            ("GET", "/api/alerts"): alert_list, ("GET", "/api/metrics/headline"): headline,
            ("POST", "/api/tick"): tick, ("POST", "/api/cli"): run_cli}


# -- serve --------------------------------------------------------------------------------------------------------
def cli_serve(argv: list[str], main: Callable[..., int]) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis serve",
                                     description="dashboard + scheduler + loopback API on one database")
    parser.add_argument("--db", help=f"database file (default ${config.DB_ENV_VAR} or data/opinion.duckdb)")
    parser.add_argument("--port", type=int, default=8501, help="dashboard port (default 8501)")
    parser.add_argument("--address", default=None, help="dashboard address (default: Streamlit's, all interfaces)")
    parser.add_argument("--api-port", type=int, default=0, help="loopback API port (default: any free port)")
    parser.add_argument("--tick-seconds", type=int, help="tick interval, overriding 设置 → 值守服务")
    parser.add_argument("--no-dashboard", action="store_true", help="scheduler and API only (no web server)")
    args = parser.parse_args(argv)
    logging.getLogger("analysis").setLevel(logging.INFO)  # our own progress; libraries stay at WARNING
    db = config.resolve_db_path(args.db)
    if args.tick_seconds is not None and args.tick_seconds < 1:
        parser.error("--tick-seconds must be at least 1")
    store = _open_owner(db)
    os.environ[config.DB_ENV_VAR] = str(db)  # pages and forwarded verbs resolve the same file
    register_owner(store)
    global _CURRENT
    running = scheduler.Scheduler(store, args.tick_seconds)
    _CURRENT = running
    server = api.ApiServer(_routes(store, running, main), port=args.api_port)
    server.start()
    service_path = api.write_service_file(db, server.port, server.token, os.getpid())
    running.start()
    print(f"舆情态势监测 service: database {db}; API http://127.0.0.1:{server.port} (token in {service_path}); "
          f"tick every {running.interval()} s", file=sys.stderr, flush=True)
    try:
        if args.no_dashboard:
            stopped = threading.Event()
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stopped.set())
            stopped.wait()
        else:
            _run_dashboard(args.port, args.address)
    finally:
        running.stop()
        server.stop()
        service_path.unlink(missing_ok=True)
        unregister_owner(store)
        store.close()
    return 0


def _open_owner(db, attempts: int = 20) -> Store:
    """Open the file for the service's lifetime; a CLI verb holding it for a moment is waited for (up to ~10 s),
    a process that keeps it (another service) is not: DatabaseLocked then says who to stop."""
    for attempt in range(attempts):
        try:
            return Store(db, memory_limit=config.dashboard_memory_limit())
        except DatabaseLocked:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)
    raise AssertionError("unreachable")


def _run_dashboard(port: int, address: str | None) -> None:
    """Streamlit's own `run` entry (click), in this process and on its main thread, so its pages share our Store."""
    from streamlit.web import cli as streamlit_cli

    flags = ["--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    if address:
        flags += ["--server.address", address]
    print(f"舆情态势监测: open http://localhost:{port}", file=sys.stderr, flush=True)
    streamlit_cli.main.main(["run", str(APP_SCRIPT), *flags], prog_name="streamlit", standalone_mode=False)

