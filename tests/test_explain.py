"""Explained spikes: the weighted log-odds against an independent computation, and on a planted burst in an
office's own export, an explanation that names the planted terms, the channels and sites it came from and
three posts of the burst; the same explanation in the stored alert, the webhook text and the 预警 page."""

from __future__ import annotations

import math
import shutil

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from analysis import alerts, delivery, explain, topics
from analysis.store import Store
from tests import own_data
from tests.conftest import REPO_ROOT

FOOD_WORDS = set(topics.TOPIC_KEYWORDS["食品药品"])  # the burst's posts were picked for containing one of them


@pytest.fixture(scope="module")
def own_db(tmp_path_factory):
    return own_data.imported_export(tmp_path_factory.mktemp("own_explain"))


def test_weighted_log_odds_is_monroes_formula_with_the_pooled_prior():
    window, baseline = {"苍蝇": 30, "天气": 5}, {"苍蝇": 2, "天气": 60, "交通": 20}
    got = explain.weighted_log_odds(window, baseline).set_index("term")["z"]
    n, m = 35, 82
    a0 = n + m
    for term in ("苍蝇", "天气", "交通"):
        y, b = window.get(term, 0), baseline.get(term, 0)
        a = a0 * (y + b) / (n + m)
        delta = math.log((y + a) / (n + a0 - y - a)) - math.log((b + a) / (m + a0 - b - a))
        assert got[term] == pytest.approx(delta / math.sqrt(1 / (y + a) + 1 / (b + a)))
    assert got["苍蝇"] > 3 > 0 > got["天气"]


def test_a_planted_burst_is_explained_by_its_terms_channels_sites_and_posts(own_db):
    db, clock = own_db
    hour = own_data.burst_hour(clock)
    with Store(db) as store:
        found = explain.explain(store, {}, hour, hour + pd.Timedelta(hours=1))  # all posts: nothing given away
        sites = ", ".join("?" for _ in own_data.BURST_SITES)
        burst_ids = set(store.query(
            f"SELECT post_id FROM posts WHERE created_at >= ? AND created_at < ? AND site IN ({sites})",
            [hour.to_pydatetime(), (hour + pd.Timedelta(hours=1)).to_pydatetime(), *own_data.BURST_SITES])["post_id"])
        burst_channels = set(store.query(f"SELECT DISTINCT channel FROM posts WHERE site IN ({sites})",
                                         list(own_data.BURST_SITES))["channel"])
    terms = [t.term for t in found.terms]
    assert len(terms) >= 2 and set(terms) <= FOOD_WORDS, terms
    assert all(t.z >= explain.Z_MIN and t.posts >= explain.MIN_TERM_POSTS for t in found.terms)
    assert found.posts == own_data.BURST_POSTS and found.baseline_scope == "同范围"  # the hour holds the burst only
    assert found.sites and {s.value for s in found.sites} <= set(own_data.BURST_SITES)
    assert all(s.share > s.baseline_share for s in found.sites + found.channels)
    assert found.channels[0].value in burst_channels
    assert len(found.examples) == 3 and {e.post_id for e in found.examples} <= burst_ids
    assert len({e.site for e in found.examples}) == 3
    assert all(any(w in e.excerpt for w in FOOD_WORDS) for e in found.examples)
    summary = found.summary()
    assert f"“{terms[0]}”" in summary and found.examples[0].post_id in summary


def test_the_alert_its_webhook_and_the_alerts_page_carry_the_explanation(own_db, tmp_path, monkeypatch):
    db = tmp_path / "own.duckdb"
    shutil.copy(own_db[0], db)
    with Store(db) as store:
        fired = alerts.run(store, own_db[1])
        logged = alerts.list_alerts(store).set_index("alert_id")
    spike = next(a for a in fired if a.rule_id == "topic_spike" and a.subject == "食品药品")
    why = spike.details["explanation"]
    assert why["terms"] and {t["term"] for t in why["terms"]} <= FOOD_WORDS
    assert logged.loc[spike.alert_id, "details"]["explanation"] == why  # stored with the alert
    text = delivery.webhook_payload({"type": "wecom", "format": "text"}, [spike])["text"]["content"]
    assert "成因：主要词语" in text and why["terms"][0]["term"] in text

    monkeypatch.setenv("OPINION_DB", str(db))
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page(str(REPO_ROOT / "views" / "alerts.py")).run()
    picker = next(s for s in at.selectbox if s.label == "处理预警")
    picker.set_value(next(o for o in picker.options if o.startswith(f"#{spike.alert_id} "))).run()
    assert not at.exception
    assert why["summary"] in [t.value for t in at.text]
    examples = next(d for d in at.dataframe if "post_id" in d.value.columns and "excerpt" in d.value.columns)
    assert examples.value["post_id"].tolist() == [e["post_id"] for e in why["examples"]]
    st.cache_resource.clear()


def test_an_incident_opened_from_the_burst_is_explained_by_its_own_posts(own_db, tmp_path):
    from analysis import incident_intake

    db = tmp_path / "own.duckdb"
    shutil.copy(own_db[0], db)
    with Store(db) as store:
        spike = next(a for a in alerts.run(store, own_db[1]) if a.rule_id == "topic_spike")
        opened = incident_intake.open_from_alert(store, spike.alert_id, "值班员")
        found = explain.explain_incident(store, opened.incident_id)
        members = set(store.query("SELECT post_id FROM incident_posts WHERE incident_id = ?",
                                  [opened.incident_id])["post_id"])
        assert explain.explain_incident(store, "INC-none") is None
    assert found.posts == len(members) and {e.post_id for e in found.examples} <= members
    assert len(found.terms) >= 2 and {t.term for t in found.terms} <= FOOD_WORDS


def test_the_incident_page_and_its_report_carry_the_incidents_explanation(own_db, tmp_path, monkeypatch):
    from analysis import briefing, incident_intake

    db = tmp_path / "own.duckdb"
    shutil.copy(own_db[0], db)
    with Store(db) as store:
        spike = next(a for a in alerts.run(store, own_db[1]) if a.rule_id == "topic_spike")
        incident_id = incident_intake.open_from_alert(store, spike.alert_id, "值班员").incident_id
        why = explain.explain_incident(store, incident_id)
        report = briefing.build_incident(store, incident_id)
    assert why.summary() in "".join(getattr(block, "text", "") for block in report.blocks)

    monkeypatch.setenv("OPINION_DB", str(db))
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=120)
    at.query_params["incident"] = incident_id
    at.run()
    at.switch_page(str(REPO_ROOT / "views" / "incidents.py")).run()
    assert not at.exception
    assert why.summary() in [t.value for t in at.text]
    examples = next(d for d in at.dataframe if list(d.value.columns) == ["post_id", "created_at", "site", "excerpt"])
    assert examples.value["post_id"].tolist() == [e.post_id for e in why.examples]
    st.cache_resource.clear()
