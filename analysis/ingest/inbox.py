"""Batches: a file prepared (read, mapped, validated, enriched) into one batch, written by the owner of the
database, or staged as Parquet parts in the inbox folder while another process owns the file and imported
atomically by whichever process next owns it.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis import config, near_dupes, schemes
from analysis.ingest import accounts, layouts
from analysis.ingest.read import RawTable, UnreadableFile, clean_cells, read_table, sha256_of
from analysis.ingest.validation import COUNT_COLUMNS
from analysis.store import POST_COLUMNS, BatchRecord, Store, no_accounts

log = logging.getLogger(__name__)
TZ = config.TIMEZONE


@dataclass
class FileSummary:
    file: str
    status: str  # imported | queued | failed
    read: int = 0
    inserted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    queued: int = 0
    accounts: int = 0   # accounts added or changed (verification, followers); for an account table, = inserted
    layout: str = ""
    batch_id: str = ""
    reasons: dict[str, int] = field(default_factory=dict)
    error: str = ""
    error_zh: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


# -- batches, inbox and the entry points -------------------------------------------------------------
@dataclass
class PreparedBatch:
    record: BatchRecord
    posts: pd.DataFrame
    quarantine: pd.DataFrame
    accounts: pd.DataFrame = field(default_factory=no_accounts)


def prepare(data: bytes, name: str, channel: str | None = None) -> PreparedBatch:
    """Read, map, validate and enrich one file: everything but the write (so it can run outside the owner)."""
    started = pd.Timestamp.now(tz=TZ)
    return prepare_table(read_table(data, name), name, sha256_of(data), channel, started)


def prepare_table(raw: RawTable, name: str, sha256: str, channel: str | None = None,
                  started: pd.Timestamp | None = None) -> PreparedBatch:
    started = started or pd.Timestamp.now(tz=TZ)
    try:
        layout = layouts.detect_layout(list(raw.frame.columns), hint=name)
    except layouts.UnknownLayoutError as exc:
        raise UnreadableFile(str(exc), exc.message_zh) from None
    canonical = layouts.to_canonical(raw.frame, layout, channel=channel)
    batch_id = uuid.uuid4().hex[:16]
    posts, quarantine, found = accounts.checked_rows(raw, layout, canonical, batch_id, channel)
    rows_read = len(raw.frame) + len(raw.malformed)
    record = BatchRecord(batch_id, Path(name).name, sha256, raw.file_format, layout.name, rows_read, started)
    return PreparedBatch(record, posts, quarantine, found)


def table_from_frame(frame: pd.DataFrame, file_format: str = "dataframe") -> RawTable:
    """Wrap an in-memory frame (the demo generator, tests) so it takes the same path as a file."""
    return RawTable(clean_cells(frame), np.arange(len(frame), dtype=np.int64) + 1, file_format, None)


def _summary(batch: PreparedBatch, status: str) -> FileSummary:
    return FileSummary(
        file=batch.record.source_file, status=status, read=batch.record.rows_read,
        quarantined=len(batch.quarantine), layout=batch.record.layout, batch_id=batch.record.batch_id,
        reasons=dict(Counter(batch.quarantine["reason_code"])),
    )


def write_prepared(store: Store, batch: PreparedBatch) -> FileSummary:
    posts = schemes.tag_batch(store, batch.posts)
    counts = store.write_batch(batch.record, posts, batch.quarantine, batch.accounts)
    schemes.mark_given(store, posts)
    near_dupes.update(store)
    return _counted(_summary(batch, "imported"), counts)


def _counted(summary: FileSummary, counts) -> FileSummary:
    """The store's counts (for an account table: accounts added or changed, and the unchanged as duplicates)."""
    summary.inserted, summary.duplicates, summary.accounts = counts.inserted, counts.duplicates, counts.accounts
    return summary


# -- staged batches: Parquet parts on disk (the inbox, and big files read in chunks) ------------------------
_STRING = pa.string()
POSTS_PART_SCHEMA = pa.schema(
    [("row_no", pa.int64())]
    + [(name, pa.timestamp("us", tz=TZ) if name in ("created_at", "collected_at") else
        pa.int64() if name in COUNT_COLUMNS else pa.float64() if name == "sentiment_score" else
        pa.list_(_STRING) if name in ("topics", "keywords") else _STRING) for name in POST_COLUMNS]
    + [("topic_given", pa.bool_())]
)
QUARANTINE_PART_SCHEMA = pa.schema([("line", pa.int64()), ("reason_code", _STRING), ("reason", _STRING),
                                    ("raw", _STRING)])
ACCOUNTS_PART_SCHEMA = pa.schema([("row_no", pa.int64()), ("author_id", _STRING), ("channel", _STRING),
                                  ("verified", _STRING), ("followers", pa.int64()), ("follows", pa.int64())])


def write_part(frame: pd.DataFrame, path: Path, schema: pa.Schema) -> None:
    """One Parquet part with fixed column types (an all-empty column would otherwise be typed null),
    renamed into place so a reader never sees half a file."""
    if frame.empty:  # an empty frame's columns have no meaningful types (a chunk whose rows were all bad)
        table = schema.empty_table()
    else:
        frame = frame.reset_index(drop=True)
        for name in ("created_at", "collected_at"):
            if name in schema.names:
                frame[name] = frame[name].astype(f"datetime64[us, {TZ}]")
        table = pa.Table.from_pandas(frame.loc[:, schema.names], schema=schema, preserve_index=False)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)


