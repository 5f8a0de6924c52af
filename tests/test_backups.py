"""Backups on an office's own database: taken by the CLI and by the service's tick, a damaged file refused with
the way back in Chinese (CLI and dashboard), and `restore` from another process, keeping the damaged file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analysis import backups, scheduler
from analysis.store import Store
from tests.conftest import REPO_ROOT
from tests.own_data import imported_export
from tests.service_helpers import cli, cli_json

METADATA_BLOCK = 12288  # DuckDB's first block, after the file's three 4 KiB headers: what a checkpoint rewrites


def tear(db) -> None:
    """What a torn in-place write leaves: part of the block new, its checksum no longer matching."""
    with open(db, "r+b") as handle:
        handle.seek(METADATA_BLOCK + 512)
        handle.write(b"\xff" * 256)


@pytest.fixture()
def own_db(tmp_path):
    db, _ = imported_export(tmp_path)
    return db


def posts_in(db) -> int:
    with Store(db, read_only=True) as store:
        return int(store.scalar("SELECT count(*) FROM posts"))


def test_backup_then_damage_then_restore_through_the_cli_loses_nothing_backed_up(own_db):
    posts = posts_in(own_db)
    taken = cli_json(own_db, "backup", "--json")
    assert taken["posts"] == posts > 0 and backups.listed(own_db) == [Path(taken["path"])]

    tear(own_db)
    refused = cli(own_db, "status")
    assert refused.returncode == 4
    assert "数据库文件已损坏" in refused.stderr and "python -m analysis restore" in refused.stderr
    assert Path(taken["path"]).name in refused.stderr and "Traceback" not in refused.stderr

    done = cli_json(own_db, "restore", "--json")  # the newest backup by default
    assert done["posts"] == posts and done["from"] == taken["path"]
    (aside,) = done["set_aside"]
    assert aside.startswith(str(own_db) + ".damaged-") and Path(aside).exists()  # kept, not deleted
    assert posts_in(own_db) == posts
    assert cli(own_db, "status").returncode == 0


def test_restore_refuses_while_another_process_holds_the_database(own_db):
    cli_json(own_db, "backup", "--json")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from analysis.store import Store; s = Store(sys.argv[1]); "
                               "print('open', flush=True); time.sleep(60)", str(own_db)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        refused = cli(own_db, "restore")
        assert refused.returncode == 3 and "占用" in refused.stderr
        assert not list(own_db.parent.glob("*.damaged-*"))
    finally:
        holder.kill()
        holder.wait()


def test_backups_keep_the_newest_never_list_a_cut_copy_and_keep_the_file_locked(own_db):
    with Store(own_db) as store:
        for day in (1, 2, 3):
            backups.take(store, pd.Timestamp(f"2026-11-0{day} 02:00", tz="Asia/Shanghai"), keep=2)
        # the copy must not cost this process its lock on the file: another writer is still refused
        beside = cli(own_db, "settings", "set", "service", '{"settle_seconds": 0}')
        assert beside.returncode == 3 and "占用" in beside.stderr, beside.stderr[-2000:]
    names = [p.name for p in backups.listed(own_db)]
    assert names == ["own-20261103-020000.duckdb", "own-20261102-020000.duckdb"]
    (backups.folder_of(own_db) / "own-20261104-020000.duckdb.partial").write_bytes(b"cut short")
    assert [p.name for p in backups.listed(own_db)] == names
    assert cli(own_db, "backup", "--keep", "0").returncode == 2


def test_the_tick_backs_up_once_a_day_after_its_time(own_db):
    with Store(own_db) as store:
        only_backup = tuple(s for s in scheduler.STEPS if s[0] == "backup")
        early = scheduler.run_tick(store, pd.Timestamp("2026-11-10 01:30", tz="Asia/Shanghai"), only_backup)
        assert early.summary["backup"]["written"] is None and not backups.listed(own_db)
        due = scheduler.run_tick(store, pd.Timestamp("2026-11-10 02:10", tz="Asia/Shanghai"), only_backup)
        assert due.summary["backup"]["written"] == "own-20261110-021000.duckdb" and not due.errors
        again = scheduler.run_tick(store, pd.Timestamp("2026-11-10 09:00", tz="Asia/Shanghai"), only_backup)
        assert again.summary["backup"]["written"] is None and len(backups.listed(own_db)) == 1
    for wrong, said in (('{"keep_backups": 0}', "保留备份份数"), ('{"backup_at": "2点"}', "数据库备份时间")):
        refused = cli(own_db, "settings", "set", "service", wrong)
        assert refused.returncode != 0 and said in refused.stderr


def test_the_dashboard_says_the_file_is_damaged_and_how_to_restore(own_db, monkeypatch):
    import streamlit as st

    cli_json(own_db, "backup", "--json")
    tear(own_db)
    monkeypatch.setenv("OPINION_DB", str(own_db))
    st.cache_resource.clear()
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=120)
    at.run()
    st.cache_resource.clear()
    assert not at.exception, [e.message for e in at.exception]
    shown = " ".join(e.value for e in at.error)
    assert "数据库文件已损坏" in shown and "python -m analysis restore" in shown and "backups" in shown
