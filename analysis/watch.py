"""The watched folder: crawler exports dropped into `incoming/` are imported by the service, then filed away.

A file is taken once it has stopped changing (its modification time is `settle_seconds` old), imported with the
usual summary and quarantine (one transaction per file), then moved to `incoming/done/`, or to `incoming/failed/`
with a one-line `.reason.txt` beside it. The move comes after the commit: a `kill -9` between the two leaves the
file in `incoming/`, and the next tick imports it again as duplicates only, so no row is ever stored twice and
none is lost.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from pathlib import Path

from analysis import ingest
from analysis.ingest import FileSummary
from analysis.store import Store

log = logging.getLogger(__name__)

DONE, FAILED = "done", "failed"
# Names a writer uses while a file is still being written (browsers, rsync, our own atomic writes).
_PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".download", ".filepart")


def incoming_dir(db_path: Path, relative: str) -> Path:
    return Path(db_path).resolve().parent / relative


def waiting_files(folder: Path) -> list[Path]:
    """Files waiting to be imported, oldest first (hidden and partial files excluded)."""
    if not folder.is_dir():
        return []
    files = [p for p in folder.iterdir()
             if p.is_file() and not p.name.startswith(".") and not p.name.lower().endswith(_PARTIAL_SUFFIXES)]
    return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))


def is_settled(path: Path, settle_seconds: float, now: float | None = None) -> bool:
    """Unchanged for `settle_seconds`: a crawler still writing the file keeps touching it."""
    return (now if now is not None else time.time()) - path.stat().st_mtime >= settle_seconds


def _filed_name(folder: Path, name: str) -> Path:
    """A name in done/ or failed/ that never overwrites an earlier file of the same name."""
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    target = folder / f"{stamp}-{name}"
    number = 1
    while target.exists():
        number += 1
        target = folder / f"{stamp}-{number}-{name}"
    return target


def file_away(path: Path, outcome: str, reason: str | None = None) -> Path:
    folder = path.parent / outcome
    folder.mkdir(exist_ok=True)
    target = _filed_name(folder, path.name)
    if reason:
        target.with_name(target.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
    path.replace(target)
    return target


def import_incoming(store: Store, folder: Path, settle_seconds: float, workers: int | None = 1
                    ) -> list[FileSummary]:
    """Import every settled file in `folder` into the owner's store and file it away; one summary per file."""
    summaries = []
    for path in waiting_files(folder):
        if not is_settled(path, settle_seconds):
            continue
        summary = ingest.ingest_files([path], store.path, workers=workers)[0]
        if summary.status == "queued":  # cannot happen for the owner; keep the file rather than lose it
            log.error("incoming file %s was queued instead of imported; left in place", path.name)
            continue
        if summary.status == "failed":
            file_away(path, FAILED, summary.error or summary.error_zh)
            log.warning("incoming file %s failed: %s", path.name, summary.error)
        else:
            file_away(path, DONE)
            log.info("imported incoming file %s: read=%d inserted=%d duplicates=%d quarantined=%d",
                     path.name, summary.read, summary.inserted, summary.duplicates, summary.quarantined)
        summaries.append(summary)
    return summaries
