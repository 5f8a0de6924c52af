"""The command line: `python -m analysis VERB ...` (run with -h for the verbs)."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from analysis import config


def _db_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help=f"database file (default ${config.DB_ENV_VAR} or data/opinion.duckdb)")


def cmd_ingest(argv: list[str]) -> int:
    from analysis import ingest

    parser = argparse.ArgumentParser(prog="python -m analysis ingest", description="Import posts from files.")
    parser.add_argument("files", nargs="+", type=Path)
    _db_argument(parser)
    parser.add_argument("--channel", help="channel for every row (e.g. 微博), overriding the file")
    parser.add_argument("--workers", type=int, help="processes preparing a big file (default: one per core)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    db_path = config.resolve_db_path(args.db)
    summaries = []
    for number, path in enumerate(args.files, start=1):
        print(f"[{number}/{len(args.files)}] {path}", file=sys.stderr)
        summaries.extend(ingest.ingest_files([path], db_path, args.channel, args.workers))
    total = ingest.totals(summaries)
    if total["queued"]:
        _ask_service_to_import(db_path)
    if args.json:
        _print_json({"db": str(db_path), "files": [s.as_dict() for s in summaries], "total": total})
    else:
        for s in summaries:
            if s.status == "failed":
                print(f"{s.file}: FAILED: {s.error}")
                continue
            queued = f" queued={s.queued} (database busy: imported when its owner next runs)" \
                if s.status == "queued" else ""
            print(f"{s.file}: read={s.read} inserted={s.inserted} duplicates={s.duplicates} "
                  f"quarantined={s.quarantined}{queued} layout={s.layout} reasons={s.reasons}")
        print("total: " + " ".join(f"{k}={v}" for k, v in total.items()))
    return 1 if total["failed_files"] else 0


def _ask_service_to_import(db_path: Path) -> None:
    """Queued because the service holds the file: ask it for a tick now rather than at its next interval."""
    from analysis import api

    try:
        api.call(db_path, "POST", "/api/tick", {}, timeout=5)
        print("the service holding the database imports the queued batch on its next tick (now)", file=sys.stderr)
    except (api.ServiceUnavailable, RuntimeError):
        pass


def cmd_demo(argv: list[str]) -> int:
    from analysis import demo, ingest
    from analysis.store import Store

    parser = argparse.ArgumentParser(prog="python -m analysis demo", description="Build the demo database.")
    _db_argument(parser)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    db_path = config.resolve_db_path(args.db)
    started = time.perf_counter()
    frame = demo.generate_posts(days=args.days, seed=args.seed)
    print(f"generated {len(frame)} posts in {time.perf_counter() - started:.1f}s; scoring and storing…",
          file=sys.stderr)
    batch = ingest.prepare_table(ingest.table_from_frame(frame), f"demo-seed{args.seed}-{args.days}d",
                                 sha256=f"demo:{args.seed}:{args.days}")
    accounts = ingest.prepare_table(ingest.table_from_frame(demo.account_rows(frame, args.seed)),
                                    f"demo-accounts-seed{args.seed}", sha256=f"demo-accounts:{args.seed}:{args.days}")
    with Store(db_path) as store:
        summary = ingest.write_prepared(store, batch)
        ingest.write_prepared(store, accounts)   # 认证/粉丝数, through the accounts import like an office's file
        incident_ids = demo.load_incidents(store, demo.embedded_incidents(days=args.days, seed=args.seed))
        alert_count = demo.load_alerts(store, frame["created_at"].max().ceil("h"), days=args.days)
    print(f"demo database {db_path}: inserted={summary.inserted} duplicates={summary.duplicates} "
          f"quarantined={summary.quarantined}, incidents={len(incident_ids)}, alerts={alert_count} "
          f"in {time.perf_counter() - started:.1f}s")
    return 0


def cmd_export_parquet(argv: list[str]) -> int:
    from analysis.store import open_store

    parser = argparse.ArgumentParser(prog="python -m analysis export-parquet",
                                     description="Export posts as a day-partitioned Parquet dataset.")
    parser.add_argument("directory", type=Path)
    _db_argument(parser)
    args = parser.parse_args(argv)
    with open_store(config.resolve_db_path(args.db), read_only=True) as store:
        count = store.export_parquet(args.directory)
    print(f"exported {count} posts of new or changed days to {args.directory} (partitioned by day=YYYY-MM-DD)")
    return 0


def _print_json(payload) -> None:
    from analysis import cli

    cli.print_json(payload)


def cmd_spikes(argv: list[str]) -> int:
    import datetime as dt

    from analysis import metrics, spikes
    from analysis.filters import Filters
    from analysis.store import open_store

    parser = argparse.ArgumentParser(prog="python -m analysis spikes",
                                     description="Bursts per topic/channel against their own baseline.")
    _db_argument(parser)
    parser.add_argument("--by", choices=("topic", "channel", "region", "none"), default="topic")
    parser.add_argument("--grain", choices=("hour", "day"), default="hour")
    parser.add_argument("--since", type=dt.date.fromisoformat, help="first day (default: 30 days before --until)")
    parser.add_argument("--until", type=dt.date.fromisoformat, help="last day (default: newest day with posts)")
    parser.add_argument("--json", action="store_true", help="one JSON object per spike and line")
    args = parser.parse_args(argv)
    with open_store(config.resolve_db_path(args.db)) as store:
        until = args.until or metrics.latest_day(store) or dt.date.today()
        since = args.since or until - dt.timedelta(days=29)
        found = spikes.detect_spikes(metrics.hourly_series(store, Filters(since, until), args.by), grain=args.grain)
    if args.json:
        for record in found.to_dict(orient="records"):
            _print_json(record)
    else:
        for spike in found.itertuples():
            print(f"{spike.start:%Y-%m-%d %H:%M}–{spike.end:%H:%M} [{spike.key}] {spike.kind}: {spike.reason}")
        print(f"{len(found)} spikes from {since} to {until} by {args.by}", file=sys.stderr)
    return 0


def _delegate(module: str, function: str):
    """Verbs whose handler lives beside the logic it drives (imported only when used)."""
    def run(argv: list[str]) -> int:
        import importlib

        return getattr(importlib.import_module(module), function)(argv)
    return run


def _serve(argv: list[str]) -> int:
    from analysis import service

    return service.cli_serve(argv, main)  # forwarded verbs run through this dispatcher in the service


VERBS = {
    "ingest": cmd_ingest,
    "demo": cmd_demo,
    "score": _delegate("analysis.sentiment", "cli_score"),
    "sentiment-eval": _delegate("analysis.sentiment", "cli_sentiment_eval"),
    "cascades": _delegate("analysis.cascades", "cli_cascades"),
    "spikes": cmd_spikes,
    "export-parquet": cmd_export_parquet,
    "rollup": _delegate("analysis.rollup", "cli_rollup"),
    "incidents": _delegate("analysis.incident_cli", "cli_incidents"),
    "alerts": _delegate("analysis.alerts", "cli_alerts"),
    "retrain": _delegate("analysis.corrections", "cli_retrain"),
    "users": _delegate("analysis.access", "cli_users"),
    "brief": _delegate("analysis.briefing", "cli_brief"),
    "export": _delegate("analysis.briefing", "cli_export"),
    "serve": _serve,
    "status": _delegate("analysis.service", "cli_status"),
    "settings": _delegate("analysis.settings", "cli_settings"),
    "schemes": _delegate("analysis.scheme_cli", "cli_schemes"),
    "authors": _delegate("analysis.media", "cli_authors"),
    "backup": _delegate("analysis.backups", "cli_backup"),
    "restore": _delegate("analysis.backups", "cli_restore"),
}
# Verbs never run inside the service on a forwarded request: they need no database, or must not touch a live one.
LOCAL_ONLY = frozenset({"demo", "serve", "users", "score", "restore"})
# Options whose value is a path: made absolute before a verb is forwarded, since the service has another cwd.
PATH_OPTIONS = frozenset({"--db", "--out", "--rules", "--lake"})


def _db_of(argv: list[str]) -> Path:
    for number, token in enumerate(argv):
        if token == "--db" and number + 1 < len(argv):
            return config.resolve_db_path(argv[number + 1])
        if token.startswith("--db="):
            return config.resolve_db_path(token.split("=", 1)[1])
    return config.resolve_db_path(None)


def _absolute_paths(argv: list[str]) -> list[str]:
    """Paths as this process sees them: the service resolves relative paths against its own directory."""
    out, previous = [], ""
    for token in argv:
        if "=" in token and token.split("=", 1)[0] in PATH_OPTIONS:
            name, value = token.split("=", 1)
            token = f"{name}={Path(value).expanduser().resolve()}"
        elif previous in PATH_OPTIONS or (not token.startswith("-") and Path(token).exists()):
            token = str(Path(token).expanduser().resolve())
        out.append(token)
        previous = token
    return out


def main(argv: list[str] | None = None, forwarded: bool = False) -> int:
    """Run a verb. When another process holds the database and it is the service, the verb runs there instead
    (analysis.api): the same output and exit code as if it had run here."""
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not argv or argv[0] not in VERBS:
        print("usage: python -m analysis {" + ",".join(VERBS) + "} ...", file=sys.stderr)
        return 2
    from analysis.store import DatabaseCorrupt, DatabaseLocked

    try:
        return VERBS[argv[0]](argv[1:])
    except DatabaseCorrupt as exc:  # DuckDB refuses the file: say which backup to go back to
        from analysis import backups

        print(backups.damaged_message_zh(exc), file=sys.stderr)
        return 4
    except DatabaseLocked as exc:  # the service (or another command) owns the file right now
        if not forwarded and argv[0] not in LOCAL_ONLY:
            from analysis import api

            try:
                return api.forward(_db_of(argv), _absolute_paths(argv))
            except api.ServiceUnavailable:
                pass  # not the service: another command holds the file for a moment
        print(f"数据库正被其他进程占用，请稍后重试（{exc}）", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
