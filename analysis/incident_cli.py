"""`python -m analysis incidents ...`: the incident workflow from the command line.

Options may come before or after the sub-command (`incidents --json list` and `incidents list --json` are the
same). JSON output never holds "NaT"/"NaN": a missing value is null.
"""

from __future__ import annotations

import argparse
import json
import sys

import pandas as pd

from analysis import cli, config


def _ids(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").replace("，", ",").split(",") if part.strip()]


def _parser() -> argparse.ArgumentParser:
    from analysis import incident_edits, incidents

    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: an option given after the sub-command overrides the one before it, and absence changes nothing.
    common.add_argument("--db", default=argparse.SUPPRESS,
                        help=f"database file (default ${config.DB_ENV_VAR} or data/opinion.duckdb)")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    common.add_argument("--by", default=argparse.SUPPRESS, help="who acts (audit log; default cli)")
    parser = argparse.ArgumentParser(prog="python -m analysis incidents", description="The incident workflow.",
                                     parents=[common])
    sub = parser.add_subparsers(dest="action", required=True)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, parents=[common])

    add("list", "all incidents, newest first")
    add("show", "one incident: grade, reasons, deadlines, events, work fields, 事件脉络").add_argument("incident_id")
    event = add("event", "record a lifecycle step")
    event.add_argument("incident_id")
    event.add_argument("step", help="、".join((*incidents.LIFECYCLE, incidents.REOPEN)))
    event.add_argument("--note")
    event.add_argument("--at", help="when it happened (ISO time; default now)")
    grade = add("grade", "grade by the rules, or --override by hand")
    grade.add_argument("incident_id")
    grade.add_argument("--override", help="set this grade by hand (needs --reason)")
    grade.add_argument("--reason", default="")
    opening = add("open", "open an incident (graded at once, clocks started)")
    source = opening.add_mutually_exclusive_group(required=True)
    source.add_argument("--from-alert", type=int, metavar="ALERT_ID", help="the posts behind an alert")
    source.add_argument("--posts", help="post ids, comma-separated")
    source.add_argument("--tickets", help="hotline/mailbox/留言 ticket ids, comma-separated")
    source.add_argument("--ticket-keyword", help="every ticket whose text holds this word (with --since/--until)")
    source.add_argument("--from-spike", metavar="KEY", help="a spike's topic/channel/region (with --start/--end)")
    opening.add_argument("--title")
    opening.add_argument("--unit", help="承办单位")
    opening.add_argument("--found-at", help="when it was found, for an incident recorded after the fact (ISO time; "
                                            "default now): its clocks run from then (with --posts)")
    opening.add_argument("--spike-by", choices=("topic", "channel", "region"), default="topic")
    opening.add_argument("--start", help="spike window start (ISO time)")
    opening.add_argument("--end", help="spike window end (ISO time)")
    opening.add_argument("--since", help="tickets from (ISO date/time)")
    opening.add_argument("--until", help="tickets before (ISO date/time)")
    for name, text in (("propose", "propose 待确认 incidents for new alerts (what the tick runs)"),
                       ("grow", "let open incidents take their new matching posts (what the tick runs)")):
        add(name, text).add_argument("--now", help="ISO time (default: the clock)")
    for name in ("add-posts", "remove-posts"):
        edit = add(name, f"{name.split('-')[0]} posts")
        edit.add_argument("incident_id")
        edit.add_argument("--posts", required=True, help="post ids, comma-separated")
        edit.add_argument("--reason", default="")
    merge = add("merge", "merge SOURCE into TARGET (both histories kept)")
    merge.add_argument("source_id")
    merge.add_argument("target_id")
    merge.add_argument("--reason", default="")
    for name, text in (("dismiss", "误报: stop the incident, with a reason"),
                       ("close", "办结/化解 with a reason")):
        p = add(name, text)
        p.add_argument("incident_id")
        p.add_argument("--reason", required=True)
    confirm = add("confirm", "confirm a 待确认 proposal")
    confirm.add_argument("incident_id")
    confirm.add_argument("--note")
    work = add("work", "set the 专报's work fields")
    work.add_argument("incident_id")
    work.add_argument("--unit", help="承办单位")
    work.add_argument("--instruction", help="领导批示")
    work.add_argument("--instruction-by", help="批示领导")
    work.add_argument("--instruction-at", help="批示时间 (ISO; default now)")
    work.add_argument("--response-url", help="公开回应链接")
    work.add_argument("--response-channel", help="公开回应渠道")
    work.add_argument("--fact", action="append", default=[], metavar="栏目=内容",
                      help=f"基本情况 ({'/'.join(incident_edits.FACT_FIELDS)}), repeatable")
    return parser


