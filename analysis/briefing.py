"""Briefings (舆情日志/周报/月报/专报) as a document model from the analysis functions, rendered to DOCX/PDF/PNG/HTML.

Every sentence is a template filled with measured values; nothing is generated. Every number points to an
appendix entry (附1, 附2 …) that states the query filters and lists the posts behind it, so a reader can
trace any figure back to posts. The same model renders to every format:

- DOCX through python-docx (charts embedded as PNG);
- HTML (all text escaped: post text is never trusted) and PDF printed from that HTML by headless Chromium;
- PNG charts through kaleido driving the system Chromium (never a downloaded browser).

When Chromium is missing the DOCX and HTML are still written, without charts, with a visible warning.
The 台账 (ledger) exports live here too; every exported cell passes `neutralise_cell`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import concurrent.futures
import csv
import datetime as dt
import html
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from analysis import cascades, charts, chronology, config, incident_edits, incidents, media, metrics, opinions, settings
from analysis import wordcloud as cloud
from analysis.config import TIMEZONE
from analysis.exports import CONTROL_CHARS, safe_frame
from analysis.filters import Filters
from analysis.store import Store, open_store

CHROMIUM_ENV_VAR = "OPINION_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
DEFAULT_UNIT = "舆情监测中心"
KINDS = ("daily", "weekly", "monthly", "incident")
FORMATS = ("docx", "pdf", "png", "html")
KIND_TITLES = {"daily": "舆情日志", "weekly": "舆情周报", "monthly": "舆情月报"}
PERIOD_WORDS = {"daily": ("本日", "前一日"), "weekly": ("本周", "上周"), "monthly": ("本月", "上月")}
PENDING = "待核实"
NUMERALS = (*"一二三四五六七八九十", "十一", "十二", "十三", "十四", "十五")
# Reference targets from the work system (DESIGN.md); shown beside the measured KPI, never used to score.
KPI_TARGETS = {"resolution_rate": "≥90%", "reply_rate": "100%", "mean_response_hours": "≤24小时"}
MEDIA_CHANNELS = frozenset({"新闻", "门户网站", "传统媒体", "境外媒体", "新闻跟帖"})
Progress = Callable[[str], None]


# -- the document model --------------------------------------------------------------------------------------
@dataclass
class Heading:
    text: str
    level: int = 1


@dataclass
class Paragraph:
    text: str
    style: str = "body"          # body | note | warning


@dataclass
class Table:
    columns: list[str]
    rows: list[list]
    caption: str = ""
    key: str = ""                # stable id so tests and readers can find a table


@dataclass
class Figure:
    key: str
    figure: go.Figure
    caption: str


@dataclass
class AppendixEntry:
    ref: str                      # 附1, 附2 …
    title: str
    filters: list[tuple[str, str]]
    posts: pd.DataFrame
    total_posts: int | None = None


@dataclass
class Briefing:
    kind: str
    title: str
    issue: str
    unit: str
    period_label: str
    code: str                      # 2026-W47, 2026-11-22, 2026-11, INC-…
    generated_at: pd.Timestamp
    blocks: list = field(default_factory=list)
    appendix: list[AppendixEntry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)   # seconds per rendering step, filled by write()

    def figures(self) -> list[Figure]:
        return [b for b in self.blocks if isinstance(b, Figure)]

    def table(self, key: str) -> Table:
        return next(b for b in self.blocks if isinstance(b, Table) and b.key == key)

    @property
    def stem(self) -> str:
        return re.sub(r"[^0-9A-Za-z_.-]", "_", f"{self.kind}_{self.code}")


class _Doc:
    """Collects blocks with numbered sections (一、二、…), figures (图1…) and appendix refs (附1…)."""

    def __init__(self, briefing: Briefing):
        self.b = briefing
        self.sections = 0
        self.figures = 0

    def section(self, text: str) -> None:
        self.b.blocks.append(Heading(f"{NUMERALS[self.sections]}、{text}", 1))
        self.sections += 1

    def sub(self, text: str) -> None:
        self.b.blocks.append(Heading(text, 2))

    def para(self, text: str, style: str = "body") -> None:
        self.b.blocks.append(Paragraph(text, style))

    def table(self, columns: list[str], rows: list[list], caption: str = "", key: str = "") -> None:
        self.b.blocks.append(Table(columns, rows, caption, key))

    def figure(self, key: str, fig: go.Figure, caption: str, date_ticks: str | None = None) -> None:
        if date_ticks:  # one format for the whole document, in place of the charts' per-zoom-level formats
            fig.update_xaxes(tickformat=date_ticks, tickformatstops=[])
        self.figures += 1
        self.b.blocks.append(Figure(key, fig, f"图{self.figures} {caption}"))

    def appendix(self, title: str, filters: list[tuple[str, str]], posts: pd.DataFrame,
                 total_posts: int | None = None) -> str:
        ref = f"附{len(self.b.appendix) + 1}"
        self.b.appendix.append(AppendixEntry(ref, title, filters, posts, total_posts))
        return ref


# -- periods ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Period:
    kind: str
    code: str
    start: dt.date
    end: dt.date                  # inclusive
    previous_start: dt.date
    previous_end: dt.date

    @property
    def filters(self) -> Filters:
        return Filters(self.start, self.end, grain="hour" if self.kind == "daily" else "day")

    @property
    def previous_filters(self) -> Filters:
        return Filters(self.previous_start, self.previous_end, grain=self.filters.grain)

    @property
    def label(self) -> str:
        if self.kind == "daily":
            return _cn_date(self.start)
        if self.kind == "monthly":
            return f"{self.start.year}年{self.start.month}月（{_cn_date(self.start)}至{_cn_date(self.end, False)}）"
        year, week, _ = self.start.isocalendar()
        return f"{year}年第{week}周（{_cn_date(self.start)}至{_cn_date(self.end, False)}）"

    @property
    def issue(self) -> str:
        if self.kind == "daily":
            return f"{self.start.year}年第{self.start.timetuple().tm_yday}期"
        if self.kind == "monthly":
            return f"{self.start.year}年第{self.start.month}期"
        year, week, _ = self.start.isocalendar()
        return f"{year}年第{week}期"


def _cn_date(day: dt.date, with_year: bool = True) -> str:
    return (f"{day.year}年" if with_year else "") + f"{day.month}月{day.day}日"


def day_period(day: dt.date) -> Period:
    before = day - dt.timedelta(days=1)
    return Period("daily", day.isoformat(), day, day, before, before)


def week_period(code: str) -> Period:
    """ISO week '2026-W47': Monday to Sunday in Asia/Shanghai."""
    match = re.fullmatch(r"(\d{4})-?W(\d{1,2})", code.strip().upper())
    if not match:
        raise ValueError(f"周次格式应为 2026-W47：{code}")
    try:
        monday = dt.date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError as exc:
        raise ValueError(f"不存在的周次：{code}") from exc
    return _week_of(monday)


def _week_of(day: dt.date) -> Period:
    monday = day - dt.timedelta(days=day.weekday())
    year, week, _ = monday.isocalendar()
    return Period("weekly", f"{year}-W{week:02d}", monday, monday + dt.timedelta(days=6),
                  monday - dt.timedelta(days=7), monday - dt.timedelta(days=1))


def month_period(code: str) -> Period:
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", code.strip())
    if not match or not 1 <= int(match[2]) <= 12:
        raise ValueError(f"月份格式应为 2026-11：{code}")
    return _month_of(dt.date(int(match[1]), int(match[2]), 1))


def _month_of(day: dt.date) -> Period:
    first = day.replace(day=1)
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    previous_last = first - dt.timedelta(days=1)
    return Period("monthly", f"{first:%Y-%m}", first, last, previous_last.replace(day=1), previous_last)


def default_period(store: Store, kind: str, now: pd.Timestamp | None = None) -> Period:
    """The latest day that has posts; for a week or month the latest *complete* one that has posts.

    A week or month still running is briefed only on request (`--week`/`--month`/`--date`), and is then compared
    with the same elapsed hours of the period before (see `build_period`)."""
    latest = metrics.latest_day(store)
    if latest is None:
        raise ValueError("数据库中没有帖子，无法生成报告")
    if kind == "daily":
        return day_period(latest)
    period_of = {"weekly": _week_of, "monthly": _month_of}[kind]
    period = period_of(latest)
    if period.filters.end_ts > (now if now is not None else pd.Timestamp.now(tz=TIMEZONE)):
        period = period_of(period.start - dt.timedelta(days=1))
    return period


# -- small formatting helpers ---------------------------------------------------------------------------------
def _int(value) -> int:
    return 0 if value is None or pd.isna(value) else int(value)


def _pct(value, digits: int = 1) -> str:
    return "—" if value is None or pd.isna(value) else f"{value * 100:.{digits}f}%"


def _count_change(now, before) -> str:
    now, before = _int(now), _int(before)
    if before == 0:
        return "上期无数据" if now else "持平"
    change = now / before - 1
    if abs(change) < 0.0005:
        return "持平"
    return f"{'增长' if change > 0 else '下降'}{abs(change) * 100:.1f}%"


def _points_change(now, before) -> str:
    if now is None or before is None or pd.isna(now) or pd.isna(before):
        return "无可比数据"
    delta = (now - before) * 100
    if abs(delta) < 0.05:
        return "持平"
    return f"{'上升' if delta > 0 else '下降'}{abs(delta):.1f}个百分点"


def _ts(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None or pd.isna(value):
        return "—"
    return pd.Timestamp(value).tz_convert(TIMEZONE).strftime(fmt)


def _clip(text, limit: int = 60) -> str:
    text = "" if text is None or (not isinstance(text, str) and pd.isna(text)) else str(text)
    text = CONTROL_CHARS.sub("", " ".join(text.split()))
    return text if len(text) <= limit else text[:limit] + "…"


def _hours(value) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:.1f}小时"


def _describe(f: Filters, extra: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    rows = [
        ("时间范围", f"{f.start_ts:%Y-%m-%d %H:%M} 至 {f.end_ts:%Y-%m-%d %H:%M}（北京时间，含起不含止）"),
        ("渠道", "、".join(f.channels) or "全部"),
        ("话题", "、".join(f.topics) or "全部"),
        ("地域", "、".join(f.regions) or "全部"),
    ]
    return rows + (extra or [])


POST_LIST_COLUMNS = ["post_id", "created_at", "channel", "site", "title", "text", "url", "sentiment_label",
                     "repost_count", "comment_count", "like_count"]


def top_posts(store: Store, f: Filters, limit: int = 10, extra_sql: str = "", extra_params: list | None = None,
              order: str = "interactions DESC") -> pd.DataFrame:
    """The posts behind a number: most interactions first (ties: earliest, then id)."""
    where, params = f.where()
    return store.query(
        f"""SELECT {', '.join(POST_LIST_COLUMNS)}, repost_count + comment_count + like_count AS interactions
            FROM posts WHERE {where} {extra_sql}
            ORDER BY {order}, created_at, post_id LIMIT ?""",
        [*params, *(extra_params or []), limit],
    )


# -- period briefings (daily / weekly / monthly) ---------------------------------------------------------------
def build_period(store: Store, period: Period, unit: str = DEFAULT_UNIT, as_of: pd.Timestamp | None = None,
                 progress: Progress | None = None) -> Briefing:
    """舆情日志 / 周报 / 月报 for one period, compared with the period before."""
    say = progress or (lambda _message: None)
    f, prev = period.filters, period.previous_filters
    now = pd.Timestamp.now(tz=TIMEZONE)
    as_of = pd.Timestamp(as_of) if as_of is not None else min(now, f.end_ts)
    b = Briefing(period.kind, KIND_TITLES[period.kind], period.issue, unit, period.label, period.code, now)
    doc = _Doc(b)
    this, last = PERIOD_WORDS[period.kind]
    if as_of < f.end_ts:  # a period still running: like with like, the same elapsed hours of the period before
        prev = replace(prev, until=min(prev.end_ts, prev.start_ts + (as_of - f.start_ts)))
        f = replace(f, until=as_of)
        doc.para(f"注：本期尚未结束，统计截至{_ts(as_of)}；{last}按相同时长统计（截至{_ts(prev.end_ts)}）"
                 "后比较。", "warning")
    say("总体态势")
    _overview(store, doc, f, prev, this, last)
    say("舆情事件")
    _incident_section(store, doc, f, as_of, this)
    say("热点话题")
    _topic_section(store, doc, f, prev, this, last, period.kind)
    _channel_section(store, doc, f, this)
    say("网民主要观点")
    _opinion_section(store, doc, opinions.for_filters(store, f), this,
                     cloud.filter_terms(store, f))
    _media_section(doc, media.tiered_posts(store, f, settings.media_directory(store)), this)
    say("传播分析")
    _cascade_section(store, doc, f, this)
    say("预警与考核")
    _alert_section(store, doc, f, this)
    _kpi_section(store, doc, f, as_of, this)
    _notes_section(store, doc, f, as_of)
    return b


def _overview(store: Store, doc: _Doc, f: Filters, prev: Filters, this: str, last: str) -> None:
    now, before = metrics.headline(store, f).current, metrics.headline(store, prev).current
    posts = _int(now["posts"])
    ref = doc.appendix(f"{this}信息总量及负面信息（按互动量排序的前10条帖子）", _describe(
        f, [("口径", "信息总量=时间范围内全部帖子（含原创、转发、评论/跟帖）；负面=情感标签为“负面”；"
                    "互动量=转发+评论+点赞")]), top_posts(store, f), posts)
    neg_ref = doc.appendix(f"{this}负面信息（按互动量排序的前10条）", _describe(f, [("情感", "负面")]),
                           top_posts(store, f, extra_sql="AND sentiment_label = ?", extra_params=["负面"]),
                           _int(now["negative"]))
    doc.section("总体态势")
    if posts == 0:
        doc.para(f"{this}未监测到相关信息。（{ref}）")
        return
    doc.para(
        f"{this}共监测到相关信息{posts}条，较{last}（{_int(before['posts'])}条）"
        f"{_count_change(posts, before['posts'])}；"
        f"其中原创{_int(now['originals'])}条、转发{_int(now['reposts'])}条、评论/跟帖{_int(now['comments'])}条，"
        f"来自{_int(now['channels'])}类渠道、{_int(now['sites'])}个站点。负面信息{_int(now['negative'])}条，"
        f"占比{_pct(now['negative_ratio'])}，"
        f"较{last}{_points_change(now['negative_ratio'], before['negative_ratio'])}。"
        f"（数据见{ref}、{neg_ref}）")
    rows = [
        ["信息总量（条）", posts, _int(before["posts"]), _count_change(posts, before["posts"])],
        ["其中：原创", _int(now["originals"]), _int(before["originals"]),
         _count_change(now["originals"], before["originals"])],
        ["转发", _int(now["reposts"]), _int(before["reposts"]), _count_change(now["reposts"], before["reposts"])],
        ["评论/跟帖", _int(now["comments"]), _int(before["comments"]),
         _count_change(now["comments"], before["comments"])],
        ["负面信息（条）", _int(now["negative"]), _int(before["negative"]),
         _count_change(now["negative"], before["negative"])],
        ["负面占比", _pct(now["negative_ratio"]), _pct(before["negative_ratio"]),
         _points_change(now["negative_ratio"], before["negative_ratio"])],
        ["涉及渠道（类）", _int(now["channels"]), _int(before["channels"]),
         _count_change(now["channels"], before["channels"])],
        ["涉及站点（个）", _int(now["sites"]), _int(before["sites"]), _count_change(now["sites"], before["sites"])],
        ["转发+评论+点赞", _int(now["repost_sum"] + now["comment_sum"] + now["like_sum"]),
         _int(before["repost_sum"] + before["comment_sum"] + before["like_sum"]),
         _count_change(now["repost_sum"] + now["comment_sum"] + now["like_sum"],
                       before["repost_sum"] + before["comment_sum"] + before["like_sum"])],
        ["热度指数", f"{now['heat']:.1f}", f"{before['heat']:.1f}", _count_change(now["heat"], before["heat"])],
    ]
    doc.table(["指标", this, last, "变化"], rows, f"表 主要指标（数据见{ref}）", key="headline")
    grain_word = "小时" if f.grain == "hour" else "日"
    doc.figure("trend", charts.volume_and_negativity(metrics.trend(store, f),
                                                     title=f"{this}分{grain_word}发帖量与负面占比"),
               f"{this}分{grain_word}发帖量与负面占比（数据见{ref}）",
               date_ticks="%H时" if f.grain == "hour" else "%m月%d日")


def _period_incidents(store: Store, f: Filters, as_of: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    listed = incidents.list_incidents(store, as_of)
    events = store.query("SELECT incident_id, step, occurred_at, note FROM incident_events WHERE occurred_at <= ? "
                         "ORDER BY occurred_at, event_id", [as_of.to_pydatetime()])
    in_period = events[(events["occurred_at"] >= f.start_ts) & (events["occurred_at"] < f.end_ts)]
    seen = (listed["first_seen_at"] >= f.start_ts) & (listed["first_seen_at"] < f.end_ts)
    active = listed[seen | listed["incident_id"].isin(in_period["incident_id"])].copy()
    active["is_new"] = seen[active.index]
    return active.sort_values("first_seen_at").reset_index(drop=True), events


def _clocks(incident, events: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    channels = incident.channels
    from_tickets = bool(channels) and set(channels) <= incidents.TICKET_CHANNELS
    own = events[events["incident_id"] == incident.incident_id]
    return incidents.clocks_for(incident.grade or "三级", own, from_tickets, as_of)


def _incident_section(store: Store, doc: _Doc, f: Filters, as_of: pd.Timestamp, this: str) -> None:
    active, events = _period_incidents(store, f, as_of)
    doc.section("重点舆情事件")
    if active.empty:
        doc.para(f"{this}无新发现或在办的舆情事件。")
        return
    new = active[active["is_new"]]
    by_grade = new["grade"].fillna("未定级").value_counts()
    grade_text = "、".join(f"{g}{n}起" for g, n in by_grade.items())
    closed = active["status"].isin(["已办结", "已归档"]).sum()
    posts = pd.concat([incidents.incident_posts(store, i)[POST_LIST_COLUMNS].assign(incident_id=i)
                       for i in active["incident_id"]], ignore_index=True)
    posts["interactions"] = posts["repost_count"] + posts["comment_count"] + posts["like_count"]
    shown = (posts.sort_values(["interactions", "created_at"], ascending=[False, True])
             .groupby("incident_id", sort=False).head(5))
    ref = doc.appendix(f"{this}舆情事件关联帖子（每起事件互动量前5条）", [
        ("事件", "首次发现于本期内，或本期内有处置记录的事件"),
        ("统计截至", _ts(as_of)), ("口径", "关联帖子=事件台账中人工或系统关联的帖子")], shown, len(posts))
    rows, clock_rows, met, missed, running = [], [], 0, 0, 0
    for number, incident in enumerate(active.itertuples(), start=1):
        clocks = _clocks(incident, events, as_of)
        ok = int(clocks["status"].isin(["按时", "超目标未超时限"]).sum())
        late = int(clocks["status"].isin(["逾期完成", "已逾期"]).sum())
        open_ = int((clocks["status"] == "进行中").sum())
        met, missed, running = met + ok, missed + late, running + open_
        rows.append([number, incident.incident_id, _clip(incident.title, 40), incident.grade or "未定级",
                     incident.status, _ts(incident.first_seen_at), int(incident.posts),
                     f"按时{ok}/逾期{late}/进行中{open_}"])
        for clock in clocks.itertuples():
            clock_rows.append([incident.incident_id, clock.label, _ts(clock.hard_due_at), _ts(clock.done_at),
                               clock.status])
    doc.para(
        f"{this}涉及舆情事件{len(active)}起，其中新发现{len(new)}起" + (f"（{grade_text}）" if len(new) else "")
        + f"，截至{_ts(as_of)}已办结{closed}起。涉及处置时限{met + missed + running}项，按时完成{met}项，"
        f"逾期{missed}项，进行中{running}项。（关联帖子见{ref}）")
    doc.table(["序号", "事件编号", "事件名称", "等级", "状态", "首次发现", "关联帖子", "处置时限"], rows,
              f"表 {this}舆情事件一览（数据见{ref}）", key="incidents")
    if clock_rows:
        doc.table(["事件编号", "时限要求", "应完成时间", "实际完成时间", "状态"], clock_rows,
                  "表 处置时限执行情况（“超目标未超时限”计为按时）", key="deadlines")


def _topic_section(store: Store, doc: _Doc, f: Filters, prev: Filters, this: str, last: str, kind: str) -> None:
    now = metrics.breakdown(store, f, "topic")
    before = metrics.breakdown(store, prev, "topic").set_index("topic")
    doc.section("热点话题")
    if now.empty:
        doc.para(f"{this}无话题数据。")
        return
    top = now.head(8)
    refs = {}
    for topic in top["topic"].head(3):
        tf = replace(f, topics=(topic,))
        refs[topic] = doc.appendix(f"话题“{topic}”（按互动量排序的前5条）", _describe(tf), top_posts(store, tf, 5),
                                   int(top.loc[top["topic"] == topic, "posts"].iloc[0]))
    rows = []
    for row in top.itertuples():
        previous = before["posts"].get(row.topic, 0)
        rows.append([row.topic, int(row.posts), _int(previous), _count_change(row.posts, previous),
                     int(row.negative), _pct(row.negative_ratio), f"{row.heat:.1f}"])
    first = top.iloc[0]
    rises = [(r.topic, r.posts / before["posts"].get(r.topic, 0) - 1) for r in top.itertuples()
             if before["posts"].get(r.topic, 0) >= 10]
    rise_text = ""
    if rises:
        name, change = max(rises, key=lambda item: item[1])
        if change > 0:
            rise_text = f"较{last}增幅最大的是“{name}”（增长{change * 100:.1f}%）。"
    leaders = "、".join(f"“{r.topic}”（{int(r.posts)}条，{refs.get(r.topic, '')}）".replace("，）", "）")
                       for r in top.head(3).itertuples())
    doc.para(f"{this}发帖量居前的话题为{leaders}；其中“{first['topic']}”负面占比{_pct(first['negative_ratio'])}。"
             + rise_text)
    doc.table(["话题", this, last, "变化", "负面（条）", "负面占比", "热度指数"], rows, f"表 {this}热点话题",
              key="topics")
    names = top["topic"].head(5).tolist()
    ticks = "%H时" if f.grain == "hour" else "%m月%d日"
    trend = metrics.trend(store, replace(f, group_by="topic", topics=tuple(names)))
    topic_refs = "、".join(refs.values())
    doc.figure("topic_trend", charts.topic_lines(trend, "grp", f"{this}前五话题发帖量走势"),
               f"{this}前五话题发帖量走势（前三话题的帖子见{topic_refs}）", date_ticks=ticks)
    doc.figure("topic_heat", charts.topic_lines(trend, "grp", f"{this}前五话题热度指数走势", value="heat"),
               f"{this}前五话题热度指数走势（计算方法见“数据说明”）", date_ticks=ticks)
    kind_key = "region_topic" if kind == "daily" else "topic_day"
    cells = metrics.heatmap_cells(store, f, kind_key)
    row_label, col_label = metrics.HEATMAPS[kind_key][2:]
    hottest = cells.sort_values(["posts", "row_key", "col_key"], ascending=[False, True, True]).iloc[0]
    cell_ref = doc.appendix(
        f"热力图最热单元格：{row_label}“{hottest['row_key']}”×{col_label}“{hottest['col_key']}”（互动量前5条）",
        *_cell_query(store, f, kind_key, hottest))
    short = (lambda c: str(c)[5:]) if kind_key == "topic_day" else str  # 2026-11-19 -> 11-19
    matrix = metrics.heatmap_matrix(cells, "posts").rename(columns=short)
    doc.para(f"从{row_label}×{col_label}分布看，发帖最集中的是{row_label}“{hottest['row_key']}”在{col_label}"
             f"“{hottest['col_key']}”，共{int(hottest['posts'])}条，负面占比{_pct(hottest['negative_ratio'])}"
             f"（帖子见{cell_ref}）。")
    doc.figure("heatmap", charts.heatmap_figure(matrix, "posts", f"{row_label}×{col_label}发帖量", row_label,
                                                col_label),
               f"{row_label}×{col_label}发帖量热力图（最热单元格的帖子见{cell_ref}）")
    negative = metrics.heatmap_matrix(cells, "negative_ratio").head(8).rename(columns=short)
    doc.figure("heatmap_negative",
               charts.heatmap_figure(negative, "negative_ratio", f"{row_label}×{col_label}负面占比", row_label,
                                     col_label),
               f"{row_label}×{col_label}负面占比热力图（发帖量前八的{row_label}）")


def _opinion_section(store: Store, doc: _Doc, found: opinions.Opinions, this: str, terms: pd.DataFrame) -> None:
    """网民主要观点: each viewpoint's share, with its posts counted and its representative posts in an appendix;
    then the word cloud of the same posts' keywords (the page's image)."""
    doc.section("网民主要观点")
    _word_cloud(doc, terms, this)
    if not found.viewpoints:
        doc.para(f"{this}有原创内容的帖子{found.clustered}条，不足{opinions.MIN_POSTS}条，不归纳观点。")
        return
    reps = opinions.representatives(store, found)
    basis = f"{this}有原创内容的帖子按用词聚类，重复内容计一次，纯转发不计"
    refs = [doc.appendix(f"观点“{v.label}”（占比{v.share_pct:.1f}%，共{v.posts}条，最具代表性的{len(v.medoids)}条）",
                         [("口径", basis)], reps[reps["group"] == group].drop(columns=["group", "viewpoint", "rank"]),
                         v.posts)
            for group, v in enumerate(found.viewpoints)]
    sample = f"（按帖子ID固定抽样{found.sampled_from}条）" if found.sampled_from < found.total else ""
    doc.para(f"{this}有原创内容的帖子{found.clustered}条{sample}（已排除纯转发{found.pure_reposts}条、重复内容"
             f"{found.duplicates}条），按用词归纳为{len(found.viewpoints)}类观点：{found.summary()}。"
             f"（各观点的代表性帖子见{refs[0]}至{refs[-1]}）")
    doc.table(["观点", "占比", "帖子（条）", "负面/中性/正面（条）", "代表性帖子", "帖子见"],
              [[v.label, f"{v.share_pct:.1f}%", v.posts, "/".join(str(v.sentiment[s]) for s in opinions.SENTIMENTS),
                "、".join(v.medoids), ref] for v, ref in zip(found.viewpoints, refs, strict=True)],
              "表 网民主要观点", key="opinions")


def _media_section(doc: _Doc, posts: pd.DataFrame, this: str) -> None:
    """媒体报道情况: which 央媒/省媒/市媒, 政务号, platforms and overseas media carried it, and the 意见领袖."""
    doc.section("媒体报道情况")
    activity = media.media_activity(posts)
    if activity.empty:
        doc.para(f"{this}无媒体、政务号或平台发布的报道（均为自媒体/网民帖子）。")
        return
    rows = []
    for tier, part in activity.groupby("tier", sort=False):
        first = part.sort_values(["first_at", "first_post_id"]).iloc[0]
        rows.append([tier, len(part), int(part["posts"].sum()), "、".join(part["publisher"].head(6)),
                     f"{first['publisher']} {_ts(first['first_at'])}（{first['first_post_id']}）"])
    doc.para(f"{this}参与报道或发布的媒体与账号{len(activity)}个：" + "；".join(
        f"{r[0]}{r[1]}家（{r[3]}）" for r in rows) + "。层级依据“媒体与账号名录”设置；评论/跟帖不计为报道。")
    doc.table(["层级", "媒体/账号（个）", "发布（条）", "主要媒体/账号", "首家（时间、帖子ID）"], rows,
              "表 媒体报道情况", key="media")
    leaders = media.opinion_leaders(posts, "reach", 10)
    doc.table(["媒体/账号", "层级", "发布（条）", "互动量", "带动转发/评论（条）"],
              [[r.publisher, r.tier, int(r.posts), int(r.interactions), int(r.downstream)]
               for r in leaders.itertuples()], "表 意见领袖（按互动量）", key="leaders")


def _word_cloud(doc: _Doc, terms: pd.DataFrame, this: str) -> None:
    if terms.empty:
        return
    fig = cloud.figure(terms, f"{this}高频词词云")
    top = "、".join(f"{t.keyword}（{int(t.posts)}）" for t in terms.head(10).itertuples())
    if fig is None:
        doc.para(cloud.NO_FONT_ZH.replace("词表见下", f"高频词：{top}"), "warning")
        return
    doc.figure("wordcloud", fig, f"{this}高频词词云（{cloud.COLOURS_ZH}高频词：{top}）")


def _cell_query(store: Store, f: Filters, kind: str, cell: pd.Series) -> tuple[list, pd.DataFrame, int]:
    """Filters and top posts of one heatmap cell (topic × day or region × topic)."""
    if kind == "topic_day":
        day = dt.date.fromisoformat(str(cell["col_key"]))
        cf = Filters(day, day, topics=(str(cell["row_key"]),), until=f.until)
    else:
        region = str(cell["row_key"])
        cf = replace(f, grain="day", topics=(str(cell["col_key"]),), regions=(region,) if region != "未知" else ())
    extra = "AND region IS NULL" if kind == "region_topic" and str(cell["row_key"]) == "未知" else ""
    filters = [(k, "未填写" if k == "地域" and extra else v) for k, v in _describe(cf)]
    return filters, top_posts(store, cf, 5, extra_sql=extra), int(cell["posts"])


def _channel_section(store: Store, doc: _Doc, f: Filters, this: str) -> None:
    frame = metrics.breakdown(store, f, "channel")
    doc.section("渠道分布")
    if frame.empty:
        doc.para(f"{this}无渠道数据。")
        return
    top = frame.head(10)
    total = int(frame["posts"].sum())
    lead = top.iloc[0]
    cf = replace(f, channels=(str(lead["channel"]),))
    ref = doc.appendix(f"渠道“{lead['channel']}”（互动量前5条）", _describe(cf), top_posts(store, cf, 5),
                       int(lead["posts"]))
    doc.para(f"{this}信息主要来自“{lead['channel']}”（{int(lead['posts'])}条，占{_pct(lead['posts'] / total)}，"
             f"帖子见{ref}）；负面占比最高的渠道（不少于20条）为" + _worst_channel(frame) + "。")
    doc.table(["渠道", "发帖量", "占比", "负面（条）", "负面占比"],
              [[r.channel, int(r.posts), _pct(r.posts / total), int(r.negative), _pct(r.negative_ratio)]
               for r in top.itertuples()], f"表 {this}渠道分布（前十）", key="channels")
    doc.figure("channels", charts.breakdown_bars(top, "channel", f"{this}各渠道发帖量及负面信息"),
               f"{this}各渠道发帖量及负面信息（数据见{ref}）")


def _worst_channel(frame: pd.DataFrame) -> str:
    enough = frame[frame["posts"] >= 20]
    if enough.empty:
        return "（无）"
    worst = enough.sort_values(["negative_ratio", "posts"], ascending=False).iloc[0]
    return f"“{worst['channel']}”（{_pct(worst['negative_ratio'])}）"


def period_cascades(store: Store, f: Filters, limit: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The largest repost/comment trees among the period's posts (trees by root_id): stats and root posts."""
    where, params = f.where()
    roots = store.query(f"""SELECT root_id, count(*) AS n FROM posts WHERE {where} AND root_id IS NOT NULL
                            GROUP BY root_id ORDER BY n DESC, root_id LIMIT ?""", [*params, limit])
    if roots.empty:
        return pd.DataFrame(columns=cascades.STATS_COLUMNS), pd.DataFrame(columns=POST_LIST_COLUMNS)
    ids = roots["root_id"].tolist()
    marks = ", ".join("?" for _ in ids)
    nodes = store.query(
        f"""SELECT coalesce(root_id, post_id) AS cascade_id, post_id AS mid, parent_id AS parent_mid, created_at
            FROM posts WHERE {where} AND (root_id IN ({marks}) OR post_id IN ({marks}))""", [*params, *ids, *ids])
    stats = cascades.cascade_stats(nodes)
    stats = stats.set_index("cascade_id").loc[[i for i in ids if i in set(stats["cascade_id"])]].reset_index()
    stats = stats.sort_values(["size", "cascade_id"], ascending=[False, True]).reset_index(drop=True)
    root_posts = store.query(f"SELECT {', '.join(POST_LIST_COLUMNS)}, repost_count + comment_count + like_count "
                             f"AS interactions FROM posts WHERE post_id IN ({marks})", ids)
    return stats, root_posts


