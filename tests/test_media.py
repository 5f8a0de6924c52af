"""Media and account tiers from the editable directory, at import and in grading; 媒体活跃度 and 意见领袖 rankings."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from analysis import cascades, chronology, config, incidents, media, settings
from analysis.__main__ import main
from analysis.filters import Filters
from analysis.store import Store
from tests.conftest import shared_file
from tests.factories import write_posts

DIRECTORY = dict(media.DEFAULT_DIRECTORY)


def test_tier_rules_tell_a_site_report_from_a_comment_under_it():
    posts = pd.DataFrame([
        {"author_id": None, "site": "人民网", "channel": "新闻"},            # 人民网's own report
        {"author_id": "网友甲", "site": "人民网", "channel": "新闻跟帖"},      # a netizen under it: not 人民网
        {"author_id": "人民日报", "site": "新浪微博", "channel": "微博"},      # the account is in the directory
        {"author_id": "七里河发布", "site": "新浪微博", "channel": "微博"},    # an official account's name
        {"author_id": None, "site": "某某资讯站", "channel": "新闻"},         # an unknown news site
        {"author_id": None, "site": "BBC中文", "channel": "境外媒体"},
        {"author_id": None, "site": "某境外网站", "channel": "境外媒体"},
        {"author_id": "路过的星星", "site": "抖音", "channel": "抖音"},
        {"author_id": None, "site": "金城日报", "channel": "传统媒体"},
    ])
    assert media.assign_tiers(posts, DIRECTORY).tolist() == [
        "中央媒体", "自媒体", "中央媒体", "政务号", "商业平台", "境外媒体", "境外媒体", "自媒体", "市县媒体"]
    assert media.publisher(posts.assign(author_id=["记者 张明", *posts["author_id"][1:]]))[0] == "人民网"


@pytest.mark.parametrize("value, message", [
    ([{"name": "人民网", "tier": "央媒"}], "层级（tier）须为中央媒体"),
    ([{"name": "人民网", "tier": "中央媒体"}, {"name": "人民网", "tier": "省级媒体"}], "重复的名称：人民网"),
    ([{"name": " ", "tier": "自媒体"}], "名称（name）不能为空"),
    ({"人民网": "中央媒体"}, "必须是列表"),
])
def test_the_directory_setting_rejects_bad_rows(value, message):
    errors = settings.REGISTRY["media_directory"].validate(value)
    assert any(message in e for e in errors), errors


@pytest.fixture(scope="module")
def own_db(tmp_path_factory):
    """A fresh database from an office's own export (site and author columns), through the real CLI."""
    folder = tmp_path_factory.mktemp("media")
    texts = pd.read_csv(shared_file("sentiment_dev.csv.gz"))["text"].head(8).tolist()
    export = pd.DataFrame({
        "内容": texts, "发布时间": [f"2026-11-18 {9 + i}:00:00" for i in range(8)],
        "来源": ["人民网", "百度贴吧", "新浪微博", "新浪微博", "澎湃新闻", "联合早报", "金城日报", "某某资讯站"],
        "作者": [None, "网友甲", "人民日报", "金城发布", None, None, None, None],
        "标题": [f"标题{i}" for i in range(8)],
    })
    path = folder / "导出.csv"
    export.to_csv(path, index=False)
    db = folder / "own.duckdb"
    assert main(["ingest", str(path), "--db", str(db)]) == 0
    return db


def test_tiers_apply_to_imported_posts_and_follow_the_edited_directory(own_db):
    f = Filters(dt.date(2026, 11, 18), dt.date(2026, 11, 18))
    with Store(own_db) as store:
        posts = media.tiered_posts(store, f, settings.media_directory(store)).sort_values("created_at")
        assert posts["tier"].tolist() == ["中央媒体", "自媒体", "中央媒体", "政务号", "省级媒体", "境外媒体",
                                          "市县媒体", "自媒体"]
        activity = media.media_activity(posts)
        assert activity["tier"].tolist()[:2] == ["中央媒体", "中央媒体"]
        assert set(activity["publisher"]) == {"人民网", "人民日报", "金城发布", "澎湃新闻", "联合早报", "金城日报"}
        # a site the directory does not know, on no news channel, counts as 自媒体 until the office lists it
        edited = [*settings.get(store, "media_directory"), {"name": "某某资讯站", "tier": "市县媒体"}]
        settings.save(store, "media_directory", edited, "管理员")
        again = media.tiered_posts(store, f, settings.media_directory(store)).sort_values("created_at")
    assert again["tier"].iloc[-1] == "市县媒体"
    summary = media.tier_summary(again).set_index("tier")
    assert list(summary.index) == list(media.TIERS) and summary["posts"].sum() == 8
    assert summary.loc["市县媒体", "publishers"] == 2


