"""Every page rendered by Streamlit's AppTest on the real demo database."""

from __future__ import annotations

import dataclasses

import streamlit as st
from streamlit.testing.v1 import AppTest

import ui
from analysis import corrections, explore, incidents, metrics, settings
from analysis.filters import Filters
from analysis.store import Store
from tests.conftest import REPO_ROOT

APP = str(REPO_ROOT / "app.py")
TIMEOUT = 120  # a cold import of jieba/plotly on a 2-core machine is slow; warm renders take well under 1 s



def run_app(page: str | None = None, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(str(REPO_ROOT / "views" / page)).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def metric_values(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_overview_shows_the_numbers_the_analysis_computes(app_db):
    at = run_app()
    with Store(app_db) as store:
        latest = metrics.latest_day(store)
        expected = metrics.headline(store, Filters.from_query_params({}, latest)).current
    shown = metric_values(at)
    assert shown["发帖量"] == ui.fmt_count(expected["posts"])
    assert shown["负面占比"] == ui.fmt_pct(expected["negative_ratio"])
    assert shown["原创"] == ui.fmt_count(expected["originals"])
    assert len(at.get("plotly_chart")) == 3
    assert at.query_params["to"] == latest.isoformat()


def test_channel_filter_from_the_link_changes_the_numbers(app_db):
    everything = metric_values(run_app())["发帖量"]
    only_hotline = run_app(channel="12345热线")
    assert metric_values(only_hotline)["发帖量"] != everything
    assert only_hotline.sidebar.multiselect[0].value == ["12345热线"]


def test_hostile_link_renders_safely(app_db):
    at = run_app(channel="微博' OR 1=1 --", **{"from": "<script>alert(1)</script>", "grain": "x;DROP TABLE posts"})
    assert metric_values(at)["发帖量"]  # the page renders with defaults
    with Store(app_db) as store:
        assert store.scalar("SELECT count(*) FROM posts") > 0


def test_empty_database_explains_how_to_get_data(tmp_path, monkeypatch):
    monkeypatch.setenv("OPINION_DB", str(tmp_path / "empty.duckdb"))
    st.cache_data.clear()
    st.cache_resource.clear()
    at = run_app()
    assert any("暂无数据" in info.value for info in at.info)
    st.cache_resource.clear()


def latest_filters(app_db) -> Filters:
    with Store(app_db) as store:
        return Filters.from_query_params({}, metrics.latest_day(store))


def test_overview_kpis_and_open_incidents_match_the_workflow(app_db):
    at = run_app()
    shown = metric_values(at)
    f = latest_filters(app_db)
    with Store(app_db) as store:
        kpi = incidents.kpis(store, f.start_ts, f.end_ts)
        board = incidents.open_board(store)
    assert shown["事件数"] == str(kpi["incidents"]) and kpi["incidents"] == 4
    assert shown["化解率"] == ui.fmt_pct(kpi["resolution_rate"])
    assert any(f"处置中的事件（{len(board)}）" in m.value for m in at.markdown)


def test_heatmap_cell_link_lists_exactly_the_posts_behind_it(app_db):
    with Store(app_db) as store:  # the explosion's day: the demo is dated relative to today
        day = str(store.scalar("SELECT CAST(created_at AS DATE) FROM posts WHERE topic = '安全生产' "
                               "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"))
    at = run_app("heatmap.py", kind="topic_day", measure="negative_ratio", row="安全生产", col=day)
    assert at.radio[0].value == "topic_day" and at.radio[1].value == "negative_ratio"
    with Store(app_db) as store:
        expected = explore.posts(store, latest_filters(app_db), cell=("topic_day", "安全生产", day))
    assert len(expected) > 100
    table = at.dataframe[0].value
    assert len(table) == len(expected) and set(table["post_id"]) == set(expected["post_id"])


def test_topic_page_keyword_posts_and_cascade(app_db):
    with Store(app_db) as store:
        root = store.scalar("SELECT root_id FROM posts WHERE topic = '食品药品' AND post_type = 'repost' "
                            "GROUP BY root_id ORDER BY count(*) DESC LIMIT 1")
        tree = explore.cascade_tree(store, root)
    at = run_app("topic.py", t="食品药品", q="食堂", post=root)
    assert at.selectbox[0].value == "食品药品" and at.text_input[0].value == "食堂"
    post_table = next(d.value for d in at.dataframe if "title" in d.value.columns)  # not 网民主要观点's table
    assert all("食堂" in (row.text + str(row.title)) for row in post_table.itertuples())
    shown = metric_values(at)
    assert shown["规模"] == f"{len(tree):,}" and int(shown["深度"]) >= 5
    scoped = dataclasses.replace(latest_filters(app_db), topics=("食品药品",))
    with Store(app_db) as store:
        now = metrics.headline(store, scoped).current
    assert [shown[k] for k in ("原创", "转发", "评论 / 跟帖", "覆盖站点")] == [
        f"{now[k]:,}" for k in ("originals", "reposts", "comments", "sites")]  # whole numbers, not 1,227.0
    with Store(app_db) as store:
        reach = metrics.spread(store, scoped, settings.policy(store).mainstream_sites).iloc[0]
    line = next(c.value for c in at.caption if c.value.startswith("传播："))
    assert f"{reach['channels']}类渠道、{reach['sites']}个站点" in line and f"（{reach['mainstream_posts']}条）" in line


def test_incident_page_records_events_and_refuses_bad_ones(app_db):
    with Store(app_db) as store:  # the rumour, still being handled; ids carry the demo's dates
        incident_id = store.scalar("SELECT incident_id FROM incidents WHERE title LIKE '%谣言%'")
    at = run_app("incidents.py", incident=incident_id)
    assert metric_values(at)["当前定级"] == "二级"
    step_box = next(b for b in at.selectbox if b.label == "环节")
    step_box.set_value("处置")
    next(t for t in at.text_area if t.label == "说明").set_value("涉事学校食堂停业自查")
    next(b for b in at.button if b.label == "记录").click()
    at.run()
    assert not at.exception
    with Store(app_db) as store:
        steps = incidents.events(store, incident_id)["step"].tolist()
    assert steps[-1] == "处置" or "处置" in steps

    next(b for b in at.selectbox if b.label == "环节").set_value("归档")
    next(b for b in at.button if b.label == "记录").click()
    at.run()
    assert any("须先完成" in e.value for e in at.error)
    next(b for b in at.button if b.label == "调整定级").click()
    at.run()
    assert any("须填写理由" in e.value for e in at.error)


def test_alerts_page_lists_the_log_and_validates_rules(app_db):
    at = run_app("alerts.py", state="all")
    with Store(app_db) as store:
        total = store.scalar("SELECT count(*) FROM alerts")
    assert len(at.dataframe[0].value) == total > 0
    next(s for s in at.selectbox if s.label == "规则").set_value("topic_spike").run()
    params = next(t for t in at.text_area if t.label == "检测参数（选填）（JSON）")
    params.set_value("{not json")
    next(b for b in at.button if b.label == "回测预览").click()
    at.run()
    assert any("不是有效的 JSON" in e.value for e in at.error)


def test_corrections_and_import_pages_render(app_db):
    at = run_app("corrections.py")
    with Store(app_db) as store:
        accuracy = corrections.model_accuracy(store)
    assert metric_values(at)["已校正帖子"] == f"{accuracy['n']:,}"
    at = run_app("data_import.py")
    assert len(at.dataframe[0].value) >= 15  # freshness of every channel


def test_filters_survive_a_page_switch(app_db):
    at = run_app(channel="12345热线")
    hotline_posts = metric_values(at)["发帖量"]
    at.query_params.clear()  # page navigation drops the query string; the keyed sidebar widgets keep the filters
    at.switch_page(str(REPO_ROOT / "views" / "heatmap.py")).run()
    at.switch_page(str(REPO_ROOT / "views" / "overview.py")).run()
    assert at.sidebar.multiselect[0].value == ["12345热线"]
    assert metric_values(at)["发帖量"] == hotline_posts


def test_the_app_opens_its_store_under_the_configured_memory_limit(app_db, monkeypatch):
    monkeypatch.setenv("OPINION_DASHBOARD_MEMORY_LIMIT", "300MiB")
    run_app()
    assert ui.store().scalar("SELECT current_setting('memory_limit')") == "300.0 MiB"


def _reads_writes_and_reads_again():
    import streamlit as st

    import ui
    from analysis import settings

    ui.sync()
    first = len(ui.cached(settings.history, 50))
    again = len(ui.cached(settings.history, 50))
    if st.session_state.get("write"):
        settings.save(ui.store(), "default_tier_set", "四级", "测试员")
    after = len(ui.cached(settings.history, 50))
    st.text(f"{first} {again} {after}")


def test_data_version_is_read_once_per_run_and_a_write_in_the_run_is_seen(app_db, monkeypatch):
    reads = []
    data_version = Store.data_version
    monkeypatch.setattr(Store, "data_version", lambda self: reads.append(1) or data_version(self))
    at = AppTest.from_function(_reads_writes_and_reads_again, default_timeout=TIMEOUT)
    at.run()
    first, again, after = map(int, at.text[0].value.split())
    assert first == again == after and len(reads) == 1
    at.session_state["write"] = True
    at.run()
    assert list(map(int, at.text[0].value.split())) == [first, first, first + 1]
    assert len(reads) == 3  # a new run reads it afresh; so does the read after the write


def test_import_page_shows_what_the_last_tick_did(app_db, tmp_path):
    from analysis import scheduler

    incoming = app_db.parent / "incoming"
    incoming.mkdir()
    (incoming / "late.csv").write_text("post_id,channel,text,created_at\n", encoding="utf-8")
    with Store(app_db) as store:  # a tick without the service (as `python -m analysis serve` would run one)
        settings.save(store, "service", {"backup_at": "00:00"}, actor="test")  # due whatever the hour
        scheduler.run_tick(store, steps=tuple(s for s in scheduler.STEPS if s[0] != "incoming"))
    at = run_app("data_import.py")
    values = metric_values(at)
    assert values["值守服务"] == "未运行" and values["上次巡检"] != "—"
    steps = at.dataframe[-1].value
    assert list(steps["step"]) == [label for _, label, _ in scheduler.STEPS]
    assert steps.set_index("step").loc["评估预警规则", "result"].startswith("新预警")
    assert steps.set_index("step").loc["数据库备份", "result"].startswith("已备份：app-")  # the tick's nightly copy
    assert any("待导入 1 个：late.csv" in c.value for c in at.caption)
    assert any("共 1 份，最新 app-" in c.value and "analysis restore" in c.value for c in at.caption)


def test_every_table_on_every_page_shows_missing_values_empty(app_db):
    """Canvas-drawn tables say "None" for a missing value unless told otherwise (the browser test cannot read it)."""
    with Store(app_db) as store:
        day = str(metrics.latest_day(store))
    tables = 0
    for page, query in [("overview.py", {}), ("incidents.py", {}), ("heatmap.py", {"row": "食品药品", "col": day}),
                        ("topic.py", {}), ("alerts.py", {"state": "all"}), ("corrections.py", {}),
                        ("data_import.py", {}), ("settings.py", {}), ("schemes.py", {})]:
        at = run_app(page, **query)
        for table in at.dataframe:
            assert table.proto.HasField("placeholder") and table.proto.placeholder == "", (page, table.key)
        tables += len(at.dataframe)
    assert tables >= 10
