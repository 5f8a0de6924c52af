"""How incidents come in on an office's own data: opened from an alert, a spike, selected posts or a group of
hotline/留言 tickets; proposed by the tick (待确认) for alerts above a configured level; and grown while open by
the new posts that match them. Every path grades at once (incidents.grade_incident, with the reasons that fired)
and starts the clocks (the 监测发现 event).

Tick-callable, both idempotent (ticks repeat on the same data):
- `propose_incidents(store, now)`: each alert fired in the last `lookback_hours` with severity ≥ `min_severity`
  and posts behind it (threshold, spike, keyword rules) proposes one incident in state 待确认 — unless an open
  incident on the same topic (or channel) had a post within `attach_hours` before the alert's window, which it
  then joins (a new burst of the same story is not a new incident). Each alert is used once (incident_sources).
- `grow_incidents(store, now)`: every open incident takes the posts stored since that match it — its topic, any
  of its keywords, its channels — up to `grow_quiet_hours` after its newest post, and is re-graded when any joined.
Settings: `incident_proposals` (analysis/settings.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis import alerts, audit, config, grading, incident_edits, incidents, settings
from analysis.incidents import TZ, _now
from analysis.store import Store

POST_KINDS = ("threshold", "spike", "keyword")   # alert kinds with posts behind them
TOPIC_SCOPED_SOURCES = ("alert", "spike")        # incidents opened from a burst on a topic grow by that topic
SPIKE_DIMENSIONS = {"topic": "topic", "channel": "channel", "region": "coalesce(region, '未知')"}
MAX_KEYWORDS = 3
MAX_SOURCE_POSTS = 5000


@dataclass
class Opened:
    incident_id: str
    grade: incidents.Grade
    posts: int


@dataclass
class IntakeReport:
    """What one propose/grow call did (empty lists when there was nothing new)."""

    proposed: list[str] = field(default_factory=list)
    attached: list[tuple[str, int]] = field(default_factory=list)     # (incident, alert)
    grown: list[tuple[str, int, str]] = field(default_factory=list)   # (incident, posts joined, new grade)


def _ts(value) -> pd.Timestamp:
    at = pd.Timestamp(value)
    return at if at.tzinfo else at.tz_localize(TZ)


def match_keywords(posts: pd.DataFrame, limit: int = MAX_KEYWORDS) -> list[str]:
    """The incident's words: keywords (from ingest) carried by at least a fifth of its posts, most frequent first."""
    if posts.empty or "keywords" not in posts:
        return []
    counts = Counter(word for words in posts["keywords"] if words is not None for word in set(words))
    floor = max(2, len(posts) // 5)
    return [word for word, n in counts.most_common(limit) if n >= floor]


def _open(store: Store, title: str, post_ids: list[str], actor: str, source: str, found_at: pd.Timestamp,
          *, topic: str | None = None, keywords: Sequence[str] = (), channels: Sequence[str] | None = None,
          state: str = "active", note: str | None = None, link: tuple[str, str] | None = None,
          responsible_unit: str | None = None) -> Opened:
    if not post_ids:
        raise ValueError("没有找到对应的帖子，无法立案")
    incident_id = incidents.create_incident(store, title, post_ids, actor, source=source, topic=topic,
                                            first_seen_at=found_at, note=note, state=state, keywords=keywords,
                                            channels=channels, responsible_unit=responsible_unit)
    if link is not None:
        store.execute([("INSERT INTO incident_sources (kind, source_key, incident_id, linked_by) VALUES (?, ?, ?, ?)",
                        [link[0], link[1], incident_id, actor])])
    grade = incidents.grade_incident(store, incident_id, at=max(found_at, _now()), actor=actor)
    return Opened(incident_id, grade, len(set(post_ids)))


def _posts(store: Store, where: list[str], params: list, limit: int = MAX_SOURCE_POSTS) -> pd.DataFrame:
    return store.query(f"SELECT post_id, channel, topic, created_at, keywords FROM posts WHERE {' AND '.join(where)} "
                       f"ORDER BY created_at LIMIT {int(limit)}", params)


# -- from posts and tickets ---------------------------------------------------------------------------------
def open_from_posts(store: Store, title: str, post_ids: Sequence[str], actor: str, *, source: str = "analyst",
                    channels: Sequence[str] | None = None, responsible_unit: str | None = None,
                    found_at=None) -> Opened:
    """An analyst's incident over selected posts, found now (or at `found_at`, when an incident found earlier is
    recorded after the fact: its clocks run from then); it grows by their topic and keywords."""
    post_ids = list(dict.fromkeys(str(p) for p in post_ids))
    if not post_ids:
        raise ValueError("请先选择帖子")
    posts = _posts(store, [f"post_id IN ({', '.join('?' for _ in post_ids)})"], post_ids)
    topic = posts["topic"].mode().iloc[0] if len(posts) else None
    found = _ts(found_at) if found_at is not None else _now()
    return _open(store, title, post_ids, actor, source, found, topic=topic, keywords=match_keywords(posts),
                 channels=channels, note=f"由{len(post_ids)}条选定帖子立案", responsible_unit=responsible_unit)


def ticket_posts(store: Store, keyword: str, start: pd.Timestamp | None = None,
                 end: pd.Timestamp | None = None) -> pd.DataFrame:
    """Hotline/mailbox/留言 tickets whose text holds `keyword` (a group an office opens as one incident)."""
    channels = sorted(grading.TICKET_CHANNELS)
    where = [f"channel IN ({', '.join('?' for _ in channels)})", "contains(text_norm, ?)"]
    params: list = [*channels, keyword.strip()]
    if start is not None:
        where.append("created_at >= ?")
        params.append(_ts(start).to_pydatetime())
    if end is not None:
        where.append("created_at < ?")
        params.append(_ts(end).to_pydatetime())
    return _posts(store, where, params)


def open_from_tickets(store: Store, title: str, post_ids: Sequence[str], actor: str,
                      responsible_unit: str | None = None) -> Opened:
    """A group of tickets as one incident: it runs on the 3-working-day reply clock (see grading.DEADLINES)."""
    post_ids = list(dict.fromkeys(str(p) for p in post_ids))
    if not post_ids:
        raise ValueError("没有找到对应的工单")
    found = _posts(store, [f"post_id IN ({', '.join('?' for _ in post_ids)})"], post_ids)
    others = found.loc[~found["channel"].isin(grading.TICKET_CHANNELS), "post_id"].tolist()
    if others:
        raise ValueError(f"以下帖子不是信箱/留言板/热线工单：{'、'.join(others[:5])}")
    return open_from_posts(store, title, post_ids, actor, source="ticket",
                           channels=sorted(set(found["channel"])), responsible_unit=responsible_unit)


# -- from alerts and spikes ---------------------------------------------------------------------------------
def _alert(store: Store, alert_id: int) -> pd.Series:
    found = alerts.list_alerts(store)
    found = found[found["alert_id"] == int(alert_id)]
    if found.empty:
        raise ValueError(f"预警 {alert_id} 不存在")
    return found.iloc[0]


def alert_scope(alert: pd.Series) -> tuple[str | None, str | None]:
    """(dimension, value) the alert is about — ('topic', '食品药品') — or (None, None) for all posts."""
    filters = alert["details"].get("filters", {})
    for dimension in ("topic", "channel", "region"):
        if filters.get(dimension):
            return dimension, filters[dimension][0]
    return None, None


def alert_posts(store: Store, alert: pd.Series) -> pd.DataFrame:
    """The posts behind an alert: its window (widened by merged firings), its topic/channel/region, and for a
    keyword rule the posts holding its words."""
    if alert["kind"] not in POST_KINDS:
        raise ValueError(f"“{alerts.KINDS.get(alert['kind'], alert['kind'])}”类预警没有对应的帖子，不能据此立案")
    filters = alert["details"].get("filters", {})
    start = alert["window_start"] if pd.notna(alert["window_start"]) else pd.Timestamp(filters["created_at_from"])
    end = alert["window_end"] if pd.notna(alert["window_end"]) else pd.Timestamp(filters["created_at_to"])
    where, params = ["created_at >= ?", "created_at < ?"], [_ts(start).to_pydatetime(), _ts(end).to_pydatetime()]
    dimension, value = alert_scope(alert)
    if dimension:
        where.append(f"{SPIKE_DIMENSIONS[dimension]} = ?")
        params.append(value)
    words = filters.get("keywords") or []
    if words:
        where.append("(" + " OR ".join("contains(text_norm, ?)" for _ in words) + ")")
        params.extend(words)
    return _posts(store, where, params)


def linked_incident(store: Store, kind: str, key: str) -> str | None:
    return store.scalar("SELECT incident_id FROM incident_sources WHERE kind = ? AND source_key = ?", [kind, key])


def open_from_alert(store: Store, alert_id: int, actor: str, title: str | None = None,
                    state: str = "active") -> Opened:
    """立案 on an alert: its posts, found when it fired; the alert is acknowledged with the incident's id."""
    alert = _alert(store, alert_id)
    already = linked_incident(store, "alert", str(int(alert_id)))
    if already:
        raise ValueError(f"预警 {alert_id} 已立案：{already}")
    posts = alert_posts(store, alert)
    dimension, value = alert_scope(alert)
    words = alert["details"].get("filters", {}).get("keywords") or match_keywords(posts)
    opened = _open(store, title or _alert_title(alert), posts["post_id"].tolist(), actor, "alert",
                   _ts(alert["fired_at"]), topic=value if dimension == "topic" else None, keywords=words,
                   channels=[value] if dimension == "channel" else None, state=state,
                   note=f"预警#{int(alert_id)}：{alert['message']}", link=("alert", str(int(alert_id))))
    if alert["state"] == "new":
        alerts.acknowledge(store, int(alert_id), actor, note=f"已立案：{opened.incident_id}")
    return opened


def _alert_title(alert: pd.Series) -> str:
    dimension, value = alert_scope(alert)
    who = value if dimension else "全部信息"
    return f"{who}·{alert['rule_name']}（{_ts(alert['fired_at']):%m-%d %H:%M}）"


def open_from_spike(store: Store, by: str, key: str, start, end, actor: str, title: str | None = None) -> Opened:
    """立案 on a spike found by spikes.detect_spikes (`python -m analysis spikes`): posts of `key` in [start, end)."""
    if by not in SPIKE_DIMENSIONS:
        raise ValueError(f"突增维度须为 {'、'.join(SPIKE_DIMENSIONS)} 之一")
    start, end = _ts(start), _ts(end)
    source_key = f"{by}|{key}|{start.isoformat()}"
    already = linked_incident(store, "spike", source_key)
    if already:
        raise ValueError(f"该突增已立案：{already}")
    posts = _posts(store, ["created_at >= ?", "created_at < ?", f"{SPIKE_DIMENSIONS[by]} = ?"],
                   [start.to_pydatetime(), end.to_pydatetime(), key])
    return _open(store, title or f"{key}·发帖突增（{start:%m-%d %H:%M}）", posts["post_id"].tolist(), actor, "spike",
                 end, topic=key if by == "topic" else None, keywords=match_keywords(posts),
                 channels=[key] if by == "channel" else None, note=f"突增：{key} {start:%m-%d %H:%M}–{end:%H:%M}",
                 link=("spike", source_key))


# -- the tick -------------------------------------------------------------------------------------------------
def _listed(value) -> list:
    """A list column's cell as a list (NULL and pandas' NA are empty)."""
    return list(value) if isinstance(value, list | tuple | np.ndarray) else []


def _open_incidents(store: Store) -> pd.DataFrame:
    listed = incidents.list_incidents(store)
    open_ones = listed[listed["status"].isin(incidents.OPEN_STATUSES)]
    if open_ones.empty:
        empty_times = pd.Series(dtype=f"datetime64[ns, {TZ}]")
        return open_ones.assign(first_post_at=empty_times, last_post_at=empty_times, match_keywords=[],
                                match_channels=[])
    extra = store.query("SELECT i.incident_id, i.match_keywords, i.match_channels, min(p.created_at) AS first_post_at, "
                        "max(p.created_at) AS last_post_at "
                        "FROM incidents i LEFT JOIN incident_posts p USING (incident_id) GROUP BY ALL")
    return open_ones.merge(extra, on="incident_id", how="left")


def propose_incidents(store: Store, now=None, actor: str = "system") -> IntakeReport:
    """Propose (待确认) or attach one incident per qualifying alert; see the module docstring. Idempotent."""
    now = _ts(now) if now is not None else _now()
    conf = settings.policy(store).proposals
    floor = settings.SEVERITY_LEVELS.index(conf.min_severity)
    fired = alerts.list_alerts(store, since=now - pd.Timedelta(hours=conf.lookback_hours))
    report = IntakeReport()
    for alert in fired.sort_values(["fired_at", "alert_id"]).itertuples():
        if (alert.kind not in POST_KINDS or alert.fired_at > now or alert.state == "closed"
                or settings.SEVERITY_LEVELS.index(alert.severity) < floor
                or linked_incident(store, "alert", str(alert.alert_id))):
            continue
        row = pd.Series(alert._asdict())
        posts = alert_posts(store, row)
        if posts.empty:
            continue
        target = _same_story(store, row, conf.attach_hours)
        if target is None:
            opened = open_from_alert(store, alert.alert_id, actor, state="proposed")
            report.proposed.append(opened.incident_id)
            continue
        statements = incident_edits.link_statements(store, target, posts["post_id"].tolist(), actor)
        store.execute([
            *statements,
            ("INSERT INTO incident_sources (kind, source_key, incident_id, linked_by) VALUES ('alert', ?, ?, ?)",
             [str(alert.alert_id), target, actor]),
            audit.entry(actor, "incident.attach", target, {"alert": alert.alert_id, "posts": len(statements),
                                                       "message": alert.message}),
        ])
        if statements:
            incidents.grade_incident(store, target, at=now, actor=actor)
        if alert.state == "new":
            alerts.acknowledge(store, alert.alert_id, actor, note=f"并入事件：{target}")
        report.attached.append((target, alert.alert_id))
    return report


def _same_story(store: Store, alert: pd.Series, attach_hours: float) -> str | None:
    """The open incident this alert's burst belongs to: same topic (or channel), a post within attach_hours."""
    dimension, value = alert_scope(alert)
    if dimension not in ("topic", "channel"):
        return None
    candidates = _open_incidents(store)
    if candidates.empty:
        return None
    if dimension == "topic":
        same = candidates[candidates["topic"] == value]
    else:
        same = candidates[[_listed(c) == [value] for c in candidates["match_channels"]]]
    start = _ts(alert["window_start"] if pd.notna(alert["window_start"]) else alert["fired_at"])
    recent = same[same["last_post_at"].fillna(same["first_seen_at"]) >= start - pd.Timedelta(hours=attach_hours)]
    return None if recent.empty else recent.sort_values("last_post_at").iloc[-1]["incident_id"]


def grow_incidents(store: Store, now=None, actor: str = "system") -> IntakeReport:
    """Every open incident takes the stored posts that match it and is re-graded when any joined. Idempotent."""
    now = _ts(now) if now is not None else _now()
    quiet = pd.Timedelta(hours=settings.policy(store).proposals.grow_quiet_hours)
    report = IntakeReport()
    for incident in _open_incidents(store).itertuples():
        words = [w for w in _listed(incident.match_keywords) if w]
        topic = incident.topic if incident.topic and incident.topic != config.UNCLASSIFIED_TOPIC else None
        if not (words or topic) or (not words and incident.source not in TOPIC_SCOPED_SOURCES):
            # Nothing specific to match on: only an analyst adds posts to it. A topic alone is a whole category
            # (食品药品), so it is enough only for incidents opened from a burst on that topic.
            continue
        last = incident.last_post_at if pd.notna(incident.last_post_at) else incident.first_seen_at
        if now - last > quiet:
            continue
        # From the start of its story (its first post) to `quiet` after its newest one, and never beyond now.
        start = incident.first_post_at if pd.notna(incident.first_post_at) else incident.first_seen_at
        where = ["created_at >= ?", "created_at <= ?",
                 "post_id NOT IN (SELECT post_id FROM incident_posts WHERE incident_id = ?)"]
        params: list = [start.to_pydatetime(), min(now, last + quiet).to_pydatetime(), incident.incident_id]
        if topic:
            where.append("topic = ?")
            params.append(topic)
        if words:
            where.append("(" + " OR ".join("contains(text_norm, ?)" for _ in words) + ")")
            params.extend(words)
        channels = _listed(incident.match_channels)
        if channels:
            where.append(f"channel IN ({', '.join('?' for _ in channels)})")
            params.extend(channels)
        joining = _posts(store, where, params)
        if joining.empty:
            continue
        statements = incident_edits.link_statements(store, incident.incident_id, joining["post_id"].tolist(), actor)
        store.execute([*statements, audit.entry(actor, "incident.grow", incident.incident_id,
                                           {"posts": len(statements), "at": now.isoformat()})])
        grade = incidents.grade_incident(store, incident.incident_id, at=now, actor=actor)
        report.grown.append((incident.incident_id, len(statements), grade.grade))
    return report