def test_grading_and_chronology_name_the_first_central_media_report(demo_db, tmp_path):
    import shutil

    db = tmp_path / "graded.duckdb"
    shutil.copy(demo_db, db)
    with Store(db) as store:
        listed = incidents.list_incidents(store)
        explosion = listed[listed["title"].str.contains("爆炸")].iloc[0]
        posts = incidents.incident_posts(store, explosion["incident_id"])
        directory = settings.media_directory(store)
        graded = incidents.grade_incident(store, explosion["incident_id"], at=posts["created_at"].max())
    reasons = "；".join(graded.reasons)
    tiered = media.with_tiers(posts, directory)
    first = media.firsts(tiered)["中央媒体"]
    assert f"中央媒体：{first['publisher']}（首家，" in reasons
    milestones = chronology.chronology(posts, config.MAINSTREAM_SITES, directory).set_index("milestone")
    assert milestones.loc["首家央媒报道", "post_id"] == first["post_id"]
    assert milestones.loc["首家央媒报道", "detail"] == f"{first['publisher']}（中央媒体）"
    assert first["channel"] in media.PUBLISHER_CHANNELS and first["post_type"] != "comment"


@pytest.fixture(scope="module")
def cascade_posts(tmp_path_factory) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Five real Weibo repost cascades (cascades_dev) written through the store, and their stats."""
    raw = pd.read_csv(shared_file("cascades_dev.csv.gz"), dtype={"mid": str, "parent_mid": str})
    chosen = sorted(raw["cascade_id"].unique())[::20][:5]
    raw = raw[raw["cascade_id"].isin(chosen)]
    roots = raw[raw["parent_mid"].isna()].set_index("cascade_id")["mid"]
    rows = [{"post_id": p.mid, "parent_id": None if pd.isna(p.parent_mid) else p.parent_mid,
             "root_id": None if pd.isna(p.parent_mid) else roots[p.cascade_id], "author_id": p.user_id,
             "text": p.text if isinstance(p.text, str) else "", "created_at": "2026-11-18 12:00",
             "post_type": "original" if pd.isna(p.parent_mid) else "repost", "repost_count": 0}
            for p in raw.itertuples()]
    db = tmp_path_factory.mktemp("leaders") / "leaders.duckdb"
    with Store(db) as store:
        write_posts(store, rows)
        posts = media.tiered_posts(store, Filters(dt.date(2026, 11, 18), dt.date(2026, 11, 18)), DIRECTORY)
    stats = cascades.cascade_stats(raw.assign(created_at="2026-11-18T12:00:00+08:00"))
    return posts, stats.assign(root=stats["cascade_id"].map(roots))


def test_leaders_by_tree_position_on_real_cascades(cascade_posts):
    posts, stats = cascade_posts
    leaders = media.opinion_leaders(posts, by="tree", limit=1000).set_index("publisher")
    authors = posts.set_index("post_id")["author_id"]
    for cascade in stats.itertuples():  # whoever posted an original carries its whole tree
        assert leaders.loc[authors[cascade.root], "downstream"] >= cascade.size - 1
    top = leaders.iloc[0]
    assert top["downstream"] == leaders["downstream"].max() >= (stats["size"] - 1).max()
    bridges = leaders[leaders["bridges"] > 0]
    assert len(bridges) > 0 and (bridges["downstream"] > 0).all()  # reposters that others reposted
    by_reach = media.opinion_leaders(posts, by="reach", limit=5)
    assert len(by_reach) == 5 and by_reach["interactions"].is_monotonic_decreasing


def test_topic_and_incident_pages_show_media_and_leaders(app_db):
    import dataclasses

    from tests.test_pages import latest_filters, run_app

    scoped = dataclasses.replace(latest_filters(app_db), topics=("安全生产",))
    with Store(app_db) as store:
        expected = media.media_activity(media.tiered_posts(store, scoped, settings.media_directory(store)))
    at = run_app("topic.py", t="安全生产")
    assert "媒体报道与意见领袖" in [h.value for h in at.subheader]
    shown = next(d.value for d in at.dataframe if "first_post_id" in d.value.columns)
    assert shown["publisher"].tolist() == expected["publisher"].head(30).tolist()
    next(r for r in at.radio if r.label == "意见领袖排序").set_value("tree").run()
    assert not at.exception
    leaders = next(d.value for d in at.dataframe if "bridges" in d.value.columns)
    assert leaders["downstream"].is_monotonic_decreasing


def test_briefs_list_which_media_carried_it(demo_db):
    from analysis import briefing

    with Store(demo_db, read_only=True) as store:
        period = briefing.default_period(store, "weekly")
        doc = briefing.build(store, "weekly", week=period.code)
        activity = media.media_activity(media.tiered_posts(store, period.filters, settings.media_directory(store)))
        incident_id = incidents.list_incidents(store)["incident_id"].iloc[0]
        special = briefing.build(store, "incident", incident_id=incident_id)
    rows = doc.table("media").rows
    assert [r[0] for r in rows] == [t for t in media.TIERS if t in set(activity["tier"])]
    for row in rows:
        part = activity[activity["tier"] == row[0]]
        assert row[1] == len(part) and row[2] == int(part["posts"].sum())
        assert row[4].startswith(part.sort_values(["first_at", "first_post_id"])["publisher"].iloc[0])
    assert [r[0] for r in special.table("leaders").rows]  # the 专报 names its 意见领袖 too
