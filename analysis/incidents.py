"""Incidents: grouping posts, grading with stated reasons, the lifecycle event log, deadline clocks and KPIs.

The rules follow the work system of Chinese 舆情 offices: found → verified → graded → reported within a
deadline → handed to a unit → handled → answered publicly → tracked and urged → closed → reviewed →
archived. Tier sets, thresholds and deadlines are data (analysis.grading), and an office's own choice of them
is its policy (analysis.settings.policy), edited on the 设置 page without touching code.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from analysis import audit, config, grading, media, sensitive, settings
from analysis.grading import (
    LIFECYCLE,
    Deadline,
    GradingThresholds,
    clocks_for,
    deadline_items,
    grades_of,
    is_ticket_incident,
)
from analysis.store import Store

TZ = config.TIMEZONE

# -- lifecycle ------------------------------------------------------------------------------------------
REOPEN = "重新打开"
# A step may be recorded once its prerequisites are; repeatable steps may be recorded again.
PREREQUISITES: dict[str, tuple[str, ...]] = {
    "监测发现": (), "核实": ("监测发现",), "研判定级": ("监测发现",), "报送": ("监测发现",),
    "批办/交办": ("研判定级",), "处置": ("研判定级",), "公开回应": ("核实",), "跟踪": ("监测发现",),
    "督办/催办": ("监测发现",), "办结/化解": ("处置",), "总结评估": ("办结/化解",), "归档": ("总结评估",),
}
REPEATABLE = frozenset({"处置", "公开回应", "跟踪", "督办/催办", "核实", "报送"})
CLOSED_STEP, ARCHIVED_STEP = "办结/化解", "归档"
AFTER_CLOSURE = frozenset({"总结评估", "归档", "跟踪"})


class LifecycleError(ValueError):
    """A lifecycle event that breaks the configured order; the message is Chinese, for the UI."""


def check_event(history: list[str], step: str, note: str | None = None) -> None:
    """Raise LifecycleError unless `step` may follow the recorded `history` (oldest first)."""
    if step == REOPEN:
        if CLOSED_STEP not in _since_reopen(history):
            raise LifecycleError("事件尚未办结，无需重新打开")
        if not (note or "").strip():
            raise LifecycleError("重新打开事件须填写原因")
        return
    if step not in PREREQUISITES:
        raise LifecycleError(f"未知的处置环节：{step}（可选：{'、'.join(LIFECYCLE)}）")
    current = _since_reopen(history)
    done = set(history)
    if ARCHIVED_STEP in current:
        raise LifecycleError("事件已归档，如需继续处置请先“重新打开”并填写原因")
    if CLOSED_STEP in current and step not in AFTER_CLOSURE:
        raise LifecycleError(f"事件已办结，不能再记录“{step}”；如需继续处置请先“重新打开”并填写原因")
    missing = [p for p in PREREQUISITES[step] if p not in done]
    if missing:
        raise LifecycleError(f"记录“{step}”之前须先完成：{'、'.join(missing)}")
    if step in current and step not in REPEATABLE:
        raise LifecycleError(f"“{step}”已记录过，不能重复记录")


def _since_reopen(history: list[str]) -> list[str]:
    last = max((i for i, s in enumerate(history) if s == REOPEN), default=-1)
    return history[last + 1:]


# -- grading ----------------------------------------------------------------------------------------------
CASUALTY_WORDS = ("死亡", "身亡", "遇难", "丧生", "死伤", "伤亡", "受伤", "失踪", "重伤", "殉职")
MASS_INCIDENT_WORDS = ("聚集", "群体性", "围堵", "堵路", "静坐", "拉横幅", "冲突", "打砸", "集体上访", "讨说法")


@dataclass(frozen=True)
class Signals:
    """What is measured about an incident's posts up to a moment; every grade reason cites these."""

    posts: int
    negative: int
    negative_ratio: float
    negative_ratio_change: float          # last 24 h vs the 24 h before, in ratio points
    sites: int
    channels: int
    max_channels_in_window: int
    peak_posts_per_hour: int
    comments: int
    mainstream_sites: tuple[str, ...]
    overseas_posts: int
    casualty_posts: int
    mass_incident_posts: int
    growing: bool                         # last 24 h busier than the 24 h before
    sensitive_period: str | None
    previous_grade: str | None
    previous_graded_at: pd.Timestamp | None
    mainstream_tiers: tuple[str, ...] = ()   # media.mainstream_coverage: who reported, by tier, first first


