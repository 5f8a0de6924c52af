"""Hostile input: every file of tests/data/hostile/ (and the big cases made at test time) imports safely.

For each file: no crash, read = inserted + duplicates + quarantined, a Chinese reason for everything rejected,
nothing written when the file fails, and inserted texts stored byte for byte.
"""

from __future__ import annotations

import importlib.util
import json
import tracemalloc
from pathlib import Path

import pandas as pd
import pytest

from analysis import config, ingest
from analysis.store import Store
from tests.conftest import REPO_ROOT

CORPUS = REPO_ROOT / "tests" / "data" / "hostile"
_spec = importlib.util.spec_from_file_location("make_hostile", REPO_ROOT / "tools" / "make_hostile.py")
make_hostile = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_hostile)
EXACT = json.loads((CORPUS / make_hostile.MANIFEST).read_text(encoding="utf-8"))["exact_texts"]

# file → (status, inserted, duplicates, quarantined, reasons) for imports; (status, words in error_zh) for failures.
OK = "imported"
EXPECTED: dict[str, tuple] = {
    "utf8.csv": (OK, 5, 0, 0, {}),
    "utf8_bom.csv": (OK, 5, 0, 0, {}),
    "gbk.csv": (OK, 5, 0, 0, {}),
    "gb18030_ext_b.csv": (OK, 5, 0, 0, {}),
    "utf16le_bom.tsv": (OK, 5, 0, 0, {}),
    "utf16be_bom.csv": (OK, 5, 0, 0, {}),
    "utf16le_nobom.csv": (OK, 3, 0, 0, {}),
    "mixed_newlines.csv": (OK, 5, 0, 0, {}),
    "nul_bytes.csv": (OK, 4, 0, 0, {}),
    "dates_bad.csv": (OK, 1, 0, 5, {"bad_date": 2, "future_date": 1, "missing_date": 1, "date_too_old": 1}),
    "timezones.csv": (OK, 4, 0, 0, {}),
    "excel_dates.xlsx": (OK, 4, 0, 0, {}),
    "dup_ids.csv": (OK, 4, 2, 0, {}),
    "dup_across_a.csv": (OK, 5, 0, 0, {}),
    "dup_across_b.csv": (OK, 5, 0, 0, {}),
    "missing_optional.csv": (OK, 3, 0, 0, {}),
    "extra_columns.csv": (OK, 4, 0, 1, {"malformed_row": 1}),
    "title_row.xlsx": (OK, 5, 0, 1, {"bad_date": 1}),
    "title_row.csv": (OK, 5, 0, 1, {"bad_date": 1}),
    "merged_cells.xlsx": (OK, 6, 0, 0, {}),
    "really_csv.xlsx": (OK, 3, 0, 0, {}),
    "really_xlsx.csv": (OK, 3, 0, 0, {}),
    "truncated_utf8.csv": (OK, 3, 0, 1, {"truncated_row": 1}),
    "truncated.jsonl": (OK, 3, 0, 1, {"bad_json": 1}),
    "formulas.csv": (OK, 4, 0, 1, {"bad_count": 1}),
    "formulas.xlsx": (OK, 5, 0, 0, {}),
    "markup.csv": (OK, 7, 0, 0, {}),
    "sql.csv": (OK, 4, 0, 0, {}),
    "emoji_ext_b.csv": (OK, 6, 0, 0, {}),
    "header_only.csv": (OK, 0, 0, 0, {}),
    "missing_required.csv": ("failed", "created_at", "无法识别文件的列格式"),
    "unknown_layout.csv": ("failed", "foo", "无法识别文件的列格式"),
    "truncated.xlsx": ("failed", "不完整或已损坏"),
    "truncated.json": ("failed", "JSON 格式错误", "截断"),
    "not_objects.json": ("failed", "对象数组"),
    "garbage.csv": ("failed", "不是文本表格"),
    "empty.csv": ("failed", "文件为空"),
    "legacy.xls": ("failed", ".xls", "另存为 .xlsx"),
}
CORPUS_FILES = sorted(p.name for p in CORPUS.iterdir() if p.name != make_hostile.MANIFEST)


def counts(db_path: Path) -> dict[str, int]:
    if not db_path.exists():
        return {"posts": 0, "quarantine": 0, "ingest_batches": 0}
    with Store(db_path) as store:
        return {t: store.scalar(f"SELECT count(*) FROM {t}") for t in ("posts", "quarantine", "ingest_batches")}


def assert_sound(summary: ingest.FileSummary, db_path: Path, before: dict[str, int] | None = None) -> None:
    """The invariant, and what the database holds matches the summary (nothing partial)."""
    before = before or {"posts": 0, "quarantine": 0, "ingest_batches": 0}
    assert summary.read == summary.inserted + summary.duplicates + summary.quarantined + summary.queued
    after = counts(db_path)
    if summary.status == "failed":
        assert summary.error and summary.error_zh
        assert after == before  # a failure writes nothing
        return
    assert summary.status == "imported", summary.error
    assert after["posts"] - before["posts"] == summary.inserted
    assert after["quarantine"] - before["quarantine"] == summary.quarantined
    assert after["ingest_batches"] - before["ingest_batches"] == 1
    assert sum(summary.reasons.values()) == summary.quarantined
    assert all(code in ingest.REASONS_ZH for code in summary.reasons)


