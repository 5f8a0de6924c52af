"""Alert rules as data: evaluation that explains itself, dedupe and cooldown, an alert log, back-testing.

Every rule kind is computed by one function ``_fire_<kind>(store, rule, times, ctx)`` that returns the
firings of that rule at *each* of the evaluation times in one pass (series are read once with SQL and
scanned with numpy). `evaluate` calls it with the single time ``now``; `backtest` with every step of a
history, then replays dedupe and cooldown in memory. So the live alert and its back-test can never
disagree about what fires.

Cooldown is measured from the *latest* firing merged into an open alert (not from the first): a
condition that keeps holding stays one alert with a growing ``merged_count`` instead of a new alert
every ``cooldown_minutes`` - the flood users of other tools complain about.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import sensitive
from analysis.config import TIMEZONE
from analysis.metrics import heat_index, wilson_interval
from analysis.spikes import HOURLY, spike_scores
from analysis.store import Store, open_store, seed_new_databases

log = logging.getLogger(__name__)

KINDS: dict[str, str] = {
    "threshold": "指标阈值",
    "spike": "发帖突增",
    "keyword": "关键词监测",
    "silence": "渠道断流",
    "grade_raised": "事件定级上调",
    "deadline": "处置时限",
}
METRICS: dict[str, str] = {
    "posts": "发帖量",
    "negative": "负面信息数",
    "negative_ratio": "负面占比",
    "heat": "热度指数",
    "velocity": "发帖速度（条/小时）",
}
COUNT_METRICS = ("posts", "negative")  # integer counts: a tightened threshold is rounded up
SCOPES: dict[str, str] = {"all": "全部", "topic": "话题", "channel": "渠道", "region": "地域"}
_SCOPE_SQL = {"all": "'全部'", "topic": "topic", "channel": "channel", "region": "coalesce(region, '未知')"}
SEVERITIES: dict[str, str] = {"high": "高", "medium": "中", "low": "低"}
STATES: dict[str, str] = {"new": "新预警", "acknowledged": "已确认", "closed": "已关闭"}
_TRANSITIONS = {"new": {"acknowledged", "closed"}, "acknowledged": {"closed"}, "closed": set()}
DEFAULT_TIER_ORDERS: tuple[tuple[str, ...], ...] = (
    ("三级", "二级", "一级"),  # lowest first
    ("一般", "较大", "重大", "特别重大"),
)
BACKTEST_COLUMNS = ["rule_id", "rule_name", "fired_at", "subject", "value", "threshold", "message", "merged"]
_RULE_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_SPIKE_FIELDS = {f.name for f in dataclasses.fields(HOURLY)}
_DEFAULT_SEVERITY = {
    "threshold": "medium",
    "spike": "medium",
    "keyword": "high",
    "silence": "medium",
    "grade_raised": "high",
    "deadline": "high",
}
_FIRE_COLUMNS = [
    "at",
    "subject",
    "value",
    "threshold",
    "window_start",
    "window_end",
    "bucket",
    "message",
    "details",
]


@dataclass(frozen=True)
class Rule:
    """One alert rule; `params` depend on `kind` (see `PARAMS`)."""

    rule_id: str
    name: str
    kind: str
    params: dict = field(default_factory=dict)
    enabled: bool = True
    cooldown_minutes: int = 60

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Rule:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class Alert:
    """One firing of a rule: what was measured, against which threshold, over which window."""

    rule_id: str
    rule_name: str
    kind: str
    subject: str
    fired_at: pd.Timestamp
    window_start: pd.Timestamp | None
    window_end: pd.Timestamp | None
    value: float
    threshold: float
    severity: str
    message: str
    details: dict
    dedupe_key: str
    alert_id: int | None = None

    def as_dict(self) -> dict:
        data = dataclasses.asdict(self)
        for key in ("fired_at", "window_start", "window_end"):
            data[key] = None if data[key] is None else pd.Timestamp(data[key]).isoformat()
        return data


# Allowed params per kind: name -> (required, checker). Checkers return an error message or None.
def _positive(value) -> bool:
    return (
        isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    )


def _non_negative(value) -> bool:
    return (
        isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0
    )


def _whole(value, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _str_list(value) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(v, str) and v.strip() for v in value)


PARAMS: dict[str, dict[str, bool]] = {  # kind -> {param: required}
    "threshold": {
        "metric": True,
        "window_minutes": True,
        "threshold": True,
        "scope": False,
        "values": False,
        "min_posts": False,
        "baseline_windows": False,
        "severity": False,
    },
    "spike": {"scope": False, "values": False, "detector": False, "overrides": False, "severity": False},
    "keyword": {
        "words": True,
        "regex": False,
        "min_count": False,
        "window_minutes": False,
        "scope": False,
        "values": False,
        "severity": False,
    },
    "silence": {
        "hours": True,
        "channels": False,
        "min_daily_posts": False,
        "min_expected_posts": False,
        "lookback_days": False,
        "severity": False,
    },
    "grade_raised": {"tier_orders": False, "window_minutes": False, "severity": False},
    "deadline": {"warn_minutes": False, "severity": False},
}


def validate_rule(rule: Rule) -> list[str]:
    """Every problem with the rule as a Chinese sentence naming the field; empty when the rule is valid."""
    errors: list[str] = []
    if not isinstance(rule.rule_id, str) or not _RULE_ID.match(rule.rule_id):
        errors.append("规则编号（rule_id）不能为空，且只能包含字母、数字、下划线、点和短横线（最长64字符）")
    if not isinstance(rule.name, str) or not rule.name.strip():
        errors.append("规则名称（name）不能为空")
    if not _whole(rule.cooldown_minutes, 0):
        errors.append("冷却时间（cooldown_minutes）必须是不小于0的整数（分钟）")
    if not isinstance(rule.enabled, bool):
        errors.append("启用状态（enabled）必须是 true 或 false")
    if rule.kind not in KINDS:
        errors.append(f"未知的规则类型（kind）：{rule.kind}；可选：{'、'.join(KINDS)}")
        return errors
    if not isinstance(rule.params, dict):
        errors.append("规则参数（params）必须是键值对象")
        return errors
    p = rule.params
    allowed = PARAMS[rule.kind]
    for key in p:
        if key not in allowed:
            errors.append(f"未知参数（params.{key}）：{KINDS[rule.kind]}规则可用参数为 {'、'.join(allowed)}")
    for key, required in allowed.items():
        if required and key not in p:
            errors.append(f"缺少必填参数（params.{key}）")
    if "severity" in p and p["severity"] not in SEVERITIES:
        errors.append(f"预警级别（params.severity）应为 {'、'.join(SEVERITIES)} 之一")
    if "scope" in p and p["scope"] not in SCOPES:
        errors.append(f"统计范围（params.scope）应为 {'、'.join(SCOPES)} 之一")
    if "values" in p and not _str_list(p["values"]):
        errors.append("范围取值（params.values）必须是非空字符串列表")
    if "window_minutes" in p and not _whole(p["window_minutes"], 1):
        errors.append("统计窗口（params.window_minutes）必须是正整数（分钟）")
    checker = {
        "threshold": _check_threshold,
        "spike": _check_spike,
        "keyword": _check_keyword,
        "silence": _check_silence,
        "grade_raised": _check_grade,
        "deadline": _check_deadline,
    }[rule.kind]
    errors.extend(checker(p))
    return errors


def _check_threshold(p: dict) -> list[str]:
    errors = []
    if "metric" in p and p["metric"] not in METRICS:
        errors.append(f"未知的指标（params.metric）：{p['metric']}；可选：{'、'.join(METRICS)}")
    if "threshold" in p:
        if not _positive(p["threshold"]):
            errors.append("阈值（params.threshold）必须是大于0的数")
        elif p.get("metric") == "negative_ratio" and p["threshold"] > 1:
            errors.append("负面占比阈值（params.threshold）应在0到1之间，例如 0.6 表示60%")
    if "min_posts" in p and not _whole(p["min_posts"], 1):
        errors.append("最少帖数（params.min_posts）必须是正整数")
    if "baseline_windows" in p and not _whole(p["baseline_windows"], 1):
        errors.append("基线窗口数（params.baseline_windows）必须是正整数")
    return errors


def _check_spike(p: dict) -> list[str]:
    errors = []
    if "detector" in p and p["detector"] not in ("volume", "negative_ratio"):
        errors.append("检测方式（params.detector）应为 volume（发帖量）或 negative_ratio（负面占比）")
    overrides = p.get("overrides", {})
    if not isinstance(overrides, dict):
        errors.append("检测参数（params.overrides）必须是键值对象")
        return errors
    for key, value in overrides.items():
        if key not in _SPIKE_FIELDS:
            errors.append(f"未知的突增检测参数（params.overrides.{key}）")
        elif not _non_negative(value):
            errors.append(f"突增检测参数（params.overrides.{key}）必须是不小于0的数")
    return errors


def _check_keyword(p: dict) -> list[str]:
    errors = []
    if "regex" in p and not isinstance(p["regex"], bool):
        errors.append("正则开关（params.regex）必须是 true 或 false")
    if "words" in p:
        if not _str_list(p["words"]) or not p["words"]:
            errors.append("关键词（params.words）必须是非空的字符串列表")
        elif p.get("regex") is True:
            for word in p["words"]:
                try:
                    re.compile(word)
                except re.error as exc:
                    errors.append(f"关键词（params.words）中“{word}”不是有效的正则表达式：{exc}")
                else:
                    if re.fullmatch(word, ""):
                        errors.append(f"关键词（params.words）中“{word}”能匹配空文本，会让每条信息都命中")
    if "min_count" in p and not _whole(p["min_count"], 1):
        errors.append("最少命中条数（params.min_count）必须是正整数")
    return errors


def _check_silence(p: dict) -> list[str]:
    errors = []
    if "hours" in p and not _positive(p["hours"]):
        errors.append("断流时长（params.hours）必须是大于0的数（小时）")
    if "channels" in p and not _str_list(p["channels"]):
        errors.append("监测渠道（params.channels）必须是非空字符串列表")
    if "min_daily_posts" in p and not _non_negative(p["min_daily_posts"]):
        errors.append("日均帖数下限（params.min_daily_posts）不能为负数")
    if "min_expected_posts" in p and not _non_negative(p["min_expected_posts"]):
        errors.append("同时段预期帖数下限（params.min_expected_posts）不能为负数")
    if "lookback_days" in p and not _whole(p["lookback_days"], 1):
        errors.append("回看天数（params.lookback_days）必须是正整数")
    return errors


def _check_grade(p: dict) -> list[str]:
    orders = p.get("tier_orders", DEFAULT_TIER_ORDERS)
    if (
        not isinstance(orders, list | tuple)
        or not orders
        or not all(_str_list(o) and len(o) >= 2 for o in orders)
    ):
        return ["级别顺序（params.tier_orders）必须是列表的列表，每个列表按从低到高列出至少两个级别"]
    return []


def _check_deadline(p: dict) -> list[str]:
    if "warn_minutes" in p and not _non_negative(p["warn_minutes"]):
        return ["提前提醒时间（params.warn_minutes）不能为负数（分钟）"]
    return []


# -- persistence of rules --------------------------------------------------------------------------


def _audit(actor: str, action: str, target: str | None, details: dict) -> tuple[str, list]:
    return (
        "INSERT INTO audit_log (actor, action, target, details) VALUES (?, ?, ?, ?)",
        [actor, action, target, json.dumps(details, ensure_ascii=False, default=str)],
    )


def save_rule(store: Store, rule: Rule, actor: str) -> None:
    """Insert or replace a rule; an invalid rule raises ValueError listing every problem in Chinese."""
    errors = validate_rule(rule)
    if errors:
        raise ValueError("；".join(errors))
    existed = bool(store.scalar("SELECT count(*) FROM alert_rules WHERE rule_id = ?", [rule.rule_id]))
    store.execute(
        [
            (
                """INSERT INTO alert_rules
                   (rule_id, name, kind, params, enabled, cooldown_minutes, updated_at, updated_by)
            VALUES (?, ?, ?, ?, ?, ?, now(), ?)
            ON CONFLICT (rule_id) DO UPDATE SET name = excluded.name, kind = excluded.kind,
                params = excluded.params, enabled = excluded.enabled,
                cooldown_minutes = excluded.cooldown_minutes, updated_at = now(),
                updated_by = excluded.updated_by""",
                [
                    rule.rule_id,
                    rule.name,
                    rule.kind,
                    json.dumps(rule.params, ensure_ascii=False),
                    rule.enabled,
                    rule.cooldown_minutes,
                    actor,
                ],
            ),
            _audit(actor, "rule.update" if existed else "rule.create", rule.rule_id, rule.to_dict()),
        ]
    )


def load_rules(store: Store, enabled_only: bool = False) -> list[Rule]:
    frame = store.query(
        "SELECT rule_id, name, kind, params, enabled, cooldown_minutes FROM alert_rules"
        + (" WHERE enabled" if enabled_only else "")
        + " ORDER BY rule_id"
    )
    return [
        Rule(r.rule_id, r.name, r.kind, json.loads(r.params), bool(r.enabled), int(r.cooldown_minutes))
        for r in frame.itertuples()
    ]


def get_rule(store: Store, rule_id: str) -> Rule | None:
    return next((r for r in load_rules(store) if r.rule_id == rule_id), None)


def delete_rule(store: Store, rule_id: str, actor: str) -> bool:
    """Remove a rule (its past alerts stay in the log); False when there was no such rule."""
    rule = get_rule(store, rule_id)
    if rule is None:
        return False
    store.execute(
        [
            ("DELETE FROM alert_rules WHERE rule_id = ?", [rule_id]),
            _audit(actor, "rule.delete", rule_id, rule.to_dict()),
        ]
    )
    return True


def set_rule_enabled(store: Store, rule_id: str, enabled: bool, actor: str) -> bool:
    """Enable or disable a rule; False when there was no such rule."""
    if not store.scalar("SELECT count(*) FROM alert_rules WHERE rule_id = ?", [rule_id]):
        return False
    store.execute(
        [
            (
                "UPDATE alert_rules SET enabled = ?, updated_at = now(), updated_by = ? WHERE rule_id = ?",
                [enabled, actor, rule_id],
            ),
            _audit(actor, "rule.enable" if enabled else "rule.disable", rule_id, {"enabled": enabled}),
        ]
    )
    return True


DEFAULT_RULES: tuple[Rule, ...] = (
    Rule(
        "neg_ratio_topic",
        "负面占比突增",
        "threshold",
        {
            "metric": "negative_ratio",
            "scope": "topic",
            "window_minutes": 360,
            "threshold": 0.6,
            "min_posts": 30,
            "severity": "high",
        },
        cooldown_minutes=360,
    ),
    Rule(
        "topic_spike",
        "话题发帖量突增",
        "spike",
        {"scope": "topic", "detector": "volume"},
        cooldown_minutes=180,
    ),
    Rule(
        "casualty_keywords",
        "伤亡/群体性事件关键词",
        "keyword",
        {
            "words": [
                "爆炸",
                "死亡",
                "身亡",
                "遇难",
                "伤亡",
                "跳楼",
                "坠楼",
                "聚集",
                "围堵",
                "讨薪",
                "食物中毒",
                "群体性",
            ],
            "min_count": 3,
            "window_minutes": 60,
            "severity": "high",
        },
        cooldown_minutes=240,
    ),
    Rule(
        "channel_silence",
        "渠道断流",
        "silence",
        {"hours": 6, "min_expected_posts": 10, "lookback_days": 7},
        cooldown_minutes=720,
    ),
    Rule("grade_raised", "事件定级上调", "grade_raised", {"window_minutes": 1440}, cooldown_minutes=0),
    Rule("deadline_overdue", "处置时限逾期", "deadline", {"warn_minutes": 0}, cooldown_minutes=0),
)


def install_default_rules(store: Store, actor: str = "system") -> int:
    """Add the missing default rules (an edited rule is never overwritten); returns how many were added."""
    present = set(store.query("SELECT rule_id FROM alert_rules")["rule_id"])
    added = 0
    for rule in DEFAULT_RULES:
        if rule.rule_id not in present:
            save_rule(store, rule, actor)
            added += 1
    return added


seed_new_databases(install_default_rules)  # a new database watches with the default rules from the start


# -- evaluation ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    periods: Sequence[sensitive.SensitivePeriod]
    detailed: bool  # live evaluation: attach sample post ids; back-test: numbers only


def _ts(value) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize(TIMEZONE) if ts.tzinfo is None else ts.tz_convert(TIMEZONE)


def _num(x: float) -> str:
    """12 -> '12', 12.5 -> '12.5', for thresholds in messages."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{x:.0f}" if abs(x - round(x)) < 1e-9 else f"{x:.1f}"


