"""From an office's own export (real posts from ../shared/data, no demo) to a graded incident with running clocks,
proposals, growth, merges and dismissals; and every page on every kind of database."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from analysis import alerts, chronology, incident_edits, incident_intake, incidents, settings
from analysis.__main__ import main
from analysis.store import Store
from tests import own_data
from tests.conftest import REPO_ROOT

APP = str(REPO_ROOT / "app.py")
TIMEOUT = 120
TZ = "Asia/Shanghai"
PAGES = ("overview.py", "incidents.py", "briefing.py", "heatmap.py", "topic.py", "alerts.py", "corrections.py",
         "data_import.py", "settings.py", "schemes.py")


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analysis", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def clock() -> pd.Timestamp:
    """When the rules run: five minutes into the hour after the burst."""
    return own_data.rule_clock()


@pytest.fixture(scope="module")
def own_db(tmp_path_factory, clock) -> dict:
    """A fresh database (no demo) holding the office's export, imported through the real CLI path."""
    folder = tmp_path_factory.mktemp("own")
    export = folder / "舆情导出.csv"
    frame = own_data.write_export(export, clock)
    db = folder / "own.duckdb"
    assert main(["ingest", str(export), "--db", str(db)]) == 0
    return {"db": db, "export": export, "rows": len(frame)}


@pytest.fixture(scope="module")
def own_db_with_incident(own_db, tmp_path_factory, clock) -> dict:
    """The same data after the default rules ran and the duty analyst opened the incident from the alert."""
    db = tmp_path_factory.mktemp("own_with") / "own.duckdb"
    shutil.copy(own_db["db"], db)
    with Store(db) as store:
        fired = alerts.run(store, clock)
        opened = incident_intake.open_from_alert(store, fired[0].alert_id, "值班员")
    return {"db": db, "incident_id": opened.incident_id, "alert_id": fired[0].alert_id}


def copy_of(path, tmp_path):
    target = tmp_path / "copy.duckdb"
    shutil.copy(path, target)
    return target


# -- the import ------------------------------------------------------------------------------------------------
def test_site_names_map_to_channels_and_nothing_is_quarantined_for_an_unknown_site(own_db):
    with Store(own_db["db"]) as store:
        assert store.scalar("SELECT count(*) FROM quarantine") == 0
        assert store.scalar("SELECT count(*) FROM posts") == own_db["rows"]
        channels = dict(store.query("SELECT site, any_value(channel) AS channel FROM posts GROUP BY site")
                        .itertuples(index=False))
    assert channels["网易新闻"] == "新闻" and channels["百度贴吧"] == "贴吧" and channels["微信"] == "微信公众号"
    assert channels["快手"] == "快手" and channels["本地论坛"] == "论坛" and channels["weibo.com"] == "微博"
    assert channels["https://tieba.baidu.com/p/1"] == "贴吧"
    assert channels["某某资讯站"] == "其他"  # kept as its site


def test_a_new_database_has_the_default_rules(own_db):
    with Store(own_db["db"]) as store:
        assert {r.rule_id for r in alerts.load_rules(store, enabled_only=True)} == {
            r.rule_id for r in alerts.DEFAULT_RULES}