def test_the_expected_table_covers_the_whole_corpus_and_the_corpus_is_small():
    assert sorted(EXPECTED) == CORPUS_FILES
    assert len(CORPUS_FILES) == 38
    assert sum((CORPUS / name).stat().st_size for name in CORPUS_FILES) < 200 * 1024


def test_the_stored_corpus_is_what_the_script_generates(tmp_path):
    written = make_hostile.build_corpus(tmp_path)
    assert sorted(p.name for p in written) == CORPUS_FILES
    for path in [*written, tmp_path / make_hostile.MANIFEST]:
        assert path.read_bytes() == (CORPUS / path.name).read_bytes(), path.name


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_hostile_file(name, tmp_path):
    db_path = tmp_path / "h.duckdb"
    summary = ingest.ingest_files([CORPUS / name], db_path)[0]
    assert_sound(summary, db_path)
    expected = EXPECTED[name]
    assert summary.status == expected[0], (summary.error, summary.error_zh)
    if summary.status == "failed":
        assert summary.read == 0
        for words in expected[1:]:
            assert words in summary.error_zh
        return
    _, inserted, duplicates, quarantined, reasons = expected
    assert (summary.inserted, summary.duplicates, summary.quarantined) == (inserted, duplicates, quarantined)
    assert summary.reasons == reasons
    if name in EXACT:
        with Store(db_path) as store:
            stored = store.query("SELECT post_id, text FROM posts")
        by_id = dict(zip(stored["post_id"], stored["text"], strict=True))
        for post_id, text in EXACT[name].items():
            if post_id in by_id or summary.quarantined == 0:
                assert by_id[post_id].encode("utf-8") == text.encode("utf-8"), post_id


def test_special_texts_survive_exactly(tmp_path):
    db_path = tmp_path / "h.duckdb"
    names = ["nul_bytes.csv", "mixed_newlines.csv", "gb18030_ext_b.csv", "emoji_ext_b.csv", "sql.csv", "markup.csv",
             "formulas.csv", "formulas.xlsx"]
    summaries = ingest.ingest_files([CORPUS / n for n in names], db_path)
    assert all(s.status == "imported" for s in summaries)
    with Store(db_path) as store:
        texts = dict(store.query("SELECT post_id, text FROM posts").itertuples(index=False))
        authors = dict(store.query("SELECT post_id, author_id FROM posts").itertuples(index=False))
        assert store.scalar("SELECT count(*) FROM posts") == sum(s.inserted for s in summaries)  # table intact
    assert texts["nul-2"] == "字段中间\x00有空字节" and texts["nul-3"] == "\x00开头和结尾\x00"
    assert texts["nl-4"] == "第一行\r\n第二行\n第三行\r第四行"
    assert texts["gb-3"] == "扩展B区罕见字：𠀀 𪚥 𠮷 和表情 😂👍🏽"
    assert texts["em-3"] == "扩展B：𠀀𠀁𠀂 𪚥 𠮷野家 𡃁"
    assert texts["'; DROP TABLE posts; --"] == "'; DROP TABLE posts; --"
    assert texts["mk-0"] == "<script>alert('xss')</script>小区停水三天"
    assert texts["mk-3"] == ":red[紧急] :blue-background[通知] 河道污染"
    assert texts["fx-0"] == texts["fxx-0"] == "=HYPERLINK(\"http://evil.example\",\"点击\")"
    assert authors["fx-0"] == "=author" and authors["fx-3"] == "@官方"


def test_time_zones_excel_dates_header_row_and_merged_cells(tmp_path):
    db_path = tmp_path / "h.duckdb"
    names = ["timezones.csv", "excel_dates.xlsx", "title_row.xlsx", "title_row.csv", "merged_cells.xlsx"]
    assert all(s.status == "imported" for s in ingest.ingest_files([CORPUS / n for n in names], db_path))
    with Store(db_path) as store:
        zoned = store.query("SELECT created_at FROM posts WHERE post_id LIKE 'tz-%'")["created_at"]
        excel = store.query("SELECT post_id, created_at FROM posts WHERE post_id LIKE 'xd-%' ORDER BY post_id")
        lines = store.query("SELECT source_file, line FROM quarantine ORDER BY source_file")
        merged = store.query("SELECT site, channel, created_at FROM posts WHERE url LIKE '%/m/%' ORDER BY url")
    instant = pd.Timestamp("2026-11-01 08:00", tz="Asia/Shanghai")
    assert [pd.Timestamp(t) for t in zoned] == [instant] * 4  # +08:00, Z, -05:00 and naive: one instant
    assert [pd.Timestamp(t) for t in excel["created_at"]] == [instant + pd.Timedelta(hours=h) for h in range(4)]
    assert lines.values.tolist() == [["title_row.csv", 7], ["title_row.xlsx", 7]]  # row numbers as the user sees
    assert merged["site"].tolist() == ["新浪微博"] * 6 and set(merged["channel"]) == {"微博"}
    assert [pd.Timestamp(t) for t in merged["created_at"]] == [instant] * 3 + [instant + pd.Timedelta(minutes=39)] * 3