def report(store, incident_id: str, now: pd.Timestamp | None = None) -> dict:
    """One incident as `show` prints it; `deadlines` are the incident page's rows, done and open."""
    from analysis import chronology, incident_edits, incidents, settings

    now = now if now is not None else pd.Timestamp.now(tz=config.TIMEZONE)
    row = incidents.listed_incident(store, incident_id)
    events = incidents.events(store, incident_id)
    office = settings.policy(store)
    clocks = incidents.incident_clocks(row, events, now, office.deadlines)
    posts = incidents.incident_posts(store, incident_id)
    return {
        "incident_id": incident_id, "title": row["title"], "grade": row["grade"], "status": row["status"],
        "state": row["state"], "state_reason": row["state_reason"], "merged_into": row["merged_into"],
        "topic": row["topic"], "first_seen_at": row["first_seen_at"], "reasons": list(row["reasons"]),
        "events": events, "deadlines": clocks, "posts": int(row["posts"]),
        "work": incident_edits.work_fields(store, incident_id),
        "chronology": chronology.chronology(posts, office.mainstream_sites, settings.media_directory(store)),
    }


def _opened(args, store, intake) -> object:
    if args.from_alert is not None:
        return intake.open_from_alert(store, args.from_alert, args.by, title=args.title)
    if args.from_spike is not None:
        if not (args.start and args.end):
            raise ValueError("--from-spike 须同时给出 --start 与 --end")
        return intake.open_from_spike(store, args.spike_by, args.from_spike, args.start, args.end, args.by,
                                      title=args.title)
    if not args.title:
        raise ValueError("请用 --title 给出事件标题")
    if args.posts:
        return intake.open_from_posts(store, args.title, _ids(args.posts), args.by, responsible_unit=args.unit,
                                      found_at=args.found_at)
    ids = _ids(args.tickets) if args.tickets else intake.ticket_posts(
        store, args.ticket_keyword, pd.Timestamp(args.since) if args.since else None,
        pd.Timestamp(args.until) if args.until else None)["post_id"].tolist()
    return intake.open_from_tickets(store, args.title, ids, args.by, responsible_unit=args.unit)


def _facts(pairs: list[str]) -> dict[str, str] | None:
    if not pairs:
        return None
    facts = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"--fact 须写成 栏目=内容：{pair}")
        facts[name.strip()] = value
    return facts


def cli_incidents(argv: list[str]) -> int:
    from analysis import incident_edits, incident_intake, incidents
    from analysis.store import open_store

    args = _parser().parse_args(argv)
    args.db, args.json, args.by = getattr(args, "db", None), getattr(args, "json", False), getattr(args, "by", "cli")
    with open_store(config.resolve_db_path(args.db)) as store:
        try:
            out = _run(args, store, incidents, incident_intake, incident_edits)
        except ValueError as exc:  # LifecycleError included: the message is the reason, in Chinese
            print(f"error: {exc}", file=sys.stderr)
            return 1
    if args.json:
        cli.print_json(out["json"])
    else:
        print(out["text"])
    return 0


