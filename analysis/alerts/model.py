"""The alert vocabulary: rules, alerts, typed rule parameters and the rule-kind object the registry holds."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from analysis.policy import Policy

SEVERITIES: dict[str, str] = {"high": "高", "medium": "中", "low": "低"}
STATES: dict[str, str] = {"new": "新预警", "acknowledged": "已确认", "closed": "已关闭"}
SCOPES: dict[str, str] = {"all": "全部", "topic": "话题", "channel": "渠道", "region": "地域"}
METRICS: dict[str, str] = {
    "posts": "发帖量",
    "negative": "负面信息数",
    "negative_ratio": "负面占比",
    "heat": "热度指数",
    "velocity": "发帖速度（条/小时）",
}
# What an evaluator returns: one row per firing at one evaluation time.
FIRE_COLUMNS = ["at", "subject", "value", "threshold", "window_start", "window_end", "bucket", "message", "details"]


@dataclass(frozen=True)
class Rule:
    """One alert rule; `params` are those of its kind (see `registry.REGISTRY[kind].params`)."""

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


@dataclass(frozen=True)
class Context:
    """What an evaluation runs under: the office's policy (read once per run or back-test), detail level."""

    policy: Policy
    detailed: bool  # live evaluation: attach sample post ids; back-test: numbers only


# -- typed parameters --------------------------------------------------------------------------------------
def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_words(value) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(v, str) and v.strip() for v in value)


@dataclass(frozen=True)
class Param:
    """One parameter of a rule kind: its type, Chinese label, default and help; it checks a value itself.

    Types: ``int`` and ``number`` (with `minimum`; `exclusive` makes it a strict lower bound), ``choice`` (one of
    `choices`), ``bool``, ``words`` (a list of non-empty strings; `picker` names the data column a form offers:
    "subject" = the values of the rule's scope, "channel"), ``json`` (a nested value only `check` understands).
    `default` is a value or a function of the other params (how the evaluator fills a missing one).
    """

    key: str
    label: str
    type: str
    required: bool = False
    default: Any = None
    help: str = ""
    unit: str = ""
    minimum: float | None = None
    exclusive: bool = False
    choices: Mapping[str, str] | None = None
    picker: str | None = None
    check: Callable[[Any], list[str]] | None = None

    def default_for(self, params: Mapping) -> Any:
        return self.default(params) if callable(self.default) else self.default

    def errors(self, value) -> list[str]:
        name = f"{self.label}（params.{self.key}）"
        unit = f"（{self.unit}）" if self.unit else ""
        if self.type == "choice" and value not in (self.choices or {}):
            return [f"{name}应为 {'、'.join(self.choices or {})} 之一"]
        if self.type == "bool" and not isinstance(value, bool):
            return [f"{name}必须是 true 或 false"]
        if self.type == "words" and not (_is_words(value) and value):
            return [f"{name}必须是非空字符串列表"]
        if self.type == "int" and not (isinstance(value, int) and not isinstance(value, bool)
                                       and value >= (self.minimum or 0)):
            return [f"{name}必须是{'正整数' if self.minimum == 1 else '不小于0的整数'}{unit}"]
        if self.type == "number" and not (_is_number(value) and (value > self.minimum if self.exclusive
                                                                  else value >= self.minimum)):
            return [f"{name}{'必须是大于0的数' if self.exclusive else '不能为负数'}{unit}"]
        return self.check(value) if self.check else []


@dataclass(frozen=True)
class RuleKind:
    """One kind of rule: everything the engine, the validator, the CLI and the page's form need to know."""

    key: str
    label: str
    help: str
    severity: str  # default severity; a rule may override it with params.severity
    params: tuple[Param, ...]
    evaluate: Callable[..., pd.DataFrame]  # (store, rule, resolved params, times, ctx) -> FIRE_COLUMNS frame
    check: Callable[[dict], list[str]] = lambda params: []  # rules between params

    def param(self, key: str) -> Param:
        return next(p for p in self.params if p.key == key)

    def value(self, params: Mapping, key: str) -> Any:
        """A rule's param, or its documented default."""
        return params[key] if key in params else self.param(key).default_for(params)

    def resolve(self, params: Mapping) -> dict:
        """The rule's params with every missing one filled by its documented default."""
        return {p.key: self.value(params, p.key) for p in self.params}

    def fire(self, store, rule: Rule, times: pd.DatetimeIndex, ctx: Context) -> pd.DataFrame:
        """The rule's firings at each of `times` (FIRE_COLUMNS)."""
        return self.evaluate(store, rule, self.resolve(rule.params), times, ctx)

    def errors(self, params: dict) -> list[str]:
        known = [p.key for p in self.params]
        errors = [f"未知参数（params.{key}）：{self.label}规则可用参数为 {'、'.join(known)}"
                  for key in params if key not in known]
        errors += [f"缺少必填参数（params.{p.key}）" for p in self.params if p.required and p.key not in params]
        for p in self.params:
            if p.key in params:
                errors += p.errors(params[p.key])
        return errors + (self.check(params) if not errors else [])
