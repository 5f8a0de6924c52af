"""The six rule kinds, one `RuleKind` object each: typed parameters with help, severity, validation, evaluator.

Every evaluator returns the firings of its rule at *each* of the evaluation times in one pass (series are read
once with SQL and scanned with numpy). `engine.evaluate` calls it with the single time ``now``; `replay.backtest`
with every step of a history, then replays dedupe and cooldown in memory; both pass the same `Context` (the
office's policy, with its sensitive periods), so the live alert and its back-test can never disagree about what fires.
"""

from __future__ import annotations

import dataclasses
import math
import re
import warnings
from collections.abc import Callable
from datetime import timedelta

import numpy as np
import pandas as pd

from analysis import grading
from analysis.alerts.measure import (
    SCOPE_SQL,
    cumulative,
    fmt_num,
    no_fires,
    query_filters,
    scope_filter,
    sensitive_factors,
    sensitive_note,
    subject_zh,
    tighten,
    to_ns,
    window_fire,
    window_sums,
    window_zh,
)
from analysis.alerts.model import (
    FIRE_COLUMNS,
    METRICS,
    SCOPES,
    SEVERITIES,
    Context,
    Param,
    Rule,
    RuleKind,
)
from analysis.config import TIMEZONE, local_time
from analysis.metrics import heat_index, wilson_interval
from analysis.spikes import HOURLY, spike_scores
from analysis.store import Store

COUNT_METRICS = ("posts", "negative")  # integer counts: a tightened threshold is rounded up
# Every tier set's grades, mildest first (a raise is a step up one of them).
DEFAULT_TIER_ORDERS = tuple(tuple(reversed(grading.grades_of(name))) for name in grading.TIER_SETS)
_SPIKE_FIELDS = {f.name for f in dataclasses.fields(HOURLY)}

# Parameters several kinds share.
SEVERITY = Param("severity", "预警级别", "choice", choices=SEVERITIES, help="不填时用该类规则的默认级别")
WINDOW = Param("window_minutes", "统计窗口", "int", minimum=1, unit="分钟", help="统计最近多少分钟内的信息")


def _scope(default: str) -> Param:
    return Param("scope", "统计范围", "choice", default=default, choices=SCOPES,
                 help="按话题、渠道或地域分别统计；“全部”为所有信息合计")


VALUES = Param("values", "范围取值", "words", picker="subject",
               help="只监测这些话题/渠道/地域；不填则监测全部取值")


def _check_overrides(value) -> list[str]:
    if not isinstance(value, dict):
        return ["检测参数（params.overrides）必须是键值对象"]
    errors = []
    for key, number in value.items():
        if key not in _SPIKE_FIELDS:
            errors.append(f"未知的突增检测参数（params.overrides.{key}）")
        elif not (isinstance(number, int | float) and not isinstance(number, bool) and math.isfinite(number)
                  and number >= 0):
            errors.append(f"突增检测参数（params.overrides.{key}）必须是不小于0的数")
    return errors


def _check_tier_orders(orders) -> list[str]:
    if (not isinstance(orders, list | tuple) or not orders
            or not all(isinstance(o, list | tuple) and len(o) >= 2 and all(isinstance(g, str) and g.strip()
                                                                        for g in o) for o in orders)):
        return ["级别顺序（params.tier_orders）必须是列表的列表，每个列表按从低到高列出至少两个级别"]
    return []


def _check_threshold(p: dict) -> list[str]:
    if p["metric"] == "negative_ratio" and p["threshold"] > 1:
        return ["负面占比阈值（params.threshold）应在0到1之间，例如 0.6 表示60%"]
    return []


def _check_keyword(p: dict) -> list[str]:
    errors = []
    for word in p["words"] if p.get("regex") is True else []:
        try:
            re.compile(word)
        except re.error as exc:
            errors.append(f"关键词（params.words）中“{word}”不是有效的正则表达式：{exc}")
        else:
            if re.fullmatch(word, ""):
                errors.append(f"关键词（params.words）中“{word}”能匹配空文本，会让每条信息都命中")
    return errors


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


