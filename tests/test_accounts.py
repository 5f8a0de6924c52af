"""Accounts as publishers, from an office's own files on a fresh database: creator tables and account columns
imported through the CLI, every row accounted for, 认证/粉丝数 in the authors view and the 意见领袖 ranking over real
repost cascades; and the tick that precomputes the open incidents' 网民主要观点."""

from __future__ import annotations

import contextlib
import io
import json

import pandas as pd
import pytest

from analysis import config, media, opinions, scheduler, settings
from analysis.__main__ import main
from analysis.filters import Filters
from analysis.ingest import bulk, drain_inbox, ingest_files, prepare, queue_prepared
from analysis.ingest.accounts import verification_level
from analysis.ingest.layouts import detect_layout
from analysis.store import Store
from tests import own_data
from tests.conftest import SHARED_DATA

CASCADES = ("4826_zl1i55w1E_1691507817", "894_zov6Eb61A_2882625460")   # two real Weibo cascades, 179 posts
CREATOR_COLUMNS = ["user_id", "nickname", "gender", "avatar", "desc", "ip_location", "follows", "fans", "tag_list",
                   "last_modify_ts"]


@pytest.fixture(scope="module")
def cascade_posts() -> pd.DataFrame:
    frame = pd.read_csv(SHARED_DATA / "cascades_dev.csv.gz", dtype={"mid": str, "parent_mid": str})
    return frame[frame["cascade_id"].isin(CASCADES)].reset_index(drop=True)


@pytest.fixture(scope="module")
def own_db(tmp_path_factory, cascade_posts) -> dict:
    """A fresh database holding the cascades (our canonical export) and a MediaCrawler weibo_creator file."""
    folder = tmp_path_factory.mktemp("accounts")
    posts = pd.DataFrame({"post_id": cascade_posts["mid"], "parent_id": cascade_posts["parent_mid"],
                          "author_id": cascade_posts["user_id"], "created_at": cascade_posts["created_at"],
                          "text": cascade_posts["text"], "channel": "微博", "site": "新浪微博"})
    posts.to_csv(folder / "cascades.csv", index=False)
    originals = cascade_posts[cascade_posts["parent_mid"].isna()]
    forwarders = cascade_posts.loc[cascade_posts["parent_mid"].notna(), "user_id"].drop_duplicates().head(3)
    rows = [[uid, "某博主", "男", "http://img/a.jpg", "简介", "甘肃", 100, fans, "", 1733000000000]
            for uid, fans in zip([*originals["user_id"], *forwarders], ["56", "3.2万", "120万", "7", "1,234"],
                                 strict=True)]
    rows += [[None, "无ID", "女", "", "", "", 1, "9", "", 1733000000000],        # no account id
             ["bad0000000000001", "坏数", "女", "", "", "", 1, "很多", "", 1733000000000]]  # fans not a number
    pd.DataFrame(rows, columns=CREATOR_COLUMNS).to_csv(folder / "weibo_creator_2026.csv", index=False)
    db = folder / "own.duckdb"
    assert main(["ingest", str(folder / "cascades.csv"), "--db", str(db)]) == 0
    creator = folder / "weibo_creator_2026.csv"
    first, again = (_ingest_json(str(creator), "--db", str(db))["files"][0] for _ in range(2))
    return {"folder": folder, "db": db, "originals": originals, "first": first, "again": again}


