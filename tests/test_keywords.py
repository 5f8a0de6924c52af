"""Keywords that mean something: never "nan", and no place names or everyday words (an editable stop list)."""

from __future__ import annotations

import datetime as dt
import shutil

from analysis import explore, metrics, settings, text, topics
from analysis.filters import Filters
from analysis.store import Store


def test_a_missing_value_is_never_a_keyword():
    texts = text.normalize_many(["NaN nan None null 小区停水三天没人管", "nan"])
    assert all(not set(words) & topics.NOT_WORDS for words in topics.extract_keywords(texts))
    assert "停水" in topics.extract_keywords(texts)[0]


def test_the_demo_keywords_leave_out_places_and_everyday_words_and_follow_the_setting(demo_db, tmp_path):
    db = tmp_path / "demo.duckdb"
    shutil.copy(demo_db, db)
    with Store(db) as store:
        latest = metrics.latest_day(store)
        span = Filters(latest - dt.timedelta(days=29), latest)
        regions = set(store.query("SELECT DISTINCT region FROM posts WHERE region IS NOT NULL")["region"])
        raw = store.query(
            "SELECT keyword, count(*) AS n FROM (SELECT unnest(keywords) AS keyword FROM posts "
            "WHERE created_at >= ? AND created_at < ?) GROUP BY 1 ORDER BY n DESC LIMIT 20",
            [span.start_ts.to_pydatetime(), span.end_ts.to_pydatetime()])["keyword"].tolist()
        shown = explore.top_keywords(store, span, 20, settings.keyword_stop_words(store))["keyword"].tolist()
        assert len(shown) == 20 and regions & set(raw)  # unfiltered, district names top the list
        assert not any(word in region for word in shown for region in regions)
        assert not set(shown) & (set(topics.KEYWORD_STOP_DEFAULT) | topics.NOT_WORDS)
        first = shown[0]
        settings.save(store, "keyword_stop_words", [*settings.keyword_stop_words(store), first], "管理员")
        again = explore.top_keywords(store, span, 20, settings.keyword_stop_words(store))["keyword"].tolist()
    assert first not in again and again[:19] == shown[1:]