def _cascade_section(store: Store, doc: _Doc, f: Filters, this: str) -> None:
    stats, roots = period_cascades(store, f)
    doc.section("传播分析")
    if stats.empty:
        doc.para(f"{this}未发现转发/评论传播链。")
        return
    ordered = roots.set_index("post_id").reindex(stats["cascade_id"].tolist()).rename_axis("post_id").reset_index()
    ref = doc.appendix(f"{this}主要传播链的源帖", _describe(f, [
        ("口径", "传播链=同一源帖（root_id）下本期内的全部转发、评论；规模含源帖（源帖在本期内时）"),
        ("关键节点", "；".join(f"{s.cascade_id}：" + "、".join(f"{k['mid']}（{k['size']}）" for k in s.key_nodes[:3])
                              for s in stats.itertuples()))]), ordered)
    first = stats.iloc[0]
    doc.para(f"{this}规模最大的传播链源自{first['cascade_id']}（{_clip(ordered.iloc[0]['channel'], 10)}），"
             f"共{int(first['size'])}条，最大深度{int(first['depth'])}层，单层最多{int(first['max_breadth'])}条；"
             f"半数传播在源帖发布后{_minutes(first['t50_minutes'])}内完成。（源帖见{ref}）")
    rows, labels = [], []
    for number, (s, root) in enumerate(zip(stats.itertuples(), ordered.itertuples(), strict=True), start=1):
        label = _clip(root.title if isinstance(root.title, str) and root.title else root.text, 24)
        labels.append(f"{number}. {label}")
        rows.append([number, s.cascade_id, _clip(root.channel, 8), label, int(s.size), int(s.depth),
                     int(s.max_breadth), f"{s.structural_virality:.2f}", _minutes(s.t50_minutes)])
    doc.table(["序号", "源帖ID", "渠道", "源帖摘要", "规模", "深度", "最大宽度", "结构病毒性", "半数传播用时"], rows,
              f"表 {this}主要传播链（数据见{ref}）", key="cascades")
    doc.figure("cascades", charts.cascade_bars(stats, labels, f"{this}主要传播链规模"), f"{this}主要传播链规模")