def staged_parts(stem: Path) -> tuple[list[Path], list[Path], list[Path]]:
    """A staged batch's posts, quarantine and accounts parts, in the order they were read."""
    return tuple(sorted(stem.parent.glob(f"{stem.name}.{kind}*.parquet"))
                 for kind in ("posts", "quarantine", "accounts"))


def write_accounts_part(frame: pd.DataFrame, path: Path, first_row_no: int = 0) -> None:
    """The accounts of a batch (or chunk), numbered in reading order so the last word on an account wins."""
    write_part(frame.assign(row_no=np.arange(len(frame), dtype=np.int64) + first_row_no), path, ACCOUNTS_PART_SCHEMA)


def write_staged(store: Store, record: BatchRecord, stem: Path) -> FileSummary:
    """Write a staged batch in one transaction, DuckDB reading the parts from disk."""
    posts_parts, quarantine_parts, accounts_parts = staged_parts(stem)
    for part in posts_parts:  # one part at a time, so memory stays bounded
        frame = pd.read_parquet(part)
        tagged = schemes.tag_batch(store, frame)
        if tagged is not frame:
            write_part(tagged, part, POSTS_PART_SCHEMA)
    counts = store.write_batch(record, posts_parts, quarantine_parts, accounts_parts)
    for part in posts_parts:
        schemes.mark_given(store, pd.read_parquet(part, columns=["post_id", "topic_given"]))
    near_dupes.update(store)
    return _counted(staged_summary(record, stem, "imported"), counts)


def staged_summary(record: BatchRecord, stem: Path, status: str) -> FileSummary:
    """The summary of a staged batch, counted from the parts' metadata and reason codes."""
    posts_parts, quarantine_parts, _ = staged_parts(stem)
    reasons = pd.read_parquet(quarantine_parts, columns=["reason_code"])["reason_code"]
    posts = sum(pq.ParquetFile(part).metadata.num_rows for part in posts_parts)
    return FileSummary(file=record.source_file, status=status, read=record.rows_read, quarantined=len(reasons),
                       queued=posts if status == "queued" else 0, layout=record.layout, batch_id=record.batch_id,
                       reasons=dict(Counter(reasons)))


def commit_to_inbox(stem: Path, record: BatchRecord) -> None:
    """The manifest, renamed into place last, is what makes a staged batch visible to drain_inbox."""
    manifest = {**asdict(record), "started_at": record.started_at.isoformat()}
    tmp = stem.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, ensure_ascii=False))
    tmp.replace(stem.with_suffix(".json"))


def remove_staged(stem: Path) -> None:
    for path in stem.parent.glob(f"{stem.name}.*"):
        path.unlink(missing_ok=True)


def queue_prepared(inbox: Path, batch: PreparedBatch) -> FileSummary:
    """Stage the batch as Parquet parts, then commit it with its manifest."""
    inbox.mkdir(parents=True, exist_ok=True)
    stem = inbox / batch.record.batch_id
    write_part(batch.posts.reset_index(drop=True).assign(row_no=lambda f: range(len(f))),
               stem.with_suffix(".posts.parquet"), POSTS_PART_SCHEMA)
    write_part(batch.quarantine, stem.with_suffix(".quarantine.parquet"), QUARANTINE_PART_SCHEMA)
    write_accounts_part(batch.accounts, stem.with_suffix(".accounts.parquet"))
    commit_to_inbox(stem, batch.record)
    summary = _summary(batch, "queued")
    summary.queued = len(batch.posts)
    return summary


# A temp file, or Parquet without its manifest, this old belongs to a queuer that died mid-write: removed.
# Younger ones may still be being written by a live process, so they are only ignored.
STALE_INBOX_SECONDS = 3600
_DRAIN_LOCK = threading.Lock()


def _clean_stale_inbox_files(inbox: Path, stale_after: float) -> None:
    cutoff = pd.Timestamp.now(tz="UTC").timestamp() - stale_after
    for path in inbox.iterdir():
        committed = inbox / (path.name.split(".", 1)[0] + ".json")
        if path.suffix == ".json" or committed.exists():
            continue
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                log.warning("removed %s left in the inbox by an interrupted ingest", path.name)
        except FileNotFoundError:
            continue


def drain_inbox(store: Store, inbox: Path, stale_after: float = STALE_INBOX_SECONDS) -> list[FileSummary]:
    """Import every complete queued batch; safe to repeat (a batch already stored is only cleaned up).

    Only a manifest (renamed into place last) makes a batch visible; leftovers of a queuer that was
    killed before its manifest landed are ignored, and removed once older than `stale_after` seconds.
    """
    if not inbox.is_dir():
        return []
    with _DRAIN_LOCK:  # two page loads at once in the dashboard must not import the same batch twice
        _clean_stale_inbox_files(inbox, stale_after)
        return [summary for manifest_path in sorted(inbox.glob("*.json"), key=lambda p: p.stat().st_mtime)
                if (summary := _import_queued(store, manifest_path)) is not None]


def _import_queued(store: Store, manifest_path: Path) -> FileSummary | None:
    """Write one queued batch unless it is already stored, then remove its files (manifest last)."""
    summary = None
    manifest = json.loads(manifest_path.read_text())
    manifest["started_at"] = pd.Timestamp(manifest["started_at"])
    record = BatchRecord(**manifest)
    stem = manifest_path.with_suffix("")
    if not store.batch_exists(record.batch_id):
        summary = write_staged(store, record, stem)
        log.info("imported queued batch %s from %s", record.batch_id, record.source_file)
    for parts in staged_parts(stem):
        for path in parts:
            path.unlink(missing_ok=True)
    manifest_path.unlink(missing_ok=True)
    return summary