def measure(posts: pd.DataFrame, at: pd.Timestamp, thresholds: GradingThresholds,
            previous: tuple[str, pd.Timestamp] | None, periods: Sequence[sensitive.SensitivePeriod],
            mainstream_sites: Sequence[str], directory: Mapping[str, str] | None = None) -> Signals:
    """Signals from the incident's posts (columns created_at, channel, site, text_norm, sentiment_label,
    comment_count; with a media `directory` also author_id, post_type, post_id) as of `at`."""
    posts = posts[posts["created_at"] <= at].sort_values("created_at")
    times = posts["created_at"]
    negative = posts["sentiment_label"].eq("负面")
    last_day = times > at - pd.Timedelta(hours=24)
    day_before = (times > at - pd.Timedelta(hours=48)) & ~last_day
    ratio_now = negative[last_day].mean() if last_day.any() else np.nan
    ratio_before = negative[day_before].mean() if day_before.any() else np.nan
    texts = posts["text_norm"].fillna("")
    period = sensitive.active_period(at, periods)
    return Signals(
        posts=len(posts),
        negative=int(negative.sum()),
        negative_ratio=float(negative.mean()) if len(posts) else 0.0,
        negative_ratio_change=float(ratio_now - ratio_before) if not np.isnan(ratio_now - ratio_before) else 0.0,
        sites=posts["site"].nunique(),
        channels=posts["channel"].nunique(),
        max_channels_in_window=_max_distinct_in_window(times, posts["channel"],
                                                       pd.Timedelta(minutes=thresholds.spread_window_minutes)),
        peak_posts_per_hour=_max_count_in_window(times, pd.Timedelta(hours=1)),
        comments=int(posts["comment_count"].sum()),
        mainstream_sites=tuple(sorted(set(posts["site"]) & set(mainstream_sites))),
        overseas_posts=int(posts["channel"].eq("境外媒体").sum()),
        casualty_posts=int(texts.str.contains("|".join(CASUALTY_WORDS)).sum()),
        mass_incident_posts=int(texts.str.contains("|".join(MASS_INCIDENT_WORDS)).sum()),
        growing=bool(last_day.sum() > day_before.sum()),
        sensitive_period=period.name if period else None,
        previous_grade=previous[0] if previous else None,
        previous_graded_at=previous[1] if previous else None,
        mainstream_tiers=media.mainstream_coverage(posts, directory, mainstream_sites) if directory is not None else (),
    )


def _nanoseconds(times: pd.Series) -> np.ndarray:
    return pd.DatetimeIndex(times).as_unit("ns").asi8


def _max_count_in_window(times: pd.Series, width: pd.Timedelta) -> int:
    values = _nanoseconds(times)
    if len(values) == 0:
        return 0
    ends = np.searchsorted(values, values + width.value, side="left")
    return int((ends - np.arange(len(values))).max())


def _max_distinct_in_window(times: pd.Series, labels: pd.Series, width: pd.Timedelta) -> int:
    """Most distinct labels inside any window of `width` (two pointers, O(n))."""
    values, names = _nanoseconds(times), labels.to_numpy()
    counts: Counter = Counter()
    best, left = 0, 0
    for right in range(len(values)):
        counts[names[right]] += 1
        while values[right] - values[left] >= width.value:
            counts[names[left]] -= 1
            if counts[names[left]] == 0:
                del counts[names[left]]
            left += 1
        best = max(best, len(counts))
    return best


@dataclass(frozen=True)
class Grade:
    tier_set: str
    grade: str
    reasons: tuple[str, ...]