def _ingest_json(*args) -> dict:
    """`ingest … --json` as a script reads it: the last line printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["ingest", *args, "--json"]) == 0
    return json.loads(out.getvalue().strip().splitlines()[-1])


def test_each_account_table_is_recognised_by_its_header():
    assert detect_layout(CREATOR_COLUMNS, hint="weibo_creator.csv").name == "mediacrawler_weibo_creator"
    assert detect_layout(CREATOR_COLUMNS, hint="xhs_creator_2026.json").name == "mediacrawler_xhs_creator"
    assert detect_layout([*CREATOR_COLUMNS, "interaction", "videos_count"], hint="dy_creator.csv").name \
        == "mediacrawler_dy_creator"
    assert detect_layout(["id", "user_id", "nickname", "avatar", "total_fans", "total_liked", "user_rank",
                          "is_official"]).name == "mediacrawler_bilibili_creator"
    assert detect_layout(["序号", "账号", "平台", "粉丝数", "认证类型"]).name == "account_list"
    assert detect_layout(["author_id", "followers", "verified"]).name == "canonical_accounts"
    # a post export with account columns stays a post export
    assert detect_layout(["标题", "内容", "来源", "作者", "粉丝数", "认证类型", "发布时间"]).name == "yuqing_export"


@pytest.mark.parametrize(("given", "level"), [
    ("蓝V", "机构认证"), ("黄V", "个人认证"), ("金V", "个人认证"), ("政务", "政务认证"), ("媒体认证", "媒体认证"),
    ("否", "未认证"), ("0", "未认证"), ("1", "机构认证"), ("是", "已认证"), ("", None), (None, None),
    ("微博会员", "微博会员")])
def test_verification_is_read_into_one_level(given, level):
    assert verification_level(given) == level


def test_a_creator_file_fills_accounts_and_every_row_is_accounted_for(own_db):
    first, again = own_db["first"], own_db["again"]
    assert first["layout"] == "mediacrawler_weibo_creator"
    assert (first["read"], first["inserted"], first["duplicates"], first["quarantined"]) == (7, 5, 0, 2)
    assert first["reasons"] == {"missing_account": 1, "bad_account_count": 1}
    assert (again["inserted"], again["duplicates"], again["quarantined"]) == (0, 5, 2)
    with Store(own_db["db"]) as store:
        stored = store.query("SELECT * FROM accounts ORDER BY followers DESC")
        reasons = store.query("SELECT DISTINCT reason FROM quarantine")["reason"].tolist()
        posts = store.scalar("SELECT count(*) FROM posts")
    assert stored["followers"].tolist() == [1_200_000, 32_000, 1_234, 56, 7]
    assert set(stored["channel"]) == {"微博"} and stored["follows"].eq(100).all()
    # only ids and counts: the nickname, avatar, gender, bio and location are not stored anywhere
    assert set(stored.columns) == {"author_id", "channel", "verified", "followers", "follows", "batch_id",
                                   "updated_at"}
    assert "缺少账号ID" in reasons and "粉丝数/关注数不是有效的非负数字" in reasons
    assert posts == 179   # an account table adds no posts


def test_authors_cli_lists_publishers_with_their_followers(own_db, capsys):
    capsys.readouterr()
    assert main(["authors", "--db", str(own_db["db"]), "--json", "--limit", "3"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [a["followers"] for a in listed] == [1_200_000, 32_000, 1_234]
    assert all(a["channels"] == "微博" and a["posts"] >= 1 for a in listed)


def test_opinion_leaders_by_followers_and_by_tree_on_real_cascades(own_db, cascade_posts):
    with Store(own_db["db"]) as store:
        span = Filters(pd.Timestamp(cascade_posts["created_at"].min()).date(),
                       pd.Timestamp(cascade_posts["created_at"].max()).date())
        tiered = media.tiered_posts(store, span, settings.media_directory(store))
    by_followers = media.opinion_leaders(tiered, "followers", 3)
    assert by_followers["followers"].tolist() == [1_200_000, 32_000, 1_234]
    by_tree = media.opinion_leaders(tiered, "tree", 2).set_index("publisher")
    for original in own_db["originals"].itertuples():
        size = int(cascade_posts["cascade_id"].eq(original.cascade_id).sum())
        assert by_tree.loc[original.user_id, "downstream"] == size - 1   # every repost sits under the original
    assert list(by_tree.columns[:3]) == ["tier", "verified", "followers"]


def test_account_columns_of_a_post_export_are_kept_beside_its_posts(tmp_path):
    export = pd.DataFrame({
        "标题": ["停水通知", None, None, None],
        "内容": ["金城市自来水公司：明日9时起城关区停水", "停水三天了还没来水，太过分了", "停水了怎么办",
                 "水什么时候来"],
        "来源": "新浪微博", "作者": ["金城水务", "u2001", "u2002", "u2003"],
        "粉丝数": ["1.3万", "560", None, "很多"], "认证类型": ["蓝V", "黄V", None, "否"],
        "发布时间": ["2026-11-30 10:00", "2026-11-30 11:00", "2026-11-30 11:30", "2026-11-30 11:40"]})
    export.to_csv(tmp_path / "导出.csv", index=False, encoding="utf-8-sig")
    summary = _ingest_json(str(tmp_path / "导出.csv"), "--db", str(tmp_path / "d.duckdb"))["files"][0]
    assert (summary["inserted"], summary["quarantined"], summary["accounts"]) == (4, 0, 3)
    with Store(tmp_path / "d.duckdb") as store:
        stored = store.query("SELECT author_id, verified, followers FROM accounts ORDER BY author_id")
    assert stored.to_dict("records") == [
        {"author_id": "u2001", "verified": "个人认证", "followers": 560},
        {"author_id": "u2003", "verified": "未认证", "followers": None},   # '很多' is no count: left unknown
        {"author_id": "金城水务", "verified": "机构认证", "followers": 13_000}]


def test_account_rows_survive_the_inbox_and_the_streamed_path(tmp_path, monkeypatch):
    rows = pd.DataFrame({"账号": ["a1", "a2", "a1"], "平台": "微博", "粉丝数": ["10", "20", "30"],
                         "认证类型": ["黄V", None, None]})
    data = rows.to_csv(index=False).encode()
    db = tmp_path / "d.duckdb"
    queued = queue_prepared(config.inbox_dir(db), prepare(data, "账号名录.csv"))
    assert queued.status == "queued"
    with Store(db) as store:
        drained = drain_inbox(store, config.inbox_dir(db))
        stored = store.query("SELECT author_id, verified, followers FROM accounts ORDER BY author_id")
    assert (drained[0].inserted, drained[0].duplicates) == (2, 1)   # a1 twice: its last row wins, the first is a dup
    assert stored.fillna({"verified": "-"}).to_dict("records") == [
        {"author_id": "a1", "verified": "个人认证", "followers": 30},
        {"author_id": "a2", "verified": "-", "followers": 20}]
    export = pd.DataFrame({"内容": ["停水了", "来水了"], "发布时间": ["2026-11-30 10:00", "2026-11-30 11:00"],
                           "来源": "新浪微博", "作者": ["b1", "b2"], "粉丝数": ["5万", "8"]})
    export.to_csv(tmp_path / "big.csv", index=False)
    monkeypatch.setattr(bulk, "STREAM_MIN_BYTES", 0)
    [summary] = ingest_files([tmp_path / "big.csv"], tmp_path / "big.duckdb", workers=1)
    assert (summary.status, summary.inserted, summary.accounts) == ("imported", 2, 2)
    with Store(tmp_path / "big.duckdb") as store:
        assert store.query("SELECT followers FROM accounts ORDER BY author_id")["followers"].tolist() == [50_000, 8]


def test_the_tick_precomputes_open_incidents_viewpoints(tmp_path):
    db, clock = own_data.imported_export(tmp_path)
    with Store(db) as store:
        report = scheduler.run_tick(store, clock)
        assert not report.errors, report.errors
        stored = store.query("SELECT incident_id, posts_key FROM incident_viewpoints")
        assert report.summary["viewpoints"]["computed"] == len(stored) >= 1
        incident_id = stored["incident_id"].iloc[0]
        from analysis import incidents

        fresh = opinions.for_posts(incidents.incident_posts(store, incident_id))
        assert opinions.for_incident(store, incident_id) == fresh
        assert scheduler.run_tick(store, clock).summary["viewpoints"]["computed"] == 0   # unchanged: not redone
        assert "归纳观点" in scheduler.describe_step("viewpoints", report.summary["viewpoints"])


def test_topic_page_shows_verification_and_followers_of_the_leaders(own_db, cascade_posts, monkeypatch):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from tests.conftest import REPO_ROOT

    monkeypatch.setenv("OPINION_DB", str(own_db["db"]))
    st.cache_data.clear()
    st.cache_resource.clear()
    first, last = (pd.Timestamp(cascade_posts["created_at"].min()).date(),
                   pd.Timestamp(cascade_posts["created_at"].max()).date())
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=120)
    at.query_params["from"], at.query_params["to"] = first.isoformat(), last.isoformat()
    at.run()
    at.switch_page(str(REPO_ROOT / "views" / "topic.py")).run()
    assert not at.exception, [e.message for e in at.exception]
    assert any({"verified", "followers"} <= set(frame.value.columns) for frame in at.dataframe)
    radio = next(r for r in at.radio if r.label == "意见领袖排序")
    radio.set_value("followers").run()
    leaders = next(frame for frame in at.dataframe if {"verified", "followers"} <= set(frame.value.columns))
    assert pd.to_numeric(leaders.value["followers"]).head(3).tolist() == [1_200_000, 32_000, 1_234]
    st.cache_data.clear()
    st.cache_resource.clear()


def test_the_demo_imports_its_accounts_through_the_same_path(demo_db):
    with Store(demo_db, read_only=True) as store:
        levels = store.query("SELECT verified, count(*) AS n, median(followers) AS median FROM accounts "
                             "GROUP BY verified").set_index("verified")
        batch = store.query("SELECT layout, rows_read, inserted FROM ingest_batches WHERE source_file LIKE "
                            "'demo-accounts%'").iloc[0]
        official = store.scalar("SELECT verified FROM accounts WHERE author_id = '金城发布'")
    assert batch["layout"] == "canonical_accounts" and batch["inserted"] == batch["rows_read"]
    assert official == "政务认证"
    assert set(levels.index) == {"政务认证", "媒体认证", "个人认证", "未认证"}
    assert levels.loc["政务认证", "median"] > 100 * levels.loc["未认证", "median"]
