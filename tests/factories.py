"""Small hand-made post tables for tests that check arithmetic, written straight through the store."""

from __future__ import annotations

import pandas as pd

from analysis.store import POST_COLUMNS, BatchRecord, Store

DEFAULTS = {
    "channel": "微博", "site": "新浪微博", "url": None, "author_id": "a", "title": None, "text": "帖子",
    "text_norm": "帖子", "collected_at": pd.NaT, "parent_id": None, "root_id": None, "post_type": "original",
    "repost_count": 0, "comment_count": 0, "like_count": 0, "read_count": 0, "region": "城关区",
    "topic": "未分类", "topics": None, "keywords": None, "sentiment_score": 0.5, "sentiment_label": "中性",
    "sentiment_model": "test@1",
}


def posts_frame(rows: list[dict]) -> pd.DataFrame:
    """Fill every canonical column; `created_at` strings are Shanghai local time."""
    records = []
    for number, row in enumerate(rows):
        record = {**DEFAULTS, **row}
        record.setdefault("post_id", f"t{number}")
        record["created_at"] = pd.Timestamp(record["created_at"], tz="Asia/Shanghai")
        record["topics"] = record["topics"] or [record["topic"]]
        record["keywords"] = record["keywords"] or []
        record.setdefault("content_key", f"key-{record['post_id']}")
        record.setdefault("batch_id", "test")
        records.append(record)
    frame = pd.DataFrame(records)
    frame["collected_at"] = pd.to_datetime(frame["collected_at"]).dt.tz_localize("Asia/Shanghai")
    return frame[list(POST_COLUMNS)]


def write_posts(store: Store, rows: list[dict], batch_id: str = "test") -> None:
    frame = posts_frame(rows).assign(batch_id=batch_id)
    record = BatchRecord(batch_id, "factory", batch_id, "dataframe", "canonical", len(frame),
                         pd.Timestamp.now(tz="Asia/Shanghai"))
    empty = pd.DataFrame({"line": pd.Series(dtype="int64"), "reason_code": pd.Series(dtype=str),
                          "reason": pd.Series(dtype=str), "raw": pd.Series(dtype=str)})
    store.write_batch(record, frame, empty)


def same_rows(expected: pd.DataFrame, actual: pd.DataFrame, rtol: float = 1e-9) -> None:
    """Equal as sets of rows, dtypes included (ties in an ORDER BY may come in either order), floats to rtol.
    List cells (lists of sites …) are compared but not sorted on."""
    assert list(expected.columns) == list(actual.columns)
    keys = [c for c in expected.columns
            if not expected[c].map(lambda v: hasattr(v, "__len__") and not isinstance(v, str)).any()]
    pd.testing.assert_frame_equal(expected.sort_values(keys).reset_index(drop=True),
                                  actual.sort_values(keys).reset_index(drop=True), rtol=rtol)
