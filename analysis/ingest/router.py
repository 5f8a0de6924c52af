"""Files in, posts out: the entry points. Every row read ends as exactly one of: inserted, duplicate,
quarantined with a reason. Big files go to analysis.ingest.bulk; a locked database queues the batch.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from analysis import config, exports
from analysis.ingest import bulk
from analysis.ingest.inbox import FileSummary, drain_inbox, prepare, queue_prepared, write_prepared
from analysis.ingest.read import UnreadableFile, check_size
from analysis.store import DatabaseLocked, Store, open_store

log = logging.getLogger(__name__)


def ingest_bytes(data: bytes, name: str, db_path: Path, channel: str | None = None,
                 store: Store | None = None) -> FileSummary:
    """Ingest one file's bytes into the database, or queue it when another process owns the file."""
    try:
        batch = prepare(data, name, channel)
    except UnreadableFile as exc:
        return FileSummary(file=Path(name).name, status="failed", error=str(exc), error_zh=exc.message_zh)
    except Exception as exc:  # never crash the caller on a hostile file; nothing has been written yet
        log.exception("unexpected error preparing %s", name)
        return FileSummary(file=Path(name).name, status="failed", error=f"cannot import file: {exc!r}",
                           error_zh="导入失败：文件内容无法处理，未写入任何数据（详情见日志）")
    try:
        if store is not None:
            return write_prepared(store, batch)
        with open_store(db_path) as owned:
            drain_inbox(owned, config.inbox_dir(db_path))
            return write_prepared(owned, batch)
    except DatabaseLocked:
        return queue_prepared(config.inbox_dir(db_path), batch)
    except Exception as exc:  # the batch is one transaction: a failed write leaves nothing behind
        log.exception("writing %s failed", name)
        return FileSummary(file=Path(name).name, status="failed", error=f"write failed, nothing stored: {exc!r}",
                           error_zh="写入数据库失败，本文件的数据均未写入（详情见日志），请稍后重试")


def ingest_files(paths: list[Path], db_path: Path, channel: str | None = None,
                 workers: int | None = None) -> list[FileSummary]:
    """Ingest files one by one; big ones are read in chunks by a process pool (analysis.ingest.bulk)."""
    summaries = []
    for path in paths:
        try:
            if bulk.is_big(Path(path)):
                summaries.append(bulk.ingest_big_file(Path(path), db_path, channel, workers))
                continue
            check_size(Path(path).stat().st_size)
            data = Path(path).read_bytes()
        except UnreadableFile as exc:
            summaries.append(FileSummary(file=Path(path).name, status="failed", error=str(exc),
                                         error_zh=exc.message_zh))
            continue
        except OSError as exc:
            summaries.append(FileSummary(file=str(path), status="failed", error=str(exc),
                                         error_zh=f"无法打开文件：{exc.strerror}"))
            continue
        summaries.append(ingest_bytes(data, Path(path).name, db_path, channel))
    return summaries


def totals(summaries: list[FileSummary]) -> dict[str, int]:
    keys = ("read", "inserted", "duplicates", "quarantined", "queued")
    return {k: sum(getattr(s, k) for s in summaries) for k in keys} | {
        "failed_files": sum(s.status == "failed" for s in summaries)
    }


SUMMARY_HEADERS = {"file": "文件", "status": "结果", "layout": "识别格式", "read": "读取", "inserted": "新增",
                   "duplicates": "重复", "quarantined": "隔离", "queued": "排队",
                   "accounts": "账号信息"}
STATUS_ZH = {"imported": "已导入", "queued": "已排队（数据库忙）", "failed": "失败"}
QUARANTINE_HEADERS = {"source_file": "文件", "line": "行号", "reason": "原因", "raw": "原始记录"}


def summary_table(summaries: list[FileSummary]) -> pd.DataFrame:
    """Per-file counts for the UI, with Chinese headers."""
    frame = pd.DataFrame([s.as_dict() for s in summaries], columns=list(SUMMARY_HEADERS))
    frame["status"] = frame["status"].map(STATUS_ZH)
    return frame.rename(columns=SUMMARY_HEADERS)


def quarantine_rows(store: Store, batch_ids: list[str]) -> pd.DataFrame:
    if not batch_ids:
        return pd.DataFrame(columns=list(QUARANTINE_HEADERS))
    placeholders = ", ".join("?" for _ in batch_ids)
    return store.query(f"SELECT source_file, line, reason, raw FROM quarantine WHERE batch_id IN ({placeholders}) "
                       "ORDER BY source_file, line", batch_ids)


def quarantine_csv(rows: pd.DataFrame) -> bytes:
    return exports.csv_bytes(rows, QUARANTINE_HEADERS)
