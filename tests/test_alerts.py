"""Alerts: every rule kind fires on a constructed case and stays quiet on its twin; dedupe, cooldown,
state transitions, validation, back-testing (also on the real hot-search archive)."""

from __future__ import annotations

import json
import re
from itertools import count

import numpy as np
import pandas as pd
import pytest

from analysis import alerts
from analysis.alerts import Rule
from analysis.metrics import heat_index
from analysis.store import Store
from tests.conftest import shared_file
from tests.factories import write_posts

TZ = "Asia/Shanghai"
_ids = count()


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=TZ)


def posts_in_hour(hour: str, n: int, prefix: str | None = None, **fields) -> list[dict]:
    """n posts spread evenly inside the hour starting at `hour` (Shanghai)."""
    start = ts(hour)
    prefix = prefix or f"p{next(_ids)}"
    return [
        {
            "post_id": f"{prefix}-{i}",
            "created_at": (start + pd.Timedelta(seconds=3600 * i / n)).strftime("%Y-%m-%d %H:%M:%S"),
            **fields,
        }
        for i in range(n)
    ]


def background(first_hour: str, hours: int, per_hour: int, **fields) -> list[dict]:
    rows = []
    for h in range(hours):
        hour = (ts(first_hour) + pd.Timedelta(hours=h)).strftime("%Y-%m-%d %H:%M")
        rows += posts_in_hour(hour, per_hour, **fields)
    return rows


@pytest.fixture()
def store(db_path):
    """A database without rules: the seeded defaults (test_new_database_watches_with_the_default_rules) removed,
    so each test evaluates only the rules it saves."""
    with Store(db_path) as opened:
        without_default_rules(opened)
        yield opened


def without_default_rules(store: Store) -> None:
    store.execute([("DELETE FROM alert_rules", []), ("DELETE FROM audit_log", [])])


def test_new_database_watches_with_the_default_rules(db_path):
    with Store(db_path) as created:
        assert created.created
        assert [r.rule_id for r in alerts.load_rules(created, enabled_only=True)] == sorted(
            r.rule_id for r in alerts.DEFAULT_RULES)
        alerts.delete_rule(created, "topic_spike", "admin")
    with Store(db_path) as reopened:  # seeded once: a deleted default stays deleted
        assert not reopened.created
        assert "topic_spike" not in {r.rule_id for r in alerts.load_rules(reopened)}


POSTS_RULE = Rule(
    "posts_hour",
    "话题发帖量超限",
    "threshold",
    {"metric": "posts", "scope": "topic", "window_minutes": 60, "threshold": 50},
)


# ---------- threshold ----------


@pytest.mark.parametrize(("burst", "fires"), [(60, True), (40, False)])
def test_threshold_posts_fires_with_baseline_in_message(store, burst, fires):
    rows = background("2026-11-09 10:00", 24, 5, topic="安全生产") + posts_in_hour(
        "2026-11-10 10:00", burst, topic="安全生产"
    )
    rows += posts_in_hour("2026-11-10 10:00", 45, topic="教育")  # another topic, below the threshold
    write_posts(store, rows)
    got = alerts.evaluate(store, [POSTS_RULE], ts("2026-11-10 11:00"))
    if not fires:
        assert got == []
        return
    assert len(got) == 1
    a = got[0]
    assert a.subject == "安全生产" and a.value == 60 and a.threshold == 50
    assert a.message == "话题【安全生产】近1小时发帖60条，超过阈值50条（基线中位数5条）"
    assert a.window_start == ts("2026-11-10 10:00") and a.window_end == ts("2026-11-10 11:00")
    assert a.details["filters"] == {
        "created_at_from": "2026-11-10T10:00:00+08:00",
        "created_at_to": "2026-11-10T11:00:00+08:00",
        "topic": ["安全生产"],
    }
    assert a.dedupe_key == "posts_hour|安全生产|2026-11-10T11:00:00+08:00"