def _minutes(value) -> str:
    if value is None or pd.isna(value):
        return "—"
    return f"{value:.0f}分钟" if value < 120 else f"{value / 60:.1f}小时"


def period_alerts(store: Store, f: Filters) -> pd.DataFrame:
    """Alerts fired inside the period (read straight from the alerts table)."""
    return store.query("""SELECT alert_id, rule_id, fired_at, severity, subject, message, state, merged_count
                          FROM alerts WHERE fired_at >= ? AND fired_at < ? ORDER BY fired_at, alert_id""",
                       [f.start_ts.to_pydatetime(), f.end_ts.to_pydatetime()])


def _alert_section(store: Store, doc: _Doc, f: Filters, this: str) -> None:
    fired = period_alerts(store, f)
    doc.section("预警情况")
    if fired.empty:
        doc.para(f"{this}未触发预警。")
        return
    names = {"high": "高", "medium": "中", "low": "低"}
    by_severity = fired["severity"].map(lambda s: names.get(s, s)).value_counts()
    states = {"new": "未处理", "acknowledged": "已确认", "closed": "已关闭"}
    by_state = fired["state"].map(lambda s: states.get(s, s)).value_counts()
    doc.para(f"{this}共触发预警{len(fired)}条（" + "、".join(f"{k}级{v}条" for k, v in by_severity.items())
             + "），其中" + "、".join(f"{k}{v}条" for k, v in by_state.items()) + "。")
    shown = fired.sort_values(["severity", "fired_at"], key=lambda c: c.map({"high": 0, "medium": 1, "low": 2})
                              if c.name == "severity" else c).head(15)
    doc.table(["触发时间", "级别", "对象", "预警内容", "状态", "合并次数"],
              [[_ts(a.fired_at), names.get(a.severity, a.severity), _clip(a.subject, 16), _clip(a.message, 60),
                states.get(a.state, a.state), int(a.merged_count)] for a in shown.itertuples()],
              f"表 {this}预警记录（按级别排序，最多15条）", key="alerts")