# -- the whole path through the CLI ---------------------------------------------------------------------------
def test_cli_from_export_to_graded_incident_with_running_clocks(own_db, tmp_path, clock):
    db = str(copy_of(own_db["db"], tmp_path))
    hour = own_data.burst_hour(clock)
    spikes = cli("spikes", "--db", db, "--json")
    assert spikes.returncode == 0, spikes.stderr
    found = [json.loads(line) for line in spikes.stdout.splitlines()]
    assert any(s["key"] == "食品药品" and pd.Timestamp(s["start"]) == hour for s in found)
    run = cli("alerts", "run", "--now", clock.isoformat(), "--json", "--db", db)
    assert run.returncode == 0, run.stderr
    spike_alert = next(a for a in json.loads(run.stdout)["new"] if a["rule_id"] == "topic_spike")
    assert spike_alert["subject"] == "食品药品"

    opened = cli("incidents", "open", "--from-alert", str(spike_alert["alert_id"]), "--json", "--db", db)
    assert opened.returncode == 0, opened.stderr
    assert "NaN" not in opened.stdout and "NaT" not in opened.stdout
    incident = json.loads(opened.stdout)
    assert incident["incident_id"].startswith("INC-") and incident["status"] == "处置中"
    assert incident["posts"] >= own_data.BURST_POSTS * 0.9
    assert incident["grade"] in ("一级", "二级") and incident["reasons"]
    assert any("个站点传播" in r for r in incident["reasons"])
    assert [e["step"] for e in incident["events"]] == ["监测发现"]
    running = [d for d in incident["deadlines"] if d["status"] in ("进行中", "已逾期")]
    assert running and all(d["done_at"] is None for d in running)
    assert {m["milestone"] for m in incident["chronology"]} >= {"首发", "传播峰值", "扩散至新渠道"}

    shown = cli("incidents", "show", incident["incident_id"], "--json", "--db", db)  # options after the sub-command
    assert shown.returncode == 0, shown.stderr
    # The same deadlines (their status may tick over between the two commands: compare what cannot move).
    assert [(d["label"], d["due_at"], d["hard_due_at"]) for d in json.loads(shown.stdout)["deadlines"]] == [
        (d["label"], d["due_at"], d["hard_due_at"]) for d in incident["deadlines"]]
    listed = cli("incidents", "list", "--json", "--db", db)
    assert listed.returncode == 0 and "NaN" not in listed.stdout and "NaT" not in listed.stdout
    assert [r["incident_id"] for r in json.loads(listed.stdout)] == [incident["incident_id"]]
    assert cli("incidents", "--json", "list", "--db", db).stdout == listed.stdout
    again = cli("incidents", "open", "--from-alert", str(spike_alert["alert_id"]), "--db", db)
    assert again.returncode == 1 and "已立案" in again.stderr
    with Store(db) as store:
        kpi = incidents.kpis(store, hour - pd.Timedelta(days=1), clock + pd.Timedelta(days=1))
        assert kpi["incidents"] == 1 and kpi["by_grade"] == {incident["grade"]: 1}
        assert alerts.list_alerts(store).set_index("alert_id").loc[spike_alert["alert_id"], "state"] == "acknowledged"


def test_show_json_deadlines_are_the_incident_pages_rows(demo_db, tmp_path):
    db = copy_of(demo_db, tmp_path)
    with Store(db) as store:
        rumour = store.scalar("SELECT incident_id FROM incidents WHERE title LIKE '%谣言%'")
    shown = cli("incidents", "show", rumour, "--json", "--db", str(db))
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert set(report) >= {"grade", "reasons", "deadlines", "posts", "events"}
    assert report["grade"] == "二级" and len(report["deadlines"]) == 2
    assert "NaN" not in shown.stdout and "NaT" not in shown.stdout


# -- the tick: proposals, attach, growth -----------------------------------------------------------------------
FOOD_RULE = alerts.Rule("food_words", "食品安全关键词", "keyword",
                        {"words": ["吃出", "苍蝇", "变质", "拉肚子", "恶心", "难吃"], "scope": "topic",
                         "min_count": 3, "window_minutes": 60, "severity": "high"}, cooldown_minutes=60)