def test_negative_ratio_uses_wilson_lower_bound(store):
    rows = posts_in_hour("2026-11-10 10:00", 3, topic="教育", sentiment_label="负面")[:2]
    rows += posts_in_hour("2026-11-10 10:30", 1, topic="教育")
    rows += posts_in_hour("2026-11-10 10:00", 18, topic="医疗卫生", sentiment_label="负面")
    rows += posts_in_hour("2026-11-10 10:00", 2, topic="医疗卫生")
    write_posts(store, rows)
    rule = Rule(
        "neg",
        "负面占比",
        "threshold",
        {
            "metric": "negative_ratio",
            "scope": "topic",
            "window_minutes": 60,
            "threshold": 0.5,
            "min_posts": 1,
        },
    )
    got = alerts.evaluate(store, [rule], ts("2026-11-10 11:00"))
    # 2 of 3 negative (67 %) has a Wilson lower bound of 21 %: quiet. 18 of 20 (90 %): lower bound 70 %.
    assert [a.subject for a in got] == ["医疗卫生"]
    assert got[0].details["compared_value"] == pytest.approx(0.6990, abs=1e-3)
    assert got[0].message.startswith(
        "话题【医疗卫生】近1小时负面占比90%（负面18条/共20条，95%置信下限70%），超过阈值50%"
    )


def test_velocity_and_heat_metrics(store):
    rows = posts_in_hour("2026-11-10 09:00", 30, repost_count=4, comment_count=2, like_count=10)
    rows += posts_in_hour("2026-11-10 10:00", 30, repost_count=4, comment_count=2, like_count=10)
    write_posts(store, rows)
    velocity = Rule(
        "v", "发帖速度", "threshold", {"metric": "velocity", "window_minutes": 120, "threshold": 25}
    )
    got = alerts.evaluate(store, [velocity], ts("2026-11-10 11:00"))
    assert len(got) == 1 and got[0].value == 30.0 and got[0].subject == "全部"
    assert got[0].message.startswith("全部信息近2小时平均每小时发帖30.0条，超过阈值25条/小时")
    expected_heat = heat_index([60], [240], [120], [600])[0]
    heat = Rule(
        "h", "热度", "threshold", {"metric": "heat", "window_minutes": 120, "threshold": int(expected_heat)}
    )
    hot = alerts.evaluate(store, [heat], ts("2026-11-10 11:00"))
    assert hot[0].value == pytest.approx(expected_heat)
    too_hot = Rule(
        "h2", "热度", "threshold", {"metric": "heat", "window_minutes": 120, "threshold": expected_heat + 1}
    )
    assert alerts.evaluate(store, [too_hot], ts("2026-11-10 11:00")) == []


def test_sensitive_period_tightens_threshold_and_says_so(store):
    # 40 posts in an hour: under the threshold of 50 on an ordinary day, over 35 (= 50 x 0.7) at 国庆节.
    write_posts(
        store,
        posts_in_hour("2026-11-10 10:00", 40, topic="安全生产")
        + posts_in_hour("2026-10-01 10:00", 40, topic="安全生产"),
    )
    assert alerts.evaluate(store, [POSTS_RULE], ts("2026-11-10 11:00")) == []
    got = alerts.evaluate(store, [POSTS_RULE], ts("2026-10-01 11:00"))
    assert len(got) == 1 and got[0].threshold == 35
    assert got[0].message == (
        "话题【安全生产】近1小时发帖40条，超过阈值35条（敏感时期“国庆节”，阈值已收紧至70%）"
    )
    assert got[0].details["sensitive_factor"] == 0.7 and got[0].details["base_threshold"] == 50


# ---------- spike ----------

SPIKE_RULE = Rule("spike", "话题发帖量突增", "spike", {"scope": "topic"})


def spike_history(store, peak: int) -> None:
    rows = background("2026-11-02 00:00", 8 * 24 + 10, 3, topic="安全生产")
    rows += background("2026-11-02 00:00", 8 * 24 + 11, 2, topic="教育")
    rows += posts_in_hour("2026-11-10 10:00", peak, topic="安全生产")
    write_posts(store, rows)


@pytest.mark.parametrize(("peak", "fires"), [(60, True), (8, False)])
def test_spike_rule_fires_on_burst_not_on_quiet_twin(store, peak, fires):
    spike_history(store, peak)
    got = alerts.evaluate(store, [SPIKE_RULE], ts("2026-11-10 11:20"))
    if not fires:
        assert got == []
        return
    assert [a.subject for a in got] == ["安全生产"]
    a = got[0]
    assert a.value == 60 and a.details["baseline"] == 3 and a.details["period"] == "2026-11-10T10:00:00+08:00"
    assert a.message.startswith("话题【安全生产】11-10 10:00–11:00发帖60条，为基线3.0条的20.0倍")
    # an hour later the burst is over: nothing fires
    assert alerts.evaluate(store, [SPIKE_RULE], ts("2026-11-10 12:20")) == []