def _kpi_section(store: Store, doc: _Doc, f: Filters, as_of: pd.Timestamp, this: str) -> None:
    k = incidents.kpis(store, f.start_ts, f.end_ts, now=as_of)
    doc.section("工作成效")
    if not k["incidents"]:
        doc.para(f"{this}无新发现事件，不计算处置考核指标。")
        return
    doc.para(f"{this}新发现舆情事件{k['incidents']}起，化解率{_pct(k['resolution_rate'])}，"
             f"公开回应率{_pct(k['reply_rate'])}，平均响应时长{_hours(k['mean_response_hours'])}，"
             f"逾期未完成时限{k['overdue']}项（统计截至{_ts(as_of)}）。")
    rows = [["新发现事件（起）", k["incidents"], "—"],
            ["分级", "、".join(f"{g}{n}起" for g, n in k["by_grade"].items()) or "—", "—"],
            ["化解率（已办结/归档）", _pct(k["resolution_rate"]), KPI_TARGETS["resolution_rate"]],
            ["公开回应率", _pct(k["reply_rate"]), KPI_TARGETS["reply_rate"]],
            ["平均响应时长（发现→首次公开回应）", _hours(k["mean_response_hours"]), KPI_TARGETS["mean_response_hours"]],
            ["响应时长P90", _hours(k["p90_response_hours"]), "—"],
            *[[f"按时率：{step}", _pct(rate), "100%"] for step, rate in k["on_time_rate"].items()],
            ["逾期未完成时限（项）", k["overdue"], "0"]]
    doc.table(["指标", "实际", "参考目标"], rows, "表 处置考核指标", key="kpis")