def _window_zh(minutes: int) -> str:
    if minutes % 60 == 0:
        return f"近{minutes // 60}小时"
    return f"近{minutes}分钟"


def _subject_zh(scope: str, subject: str) -> str:
    return "全部信息" if scope == "all" else f"{SCOPES[scope]}【{subject}】"


def _factors(times: pd.DatetimeIndex, periods) -> tuple[np.ndarray, list[str | None]]:
    """Sensitive-period factor and period name at each time (looked up once per calendar day)."""
    days = times.tz_convert(TIMEZONE).normalize()
    lookup = {}
    for day in days.unique():
        period = sensitive.active_period(day, periods)
        lookup[day] = (period.factor, period.name) if period else (1.0, None)
    pairs = [lookup[d] for d in days]
    return np.array([p[0] for p in pairs], dtype=float), [p[1] for p in pairs]


def _sensitive_note(factor: float, name: str | None) -> str:
    return f"（敏感时期“{name}”，阈值已收紧至{factor:.0%}）" if name and factor < 1 else ""


def _tighten(threshold: float, factor: float, count: bool) -> float:
    value = threshold * factor
    return float(math.ceil(value - 1e-9)) if count else value


def _ns(value):
    """Nanoseconds since the epoch (DatetimeIndex -> int64 array) or in a Timedelta; pandas 3 may hold µs."""
    if isinstance(value, pd.Timedelta):
        return int(value.as_unit("ns").value)
    return pd.DatetimeIndex(value).as_unit("ns").asi8