def test_proposals_are_idempotent_and_a_second_burst_attaches(own_db, tmp_path, clock):
    with Store(copy_of(own_db["db"], tmp_path)) as store:
        alerts.save_rule(store, FOOD_RULE, "管理员")
        fired = alerts.run(store, clock)
        on_food = [a for a in fired if a.subject == "食品药品"]
        assert {a.rule_id for a in on_food} >= {"topic_spike", "food_words"}
        first = incident_intake.propose_incidents(store, clock)
        assert len(first.proposed) == 1 and len(first.attached) == len(on_food) - 1
        assert incident_intake.propose_incidents(store, clock).proposed == []  # the tick repeats: nothing new
        listed = incidents.list_incidents(store)
        assert listed["status"].tolist() == ["待确认"] and len(listed) == 1
        proposal = listed.iloc[0]
        assert proposal["grade"] and len(proposal["reasons"]) > 0
        assert set(store.query("SELECT incident_id FROM incident_sources")["incident_id"]) == {proposal["incident_id"]}
        board = incidents.open_board(store, clock)
        assert board["incident_id"].tolist() == [proposal["incident_id"]]  # clocks run while it waits
        incident_edits.confirm(store, proposal["incident_id"], "值班员", "已核实")
        assert incidents.list_incidents(store).iloc[0]["status"] == "处置中"
        assert incidents.events(store, proposal["incident_id"])["step"].tolist() == ["监测发现", "核实"]
        actions = store.query("SELECT action FROM audit_log WHERE target = ?", [proposal["incident_id"]])["action"]
        assert {"create_incident", "incident.attach", "incident.confirm", "incident_event"} <= set(actions)


def test_an_open_incident_grows_with_new_matching_posts_and_is_regraded(own_db_with_incident, tmp_path, clock):
    db = copy_of(own_db_with_incident["db"], tmp_path)
    incident_id = own_db_with_incident["incident_id"]
    later = clock + pd.Timedelta(minutes=20)
    follow_up = own_data.export_frame(clock + pd.Timedelta(hours=1), seed=9)
    follow_up = follow_up[pd.to_datetime(follow_up["发布时间"]) >= own_data.burst_hour(clock).tz_localize(None)
                          + pd.Timedelta(hours=1)]
    follow_up.assign(发布时间=[(clock + pd.Timedelta(minutes=i % 15)).strftime("%Y-%m-%d %H:%M:%S")
                             for i in range(len(follow_up))]).to_csv(tmp_path / "more.csv", index=False)
    assert main(["ingest", str(tmp_path / "more.csv"), "--db", str(db)]) == 0
    with Store(db) as store:
        before = incidents.list_incidents(store).set_index("incident_id").loc[incident_id, "posts"]
        grades_before = len(incidents.grade_history(store, incident_id))
        grown = incident_intake.grow_incidents(store, later)
        assert [g[0] for g in grown.grown] == [incident_id]
        joined = grown.grown[0][1]
        food = store.scalar("SELECT count(*) FROM posts WHERE topic = '食品药品' AND created_at >= ?",
                            [clock.to_pydatetime()])
        assert joined == food > 0
        assert incident_intake.grow_incidents(store, later).grown == []  # idempotent
        after = incidents.list_incidents(store).set_index("incident_id").loc[incident_id]
        assert after["posts"] == before + joined
        history = incidents.grade_history(store, incident_id)
        assert len(history) == grades_before + 1 and list(history.iloc[-1]["reasons"]) == list(after["reasons"])


def test_merge_keeps_both_histories_and_dismiss_stops_clocks_and_kpis(own_db_with_incident, tmp_path, clock):
    with Store(copy_of(own_db_with_incident["db"], tmp_path)) as store:
        target = own_db_with_incident["incident_id"]
        others = store.query("SELECT post_id FROM posts WHERE topic <> '食品药品' ORDER BY created_at DESC LIMIT 6")
        side = incident_intake.open_from_posts(store, "同一事件的另一条线索", others["post_id"].tolist()[:3], "分析员")
        extra = incident_intake.open_from_posts(store, "无关讨论", others["post_id"].tolist()[3:], "分析员")
        joined = incident_edits.merge(store, side.incident_id, target, "分析员", "同一事件")
        assert joined == 3
        listed = incidents.list_incidents(store).set_index("incident_id")
        assert listed.loc[side.incident_id, "status"] == "已合并" and listed.loc[side.incident_id, "posts"] == 3
        assert incidents.events(store, side.incident_id)["step"].tolist() == ["监测发现"]  # its history stays
        assert incidents.events(store, target)["note"].iloc[-1] == f"并入事件 {side.incident_id}：同一事件"
        with pytest.raises(ValueError, match="须填写理由"):
            incident_edits.dismiss(store, extra.incident_id, " ", "分析员")
        incident_edits.dismiss(store, extra.incident_id, "与本地无关的闲聊", "分析员")
        board = incidents.open_board(store)
        assert set(board["incident_id"]) == {target}
        assert set(incidents.deadline_clocks(store)["incident_id"]) == {target}
        kpi = incidents.kpis(store, clock - pd.Timedelta(days=9), clock + pd.Timedelta(days=1))
        assert kpi["incidents"] == 1
        with pytest.raises(ValueError, match="已作为误报排除"):
            incident_edits.add_posts(store, extra.incident_id, others["post_id"].tolist()[:1], "分析员")
        removed = incident_edits.remove_posts(store, target, others["post_id"].tolist()[:1], "分析员", "无关")
        assert removed == 1
        with pytest.raises(incidents.LifecycleError, match="须先完成"):
            incident_edits.close(store, target, "已处置完毕", "分析员")


