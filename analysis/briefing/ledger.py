"""The 台账 (ledger) exports, every cell passing `neutralise_cell`, and the `brief` and `export` verbs."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import sys
import time
from pathlib import Path

import pandas as pd

from analysis import config, grading, incidents, metrics, settings
from analysis.briefing.content import _clocks, build
from analysis.briefing.model import DEFAULT_UNIT, KINDS
from analysis.briefing.renderers import write
from analysis.config import TIMEZONE
from analysis.exports import safe_frame
from analysis.filters import Filters
from analysis.store import Store, open_store

# -- 台账 exports -----------------------------------------------------------------------------------------------
INCIDENT_HEADERS = {
    "incident_id": "事件编号", "title": "事件名称", "topic": "类别", "region": "地点", "source": "来源",
    "first_seen_at": "首次发现时间", "responsible_unit": "责任单位", "tier_set": "分级体系", "grade": "等级",
    "reasons": "定级依据", "status": "状态", "last_step": "当前环节", "closed_at": "办结时间", "posts": "关联帖子数",
    "channels": "涉及渠道", "deadlines_met": "按时完成时限", "deadlines_missed": "逾期时限",
}
POST_HEADERS = {
    "post_id": "帖子ID", "created_at": "发布时间", "channel": "渠道", "site": "站点", "author_id": "作者",
    "title": "标题", "text": "正文", "url": "链接", "post_type": "类型", "parent_id": "上级帖子",
    "root_id": "源帖", "topic": "话题", "region": "地域", "sentiment_label": "情感倾向",
    "sentiment_score": "正面概率", "repost_count": "转发数", "comment_count": "评论数", "like_count": "点赞数",
    "read_count": "阅读数", "incident_ids": "关联事件",
}
POST_TYPE_ZH = {"original": "原创", "repost": "转发", "comment": "评论"}


def ledger_frames(store: Store, start: dt.date, end: dt.date, as_of: pd.Timestamp | None = None
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(incidents first seen in the range, posts in the range) with Chinese headers, safe to open in Excel."""
    f = Filters(start, end)
    as_of = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.now(tz=TIMEZONE)
    listed = incidents.list_incidents(store)
    listed = listed[(listed["first_seen_at"] >= f.start_ts) & (listed["first_seen_at"] < f.end_ts)].copy()
    events = incidents.events_until(store, as_of)
    met, missed, office = [], [], settings.policy(store)
    for incident in listed.itertuples():
        clocks = _clocks(incident, events, as_of, office)
        met.append(int(clocks["status"].isin(grading.ON_TIME_STATUSES).sum()))
        missed.append(int(clocks["is_overdue"].sum()))
    listed["deadlines_met"], listed["deadlines_missed"] = met, missed
    where, params = f.where("p")
    posts = store.query(
        f"""SELECT p.post_id, p.created_at, p.channel, p.site, p.author_id, p.title, p.text, p.url, p.post_type,
                   p.parent_id, p.root_id, p.topic, p.region, p.sentiment_label, p.sentiment_score,
                   p.repost_count, p.comment_count, p.like_count, p.read_count,
                   (SELECT list(ip.incident_id ORDER BY ip.incident_id) FROM incident_posts ip
                    WHERE ip.post_id = p.post_id) AS incident_ids
            FROM posts p WHERE {where} ORDER BY p.created_at, p.post_id""", params)
    posts["post_type"] = posts["post_type"].map(POST_TYPE_ZH).fillna(posts["post_type"])
    return safe_frame(listed, INCIDENT_HEADERS), safe_frame(posts, POST_HEADERS)


def export_ledger(store: Store, start: dt.date, end: dt.date, out_dir: Path,
                  formats: tuple[str, ...] = ("xlsx", "csv")) -> list[Path]:
    incidents_frame, posts_frame = ledger_frames(store, start, end)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"ledger_{start:%Y%m%d}-{end:%Y%m%d}"
    written = []
    if "xlsx" in formats:
        target = out_dir / f"{stem}.xlsx"
        with pd.ExcelWriter(target, engine="openpyxl") as writer:
            incidents_frame.to_excel(writer, sheet_name="事件台账", index=False)
            posts_frame.to_excel(writer, sheet_name="帖子台账", index=False)
        written.append(target)
    if "csv" in formats:
        for name, frame in (("incidents", incidents_frame), ("posts", posts_frame)):
            target = out_dir / f"{stem}_{name}.csv"
            # BOM: Excel reads the Chinese as UTF-8; QUOTE_ALL: a bare CR inside post text stays inside its cell.
            frame.to_csv(target, index=False, encoding="utf-8-sig", quoting=csv.QUOTE_ALL)
            written.append(target)
    return written