def _fire_threshold(store: Store, rule: Rule, p: dict, times: pd.DatetimeIndex, ctx: Context) -> pd.DataFrame:
    metric, scope = p["metric"], p["scope"]
    window = int(p["window_minutes"])
    w = pd.Timedelta(minutes=window)
    k_base, min_posts = int(p["baseline_windows"]), int(p["min_posts"])
    scope_sql, scope_params = scope_filter(p, SCOPE_SQL[scope])
    rows = store.query(
        f"""SELECT epoch_ns(created_at) AS t, {SCOPE_SQL[scope]} AS subject,
                   (sentiment_label = '负面')::INTEGER AS neg, repost_count, comment_count, like_count
            FROM posts WHERE created_at >= ? AND created_at < ?{scope_sql}""",
        [(times.min() - w * (k_base + 1)).to_pydatetime(), times.max().to_pydatetime(), *scope_params],
    )
    if rows.empty:
        return no_fires()
    # Windows before the first stored post are unobserved, not zero: they stay out of the baseline.
    first_ns = int(
        pd.Timestamp(store.query("SELECT min(created_at) AS t FROM posts")["t"].iloc[0]).as_unit("ns").value
    )
    factors, names = sensitive_factors(times, ctx.policy.periods)
    base_threshold = float(p["threshold"])
    count = metric in COUNT_METRICS
    thresholds = np.array([tighten(base_threshold, f, count) for f in factors])
    t_ns = to_ns(times)
    w_ns = to_ns(w)
    out = []
    for subject, g in rows.groupby("subject", sort=True):
        ts, cums = cumulative(
            g["t"].to_numpy(np.int64),
            [np.ones(len(g)), g["neg"], g["repost_count"], g["comment_count"], g["like_count"]],
        )
        sums = window_sums(ts, cums, t_ns - w_ns, t_ns)
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
                        window_sums(ts, cums, t_ns[idx] - (k + 1) * w_ns, t_ns[idx] - k * w_ns),
                        window,
                    )[0],
                    np.nan,
                )
                for k in range(1, k_base + 1)
            ]
        )
        with np.errstate(all="ignore"), warnings.catch_warnings(action="ignore", category=RuntimeWarning):
            baseline = np.nanmedian(history, axis=0)
        for j, i in enumerate(idx):
            at = times[i]
            s = sums[:, i]
            message = _threshold_message(
                metric, scope, str(subject), window, shown[i], compared[i], thresholds[i], baseline[j], s
            ) + sensitive_note(factors[i], names[i])
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
                "filters": query_filters(scope, str(subject), at - w, at),
            }
            out.append(window_fire(at, w, subject, shown[i], thresholds[i], message, details))
    return pd.DataFrame(out, columns=FIRE_COLUMNS) if out else no_fires()


def _threshold_message(metric, scope, subject, window, shown, compared, threshold, baseline, s) -> str:
    who, when = subject_zh(scope, subject), window_zh(window)
    verb = "超过" if compared > threshold else "达到"
    if metric == "negative_ratio":
        base = "" if np.isnan(baseline) else f"（基线中位数{baseline:.0%}）"
        return (
            f"{who}{when}负面占比{shown:.0%}（负面{int(s[1])}条/共{int(s[0])}条，95%置信下限{compared:.0%}），"
            f"{verb}阈值{threshold:.0%}{base}"
        )
    base = "" if np.isnan(baseline) else f"（基线中位数{fmt_num(baseline)}{'' if metric == 'heat' else '条'}）"
    if metric == "posts":
        return f"{who}{when}发帖{int(shown)}条，{verb}阈值{fmt_num(threshold)}条{base}"
    if metric == "negative":
        return f"{who}{when}负面信息{int(shown)}条，{verb}阈值{fmt_num(threshold)}条{base}"
    if metric == "velocity":
        base = "" if np.isnan(baseline) else f"（基线中位数{baseline:.1f}条/小时）"
        return f"{who}{when}平均每小时发帖{shown:.1f}条，{verb}阈值{fmt_num(threshold)}条/小时{base}"
    return f"{who}{when}热度指数{shown:.1f}，{verb}阈值{fmt_num(threshold)}{base}"