def test_tickets_open_one_incident_on_the_reply_clock(own_db, tmp_path):
    rows = pd.DataFrame({"工单号": ["G1", "G2", "G3"], "来电时间": ["2026-11-28 09:00:00"] * 3,
                         "诉求内容": ["小区夜间施工噪音扰民", "夜里施工噪音太大", "工地噪音扰民严重"]})
    rows.to_csv(tmp_path / "tickets.csv", index=False)
    db = copy_of(own_db["db"], tmp_path)
    assert main(["ingest", str(tmp_path / "tickets.csv"), "--db", str(db)]) == 0
    with Store(db) as store:
        group = incident_intake.ticket_posts(store, "噪音")
        assert len(group) == 3
        opened = incident_intake.open_from_tickets(store, "夜间施工噪音", group["post_id"].tolist(), "分析员")
        clocks = incidents.incident_clocks(incidents.list_incidents(store).set_index("incident_id")
                                           .loc[opened.incident_id], incidents.events(store, opened.incident_id),
                                           pd.Timestamp.now(tz=TZ), settings.policy(store).deadlines)
        assert "信件/留言答复（3个工作日，最迟5日）" in clocks["label"].tolist()
        with pytest.raises(ValueError, match="不是信箱/留言板/热线工单"):
            incident_intake.open_from_tickets(store, "x", store.query(
                "SELECT post_id FROM posts WHERE channel = '微博' LIMIT 1")["post_id"].tolist(), "分析员")


def test_work_fields_and_chronology_reach_the_briefing(own_db_with_incident):
    from analysis import briefing

    incident_id = own_db_with_incident["incident_id"]
    with Store(own_db_with_incident["db"]) as store:
        incident_edits.set_work_fields(store, incident_id, "分析员", responsible_unit="市市场监管局",
                                       instruction="迅速核查", instruction_by="张副市长",
                                       instruction_at=pd.Timestamp("2026-11-20 14:30"),
                                       response_url="https://example.gov.cn/a", response_channel="政府网站",
                                       facts={"伤亡": "无人员伤亡"})
        with pytest.raises(ValueError, match="基本情况没有这些栏目"):
            incident_edits.set_work_fields(store, incident_id, "分析员", facts={"天气": "晴"})
        doc = briefing.build_incident(store, incident_id)
        milestones = chronology.chronology(incidents.incident_posts(store, incident_id),
                                           settings.policy(store).mainstream_sites)
    work = dict(doc.table("work").rows)
    assert work["承办单位"] == "市市场监管局" and work["领导批示"] == "迅速核查（张副市长，2026-11-20 14:30）"
    assert work["公开回应"] == "政府网站，https://example.gov.cn/a"
    assert ["伤亡", "无人员伤亡", "分析员填写"] in doc.table("facts").rows
    assert [r[0] for r in doc.table("chronology").rows] == milestones["milestone"].tolist()
    first = milestones.iloc[0]
    assert first["milestone"] == "首发" and first["site"] in own_data.BURST_SITES