def test_duplicate_ids_across_files(tmp_path):
    db_path = tmp_path / "h.duckdb"
    first, second = ingest.ingest_files([CORPUS / "dup_across_a.csv", CORPUS / "dup_across_b.csv"], db_path)
    assert (first.inserted, first.duplicates) == (5, 0)
    assert (second.inserted, second.duplicates) == (2, 3)
    assert counts(db_path)["posts"] == 7


def test_a_failing_file_leaves_earlier_data_untouched(tmp_path, monkeypatch):
    db_path = tmp_path / "h.duckdb"
    assert ingest.ingest_files([CORPUS / "utf8.csv"], db_path)[0].inserted == 5
    before = counts(db_path)
    for name in ("truncated.xlsx", "garbage.csv", "missing_required.csv"):
        assert_sound(ingest.ingest_files([CORPUS / name], db_path)[0], db_path, before)

    real_insert = Store._insert_new_posts

    def broken_insert(conn):  # the write fails after posts went in: the transaction must take them back
        assert real_insert(conn) == 5
        raise RuntimeError("disk full")

    monkeypatch.setattr(Store, "_insert_new_posts", staticmethod(broken_insert))
    summary = ingest.ingest_files([CORPUS / "gbk.csv"], db_path)[0]
    assert summary.status == "failed" and "未写入" in summary.error_zh
    assert_sound(summary, db_path, before)


def test_five_megabyte_text_is_quarantined_not_cut(tmp_path):
    path, big = make_hostile.make_big_text(tmp_path)
    assert path.stat().st_size > 5 * 1024 * 1024 and len(big) > config.MAX_TEXT_CHARS
    db_path = tmp_path / "h.duckdb"
    summary = ingest.ingest_files([path], db_path)[0]
    assert_sound(summary, db_path)
    assert (summary.inserted, summary.quarantined, summary.reasons) == (1, 1, {"text_too_long": 1})
    with Store(db_path) as store:
        raw = store.scalar("SELECT raw FROM quarantine")
    assert json.loads(raw)["text"] == big  # kept whole for the analyst


def test_zip_bomb_is_refused_from_the_declared_sizes_before_inflating(tmp_path, monkeypatch):
    path = make_hostile.make_zip_bomb(tmp_path, inflated_mb=100)
    assert path.stat().st_size < 1024 * 1024
    db_path = tmp_path / "h.duckdb"
    tracemalloc.start()
    try:
        summary = ingest.ingest_files([path], db_path)[0]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert summary.status == "failed" and "压缩炸弹" in summary.error_zh and "压缩比异常" in summary.error_zh
    assert peak < 20 * 1024 * 1024  # the 100 MB sheet was never inflated
    assert_sound(summary, db_path)
    monkeypatch.setattr(ingest.read, "MAX_ZIP_RATIO", 10**6)  # the total size limit alone also refuses it
    monkeypatch.setattr(ingest.read, "MAX_XLSX_UNCOMPRESSED_BYTES", 50 * 1024 * 1024)
    summary = ingest.ingest_files([path], db_path)[0]
    assert summary.status == "failed" and "超过上限" in summary.error_zh


def test_hundred_thousand_identical_rows_are_one_post(tmp_path):
    path = make_hostile.make_identical_rows(tmp_path, n=100_000)
    db_path = tmp_path / "h.duckdb"
    summary = ingest.ingest_files([path], db_path)[0]
    assert_sound(summary, db_path)
    assert (summary.read, summary.inserted, summary.duplicates, summary.quarantined) == (100_000, 1, 99_999, 0)


def test_files_over_the_import_size_limit_are_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest.read, "MAX_INGEST_BYTES", 1000)
    db_path = tmp_path / "h.duckdb"
    path = CORPUS / "utf8.csv"
    assert path.stat().st_size < 1000
    assert ingest.ingest_files([path], db_path)[0].status == "imported"
    big = CORPUS / "title_row.csv"
    for summary in (ingest.ingest_files([big], db_path)[0],
                    ingest.ingest_bytes(big.read_bytes(), big.name, db_path)):
        assert summary.status == "failed" and "超过导入上限" in summary.error_zh
    assert ingest.MAX_INGEST_BYTES != config.MAX_UPLOAD_MB * 1024 * 1024


def test_no_row_of_the_corpus_is_lost(tmp_path):
    summaries = ingest.ingest_files([CORPUS / n for n in CORPUS_FILES], tmp_path / "all.duckdb")
    total = ingest.totals(summaries)
    assert total["read"] == total["inserted"] + total["duplicates"] + total["quarantined"]
    assert total["failed_files"] == sum(1 for e in EXPECTED.values() if e[0] == "failed") == 8
    assert total["read"] == sum(e[1] + e[2] + e[3] for e in EXPECTED.values() if e[0] == OK) == 139
