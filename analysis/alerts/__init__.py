"""Alert rules as data: a registry of rule kinds, evaluation that explains itself, dedupe and cooldown, an alert
log, back-testing under the same settings as the live run.

Modules: `model` (rules, alerts, typed params, the kind object), `kinds` (the six kinds), `registry` (kind by key,
validation), `storage` (rules in the database, defaults), `engine` (evaluate, run), `state` (the alert log),
`replay` (back-test), `cli`.
"""

from analysis.alerts import forms
from analysis.alerts.cli import cli_alerts
from analysis.alerts.engine import evaluate, evaluate_with_errors, run
from analysis.alerts.model import METRICS, SCOPES, SEVERITIES, STATES, Alert, Param, Rule, RuleKind
from analysis.alerts.registry import KINDS, REGISTRY, validate_rule
from analysis.alerts.replay import BACKTEST_COLUMNS, backtest
from analysis.alerts.state import acknowledge, close, count_alerts, list_alerts
from analysis.alerts.storage import (
    DEFAULT_RULES,
    delete_rule,
    get_rule,
    install_default_rules,
    load_rules,
    save_rule,
    set_rule_enabled,
)

__all__ = [
    "BACKTEST_COLUMNS", "DEFAULT_RULES", "KINDS", "METRICS", "REGISTRY", "SCOPES", "SEVERITIES", "STATES", "Alert",
    "Param", "Rule", "RuleKind", "acknowledge", "backtest", "cli_alerts", "close", "count_alerts", "delete_rule",
    "evaluate", "evaluate_with_errors", "forms", "get_rule", "install_default_rules", "list_alerts", "load_rules",
    "run", "save_rule", "set_rule_enabled", "validate_rule",
]