# ---------- keyword ----------

KEYWORD_RULE = Rule(
    "kw",
    "伤亡关键词",
    "keyword",
    {"words": ["爆炸", "死亡", "食物中毒"], "min_count": 3, "window_minutes": 60},
)


@pytest.mark.parametrize(("explosions", "fires"), [(3, True), (2, False)])
def test_keyword_rule(store, explosions, fires):
    rows = [
        {
            "post_id": f"k{i}",
            "created_at": f"2026-11-10 10:{10 + i}",
            "text": "西固区化工厂爆炸了",
            "text_norm": "西固区化工厂爆炸了",
        }
        for i in range(explosions)
    ]
    rows += [
        {"post_id": "old", "created_at": "2026-11-10 08:00", "text_norm": "昨天爆炸"},  # outside the window
        {"post_id": "other", "created_at": "2026-11-10 10:30", "text_norm": "今天天气很好"},
    ]
    write_posts(store, rows)
    got = alerts.evaluate(store, [KEYWORD_RULE], ts("2026-11-10 11:00"))
    if not fires:
        assert got == []
        return
    assert len(got) == 1
    assert got[0].message == "全部信息近1小时出现预警关键词的信息3条（“爆炸”3条），达到阈值3条"
    assert got[0].details["post_ids"] == ["k0", "k1", "k2"]


def test_keyword_regex_and_plain_words_are_literal(store):
    write_posts(
        store,
        [
            {"post_id": "a", "created_at": "2026-11-10 10:10", "text_norm": "有人跳楼"},
            {"post_id": "b", "created_at": "2026-11-10 10:20", "text_norm": "讨薪a.b"},
        ],
    )
    regex = Rule("re", "正则", "keyword", {"words": ["跳.楼|坠楼", "讨薪"], "regex": True, "min_count": 1})
    plain = Rule("pl", "字面", "keyword", {"words": ["a.c"], "min_count": 1})  # '.' is not a wildcard
    got = alerts.evaluate(store, [regex, plain], ts("2026-11-10 11:00"))
    assert [(a.rule_id, a.value) for a in got] == [("re", 1.0)]
    assert got[0].details["words"] == {"讨薪": 1}


# ---------- silence ----------

SILENCE_RULE = Rule("silence", "渠道断流", "silence", {"hours": 6, "min_daily_posts": 48})


def test_silence_fires_for_busy_channel_only(store):
    rows = background("2026-11-03 02:00", 7 * 24, 3, channel="微博")  # until 2026-11-10 02:00
    rows += [
        {"post_id": f"x{d}", "created_at": f"2026-11-0{d} 09:00", "channel": "信访"} for d in range(3, 10)
    ]
    # 抖音 posts 08:00-22:00 only: quiet every night, so a quiet night is not an outage
    rows += [
        r
        for r in background("2026-11-03 00:00", 7 * 24 + 2, 6, channel="抖音")
        if 8 <= pd.Timestamp(r["created_at"]).hour < 22
    ]
    write_posts(store, rows)
    # 07:00: 微博 silent 5 h 20 min (not yet); 抖音 silent 9 h but the hours 01-07 are always quiet for it
    assert alerts.evaluate(store, [SILENCE_RULE], ts("2026-11-10 07:00")) == []
    got = alerts.evaluate(store, [SILENCE_RULE], ts("2026-11-10 09:00"))
    # 信访 is silent for a day but never busy; 抖音 now misses its usual 08:00-09:00 posts
    assert sorted(a.subject for a in got) == ["微博", "抖音"]
    weibo = next(a for a in got if a.subject == "微博")
    assert weibo.value == pytest.approx(7 + 1 / 3)
    assert weibo.message == (
        "渠道【微博】已7.3小时无新数据（最后一条发布于11-10 01:40；前7天同一时段平均18.0条），"
        "超过断流阈值6小时，请检查采集是否中断"
    )
    assert next(a for a in got if a.subject == "抖音").details["expected_posts"] == 6
    # the same silence seen again later has the same dedupe key: one gap, one alert
    later = alerts.evaluate(store, [SILENCE_RULE], ts("2026-11-10 12:00"))
    assert {a.dedupe_key for a in later} == {a.dedupe_key for a in got}