def _fire_spike(store: Store, rule: Rule, p: dict, times: pd.DatetimeIndex, ctx: Context) -> pd.DataFrame:
    scope, detector = p["scope"], p["detector"]
    base = dataclasses.replace(HOURLY, **p["overrides"])
    periods_needed = times.floor("h") - pd.Timedelta(hours=1)  # the last complete hour at each time
    history = pd.Timedelta(
        hours=max(base.dispersion_window, base.neg_window, base.season_period * base.season_lags)
        + base.recent_window
        + 24
    )
    first, last = periods_needed.min() - history, periods_needed.max()
    scope_sql, scope_params = scope_filter(p, SCOPE_SQL[scope])
    hourly = store.query(
        f"""SELECT {SCOPE_SQL[scope]} AS key, date_trunc('hour', created_at) AS hour, count(*) AS posts,
                   count(*) FILTER (WHERE sentiment_label = '负面') AS negative
            FROM posts WHERE created_at >= ? AND created_at < ?{scope_sql} GROUP BY ALL""",
        [first.to_pydatetime(), (last + pd.Timedelta(hours=1)).to_pydatetime(), *scope_params],
    )
    if hourly.empty:
        return no_fires()
    any_key = hourly["key"].iloc[0]
    # Pin the series to the whole range: hours without posts at either end count as zero - but not
    # hours before the first stored post, which were never observed (no history, no spike).
    data_first = local_time(store.query("SELECT min(created_at) AS t FROM posts")["t"].iloc[0]).floor("h")
    pins = pd.DataFrame({"key": any_key, "hour": [max(first, data_first), last], "posts": 0, "negative": 0})
    hourly = pd.concat([hourly.astype({"posts": "float64", "negative": "float64"}), pins], ignore_index=True)
    factors, names = sensitive_factors(times, ctx.policy.periods)
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
                message += sensitive_note(factor, names[i])
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
                    "filters": query_filters(scope, str(key), period, period + pd.Timedelta(hours=1)),
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
        return no_fires()
    return pd.DataFrame(out, columns=FIRE_COLUMNS).sort_values(["at", "subject"]).reset_index(drop=True)


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
    who = subject_zh(scope, key)
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


def _fire_keyword(store: Store, rule: Rule, p: dict, times: pd.DatetimeIndex, ctx: Context) -> pd.DataFrame:
    scope = p["scope"]
    window = int(p["window_minutes"])
    w = pd.Timedelta(minutes=window)
    scope_sql, scope_params = scope_filter(p, SCOPE_SQL[scope])
    rows = store.query(
        f"""SELECT post_id, epoch_ns(created_at) AS t, {SCOPE_SQL[scope]} AS subject, text_norm
            FROM posts WHERE created_at >= ? AND created_at < ?{scope_sql} ORDER BY created_at, post_id""",
        [(times.min() - w).to_pydatetime(), times.max().to_pydatetime(), *scope_params],
    )
    pattern = _keyword_pattern(p)
    rows["hits"] = [sorted(set(pattern.findall(t or ""))) for t in rows["text_norm"]]
    rows = rows[rows["hits"].map(bool)]
    if rows.empty:
        return no_fires()
    factors, names = sensitive_factors(times, ctx.policy.periods)
    thresholds = np.array([tighten(float(p["min_count"]), f, True) for f in factors])
    t_ns = to_ns(times)
    out = []
    for subject, g in rows.groupby("subject", sort=True):
        ts = g["t"].to_numpy(np.int64)  # already sorted by the query
        i0 = np.searchsorted(ts, t_ns - to_ns(w), side="left")
        i1 = np.searchsorted(ts, t_ns, side="left")
        counts = i1 - i0
        for i in np.flatnonzero(counts >= thresholds):
            at = times[i]
            window_rows = g.iloc[i0[i] : i1[i]]
            words = pd.Series([h for hits in window_rows["hits"] for h in hits]).value_counts()
            listed = "、".join(f"“{word}”{n}条" for word, n in words.items())
            message = (
                f"{subject_zh(scope, str(subject))}{window_zh(window)}"
                f"出现预警关键词的信息{int(counts[i])}条"
                f"（{listed}），{'超过' if counts[i] > thresholds[i] else '达到'}阈值{fmt_num(thresholds[i])}条"
                + sensitive_note(factors[i], names[i])
            )
            details = {
                "count": int(counts[i]),
                "threshold": float(thresholds[i]),
                "base_threshold": p["min_count"],
                "words": {str(k): int(v) for k, v in words.items()},
                "sensitive_factor": float(factors[i]),
                "sensitive_period": names[i],
                "window_minutes": window,
                "filters": query_filters(scope, str(subject), at - w, at, keywords=list(words.index)),
            }
            if ctx.detailed:
                details["post_ids"] = window_rows["post_id"].tolist()[-50:]
            out.append(window_fire(at, w, subject, counts[i], thresholds[i], message, details))
    return pd.DataFrame(out, columns=FIRE_COLUMNS) if out else no_fires()


