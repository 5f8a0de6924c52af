"""`python -m analysis alerts backtest|run|list|ack|close|rules ...`"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from pathlib import Path

import pandas as pd

from analysis.alerts.engine import run
from analysis.alerts.model import SEVERITIES, STATES, Rule, local_time
from analysis.alerts.registry import KINDS
from analysis.alerts.replay import backtest
from analysis.alerts.state import acknowledge, close, list_alerts
from analysis.alerts.storage import DEFAULT_RULES, install_default_rules, load_rules
from analysis.config import TIMEZONE
from analysis.store import open_store


def _print_table(frame: pd.DataFrame, columns: list[str]) -> None:
    if frame.empty:
        print("（无）")
        return
    for row in frame[columns].itertuples(index=False):
        print("  ".join("" if v is None else str(v) for v in row))


def cli_alerts(argv: list[str]) -> int:
    """`python -m analysis alerts backtest|run|list|ack|close|rules ...`"""
    from analysis import cli, delivery

    common = cli.common_options()
    parser = argparse.ArgumentParser(
        prog="python -m analysis alerts", description="预警规则、运行、回测与处置", parents=[common]
    )
    sub = parser.add_subparsers(dest="action", required=True)

    def add(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, parents=[common])

    bt = add("backtest", "replay rules over history without writing")
    bt.add_argument("--from", dest="start", required=True, help="YYYY-MM-DD (first day)")
    bt.add_argument("--to", dest="end", required=True, help="YYYY-MM-DD (last day, inclusive)")
    bt.add_argument("--step-minutes", type=int, default=60)
    group = bt.add_mutually_exclusive_group()
    group.add_argument("--rule", action="append", help="rule id stored in the database (repeatable)")
    group.add_argument("--rules", type=Path, help="JSON file with a list of rules")
    rn = add("run", "evaluate enabled rules now and store new alerts")
    rn.add_argument("--now", help="ISO time (default: the clock), naive = Asia/Shanghai")
    rn.add_argument("--by", default="system")
    rn.add_argument("--deliver", action="store_true", help="send new alerts to the configured targets")
    ls = add("list", "list alerts")
    ls.add_argument("--state", choices=list(STATES))
    ls.add_argument("--rule")
    ls.add_argument("--since")
    for name in ("ack", "close"):
        p = add(name, f"{name} an alert")
        p.add_argument("alert_id", type=int)
        p.add_argument("--by", default="cli")
        p.add_argument("--note")
    rl = add("rules", "list rules")
    rl.add_argument("--install-defaults", action="store_true", help="add the missing default rules")
    args = parser.parse_args(argv)
    args.json = cli.wants_json(args)

    with open_store(cli.db_path(args)) as store:
        if args.action == "backtest":
            if args.rules:
                try:
                    rules = [Rule.from_dict(r) for r in json.loads(args.rules.read_text(encoding="utf-8"))]
                except (OSError, ValueError, TypeError) as exc:
                    print(f"无法读取规则文件 {args.rules}：{exc}", file=sys.stderr)
                    return 2
            else:
                rules = load_rules(store) or list(DEFAULT_RULES)
                if args.rule:
                    rules = [r for r in rules if r.rule_id in set(args.rule)]
                    missing = set(args.rule) - {r.rule_id for r in rules}
                    if missing:
                        print(f"没有这些规则：{'、'.join(sorted(missing))}", file=sys.stderr)
                        return 2
            try:
                start = pd.Timestamp(args.start, tz=TIMEZONE)
                end = pd.Timestamp(args.end, tz=TIMEZONE) + pd.Timedelta(days=1)
                result = backtest(store, rules, start, end, timedelta(minutes=args.step_minutes))
            except ValueError as exc:
                print(str(exc), file=sys.stderr)
                return 2
            if args.json:
                cli.print_json(result)
            else:
                counts = result.groupby("rule_name").size() if not result.empty else pd.Series(dtype=int)
                for rule in rules:
                    print(f"{rule.rule_id} {rule.name}: {int(counts.get(rule.name, 0))} 条预警")
                _print_table(
                    result.assign(fired_at=result["fired_at"].map(lambda t: f"{t:%Y-%m-%d %H:%M}")),
                    ["fired_at", "rule_id", "subject", "message"],
                )
            return 0
        if args.action == "run":
            errors: list[str] = []
            new = run(store, local_time(args.now) if args.now else None, actor=args.by, errors=errors)
            results = delivery.deliver(new, delivery.load_targets(store)) if args.deliver and new else []
            for line in errors:
                print(line, file=sys.stderr)
            if args.json:
                cli.print_json({"new": [a.as_dict() for a in new], "errors": errors,
                                "delivery": [r.as_dict() for r in results]})
            else:
                print(f"新预警 {len(new)} 条")
                for a in new:
                    print(
                        f"#{a.alert_id} [{SEVERITIES.get(a.severity, a.severity)}] {a.rule_name}：{a.message}"
                    )
                for r in results:
                    print(f"推送 {r.target}：{'成功' if r.ok else '失败 ' + r.error}")
            return 1 if errors else 0
        if args.action == "list":
            try:
                frame = list_alerts(store, state=args.state, since=args.since, rule_id=args.rule)
            except ValueError as exc:
                print(str(exc), file=sys.stderr)
                return 2
            if args.json:
                cli.print_json(frame)
            else:
                _print_table(
                    frame.assign(fired_at=frame["fired_at"].astype(str).str[:16]),
                    ["alert_id", "fired_at", "state", "merged_count", "rule_name", "message"],
                )
            return 0
        if args.action in ("ack", "close"):
            try:
                (acknowledge if args.action == "ack" else close)(store, args.alert_id, args.by, args.note)
            except ValueError as exc:
                print(str(exc), file=sys.stderr)
                return 1
            print(f"预警 {args.alert_id} 已{'确认' if args.action == 'ack' else '关闭'}")
            return 0
        if args.install_defaults:
            print(f"已添加默认规则 {install_default_rules(store, 'cli')} 条", file=sys.stderr)
        rules = load_rules(store)
        if args.json:
            cli.print_json([r.to_dict() for r in rules])
        else:
            for r in rules:
                print(
                    f"{r.rule_id}  {'启用' if r.enabled else '停用'}  {KINDS[r.kind]}  {r.name}  "
                    f"冷却{r.cooldown_minutes}分钟  {json.dumps(r.params, ensure_ascii=False)}"
                )
        return 0
