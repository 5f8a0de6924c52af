"""Big files: read in chunks, prepared by a pool of processes, staged as Parquet, written in one transaction.

The in-memory path holds a file whole (about 1 GB per 100k posts once enriched) on one core; a province's
monthly export of a million posts needs neither. Here the main process only reads records, CHUNK_ROWS at a
time, and hands each chunk to a worker process that maps, validates, normalizes, segments and scores it
and writes the chunk's posts and quarantined rows as Parquet parts into the inbox folder. At most
`workers + 1` chunks are in flight, so memory is bounded whatever the file's size. The parts then become one
batch exactly like a small file's: DuckDB writes them straight from disk in one transaction when this process
can own the database (whole or nothing, duplicates decided in SQL), or they are committed to the inbox with
a manifest for the process that owns it.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import logging
import multiprocessing
import os
import sys
import types
import uuid
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from analysis import config, sentiment, text, topics
from analysis.ingest import accounts, inbox, layouts, read
from analysis.ingest.inbox import FileSummary
from analysis.ingest.read import RawTable, UnreadableFile
from analysis.store import BatchRecord, DatabaseLocked, open_store

log = logging.getLogger(__name__)

STREAM_MIN_BYTES = 16 * 1024 * 1024  # smaller files take the in-memory path (worker start-up would not pay)
MAX_STREAM_BYTES = 16 * 1024 ** 3  # the streamed path's own limit: memory no longer grows with the file
# 20k rows per chunk: 50k was no faster and held ~300 MB more per worker (measured on 200k real posts).
CHUNK_ROWS = 20_000
# The final write sorts the whole batch by time; uncapped, DuckDB held 1.8 GB for 1 M posts. Capped, the
# sort spills to disk: 0.75 GB peak and no slower (16 s for 1 M posts, bench/ingest_bench.py).
WRITE_MEMORY_LIMIT = "512MB"
STREAMED_FORMATS = ("csv", "jsonl", "parquet")  # JSON arrays and workbooks are only readable whole
_BLOCK_BYTES = 4 * 1024 * 1024


def is_big(path: Path) -> bool:
    """Whether a file goes through this module: large, and in a format that can be read in pieces."""
    if path.stat().st_size < STREAM_MIN_BYTES:
        return False
    with open(path, "rb") as handle:
        head = handle.read(65536)
    try:
        return read.sniff_format(head, path.name) in STREAMED_FORMATS
    except UnreadableFile:
        return False


# -- reading -----------------------------------------------------------------------------------------------
class TextLines:
    """A text file decoded block by block and cut into lines as the whole-file readers cut it.

    CSV is cut at \r, \n and \r\n (what csv.reader sees from a StringIO with newline=""); JSON Lines at
    \n only. A character cut off at the very end sets `truncated` (its record is quarantined); an
    undecodable byte anywhere else means the file mixes encodings, and it is refused whole.
    """

    def __init__(self, path: Path, codec: str, skip: int, json_lines: bool = False):
        self.path, self.codec, self.skip, self.json_lines = path, codec, skip, json_lines
        self.truncated = False

    def _split(self, text: str) -> list[str]:
        if self.json_lines:
            return [line + "\n" for line in text.split("\n")[:-1]] + [text[text.rfind("\n") + 1:]]
        return io.StringIO(text, newline="").readlines()

    def __iter__(self) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder(self.codec)(errors="strict")
        pending = ""
        with open(self.path, "rb") as handle:
            handle.seek(self.skip)
            offset = self.skip
            while block := handle.read(_BLOCK_BYTES):
                try:
                    lines = self._split(pending + decoder.decode(block))
                except UnicodeDecodeError as exc:
                    raise UnreadableFile(
                        f"invalid {self.codec} text near byte {offset + exc.start}",
                        f"文件中途出现无法按 {self.codec} 解码的内容（约第 {offset + exc.start} 字节），"
                        "疑似混合了多种编码或已损坏，请统一保存为 UTF-8 后再导入",
                    ) from None
                offset += len(block)
                # The last piece may be an unfinished line, or a \r whose \n is in the next block.
                pending = lines.pop() if lines and (not lines[-1].endswith("\n")) else ""
                yield from lines
        try:
            pending += decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            self.truncated = True
        yield from self._split(pending) if pending else ()


def _delimiter_of(path: Path, codec: str, skip: int) -> str:
    with open(path, "rb") as handle:
        handle.seek(skip)
        head = handle.read(65536)
    return read.delimiter(head.decode(codec, errors="ignore"))


def read_chunks(path: Path, chunk_rows: int = CHUNK_ROWS) -> tuple[str, str | None, Iterator[RawTable]]:
    """(format, encoding, chunks) of a big file; each chunk is a RawTable whose cells are not yet cleaned."""
    with open(path, "rb") as handle:
        head = handle.read(1024 * 1024)
    file_format = read.sniff_format(head, path.name)
    if file_format == "parquet":
        return file_format, None, _parquet_chunks(path, chunk_rows)
    codec, label, skip = read.stream_encoding(head)
    lines = TextLines(path, codec, skip, json_lines=file_format == "jsonl")
    if file_format == "jsonl":
        pieces = read.jsonl_chunks(lines, chunk_rows)
    else:
        pieces = read.delimited_chunks(lines, _delimiter_of(path, codec, skip), path.name, chunk_rows)
    return file_format, label, _text_chunks(pieces, lines, file_format, label)


def _text_chunks(pieces: Iterable, lines: TextLines, file_format: str, encoding: str) -> Iterator[RawTable]:
    previous = None
    for frame, numbers, malformed in pieces:
        if previous is not None:
            yield previous
        previous = RawTable(frame, numbers, file_format, encoding, malformed)
    if previous is None:
        return
    # The pieces are exhausted, so the whole file has been decoded and `truncated` is known.
    if lines.truncated:
        previous = read.drop_truncated_tail(replace(previous, frame=read.clean_cells(previous.frame)))
    yield previous


def _parquet_chunks(path: Path, chunk_rows: int) -> Iterator[RawTable]:
    first_line = 1
    for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
        frame = batch.to_pandas()
        yield RawTable(frame, np.arange(len(frame), dtype=np.int64) + first_line, "parquet", None)
        first_line += len(frame)


# -- preparing, in worker processes ------------------------------------------------------------------------
@dataclass
class ChunkJob:
    raw: RawTable
    layout: layouts.Layout
    channel: str | None
    batch_id: str
    first_row_no: int
    now: pd.Timestamp
    stem: Path
    number: int


def prepare_chunk(job: ChunkJob) -> int:
    """Map, validate and enrich one chunk and stage it as Parquet parts (posts, quarantine, accounts); returns the
    posts staged."""
    raw = replace(job.raw, frame=read.clean_cells(job.raw.frame))
    canonical = layouts.to_canonical(raw.frame, job.layout, channel=job.channel)
    posts, quarantine, found = accounts.checked_rows(raw, job.layout, canonical, job.batch_id, job.channel, job.now)
    posts["row_no"] = np.arange(len(posts), dtype=np.int64) + job.first_row_no
    suffix = f"{job.number:06d}.parquet"
    inbox.write_part(posts, job.stem.with_suffix(f".posts.{suffix}"), inbox.POSTS_PART_SCHEMA)
    inbox.write_part(quarantine, job.stem.with_suffix(f".quarantine.{suffix}"), inbox.QUARANTINE_PART_SCHEMA)
    inbox.write_accounts_part(found, job.stem.with_suffix(f".accounts.{suffix}"), job.first_row_no)
    return len(posts)


def _warm_worker() -> None:
    """Load the dictionaries and the sentiment model once per worker, before the first chunk arrives."""
    normalized = text.normalize_many(["预热文本"])
    topics.extract_keywords(normalized)
    sentiment.score_posts(normalized)


@contextmanager
def _main_script_hidden() -> Iterator[None]:
    """Hide the parent's __main__ from the workers being spawned.

    A spawned process re-runs its parent's __main__ when that is a script rather than a module run with -m.
    After Streamlit (or AppTest) has run a page in this process, __main__ is the page itself, and a worker
    would start the dashboard instead of preparing chunks. Workers need nothing from __main__.
    """
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def _run(jobs: Iterator[ChunkJob], workers: int) -> None:
    """Run every job, in this process or a pool, with at most workers + 1 chunks in flight."""
    if workers <= 1:
        for job in jobs:
            prepare_chunk(job)
        return
    # spawn, not fork: the parent may hold a DuckDB connection and threads (the dashboard, pytest).
    context = multiprocessing.get_context("spawn")
    with _main_script_hidden(), ProcessPoolExecutor(workers, mp_context=context, initializer=_warm_worker) as pool:
        pending: deque[Future] = deque()
        try:
            for job in jobs:
                pending.append(pool.submit(prepare_chunk, job))
                while len(pending) > workers:
                    pending.popleft().result()
            while pending:
                pending.popleft().result()
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise


# -- the entry point ---------------------------------------------------------------------------------------
def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_BLOCK_BYTES):
            digest.update(block)
    return digest.hexdigest()


def stage_file(path: Path, stem: Path, channel: str | None, workers: int, chunk_rows: int) -> BatchRecord:
    """Read and prepare the whole file into staged parts under `stem`; returns its batch record."""
    started = pd.Timestamp.now(tz=config.TIMEZONE)
    file_format, _, chunks = read_chunks(path, chunk_rows)
    rows_read = 0
    layout_seen: list[layouts.Layout] = []

    def jobs() -> Iterator[ChunkJob]:
        nonlocal rows_read
        for number, raw in enumerate(chunks):
            if not layout_seen:
                try:
                    layout_seen.append(layouts.detect_layout(read.column_names(raw.frame.columns), hint=path.name))
                except layouts.UnknownLayoutError as exc:
                    raise UnreadableFile(str(exc), exc.message_zh) from None
            first_row_no = rows_read
            rows_read += len(raw.frame) + len(raw.malformed)
            yield ChunkJob(raw, layout_seen[0], channel, stem.name, first_row_no, started, stem, number)

    _run(jobs(), workers)
    if not layout_seen:
        raise UnreadableFile("file is empty", "文件为空")
    return BatchRecord(stem.name, path.name, _sha256_file(path), file_format, layout_seen[0].name, rows_read,
                       started)


def ingest_big_file(path: Path, db_path: Path, channel: str | None = None, workers: int | None = None,
                    chunk_rows: int = CHUNK_ROWS) -> FileSummary:
    """Import one big file with bounded memory; the same outcomes and summary as ingest_bytes."""
    size = path.stat().st_size
    if size > MAX_STREAM_BYTES:
        return FileSummary(file=path.name, status="failed", error=f"file too large: {size} bytes",
                           error_zh=f"文件过大（{size / 1024 ** 3:.1f} GB），超过导入上限 "
                                    f"{MAX_STREAM_BYTES / 1024 ** 3:.0f} GB，请拆分后再导入")
    folder = config.inbox_dir(db_path)
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / uuid.uuid4().hex[:16]
    try:
        record = stage_file(path, stem, channel, workers or default_workers(), chunk_rows)
    except UnreadableFile as exc:
        inbox.remove_staged(stem)
        return FileSummary(file=path.name, status="failed", error=str(exc), error_zh=exc.message_zh)
    except Exception as exc:  # a hostile file must not crash the caller; nothing has been written
        inbox.remove_staged(stem)
        log.exception("unexpected error preparing %s", path)
        return FileSummary(file=path.name, status="failed", error=f"cannot import file: {exc!r}",
                           error_zh="导入失败：文件内容无法处理，未写入任何数据（详情见日志）")
    try:
        with open_store(db_path, memory_limit=WRITE_MEMORY_LIMIT) as owned:
            inbox.drain_inbox(owned, folder)  # our parts have no manifest yet: drain leaves them alone
            summary = inbox.write_staged(owned, record, stem)
    except DatabaseLocked:
        inbox.commit_to_inbox(stem, record)
        return inbox.staged_summary(record, stem, "queued")
    except Exception as exc:
        inbox.remove_staged(stem)
        log.exception("writing %s failed", path)
        return FileSummary(file=path.name, status="failed", error=f"write failed, nothing stored: {exc!r}",
                           error_zh="写入数据库失败，本文件的数据均未写入（详情见日志），请稍后重试")
    inbox.remove_staged(stem)
    return summary

