"""Grading as data (analysis.grading) and the audit log's one writer (analysis.audit)."""

from __future__ import annotations

import json

import pandas as pd

from analysis import audit, grading
from analysis.store import Store

TZ = "Asia/Shanghai"


def test_tiers_colours_and_the_one_order():
    assert grading.grades_of("四级") == ["特别重大", "重大", "较大", "一般"]
    assert grading.grade_colour("重大") == grading.grade_colour("二级") == "#ff7f0e"
    assert grading.grade_colour("未定级") == "#9e9e9e"
    assert [grading.GRADE_RANK[g] for g in ("一级", "二级", "三级")] == [0, 1, 2]
    assert {grading.DEADLINE_PROFILE[g] for g in grading.grades_of("四级")} == set(grading.PROFILES)


def test_thresholds_tighten_counts_only():
    tight = grading.GradingThresholds().tightened(0.5)
    assert (tight.several_sites, tight.severe_posts, tight.min_keyword_posts) == (2, 150, 2)
    assert tight.spread_window_minutes == 30 and tight.rising_negative_points == 0.10
    assert grading.GradingThresholds().tightened(1) == grading.GradingThresholds()


def test_met_within_the_hard_limit_is_on_time():
    found = pd.Timestamp("2026-11-18 09:00", tz=TZ)
    events = pd.DataFrame({"step": ["监测发现", "公开回应"],
                           "occurred_at": [found, found + pd.Timedelta(hours=4)]})
    clocks = grading.clocks_for("一级", events, False, found + pd.Timedelta(hours=30), grading.DEADLINES)
    status = clocks.set_index("label")["status"]
    assert status["权威发布（3小时，最迟5小时）"] == "超目标未超时限"
    assert status["权威发布（3小时，最迟5小时）"] in grading.ON_TIME_STATUSES
    assert status["首报（30分钟内报送）"] == grading.OVERDUE
    custom = (grading.Deadline("一级", "首报（10分钟）", "报送", "监测发现", 10),)
    assert grading.clocks_for("一级", events, False, found, custom)["label"].tolist() == ["首报（10分钟）"]


def test_audit_rows_commit_with_the_change(tmp_path):
    with Store(tmp_path / "audit.duckdb") as store:
        store.execute([("INSERT INTO settings (key, value, updated_at, updated_by) VALUES ('k', '1', now(), 'a')",
                        []), audit.entry("科长甲", "test.change", "k", {"at": pd.Timestamp("2026-11-18")})])
        store.execute([audit.entry("科长乙", "test.note", None, {"note": "说明"})])
        rows = store.query("SELECT actor, action, target, CAST(details AS VARCHAR) AS details FROM audit_log "
                           "WHERE action LIKE 'test.%' ORDER BY audit_id")
    assert rows["actor"].tolist() == ["科长甲", "科长乙"] and rows["target"].tolist()[0] == "k"
    assert json.loads(rows["details"].iloc[0]) == {"at": "2026-11-18 00:00:00"}
    assert json.loads(rows["details"].iloc[1]) == {"note": "说明"}