def _notes_section(store: Store, doc: _Doc, f: Filters, as_of: pd.Timestamp) -> None:
    where, params = f.where()
    models = store.query(f"SELECT sentiment_model, count(*) AS n FROM posts WHERE {where} GROUP BY 1 ORDER BY n DESC",
                         params)
    doc.section("数据说明")
    doc.para("1. " + metrics.HEAT_FORMULA_ZH, "note")
    model_text = "、".join(f"{m.sentiment_model}（{m.n}条）" for m in models.itertuples()) or "—"
    doc.para(f"2. 情感判别模型：{model_text}；负面占比为负面帖子数/帖子总数，未经人工逐条复核的以模型结果为准。",
             "note")
    doc.para(f"3. 时间均为北京时间；事件状态、处置时限统计截至{_ts(as_of)}。文中“附N”对应文末附件所列查询条件"
             "和帖子，可据此在台账中复核每一个数字。", "note")


# -- incident briefing (专报 / 快报) ----------------------------------------------------------------------------
def build_incident(store: Store, incident_id: str, unit: str = DEFAULT_UNIT, as_of: pd.Timestamp | None = None,
                   progress: Progress | None = None) -> Briefing:
    """舆情专报 (快报 while the incident is still being handled) following the basic-facts template."""
    say = progress or (lambda _message: None)
    now = pd.Timestamp.now(tz=TIMEZONE)
    as_of = pd.Timestamp(as_of) if as_of is not None else now
    listed = incidents.list_incidents(store, as_of).set_index("incident_id")
    if incident_id not in listed.index:
        raise ValueError(f"事件不存在：{incident_id}")
    inc = listed.loc[incident_id]
    posts = incidents.incident_posts(store, incident_id)
    events = incidents.events(store, incident_id)
    events = events[events["occurred_at"] <= as_of]
    grades = incidents.grade_history(store, incident_id)
    open_ = inc["status"] in incidents.OPEN_STATUSES
    work = incident_edits.work_fields(store, incident_id)
    b = Briefing("incident", "舆情快报" if open_ else "舆情专报", f"事件编号 {incident_id}", unit,
                 _clip(inc["title"], 80), incident_id, now)
    doc = _Doc(b)
    say("基本情况")
    posts = posts.assign(interactions=posts["repost_count"] + posts["comment_count"] + posts["like_count"])
    ref_all = doc.appendix("事件关联帖子（按时间顺序，最多50条）", [
        ("事件", f"{incident_id} {inc['title']}"), ("口径", "事件台账中关联的全部帖子"), ("统计截至", _ts(as_of))],
        posts.head(50)[[*POST_LIST_COLUMNS, "interactions"]], len(posts))
    _basic_facts(doc, inc, posts, events, ref_all, work["facts"])
    _work_section(doc, work)
    say("事件脉络")
    milestones = chronology.chronology(posts, settings.mainstream_sites(store), settings.media_directory(store))
    _chronology_section(doc, milestones, ref_all)
    say("定级与处置")
    doc.section("事件等级及依据")
    reasons = inc["reasons"]
    doc.para(f"当前等级：{inc['grade'] or '未定级'}（{inc['tier_set']}分级体系）。定级依据：" + (
        "；".join(reasons) if reasons else PENDING) + "。")
    if not grades.empty:
        doc.table(["定级时间", "等级", "依据", "方式", "操作人"],
                  [[_ts(g.graded_at), g.grade, "；".join(list(g.reasons)), "人工调整" if g.is_override else "系统计算",
                    g.actor] for g in grades.itertuples()], "表 定级记录", key="grades")
    doc.section("处置进程")
    if events.empty:
        doc.para(f"暂无处置记录（{PENDING}）。")
    else:
        doc.table(["时间", "环节", "记录人", "说明"],
                  [[_ts(e.occurred_at), e.step, e.actor, _clip(e.note, 80)] for e in events.itertuples()],
                  "表 处置时间线", key="timeline")
    row = inc.copy()
    row["incident_id"] = incident_id
    clocks = _clocks(_Row(row), events.assign(incident_id=incident_id), as_of)
    if not clocks.empty:
        doc.table(["时限要求", "起算时间", "应完成时间", "实际完成时间", "状态"],
                  [[c.label, _ts(c.anchor_at), _ts(c.hard_due_at), _ts(c.done_at),
                    c.status if c.done_at is not pd.NaT and pd.notna(c.done_at)
                    else f"{c.status}（{incidents.format_minutes(c.minutes_left)}）"]
                   for c in clocks.itertuples()], "表 处置时限", key="deadlines")
    if not posts.empty:
        hours = (posts.assign(hour=posts["created_at"].dt.floor("h"),
                              negative=posts["sentiment_label"].eq("负面").astype(int))
                 .groupby("hour", as_index=False).agg(posts=("post_id", "size"), negative=("negative", "sum")))
        doc.figure("timeline", charts.hourly_volume(hours, "事件每小时发帖量与处置节点", events),
                   f"事件每小时发帖量与处置节点（数据见{ref_all}）", date_ticks="%m月%d日 %H时")
    say("传播态势")
    _incident_spread(store, doc, posts, ref_all)
    _opinion_section(store, doc, opinions.for_posts(posts), "事件中", cloud.terms_of_posts(posts))
    _media_section(doc, media.with_tiers(posts, settings.media_directory(store)), "事件中")
    _representative(doc, posts)
    return b


class _Row:
    """Attribute access to a Series (so `_clocks` takes list rows and itertuples alike)."""

    def __init__(self, series: pd.Series):
        self.__dict__.update(series.to_dict())


def _basic_facts(doc: _Doc, inc: pd.Series, posts: pd.DataFrame, events: pd.DataFrame, ref: str,
                 filled: dict[str, str]) -> None:
    """The basic-facts template: what the analyst filled in (incident_edits.set_work_fields) stands; the rest is
    computed from the posts and events, or marked 待核实."""
    doc.section("基本情况")
    found = events.loc[events["step"] == "监测发现", "occurred_at"]
    if posts.empty:
        time_text, place_text = f"首次发现{_ts(inc['first_seen_at'])}；关联帖子{PENDING}", inc["region"] or PENDING
        casualty, attitude = PENDING, PENDING
    else:
        peak = posts["created_at"].dt.floor("h").value_counts().sort_index().idxmax()
        peak_n = int((posts["created_at"].dt.floor("h") == peak).sum())
        time_text = (f"首条相关信息{_ts(posts['created_at'].min())}；"
                     f"监测发现{_ts(found.min() if len(found) else None)}；"
                     f"峰值时段{_ts(peak)}起1小时内{peak_n}条")
        regions = pd.Series([r for r in [inc["region"]] if r])
        place_text = (inc["region"] or PENDING) + ("" if regions.empty else "（以事件台账为准，具体地点待核实）")
        mentions = posts["text_norm"].fillna("").str.contains("|".join(incidents.CASUALTY_WORDS))
        casualty = (f"{int(mentions.sum())}条帖子提及伤亡相关词语，具体伤亡人数{PENDING}"
                    if mentions.any() else f"相关帖子未提及伤亡（{PENDING}）")
        media = posts["channel"].isin(MEDIA_CHANNELS)
        public = posts[~media]
        mainstream = sorted(set(posts["site"].dropna()) & set(config.MAINSTREAM_SITES))
        replies = int((events["step"] == "公开回应").sum())
        public_ratio = public["sentiment_label"].eq("负面").mean() if len(public) else None
        media_ratio = posts.loc[media, "sentiment_label"].eq("负面").mean() if media.any() else None
        attitude = (f"网民：{len(public)}条，负面占比{_pct(public_ratio)}；"
                    f"媒体：{int(media.sum())}条" + (f"（主流媒体：{'、'.join(mainstream)}）" if mainstream else "")
                    + f"，负面占比{_pct(media_ratio)}；"
                    f"官方：公开回应{replies}次")
    measures = events[events["step"].isin(["批办/交办", "处置", "公开回应", "办结/化解"])]
    measures_text = "；".join(f"{_ts(e.occurred_at, '%m-%d %H:%M')} {e.step}：{_clip(e.note, 50)}"
                             for e in measures.itertuples()) or PENDING
    rows = [["时间", time_text, "帖子发布时间、处置记录"],
            ["地点", place_text, "事件台账"],
            ["类别", inc["topic"] or PENDING, "事件台账（话题）"],
            ["伤亡", casualty, "帖子文本关键词计数"],
            ["损失", PENDING, "无可计量数据"],
            ["各方态度", attitude, "帖子情感标签、渠道"],
            ["已采取措施", measures_text, "处置记录"]]
    rows = [[name, filled[name], "分析员填写"] if filled.get(name) else [name, text, basis]
            for name, text, basis in rows]
    doc.para(f"{_ts(inc['first_seen_at'])}监测发现“{_clip(inc['title'], 60)}”相关舆情，截至目前共关联帖子"
             f"{len(posts)}条，事件当前状态为“{inc['status']}”。基本情况如下（未能从数据中计量的项目标注“{PENDING}”，"
             f"帖子见{ref}）：")
    doc.table(["项目", "内容", "依据"], rows, "表 基本情况", key="facts")


