"""The briefing document model (headings, paragraphs, tables, figures, appendix entries), the periods a
briefing covers, and the small formatting helpers every part shares."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go

from analysis import metrics
from analysis.config import TIMEZONE
from analysis.exports import CONTROL_CHARS
from analysis.filters import Filters
from analysis.store import Store

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
