"""One Filters object for every view: parsed from query params, validated, turned into SQL + params."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace

import pandas as pd

from analysis.config import TIMEZONE

GRAINS = ("hour", "day", "week")
GROUPINGS = ("none", "topic", "channel", "region", "site")
DEFAULT_DAYS = 30
MAX_LIST_VALUES = 50


@dataclass(frozen=True)
class Filters:
    """A time range of whole days (inclusive, Asia/Shanghai) plus optional channel/topic/region lists."""

    start: dt.date
    end: dt.date
    grain: str = "day"
    group_by: str = "none"
    channels: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    until: pd.Timestamp | None = None   # an earlier (exclusive) end inside the last day: a period still running
    merge_similar: bool = False          # 合并相似: each story once, as its first post (analysis.near_dupes)

    def __post_init__(self):
        if self.start > self.end:
            raise ValueError("开始日期不能晚于结束日期")
        if self.grain not in GRAINS:
            raise ValueError(f"未知的时间粒度：{self.grain}")
        if self.group_by not in GROUPINGS:
            raise ValueError(f"未知的分组方式：{self.group_by}")

    @property
    def start_ts(self) -> pd.Timestamp:
        return pd.Timestamp(self.start, tz=TIMEZONE)

    @property
    def end_ts(self) -> pd.Timestamp:
        """Exclusive upper bound: midnight after the last day, or `until` when that is earlier."""
        midnight = pd.Timestamp(self.end, tz=TIMEZONE) + pd.Timedelta(days=1)
        return midnight if self.until is None else min(midnight, self.until)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous_period(self) -> Filters:
        """The same number of days immediately before: the base for every 'change vs previous'."""
        span = dt.timedelta(days=self.days)
        return replace(self, start=self.start - span, end=self.end - span,
                       until=None if self.until is None else self.until - span)

    def where(self, alias: str = "") -> tuple[str, list]:
        """SQL predicate and its parameters; values are always bound, never spliced into the text."""
        p = f"{alias}." if alias else ""
        clauses = [f"{p}created_at >= ?", f"{p}created_at < ?"]
        params: list = [self.start_ts.to_pydatetime(), self.end_ts.to_pydatetime()]
        for column, values in (("channel", self.channels), ("topic", self.topics), ("region", self.regions)):
            if values:
                clauses.append(f"{p}{column} IN ({', '.join('?' for _ in values)})")
                params.extend(values)
        if self.merge_similar:
            clauses.append(f"({p}dup_cluster IS NULL OR {p}dup_cluster = {p}post_id)")
        return " AND ".join(clauses), params

    def to_query_params(self) -> dict[str, str | list[str]]:
        params: dict[str, str | list[str]] = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        if self.grain != "day":
            params["grain"] = self.grain
        if self.group_by != "none":
            params["by"] = self.group_by
        for key, values in (("channel", self.channels), ("topic", self.topics), ("region", self.regions)):
            if values:
                params[key] = list(values)
        if self.merge_similar:
            params["merge"] = "1"
        return params

    @classmethod
    def from_query_params(cls, params: Mapping[str, str | list[str]], latest: dt.date) -> Filters:
        """Build from URL parameters; anything malformed falls back to the default rather than failing.

        `latest` is the newest day with data, so that an imported archive opens on its own dates.
        """
        def one(key: str) -> str | None:
            value = params.get(key)
            if isinstance(value, list):
                value = value[-1] if value else None
            return value

        def many(key: str) -> tuple[str, ...]:
            value = params.get(key)
            values = value if isinstance(value, list) else ([value] if value else [])
            return tuple(dict.fromkeys(v for v in values if v))[:MAX_LIST_VALUES]

        end = _parse_date(one("to")) or latest
        start = _parse_date(one("from")) or end - dt.timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            start, end = end, start
        grain = one("grain") if one("grain") in GRAINS else "day"
        group_by = one("by") if one("by") in GROUPINGS else "none"
        return cls(start, end, grain, group_by, many("channel"), many("topic"), many("region"),
                   merge_similar=one("merge") == "1")


def _parse_date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None