def _work_section(doc: _Doc, work: dict) -> None:
    doc.section("工作情况")
    instruction = work["instruction"] or "暂无"
    if work["instruction"]:
        who = f"{work['instruction_by']}，" if work["instruction_by"] else ""
        instruction += f"（{who}{_ts(work['instruction_at'])}）"
    response = "暂无"
    if work["response_url"] or work["response_channel"]:
        response = "，".join(v for v in (work["response_channel"], work["response_url"]) if v)
    doc.table(["项目", "内容"], [["承办单位", work["responsible_unit"] or PENDING], ["领导批示", instruction],
                                 ["公开回应", response]], "表 工作情况", key="work")


def _chronology_section(doc: _Doc, milestones: pd.DataFrame, ref: str) -> None:
    doc.section("事件脉络")
    if milestones.empty:
        doc.para(f"暂无关联帖子（{PENDING}）。")
        return
    doc.para(f"由关联帖子自动梳理（帖子见{ref}）：")
    doc.table(["节点", "时间", "渠道/站点", "说明", "帖子ID", "内容摘要", "链接"],
              [[m.milestone, _ts(m.at), f"{m.channel}/{m.site or '—'}", m.detail, m.post_id, m.excerpt, m.url or ""]
               for m in milestones.itertuples()], "表 事件脉络", key="chronology")


def _incident_spread(store: Store, doc: _Doc, posts: pd.DataFrame, ref: str) -> None:
    doc.section("传播态势")
    if posts.empty:
        doc.para(f"暂无关联帖子（{PENDING}）。")
        return
    times = posts["created_at"].sort_values()
    hourly_peak = int(posts["created_at"].dt.floor("h").value_counts().max())
    mainstream = sorted(set(posts["site"].dropna()) & set(config.MAINSTREAM_SITES))
    heat = float(metrics.heat_index(len(posts), posts["repost_count"].sum(), posts["comment_count"].sum(),
                                    posts["like_count"].sum()))
    rows = [["关联帖子（条）", len(posts)],
            ["原创/转发/评论", "/".join(str(int(posts["post_type"].eq(t).sum()))
                                     for t in ("original", "repost", "comment"))],
            ["涉及渠道（类）/站点（个）", f"{posts['channel'].nunique()}/{posts['site'].nunique()}"],
            ["主流媒体", "、".join(mainstream) or "无"],
            ["境外媒体帖子（条）", int(posts["channel"].eq("境外媒体").sum())],
            ["自然小时最高发帖（条）", hourly_peak],
            ["持续时间", f"{(times.iloc[-1] - times.iloc[0]).total_seconds() / 3600:.1f}小时"],
            ["转发+评论+点赞", int(posts["interactions"].sum())],
            ["负面占比", _pct(posts["sentiment_label"].eq("负面").mean())],
            ["热度指数", f"{heat:.1f}"]]
    doc.para(f"事件共关联帖子{len(posts)}条，涉及{posts['channel'].nunique()}类渠道；自然小时发帖最多{hourly_peak}条，"
             f"负面占比{_pct(posts['sentiment_label'].eq('负面').mean())}。（帖子见{ref}）")
    doc.table(["指标", "数值"], rows, "表 传播指标", key="spread")
    channels = posts["channel"].value_counts()
    doc.table(["渠道", "帖子（条）", "占比"], [[c, int(n), _pct(n / len(posts))] for c, n in channels.items()],
              "表 渠道分布", key="incident_channels")
    tree = posts.assign(cascade_id=posts["root_id"].fillna(posts["post_id"]))
    tree = tree[tree["cascade_id"].isin(tree.loc[tree["root_id"].notna(), "root_id"])]
    if not tree.empty:
        stats = cascades.cascade_stats(tree.rename(columns={"post_id": "mid", "parent_id": "parent_mid"})
                                       [["cascade_id", "mid", "parent_mid", "created_at"]])
        stats = stats.sort_values(["size", "cascade_id"], ascending=[False, True]).head(5)
        doc.table(["源帖ID", "规模", "深度", "最大宽度", "结构病毒性", "半数传播用时", "关键节点"],
                  [[s.cascade_id, int(s.size), int(s.depth), int(s.max_breadth), f"{s.structural_virality:.2f}",
                    _minutes(s.t50_minutes), "、".join(f"{k['mid']}（{k['size']}）" for k in s.key_nodes[:3])]
                   for s in stats.itertuples()], "表 主要传播链", key="incident_cascades")


def _representative(doc: _Doc, posts: pd.DataFrame) -> None:
    doc.section("代表性帖子")
    if posts.empty:
        doc.para(f"暂无关联帖子（{PENDING}）。")
        return
    earliest = posts.sort_values(["created_at", "post_id"]).head(3).assign(why="最早发布")
    loudest = (posts.sort_values(["interactions", "created_at"], ascending=[False, True]).head(5)
               .assign(why="互动量最高"))
    media = posts[posts["site"].isin(config.MAINSTREAM_SITES)].sort_values("created_at").head(3).assign(why="主流媒体")
    chosen = pd.concat([earliest, loudest, media]).drop_duplicates("post_id")
    doc.table(["入选原因", "帖子ID", "时间", "渠道/站点", "内容摘要", "互动量", "情感"],
              [[p.why, p.post_id, _ts(p.created_at), f"{p.channel}/{p.site}", _clip(p.title or p.text, 60)
                if isinstance(p.title, str) and p.title else _clip(p.text, 60), int(p.interactions), p.sentiment_label]
               for p in chosen.itertuples()], "表 代表性帖子", key="representative")


# -- rendering: PNG charts -------------------------------------------------------------------------------------
def chromium_path() -> str | None:
    """The system Chromium (OPINION_CHROMIUM or /usr/bin/chromium), or None when absent."""
    candidate = os.environ.get(CHROMIUM_ENV_VAR) or DEFAULT_CHROMIUM
    return candidate if Path(candidate).is_file() and os.access(candidate, os.X_OK) else None


def render_pngs(briefing: Briefing, width: int = 860, scale: float = 2.0) -> dict[str, bytes]:
    """Every figure of the briefing as PNG bytes through kaleido + system Chromium; {} with a warning if not."""
    return _browser_render(briefing, pdf=False, width=width, scale=scale)[0]


PDF_FOOTER = ("<div style='width:100%;text-align:center;font-size:9pt;font-family:serif;'>"
              "— <span class='pageNumber'></span> —</div>")


def _browser_render(briefing: Briefing, pdf: bool, width: int = 860, scale: float = 2.0
                    ) -> tuple[dict[str, bytes], bytes | None]:
    """PNG charts, then (optionally) the PDF of the HTML with those charts, in one Chromium session.

    Printing through the DevTools protocol in the browser kaleido already started saves a second
    Chromium start-up (about 3 s) and adds page numbers. A PDF failure here returns None so the caller
    can fall back to `html_to_pdf`; a chart failure returns no images and a warning.
    """
    figures = briefing.figures()
    browser = chromium_path()
    if browser is None:
        if figures:
            briefing.warnings.append(f"未找到Chromium（{os.environ.get(CHROMIUM_ENV_VAR) or DEFAULT_CHROMIUM}），"
                                     "图表未生成，文档中仅保留表格和文字。")
        return {}, None
    try:
        import kaleido
    except ImportError:
        briefing.warnings.append("未安装kaleido，图表未生成，文档中仅保留表格和文字。")
        return {}, None
    images: dict[str, bytes] = {}

    async def print_pdf(k, html_text: str) -> bytes | None:
        with tempfile.TemporaryDirectory(prefix="briefing-") as tmp:
            source = Path(tmp) / "briefing.html"
            source.write_text(html_text, encoding="utf-8")
            tab = await k.create_tab("")
            try:
                await tab.send_command("Page.enable")
                loaded = tab.get_session().subscribe_once("Page.loadEventFired")
                await tab.send_command("Page.navigate", params={"url": source.as_uri()})
                await asyncio.wait_for(loaded, 120)
                response = await tab.send_command("Page.printToPDF", params={
                    "printBackground": True, "preferCSSPageSize": True, "displayHeaderFooter": True,
                    "headerTemplate": "<span></span>", "footerTemplate": PDF_FOOTER})
            finally:
                await k.close_tab(tab.target_id)
        return base64.b64decode(response["result"]["data"]) if "result" in response else None

    async def run() -> bytes | None:
        # mathjax=False: never reach for the CDN; plotly.js comes from the installed plotly package.
        async with kaleido.Kaleido(path=browser, mathjax=False, n=1) as k:
            for item in figures:
                fig = go.Figure(item.figure)
                fig.update_layout(width=width, paper_bgcolor="white")
                images[item.key] = await k.calc_fig(fig, opts={"format": "png", "width": width,
                                                               "height": fig.layout.height or 360, "scale": scale})
            if not pdf:
                return None
            try:
                return await print_pdf(k, to_html(briefing, images))
            except Exception:  # noqa: BLE001 - the subprocess printer is the fallback
                return None
    try:
        # A thread of its own: the caller's thread may already run an event loop (Playwright, Jupyter).
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return images, pool.submit(asyncio.run, run()).result()
    except Exception as exc:  # a broken browser must not cost the analyst the document
        briefing.warnings.append(f"图表渲染失败（{type(exc).__name__}: {_clip(str(exc), 120)}），"
                                 "文档中仅保留表格和文字。")
        return {}, None