def grade(signals: Signals, tier_set: str, at: pd.Timestamp | None, thresholds: GradingThresholds,
          periods: Sequence[sensitive.SensitivePeriod]) -> Grade:
    """The grade and every reason that fired, in Chinese. The gravest level with a reason wins."""
    t = thresholds.tightened(sensitive.threshold_factor(at, periods)) if at is not None else thresholds
    s = signals
    grave, serious = [], []
    if s.casualty_posts >= t.min_keyword_posts:
        grave.append(f"出现人员伤亡信息（{s.casualty_posts}条帖子提及）")
    if s.mass_incident_posts >= t.min_keyword_posts:
        grave.append(f"出现群体性事件信息（{s.mass_incident_posts}条帖子提及聚集、围堵等）")
    if s.max_channels_in_window >= t.fast_spread_channels:
        grave.append(f"{t.spread_window_minutes}分钟内跨{s.max_channels_in_window}个平台传播")
    if s.mainstream_sites:
        grave.append(f"出现主流媒体报道（{'；'.join(s.mainstream_tiers) or '、'.join(s.mainstream_sites)}）")
    if s.peak_posts_per_hour >= t.severe_posts_per_hour:
        grave.append(f"快速发酵：1小时内最多{s.peak_posts_per_hour}条")
    if s.sensitive_period and (s.peak_posts_per_hour >= t.severe_posts_per_hour // 2 or s.posts >= t.severe_posts):
        grave.append(f"敏感时期（{s.sensitive_period}）内快速发酵")
    if (s.previous_grade in ("二级", "较大") and s.previous_graded_at is not None and at is not None
            and at - s.previous_graded_at >= pd.Timedelta(hours=t.escalate_after_hours) and s.growing):
        grave.append(f"{s.previous_grade}事件{t.escalate_after_hours}小时后仍在升温，升级处理")
    if s.overseas_posts:
        serious.append(f"境外媒体关注（{s.overseas_posts}条）")
    if s.sites >= t.several_sites:
        serious.append(f"在{s.sites}个站点传播")
    if s.comments >= t.dozens_of_comments:
        serious.append(f"评论达{s.comments}条")
    if s.negative_ratio_change >= t.rising_negative_points:
        serious.append(f"负面声音上升：近24小时负面占比上升{s.negative_ratio_change * 100:.0f}个百分点")
    if s.posts >= t.severe_posts:
        serious.append(f"累计发帖{s.posts}条")
    mild = [f"零星讨论：共{s.posts}条帖子，{s.sites}个站点，无主流媒体介入"]
    period = sensitive.active_period(at, periods) if at is not None else None
    if period is not None and period.factor < 1:
        note = f"（敏感时期“{period.name}”，阈值已收紧）"
        grave, serious = [r + note for r in grave], [r + note for r in serious]
    grades = grades_of(tier_set)
    if tier_set == "四级":
        # 特别重大 needs gravity on two fronts (e.g. casualties and mainstream/overseas attention).
        if len(grave) >= 2 and (s.mainstream_sites or s.overseas_posts):
            return Grade(tier_set, grades[0], tuple(grave + serious))
        if grave:
            return Grade(tier_set, grades[1], tuple(grave + serious))
        if serious:
            return Grade(tier_set, grades[2], tuple(serious))
        return Grade(tier_set, grades[3], tuple(mild))
    if grave:
        return Grade(tier_set, grades[0], tuple(grave + serious))
    if serious:
        return Grade(tier_set, grades[1], tuple(serious))
    return Grade(tier_set, grades[2], tuple(mild))


def format_minutes(minutes: float | None) -> str:
    """'剩余1小时20分' or '已逾期3小时5分' for the clocks."""
    if minutes is None or pd.isna(minutes):
        return ""
    whole = int(abs(minutes))
    days, rest = divmod(whole, 24 * 60)
    hours, mins = divmod(rest, 60)
    text = (f"{days}天" if days else "") + (f"{hours}小时" if hours else "") + f"{mins}分"
    return ("剩余" if minutes >= 0 else "已逾期") + text


# -- persistence ----------------------------------------------------------------------------------------------
def _now() -> pd.Timestamp:
    return pd.Timestamp.now(tz=TZ)


def create_incident(store: Store, title: str, post_ids: list[str], actor: str, source: str = "analyst",
                    topic: str | None = None, region: str | None = None, responsible_unit: str | None = None,
                    first_seen_at: pd.Timestamp | None = None, tier_set: str | None = None,
                    incident_id: str | None = None, note: str | None = None, state: str = "active",
                    keywords: Sequence[str] = (), channels: Sequence[str] | None = None) -> str:
    """Create an incident over existing posts and record 监测发现 at first sight (grading is the caller's:
    analysis.incident_intake opens and grades). Without `tier_set` the office's default tier set applies.
    `keywords` and `channels` (None: any) are what new posts must match to join it while it is open."""
    if not title.strip():
        raise ValueError("事件标题不能为空")
    tier_set = tier_set or settings.policy(store).tier_set
    grades_of(tier_set)
    post_ids = list(dict.fromkeys(post_ids))
    found = pd.DataFrame(columns=["post_id", "channel", "created_at"])
    if post_ids:
        found = store.query("SELECT post_id, channel, created_at, topic, region FROM posts WHERE post_id IN "
                            f"({', '.join('?' for _ in post_ids)})", post_ids)
        unknown = set(post_ids) - set(found["post_id"])
        if unknown:
            raise ValueError(f"以下帖子不存在：{'、'.join(sorted(unknown)[:5])}")
        first_seen_at = first_seen_at or pd.Timestamp(found["created_at"].min())
        topic = topic or found["topic"].mode().iloc[0]
        region = region or (found["region"].dropna().mode().iloc[0] if found["region"].notna().any() else None)
    if first_seen_at is None:
        raise ValueError("没有关联帖子时须给出首次发现时间")
    incident_id = incident_id or f"INC-{pd.Timestamp(first_seen_at).tz_convert(TZ):%Y%m%d}-{uuid.uuid4().hex[:4]}"
    statements = [
        ("INSERT INTO incidents (incident_id, title, topic, region, source, first_seen_at, responsible_unit, "
         "tier_set, created_by, state, match_keywords, match_channels) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
         [incident_id, title.strip(), topic, region, source, pd.Timestamp(first_seen_at).to_pydatetime(),
          responsible_unit, tier_set, actor, state, list(keywords), None if channels is None else list(channels)]),
        *[("INSERT INTO incident_posts (incident_id, post_id, channel, created_at, added_by) VALUES (?, ?, ?, ?, ?)",
           [incident_id, post.post_id, post.channel, post.created_at.to_pydatetime(), actor])
          for post in found.itertuples()],
        ("INSERT INTO incident_events (incident_id, step, occurred_at, actor, note) VALUES (?, ?, ?, ?, ?)",
         [incident_id, "监测发现", pd.Timestamp(first_seen_at).to_pydatetime(), actor, note or f"来源：{source}"]),
        audit.entry(actor, "create_incident", incident_id, {"title": title, "posts": len(post_ids)}),
    ]
    store.execute(statements)
    return incident_id


def events_until(store: Store, as_of: pd.Timestamp) -> pd.DataFrame:
    """Every incident's lifecycle events up to `as_of` (a briefing's clocks as they stood then)."""
    return store.query("SELECT incident_id, step, occurred_at, note FROM incident_events WHERE occurred_at <= ? "
                       "ORDER BY occurred_at, event_id", [pd.Timestamp(as_of).to_pydatetime()])


def events(store: Store, incident_id: str) -> pd.DataFrame:
    return store.query("SELECT event_id, step, occurred_at, actor, note, recorded_at FROM incident_events "
                       "WHERE incident_id = ? ORDER BY occurred_at, event_id", [incident_id])


def add_event(store: Store, incident_id: str, step: str, actor: str, at: pd.Timestamp | None = None,
              note: str | None = None) -> None:
    """Append a lifecycle event after checking the order; the log is never edited."""
    _require_incident(store, incident_id)
    history = events(store, incident_id)
    check_event(history["step"].tolist(), step, note)
    at = pd.Timestamp(at) if at is not None else _now()
    if at.tzinfo is None:
        at = at.tz_localize(TZ)
    if not history.empty and at < history["occurred_at"].min():
        raise LifecycleError("事件时间不能早于“监测发现”")
    store.execute([
        ("INSERT INTO incident_events (incident_id, step, occurred_at, actor, note) VALUES (?, ?, ?, ?, ?)",
         [incident_id, step, at.to_pydatetime(), actor, note]),
        audit.entry(actor, "incident_event", incident_id, {"step": step, "at": at, "note": note}),
    ])


def _require_incident(store: Store, incident_id: str) -> pd.Series:
    found = store.query("SELECT * FROM incidents WHERE incident_id = ?", [incident_id])
    if found.empty:
        raise ValueError(f"事件不存在：{incident_id}")
    return found.iloc[0]


_INCIDENT_POST_COLUMNS = ("post_id, channel, site, url, author_id, title, text, text_norm, created_at, post_type, "
                          "parent_id, root_id, repost_count, comment_count, like_count, read_count, "
                          "sentiment_score, sentiment_label")


def incident_posts(store: Store, incident_id: str) -> pd.DataFrame:
    """The incident's posts, oldest first.

    Read from the incident's time span only: posts are stored in time order, so DuckDB's zone maps skip every
    row group outside it (joining incident_posts with all posts scanned 10 M post ids: 0.8–1.4 s). Not
    `post_id IN (?, …)` through the primary key: a long list of scattered ids pins 0.5–0.75 MB of ART index
    per id at 10 M posts, and 5,000 of them ran out of the dashboard's memory limit.
    """
    span = store.query("SELECT min(created_at) AS first, max(created_at) AS last FROM incident_posts "
                       "WHERE incident_id = ?", [incident_id]).iloc[0]
    if pd.isna(span["first"]):
        return store.query(f"SELECT {_INCIDENT_POST_COLUMNS} FROM posts LIMIT 0")
    return store.query(
        f"""SELECT {_INCIDENT_POST_COLUMNS} FROM posts
            WHERE created_at BETWEEN ? AND ?
              AND post_id IN (SELECT post_id FROM incident_posts WHERE incident_id = ?)
            ORDER BY created_at""",
        [span["first"].to_pydatetime(), span["last"].to_pydatetime(), incident_id],
    )


def grade_history(store: Store, incident_id: str) -> pd.DataFrame:
    return store.query("SELECT graded_at, tier_set, grade, reasons, signals, is_override, actor, note "
                       "FROM incident_grades WHERE incident_id = ? ORDER BY graded_at", [incident_id])


def grade_incident(store: Store, incident_id: str, at: pd.Timestamp | None = None, actor: str = "system",
                   thresholds: GradingThresholds | None = None) -> Grade:
    """Compute and store the grade with its reasons (kept beside any override). Thresholds, sensitive
    periods and mainstream sites are the office's policy, the thresholds unless `thresholds` is given."""
    office = settings.policy(store)
    thresholds = thresholds or office.thresholds
    periods, mainstream = office.periods, office.mainstream_sites
    incident = _require_incident(store, incident_id)
    at = pd.Timestamp(at) if at is not None else _now()
    history = grade_history(store, incident_id)
    computed = history[~history["is_override"]]
    previous = (computed.iloc[-1]["grade"], pd.Timestamp(computed.iloc[-1]["graded_at"])) if len(computed) else None
    signals = measure(incident_posts(store, incident_id), at, thresholds, previous, periods, mainstream,
                      settings.media_directory(store))
    result = grade(signals, incident["tier_set"], at, thresholds, periods)
    store.execute([
        ("INSERT INTO incident_grades VALUES (?, ?, ?, ?, ?, ?, false, ?, NULL)",
         [incident_id, at.to_pydatetime(), result.tier_set, result.grade, list(result.reasons),
          json.dumps(asdict(signals), ensure_ascii=False, default=str), actor]),
    ])
    return result


def override_grade(store: Store, incident_id: str, new_grade: str, reason: str, actor: str) -> None:
    incident = _require_incident(store, incident_id)
    allowed = grades_of(incident["tier_set"])
    if new_grade not in allowed:
        raise ValueError(f"“{new_grade}”不属于{incident['tier_set']}分级（可选：{'、'.join(allowed)}）")
    if not reason.strip():
        raise ValueError("人工调整定级须填写理由")
    store.execute([
        ("INSERT INTO incident_grades VALUES (?, ?, ?, ?, ?, '{}', true, ?, ?)",
         [incident_id, _now().to_pydatetime(), incident["tier_set"], new_grade, [f"人工定级：{reason.strip()}"],
          actor, reason.strip()]),
        audit.entry(actor, "override_grade", incident_id, {"grade": new_grade, "reason": reason}),
    ])


def list_incidents(store: Store) -> pd.DataFrame:
    """One row per incident: grade, status, last step, posts, channels, first seen / closed."""
    frame = store.query(
        """WITH last_grade AS (
               SELECT incident_id, arg_max(grade, graded_at) AS grade, arg_max(reasons, graded_at) AS reasons
               FROM incident_grades GROUP BY incident_id),
           steps AS (
               SELECT incident_id, arg_max(step, occurred_at) AS last_step,
                      list(step ORDER BY occurred_at, event_id) AS history,
                      max(occurred_at) FILTER (WHERE step = '办结/化解') AS closed_at
               FROM incident_events GROUP BY incident_id),
           linked AS (
               SELECT incident_id, count(*) AS posts, list(DISTINCT channel ORDER BY channel) AS channels
               FROM incident_posts GROUP BY incident_id)
           SELECT i.incident_id, i.title, i.topic, i.region, i.source, i.first_seen_at, i.responsible_unit,
                  i.tier_set, g.grade, g.reasons, s.last_step, s.history, s.closed_at,
                  coalesce(l.posts, 0) AS posts, l.channels, coalesce(i.state, 'active') AS state,
                  i.state_reason, i.merged_into
           FROM incidents i LEFT JOIN last_grade g USING (incident_id) LEFT JOIN steps s USING (incident_id)
           LEFT JOIN linked l USING (incident_id)
           ORDER BY i.first_seen_at DESC"""
    )
    for column in ("reasons", "history", "channels"):  # an ungraded or empty incident has lists, not NULLs
        frame[column] = [list(v) if isinstance(v, list | np.ndarray) else [] for v in frame[column]]
    frame["status"] = [STATE_STATUS.get(state) or _status(h) for state, h in zip(frame["state"], frame["history"],
                                                                                  strict=True)]
    return frame


def listed_incident(store: Store, incident_id: str) -> pd.Series:
    """The `list_incidents` row of one incident (grade, status, posts …); ValueError when there is none."""
    listed = list_incidents(store).set_index("incident_id")
    if incident_id not in listed.index:
        raise ValueError(f"事件不存在：{incident_id}")
    return listed.loc[incident_id]


# An incident's state beside its lifecycle: a proposal waits for the duty analyst; a dismissed (误报) or merged
# incident keeps its history but runs no clocks and counts in no KPI.
STATE_STATUS = {"proposed": "待确认", "dismissed": "误报", "merged": "已合并"}
OPEN_STATUSES = ("待确认", "处置中", "重新打开")
INACTIVE_STATUSES = ("已归档", "误报", "已合并")


def _status(history: list[str]) -> str:
    current = _since_reopen(history)
    if ARCHIVED_STEP in current:
        return "已归档"
    if CLOSED_STEP in current:
        return "已办结"
    return "处置中" if REOPEN not in history else "重新打开"


def deadline_table(store: Store, listed: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every deadline of every incident not archived, read once (see clocks_at). Pass `listed` (list_incidents)
    when you already have it, rather than listing twice."""
    incidents = list_incidents(store) if listed is None else listed
    all_events = store.query("SELECT incident_id, step, occurred_at FROM incident_events")
    deadlines = settings.policy(store).deadlines
    parts = []
    for incident in incidents.itertuples():
        if incident.status in INACTIVE_STATUSES:
            continue
        items = deadline_items(incident.grade or "三级", all_events[all_events["incident_id"] == incident.incident_id],
                               is_ticket_incident(incident.channels), deadlines)
        parts.append(items.assign(incident_id=incident.incident_id, title=incident.title, grade=incident.grade))
    columns = ["incident_id", "title", "grade", "step", "label", "anchor_at", "hard_due_at", "done_at"]
    if not parts:  # typed, so clocks_at can subtract times from it (an object column cannot)
        times = pd.Series(dtype=f"datetime64[ns, {TZ}]")
        return pd.DataFrame({c: times if c.endswith("_at") else pd.Series(dtype=object) for c in columns})
    return pd.concat(parts, ignore_index=True)[columns]


def clocks_at(table: pd.DataFrame, now: pd.Timestamp) -> pd.DataFrame:
    """The deadlines open at `now` (started, not yet met): minutes left, negative when overdue."""
    running = table[(table["anchor_at"] <= now) & (table["done_at"].isna() | (table["done_at"] > now))]
    left = (pd.to_datetime(running["hard_due_at"], utc=True) - now).dt.total_seconds() / 60  # typed even when empty
    return pd.DataFrame({"incident_id": running["incident_id"], "title": running["title"], "grade": running["grade"],
                         "step": running["step"], "label": running["label"], "deadline_at": running["hard_due_at"],
                         "minutes_left": left, "is_overdue": left < 0}).reset_index(drop=True)


def deadline_clocks(store: Store, now: pd.Timestamp | None = None,
                    listed: pd.DataFrame | None = None) -> pd.DataFrame:
    """Open deadlines of every incident not archived: due time, minutes left (negative when overdue)."""
    return clocks_at(deadline_table(store, listed), pd.Timestamp(now) if now is not None else _now())


def incident_clocks(incident: pd.Series, incident_events: pd.DataFrame, now: pd.Timestamp,
                    deadlines: Sequence[Deadline]) -> pd.DataFrame:
    """All deadlines of one incident (met, missed and running) with the time left in words.

    Pure: built from the incident's row of list_incidents and its events, which a page already has cached, so
    the clocks tick with `now` on every render without another query.
    """
    clocks = clocks_for(incident["grade"] or "三级", incident_events, is_ticket_incident(incident["channels"]),
                        pd.Timestamp(now), deadlines)
    clocks["time_left"] = clocks["minutes_left"].map(format_minutes)
    return clocks


def hourly_counts(posts: pd.DataFrame) -> pd.DataFrame:
    """Posts and negative posts per hour (Shanghai time) of an incident's posts (incident_posts), for its
    timeline chart: drawn from the posts a page already holds rather than from another scan of all posts."""
    hours = posts["created_at"].dt.tz_convert(TZ).dt.floor("h")
    negative = posts["sentiment_label"].eq("负面")
    counts = pd.DataFrame({"hour": hours, "negative": negative}).groupby("hour", sort=True)
    return pd.DataFrame({"posts": counts.size(), "negative": counts["negative"].sum()}).astype("int64").reset_index()


def escalate_overdue(store: Store, now: pd.Timestamp | None = None, actor: str = "system") -> int:
    """Record one 督办/催办 event per overdue deadline (idempotent: the note names the deadline)."""
    now = pd.Timestamp(now) if now is not None else _now()
    listed = list_incidents(store)
    clocks = deadline_clocks(store, now, listed)
    # A closed incident's review deadline can run late too, but 督办 belongs to open handling: the lifecycle
    # refuses it after 办结 (the deadline alert rule still reports it).
    handling = set(listed.loc[listed["status"].isin(["处置中", "重新打开"]), "incident_id"])
    overdue = clocks[clocks["is_overdue"] & clocks["incident_id"].isin(handling)]
    count = 0
    for clock in overdue.itertuples():
        note = f"逾期督办：{clock.label}"
        already = store.scalar("SELECT count(*) FROM incident_events WHERE incident_id = ? AND note = ?",
                               [clock.incident_id, note])
        if not already:
            add_event(store, clock.incident_id, "督办/催办", actor, at=now, note=note)
            count += 1
    return count


# -- KPIs ---------------------------------------------------------------------------------------------------
def kpis(store: Store, start: pd.Timestamp, end: pd.Timestamp, now: pd.Timestamp | None = None) -> dict:
    """Incidents first seen in [start, end): by grade, 化解率, reply rate, response times, on-time rates."""
    now = pd.Timestamp(now) if now is not None else _now()
    incidents = list_incidents(store)
    incidents = incidents[~incidents["status"].isin(["误报", "已合并"])]  # a false alarm is no incident
    inside = incidents[(incidents["first_seen_at"] >= start) & (incidents["first_seen_at"] < end)]
    if inside.empty:
        return {"incidents": 0, "by_grade": {}, "resolution_rate": None, "reply_rate": None,
                "mean_response_hours": None, "p90_response_hours": None, "on_time_rate": {}, "overdue": 0}
    all_events = store.query("SELECT incident_id, step, occurred_at FROM incident_events")
    deadlines = settings.policy(store).deadlines
    response_hours, on_time, overdue = [], {}, 0
    for incident in inside.itertuples():
        own = all_events[all_events["incident_id"] == incident.incident_id]
        found = own.loc[own["step"] == "监测发现", "occurred_at"].min()
        replies = own.loc[own["step"] == "公开回应", "occurred_at"]
        if not replies.empty:
            response_hours.append((replies.min() - found).total_seconds() / 3600)
        clocks = clocks_for(incident.grade or "三级", own, is_ticket_incident(incident.channels), now, deadlines)
        for clock in clocks.itertuples():
            if clock.status != grading.RUNNING:
                on_time.setdefault(clock.step, []).append(clock.status in grading.ON_TIME_STATUSES)
        overdue += int((clocks["status"] == grading.OVERDUE).sum())
    replied = sum(1 for i in inside.itertuples() if "公开回应" in i.history)
    hours = np.array(response_hours)
    return {
        "incidents": len(inside),
        "by_grade": inside["grade"].value_counts().to_dict(),
        "resolution_rate": float((inside["status"].isin(["已办结", "已归档"])).mean()),
        "reply_rate": replied / len(inside),
        "mean_response_hours": float(hours.mean()) if len(hours) else None,
        "p90_response_hours": float(np.percentile(hours, 90)) if len(hours) else None,
        "on_time_rate": {step: float(np.mean(flags)) for step, flags in on_time.items()},
        "overdue": overdue,
    }


def open_board(store: Store, now: pd.Timestamp | None = None) -> pd.DataFrame:
    """Open incidents, gravest first, each with its most urgent deadline (overdue first) for the overview."""
    now = pd.Timestamp(now) if now is not None else _now()
    listed = list_incidents(store)
    open_ones = listed[listed["status"].isin(OPEN_STATUSES)]
    clocks = deadline_clocks(store, now, listed).sort_values("minutes_left")
    urgent = clocks.drop_duplicates("incident_id").set_index("incident_id")
    board = open_ones[["incident_id", "title", "grade", "status", "first_seen_at", "posts"]].copy()
    board["next_deadline"] = board["incident_id"].map(urgent["label"]).fillna("无未完成时限")
    board["minutes_left"] = board["incident_id"].map(urgent["minutes_left"])
    board["time_left"] = board["minutes_left"].map(format_minutes)
    board["is_overdue"] = board["minutes_left"].lt(0)
    board["rank"] = board["grade"].map(grading.GRADE_RANK).fillna(99)
    return board.sort_values(["rank", "minutes_left"]).drop(columns="rank").reset_index(drop=True)