# ---------- incidents: grade raised and deadlines ----------


def add_incident(store, incident_id: str, title: str, grades: list[tuple[str, str]]) -> None:
    statements = [
        (
            """INSERT INTO incidents (incident_id, title, source, first_seen_at, tier_set, created_by)
                      VALUES (?, ?, 'analyst', ?, '3级', 'test')""",
            [incident_id, title, ts(grades[0][0]).to_pydatetime()],
        )
    ]
    for at, grade in grades:
        statements.append(
            (
                """INSERT INTO incident_grades (incident_id, graded_at, tier_set, grade, reasons, signals,
                                                          is_override, actor)
                               VALUES (?, ?, '3级', ?, ?, '{}', false, 'system')""",
                [incident_id, ts(at).to_pydatetime(), grade, ["多家网站转载"]],
            )
        )
    store.execute(statements)


GRADE_RULE = Rule("grade", "事件定级上调", "grade_raised", {"window_minutes": 1440}, cooldown_minutes=0)


def test_grade_raised_fires_on_raise_not_on_lowering(store):
    add_incident(
        store,
        "I1",
        "化工厂爆炸",
        [("2026-11-10 09:00", "三级"), ("2026-11-10 10:00", "二级"), ("2026-11-10 10:10", "二级")],
    )
    add_incident(store, "I2", "小区停水", [("2026-11-10 09:00", "二级"), ("2026-11-10 10:00", "三级")])
    got = alerts.evaluate(store, [GRADE_RULE], ts("2026-11-10 10:30"))
    assert [a.subject for a in got] == ["I1"]
    assert (
        got[0].message
        == "事件【化工厂爆炸】定级由三级上调为二级（11-10 10:00，自动研判：system）；依据：多家网站转载"
    )
    assert alerts.evaluate(store, [GRADE_RULE], ts("2026-11-10 09:30")) == []  # before the raise
    assert alerts.evaluate(store, [GRADE_RULE], ts("2026-11-12 10:30")) == []  # outside the 24 h window


def fake_clocks(store, now):
    deadline = ts("2026-11-10 12:00")
    left = (deadline - now) / pd.Timedelta(minutes=1)
    return pd.DataFrame(
        {
            "incident_id": ["I1"],
            "title": ["化工厂爆炸"],
            "grade": ["一级"],
            "step": ["权威发布"],
            "deadline_at": [deadline],
            "minutes_left": [left],
            "is_overdue": [left < 0],
        }
    )


def test_deadline_overdue_and_warning(store, monkeypatch):
    monkeypatch.setattr(alerts.kinds, "_clock_reader", lambda store: lambda now: fake_clocks(store, now))
    add_incident(store, "I1", "化工厂爆炸", [("2026-11-10 09:00", "一级")])
    overdue = Rule("late", "处置时限逾期", "deadline", {})
    warn = Rule("soon", "处置时限临近", "deadline", {"warn_minutes": 30})
    assert alerts.evaluate(store, [overdue, warn], ts("2026-11-10 11:00")) == []  # 60 min left
    soon = alerts.evaluate(store, [overdue, warn], ts("2026-11-10 11:45"))
    assert [(a.rule_id, a.message) for a in soon] == [
        (
            "soon",
            "事件【化工厂爆炸】（一级）“权威发布”将在15分钟后到期（时限11-10 12:00），提前提醒阈值30分钟",
        )
    ]
    late = alerts.evaluate(store, [overdue], ts("2026-11-10 13:25"))
    assert late[0].message == "事件【化工厂爆炸】（一级）“权威发布”已逾期1小时25分钟（时限11-10 12:00）"
    assert late[0].subject == "I1·权威发布"