def _fire_silence(store: Store, rule: Rule, p: dict, times: pd.DatetimeIndex, ctx: Context) -> pd.DataFrame:
    """A channel is silent when nothing arrived for `hours` although the same clock window on the previous
    `lookback_days` days averaged >= `min_expected_posts` (so a channel that is quiet every night is not
    an outage) and the channel averaged >= `min_daily_posts` per day."""
    hours = float(p["hours"])
    span = pd.Timedelta(hours=hours)
    days = int(p["lookback_days"])
    lookback = pd.Timedelta(days=days)
    min_daily = float(p["min_daily_posts"])
    min_expected = float(p["min_expected_posts"])
    channels = p["channels"] or []
    where = f" AND channel IN ({', '.join('?' for _ in channels)})" if channels else ""
    rows = store.query(
        f"""SELECT channel, epoch_ns(created_at) AS t FROM posts
            WHERE created_at >= ? AND created_at < ?{where} ORDER BY t""",
        [(times.min() - lookback - span).to_pydatetime(), times.max().to_pydatetime(), *channels],
    )
    t_ns = to_ns(times)
    day_ns, span_ns = to_ns(pd.Timedelta(days=1)), to_ns(span)
    out = []
    for channel, g in rows.groupby("channel", sort=True):
        ts = g["t"].to_numpy(np.int64)
        last_i = np.searchsorted(ts, t_ns, side="left") - 1
        recent = last_i + 1 - np.searchsorted(ts, t_ns - to_ns(lookback), side="left")
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
                f"前{days}天同一时段平均{expected[i]:.1f}条），超过断流阈值{fmt_num(hours)}小时，"
                "请检查采集是否中断"
            )
            details = {
                "hours_silent": float(gap_h[i]),
                "threshold": hours,
                "last_post_at": last.isoformat(),
                "expected_posts": float(expected[i]),
                "daily_posts": float(daily[i]),
                "lookback_days": days,
                "filters": query_filters("channel", str(channel), at - lookback, at),
            }
            out.append(
                [at, str(channel), float(gap_h[i]), hours, last, at, last.isoformat(), message, details]
            )
    return pd.DataFrame(out, columns=FIRE_COLUMNS) if out else no_fires()


def _tier_rank(grade: str, orders) -> tuple[int, int] | None:
    """(which tier list, position) of a grade; '一级(重大)' is matched by its part before the bracket."""
    candidates = [grade, re.split(r"[（(]", grade)[0].strip()]
    for o, order in enumerate(orders):
        for candidate in candidates:
            if candidate in order:
                return o, list(order).index(candidate)
    return None


def _fire_grade_raised(store: Store, rule: Rule, p: dict, times: pd.DatetimeIndex, ctx: Context) -> pd.DataFrame:
    orders = p["tier_orders"]
    window = pd.Timedelta(minutes=int(p["window_minutes"]))
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
                graded = local_time(row.graded_at)
                seen = np.flatnonzero((to_ns(times) >= row.t) & (to_ns(times) < row.t + to_ns(window)))
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
    return pd.DataFrame(out, columns=FIRE_COLUMNS) if out else no_fires()


def _clock_reader(store: Store) -> Callable[[pd.Timestamp], pd.DataFrame]:
    """Deadline clocks at any moment from one read of the incident log (a back-test asks thousands of times)."""
    from analysis import incidents

    table = incidents.deadline_table(store)
    return lambda now: incidents.clocks_at(table, now)


