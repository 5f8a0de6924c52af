"""事件脉络: a post without a title shows its text as the excerpt (a frame holds the missing title as NaN)."""

from __future__ import annotations

import pandas as pd

from analysis import chronology
from analysis.store import Store
from tests.factories import write_posts


def test_a_post_without_title_is_excerpted_from_its_text(db_path):
    with Store(db_path) as store:
        write_posts(store, [
            {"post_id": "a", "created_at": "2026-11-10 10:00", "text": "七里河区某小学食堂被曝使用过期肉"},
            {"post_id": "b", "created_at": "2026-11-10 11:00", "title": "官方通报", "text": "经核查"}])
        posts = store.query("SELECT * FROM posts ORDER BY created_at")
    assert posts["title"].isna().iloc[0] or posts["title"].iloc[0] is None
    found = chronology.chronology(posts, ())
    first = found[found["post_id"] == "a"].iloc[0]
    assert first["excerpt"] == "七里河区某小学食堂被曝使用过期肉"
    assert "nan" not in " ".join(found["excerpt"]) and pd.notna(found["excerpt"]).all()