def test_deadline_and_grade_with_the_real_incident_module(store):
    from analysis import incidents

    write_posts(store, posts_in_hour("2026-11-10 10:00", 3, prefix="q", topic="安全生产"))
    incident_id = incidents.create_incident(
        store, "化工厂爆炸", ["q-0"], "analyst", incident_id="I9", first_seen_at=ts("2026-11-10 10:00")
    )
    incidents.override_grade(store, incident_id, "一级", "有人员伤亡", "analyst")
    late = alerts.evaluate(store, [Rule("late", "处置时限逾期", "deadline", {})], ts("2026-11-10 10:45"))
    # 一级: the first report is due 30 min after 监测发现 (10:00); nothing else is due yet
    assert [a.message for a in late] == [
        "事件【化工厂爆炸】（一级）“首报（30分钟内报送）”已逾期15分钟（时限11-10 10:30）"
    ]
    incidents.add_event(store, incident_id, "报送", "analyst", at=ts("2026-11-10 10:50"))
    assert (
        alerts.evaluate(store, [Rule("late", "处置时限逾期", "deadline", {})], ts("2026-11-10 11:00")) == []
    )


def test_broken_rule_does_not_silence_the_others(store, monkeypatch):
    def broken(store):
        raise RuntimeError("incidents not ready")

    monkeypatch.setattr(alerts.kinds, "_clock_reader", broken)
    add_incident(store, "I1", "化工厂爆炸", [("2026-11-10 09:00", "三级"), ("2026-11-10 10:00", "二级")])
    got, errors = alerts.evaluate_with_errors(
        store, [Rule("late", "处置时限逾期", "deadline", {}), GRADE_RULE], ts("2026-11-10 10:30")
    )
    assert [a.rule_id for a in got] == ["grade"]
    assert errors == ["规则【处置时限逾期】（late）计算失败：incidents not ready"]


# ---------- persistence, dedupe, cooldown ----------


def test_run_twice_stores_one_alert(store):
    write_posts(store, posts_in_hour("2026-11-10 10:00", 60, topic="安全生产"))
    alerts.save_rule(store, POSTS_RULE, "admin")
    first = alerts.run(store, ts("2026-11-10 11:00"))
    again = alerts.run(store, ts("2026-11-10 11:00"))
    later_same_bucket = alerts.run(store, ts("2026-11-10 11:30"))  # same hour bucket, window still holds 30
    assert len(first) == 1 and first[0].alert_id is not None
    assert again == [] and later_same_bucket == []
    stored = alerts.list_alerts(store)
    assert len(stored) == 1 and stored["merged_count"].tolist() == [1] and stored["state"].tolist() == ["new"]
    assert stored["rule_name"].tolist() == ["话题发帖量超限"]


def test_cooldown_merges_into_open_alert_then_new_after_cooldown_or_close(store):
    rows = posts_in_hour("2026-11-10 10:00", 60, topic="安全生产") + posts_in_hour(
        "2026-11-10 11:00", 80, topic="安全生产"
    )
    rows += posts_in_hour("2026-11-10 16:00", 70, topic="安全生产") + posts_in_hour(
        "2026-11-10 20:00", 55, topic="安全生产"
    )
    write_posts(store, rows)
    alerts.save_rule(store, dataclass_replace(POSTS_RULE, cooldown_minutes=120), "admin")
    assert len(alerts.run(store, ts("2026-11-10 11:00"))) == 1
    assert alerts.run(store, ts("2026-11-10 12:00")) == []  # merged
    assert alerts.run(store, ts("2026-11-10 12:00")) == []  # and not merged twice
    frame = alerts.list_alerts(store)
    assert len(frame) == 1 and frame["merged_count"].iloc[0] == 2
    assert frame["message"].iloc[0] == "话题【安全生产】近1小时发帖60条，超过阈值50条"
    details = frame["details"].iloc[0]
    assert details["value"] == 80 and details["last_fired_at"] == "2026-11-10T12:00:00+08:00"
    assert details["last_message"].startswith("话题【安全生产】近1小时发帖80条")
    # 17:00 is more than 120 min after the last firing (12:00): a new alert
    assert len(alerts.run(store, ts("2026-11-10 17:00"))) == 1
    # a closed alert is not merged into: the next firing within its cooldown opens a new one
    alerts.close(store, int(alerts.list_alerts(store)["alert_id"].iloc[0]), "analyst")
    assert len(alerts.run(store, ts("2026-11-10 21:00"))) == 1
    assert len(alerts.list_alerts(store)) == 3


def dataclass_replace(rule: Rule, **changes) -> Rule:
    return Rule(**{**rule.to_dict(), **changes})


