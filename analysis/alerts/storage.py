"""Rules in the database: save (validated, audited), load, enable/disable, delete, and the default rules a new
database starts watching with."""

from __future__ import annotations

import json

from analysis import audit
from analysis.alerts.model import Rule
from analysis.alerts.registry import validate_rule
from analysis.store import Store, seed_new_databases


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
            audit.entry(actor, "rule.update" if existed else "rule.create", rule.rule_id, rule.to_dict()),
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
            audit.entry(actor, "rule.delete", rule_id, rule.to_dict()),
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
            audit.entry(actor, "rule.enable" if enabled else "rule.disable", rule_id, {"enabled": enabled}),
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
