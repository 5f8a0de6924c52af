"""Alert rules from forms and from the CLI: the registry's form on the 预警 page creates, previews (the same
evaluation as live), edits, disables and deletes rules on a fresh database holding an office's own export."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from analysis import alerts
from analysis.alerts import forms
from analysis.store import Store
from tests import own_data
from tests.conftest import REPO_ROOT

APP = str(REPO_ROOT / "app.py")
TIMEOUT = 120
FOOD_WORDS = ["吃出", "苍蝇", "变质", "拉肚子", "恶心", "难吃"]


@pytest.fixture(scope="module")
def own_db(tmp_path_factory):
    return own_data.imported_export(tmp_path_factory.mktemp("own_rules"))


@pytest.fixture()
def db(own_db, tmp_path):
    path = tmp_path / "own.duckdb"
    shutil.copy(own_db[0], path)
    return path


def test_every_default_rule_survives_its_form():
    dimensions = {"topic": ["食品药品"], "channel": ["微博"], "region": ["北京"]}
    for rule in alerts.DEFAULT_RULES:
        shown = {f.key: f.value for f in forms.fields(rule.kind, rule.params, dimensions)}
        back = forms.params_from_form(rule.kind, shown)
        kind = alerts.REGISTRY[rule.kind]
        assert kind.resolve(back) == kind.resolve(rule.params), rule.rule_id
        assert set(back) <= set(rule.params)  # defaults are not written into the rule


def test_form_fields_are_typed_labelled_and_pick_from_the_data():
    by_key = {f.key: f for f in forms.fields("threshold", {"scope": "channel"}, {"channel": ["微博", "贴吧"]})}
    assert by_key["metric"].widget == "select" and by_key["metric"].options["negative_ratio"] == "负面占比"
    assert by_key["values"].widget == "multiselect" and list(by_key["values"].options) == ["微博", "贴吧"]
    assert by_key["window_minutes"].label == "统计窗口（分钟）" and by_key["window_minutes"].widget == "int"
    assert by_key["min_posts"].value == 1 and by_key["severity"].options[""] == "默认（中）"
    assert "values" not in {f.key for f in forms.fields("threshold", {"scope": "all"}, {})}
    assert forms.params_from_form("keyword", {"words": "吃出\n苍蝇、变质", "min_count": 3.0}) == {
        "words": ["吃出", "苍蝇", "变质"], "min_count": 3}
    with pytest.raises(ValueError, match=r"检测参数（params.overrides）不是有效的 JSON：第1行第2列"):
        forms.params_from_form("spike", {"overrides": "{x"})


def test_cli_rules_add_edit_disable_delete_with_json_out(db, capsys):
    args = ["--db", str(db), "--json"]
    assert alerts.cli_alerts(["rules", "add", "--kind", "keyword", "--name", "本县食品安全投诉",
                              "--params", json.dumps({"words": FOOD_WORDS, "min_count": 3}), *args]) == 0
    added = json.loads(capsys.readouterr().out)
    assert added["rule_id"] == "keyword_1" and added["name"] == "本县食品安全投诉" and added["enabled"]
    assert alerts.cli_alerts(["rules", "edit", "keyword_1", "--params", '{"min_count": 5}', "--cooldown", "30",
                              *args]) == 0
    edited = json.loads(capsys.readouterr().out)
    assert edited["params"] == {"words": FOOD_WORDS, "min_count": 5} and edited["cooldown_minutes"] == 30
    assert alerts.cli_alerts(["rules", "disable", "keyword_1", *args]) == 0
    assert json.loads(capsys.readouterr().out)["enabled"] is False
    assert alerts.cli_alerts(["rules", "edit", "keyword_1", "--params", '{"min_count": 0}', *args]) == 2
    assert "最少命中条数（params.min_count）必须是正整数" in capsys.readouterr().err
    assert alerts.cli_alerts(["rules", "delete", "keyword_1", *args]) == 0
    assert json.loads(capsys.readouterr().out) == {"deleted": "keyword_1", "name": "本县食品安全投诉"}
    assert alerts.cli_alerts(["rules", "enable", "keyword_1", *args]) == 2
    assert alerts.cli_alerts(["rules", "list", *args]) == 0
    assert "keyword_1" not in {r["rule_id"] for r in json.loads(capsys.readouterr().out)}
    with Store(db) as store:
        actions = store.query("SELECT action FROM audit_log WHERE target = 'keyword_1' ORDER BY audit_id")
    assert actions["action"].tolist() == ["rule.create", "rule.update", "rule.disable", "rule.delete"]


def _widget(widgets, label):
    return next(w for w in widgets if w.label == label)


def test_rule_created_previewed_disabled_and_deleted_on_the_alerts_page(db, monkeypatch, own_db):
    clock = own_db[1]
    monkeypatch.setenv("OPINION_DB", str(db))
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.switch_page(str(REPO_ROOT / "views" / "alerts.py")).run()
    _widget(at.selectbox, "规则类型").set_value("keyword").run()
    _widget(at.text_input, "名称").set_value("本县食品安全投诉")
    _widget(at.text_area, "关键词").set_value("\n".join(FOOD_WORDS))
    _widget(at.selectbox, "统计范围（选填）").set_value("topic").run()
    values = _widget(at.multiselect, "范围取值（选填）")
    assert "食品药品" in values.options
    values.set_value(["食品药品"])
    _widget(at.number_input, "最少命中条数（选填）").set_value(3)
    _widget(at.button, "回测预览").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    expected = alerts.Rule("new", "本县食品安全投诉", "keyword",
                           {"words": FOOD_WORDS, "min_count": 3, "scope": "topic", "values": ["食品药品"]})
    shown = at.dataframe[-1].value
    with Store(db) as store:
        end = pd.Timestamp.now(tz="Asia/Shanghai")
        preview = alerts.backtest(store, [expected], end - pd.Timedelta(days=30), end)
    assert len(shown) == len(preview) > 0 and shown["message"].tolist() == preview["message"].tolist()

    _widget(at.button, "保存规则").click().run()
    assert not at.exception
    with Store(db) as store:
        saved = alerts.get_rule(store, "keyword_1")
        assert saved.name == "本县食品安全投诉" and saved.params == expected.params and saved.enabled
        fired = alerts.run(store, clock)
    assert "本县食品安全投诉" in {a.rule_name for a in fired}

    at.run()
    _widget(at.selectbox, "规则").set_value("keyword_1").run()
    assert _widget(at.text_input, "名称").value == "本县食品安全投诉"
    log = at.dataframe[0].value
    assert "本县食品安全投诉" in set(log["rule_name"]) and "keyword_1" not in set(log["rule_name"])
    _widget(at.button, "停用").click().run()
    with Store(db) as store:
        assert not alerts.get_rule(store, "keyword_1").enabled
    _widget(at.checkbox, "确认删除").check().run()
    _widget(at.button, "删除规则").click().run()
    assert not at.exception
    with Store(db) as store:
        assert alerts.get_rule(store, "keyword_1") is None
        kept = alerts.list_alerts(store, rule_id="keyword_1")
    assert len(kept) > 0 and set(kept["rule_name"]) == {"本县食品安全投诉"}  # the log keeps the name
    st.cache_resource.clear()