def _run(args, store, incidents, intake, edits) -> dict:
    action = args.action
    if action == "list":
        listed = incidents.list_incidents(store).drop(columns=["history"])
        lines = [f"{r.incident_id}  {r.grade or '未定级'}  {r.status}  {r.title}  ({r.posts} posts, first seen "
                 f"{r.first_seen_at:%Y-%m-%d %H:%M})" for r in listed.itertuples()]
        return {"json": listed, "text": "\n".join(lines) or "（尚无事件）"}
    if action == "show":
        shown = report(store, args.incident_id)
        return {"json": shown, "text": json.dumps(cli.jsonable(shown), ensure_ascii=False, indent=2)}
    if action == "event":
        at = pd.Timestamp(args.at) if args.at else None
        incidents.add_event(store, args.incident_id, args.step, args.by, at=at, note=args.note)
        return {"json": {"incident_id": args.incident_id, "step": args.step},
                "text": f"recorded {args.step} for {args.incident_id}"}
    if action == "grade":
        if args.override:
            incidents.override_grade(store, args.incident_id, args.override, args.reason, args.by)
            return {"json": {"incident_id": args.incident_id, "grade": args.override},
                    "text": f"{args.incident_id} set to {args.override} by {args.by}"}
        result = incidents.grade_incident(store, args.incident_id, actor=args.by)
        return {"json": {"grade": result.grade, "tier_set": result.tier_set, "reasons": result.reasons},
                "text": f"{args.incident_id}: {result.grade} — {'；'.join(result.reasons)}"}
    if action == "open":
        opened = _opened(args, store, intake)
        shown = report(store, opened.incident_id)
        return {"json": shown, "text": f"opened {opened.incident_id}: {opened.grade.grade} — "
                                       f"{'；'.join(opened.grade.reasons)} ({opened.posts} posts)"}
    if action in ("propose", "grow"):
        now = pd.Timestamp(args.now) if args.now else None
        done = (intake.propose_incidents if action == "propose" else intake.grow_incidents)(store, now, args.by)
        summary = {"proposed": done.proposed, "attached": done.attached, "grown": done.grown}
        return {"json": summary, "text": f"proposed={len(done.proposed)} attached={len(done.attached)} "
                                         f"grown={len(done.grown)}"}
    if action in ("add-posts", "remove-posts"):
        if action == "add-posts":
            count = edits.add_posts(store, args.incident_id, _ids(args.posts), args.by)
        else:
            count = edits.remove_posts(store, args.incident_id, _ids(args.posts), args.by, args.reason)
        return {"json": {"incident_id": args.incident_id, "changed": count},
                "text": f"{args.incident_id}: {count} posts {'added' if action == 'add-posts' else 'removed'}"}
    if action == "merge":
        count = edits.merge(store, args.source_id, args.target_id, args.by, args.reason)
        return {"json": {"source": args.source_id, "target": args.target_id, "posts": count},
                "text": f"merged {args.source_id} into {args.target_id} ({count} posts joined)"}
    if action in ("dismiss", "close"):
        (edits.dismiss if action == "dismiss" else edits.close)(store, args.incident_id, args.reason, args.by)
        return {"json": {"incident_id": args.incident_id, "action": action}, "text": f"{action}ed {args.incident_id}"}
    if action == "confirm":
        edits.confirm(store, args.incident_id, args.by, args.note)
        return {"json": {"incident_id": args.incident_id, "action": action},
                "text": f"confirmed {args.incident_id}"}
    changed = edits.set_work_fields(
        store, args.incident_id, args.by, responsible_unit=args.unit, instruction=args.instruction,
        instruction_by=args.instruction_by, instruction_at=pd.Timestamp(args.instruction_at)
        if args.instruction_at else None, response_url=args.response_url, response_channel=args.response_channel,
        facts=_facts(args.fact))
    return {"json": {"incident_id": args.incident_id, "changed": sorted(changed)},
            "text": f"{args.incident_id}: updated {'、'.join(changed) or 'nothing'}"}
