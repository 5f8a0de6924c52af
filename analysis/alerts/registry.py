"""The registry of rule kinds (the engine, the validator, the CLI and the page's form all read it)."""

from __future__ import annotations

import re

from analysis.alerts import kinds
from analysis.alerts.model import Rule, RuleKind

REGISTRY: dict[str, RuleKind] = {
    k.key: k for k in (kinds.THRESHOLD, kinds.SPIKE, kinds.KEYWORD, kinds.SILENCE, kinds.GRADE_RAISED, kinds.DEADLINE)
}
KINDS: dict[str, str] = {key: kind.label for key, kind in REGISTRY.items()}  # key -> Chinese label
_RULE_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


def severity_of(rule: Rule) -> str:
    return rule.params.get("severity", REGISTRY[rule.kind].severity)


def validate_rule(rule: Rule) -> list[str]:
    """Every problem with the rule as a Chinese sentence naming the field; empty when the rule is valid."""
    errors: list[str] = []
    if not isinstance(rule.rule_id, str) or not _RULE_ID.match(rule.rule_id):
        errors.append("规则编号（rule_id）不能为空，且只能包含字母、数字、下划线、点和短横线（最长64字符）")
    if not isinstance(rule.name, str) or not rule.name.strip():
        errors.append("规则名称（name）不能为空")
    if not (isinstance(rule.cooldown_minutes, int) and not isinstance(rule.cooldown_minutes, bool)
            and rule.cooldown_minutes >= 0):
        errors.append("冷却时间（cooldown_minutes）必须是不小于0的整数（分钟）")
    if not isinstance(rule.enabled, bool):
        errors.append("启用状态（enabled）必须是 true 或 false")
    if rule.kind not in REGISTRY:
        errors.append(f"未知的规则类型（kind）：{rule.kind}；可选：{'、'.join(REGISTRY)}")
        return errors
    if not isinstance(rule.params, dict):
        errors.append("规则参数（params）必须是键值对象")
        return errors
    return errors + REGISTRY[rule.kind].errors(rule.params)