def test_acknowledge_close_transitions_and_audit(store):
    write_posts(store, posts_in_hour("2026-11-10 10:00", 60, topic="安全生产"))
    alerts.save_rule(store, POSTS_RULE, "admin")
    alert_id = alerts.run(store, ts("2026-11-10 11:00"), actor="scheduler")[0].alert_id
    alerts.acknowledge(store, alert_id, "张三")
    with pytest.raises(ValueError, match="当前为“已确认”，不能改为“已确认”"):
        alerts.acknowledge(store, alert_id, "张三")
    alerts.close(store, alert_id, "李四", note="已核实")
    with pytest.raises(ValueError, match="当前为“已关闭”，不能改为“已确认”"):
        alerts.acknowledge(store, alert_id, "张三")
    with pytest.raises(ValueError, match="预警 999 不存在"):
        alerts.close(store, 999, "李四")
    row = alerts.list_alerts(store, state="closed").iloc[0]
    assert row["state_by"] == "李四"
    assert alerts.list_alerts(store, state="new").empty
    audit = store.query("SELECT actor, action, target, details FROM audit_log ORDER BY audit_id")
    assert audit["action"].tolist() == ["rule.create", "alerts.run", "alert.acknowledge", "alert.close"]
    assert audit["actor"].tolist() == ["admin", "scheduler", "张三", "李四"]
    assert json.loads(audit["details"].iloc[3]) == {"from": "acknowledged", "to": "closed", "note": "已核实"}


# ---------- validation and rule persistence ----------


def test_validation_errors_are_chinese_and_name_the_field():
    assert alerts.validate_rule(Rule("x", "测试", "nonsense", {})) == [
        "未知的规则类型（kind）：nonsense；可选：threshold、spike、keyword、silence、grade_raised、deadline"
    ]
    errors = alerts.validate_rule(
        Rule(
            "bad id!", "", "threshold", {"metric": "posts", "threshold": -5, "windw": 60}, cooldown_minutes=-1
        )
    )
    assert any("规则编号（rule_id）" in e for e in errors)
    assert "规则名称（name）不能为空" in errors
    assert any("冷却时间（cooldown_minutes）" in e for e in errors)
    assert any(e.startswith("未知参数（params.windw）") for e in errors)
    assert "缺少必填参数（params.window_minutes）" in errors
    assert "阈值（params.threshold）必须是大于0的数" in errors
    regex = alerts.validate_rule(Rule("r", "正则", "keyword", {"words": ["(爆炸"], "regex": True}))
    assert len(regex) == 1 and regex[0].startswith("关键词（params.words）中“(爆炸”不是有效的正则表达式")
    ratio = alerts.validate_rule(
        Rule("r", "比例", "threshold", {"metric": "negative_ratio", "window_minutes": 60, "threshold": 60})
    )
    assert ratio == ["负面占比阈值（params.threshold）应在0到1之间，例如 0.6 表示60%"]
    for rule in alerts.DEFAULT_RULES:
        assert alerts.validate_rule(rule) == [], rule.rule_id


def test_save_rejects_invalid_rule_and_keeps_history(store):
    with pytest.raises(ValueError, match="缺少必填参数（params.hours）"):
        alerts.save_rule(store, Rule("s", "断流", "silence", {}), "admin")
    assert alerts.load_rules(store) == []
    assert alerts.install_default_rules(store) == 6
    assert alerts.install_default_rules(store) == 0
    assert [r.rule_id for r in alerts.load_rules(store)] == sorted(r.rule_id for r in alerts.DEFAULT_RULES)
    edited = dataclass_replace(
        alerts.DEFAULT_RULES[0], params={**alerts.DEFAULT_RULES[0].params, "threshold": 0.7}
    )
    alerts.save_rule(store, edited, "admin")
    assert alerts.install_default_rules(store) == 0  # an edited default is not overwritten
    assert alerts.get_rule(store, edited.rule_id).params["threshold"] == 0.7
    assert alerts.set_rule_enabled(store, "topic_spike", False, "admin")
    assert "topic_spike" not in [r.rule_id for r in alerts.load_rules(store, enabled_only=True)]
    assert alerts.delete_rule(store, "channel_silence", "admin") and not alerts.delete_rule(
        store, "nope", "admin"
    )
    actions = store.query("SELECT action, target FROM audit_log WHERE actor = 'admin' ORDER BY audit_id")
    assert actions.values.tolist() == [
        ["rule.update", "neg_ratio_topic"],
        ["rule.disable", "topic_spike"],
        ["rule.delete", "channel_silence"],
    ]


