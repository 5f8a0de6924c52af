"""Every page rendered by Streamlit's AppTest on the real demo database."""

from __future__ import annotations

import shutil

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import ui
from analysis import metrics
from analysis.filters import Filters
from analysis.store import Store
from tests.conftest import REPO_ROOT

APP = str(REPO_ROOT / "app.py")
TIMEOUT = 120  # a cold import of jieba/plotly on a 2-core machine is slow; warm renders take well under 1 s


@pytest.fixture()
def app_db(demo_db, tmp_path, monkeypatch):
    """A private copy of the demo database, opened by the app under test."""
    path = tmp_path / "app.duckdb"
    shutil.copy(demo_db, path)
    monkeypatch.setenv("OPINION_DB", str(path))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield path
    st.cache_data.clear()
    st.cache_resource.clear()


def run_app(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
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
