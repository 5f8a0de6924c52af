"""Ingest: every format and encoding, the counting invariant, duplicates, idempotence, the locked-file path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis import ingest, topics
from analysis.__main__ import main
from analysis.ingest.read import decode_text_tail
from analysis.store import Store
from tests.conftest import REPO_ROOT
from tests.layout_samples import gbk_safe

BASE_TIME = pd.Timestamp("2026-11-01 08:00:00")


def canonical_frame(real_posts: pd.DataFrame, n: int = 40, prefix: str = "p") -> pd.DataFrame:
    """Real texts in our own canonical layout, one post every 13 minutes from BASE_TIME (Shanghai time)."""
    texts = real_posts["text"].iloc[:n].tolist()
    return pd.DataFrame({
        "post_id": [f"{prefix}{i}" for i in range(n)],
        "channel": "微博",
        "site": "新浪微博",
        "url": [f"https://weibo.com/{prefix}/{i}" for i in range(n)],
        "author_id": [f"user{i % 7}" for i in range(n)],
        "text": texts,
        "created_at": [(BASE_TIME + pd.Timedelta(minutes=13 * i)).strftime("%Y-%m-%d %H:%M:%S") for i in range(n)],
        "repost_count": [str(i) for i in range(n)],
        "comment_count": ["1.2万" if i == 0 else str(i * 2) for i in range(n)],
        "like_count": [str(i * 3) for i in range(n)],
        "region": "城关区",
    })


def run_cli(capsys, *args: str) -> tuple[int, dict]:
    code = main(["ingest", *args, "--json"])
    out = capsys.readouterr().out.strip().splitlines()[-1]
    return code, json.loads(out)


def stored(db_path: Path, sql: str):
    with Store(db_path) as store:
        return store.scalar(sql)


def assert_invariant(total: dict) -> None:
    assert total["read"] == total["inserted"] + total["duplicates"] + total["quarantined"] + total["queued"]


WRITERS = {
    "utf8.csv": lambda df, p: df.to_csv(p, index=False, encoding="utf-8"),
    "bom.csv": lambda df, p: df.to_csv(p, index=False, encoding="utf-8-sig"),
    "gbk.csv": lambda df, p: df.to_csv(p, index=False, encoding="gbk"),
    "gb18030.csv": lambda df, p: df.to_csv(p, index=False, encoding="gb18030"),
    "utf16.csv": lambda df, p: df.to_csv(p, index=False, encoding="utf-16"),
    "tabs.tsv": lambda df, p: df.to_csv(p, index=False, sep="\t"),
    "sheet.xlsx": lambda df, p: df.to_excel(p, index=False),
    "records.json": lambda df, p: df.to_json(p, orient="records", force_ascii=False),
    "lines.jsonl": lambda df, p: df.to_json(p, orient="records", lines=True, force_ascii=False),
    "table.parquet": lambda df, p: df.to_parquet(p, index=False),
}


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_every_format_and_encoding_imports_real_posts_unchanged(name, real_posts, db_path, tmp_path, capsys):
    frame = canonical_frame(gbk_safe(real_posts), n=30)
    path = tmp_path / name
    WRITERS[name](frame, path)
    code, summary = run_cli(capsys, str(path), "--db", str(db_path))
    assert code == 0
    assert summary["total"] == {"read": 30, "inserted": 30, "duplicates": 0, "quarantined": 0, "queued": 0,
                                "failed_files": 0}
    with Store(db_path) as store:
        posts = store.query("SELECT post_id, text, created_at, comment_count FROM posts ORDER BY post_id")
    by_id = posts.set_index("post_id")
    for _, row in frame.iterrows():
        assert by_id.loc[row["post_id"], "text"] == row["text"]  # original text stored untouched
    first = by_id.loc["p0"]
    assert first["comment_count"] == 12_000
    assert pd.Timestamp(first["created_at"]) == pd.Timestamp("2026-11-01 08:00:00", tz="Asia/Shanghai")


def test_gbk_file_is_not_mistaken_for_utf8():
    text = "市民反映小区物业乱收费，希望有关部门尽快处理"
    assert decode_text_tail(text.encode("gbk")) == (text, "gb18030", False)
    assert decode_text_tail(text.encode("utf-8")) == (text, "utf-8", False)
    assert decode_text_tail(text.encode("utf-8")[:-1]) == (text[:-1], "utf-8", True)  # cut mid-character


def test_bad_rows_are_quarantined_with_reasons_and_nothing_is_lost(real_posts, db_path, tmp_path, capsys):
    frame = canonical_frame(real_posts, n=12)
    frame.loc[0, "text"] = ""                              # empty text, no parent
    frame.loc[1, "created_at"] = "昨天下午"                   # unparseable
    frame.loc[2, "created_at"] = "03/04/2026"              # ambiguous day/month
    frame.loc[3, "created_at"] = "2099-01-01 00:00:00"     # future
    frame.loc[4, "like_count"] = "很多"                      # not a count
    frame.loc[5, "text"] = "长" * 60_000                     # over the limit
    frame.loc[6, "created_at"] = ""                         # missing
    frame.loc[7, "created_at"] = "1730419200"               # epoch seconds: valid
    frame.loc[8, "created_at"] = "2026-11-01T02:00:00Z"     # UTC: valid, 10:00 in Shanghai
    path = tmp_path / "mixed.csv"
    frame.to_csv(path, index=False)
    with path.open("a", encoding="utf-8") as fh:
        fh.write("p99,微博,新浪微博,https://x,u,text,2026-11-01 09:00,1,1,1,城关区,EXTRA,COLUMNS\n")

    code, summary = run_cli(capsys, str(path), "--db", str(db_path))
    assert code == 0
    file_summary = summary["files"][0]
    assert summary["total"]["read"] == 13
    assert summary["total"]["inserted"] == 5
    assert summary["total"]["quarantined"] == 8
    assert_invariant(summary["total"])
    assert file_summary["reasons"] == {"empty_text": 1, "bad_date": 2, "future_date": 1, "bad_count": 1,
                                       "text_too_long": 1, "missing_date": 1, "malformed_row": 1}
    with Store(db_path) as store:
        quarantine = store.query("SELECT line, reason_code, reason, raw FROM quarantine ORDER BY line")
        utc_post = store.scalar("SELECT created_at FROM posts WHERE post_id = 'p8'")
    assert quarantine["line"].tolist() == [2, 3, 4, 5, 6, 7, 8, 14]
    assert all(quarantine["reason"].str.len() > 0)
    assert json.loads(quarantine.loc[1, "raw"])["created_at"] == "昨天下午"
    assert pd.Timestamp(utc_post).tz_convert("Asia/Shanghai").hour == 10


def test_reimport_is_idempotent(real_posts, db_path, tmp_path, capsys):
    frame = canonical_frame(real_posts, n=25)
    frame.loc[0, "created_at"] = "bad"
    path = tmp_path / "once.csv"
    frame.to_csv(path, index=False)
    _, first = run_cli(capsys, str(path), "--db", str(db_path))
    _, second = run_cli(capsys, str(path), "--db", str(db_path))
    assert first["total"]["inserted"] == 24 and first["total"]["quarantined"] == 1
    assert second["total"]["inserted"] == 0 and second["total"]["duplicates"] == 24
    assert_invariant(second["total"])
    assert stored(db_path, "SELECT count(*) FROM posts") == 24
    assert stored(db_path, "SELECT count(*) FROM quarantine") == 1


def test_duplicates_by_id_url_and_same_author_text_minute(real_posts, db_path, tmp_path, capsys):
    frame = canonical_frame(real_posts, n=6)
    same_id = frame.iloc[[0]].assign(url="https://other/1", text="另一条")
    same_url = frame.iloc[[1]].assign(post_id="new-1")
    same_content = frame.iloc[[2]].assign(post_id="new-2", url=None,
                                          created_at=(BASE_TIME + pd.Timedelta(minutes=26, seconds=30))
                                          .strftime("%Y-%m-%d %H:%M:%S"))
    other_minute = frame.iloc[[2]].assign(post_id="new-3", url=None,
                                          created_at=(BASE_TIME + pd.Timedelta(minutes=29))
                                          .strftime("%Y-%m-%d %H:%M:%S"))
    inside_file = pd.concat([frame, same_id, same_url, same_content, other_minute], ignore_index=True)
    path = tmp_path / "dups.csv"
    inside_file.to_csv(path, index=False)
    _, summary = run_cli(capsys, str(path), "--db", str(db_path))
    assert summary["total"] == {"read": 10, "inserted": 7, "duplicates": 3, "quarantined": 0, "queued": 0,
                                "failed_files": 0}
    # The same rules hold against rows already stored, from another file.
    later = pd.concat([same_id, same_url, same_content], ignore_index=True).assign(site="转载")
    later_path = tmp_path / "later.csv"
    later.to_csv(later_path, index=False)
    _, summary = run_cli(capsys, str(later_path), "--db", str(db_path))
    assert summary["total"]["duplicates"] == 3 and summary["total"]["inserted"] == 0


def test_unreadable_file_exits_nonzero_with_one_line_and_writes_nothing(db_path, tmp_path):
    bad = tmp_path / "broken.xlsx"
    bad.write_bytes(b"PK\x03\x04 this is not really a workbook")
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("foo,bar\n1,2\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "analysis", "ingest", str(bad), "--db", str(db_path)],
                            capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert result.returncode == 1
    assert "broken.xlsx: FAILED: cannot read xlsx file" in result.stdout
    assert not db_path.exists() or stored(db_path, "SELECT count(*) FROM ingest_batches") == 0

    summary = ingest.ingest_files([unknown], db_path)[0]
    assert summary.status == "failed"
    assert "foo" in summary.error and "foo" in summary.error_zh  # the columns found are named
    assert not db_path.exists() or stored(db_path, "SELECT count(*) FROM posts") == 0


HOLDER = """
import sys, time
from pathlib import Path
from analysis import config, ingest
from analysis.store import Store
db = Path(sys.argv[1])
with Store(db) as store:
    print("holding", flush=True)
    sys.stdin.readline()           # keep the file until the test says so, like a running dashboard
    imported = ingest.drain_inbox(store, config.inbox_dir(db))
    print(sum(s.inserted for s in imported), sum(s.duplicates for s in imported), flush=True)