# -- CLI ------------------------------------------------------------------------------------------------------------
def _progress_line(message: str) -> None:
    print(f"… {message}", file=sys.stderr, flush=True)


def _open_store(db: str | None):
    path = config.resolve_db_path(db)
    if not path.exists():
        raise FileNotFoundError(f"数据库不存在：{path}")
    return open_store(path, read_only=True)


def cli_brief(argv: list[str]) -> int:
    """`brief daily|weekly|monthly|incident ID [--date|--week|--month] [--out] [--format] [--db]`."""
    parser = argparse.ArgumentParser(prog="python -m analysis brief", description="生成舆情日志、周报、月报或事件专报")
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("incident_id", nargs="?", help="事件编号（incident 时必填）")
    parser.add_argument("--date", help="日期 YYYY-MM-DD（日志；周报/月报取其所在周/月）")
    parser.add_argument("--week", help="ISO周次，如 2026-W47")
    parser.add_argument("--month", help="月份，如 2026-11")
    parser.add_argument("--out", default="briefings", help="输出目录（默认 briefings）")
    parser.add_argument("--format", default="docx,pdf,png", help="逗号分隔：docx,pdf,png,html")
    parser.add_argument("--unit", default=DEFAULT_UNIT, help="报送单位")
    parser.add_argument("--no-charts", action="store_true", help="不生成图表（更快；文档中注明）")
    parser.add_argument("--db", help=f"数据库文件（默认 ${config.DB_ENV_VAR} 或 data/opinion.duckdb）")
    args = parser.parse_args(argv)
    formats = tuple(dict.fromkeys(x.strip() for x in args.format.split(",") if x.strip()))
    started = time.perf_counter()
    try:
        with _open_store(args.db) as store:
            _progress_line("查询数据")
            briefing = build(store, args.kind, date=args.date, week=args.week, month=args.month,
                             incident_id=args.incident_id, unit=args.unit, progress=_progress_line)
        written = write(briefing, Path(args.out), formats, progress=_progress_line, charts=not args.no_charts)
    except (ValueError, FileNotFoundError) as exc:  # DatabaseLocked: main() runs the verb in the service
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    for warning in briefing.warnings:
        print(f"警告：{warning}", file=sys.stderr)
    for fmt, paths in written.items():
        for path in paths:
            print(f"{fmt}\t{path}")
    timings = briefing.timings
    print(f"{briefing.title} {briefing.code}: {len(briefing.blocks)} blocks, {len(briefing.figures())} figures, "
          f"{len(briefing.appendix)} appendix entries in {time.perf_counter() - started:.1f}s ("
          + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()) + ")", file=sys.stderr)
    optional = {"png"} if args.no_charts or not briefing.figures() else set()
    missing = {f for f in formats if not written.get(f)} - optional
    # Without Chromium the PDF/PNG are missing but DOCX/HTML stand, with the warning above: that is not a failure.
    return 1 if missing - {"pdf", "png"} or not any(written.values()) else 0


def cli_export(argv: list[str]) -> int:
    """`export ledger [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--out DIR] [--format xlsx,csv] [--db DB]`."""
    parser = argparse.ArgumentParser(prog="python -m analysis export", description="导出舆情台账（事件、帖子）")
    parser.add_argument("what", choices=("ledger",))
    parser.add_argument("--from", dest="start", type=dt.date.fromisoformat, help="起始日期（默认截止日前29天）")
    parser.add_argument("--to", dest="end", type=dt.date.fromisoformat, help="截止日期（默认最新有数据的日期）")
    parser.add_argument("--out", default="exports", help="输出目录（默认 exports）")
    parser.add_argument("--format", default="xlsx,csv", help="逗号分隔：xlsx,csv")
    parser.add_argument("--db", help=f"数据库文件（默认 ${config.DB_ENV_VAR} 或 data/opinion.duckdb）")
    args = parser.parse_args(argv)
    formats = tuple(x.strip() for x in args.format.split(",") if x.strip())
    if set(formats) - {"xlsx", "csv"}:
        print(f"错误：未知的格式：{args.format}（可选：xlsx,csv）", file=sys.stderr)
        return 2
    try:
        with _open_store(args.db) as store:
            end = args.end or metrics.latest_day(store) or dt.date.today()
            start = args.start or end - dt.timedelta(days=29)
            if start > end:
                raise ValueError("开始日期不能晚于结束日期")
            _progress_line(f"导出台账 {start} 至 {end}")
            written = export_ledger(store, start, end, Path(args.out), formats)
    except (ValueError, FileNotFoundError) as exc:  # DatabaseLocked: main() runs the verb in the service
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0
