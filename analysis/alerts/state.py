"""The alert log: acknowledge and close (new -> acknowledged -> closed, audited), list and count."""

from __future__ import annotations

import json

import pandas as pd

from analysis import audit
from analysis.alerts.model import STATES
from analysis.config import local_time
from analysis.store import Store

_TRANSITIONS = {"new": {"acknowledged", "closed"}, "acknowledged": {"closed"}, "closed": set()}


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
            audit.entry(
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
    store: Store, state: str | None = None, since=None, rule_id: str | None = None, limit: int | None = None,
    until=None,
) -> pd.DataFrame:
    """The alert log, newest first, with the rule's name (also of a deleted rule) and `details` parsed into dicts;
    `since` <= fired_at < `until` when given."""
    clauses, params = [], []
    if state is not None:
        if state not in STATES:
            raise ValueError(f"未知的预警状态：{state}；可选：{'、'.join(STATES)}")
        clauses.append("a.state = ?")
        params.append(state)
    if since is not None:
        clauses.append("a.fired_at >= ?")
        params.append(local_time(since).to_pydatetime())
    if until is not None:
        clauses.append("a.fired_at < ?")
        params.append(local_time(until).to_pydatetime())
    if rule_id is not None:
        clauses.append("a.rule_id = ?")
        params.append(rule_id)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    tail = ""
    if limit is not None:
        tail = " LIMIT ?"
        params.append(int(limit))
    frame = store.query(
        f"""SELECT a.alert_id, a.rule_id,
                   coalesce(r.name, json_extract_string(a.details, '$.rule.name'), a.rule_id) AS rule_name,
                   coalesce(r.kind, json_extract_string(a.details, '$.rule.kind')) AS kind, a.fired_at,
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