# ---------- back-testing ----------


def test_backtest_finds_injected_bursts_and_writes_nothing(store):
    rows = background("2026-11-01 00:00", 14 * 24, 2, topic="安全生产")
    rows += background("2026-11-01 00:00", 14 * 24, 2, topic="教育")
    bursts = {
        "2026-11-09 15:00": ("安全生产", 70),
        "2026-11-09 16:00": ("安全生产", 90),
        "2026-11-12 03:00": ("教育", 60),
    }
    for hour, (topic, n) in bursts.items():
        rows += posts_in_hour(hour, n, topic=topic)
    write_posts(store, rows)
    rules = [POSTS_RULE, SPIKE_RULE]
    before = store.scalar("SELECT count(*) FROM audit_log"), store.scalar("SELECT count(*) FROM alerts")
    result = alerts.backtest(store, rules, ts("2026-11-08 00:00"), ts("2026-11-15 00:00"))
    assert list(result.columns) == alerts.BACKTEST_COLUMNS
    fired = [
        (r.rule_id, f"{r.fired_at:%m-%d %H:%M}", r.subject, r.value, r.merged) for r in result.itertuples()
    ]
    # 15:00 and 16:00 bursts are one alert (cooldown 60 min from the last firing) with one merged firing
    # (values include the 2 background posts of that hour)
    assert fired == [
        ("posts_hour", "11-09 16:00", "安全生产", 72.0, 1),
        ("spike", "11-09 16:00", "安全生产", 72.0, 1),
        ("posts_hour", "11-12 04:00", "教育", 62.0, 0),
        ("spike", "11-12 04:00", "教育", 62.0, 0),
    ]
    assert (
        store.scalar("SELECT count(*) FROM audit_log"),
        store.scalar("SELECT count(*) FROM alerts"),
    ) == before
    # the live evaluation at the same moments agrees with the replay
    live = alerts.evaluate(store, rules, ts("2026-11-12 04:00"))
    assert [(a.rule_id, a.subject, a.message) for a in live] == [
        (r.rule_id, r.subject, r.message) for r in result.itertuples() if r.fired_at == ts("2026-11-12 04:00")
    ]


def test_backtest_keyword_on_real_hot_search_titles(store):
    """Real hourly Weibo hot-search titles as posts; the oracle counts the same hours with pandas."""
    hot = pd.read_csv(shared_file("hot_search_dev.csv.gz"))
    hot["created_at"] = pd.to_datetime(hot["time"]).dt.tz_convert(TZ)
    hot = hot[(hot["created_at"] >= ts("2024-07-01")) & (hot["created_at"] < ts("2024-07-08"))]
    hot = hot.drop_duplicates(["created_at", "title"]).reset_index(drop=True)
    write_posts(
        store,
        [
            {
                "post_id": f"h{i}",
                "created_at": t.tz_localize(None),
                "text": title,
                "text_norm": title,
                "topic": category if isinstance(category, str) else "未分类",
            }
            for i, (t, title, category) in enumerate(
                zip(hot["created_at"], hot["title"], hot["category"], strict=True)
            )
        ],
    )
    words = ["暴雨", "洪水", "地震", "死亡"]
    rule = Rule(
        "disaster",
        "灾害关键词",
        "keyword",
        {"words": words, "min_count": 2, "window_minutes": 60},
        cooldown_minutes=0,
    )
    result = alerts.backtest(store, [rule], ts("2024-07-01 12:00"), ts("2024-07-08 00:00"))
    # oracle: hours h with at least 2 matching titles fire at the step h + 1 h (window [h, h + 1 h))
    hits = hot[hot["title"].str.contains("|".join(words), regex=True)]
    per_hour = hits.groupby(hits["created_at"].dt.floor("h")).size()
    expected = sorted(
        h + pd.Timedelta(hours=1)
        for h, n in per_hour.items()
        if n >= 2 and ts("2024-07-01 12:00") <= h < ts("2024-07-08 00:00")
    )
    assert len(expected) > 10  # a rainy July: the rule has real work to do
    assert result["fired_at"].tolist() == expected
    assert result["value"].tolist() == [float(per_hour[t - pd.Timedelta(hours=1)]) for t in expected]
    assert all(re.search("“(暴雨|洪水|地震|死亡)”", m) for m in result["message"])


