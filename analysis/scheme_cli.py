"""`python -m analysis schemes {test,add,list,remove}`: monitoring schemes from the command line."""

from __future__ import annotations

import argparse
import sys

from analysis import cli, schemes
from analysis.store import open_store


def _parser() -> argparse.ArgumentParser:
    common = cli.common_options()
    parser = argparse.ArgumentParser(prog="python -m analysis schemes", parents=[common],
                                     description="Monitoring schemes (监测方案): keyword expressions that tag posts.")
    verbs = parser.add_subparsers(dest="verb", required=True)
    test = verbs.add_parser("test", parents=[common], help="preview an expression on all stored posts")
    add = verbs.add_parser("add", parents=[common], help="add or replace a scheme and re-tag the stored posts")
    for sub in (test, add):
        sub.add_argument("--expr", required=True, help="e.g. 学校+食堂|过期+肉 (+ AND, | OR, - NOT)")
        sub.add_argument("--scope", choices=tuple(schemes.SCOPES), default="both", help="match title, text or both")
        sub.add_argument("--channels", help="only these channels, separated by commas")
    add.add_argument("name")
    add.add_argument("--owner", help="who the scheme belongs to (default: --actor)")
    add.add_argument("--actor", default="命令行", help="recorded in the audit log")
    verbs.add_parser("list", parents=[common], help="the schemes, in order")
    remove = verbs.add_parser("remove", parents=[common], help="delete a scheme and re-tag the stored posts")
    remove.add_argument("name")
    remove.add_argument("--actor", default="命令行")
    return parser


def _scheme(args: argparse.Namespace, name: str) -> schemes.Scheme:
    channels = tuple(c.strip() for c in (args.channels or "").replace("，", ",").split(",") if c.strip())
    return schemes.Scheme(name, args.expr, args.scope, channels, getattr(args, "owner", None) or "")


def cli_schemes(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    as_json = cli.wants_json(args)
    try:
        with open_store(cli.db_path(args), read_only=args.verb in ("test", "list")) as store:
            if args.verb == "test":
                result = schemes.preview(store, _scheme(args, "预览"))
            elif args.verb == "add":
                scheme = _scheme(args, args.name)
                retagged = schemes.save(store, scheme, args.actor)
                result = {"saved": schemes.get(store, scheme.name.strip()).as_dict(), "retagged": retagged}
            elif args.verb == "list":
                result = [s.as_dict() for s in schemes.load(store)]
            else:
                result = {"removed": args.name, "retagged": schemes.remove(store, args.name, args.actor)}
    except (ValueError, KeyError) as exc:
        print(f"错误：{exc.args[0] if isinstance(exc, KeyError) else exc}", file=sys.stderr)
        return 2
    if as_json:
        cli.print_json(result)
    elif args.verb == "test":
        days = ", ".join(f"{day[5:]}:{n}" for day, n in result["by_day"].items() if n)
        print(f"命中 {result['hits']} 条；近 {len(result['by_day'])} 天：{days or '无'}")
        for post in result["sample"]:
            print(f"  {post['created_at']:%Y-%m-%d %H:%M} [{post['channel']}/{post['site'] or ''}] {post['text'][:60]}")
    elif args.verb == "list":
        for s in result:
            channels = f" 渠道={'、'.join(s['channels'])}" if s["channels"] else ""
            print(f"{s['name']}: {s['expression']} （{schemes.SCOPES[s['scope']]}{channels}，{s['owner']}）")
    else:
        print(f"{'已保存' if args.verb == 'add' else '已删除'}“{args.name}”，重新标注 {result['retagged']} 条帖子")
    return 0