def _fire_deadline(store: Store, rule: Rule, p: dict, times: pd.DatetimeIndex, ctx: Context) -> pd.DataFrame:
    warn = float(p["warn_minutes"])
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
            deadline_at = local_time(row.deadline_at)
            state = "overdue" if overdue else "warning"
            label = getattr(row, "label", None) or row.step
            head = f"事件【{row.title}】（{row.grade}）“{label}”"
            message = (
                f"{head}已逾期{_duration_zh(-left)}（时限{deadline_at:%m-%d %H:%M}）"
                if overdue
                else f"{head}将在{_duration_zh(left)}后到期（时限{deadline_at:%m-%d %H:%M}），"
                f"提前提醒阈值{fmt_num(warn)}分钟"
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
    return pd.DataFrame(out, columns=FIRE_COLUMNS) if out else no_fires()


def _duration_zh(minutes: float) -> str:
    minutes = max(0, int(round(minutes)))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    text = (f"{days}天" if days else "") + (f"{hours}小时" if hours else "") + (f"{mins}分钟" if mins else "")
    return text or "0分钟"


THRESHOLD = RuleKind(
    "threshold", "指标阈值", "某个指标在统计窗口内达到阈值时预警（负面占比按95%置信下限比较，避免小样本误报）",
    "medium",
    (
        Param("metric", "指标", "choice", required=True, choices=METRICS),
        dataclasses.replace(WINDOW, required=True),
        Param("threshold", "阈值", "number", required=True, minimum=0, exclusive=True,
              help="达到即预警；负面占比填0到1之间的小数，例如0.6表示60%；敏感时期按系数收紧"),
        _scope("all"),
        VALUES,
        Param("min_posts", "最少帖数", "int", minimum=1,
              default=lambda p: 10 if p.get("metric") == "negative_ratio" else 1,
              help="窗口内帖数少于此数时不预警（负面占比默认10条，其余默认1条）"),
        Param("baseline_windows", "基线窗口数", "int", minimum=1,
              default=lambda p: 24 if p.get("window_minutes", 60) <= 360 else 7,
              help="消息中对比的历史窗口数（取中位数）"),
        SEVERITY,
    ),
    _fire_threshold,
    _check_threshold,
)
SPIKE = RuleKind(
    "spike", "发帖突增", "按小时检测发帖量（或负面占比）相对自身基线的突增（稳健z值与倍数同时超限）", "medium",
    (
        _scope("topic"),
        VALUES,
        Param("detector", "检测方式", "choice", default="volume",
              choices={"volume": "发帖量", "negative_ratio": "负面占比"}),
        Param("overrides", "检测参数", "json", default={}, check=_check_overrides,
              help="覆盖突增检测的默认参数，例如 {\"min_posts\": 20}"),
        SEVERITY,
    ),
    _fire_spike,
)
KEYWORD = RuleKind(
    "keyword", "关键词监测", "统计窗口内出现预警关键词的信息达到条数时预警", "high",
    (
        Param("words", "关键词", "words", required=True, help="每行一个；任一命中即计入"),
        Param("regex", "正则开关", "bool", default=False, help="关键词按正则表达式匹配"),
        Param("min_count", "最少命中条数", "int", minimum=1, default=1, help="窗口内命中条数达到此数时预警"),
        dataclasses.replace(WINDOW, default=60),
        _scope("all"),
        VALUES,
        SEVERITY,
    ),
    _fire_keyword,
    _check_keyword,
)
SILENCE = RuleKind(
    "silence", "渠道断流", "某渠道持续无新数据（而前几天同一时段通常有数据）时预警，提示采集可能中断", "medium",
    (
        Param("hours", "断流时长", "number", required=True, minimum=0, exclusive=True, unit="小时"),
        Param("channels", "监测渠道", "words", picker="channel", help="不填则监测全部渠道"),
        Param("min_daily_posts", "日均帖数下限", "number", minimum=0, default=0,
              help="回看期内日均帖数低于此数的渠道不监测"),
        Param("min_expected_posts", "同时段预期帖数下限", "number", minimum=0, default=5,
              help="前几天同一时段平均帖数低于此数时不算断流（夜间本来就少）"),
        Param("lookback_days", "回看天数", "int", minimum=1, default=7),
        SEVERITY,
    ),
    _fire_silence,
)
GRADE_RAISED = RuleKind(
    "grade_raised", "事件定级上调", "事件的定级在同一级别体系内上调时预警", "high",
    (
        Param("tier_orders", "级别顺序", "json", default=DEFAULT_TIER_ORDERS, check=_check_tier_orders,
              help="每个级别体系从低到高列出级别"),
        dataclasses.replace(WINDOW, default=1440, help="定级后多长时间内仍可预警"),
        SEVERITY,
    ),
    _fire_grade_raised,
)
DEADLINE = RuleKind(
    "deadline", "处置时限", "事件处置环节逾期（或即将到期）时预警", "high",
    (
        Param("warn_minutes", "提前提醒时间", "number", minimum=0, default=0, unit="分钟",
              help="到期前多少分钟提醒；0 表示只在逾期时预警"),
        SEVERITY,
    ),
    _fire_deadline,
)

