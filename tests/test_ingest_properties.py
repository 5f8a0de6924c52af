"""Property: whatever rows arrive, every row is counted once and stored text is the text that was read."""

from __future__ import annotations

import json

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import ingest
from analysis.store import Store

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=80)
DATES = st.one_of(
    st.datetimes(min_value=pd.Timestamp("2001-01-01").to_pydatetime(),
                 max_value=pd.Timestamp("2026-11-01").to_pydatetime()).map(lambda d: d.strftime("%Y-%m-%d %H:%M:%S")),
    st.sampled_from(["", "昨天", "03/04/2026", "2099-01-01 00:00", "1763597700", "not a date"]),
)
ROW = st.fixed_dictionaries({
    "post_id": st.one_of(st.none(), st.sampled_from([f"id{i}" for i in range(6)])),
    "text": TEXT,
    "created_at": DATES,
    "author_id": st.sampled_from(["甲", "乙", "=cmd", "<b>x</b>"]),
    "like_count": st.sampled_from(["", "3", "1.2万", "-1", "很多"]),
})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(ROW, min_size=1, max_size=25))
def test_every_row_is_inserted_duplicate_or_quarantined_and_text_survives(rows, tmp_path_factory):
    db_path = tmp_path_factory.mktemp("prop") / "p.duckdb"
    frame = pd.DataFrame(rows).assign(channel="微博")
    data = "\n".join(json.dumps(r, ensure_ascii=False) for r in frame.to_dict(orient="records")).encode()
    summary = ingest.ingest_bytes(data, "random.jsonl", db_path)
    assert summary.status == "imported", summary.error
    assert summary.read == len(rows) == summary.inserted + summary.duplicates + summary.quarantined
    with Store(db_path) as store:
        stored = store.query("SELECT post_id, text FROM posts")
        assert len(stored) == summary.inserted
        assert store.scalar("SELECT count(*) FROM quarantine") == summary.quarantined
    sent = {r["post_id"]: r["text"] for r in rows if r["post_id"] is not None}
    for post_id, text in zip(stored["post_id"], stored["text"], strict=True):
        if post_id in sent:
            assert text in {r["text"] for r in rows if r["post_id"] == post_id}
        else:
            assert text in {r["text"] for r in rows}
