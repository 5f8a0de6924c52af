"""What every rule kind's evaluator shares: sensitive-period tightening, windowed sums over sorted times, scope
SQL, firing rows, and the Chinese phrases of alert messages."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis import sensitive
from analysis.alerts.model import FIRE_COLUMNS, SCOPES
from analysis.config import TIMEZONE

SCOPE_SQL = {"all": "'全部'", "topic": "topic", "channel": "channel", "region": "coalesce(region, '未知')"}


def fmt_num(x: float) -> str:
    """12 -> '12', 12.5 -> '12.5', for thresholds in messages."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{x:.0f}" if abs(x - round(x)) < 1e-9 else f"{x:.1f}"


def window_zh(minutes: int) -> str:
    if minutes % 60 == 0:
        return f"近{minutes // 60}小时"
    return f"近{minutes}分钟"


def subject_zh(scope: str, subject: str) -> str:
    return "全部信息" if scope == "all" else f"{SCOPES[scope]}【{subject}】"


def sensitive_factors(times: pd.DatetimeIndex, periods) -> tuple[np.ndarray, list[str | None]]:
    """Sensitive-period factor and period name at each time (looked up once per calendar day)."""
    days = times.tz_convert(TIMEZONE).normalize()
    lookup = {}
    for day in days.unique():
        period = sensitive.active_period(day, periods)
        lookup[day] = (period.factor, period.name) if period else (1.0, None)
    pairs = [lookup[d] for d in days]
    return np.array([p[0] for p in pairs], dtype=float), [p[1] for p in pairs]


def sensitive_note(factor: float, name: str | None) -> str:
    return f"（敏感时期“{name}”，阈值已收紧至{factor:.0%}）" if name and factor < 1 else ""


def tighten(threshold: float, factor: float, count: bool) -> float:
    value = threshold * factor
    return float(math.ceil(value - 1e-9)) if count else value


def to_ns(value):
    """Nanoseconds since the epoch (DatetimeIndex -> int64 array) or in a Timedelta; pandas 3 may hold µs."""
    if isinstance(value, pd.Timedelta):
        return int(value.as_unit("ns").value)
    return pd.DatetimeIndex(value).as_unit("ns").asi8


def hour_bucket(at: pd.Timestamp) -> str:
    return at.floor("h").isoformat()


def window_fire(at, window, subject, value, threshold, message: str, details: dict) -> list:
    """One firing of a windowed rule (threshold, keyword), in FIRE_COLUMNS order, deduped per hour bucket."""
    return [at, str(subject), float(value), float(threshold), at - window, at, hour_bucket(at), message, details]


def no_fires() -> pd.DataFrame:
    return pd.DataFrame(columns=FIRE_COLUMNS)


def scope_filter(p: dict, alias_sql: str) -> tuple[str, list]:
    values = p.get("values") or []
    if not values or p.get("scope", "all") == "all":
        return "", []
    return f" AND {alias_sql} IN ({', '.join('?' for _ in values)})", list(values)


def query_filters(scope: str, subject: str, start: pd.Timestamp, end: pd.Timestamp, **extra) -> dict:
    """How to find the posts behind an alert: the same fields the dashboard's Filters use."""
    filters = {"created_at_from": start.isoformat(), "created_at_to": end.isoformat(), **extra}
    if scope != "all":
        filters[scope] = [subject]
    return filters


def cumulative(ts: np.ndarray, columns: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(ts, kind="stable")
    cums = np.vstack([np.concatenate([[0.0], np.cumsum(np.asarray(c, float)[order])]) for c in columns])
    return ts[order], cums


def window_sums(ts_sorted: np.ndarray, cums: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Sums of each cumulated column over [start, end): shape (columns, len(starts))."""
    i0 = np.searchsorted(ts_sorted, starts, side="left")
    i1 = np.searchsorted(ts_sorted, ends, side="left")
    return cums[:, i1] - cums[:, i0]

