"""Drill-down reads (analysis.explore): the posts behind a view, keywords, sentiment split, a post's repost tree."""

from __future__ import annotations

import datetime as dt

import pytest

from analysis import explore
from analysis.filters import Filters
from analysis.store import Store
from tests.factories import write_posts

DAY = Filters(dt.date(2026, 11, 18), dt.date(2026, 11, 18))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with Store(tmp_path_factory.mktemp("explore") / "explore.duckdb") as opened:
        write_posts(opened, [
            {"post_id": "root", "created_at": "2026-11-18 09:00", "text_norm": "小区停水三天", "repost_count": 9,
             "sentiment_label": "负面", "sentiment_score": 0.1, "keywords": ["停水", "小区"]},
            {"post_id": "r1", "created_at": "2026-11-18 09:10", "parent_id": "root", "root_id": "root",
             "post_type": "repost", "text_norm": "转发 停水", "keywords": ["停水"]},
            {"post_id": "r2", "created_at": "2026-11-18 09:20", "parent_id": "r1", "root_id": "root",
             "post_type": "repost", "text_norm": "再转 100%_真的", "like_count": 3, "keywords": ["停水"]},
            {"post_id": "other", "created_at": "2026-11-18 11:00", "channel": "新闻", "site": "金城日报",
             "text_norm": "供水已恢复", "sentiment_label": "正面", "sentiment_score": 0.9, "keywords": ["供水"]},
            {"post_id": "late", "created_at": "2026-11-19 08:00", "text_norm": "停水 次日"},
        ])
        yield opened


def test_posts_filter_keyword_label_order_and_limit(store):
    assert explore.posts(store, DAY)["post_id"].tolist()[0] == "root"            # most interactions first
    assert set(explore.posts(store, DAY, keyword="停水")["post_id"]) == {"root", "r1"}  # "late" is outside the day
    assert explore.posts(store, DAY, keyword="100%_")["post_id"].tolist() == ["r2"]  # % and _ are literal
    assert explore.posts(store, DAY, keyword="100%x").empty
    assert explore.posts(store, DAY, sentiment="正面")["post_id"].tolist() == ["other"]
    assert explore.posts(store, DAY, order="time")["post_id"].tolist()[0] == "other"
    assert explore.posts(store, DAY, order="negative")["post_id"].tolist()[0] == "root"
    assert len(explore.posts(store, DAY, limit=2)) == 2


def test_keywords_and_sentiment_split(store):
    keywords = explore.top_keywords(store, DAY, 2)
    assert keywords["keyword"].tolist() == ["停水", "供水"] and keywords["posts"].tolist() == [3, 1]
    assert keywords.set_index("keyword").loc["停水", "negative_ratio"] == pytest.approx(1 / 3)
    split = explore.sentiment_split(store, DAY).set_index("label")["posts"].to_dict()
    assert split == {"中性": 2, "负面": 1, "正面": 1}


def test_cascade_tree_from_any_post_of_it(store):
    assert explore.cascade_root(store, "r2") == "root"
    assert explore.cascade_root(store, "nobody") is None
    tree = explore.cascade_tree(store, "r2")
    assert set(tree["mid"]) == {"root", "r1", "r2"}
    summary = explore.cascade_summary(tree)
    assert (summary["size"], summary["depth"], summary["cascade_id"]) == (3, 2, "root")
    assert explore.cascade_tree(store, "nobody").empty