# -- rendering: HTML (and PDF from it) ---------------------------------------------------------------------------
_CSS = """
@page { size: A4; margin: 25mm 22mm 22mm 24mm; }
body { font-family: "Noto Serif CJK SC", "Source Han Serif SC", "SimSun", serif; font-size: 11pt; color: #111;
       line-height: 1.75; margin: 0; }
.masthead { text-align: center; color: #c00000; font-size: 30pt; font-weight: bold; letter-spacing: 6pt;
            font-family: "Noto Serif CJK SC", "SimSun", serif; margin-top: 4mm; }
.issue { text-align: center; font-size: 12pt; margin: 2mm 0; }
.unitline { display: flex; justify-content: space-between; font-size: 11pt; }
.redline { border-top: 2.5pt solid #c00000; margin: 2mm 0 6mm 0; }
.period { text-align: center; font-size: 15pt; font-weight: bold; margin: 4mm 0;
          font-family: "Noto Sans CJK SC", "SimHei", sans-serif; }
h2 { font-family: "Noto Sans CJK SC", "SimHei", sans-serif; font-size: 13.5pt; margin: 6mm 0 2mm 0;
     break-after: avoid; page-break-after: avoid; }
h3 { font-family: "Noto Sans CJK SC", "SimHei", sans-serif; font-size: 11.5pt; margin: 4mm 0 1mm 0;
     break-after: avoid; page-break-after: avoid; }
p { text-indent: 2em; margin: 1mm 0; text-align: justify; }
p.note { font-size: 9.5pt; color: #333; text-indent: 0; }
p.warning { color: #b00000; text-indent: 0; font-weight: bold; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0 1mm 0; font-size: 9pt; line-height: 1.4;
        page-break-inside: auto; }
th, td { border: 0.6pt solid #444; padding: 1mm 1.5mm; vertical-align: top; overflow-wrap: break-word; }
td.link { word-break: break-all; font-size: 8pt; }
td.id { white-space: nowrap; font-size: 8pt; }
td.nw { white-space: nowrap; }
th { background: #f0f0f0; white-space: nowrap; font-family: "Noto Sans CJK SC", "SimHei", sans-serif;
     font-weight: normal; }
tr { page-break-inside: avoid; }
.caption { text-align: center; font-size: 9pt; color: #333; text-indent: 0; margin-bottom: 3mm; }
figure { margin: 3mm 0; text-align: center; page-break-inside: avoid; }
figure img { width: 100%; }
.appendix { page-break-before: always; }
.filters td:first-child { width: 20%; white-space: nowrap; }
"""


def _e(value) -> str:
    """Escape anything for HTML: post text is data, never markup."""
    if value is None or (not isinstance(value, str | list) and pd.isna(value)):
        return ""
    return html.escape(CONTROL_CHARS.sub("", str(value)), quote=True)


def _safe_link(url) -> str:
    if not isinstance(url, str) or not re.match(r"^https?://", url.strip(), re.I):
        return _e(url)
    return f'<a href="{_e(url.strip())}">{_e(_clip(url, 48))}</a>'


def _post_rows(posts: pd.DataFrame) -> list[list]:
    rows = []
    for p in posts.itertuples():
        summary = p.title if isinstance(p.title, str) and p.title else p.text
        interactions = getattr(p, "interactions", None)
        rows.append([p.post_id, _ts(p.created_at), f"{p.channel}/{p.site}", _clip(summary, 50), p.sentiment_label,
                     "" if interactions is None or pd.isna(interactions) else int(interactions), p.url or ""])
    return rows


POST_TABLE_COLUMNS = ["帖子ID", "发布时间", "渠道/站点", "内容摘要", "情感", "互动量", "链接"]


def to_html(briefing: Briefing, images: dict[str, bytes] | None = None) -> str:
    images = images or {}
    out = ["<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>",
           f"<title>{_e(briefing.title)} {_e(briefing.code)}</title><style>{_CSS}</style></head><body>",
           f"<div class='masthead'>{_e(briefing.title)}</div>", f"<div class='issue'>{_e(briefing.issue)}</div>",
           f"<div class='unitline'><span>{_e(briefing.unit)}</span>"
           f"<span>{_e(_cn_date(briefing.generated_at.date()))}</span></div><div class='redline'></div>",
           f"<div class='period'>{_e(briefing.period_label)}</div>"]
    for warning in briefing.warnings:
        out.append(f"<p class='warning'>注意：{_e(warning)}</p>")
    for block in briefing.blocks:
        if isinstance(block, Heading):
            tag = "h2" if block.level == 1 else "h3"
            out.append(f"<{tag}>{_e(block.text)}</{tag}>")
        elif isinstance(block, Paragraph):
            out.append(f"<p class='{_e(block.style)}'>{_e(block.text)}</p>")
        elif isinstance(block, Table):
            out.append(_html_table(block.columns, block.rows))
            if block.caption:
                out.append(f"<p class='caption'>{_e(block.caption)}</p>")
        elif isinstance(block, Figure):
            if block.key in images:
                data = base64.b64encode(images[block.key]).decode("ascii")
                out.append(f"<figure><img alt='{_e(block.caption)}' src='data:image/png;base64,{data}'>"
                           f"<p class='caption'>{_e(block.caption)}</p></figure>")
            else:
                out.append(f"<p class='caption'>〔{_e(block.caption)}：图表未生成〕</p>")
    if briefing.appendix:
        out.append("<div class='appendix'><h2>附件：数据溯源</h2>")
        out.append("<p class='note'>下列每项列出正文数字所依据的查询条件和帖子（按所述顺序取前若干条），"
                   "可在台账中按同样条件复核。</p>")
        for entry in briefing.appendix:
            total = f"（共{entry.total_posts}条，列出{len(entry.posts)}条）" if entry.total_posts is not None else ""
            out.append(f"<h3>{_e(entry.ref)} {_e(entry.title)}{_e(total)}</h3>")
            out.append("<table class='filters'>" + "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>"
                                                           for k, v in entry.filters) + "</table>")
            if len(entry.posts):
                out.append(_html_table(POST_TABLE_COLUMNS, _post_rows(entry.posts), link_column=6))
        out.append("</div>")
    out.append("</body></html>")
    return "\n".join(out)


