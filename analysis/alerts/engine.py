"""Evaluation and the live run: what fires now, and how a firing becomes a new alert or merges into an open one.

Cooldown is measured from the *latest* firing merged into an open alert (not from the first): a condition that
keeps holding stays one alert with a growing ``merged_count`` instead of a new alert every ``cooldown_minutes``
- the flood users of other tools complain about.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence

import pandas as pd

from analysis import audit, explain
from analysis.alerts.model import Alert, Context, Rule
from analysis.alerts.registry import REGISTRY, severity_of, validate_rule
from analysis.alerts.storage import load_rules
from analysis.config import TIMEZONE, local_time
from analysis.policy import Policy
from analysis.store import Store

log = logging.getLogger(__name__)


def context(store: Store, detailed: bool, policy: Policy | None = None) -> Context:
    """What every evaluation runs under, live or back-test alike: the office's policy as configured, read once
    (`policy` replaces it, for a what-if)."""
    if policy is None:
        from analysis import settings  # loaded lazily: settings builds on incidents, which builds on alerts

        policy = settings.policy(store)
    return Context(policy, detailed=detailed)


def _to_alerts(rule: Rule, fires: pd.DataFrame) -> list[Alert]:
    severity = severity_of(rule)
    alerts = []
    for row in fires.itertuples():
        details = {**row.details, "rule": {"rule_id": rule.rule_id, "name": rule.name, "kind": rule.kind}}
        alerts.append(
            Alert(
                rule.rule_id,
                rule.name,
                rule.kind,
                row.subject,
                local_time(row.at),
                None if row.window_start is None or pd.isna(row.window_start) else local_time(row.window_start),
                None if row.window_end is None or pd.isna(row.window_end) else local_time(row.window_end),
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
    store: Store, rules: Sequence[Rule], now, policy: Policy | None = None
) -> tuple[list[Alert], list[str]]:
    """Like `evaluate`, also returning one Chinese line per rule that could not be evaluated."""
    now = local_time(now)
    ctx = context(store, detailed=True, policy=policy)
    alerts, errors = [], []
    for rule in rules:
        problems = validate_rule(rule)
        if problems:
            errors.append(f"规则【{rule.name}】（{rule.rule_id}）无效：{'；'.join(problems)}")
            continue
        try:
            fires = REGISTRY[rule.kind].fire(store, rule, pd.DatetimeIndex([now]), ctx)
        except Exception as exc:  # one broken rule must not silence the others
            log.exception("alert rule %s failed", rule.rule_id)
            errors.append(f"规则【{rule.name}】（{rule.rule_id}）计算失败：{exc}")
            continue
        alerts.extend(_to_alerts(rule, fires))
    return alerts, errors


def evaluate(store: Store, rules: Sequence[Rule], now, policy: Policy | None = None) -> list[Alert]:
    """What fires at `now` (reads the store, writes nothing), under the office's settings as `run` uses them."""
    return evaluate_with_errors(store, rules, now, policy)[0]


def _last_fired(details: dict, fired_at) -> pd.Timestamp:
    return local_time(details.get("last_fired_at") or fired_at)


def run(
    store: Store, now=None, actor: str = "system", policy: Policy | None = None, errors: list[str] | None = None
) -> list[Alert]:
    """Evaluate the enabled rules at `now` and persist: returns only the alerts that are new rows.

    A firing whose dedupe_key was seen before (as a row or merged into one) is ignored; one within
    `cooldown_minutes` of the latest firing of an open alert for the same rule and subject is merged
    into it (merged_count + 1, first message kept, details updated).
    """
    now = local_time(pd.Timestamp.now(tz=TIMEZONE) if now is None else now)
    rules = {r.rule_id: r for r in load_rules(store, enabled_only=True)}
    fired, problems = evaluate_with_errors(store, list(rules.values()), now, policy)
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
                    "first_fired_at": local_time(row["fired_at"]).isoformat(),
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
        explained = explain.explain_alert(store, alert.details)  # only for new rows: merged ones keep the first
        if explained is not None:
            details["explanation"] = explained.as_dict()
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
                audit.entry(
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

