"""Back-testing: replay rules over history without writing, under the same settings, dedupe and cooldown as the
live run (the 预警 page previews a rule with it before it is saved)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pandas as pd

from analysis.alerts.engine import context
from analysis.alerts.model import Rule
from analysis.alerts.registry import REGISTRY, validate_rule
from analysis.config import local_time
from analysis.policy import Policy
from analysis.store import Store

BACKTEST_COLUMNS = ["rule_id", "rule_name", "fired_at", "subject", "value", "threshold", "message", "merged"]


def backtest(
    store: Store, rules: Sequence[Rule], start, end, step: timedelta = timedelta(hours=1),
    policy: Policy | None = None,
) -> pd.DataFrame:
    """Replay history at every `step` in (start, end] without writing; settings, dedupe and cooldown as in `run`.

    Returns one row per alert that would have been created (``merged`` = later firings folded into it).
    """
    start, end = local_time(start), local_time(end)
    times = pd.date_range(start, end, freq=pd.Timedelta(step), inclusive="right")
    ctx = context(store, detailed=False, policy=policy)
    rows = []
    for rule in rules:
        errors = validate_rule(rule)
        if errors:
            raise ValueError(f"规则【{rule.name}】（{rule.rule_id}）无效：{'；'.join(errors)}")
        if times.empty:
            continue
        fires = REGISTRY[rule.kind].fire(store, rule, times, ctx)
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
        at = local_time(fire.at)
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