"""


def test_ingest_while_another_process_owns_the_database_queues_and_loses_nothing(real_posts, db_path, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    frame = canonical_frame(real_posts, n=30)
    frame.loc[0, "created_at"] = "not a date"
    path = tmp_path / "while_locked.csv"
    frame.to_csv(path, index=False)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(db_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT, env=env)
    try:
        assert holder.stdout.readline().strip() == "holding"
        cli = [sys.executable, "-m", "analysis", "ingest", str(path), "--db", str(db_path), "--json"]
        first = subprocess.run(cli, capture_output=True, text=True, cwd=REPO_ROOT, env=env, timeout=120)
        again = subprocess.run(cli, capture_output=True, text=True, cwd=REPO_ROOT, env=env, timeout=120)
        for result in (first, again):
            assert result.returncode == 0, result.stderr
            total = json.loads(result.stdout)["total"]
            assert total == {"read": 30, "inserted": 0, "duplicates": 0, "quarantined": 1, "queued": 29,
                             "failed_files": 0}
        holder.stdin.write("drain\n")
        holder.stdin.flush()
        inserted, duplicates = map(int, holder.stdout.readline().split())
        assert (inserted, duplicates) == (29, 29)  # the second queued copy is all duplicates
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    assert stored(db_path, "SELECT count(*) FROM posts") == 29
    assert stored(db_path, "SELECT count(*) FROM quarantine") == 1
    assert not list((db_path.parent / "inbox").glob("*.json"))


def test_queued_batch_is_imported_by_the_next_owner(real_posts, db_path, tmp_path):
    batch = ingest.prepare(canonical_frame(real_posts, n=5).to_csv(index=False).encode(), "q.csv")
    ingest.queue_prepared(db_path.parent / "inbox", batch)
    later = canonical_frame(real_posts.iloc[5:], n=5, prefix="later")
    summary = ingest.ingest_bytes(later.to_csv(index=False).encode(), "later.csv", db_path)
    assert summary.inserted == 5
    assert stored(db_path, "SELECT count(*) FROM posts") == 10


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-11-20 08:15:00", "2026-11-20 08:15:00+08:00"),
    ("2026/11/20 8:05", "2026-11-20 08:05:00+08:00"),
    ("2026年11月20日 08:15", "2026-11-20 08:15:00+08:00"),
    ("2026-11-20T00:15:00Z", "2026-11-20 08:15:00+08:00"),
    ("2026-11-20T08:15:00+09:00", "2026-11-20 07:15:00+08:00"),
    ("1763597700", "2025-11-20 08:15:00+08:00"),
    ("1763597700000", "2025-11-20 08:15:00+08:00"),
    ("46000.5", "2025-12-09 12:00:00+08:00"),
    ("03/04/2026", None),
    ("三天前", None),
])
def test_parse_datetimes(value, expected):
    parsed = ingest.parse_datetimes(pd.Series([value]))[0]
    if expected is None:
        assert pd.isna(parsed)
    else:
        assert parsed == pd.Timestamp(expected)


@pytest.mark.parametrize(("value", "expected"), [
    (None, 0), ("12", 12), ("1,234", 1234), ("1.2万", 12000), ("10万+", 100000), ("3.5w", 35000),
    ("2亿", 200_000_000), ("-3", None), ("很多", None),
])
def test_parse_count(value, expected):
    assert ingest.parse_count(value) == expected


def test_demo_build_goes_through_ingest_and_is_complete(demo_db):
    with Store(demo_db) as store:
        batches = store.query("SELECT rows_read, inserted, duplicates, quarantined FROM ingest_batches")
        channels = store.scalar("SELECT count(DISTINCT channel) FROM posts")
        models = store.scalar("SELECT count(DISTINCT sentiment_model) FROM posts")
    row = batches.iloc[0]
    assert row["quarantined"] == 0 and row["rows_read"] == row["inserted"] + row["duplicates"]
    assert row["duplicates"] <= 3  # a rare repeated short comment ("关注") by one author within a minute
    assert channels >= 15 and models == 1


def test_a_missing_title_adds_nothing_to_keywords(real_posts, db_path, tmp_path):
    texts = [str(t).replace('"', "") for t in real_posts["text"].head(30)]
    csv = tmp_path / "export.csv"
    csv.write_text("标题,内容,来源,发布时间,链接\n" + "".join(
        f"{'' if i < 15 else '公交线路优化调整'},\"{t}\",新浪微博,2026-11-20 08:{i:02d},https://weibo.com/t/{i}\n"
        for i, t in enumerate(texts)), encoding="utf-8")
    assert main(["ingest", str(csv), "--db", str(db_path)]) == 0
    with Store(db_path) as store:
        rows = store.query("SELECT title, text_norm, keywords FROM posts ORDER BY url")
    untitled = rows[rows["title"].isna()]
    assert len(untitled) == 15
    assert not any("nan" in words for words in rows["keywords"])  # NaN was once read as the title "nan"
    expected = topics.extract_keywords(untitled["text_norm"].tolist())
    assert [list(k) for k in untitled["keywords"]] == [list(k) for k in expected]
