"""The rule form, built from the registry: one field per parameter of the kind (widget, Chinese label, help, current
value, picker options taken from the data), and the form's values turned back into a rule's params."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from analysis.alerts.model import SEVERITIES, Rule
from analysis.alerts.registry import REGISTRY
from analysis.store import Store

# Picker -> the column of metrics.dimension_values whose values it offers (scope "all" offers none).
_PICKED_COLUMN = {"topic": "topic", "channel": "channel", "region": "region"}


@dataclass(frozen=True)
class Field:
    """One input of the form. `widget`: select | multiselect | int | number | checkbox | lines | json."""

    key: str
    label: str
    widget: str
    help: str
    value: Any
    options: dict[str, str] | None = None  # select: value -> label; multiselect: value -> value
    minimum: float | None = None
    step: float | None = None


def fields(kind: str, params: dict, dimensions: dict[str, list[str]], edited: dict | None = None) -> list[Field]:
    """The inputs for a rule of `kind` with `params` (its stored or defaulted values); `dimensions` are the
    distinct channels/topics/regions in the data (metrics.dimension_values) for the pickers; `edited` are the
    form's values so far (the scope chosen decides what the values picker offers)."""
    spec = REGISTRY[kind]
    edited = edited or {}
    scope = edited.get("scope", spec.value(params, "scope")) if any(p.key == "scope" for p in spec.params) else None
    out = []
    for p in spec.params:
        value = spec.value(params, p.key)
        label = p.label + (f"（{p.unit}）" if p.unit else "") + ("" if p.required else "（选填）")
        if p.type == "choice":
            options = dict(p.choices or {})
            if p.key == "severity":
                options = {"": f"默认（{SEVERITIES[spec.severity]}）", **options}
            out.append(Field(p.key, label, "select", p.help, value if value in options else next(iter(options)),
                             options))
        elif p.type == "words" and p.picker:
            column = _PICKED_COLUMN.get(scope if p.picker == "subject" else p.picker)
            if column is None:  # values of the scope "全部" mean nothing
                continue
            known = [*dimensions.get(column, []), *[v for v in value or [] if v not in dimensions.get(column, [])]]
            out.append(Field(p.key, label, "multiselect", p.help, list(value or []), {v: v for v in known}))
        elif p.type == "words":
            out.append(Field(p.key, label, "lines", p.help or "每行一个", "\n".join(value or [])))
        elif p.type == "int":
            out.append(Field(p.key, label, "int", p.help, value, minimum=p.minimum or 0, step=1))
        elif p.type == "number":
            ratio = p.key == "threshold" and edited.get("metric", params.get("metric")) == "negative_ratio"
            out.append(Field(p.key, label, "number", p.help, None if value is None else float(value),
                             minimum=p.minimum or 0.0, step=0.05 if ratio else 1.0))
        elif p.type == "bool":
            out.append(Field(p.key, label, "checkbox", p.help, bool(value)))
        else:
            out.append(Field(p.key, label + "（JSON）", "json", p.help,
                             json.dumps(value, ensure_ascii=False)))
    return out


def params_from_form(kind: str, values: dict[str, Any]) -> dict:
    """The rule's params from the form's values: empty inputs and values equal to their default are left out
    (so a later change of a default reaches the rule); raises ValueError naming the field on unreadable JSON."""
    spec = REGISTRY[kind]
    params: dict[str, Any] = {}
    for p in spec.params:
        if p.key not in values:
            continue
        value = values[p.key]
        if p.type == "words" and isinstance(value, str):
            value = [w.strip() for w in re.split(r"[\n,，、]", value) if w.strip()]
        elif p.type == "json":
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                where = f"第{exc.lineno}行第{exc.colno}列"
                raise ValueError(f"{p.label}（params.{p.key}）不是有效的 JSON：{where}") from exc
        elif p.type in ("int", "number") and isinstance(value, float) and value.is_integer():
            value = int(value)  # 6.0 hours is stored as 6, as a hand-written rule would be
        if value is None or value == "" or value == []:
            continue
        params[p.key] = value
    for p in spec.params:  # defaults may depend on other params: compare once all are read
        if not p.required and p.key in params and _same(params[p.key], p.default_for(params)):
            del params[p.key]
    return params


def _same(value, default) -> bool:
    return json.dumps(value, sort_keys=True) == json.dumps(default, sort_keys=True)


def new_rule_id(store: Store, kind: str) -> str:
    """A free rule id for a new rule (names are Chinese and free text; ids stay ASCII)."""
    taken = set(store.query("SELECT rule_id FROM alert_rules")["rule_id"])
    n = 1
    while f"{kind}_{n}" in taken:
        n += 1
    return f"{kind}_{n}"


def blank_rule(kind: str) -> Rule:
    """What the form of a new rule starts from: the kind's defaults and a name to replace."""
    return Rule("", "", kind, {}, True, 60)