# -- pages -----------------------------------------------------------------------------------------------------
@pytest.fixture(params=["empty", "own", "own_with_incidents", "demo"])
def any_db(request, tmp_path, monkeypatch):
    if request.param == "empty":
        path = tmp_path / "empty.duckdb"
    else:
        source = {"own": lambda: request.getfixturevalue("own_db")["db"],
                  "own_with_incidents": lambda: request.getfixturevalue("own_db_with_incident")["db"],
                  "demo": lambda: request.getfixturevalue("demo_db")}[request.param]()
        path = copy_of(source, tmp_path)
    monkeypatch.setenv("OPINION_DB", str(path))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield path
    st.cache_data.clear()
    st.cache_resource.clear()


def run_page(page: str, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(str(REPO_ROOT / "views" / page)).run()
    return at


def test_every_page_renders_on_every_kind_of_database(any_db):
    for page in PAGES:
        at = run_page(page)
        assert not at.exception, (page, [e.message for e in at.exception])


def test_topic_table_selection_opens_a_new_incident_page(own_db, tmp_path, monkeypatch):
    db = copy_of(own_db["db"], tmp_path)
    monkeypatch.setenv("OPINION_DB", str(db))
    st.cache_data.clear()
    st.cache_resource.clear()
    at = run_page("topic.py", t="食品药品")
    table = next(d for d in at.dataframe if "title" in d.value.columns)  # the post table, not a ranking above it
    chosen = table.value["post_id"].tolist()[:4]
    at.session_state["topic_posts"] = {"selection": {"rows": [0, 1, 2, 3], "columns": [], "cells": []}}
    at.run()
    next(t for t in at.text_input if t.label == "事件标题").set_value("外卖食品安全投诉")
    next(b for b in at.button if b.label == "新建事件").click()
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    with Store(db) as store:
        listed = incidents.list_incidents(store)
        posts = incidents.incident_posts(store, listed.iloc[0]["incident_id"])
    assert listed["title"].tolist() == ["外卖食品安全投诉"] and sorted(posts["post_id"]) == sorted(chosen)
    assert listed.iloc[0]["grade"] and listed.iloc[0]["history"] == ["监测发现"]
    assert at.query_params["incident"] == listed.iloc[0]["incident_id"]  # on 事件时间线, at the new incident
    assert {m.label: m.value for m in at.metric}["当前定级"] == listed.iloc[0]["grade"]
    st.cache_resource.clear()


def test_alert_page_opens_the_incident_and_the_incident_page_shows_it(own_db, tmp_path, monkeypatch, clock):
    db = copy_of(own_db["db"], tmp_path)
    with Store(db) as store:
        fired = [str(a.alert_id) for a in alerts.run(store, clock)]   # the page lists them newest first
    monkeypatch.setenv("OPINION_DB", str(db))
    st.cache_data.clear()
    st.cache_resource.clear()
    at = run_page("alerts.py", state="new")
    next(b for b in at.button if b.label == "立案").click()
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    with Store(db) as store:
        linked = [incident_intake.linked_incident(store, "alert", alert_id) for alert_id in fired]
        kpi = incidents.kpis(store, clock - pd.Timedelta(days=1), clock + pd.Timedelta(days=1))
    assert linked[-1] and not any(linked[:-1]), linked   # the first 立案 button is the newest alert's
    incident_id = linked[-1]
    assert kpi["incidents"] == 1
    page = run_page("incidents.py", incident=incident_id)
    assert not page.exception
    shown = {m.label: m.value for m in page.metric}
    assert shown["当前定级"] in ("一级", "二级") and shown["状态"] == "处置中"
    chronology_table = next(d for d in page.dataframe if "milestone" in d.value.columns)
    assert chronology_table.value["milestone"].iloc[0] == "首发"
    overview = run_page("overview.py")
    assert not overview.exception
    assert {m.label: m.value for m in overview.metric}["事件数"] == "1"
    st.cache_resource.clear()
