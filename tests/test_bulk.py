"""Big files (analysis.ingest.bulk): read in chunks, prepared by worker processes, staged as Parquet, one batch.

Each file is imported twice, the in-memory way and the streamed way with tiny chunks, and the two databases
must hold the same posts and the same quarantine under the same summary. The pool test uses two real
spawned worker processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import pandas as pd
import pytest

from analysis import config, ingest
from analysis.ingest import bulk
from analysis.store import POST_COLUMNS, Store
from tests.conftest import REPO_ROOT
from tests.layout_samples import gbk_safe
from tests.test_hostile import CORPUS, CORPUS_FILES, assert_sound, counts
from tests.test_ingest import HOLDER, canonical_frame


def _streamable(name: str) -> bool:
    """By content, as bulk.is_big decides (really_xlsx.csv is a workbook, legacy.xls is refused up front)."""
    try:
        return ingest.sniff_format((CORPUS / name).read_bytes()[:65536], name) in bulk.STREAMED_FORMATS
    except ingest.UnreadableFile:
        return False


STREAMED = [name for name in CORPUS_FILES if _streamable(name)]
COMPARED = [c for c in POST_COLUMNS if c != "batch_id"]


def contents(db_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    if not db_path.exists():
        return pd.DataFrame(), pd.DataFrame()
    with Store(db_path) as store:
        posts = store.query(f"SELECT {', '.join(COMPARED)} FROM posts ORDER BY post_id")
        quarantine = store.query("SELECT source_file, source_sha256, line, reason_code, reason, raw FROM quarantine "
                                 "ORDER BY line, reason_code")
    return posts, quarantine


def summary_key(summary: ingest.FileSummary) -> tuple:
    return (summary.status, summary.read, summary.inserted, summary.duplicates, summary.quarantined,
            summary.layout, summary.reasons, summary.error_zh)


def assert_same_import(path: Path, tmp_path: Path, workers: int = 1, chunk_rows: int = 2) -> ingest.FileSummary:
    whole_db, streamed_db = tmp_path / "whole.duckdb", tmp_path / "streamed.duckdb"
    whole = ingest.ingest_bytes(path.read_bytes(), path.name, whole_db)
    streamed = bulk.ingest_big_file(path, streamed_db, workers=workers, chunk_rows=chunk_rows)
    assert summary_key(streamed) == summary_key(whole)
    assert_sound(streamed, streamed_db)
    for ours, theirs in zip(contents(streamed_db), contents(whole_db), strict=True):
        pd.testing.assert_frame_equal(ours, theirs)
    inbox = config.inbox_dir(streamed_db)
    assert not inbox.exists() or not any(inbox.iterdir()), "staged parts are removed once written"
    return streamed


@pytest.mark.parametrize("name", STREAMED)
def test_every_streamable_hostile_file_imports_exactly_as_in_memory(name, tmp_path):
    assert_same_import(CORPUS / name, tmp_path)


def test_real_posts_through_two_worker_processes_match_the_in_memory_import(real_posts, tmp_path):
    frame = canonical_frame(real_posts, n=400)
    bad = frame.iloc[:30].assign(created_at="不是日期", post_id=lambda f: f["post_id"] + "-bad")
    frame = pd.concat([frame, frame.iloc[100:160], bad]).sample(frac=1, random_state=3)  # duplicates, bad dates
    path = tmp_path / "real.csv"
    frame.to_csv(path, index=False)
    summary = assert_same_import(path, tmp_path, workers=2, chunk_rows=97)
    assert (summary.read, summary.inserted, summary.duplicates, summary.quarantined) == (490, 400, 60, 30)


def test_workers_do_not_rerun_a_page_script_left_as_main(real_posts, tmp_path, monkeypatch):
    """After AppTest or Streamlit ran a page here, __main__ is that script; spawned workers must not run it."""
    script = tmp_path / "page.py"
    script.write_text("raise SystemExit('a worker ran the page script')\n")
    page = types.ModuleType("__main__")
    page.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", page)
    path = tmp_path / "posts.csv"
    canonical_frame(real_posts, n=60).to_csv(path, index=False)
    summary = bulk.ingest_big_file(path, tmp_path / "db.duckdb", workers=2, chunk_rows=20)
    assert (summary.status, summary.inserted) == ("imported", 60)
    assert sys.modules["__main__"] is page


def test_gbk_jsonl_and_parquet_files_stream_like_they_import_whole(real_posts, tmp_path):
    frame = canonical_frame(gbk_safe(real_posts), n=120)
    (tmp_path / "gbk").mkdir()
    gbk = tmp_path / "gbk" / "posts.csv"
    gbk.write_bytes(frame.to_csv(index=False).encode("gbk"))
    assert_same_import(gbk, tmp_path / "gbk", chunk_rows=25)
    (tmp_path / "jsonl").mkdir()
    jsonl = tmp_path / "jsonl" / "posts.jsonl"
    jsonl.write_text(frame.to_json(orient="records", lines=True, force_ascii=False) + "{broken\n", encoding="utf-8")
    assert assert_same_import(jsonl, tmp_path / "jsonl", chunk_rows=25).reasons == {"bad_json": 1}
    (tmp_path / "parquet").mkdir()
    parquet = tmp_path / "parquet" / "posts.parquet"
    frame.to_parquet(parquet, index=False)
    assert assert_same_import(parquet, tmp_path / "parquet", chunk_rows=25).inserted == 120


def test_a_file_that_changes_encoding_midway_is_refused_whole(real_posts, tmp_path, monkeypatch):
    monkeypatch.setattr(bulk, "_BLOCK_BYTES", 1024)
    frame = canonical_frame(gbk_safe(real_posts), n=200)
    head, tail = frame.iloc[:150].to_csv(index=False), frame.iloc[150:].to_csv(index=False, header=False)
    path = tmp_path / "mixed.csv"
    path.write_bytes(head.encode("utf-8") + tail.encode("gbk"))
    db_path = tmp_path / "m.duckdb"
    summary = bulk.ingest_big_file(path, db_path, chunk_rows=40)
    assert summary.status == "failed" and "混合了多种编码" in summary.error_zh
    assert counts(db_path) == {"posts": 0, "quarantine": 0, "ingest_batches": 0}
    assert not any(config.inbox_dir(db_path).iterdir()), "a refused file leaves no staged parts"


def test_big_file_is_queued_while_another_process_owns_the_database(real_posts, tmp_path):
    path = tmp_path / "big.csv"
    canonical_frame(real_posts, n=150).to_csv(path, index=False)
    db_path = tmp_path / "owned.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(db_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT,
                              env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    try:
        assert holder.stdout.readline().strip() == "holding"
        queued = bulk.ingest_big_file(path, db_path, chunk_rows=40)
        assert (queued.status, queued.queued, queued.read) == ("queued", 150, 150)
        holder.stdin.write("drain\n")
        holder.stdin.flush()
        assert holder.stdout.readline().split() == ["150", "0"]
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    assert not any(config.inbox_dir(db_path).iterdir())


def test_ingest_files_sends_only_big_streamable_files_to_the_pool(tmp_path, monkeypatch):
    csv_path, xlsx_path = CORPUS / "utf8.csv", CORPUS / "title_row.xlsx"
    assert not bulk.is_big(csv_path)
    monkeypatch.setattr(bulk, "STREAM_MIN_BYTES", 0)
    assert bulk.is_big(csv_path) and not bulk.is_big(xlsx_path)
    streamed = []
    monkeypatch.setattr(bulk, "ingest_big_file", lambda path, *a, **k: streamed.append(path.name) or
                        bulk.FileSummary(file=path.name, status="imported"))
    ingest.ingest_files([csv_path, xlsx_path], tmp_path / "d.duckdb", workers=1)
    assert streamed == ["utf8.csv"]


def test_the_text_reader_cuts_records_at_newlines_only_and_notes_a_cut_off_tail(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("a,b\n第一\u2028行,x\r\n第二行,y\n第三".encode() + "行".encode()[:2])
    lines = bulk.TextLines(path, "utf-8", 0)
    assert list(lines) == ["a,b\n", "第一\u2028行,x\r\n", "第二行,y\n", "第三"]
    assert lines.truncated
