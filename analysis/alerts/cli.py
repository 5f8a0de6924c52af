"""`python -m analysis alerts backtest|run|list|ack|close|rules ...`"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from datetime import timedelta
from pathlib import Path

import pandas as pd

from analysis.alerts.engine import run
from analysis.alerts.forms import new_rule_id
from analysis.alerts.model import SEVERITIES, STATES, Rule
from analysis.alerts.registry import KINDS, REGISTRY
from analysis.alerts.replay import backtest
from analysis.alerts.state import acknowledge, close, list_alerts
from analysis.alerts.storage import (
    DEFAULT_RULES,
    delete_rule,
    get_rule,
    install_default_rules,
    load_rules,
    save_rule,
    set_rule_enabled,
)
from analysis.config import TIMEZONE, local_time
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
    rl = add("rules", "list, add, edit, enable, disable or delete rules")
    rl.add_argument("rule_action", nargs="?", default="list", choices=RULE_ACTIONS)
    rl.add_argument("rule_id", nargs="?", help="the rule (edit/enable/disable/delete; add: optional)")
    rl.add_argument("--kind", choices=list(REGISTRY), help="add: the rule kind")
    rl.add_argument("--name", help="add/edit: the rule's (Chinese) name")
    rl.add_argument("--params", help="add/edit: the params as a JSON object (edit: keys given replace those stored)")
    rl.add_argument("--cooldown", type=int, help="add/edit: cooldown in minutes")
    rl.add_argument("--disabled", action="store_true", help="add: store the rule disabled")
    rl.add_argument("--by", default="cli")
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
                    print(f"{rule.name}（{rule.rule_id}）：{int(counts.get(rule.name, 0))} 条预警")
                _print_table(
                    result.assign(fired_at=result["fired_at"].map(lambda t: f"{t:%Y-%m-%d %H:%M}")),
                    ["fired_at", "rule_name", "subject", "message"],
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
                    if "explanation" in a.details:
                        print(f"    成因：{a.details['explanation']['summary']}")
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
        return _rules(store, args)


RULE_ACTIONS = ("list", "add", "edit", "enable", "disable", "delete")


def _rules(store, args) -> int:
    """`alerts rules [list|add|edit|enable|disable|delete] [RULE_ID] ...`: prints the rule(s) as JSON with --json."""
    from analysis import cli

    if args.install_defaults:
        print(f"已添加默认规则 {install_default_rules(store, 'cli')} 条", file=sys.stderr)
    action = args.rule_action
    if action == "list":
        rules = load_rules(store)
        if args.json:
            cli.print_json([r.to_dict() for r in rules])
        else:
            for r in rules:
                print(f"{r.rule_id}  {'启用' if r.enabled else '停用'}  {KINDS[r.kind]}  {r.name}  "
                      f"冷却{r.cooldown_minutes}分钟  {json.dumps(r.params, ensure_ascii=False)}")
        return 0
    try:
        params = json.loads(args.params) if args.params else {}
    except json.JSONDecodeError as exc:
        print(f"参数（--params）不是有效的 JSON：第{exc.lineno}行第{exc.colno}列", file=sys.stderr)
        return 2
    if not isinstance(params, dict):
        print("参数（--params）必须是 JSON 对象", file=sys.stderr)
        return 2
    if action == "add":
        if not args.kind or not args.name:
            print(f"新建规则需要 --kind（{'、'.join(KINDS)}）和 --name", file=sys.stderr)
            return 2
        rule = Rule(args.rule_id or new_rule_id(store, args.kind), args.name, args.kind, params, not args.disabled,
                    60 if args.cooldown is None else args.cooldown)
        if get_rule(store, rule.rule_id) is not None:
            print(f"规则 {rule.rule_id} 已存在，修改请用 edit", file=sys.stderr)
            return 2
    else:
        rule = get_rule(store, args.rule_id) if args.rule_id else None
        if rule is None:
            print(f"没有规则：{args.rule_id or '（未给出规则编号）'}", file=sys.stderr)
            return 2
    if action == "delete":
        delete_rule(store, rule.rule_id, args.by)
        print(json.dumps({"deleted": rule.rule_id, "name": rule.name}, ensure_ascii=False) if args.json
              else f"已删除规则“{rule.name}”（{rule.rule_id}）")
        return 0
    if action in ("enable", "disable"):
        set_rule_enabled(store, rule.rule_id, action == "enable", args.by)
    else:
        if action == "edit":
            rule = dataclasses.replace(rule, name=args.name or rule.name, params={**rule.params, **params},
                                       cooldown_minutes=rule.cooldown_minutes if args.cooldown is None
                                       else args.cooldown)
        try:
            save_rule(store, rule, args.by)
        except ValueError as exc:
            print(str(exc), file=sys.stderr)
            return 2
    saved = get_rule(store, rule.rule_id)
    if args.json:
        cli.print_json(saved.to_dict())
    else:
        print(f"规则“{saved.name}”（{saved.rule_id}）已{'启用' if saved.enabled else '停用'}，"
              f"{json.dumps(saved.params, ensure_ascii=False)}")
    return 0