def _html_table(columns: list[str], rows: list[list], link_column: int | None = None) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    ids = {i for i, c in enumerate(columns) if c in ("帖子ID", "事件编号", "源帖ID", "发布时间", "时间")}
    short = {i for i, c in enumerate(columns) if c in ("序号", "等级", "状态", "级别", "情感", "深度", "规模")}

    def cell(i: int, value) -> str:
        if i == link_column:
            return f"<td class='link'>{_safe_link(value)}</td>"
        if i in ids or i in short:
            return f"<td class='{'id' if i in ids else 'nw'}'>{_e(value)}</td>"
        return f"<td>{_e(value)}</td>"
    body = "".join("<tr>" + "".join(cell(i, v) for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class RendererMissing(RuntimeError):
    """No Chromium to print the PDF with."""


def html_to_pdf(html_text: str, path: Path, timeout: float = 120) -> Path:
    """Print HTML to PDF with headless Chromium (no network, throwaway profile)."""
    browser = chromium_path()
    if browser is None:
        raise RendererMissing("未找到Chromium，无法生成PDF")
    with tempfile.TemporaryDirectory(prefix="briefing-") as tmp:
        source = Path(tmp) / "briefing.html"
        source.write_text(html_text, encoding="utf-8")
        target = Path(path).resolve()
        command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                   "--disable-component-update", "--disable-sync", "--no-first-run", "--no-pdf-header-footer",
                   f"--user-data-dir={Path(tmp) / 'profile'}", f"--print-to-pdf={target}", source.as_uri()]
        result = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
        if not target.exists() or target.stat().st_size == 0:
            detail = _clip(result.stderr.decode(errors="replace"), 200)
            raise RuntimeError(f"Chromium生成PDF失败（退出码{result.returncode}）：{detail}")
    return target


# -- rendering: DOCX -----------------------------------------------------------------------------------------------
def to_docx(briefing: Briefing, path: Path, images: dict[str, bytes] | None = None) -> Path:
    """A Word document in the shape of a 红头 briefing: masthead, red rule, numbered sections, tables, charts."""
    from io import BytesIO

    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt, RGBColor

    images = images or {}
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)

    def fonts(run_or_style, east_asia: str, size: float | None = None, bold: bool | None = None, colour=None):
        font = run_or_style.font
        font.name = "Times New Roman"
        element = run_or_style.element if hasattr(run_or_style, "element") else run_or_style._element
        rpr = element.get_or_add_rPr()
        rfonts = rpr.find(qn("w:rFonts"))
        if rfonts is None:
            rfonts = OxmlElement("w:rFonts")
            rpr.append(rfonts)
        rfonts.set(qn("w:eastAsia"), east_asia)
        if size:
            font.size = Pt(size)
        if bold is not None:
            font.bold = bold
        if colour:
            font.color.rgb = RGBColor.from_string(colour)

    fonts(document.styles["Normal"], "仿宋", 12)
    for name, size in (("Heading 1", 15), ("Heading 2", 12.5)):
        style = document.styles[name]
        fonts(style, "黑体", size, True, "000000")
        style.paragraph_format.space_before, style.paragraph_format.space_after = Pt(10), Pt(4)

    def clean(value) -> str:
        if value is None or (not isinstance(value, str | list) and pd.isna(value)):
            return ""
        return CONTROL_CHARS.sub("", str(value))

    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    fonts(title.add_run(briefing.title), "宋体", 28, True, "C00000")
    issue = document.add_paragraph()
    issue.alignment = WD_ALIGN_PARAGRAPH.CENTER
    issue.add_run(briefing.issue)
    unit = document.add_paragraph()
    unit.paragraph_format.tab_stops.add_tab_stop(Cm(15.6), alignment=2)  # right-aligned tab
    unit.add_run(f"{briefing.unit}\t{_cn_date(briefing.generated_at.date())}")
    rule = unit._p.get_or_add_pPr()
    border = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "18"), ("w:space", "4"), ("w:color", "C00000")):
        bottom.set(qn(key), value)
    border.append(bottom)
    rule.append(border)
    period = document.add_paragraph()
    period.alignment = WD_ALIGN_PARAGRAPH.CENTER
    fonts(period.add_run(briefing.period_label), "黑体", 14, True)

    for warning in briefing.warnings:
        fonts(document.add_paragraph().add_run(f"注意：{warning}"), "黑体", 11, True, "B00000")

    def table(columns: list[str], rows: list[list], size: float = 9):
        t = document.add_table(rows=1, cols=len(columns))
        t.style = "Table Grid"
        t.alignment = WD_TABLE_ALIGNMENT.CENTER
        for cell, name in zip(t.rows[0].cells, columns, strict=True):
            cell.text = ""
            fonts(cell.paragraphs[0].add_run(clean(name)), "黑体", size, True)
        for row in rows:
            cells = t.add_row().cells
            for cell, value in zip(cells, row, strict=True):
                fonts(cell.paragraphs[0].add_run(clean(value)), "仿宋", size)
        return t

    def caption(text: str):
        p = document.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        fonts(p.add_run(clean(text)), "仿宋", 9)

    for block in briefing.blocks:
        if isinstance(block, Heading):
            document.add_heading(clean(block.text), level=block.level)
        elif isinstance(block, Paragraph):
            p = document.add_paragraph()
            if block.style == "body":
                p.paragraph_format.first_line_indent = Pt(24)
            fonts(p.add_run(clean(block.text)), "仿宋", 10 if block.style == "note" else 12)
        elif isinstance(block, Table):
            table(block.columns, block.rows)
            if block.caption:
                caption(block.caption)
        elif isinstance(block, Figure):
            if block.key in images:
                document.add_picture(BytesIO(images[block.key]), width=Cm(15.5))
                document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
                caption(block.caption)
            else:
                caption(f"〔{block.caption}：图表未生成〕")
    if briefing.appendix:
        document.add_page_break()
        document.add_heading("附件：数据溯源", level=1)
        p = document.add_paragraph()
        fonts(p.add_run("下列每项列出正文数字所依据的查询条件和帖子（按所述顺序取前若干条），可在台账中按同样条件复核。"),
              "仿宋", 10)
        for entry in briefing.appendix:
            total = f"（共{entry.total_posts}条，列出{len(entry.posts)}条）" if entry.total_posts is not None else ""
            document.add_heading(f"{entry.ref} {entry.title}{total}", level=2)
            table(["条件", "取值"], [list(pair) for pair in entry.filters])
            if len(entry.posts):
                document.add_paragraph()
                table(POST_TABLE_COLUMNS, _post_rows(entry.posts), 8)
    document.save(path)
    return Path(path)


# -- orchestration ---------------------------------------------------------------------------------------------
def build(store: Store, kind: str, *, date: str | None = None, week: str | None = None, month: str | None = None,
          incident_id: str | None = None, unit: str = DEFAULT_UNIT, as_of: pd.Timestamp | None = None,
          progress: Progress | None = None) -> Briefing:
    if kind == "incident":
        if not incident_id:
            raise ValueError("专报须给出事件编号")
        return build_incident(store, incident_id, unit, as_of, progress)
    if kind == "daily":
        period = day_period(dt.date.fromisoformat(date)) if date else default_period(store, kind)
    elif kind == "weekly":
        period = week_period(week) if week else (_week_of(dt.date.fromisoformat(date)) if date
                                                  else default_period(store, kind))
    elif kind == "monthly":
        period = month_period(month) if month else (_month_of(dt.date.fromisoformat(date)) if date
                                                     else default_period(store, kind))
    else:
        raise ValueError(f"未知的报告类型：{kind}（可选：{'、'.join(KINDS)}）")
    return build_period(store, period, unit, as_of, progress)


def write(briefing: Briefing, out_dir: Path, formats: tuple[str, ...] = ("docx", "pdf", "png", "html"),
          progress: Progress | None = None, charts: bool = True) -> dict[str, list[Path]]:
    """Render the briefing into `out_dir`; returns the files per format. Missing Chromium degrades, never raises.

    `charts=False` skips chart rendering (about 6 s of browser start-up plus 1 s a chart) and says so in the
    document.
    """
    say = progress or (lambda _message: None)
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"未知的格式：{'、'.join(sorted(unknown))}（可选：{'、'.join(FORMATS)}）")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, list[Path]] = {}
    timings: dict[str, float] = {}
    started = time.perf_counter()
    pdf_bytes = None
    if charts:
        say(f"渲染图表（{len(briefing.figures())}幅）" + ("并打印PDF" if "pdf" in formats else ""))
        images, pdf_bytes = _browser_render(briefing, pdf="pdf" in formats)
    else:
        images = {}
        if briefing.figures():
            briefing.warnings.append("按要求未生成图表（--no-charts），文档中仅保留表格和文字。")
    timings["png+pdf" if pdf_bytes else "png"] = time.perf_counter() - started
    if "png" in formats:
        written["png"] = []
        for number, item in enumerate(briefing.figures(), start=1):
            if item.key in images:
                target = out_dir / f"{briefing.stem}_fig{number}_{item.key}.png"
                target.write_bytes(images[item.key])
                written["png"].append(target)
    page = to_html(briefing, images) if {"html", "pdf"} & set(formats) else ""
    if "html" in formats:
        target = out_dir / f"{briefing.stem}.html"
        target.write_text(page, encoding="utf-8")
        written["html"] = [target]
    if "docx" in formats:
        say("生成DOCX")
        moment = time.perf_counter()
        written["docx"] = [to_docx(briefing, out_dir / f"{briefing.stem}.docx", images)]
        timings["docx"] = time.perf_counter() - moment
    if "pdf" in formats and pdf_bytes:
        target = out_dir / f"{briefing.stem}.pdf"
        target.write_bytes(pdf_bytes)
        written["pdf"] = [target]
    elif "pdf" in formats:
        say("生成PDF")
        moment = time.perf_counter()
        try:
            written["pdf"] = [html_to_pdf(page, out_dir / f"{briefing.stem}.pdf")]
        except (RendererMissing, RuntimeError, subprocess.TimeoutExpired) as exc:
            briefing.warnings.append(f"PDF未生成：{exc}")
            written["pdf"] = []
        timings["pdf"] = time.perf_counter() - moment
    briefing.timings.update(timings)
    return written


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
    listed = incidents.list_incidents(store, as_of)
    listed = listed[(listed["first_seen_at"] >= f.start_ts) & (listed["first_seen_at"] < f.end_ts)].copy()
    events = store.query("SELECT incident_id, step, occurred_at FROM incident_events WHERE occurred_at <= ?",
                         [as_of.to_pydatetime()])
    met, missed = [], []
    for incident in listed.itertuples():
        clocks = _clocks(incident, events, as_of)
        met.append(int(clocks["status"].isin(["按时", "超目标未超时限"]).sum()))
        missed.append(int(clocks["status"].isin(["逾期完成", "已逾期"]).sum()))
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


__all__ = [
    "AppendixEntry", "Briefing", "Figure", "Heading", "Paragraph", "Period", "Table", "build", "build_incident",
    "build_period", "chromium_path", "cli_brief", "cli_export", "day_period", "export_ledger", "html_to_pdf",
    "ledger_frames", "month_period", "render_pngs", "to_docx", "to_html",
    "week_period", "write",
]
