"""The command line: `python -m analysis VERB ...` (run with -h for the verbs)."""

from __future__ import annotations

import argparse
import json
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
    if args.json:
        print(json.dumps({"db": str(db_path), "files": [s.as_dict() for s in summaries], "total": total},
                         ensure_ascii=False))
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
    with Store(db_path) as store:
        summary = ingest.write_prepared(store, batch)
        incident_ids = demo.load_incidents(store, demo.embedded_incidents(days=args.days, seed=args.seed))
        alert_count = demo.load_alerts(store, frame["created_at"].max().ceil("h"), days=args.days)
    print(f"demo database {db_path}: inserted={summary.inserted} duplicates={summary.duplicates} "
          f"quarantined={summary.quarantined}, incidents={len(incident_ids)}, alerts={alert_count} "
          f"in {time.perf_counter() - started:.1f}s")
    return 0


def cmd_export_parquet(argv: list[str]) -> int:
    from analysis.store import Store

    parser = argparse.ArgumentParser(prog="python -m analysis export-parquet",
                                     description="Export posts as a day-partitioned Parquet dataset.")
    parser.add_argument("directory", type=Path)
    _db_argument(parser)
    args = parser.parse_args(argv)
    with Store(config.resolve_db_path(args.db), read_only=True) as store:
        count = store.export_parquet(args.directory)
    print(f"exported {count} posts of new or changed days to {args.directory} (partitioned by day=YYYY-MM-DD)")
    return 0


def _print_json(payload) -> None:
    print(json.dumps(payload, ensure_ascii=False, default=str))


def cmd_spikes(argv: list[str]) -> int:
    import datetime as dt

    from analysis import metrics, spikes
    from analysis.filters import Filters
    from analysis.store import Store

    parser = argparse.ArgumentParser(prog="python -m analysis spikes",
                                     description="Bursts per topic/channel against their own baseline.")
    _db_argument(parser)
    parser.add_argument("--by", choices=("topic", "channel", "region", "none"), default="topic")
    parser.add_argument("--grain", choices=("hour", "day"), default="hour")
    parser.add_argument("--since", type=dt.date.fromisoformat, help="first day (default: 30 days before --until)")
    parser.add_argument("--until", type=dt.date.fromisoformat, help="last day (default: newest day with posts)")
    parser.add_argument("--json", action="store_true", help="one JSON object per spike and line")
    args = parser.parse_args(argv)
    with Store(config.resolve_db_path(args.db)) as store:
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


def cmd_incidents(argv: list[str]) -> int:
    import pandas as pd

    from analysis import incidents
    from analysis.store import Store

    parser = argparse.ArgumentParser(prog="python -m analysis incidents", description="The incident workflow.")
    _db_argument(parser)
    parser.add_argument("--json", action="store_true")
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("list")
    show = sub.add_parser("show")
    show.add_argument("incident_id")
    event = sub.add_parser("event")
    event.add_argument("incident_id")
    event.add_argument("step", help="、".join((*incidents.LIFECYCLE, incidents.REOPEN)))
    event.add_argument("--note")
    event.add_argument("--at", help="when it happened (ISO time; default now)")
    event.add_argument("--by", default="cli")
    grade = sub.add_parser("grade")
    grade.add_argument("incident_id")
    grade.add_argument("--override", help="set this grade by hand (needs --reason)")
    grade.add_argument("--reason", default="")
    grade.add_argument("--by", default="cli")
    args = parser.parse_args(argv)
    with Store(config.resolve_db_path(args.db)) as store:
        try:
            if args.action == "list":
                listed = incidents.list_incidents(store)
                records = listed.drop(columns=["history"]).to_dict(orient="records")
                if args.json:
                    _print_json(records)
                else:
                    for r in records:
                        print(f"{r['incident_id']}  {r['grade'] or '未定级'}  {r['status']}  {r['title']}  "
                              f"({r['posts']} posts, first seen {r['first_seen_at']:%Y-%m-%d %H:%M})")
            elif args.action == "show":
                report = _incident_report(store, args.incident_id)
                if args.json:
                    _print_json(report)
                else:
                    print(json.dumps(report, ensure_ascii=False, indent=2, default=str))
            elif args.action == "event":
                at = pd.Timestamp(args.at) if args.at else None
                incidents.add_event(store, args.incident_id, args.step, args.by, at=at, note=args.note)
                print(f"recorded {args.step} for {args.incident_id}")
            elif args.override:
                incidents.override_grade(store, args.incident_id, args.override, args.reason, args.by)
                print(f"{args.incident_id} set to {args.override} by {args.by}")
            else:
                result = incidents.grade_incident(store, args.incident_id, actor=args.by)
                if args.json:
                    _print_json({"grade": result.grade, "tier_set": result.tier_set, "reasons": result.reasons})
                else:
                    print(f"{args.incident_id}: {result.grade} — {'；'.join(result.reasons)}")
        except ValueError as exc:  # LifecycleError included: the message is the reason, in Chinese
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return 0


def _incident_report(store, incident_id: str) -> dict:
    from analysis import incidents

    listed = incidents.list_incidents(store).set_index("incident_id")
    if incident_id not in listed.index:
        raise ValueError(f"事件不存在：{incident_id}")
    row = listed.loc[incident_id]
    clocks = incidents.deadline_clocks(store)
    return {
        "incident_id": incident_id, "title": row["title"], "grade": row["grade"], "status": row["status"],
        "reasons": row["reasons"],
        "events": incidents.events(store, incident_id).to_dict(orient="records"),
        "deadlines": clocks[clocks["incident_id"] == incident_id].to_dict(orient="records"),
        "posts": int(row["posts"]),
    }


def _delegate(module: str, function: str):
    """Verbs whose handler lives beside the logic it drives (imported only when used)."""
    def run(argv: list[str]) -> int:
        import importlib

        return getattr(importlib.import_module(module), function)(argv)
    return run


VERBS = {
    "ingest": cmd_ingest,
    "demo": cmd_demo,
    "score": _delegate("analysis.sentiment", "cli_score"),
    "sentiment-eval": _delegate("analysis.sentiment", "cli_sentiment_eval"),
    "cascades": _delegate("analysis.cascades", "cli_cascades"),
    "spikes": cmd_spikes,
    "export-parquet": cmd_export_parquet,
    "rollup": _delegate("analysis.rollup", "cli_rollup"),
    "incidents": cmd_incidents,
    "alerts": _delegate("analysis.alerts", "cli_alerts"),
    "retrain": _delegate("analysis.corrections", "cli_retrain"),
    "users": _delegate("analysis.access", "cli_users"),
    "brief": _delegate("analysis.briefing", "cli_brief"),
    "export": _delegate("analysis.briefing", "cli_export"),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not argv or argv[0] not in VERBS:
        print("usage: python -m analysis {" + ",".join(VERBS) + "} ...", file=sys.stderr)
        return 2
    from analysis.store import DatabaseLocked

    try:
        return VERBS[argv[0]](argv[1:])
    except DatabaseLocked as exc:  # the dashboard (or another command) owns the file right now
        print(f"数据库正被其他进程占用，请稍后重试（{exc}）", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