def test_cli_backtest_and_run(db_path, capsys, monkeypatch):
    with Store(db_path) as s:
        without_default_rules(s)
        write_posts(s, posts_in_hour("2026-11-10 10:00", 60, topic="安全生产"))
        alerts.save_rule(s, POSTS_RULE, "admin")
    assert (
        alerts.cli_alerts(
            [
                "backtest",
                "--from",
                "2026-11-10",
                "--to",
                "2026-11-10",
                "--rule",
                "posts_hour",
                "--json",
                "--db",
                str(db_path),
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert [(r["fired_at"], r["value"]) for r in out] == [("2026-11-10T11:00:00+08:00", 60.0)]
    assert alerts.cli_alerts(["run", "--now", "2026-11-10T11:00", "--json", "--db", str(db_path)]) == 0
    run_out = json.loads(capsys.readouterr().out)
    assert [a["message"] for a in run_out["new"]] == ["话题【安全生产】近1小时发帖60条，超过阈值50条"]
    alert_id = run_out["new"][0]["alert_id"]
    assert alerts.cli_alerts(["ack", str(alert_id), "--by", "王五", "--db", str(db_path)]) == 0
    assert alerts.cli_alerts(["list", "--state", "acknowledged", "--json", "--db", str(db_path)]) == 0
    listed = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert [(a["alert_id"], a["state_by"]) for a in listed] == [(alert_id, "王五")]
    assert alerts.cli_alerts(["rules", "--json", "--db", str(db_path)]) == 0
    assert [r["rule_id"] for r in json.loads(capsys.readouterr().out)] == ["posts_hour"]
    assert np.isfinite(alert_id)


# ---------- preview == live, under the office's own settings ----------


@pytest.fixture(scope="module")
def own_export_db(tmp_path_factory):
    """A fresh database (no demo) holding an office's own export, imported through the CLI path."""
    from tests import own_data

    return own_data.imported_export(tmp_path_factory.mktemp("own_alerts"))


OFFICE_FOOD_RULE = Rule("food_posts", "食品话题发帖超限", "threshold",
                        {"metric": "posts", "scope": "topic", "values": ["食品药品"], "window_minutes": 60,
                         "threshold": 80}, cooldown_minutes=60)


def test_backtest_preview_equals_live_run_under_the_offices_sensitive_periods(own_export_db, tmp_path):
    import shutil

    from analysis import settings

    db = tmp_path / "own.duckdb"
    shutil.copy(own_export_db[0], db)
    clock = own_export_db[1]
    with Store(db) as store:
        alerts.save_rule(store, OFFICE_FOOD_RULE, "admin")
        rules = alerts.load_rules(store, enabled_only=True)
        before = alerts.backtest(store, [OFFICE_FOOD_RULE], clock - pd.Timedelta(hours=1), clock)
        assert before.empty  # ~55 posts in the hour: under 80 on an ordinary day
        day = clock.strftime("%Y-%m-%d")
        settings.save(store, "sensitive_periods", [{"name": "全县重要会议", "start": day, "end": day, "factor": 0.5}],
                      actor="科长")
        preview = alerts.backtest(store, rules, clock - pd.Timedelta(hours=1), clock)  # what the 预警 page shows
        evaluated = alerts.evaluate(store, rules, clock)
        live = alerts.run(store, clock)
    food = preview[preview["rule_id"] == "food_posts"]
    assert len(food) == 1 and food.iloc[0]["threshold"] == 40
    assert "敏感时期“全县重要会议”，阈值已收紧至50%" in food.iloc[0]["message"]
    assert {"food_posts", "topic_spike"} <= set(preview["rule_id"])

    def key(rule_id, subject, value, threshold, message):
        return rule_id, subject, round(float(value), 9), round(float(threshold), 9), message

    shown = sorted(key(r.rule_id, r.subject, r.value, r.threshold, r.message) for r in preview.itertuples())
    assert shown == sorted(key(a.rule_id, a.subject, a.value, a.threshold, a.message) for a in live)
    assert shown == sorted(key(a.rule_id, a.subject, a.value, a.threshold, a.message) for a in evaluated)
