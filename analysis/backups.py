"""Copies of the database to restore from: taken by the service every night and by `python -m analysis backup`,
kept beside the database (backups/), the newest few only; `restore` puts one back and sets the damaged file aside.

Why: an office's whole record (posts, incidents, 督办 history, audit log) lives in one DuckDB file, and DuckDB
rewrites a metadata block in place at every checkpoint, so a kill or a power cut that tears that one write
leaves a file DuckDB refuses to open (store.DatabaseCorrupt). A nightly copy bounds the loss to one day.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from analysis import cli
from analysis.config import TIMEZONE
from analysis.store import DatabaseCorrupt, DatabaseLocked, Store, open_store

FOLDER = "backups"
KEEP = 7


@dataclass(frozen=True)
class Backup:
    path: Path
    taken_at: pd.Timestamp
    posts: int

    def as_dict(self) -> dict:
        return {"path": str(self.path), "taken_at": self.taken_at.isoformat(), "posts": self.posts,
                "bytes": self.path.stat().st_size}


def folder_of(db_path: Path) -> Path:
    return Path(db_path).resolve().parent / FOLDER


def _name(db_path: Path, moment: pd.Timestamp) -> str:
    return f"{Path(db_path).stem}-{moment.tz_convert(TIMEZONE):%Y%m%d-%H%M%S}.duckdb"


def listed(db_path: Path) -> list[Path]:
    """This database's backups, newest first (the name carries the time, so the order is the name's)."""
    folder = folder_of(db_path)
    if not folder.is_dir():
        return []
    return sorted(folder.glob(f"{Path(db_path).stem}-????????-??????.duckdb"), reverse=True)


def newest(db_path: Path) -> Path | None:
    found = listed(db_path)
    return found[0] if found else None


def _posts_in(path: Path) -> int:
    """Opening the copy read-only and counting its posts: a backup that does not open is no backup."""
    with duckdb.connect(str(path), read_only=True) as conn:
        return int(conn.execute("SELECT count(*) FROM posts").fetchall()[0][0])


def take(store: Store, now: pd.Timestamp | None = None, keep: int = KEEP) -> Backup:
    """Copy the database (store.snapshot_to), check the copy opens, then drop all but the newest `keep`."""
    moment = now or pd.Timestamp.now(tz=TIMEZONE)
    folder = folder_of(store.path)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / _name(store.path, moment)
    partial = target.with_name(target.name + ".partial")  # never matched by listed(): a cut copy is not a backup
    store.snapshot_to(partial)
    with partial.open("rb") as handle:
        os.fsync(handle.fileno())
    posts = _posts_in(partial)
    os.replace(partial, target)
    for old in listed(store.path)[keep:]:
        old.unlink()
    return Backup(target, moment, posts)


def _in_use(db_path: Path) -> bool:
    """Whether another process holds DuckDB's lock on the file (a POSIX record lock, as DuckDB takes it)."""
    with open(db_path, "rb+") as handle:
        try:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.lockf(handle, fcntl.LOCK_UN)
        return False


def restore(db_path: Path, backup: Path, now: pd.Timestamp | None = None) -> dict:
    """Put `backup` in place of the database. The file it replaces (and its WAL) is renamed, never deleted:
    whatever it still holds can be sent for recovery."""
    db_path, backup = Path(db_path).resolve(), Path(backup).resolve()
    posts = _posts_in(backup)
    if db_path.exists() and _in_use(db_path):
        raise DatabaseLocked(f"database {db_path} is in use by another process: stop the service first")
    stamp = f"{(now or pd.Timestamp.now(tz=TIMEZONE)).tz_convert(TIMEZONE):%Y%m%d-%H%M%S}"
    set_aside = []
    for path in (db_path, db_path.with_name(db_path.name + ".wal")):
        if path.exists():
            aside = path.with_name(f"{path.name}.damaged-{stamp}")
            os.replace(path, aside)
            set_aside.append(str(aside))
    staging = db_path.with_name(db_path.name + ".restoring")
    shutil.copyfile(backup, staging)  # this process holds no DuckDB lock on the file, so a copy here is safe
    os.replace(staging, db_path)
    return {"restored": str(db_path), "from": str(backup), "posts": posts, "set_aside": set_aside}


def damaged_message_zh(exc: DatabaseCorrupt) -> str:
    """What a user reads when the file does not open: what happened, the copy to go back to, the command."""
    found = newest(exc.path)
    advice = (f"最近的备份是 {found.name}（{found.parent}）。停止值守服务后运行："
              f"python -m analysis restore {found} --db {exc.path}，损坏的文件会改名保留，不会删除。"
              if found else "没有找到备份（backups/ 目录为空）。请保留该文件并联系技术支持。")
    return f"数据库文件已损坏，无法打开（{exc.detail}）。{advice}"


def cli_backup(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis backup", parents=[cli.common_options()],
                                     description="Copy the database to backups/ now (the service does it nightly).")
    parser.add_argument("--list", action="store_true", help="list this database's backups instead")
    parser.add_argument("--keep", type=int, default=KEEP, help=f"backups kept, newest first (default {KEEP})")
    args = parser.parse_args(argv)
    db = cli.db_path(args)
    if args.list:
        rows = [{"path": str(p), "bytes": p.stat().st_size} for p in listed(db)]
        if cli.wants_json(args):
            cli.print_json(rows)
        else:
            print("\n".join(f"{r['path']}  {r['bytes'] / 1e6:.1f} MB" for r in rows) or "no backups yet")
        return 0
    if args.keep < 1:
        parser.error("--keep must be at least 1")
    with open_store(db) as store:
        done = take(store, keep=args.keep)
    if cli.wants_json(args):
        cli.print_json(done.as_dict())
    else:
        print(f"backup {done.path} ({done.posts} posts)")
    return 0


def cli_restore(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis restore", parents=[cli.common_options()],
                                     description="Replace the database with a backup; the replaced file is kept "
                                                 "beside it as *.damaged-<time>. Stop the service first.")
    parser.add_argument("backup", nargs="?", type=Path, help="backup file (default: the newest in backups/)")
    args = parser.parse_args(argv)
    db = cli.db_path(args)
    source = args.backup or newest(db)
    if source is None or not source.exists():
        print(f"no backup to restore from ({source or folder_of(db)})", file=sys.stderr)
        return 1
    done = restore(db, source)
    if cli.wants_json(args):
        cli.print_json(done)
    else:
        print(f"restored {done['restored']} from {done['from']} ({done['posts']} posts); "
              f"set aside: {', '.join(done['set_aside']) or 'nothing'}")
    return 0
