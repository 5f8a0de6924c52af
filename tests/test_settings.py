"""Settings: defaults from the code constants, validation in Chinese, audit, fallback, wiring, and the 设置 page."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analysis import alerts, config, grading, media, sensitive, settings
from analysis import incidents as inc
from analysis.alerts import Rule
from analysis.grading import GradingThresholds
from analysis.store import Store
from analysis.topics import KEYWORD_STOP_DEFAULT
from tests.conftest import REPO_ROOT
from tests.factories import write_posts

TZ = "Asia/Shanghai"


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=TZ)


@pytest.fixture()
def store(db_path):
    with Store(db_path) as opened:
        yield opened


def audit_rows(store: Store) -> pd.DataFrame:
    return store.query("SELECT actor, action, target, CAST(details AS VARCHAR) AS details FROM audit_log "
                       "WHERE action LIKE 'settings.%' ORDER BY audit_id")


# ---------- defaults, round trip, audit ----------

def test_defaults_are_the_code_constants(store):
    assert settings.policy(store).tier_set == grading.DEFAULT_TIER_SET == "三级"
    assert settings.policy(store).thresholds == GradingThresholds()
    assert settings.policy(store).periods == sensitive.DEFAULT_PERIODS
    assert settings.policy(store).mainstream_sites == config.MAINSTREAM_SITES
    assert settings.keyword_stop_words(store) == list(KEYWORD_STOP_DEFAULT)
    assert list(settings.policy(store).targets) == []
    assert settings.service(store) == settings.SERVICE_DEFAULTS
    assert settings.media_directory(store) == dict(media.DEFAULT_DIRECTORY)
    assert set(json.loads(settings.export_all(store))) == {
        "default_tier_set", "grading_thresholds", "deadlines", "sensitive_periods", "mainstream_sites",
        "keyword_stop_words", "service", "alert_targets", "incident_proposals", "media_directory"}
    assert settings.problems(store) == []
    for setting in settings.REGISTRY.values():
        assert setting.label and setting.help
        assert setting.validate(setting.default()) == [], setting.key


def test_save_get_round_trip_audit_and_reset(store):
    saved = settings.save(store, "grading_thresholds", {"several_sites": 2}, actor="科长甲")
    assert saved["several_sites"] == 2 and saved["severe_posts"] == 300  # unspecified fields keep defaults
    assert settings.policy(store).thresholds == GradingThresholds(several_sites=2)
    assert settings.is_customised(store, "grading_thresholds")
    periods = [{"name": "全市重要会议", "start": "2026-11-09", "end": "2026-11-11", "factor": 0.5}]
    settings.save(store, "sensitive_periods", periods, actor="科长甲")
    assert settings.get(store, "sensitive_periods") == periods
    assert settings.policy(store).periods == (
        sensitive.SensitivePeriod("全市重要会议", pd.Timestamp("2026-11-09").date(),
                                  pd.Timestamp("2026-11-11").date(), 0.5),)

    rows = audit_rows(store)
    assert rows["action"].tolist() == ["settings.update", "settings.update"]
    assert rows["target"].tolist() == ["grading_thresholds", "sensitive_periods"]
    assert rows["actor"].tolist() == ["科长甲", "科长甲"]
    first = json.loads(rows["details"].iloc[0])
    assert first["old"]["several_sites"] == 3 and first["new"]["several_sites"] == 2

    assert settings.reset(store, "grading_thresholds", actor="科长乙") == json.loads(
        json.dumps(settings.REGISTRY["grading_thresholds"].default()))
    assert settings.policy(store).thresholds == GradingThresholds()
    assert not settings.is_customised(store, "grading_thresholds")
    last = audit_rows(store).iloc[-1]
    assert (last["action"], last["actor"]) == ("settings.reset", "科长乙")
    assert json.loads(last["details"])["old"]["several_sites"] == 2

    shown = settings.history(store)
    assert shown["action"].tolist() == ["恢复默认", "修改", "修改"]  # newest first
    assert shown["setting"].tolist() == ["分级阈值", "敏感时期", "分级阈值"]


def test_targets_are_stored_like_every_setting_and_secrets_stay_out_of_the_audit(store):
    target = {"type": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send?access_token=TOKEN123",
              "secret": "SECabc"}
    settings.save(store, "alert_targets", [target], actor="管理员")
    assert list(settings.policy(store).targets) == [target]
    rows = audit_rows(store)
    assert rows["target"].tolist() == ["alert_targets"]
    assert "TOKEN123" not in rows["details"].iloc[0] and "SECabc" not in rows["details"].iloc[0]
    assert json.loads(rows["details"].iloc[0]) == {"old": [], "new": [{"type": "dingtalk", "url": "***",
                                                                          "secret": "***"}]}
    settings.reset(store, "alert_targets", actor="管理员")
    assert list(settings.policy(store).targets) == []


@pytest.mark.parametrize(("key", "value", "message"), [
    ("default_tier_set", "五级", "默认分级体系（default_tier_set）应为 三级、四级 之一"),
    ("grading_thresholds", {"several_sites": 0}, "“传播站点数（二级）”（several_sites）应为 1–1000 的整数"),
    ("grading_thresholds", {"several_sites": 2.5}, "（several_sites）应为 1–1000 的整数，收到：2.5"),
    ("grading_thresholds", {"several_sites": True}, "（several_sites）应为 1–1000 的整数"),
    ("grading_thresholds", {"rising_negative_points": 1.5}, "（rising_negative_points）应为 0.01–1 的数值"),
    ("grading_thresholds", {"nonsense": 1}, "分级阈值（grading_thresholds）中没有字段“nonsense”"),
    ("grading_thresholds", [3], "分级阈值（grading_thresholds）必须是 JSON 对象"),
    ("sensitive_periods", {"name": "国庆"}, "敏感时期（sensitive_periods）必须是列表"),
    ("sensitive_periods", [{"name": "国庆节", "start": "2026-10-08", "end": "2026-10-01", "factor": 0.7}],
     "敏感时期（sensitive_periods）第1项的开始日期（start）2026-10-08 晚于结束日期（end）2026-10-01"),
    ("sensitive_periods", [{"name": "国庆节", "start": "2026/10/01", "end": "2026-10-08"}],
     "第1项的开始日期（start）应为 YYYY-MM-DD 格式的日期"),
    ("sensitive_periods", [{"name": "国庆节", "start": "2026-10-01", "end": "2026-10-08", "factor": 0}],
     "第1项的收紧系数（factor）应大于 0 且不大于 1"),
    ("sensitive_periods", [{"name": "国庆节", "start": "2026-10-01", "end": "2026-10-08", "factor": 1.5}],
     "收紧系数（factor）应大于 0 且不大于 1，收到：1.5"),
    ("sensitive_periods", [{"name": " ", "start": "2026-10-01", "end": "2026-10-08"}], "第1项的名称（name）不能为空"),
    ("mainstream_sites", ["人民网", ""], "主流媒体站点（mainstream_sites）第2项必须是非空字符串"),
    ("mainstream_sites", ["人民网", "人民网"], "主流媒体站点（mainstream_sites）有重复项：人民网"),
    ("mainstream_sites", "人民网", "主流媒体站点（mainstream_sites）必须是字符串列表"),
    ("alert_targets", [{"type": "wecom", "url": "ftp://robot"}], "推送目标（alert_targets）第1个：机器人地址（url）"),
])
def test_validators_reject_bad_input_naming_the_field(store, key, value, message):
    with pytest.raises(ValueError) as raised:
        settings.save(store, key, value, actor="a")
    assert message in str(raised.value)
    assert not settings.is_customised(store, key) and audit_rows(store).empty


def test_unknown_key_and_bad_json_text_are_explained():
    with pytest.raises(ValueError, match="未知的设置项：colour"):
        settings.get(None, "colour")
    with pytest.raises(ValueError, match=r"“分级阈值”（grading_thresholds）不是合法的 JSON：第1行第2列"):
        settings.parse_json("{oops", "grading_thresholds")


def test_bad_stored_value_falls_back_to_the_default_and_is_reported(store):
    store.execute([("INSERT INTO settings (key, value, updated_by) VALUES (?, ?, ?)",
                    ["grading_thresholds", json.dumps({"several_sites": "很多"}), "手工"]),
                   ("INSERT INTO settings (key, value, updated_by) VALUES (?, ?, ?)",
                    ["sensitive_periods", json.dumps([{"name": "x", "start": "2026-02-30", "end": "2026-03-01"}]),
                     "手工"])])
    assert settings.policy(store).thresholds == GradingThresholds()
    assert settings.policy(store).periods == sensitive.DEFAULT_PERIODS
    found = settings.problems(store)
    assert len(found) == 2
    assert found[0].startswith("设置“分级阈值”（grading_thresholds）的已保存值无效，已改用默认值：")
    assert "收到：'很多'" in found[0]
    assert "开始日期（start）应为 YYYY-MM-DD" in found[1]


# ---------- wiring ----------

@pytest.fixture()
def two_site_store(store):
    """Two quiet posts on two sites on an ordinary day: 三级 under the default thresholds."""
    write_posts(store, [
        {"post_id": "p1", "created_at": "2026-11-18 09:00", "site": "新浪微博", "text_norm": "小区停水"},
        {"post_id": "p2", "created_at": "2026-11-18 09:30", "channel": "新闻", "site": "金城日报",
         "text_norm": "小区停水"},
    ])
    return store


def test_grading_reads_thresholds_periods_and_mainstream_sites_from_settings(two_site_store):
    store, at = two_site_store, ts("2026-11-18 12:00")
    incident_id = inc.create_incident(store, "小区停水", ["p1", "p2"], actor="a")
    assert inc.grade_incident(store, incident_id, at=at).grade == "三级"

    settings.save(store, "grading_thresholds", {"several_sites": 2}, actor="a")
    tighter = inc.grade_incident(store, incident_id, at=at)
    assert (tighter.grade, tighter.reasons) == ("二级", ("在2个站点传播",))

    settings.reset(store, "grading_thresholds", actor="a")
    settings.save(store, "sensitive_periods",
                  [{"name": "全市重要会议", "start": "2026-11-17", "end": "2026-11-19", "factor": 0.5}], actor="a")
    during = inc.grade_incident(store, incident_id, at=at)  # 3 sites x 0.5 -> 2
    assert during.grade == "二级"
    assert during.reasons == ("在2个站点传播（敏感时期“全市重要会议”，阈值已收紧）",)

    settings.save(store, "mainstream_sites", ["金城日报"], actor="a")
    mainstream = inc.grade_incident(store, incident_id, at=at)
    assert mainstream.grade == "一级" and (  # worded by tier (media_directory: 金城日报 is 市县媒体)
        "出现主流媒体报道（市县媒体：金城日报（首家，11-18 09:30））（敏感时期“全市重要会议”，阈值已收紧）"
        in mainstream.reasons)


def test_new_incidents_use_the_configured_tier_set(two_site_store):
    store = two_site_store
    settings.save(store, "default_tier_set", "四级", actor="a")
    incident_id = inc.create_incident(store, "小区停水", ["p1"], actor="a")
    assert store.scalar("SELECT tier_set FROM incidents WHERE incident_id = ?", [incident_id]) == "四级"
    assert inc.grade_incident(store, incident_id, at=ts("2026-11-18 12:00")).grade == "一般"
    explicit = inc.create_incident(store, "小区停水", ["p2"], actor="a", tier_set="三级")
    assert store.scalar("SELECT tier_set FROM incidents WHERE incident_id = ?", [explicit]) == "三级"


POSTS_RULE = Rule("posts_hour", "话题发帖量超限", "threshold",
                  {"metric": "posts", "scope": "topic", "window_minutes": 60, "threshold": 50})


def test_a_configured_sensitive_period_tightens_alert_thresholds(store):
    # 40 posts in an hour on an ordinary Tuesday: under 50, but over 35 (= 50 x 0.7) in a configured period.
    write_posts(store, [{"post_id": f"s{i}", "created_at": f"2026-11-10 10:{i:02d}", "topic": "安全生产"}
                        for i in range(40)])
    now = ts("2026-11-10 11:00")
    alerts.save_rule(store, POSTS_RULE, "admin")
    assert alerts.evaluate(store, [POSTS_RULE], now, policy=settings.policy(store)) == []
    assert alerts.run(store, now) == []

    settings.save(store, "sensitive_periods",
                  [{"name": "全市重要会议", "start": "2026-11-09", "end": "2026-11-11", "factor": 0.7}], actor="a")
    got = alerts.evaluate(store, [POSTS_RULE], now, policy=settings.policy(store))
    assert len(got) == 1 and got[0].threshold == 35 and got[0].value == 40
    stored = alerts.run(store, now)  # no periods given: run() reads them from settings
    assert len(stored) == 1
    assert stored[0].message == ("话题【安全生产】近1小时发帖40条，超过阈值35条"
                                 "（敏感时期“全市重要会议”，阈值已收紧至70%）")


# ---------- the 设置 page ----------

APP = str(REPO_ROOT / "app.py")



def test_settings_page_edits_forms_validates_saves_and_shows_the_audit(app_db):
    with Store(app_db) as store:  # a value edited by hand: the page warns and shows the default
        store.execute([("INSERT INTO settings (key, value, updated_by) VALUES (?, ?, ?)",
                        ["mainstream_sites", json.dumps(["人民网", 7]), "手工"])])
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page(str(REPO_ROOT / "views" / "settings.py")).run()
    assert not at.exception, [e.message for e in at.exception]
    assert [w.value for w in at.warning] == [
        "设置“主流媒体站点”（mainstream_sites）的已保存值无效，已改用默认值：主流媒体站点（mainstream_sites）第2项必须是非空字符串，收到：7"]
    assert at.text_area(key="edit_mainstream_sites_0").value.splitlines() == list(config.MAINSTREAM_SITES)
    assert [s.value for s in at.subheader][:len(settings.REGISTRY)] == [s.label for s in settings.REGISTRY.values()]
    # Thresholds are number inputs with Chinese labels, units and ranges, not JSON with English keys.
    sites = at.number_input(key="edit_grading_thresholds_0_several_sites")
    assert (sites.label, sites.value, sites.min, sites.max) == ("传播站点数（二级，个）", 3, 1, 1000)
    assert at.radio(key="edit_default_tier_set_0").options == ["三级", "四级"]
    assert json.loads(at.text_area(key="edit_alert_targets_0").value) == []  # only JSON can say a target

    at.text_area(key="edit_mainstream_sites_0").input("人民网\n人民网")
    at.button(key="save_mainstream_sites").click().run()
    assert any("主流媒体站点（mainstream_sites）有重复项：人民网" in e.value for e in at.error)

    at.number_input(key="edit_grading_thresholds_0_several_sites").set_value(2)
    at.button(key="save_grading_thresholds").click().run()
    assert not at.exception and not at.error
    assert [s.value for s in at.success] == ["已保存“分级阈值”。"]
    assert at.number_input(key="edit_grading_thresholds_1_several_sites").value == 2
    changes = at.dataframe[-1].value
    assert changes.iloc[0][["actor", "action", "setting"]].tolist() == ["分析员", "修改", "分级阈值"]
    with Store(app_db) as store:
        assert settings.policy(store).thresholds == GradingThresholds(several_sites=2)

    at.button(key="reset_grading_thresholds").click().run()
    assert [s.value for s in at.success] == ["“分级阈值”已恢复默认值。"]
    with Store(app_db) as store:
        assert settings.policy(store).thresholds == GradingThresholds()


def test_settings_page_imports_all_settings_as_json_only_when_all_of_it_is_valid(app_db):
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page(str(REPO_ROOT / "views" / "settings.py")).run()
    with Store(app_db) as store:
        exported = json.loads(settings.export_all(store))
    assert set(exported) == set(settings.REGISTRY)
    at.text_area(key="import_text").input(json.dumps(exported | {"default_tier_set": "四级", "mainstream_sites": 3}))
    at.button[-1].click().run()
    assert any("主流媒体站点（mainstream_sites）必须是字符串列表" in e.value for e in at.error)
    with Store(app_db) as store:
        assert settings.policy(store).tier_set == "三级"  # nothing saved: one bad value refuses the whole document
    at.text_area(key="import_text").input(json.dumps(exported | {"default_tier_set": "四级"}))
    at.button[-1].click().run()
    assert [s.value for s in at.success] == ["已导入：默认分级体系"]
    assert at.radio(key="edit_default_tier_set_1").value == "四级"
    with Store(app_db) as store:
        assert settings.policy(store).tier_set == "四级"


def test_forms_round_trip_every_setting_and_read_table_edits():
    for key, setting in settings.REGISTRY.items():
        default = setting.default()
        assert settings.from_form(key, settings.to_form(key, default)) == default, key
    # What st.data_editor hands back: dates as dates or Timestamps, an added blank row, a half-filled row.
    rows = [{"name": "国庆节", "start": pd.Timestamp("2026-09-29"), "end": pd.Timestamp("2026-10-08").date(),
             "factor": 0.7},
            {"name": None, "start": pd.NaT, "end": None, "factor": float("nan")},
            {"name": "两会", "start": None, "end": None, "factor": 0.5}]
    assert settings.from_form("sensitive_periods", rows)[0] == {"name": "国庆节", "start": "2026-09-29",
                                                                "end": "2026-10-08", "factor": 0.7}
    assert len(settings.from_form("sensitive_periods", rows)) == 2  # the blank row is dropped …
    errors = settings.REGISTRY["sensitive_periods"].validate(settings.from_form("sensitive_periods", rows))
    assert errors == ["敏感时期（sensitive_periods）第2项的开始日期（start）应为 YYYY-MM-DD 格式的日期，收到：None",
                      "敏感时期（sensitive_periods）第2项的结束日期（end）应为 YYYY-MM-DD 格式的日期，收到：None"]


def test_a_setting_declared_without_a_form_gets_one_from_its_default(monkeypatch):
    plain = settings.Setting("tick_seconds", "服务周期", "调度间隔", lambda: 60, lambda v: [])
    nested = settings.Setting("schedule", "简报计划", "", lambda: {"weekday": 1, "time": "08:30"}, lambda v: [])
    targets = settings.REGISTRY["alert_targets"]
    monkeypatch.setitem(settings.REGISTRY, "tick_seconds", plain)
    monkeypatch.setitem(settings.REGISTRY, "schedule", nested)
    assert settings.form_of("tick_seconds") == settings.Form("value", (settings.Field("value", "服务周期", "int"),))
    assert [(f.key, f.kind) for f in settings.form_of("schedule").fields] == [("weekday", "int"), ("time", "text")]
    assert settings.form_of(targets.key) is None
    assert settings.from_form("tick_seconds", 90.0) == 90


# ---------- the dashboard's DuckDB memory limit ----------

def test_dashboard_memory_limit_defaults_and_follows_the_environment(monkeypatch):
    monkeypatch.delenv(config.DASHBOARD_MEMORY_LIMIT_ENV_VAR, raising=False)
    assert config.dashboard_memory_limit() == config.DASHBOARD_MEMORY_LIMIT == "256MB"
    monkeypatch.setenv(config.DASHBOARD_MEMORY_LIMIT_ENV_VAR, " 1GB ")
    assert config.dashboard_memory_limit() == "1GB"
    monkeypatch.setenv(config.DASHBOARD_MEMORY_LIMIT_ENV_VAR, "lots")
    with pytest.raises(ValueError, match=config.DASHBOARD_MEMORY_LIMIT_ENV_VAR):
        config.dashboard_memory_limit()


def test_deadlines_are_a_setting_the_clocks_and_briefings_follow(two_site_store):
    store = two_site_store
    assert settings.policy(store).deadlines == grading.DEADLINES
    incident_id = inc.create_incident(store, "小区停水", ["p1", "p2"], actor="a")
    inc.grade_incident(store, incident_id, at=ts("2026-11-18 12:00"))  # 三级: 报送 within 24 hours
    due = inc.deadline_clocks(store, now=ts("2026-11-18 12:00")).set_index("step").loc["报送", "deadline_at"]
    assert due == ts("2026-11-19 09:00")
    custom = [{**item, "minutes": 60} if item["label"] == "报送（24小时内）" else item
              for item in settings.get(store, "deadlines")]
    settings.save(store, "deadlines", custom, actor="科长甲")
    clocks = inc.deadline_clocks(store, now=ts("2026-11-18 12:00")).set_index("step")
    assert clocks.loc["报送", "deadline_at"] == ts("2026-11-18 10:00") and clocks.loc["报送", "is_overdue"]
    assert inc.kpis(store, ts("2026-11-18 00:00"), ts("2026-11-19 00:00"), now=ts("2026-11-18 12:00"))["overdue"] == 1
    bad = [{**custom[0], "step": "喝茶", "minutes": 0, "hard_minutes": -1}]
    with pytest.raises(ValueError, match="完成环节（step）.*目标时限（minutes）应为正整数"):
        settings.save(store, "deadlines", bad, actor="a")


def test_briefing_and_metrics_use_the_offices_mainstream_sites(two_site_store):
    from analysis import briefing, metrics
    from analysis.filters import Filters

    store = two_site_store
    period = Filters(pd.Timestamp("2026-11-18").date(), pd.Timestamp("2026-11-18").date())
    incident_id = inc.create_incident(store, "小区停水", ["p1", "p2"], actor="a")
    assert metrics.spread(store, period, settings.policy(store).mainstream_sites).iloc[0]["mainstream_posts"] == 0
    assert dict(briefing.build_incident(store, incident_id).table("spread").rows)["主流媒体"] == "无"
    settings.save(store, "mainstream_sites", ["金城日报"], actor="a")
    sites = settings.policy(store).mainstream_sites
    assert metrics.spread(store, period, sites).iloc[0]["mainstream_sites"] == ["金城日报"]
    assert dict(briefing.build_incident(store, incident_id).table("spread").rows)["主流媒体"] == "金城日报"