def _bucket(at: pd.Timestamp) -> str:
    return at.floor("h").isoformat()


def _window_fire(at, window, subject, value, threshold, message: str, details: dict) -> list:
    """One firing of a windowed rule (threshold, keyword), in _FIRE_COLUMNS order, deduped per hour bucket."""
    return [at, str(subject), float(value), float(threshold), at - window, at, _bucket(at), message, details]


def _empty_fires() -> pd.DataFrame:
    return pd.DataFrame(columns=_FIRE_COLUMNS)


def _scope_filter(p: dict, alias_sql: str) -> tuple[str, list]:
    values = p.get("values") or []
    if not values or p.get("scope", "all") == "all":
        return "", []
    return f" AND {alias_sql} IN ({', '.join('?' for _ in values)})", list(values)


def _query_filters(scope: str, subject: str, start: pd.Timestamp, end: pd.Timestamp, **extra) -> dict:
    """How to find the posts behind an alert: the same fields the dashboard's Filters use."""
    filters = {"created_at_from": start.isoformat(), "created_at_to": end.isoformat(), **extra}
    if scope != "all":
        filters[scope] = [subject]
    return filters


def _cumulative(ts: np.ndarray, columns: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(ts, kind="stable")
    cums = np.vstack([np.concatenate([[0.0], np.cumsum(np.asarray(c, float)[order])]) for c in columns])
    return ts[order], cums


def _window_sums(ts_sorted: np.ndarray, cums: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Sums of each cumulated column over [start, end): shape (columns, len(starts))."""
    i0 = np.searchsorted(ts_sorted, starts, side="left")
    i1 = np.searchsorted(ts_sorted, ends, side="left")
    return cums[:, i1] - cums[:, i0]


def _metric(metric: str, sums: np.ndarray, window_minutes: int) -> tuple[np.ndarray, np.ndarray]:
    """(value shown, value compared) for sums = [posts, negative, reposts, comments, likes]."""
    posts, negative = sums[0], sums[1]
    if metric == "posts":
        return posts, posts
    if metric == "negative":
        return negative, negative
    if metric == "velocity":
        v = posts / (window_minutes / 60)
        return v, v
    if metric == "heat":
        v = heat_index(posts, sums[2], sums[3], sums[4])
        return v, v
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(posts > 0, negative / np.where(posts > 0, posts, 1), np.nan)
    low, _ = wilson_interval(negative, posts)
    return ratio, np.nan_to_num(low, nan=0.0)


def _fire_threshold(store: Store, rule: Rule, times: pd.DatetimeIndex, ctx: _Context) -> pd.DataFrame:
    p = rule.params
    metric, scope = p["metric"], p.get("scope", "all")
    window = int(p["window_minutes"])
    w = pd.Timedelta(minutes=window)
    k_base = int(p.get("baseline_windows", 24 if window <= 360 else 7))
    min_posts = int(p.get("min_posts", 10 if metric == "negative_ratio" else 1))
    scope_sql, scope_params = _scope_filter(p, _SCOPE_SQL[scope])
    rows = store.query(
        f"""SELECT epoch_ns(created_at) AS t, {_SCOPE_SQL[scope]} AS subject,
                   (sentiment_label = '负面')::INTEGER AS neg, repost_count, comment_count, like_count
            FROM posts WHERE created_at >= ? AND created_at < ?{scope_sql}""",
        [(times.min() - w * (k_base + 1)).to_pydatetime(), times.max().to_pydatetime(), *scope_params],
    )
    if rows.empty:
        return _empty_fires()
    # Windows before the first stored post are unobserved, not zero: they stay out of the baseline.
    first_ns = int(
        pd.Timestamp(store.query("SELECT min(created_at) AS t FROM posts")["t"].iloc[0]).as_unit("ns").value
    )
    factors, names = _factors(times, ctx.periods)
    base_threshold = float(p["threshold"])
    count = metric in COUNT_METRICS
    thresholds = np.array([_tighten(base_threshold, f, count) for f in factors])
    t_ns = _ns(times)
    w_ns = _ns(w)
    out = []
    for subject, g in rows.groupby("subject", sort=True):
        ts, cums = _cumulative(
            g["t"].to_numpy(np.int64),
            [np.ones(len(g)), g["neg"], g["repost_count"], g["comment_count"], g["like_count"]],
        )
        sums = _window_sums(ts, cums, t_ns - w_ns, t_ns)
        shown, compared = _metric(metric, sums, window)
        fires = (compared >= thresholds) & (sums[0] >= min_posts) & (sums[0] > 0)
        if not fires.any():
            continue
        idx = np.flatnonzero(fires)
        history = np.vstack(
            [
                np.where(
                    t_ns[idx] - (k + 1) * w_ns >= first_ns,
                    _metric(
                        metric,
                        _window_sums(ts, cums, t_ns[idx] - (k + 1) * w_ns, t_ns[idx] - k * w_ns),
                        window,
                    )[0],
                    np.nan,
                )
                for k in range(1, k_base + 1)
            ]
        )
        with np.errstate(all="ignore"), _quiet():
            baseline = np.nanmedian(history, axis=0)
        for j, i in enumerate(idx):
            at = times[i]
            s = sums[:, i]
            message = _threshold_message(
                metric, scope, str(subject), window, shown[i], compared[i], thresholds[i], baseline[j], s
            ) + _sensitive_note(factors[i], names[i])
            details = {
                "metric": metric,
                "value": float(shown[i]),
                "compared_value": float(compared[i]),
                "threshold": float(thresholds[i]),
                "base_threshold": base_threshold,
                "sensitive_factor": float(factors[i]),
                "sensitive_period": names[i],
                "baseline_median": None if np.isnan(baseline[j]) else float(baseline[j]),
                "baseline_windows": k_base,
                "posts": int(s[0]),
                "negative": int(s[1]),
                "reposts": int(s[2]),
                "comments": int(s[3]),
                "likes": int(s[4]),
                "min_posts": min_posts,
                "window_minutes": window,
                "filters": _query_filters(scope, str(subject), at - w, at),
            }
            out.append(_window_fire(at, w, subject, shown[i], thresholds[i], message, details))
    return pd.DataFrame(out, columns=_FIRE_COLUMNS) if out else _empty_fires()


class _quiet:
    """Silence numpy's 'All-NaN slice' warning where an empty baseline is expected."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)


def _threshold_message(metric, scope, subject, window, shown, compared, threshold, baseline, s) -> str:
    who, when = _subject_zh(scope, subject), _window_zh(window)
    verb = "超过" if compared > threshold else "达到"
    if metric == "negative_ratio":
        base = "" if np.isnan(baseline) else f"（基线中位数{baseline:.0%}）"
        return (
            f"{who}{when}负面占比{shown:.0%}（负面{int(s[1])}条/共{int(s[0])}条，95%置信下限{compared:.0%}），"
            f"{verb}阈值{threshold:.0%}{base}"
        )
    base = "" if np.isnan(baseline) else f"（基线中位数{_num(baseline)}{'' if metric == 'heat' else '条'}）"
    if metric == "posts":
        return f"{who}{when}发帖{int(shown)}条，{verb}阈值{_num(threshold)}条{base}"
    if metric == "negative":
        return f"{who}{when}负面信息{int(shown)}条，{verb}阈值{_num(threshold)}条{base}"
    if metric == "velocity":
        base = "" if np.isnan(baseline) else f"（基线中位数{baseline:.1f}条/小时）"
        return f"{who}{when}平均每小时发帖{shown:.1f}条，{verb}阈值{_num(threshold)}条/小时{base}"
    return f"{who}{when}热度指数{shown:.1f}，{verb}阈值{_num(threshold)}{base}"


def _fire_spike(store: Store, rule: Rule, times: pd.DatetimeIndex, ctx: _Context) -> pd.DataFrame:
    p = rule.params
    scope = p.get("scope", "topic")
    detector = p.get("detector", "volume")
    base = dataclasses.replace(HOURLY, **p.get("overrides", {}))
    periods_needed = times.floor("h") - pd.Timedelta(hours=1)  # the last complete hour at each time
    history = pd.Timedelta(
        hours=max(base.dispersion_window, base.neg_window, base.season_period * base.season_lags)
        + base.recent_window
        + 24
    )
    first, last = periods_needed.min() - history, periods_needed.max()
    scope_sql, scope_params = _scope_filter(p, _SCOPE_SQL[scope])
    hourly = store.query(
        f"""SELECT {_SCOPE_SQL[scope]} AS key, date_trunc('hour', created_at) AS hour, count(*) AS posts,
                   count(*) FILTER (WHERE sentiment_label = '负面') AS negative
            FROM posts WHERE created_at >= ? AND created_at < ?{scope_sql} GROUP BY ALL""",
        [first.to_pydatetime(), (last + pd.Timedelta(hours=1)).to_pydatetime(), *scope_params],
    )
    if hourly.empty:
        return _empty_fires()
    any_key = hourly["key"].iloc[0]
    # Pin the series to the whole range: hours without posts at either end count as zero - but not
    # hours before the first stored post, which were never observed (no history, no spike).
    data_first = _ts(store.query("SELECT min(created_at) AS t FROM posts")["t"].iloc[0]).floor("h")
    pins = pd.DataFrame({"key": any_key, "hour": [max(first, data_first), last], "posts": 0, "negative": 0})
    hourly = pd.concat([hourly.astype({"posts": "float64", "negative": "float64"}), pins], ignore_index=True)
    factors, names = _factors(times, ctx.periods)
    out = []
    for factor in np.unique(factors):
        params = _tightened_spike_params(base, factor)
        scores = spike_scores(hourly, **dataclasses.asdict(params))
        flag = "fires_volume" if detector == "volume" else "fires_negative"
        scores = scores[scores[flag]].set_index(["period", "key"])
        for i in np.flatnonzero(factors == factor):
            at, period = times[i], periods_needed[i]
            if period not in scores.index.get_level_values(0):
                continue
            for key, row in scores.loc[period].iterrows():
                message, value, threshold = _spike_message(scope, str(key), period, row, params, detector)
                message += _sensitive_note(factor, names[i])
                details = {
                    "detector": detector,
                    "period": period.isoformat(),
                    "posts": int(row["posts"]),
                    "negative": int(row["negative"]),
                    "baseline": float(row["baseline"]),
                    "z": float(row["z"]),
                    "ratio": float(row["ratio"]),
                    "negative_ratio": _float(row["negative_ratio"]),
                    "negative_lower": float(row["negative_lower"]),
                    "baseline_ratio": float(row["baseline_ratio"]),
                    "sensitive_factor": float(factor),
                    "sensitive_period": names[i],
                    "spike_params": dataclasses.asdict(params),
                    "value": value,
                    "threshold": threshold,
                    "filters": _query_filters(scope, str(key), period, period + pd.Timedelta(hours=1)),
                }
                out.append(
                    [
                        at,
                        str(key),
                        value,
                        threshold,
                        period,
                        period + pd.Timedelta(hours=1),
                        period.isoformat(),
                        message,
                        details,
                    ]
                )
    if not out:
        return _empty_fires()
    return pd.DataFrame(out, columns=_FIRE_COLUMNS).sort_values(["at", "subject"]).reset_index(drop=True)


def _float(x) -> float | None:
    return None if x is None or pd.isna(x) else float(x)


def _tightened_spike_params(base, factor: float):
    if factor >= 1:
        return base
    return dataclasses.replace(
        base,
        min_posts=math.ceil(base.min_posts * factor - 1e-9),
        z_threshold=base.z_threshold * factor,
        min_ratio=max(1.0, base.min_ratio * factor),
        neg_min_posts=math.ceil(base.neg_min_posts * factor - 1e-9),
        neg_min_negative=math.ceil(base.neg_min_negative * factor - 1e-9),
        neg_min_delta=base.neg_min_delta * factor,
    )


def _spike_message(scope, key, period, row, params, detector) -> tuple[str, float, float]:
    who = _subject_zh(scope, key)
    when = f"{period:%m-%d %H:00}–{period + pd.Timedelta(hours=1):%H:00}"
    if detector == "volume":
        threshold = max(float(params.min_posts), params.min_ratio * max(float(row["baseline"]), 1.0))
        return (
            f"{who}{when}发帖{int(row['posts'])}条，为基线{row['baseline']:.1f}条的{row['ratio']:.1f}倍"
            f"（稳健z值{row['z']:.1f}），超过突增阈值：≥{params.min_posts}条、≥基线{params.min_ratio:.1f}倍、"
            f"z≥{params.z_threshold:.1f}",
            float(row["posts"]),
            threshold,
        )
    threshold = float(row["baseline_ratio"]) + params.neg_min_delta
    return (
        f"{who}{when}负面{int(row['negative'])}条/共{int(row['posts'])}条，负面占比{row['negative_ratio']:.0%}"
        f"（95%置信下限{row['negative_lower']:.0%}），高于基线占比{row['baseline_ratio']:.0%}"
        f"加{params.neg_min_delta:.0%}",
        float(row["negative_lower"]),
        threshold,
    )


def _keyword_pattern(p: dict) -> re.Pattern:
    words = p["words"] if p.get("regex") else [re.escape(w) for w in p["words"]]
    return re.compile("|".join(f"(?:{w})" for w in words))


def _fire_keyword(store: Store, rule: Rule, times: pd.DatetimeIndex, ctx: _Context) -> pd.DataFrame:
    p = rule.params
    scope = p.get("scope", "all")
    window = int(p.get("window_minutes", 60))
    w = pd.Timedelta(minutes=window)
    scope_sql, scope_params = _scope_filter(p, _SCOPE_SQL[scope])
    rows = store.query(
        f"""SELECT post_id, epoch_ns(created_at) AS t, {_SCOPE_SQL[scope]} AS subject, text_norm
            FROM posts WHERE created_at >= ? AND created_at < ?{scope_sql} ORDER BY created_at, post_id""",
        [(times.min() - w).to_pydatetime(), times.max().to_pydatetime(), *scope_params],
    )
    pattern = _keyword_pattern(p)
    rows["hits"] = [sorted(set(pattern.findall(t or ""))) for t in rows["text_norm"]]
    rows = rows[rows["hits"].map(bool)]
    if rows.empty:
        return _empty_fires()
    factors, names = _factors(times, ctx.periods)
    thresholds = np.array([_tighten(float(p.get("min_count", 1)), f, True) for f in factors])
    t_ns = _ns(times)
    out = []
    for subject, g in rows.groupby("subject", sort=True):
        ts = g["t"].to_numpy(np.int64)  # already sorted by the query
        i0 = np.searchsorted(ts, t_ns - _ns(w), side="left")
        i1 = np.searchsorted(ts, t_ns, side="left")
        counts = i1 - i0
        for i in np.flatnonzero(counts >= thresholds):
            at = times[i]
            window_rows = g.iloc[i0[i] : i1[i]]
            words = pd.Series([h for hits in window_rows["hits"] for h in hits]).value_counts()
            listed = "、".join(f"“{word}”{n}条" for word, n in words.items())
            message = (
                f"{_subject_zh(scope, str(subject))}{_window_zh(window)}"
                f"出现预警关键词的信息{int(counts[i])}条"
                f"（{listed}），{'超过' if counts[i] > thresholds[i] else '达到'}阈值{_num(thresholds[i])}条"
                + _sensitive_note(factors[i], names[i])
            )
            details = {
                "count": int(counts[i]),
                "threshold": float(thresholds[i]),
                "base_threshold": p.get("min_count", 1),
                "words": {str(k): int(v) for k, v in words.items()},
                "sensitive_factor": float(factors[i]),
                "sensitive_period": names[i],
                "window_minutes": window,
                "filters": _query_filters(scope, str(subject), at - w, at, keywords=list(words.index)),
            }
            if ctx.detailed:
                details["post_ids"] = window_rows["post_id"].tolist()[-50:]
            out.append(_window_fire(at, w, subject, counts[i], thresholds[i], message, details))
    return pd.DataFrame(out, columns=_FIRE_COLUMNS) if out else _empty_fires()


def _fire_silence(store: Store, rule: Rule, times: pd.DatetimeIndex, ctx: _Context) -> pd.DataFrame:
    """A channel is silent when nothing arrived for `hours` although the same clock window on the previous
    `lookback_days` days averaged >= `min_expected_posts` (so a channel that is quiet every night is not
    an outage) and the channel averaged >= `min_daily_posts` per day."""
    p = rule.params
    hours = float(p["hours"])
    span = pd.Timedelta(hours=hours)
    days = int(p.get("lookback_days", 7))
    lookback = pd.Timedelta(days=days)
    min_daily = float(p.get("min_daily_posts", 0))
    min_expected = float(p.get("min_expected_posts", 5))
    channels = p.get("channels") or []
    where = f" AND channel IN ({', '.join('?' for _ in channels)})" if channels else ""
    rows = store.query(
        f"""SELECT channel, epoch_ns(created_at) AS t FROM posts
            WHERE created_at >= ? AND created_at < ?{where} ORDER BY t""",
        [(times.min() - lookback - span).to_pydatetime(), times.max().to_pydatetime(), *channels],
    )
    t_ns = _ns(times)
    day_ns, span_ns = _ns(pd.Timedelta(days=1)), _ns(span)
    out = []
    for channel, g in rows.groupby("channel", sort=True):
        ts = g["t"].to_numpy(np.int64)
        last_i = np.searchsorted(ts, t_ns, side="left") - 1
        recent = last_i + 1 - np.searchsorted(ts, t_ns - _ns(lookback), side="left")
        expected = (
            sum(
                np.searchsorted(ts, t_ns - k * day_ns, side="left")
                - np.searchsorted(ts, t_ns - k * day_ns - span_ns, side="left")
                for k in range(1, days + 1)
            )
            / days
        )
        has_last = last_i >= 0
        last_t = np.where(has_last, ts[np.clip(last_i, 0, None)], 0)
        gap_h = (t_ns - last_t) / 3.6e12
        daily = recent / days
        fires = has_last & (gap_h >= hours) & (daily >= min_daily) & (expected >= min_expected)
        for i in np.flatnonzero(fires):
            at = times[i]
            last = pd.Timestamp(int(last_t[i]), tz="UTC").tz_convert(TIMEZONE)
            message = (
                f"渠道【{channel}】已{gap_h[i]:.1f}小时无新数据（最后一条发布于{last:%m-%d %H:%M}；"
                f"前{days}天同一时段平均{expected[i]:.1f}条），超过断流阈值{_num(hours)}小时，"
                "请检查采集是否中断"
            )
            details = {
                "hours_silent": float(gap_h[i]),
                "threshold": hours,
                "last_post_at": last.isoformat(),
                "expected_posts": float(expected[i]),
                "daily_posts": float(daily[i]),
                "lookback_days": days,
                "filters": _query_filters("channel", str(channel), at - lookback, at),
            }
            out.append(
                [at, str(channel), float(gap_h[i]), hours, last, at, last.isoformat(), message, details]
            )
    return pd.DataFrame(out, columns=_FIRE_COLUMNS) if out else _empty_fires()


def _tier_rank(grade: str, orders) -> tuple[int, int] | None:
    """(which tier list, position) of a grade; '一级(重大)' is matched by its part before the bracket."""
    candidates = [grade, re.split(r"[（(]", grade)[0].strip()]
    for o, order in enumerate(orders):
        for candidate in candidates:
            if candidate in order:
                return o, list(order).index(candidate)
    return None


def _fire_grade_raised(store: Store, rule: Rule, times: pd.DatetimeIndex, ctx: _Context) -> pd.DataFrame:
    p = rule.params
    orders = p.get("tier_orders", DEFAULT_TIER_ORDERS)
    window = pd.Timedelta(minutes=int(p.get("window_minutes", 1440)))
    grades = store.query(
        """SELECT g.incident_id, coalesce(i.title, g.incident_id) AS title, epoch_ns(g.graded_at) AS t,
                  g.graded_at, g.grade, g.reasons, g.actor, g.is_override
           FROM incident_grades g LEFT JOIN incidents i USING (incident_id)
           WHERE g.graded_at < ? ORDER BY g.incident_id, g.graded_at""",
        [times.max().to_pydatetime() + timedelta(microseconds=1)],
    )
    out = []
    for incident_id, g in grades.groupby("incident_id", sort=True):
        previous = None
        for row in g.itertuples():
            rank = _tier_rank(row.grade, orders)
            if (
                previous is not None
                and rank
                and previous[1]
                and rank[0] == previous[1][0]
                and rank[1] > previous[1][1]
            ):
                graded = _ts(row.graded_at)
                seen = np.flatnonzero((_ns(times) >= row.t) & (_ns(times) < row.t + _ns(window)))
                reasons = "；".join(list(row.reasons)) if row.reasons is not None else ""
                for i in seen[:1]:  # an event fires once: at the first evaluation that can see it
                    at = times[i]
                    message = (
                        f"事件【{row.title}】定级由{previous[0]}上调为{row.grade}"
                        f"（{graded:%m-%d %H:%M}，"
                        f"{'人工调整' if row.is_override else '自动研判'}：{row.actor}）"
                        + (f"；依据：{reasons}" if reasons else "")
                    )
                    details = {
                        "incident_id": incident_id,
                        "from_grade": previous[0],
                        "to_grade": row.grade,
                        "graded_at": graded.isoformat(),
                        "reasons": list(row.reasons or []),
                        "actor": row.actor,
                        "is_override": bool(row.is_override),
                    }
                    out.append(
                        [
                            at,
                            str(incident_id),
                            float(rank[1]),
                            float(previous[1][1]),
                            None,
                            graded,
                            graded.isoformat(),
                            message,
                            details,
                        ]
                    )
            previous = (row.grade, rank)
    return pd.DataFrame(out, columns=_FIRE_COLUMNS) if out else _empty_fires()


def _clock_reader(store: Store) -> Callable[[pd.Timestamp], pd.DataFrame]:
    """Deadline clocks at any moment from one read of the incident log (a back-test asks thousands of times)."""
    from analysis import incidents

    table = incidents.deadline_table(store)
    return lambda now: incidents.clocks_at(table, now)


def _fire_deadline(store: Store, rule: Rule, times: pd.DatetimeIndex, ctx: _Context) -> pd.DataFrame:
    warn = float(rule.params.get("warn_minutes", 0))
    has_incidents = bool(store.scalar("SELECT count(*) FROM incidents"))
    out = []
    read_clocks = _clock_reader(store) if has_incidents else None
    for at in times if has_incidents else []:
        clocks = read_clocks(at)
        if clocks is None or clocks.empty:
            continue
        for row in clocks.itertuples():
            left = float(row.minutes_left)
            overdue = bool(row.is_overdue)
            if not overdue and not (warn > 0 and 0 <= left <= warn):
                continue
            deadline_at = _ts(row.deadline_at)
            state = "overdue" if overdue else "warning"
            label = getattr(row, "label", None) or row.step
            head = f"事件【{row.title}】（{row.grade}）“{label}”"
            message = (
                f"{head}已逾期{_duration_zh(-left)}（时限{deadline_at:%m-%d %H:%M}）"
                if overdue
                else f"{head}将在{_duration_zh(left)}后到期（时限{deadline_at:%m-%d %H:%M}），"
                f"提前提醒阈值{_num(warn)}分钟"
            )
            details = {
                "incident_id": row.incident_id,
                "step": row.step,
                "label": label,
                "grade": row.grade,
                "deadline_at": deadline_at.isoformat(),
                "minutes_left": left,
                "state": state,
            }
            out.append(
                [
                    at,
                    f"{row.incident_id}·{label}",
                    -left,
                    0.0 if overdue else -warn,
                    None,
                    deadline_at,
                    f"{deadline_at.isoformat()}|{state}",
                    message,
                    details,
                ]
            )
    return pd.DataFrame(out, columns=_FIRE_COLUMNS) if out else _empty_fires()


def _duration_zh(minutes: float) -> str:
    minutes = max(0, int(round(minutes)))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    text = (f"{days}天" if days else "") + (f"{hours}小时" if hours else "") + (f"{mins}分钟" if mins else "")
    return text or "0分钟"


_FIRE: dict[str, Callable[[Store, Rule, pd.DatetimeIndex, _Context], pd.DataFrame]] = {
    "threshold": _fire_threshold,
    "spike": _fire_spike,
    "keyword": _fire_keyword,
    "silence": _fire_silence,
    "grade_raised": _fire_grade_raised,
    "deadline": _fire_deadline,
}


def _to_alerts(rule: Rule, fires: pd.DataFrame) -> list[Alert]:
    severity = rule.params.get("severity", _DEFAULT_SEVERITY[rule.kind])
    alerts = []
    for row in fires.itertuples():
        details = {**row.details, "rule": {"rule_id": rule.rule_id, "name": rule.name, "kind": rule.kind}}
        alerts.append(
            Alert(
                rule.rule_id,
                rule.name,
                rule.kind,
                row.subject,
                _ts(row.at),
                None if row.window_start is None or pd.isna(row.window_start) else _ts(row.window_start),
                None if row.window_end is None or pd.isna(row.window_end) else _ts(row.window_end),
                float(row.value),
                float(row.threshold),
                severity,
                row.message,
                details,
                f"{rule.rule_id}|{row.subject}|{row.bucket}",
            )
        )
    return alerts


def evaluate_with_errors(
    store: Store, rules: Sequence[Rule], now, periods=None
) -> tuple[list[Alert], list[str]]:
    """Like `evaluate`, also returning one Chinese line per rule that could not be evaluated."""
    now = _ts(now)
    ctx = _Context(sensitive.DEFAULT_PERIODS if periods is None else periods, detailed=True)
    alerts, errors = [], []
    for rule in rules:
        problems = validate_rule(rule)
        if problems:
            errors.append(f"规则【{rule.name}】（{rule.rule_id}）无效：{'；'.join(problems)}")
            continue
        try:
            fires = _FIRE[rule.kind](store, rule, pd.DatetimeIndex([now]), ctx)
        except Exception as exc:  # one broken rule must not silence the others
            log.exception("alert rule %s failed", rule.rule_id)
            errors.append(f"规则【{rule.name}】（{rule.rule_id}）计算失败：{exc}")
            continue
        alerts.extend(_to_alerts(rule, fires))
    return alerts, errors


def evaluate(store: Store, rules: Sequence[Rule], now, periods=None) -> list[Alert]:
    """What fires at `now` (reads the store, writes nothing). `periods` overrides the sensitive periods."""
    return evaluate_with_errors(store, rules, now, periods)[0]


def _last_fired(details: dict, fired_at) -> pd.Timestamp:
    return _ts(details.get("last_fired_at") or fired_at)


def run(
    store: Store, now=None, actor: str = "system", periods=None, errors: list[str] | None = None
) -> list[Alert]:
    """Evaluate the enabled rules at `now` and persist: returns only the alerts that are new rows.

    A firing whose dedupe_key was seen before (as a row or merged into one) is ignored; one within
    `cooldown_minutes` of the latest firing of an open alert for the same rule and subject is merged
    into it (merged_count + 1, first message kept, details updated).
    """
    now = _ts(pd.Timestamp.now(tz=TIMEZONE) if now is None else now)
    if periods is None:
        from analysis import settings  # loaded lazily, like incidents above: it builds on incidents

        periods = settings.sensitive_periods(store)
    rules = {r.rule_id: r for r in load_rules(store, enabled_only=True)}
    fired, problems = evaluate_with_errors(store, list(rules.values()), now, periods)
    if errors is not None:
        errors.extend(problems)
    new, merged = [], 0
    for alert in fired:
        seen = store.scalar(
            """SELECT count(*) FROM alerts
               WHERE dedupe_key = ?
                  OR (rule_id = ? AND subject IS NOT DISTINCT FROM ?
                      AND list_contains(
                          CAST(coalesce(json_extract(details, '$.merged_keys'), '[]') AS VARCHAR[]), ?))""",
            [alert.dedupe_key, alert.rule_id, alert.subject, alert.dedupe_key],
        )
        if seen:
            continue
        cooldown = pd.Timedelta(minutes=rules[alert.rule_id].cooldown_minutes)
        open_alert = store.query(
            """SELECT alert_id, fired_at, details, merged_count FROM alerts
               WHERE rule_id = ? AND subject IS NOT DISTINCT FROM ? AND state <> 'closed'
               ORDER BY fired_at DESC LIMIT 1""",
            [alert.rule_id, alert.subject],
        )
        if not open_alert.empty and cooldown > pd.Timedelta(0):
            row = open_alert.iloc[0]
            old = json.loads(row["details"])
            last = _last_fired(old, row["fired_at"])
            if last <= alert.fired_at <= last + cooldown:
                details = {
                    **alert.details,
                    "first_fired_at": _ts(row["fired_at"]).isoformat(),
                    "last_fired_at": alert.fired_at.isoformat(),
                    "last_message": alert.message,
                    "merged_keys": [*old.get("merged_keys", []), alert.dedupe_key],
                }
                store.execute(
                    [
                        (
                            """UPDATE alerts SET merged_count = merged_count + 1, details = ?,
                              window_end = coalesce(?, window_end) WHERE alert_id = ?""",
                            [_json(details), _py(alert.window_end), int(row["alert_id"])],
                        )
                    ]
                )
                merged += 1
                continue
        details = {**alert.details, "last_fired_at": alert.fired_at.isoformat(), "merged_keys": []}
        store.execute(
            [
                (
                    """INSERT INTO alerts (rule_id, dedupe_key, fired_at, window_start, window_end, subject,
                                           severity,
                                   message, details)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING""",
                    [
                        alert.rule_id,
                        alert.dedupe_key,
                        _py(alert.fired_at),
                        _py(alert.window_start),
                        _py(alert.window_end),
                        alert.subject,
                        alert.severity,
                        alert.message,
                        _json(details),
                    ],
                )
            ]
        )
        alert_id = store.scalar("SELECT alert_id FROM alerts WHERE dedupe_key = ?", [alert.dedupe_key])
        new.append(dataclasses.replace(alert, alert_id=int(alert_id), details=details))
    if new or merged:
        store.execute(
            [
                _audit(
                    actor,
                    "alerts.run",
                    None,
                    {
                        "now": now.isoformat(),
                        "new": [a.alert_id for a in new],
                        "merged": merged,
                        "errors": problems,
                    },
                )
            ]
        )
    return new


def _json(details: dict) -> str:
    return json.dumps(details, ensure_ascii=False, default=str)


def _py(ts):
    return None if ts is None else pd.Timestamp(ts).to_pydatetime()


# -- alert state ------------------------------------------------------------------------------------


def _transition(store: Store, alert_id: int, target: str, actor: str, note: str | None) -> None:
    state = store.scalar("SELECT state FROM alerts WHERE alert_id = ?", [int(alert_id)])
    if state is None:
        raise ValueError(f"预警 {alert_id} 不存在")
    if target not in _TRANSITIONS[state]:
        raise ValueError(f"预警 {alert_id} 当前为“{STATES[state]}”，不能改为“{STATES[target]}”")
    store.execute(
        [
            (
                "UPDATE alerts SET state = ?, state_by = ?, state_at = now() WHERE alert_id = ?",
                [target, actor, int(alert_id)],
            ),
            _audit(
                actor,
                "alert.acknowledge" if target == "acknowledged" else "alert.close",
                str(alert_id),
                {"from": state, "to": target, "note": note},
            ),
        ]
    )


def acknowledge(store: Store, alert_id: int, actor: str, note: str | None = None) -> None:
    """new -> acknowledged; anything else raises ValueError (Chinese)."""
    _transition(store, alert_id, "acknowledged", actor, note)


def close(store: Store, alert_id: int, actor: str, note: str | None = None) -> None:
    """new / acknowledged -> closed; a closed alert stays closed."""
    _transition(store, alert_id, "closed", actor, note)


def list_alerts(
    store: Store, state: str | None = None, since=None, rule_id: str | None = None, limit: int | None = None
) -> pd.DataFrame:
    """The alert log, newest first, with the rule name and `details` parsed into dicts."""
    clauses, params = [], []
    if state is not None:
        if state not in STATES:
            raise ValueError(f"未知的预警状态：{state}；可选：{'、'.join(STATES)}")
        clauses.append("a.state = ?")
        params.append(state)
    if since is not None:
        clauses.append("a.fired_at >= ?")
        params.append(_ts(since).to_pydatetime())
    if rule_id is not None:
        clauses.append("a.rule_id = ?")
        params.append(rule_id)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    tail = ""
    if limit is not None:
        tail = " LIMIT ?"
        params.append(int(limit))
    frame = store.query(
        f"""SELECT a.alert_id, a.rule_id, coalesce(r.name, a.rule_id) AS rule_name, r.kind, a.fired_at,
                   a.window_start, a.window_end, a.subject, a.severity, a.message, a.details, a.state,
                   a.state_by, a.state_at, a.merged_count
            FROM alerts a LEFT JOIN alert_rules r USING (rule_id) {where}
            ORDER BY a.fired_at DESC, a.alert_id DESC{tail}""",
        params,
    )
    frame["details"] = [json.loads(d) for d in frame["details"]]
    return frame


def count_alerts(store: Store, state: str) -> int:
    """How many alerts are in a state (the overview shows the newest few and this total)."""
    if state not in STATES:
        raise ValueError(f"未知的预警状态：{state}；可选：{'、'.join(STATES)}")
    return int(store.scalar("SELECT count(*) FROM alerts WHERE state = ?", [state]))


# -- back-testing -----------------------------------------------------------------------------------


def backtest(
    store: Store, rules: Sequence[Rule], start, end, step: timedelta = timedelta(hours=1), periods=None
) -> pd.DataFrame:
    """Replay history at every `step` in (start, end] without writing; dedupe and cooldown as in `run`.

    Returns one row per alert that would have been created (``merged`` = later firings folded into it).
    """
    start, end = _ts(start), _ts(end)
    times = pd.date_range(start, end, freq=pd.Timedelta(step), inclusive="right")
    ctx = _Context(sensitive.DEFAULT_PERIODS if periods is None else periods, detailed=False)
    rows = []
    for rule in rules:
        errors = validate_rule(rule)
        if errors:
            raise ValueError(f"规则【{rule.name}】（{rule.rule_id}）无效：{'；'.join(errors)}")
        if times.empty:
            continue
        fires = _FIRE[rule.kind](store, rule, times, ctx)
        rows.extend(_replay(rule, fires))
    frame = pd.DataFrame(rows, columns=BACKTEST_COLUMNS)
    if frame.empty:
        return frame
    return frame.sort_values(["fired_at", "rule_id", "subject"], kind="stable").reset_index(drop=True)


def _replay(rule: Rule, fires: pd.DataFrame) -> list[list]:
    cooldown = pd.Timedelta(minutes=rule.cooldown_minutes)
    seen: set[str] = set()
    open_by_subject: dict[str, tuple[pd.Timestamp, list]] = {}  # subject -> (last firing, its row)
    rows: list[list] = []
    for fire in fires.sort_values("at", kind="stable").itertuples():
        key = f"{fire.subject}|{fire.bucket}"
        if key in seen:
            continue
        seen.add(key)
        at = _ts(fire.at)
        current = open_by_subject.get(fire.subject)
        if current is not None and cooldown > pd.Timedelta(0) and at <= current[0] + cooldown:
            current[1][-1] += 1
            open_by_subject[fire.subject] = (at, current[1])
            continue
        row = [
            rule.rule_id,
            rule.name,
            at,
            fire.subject,
            float(fire.value),
            float(fire.threshold),
            fire.message,
            0,
        ]
        rows.append(row)
        open_by_subject[fire.subject] = (at, row)
    return rows


# -- command line -----------------------------------------------------------------------------------


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
            new = run(store, _ts(args.now) if args.now else None, actor=args.by, errors=errors)
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
