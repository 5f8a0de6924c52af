"""Store: schema versioning, atomic batches, one writer per file."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import store as store_module
from analysis.store import DatabaseLocked, Store
from tests.factories import posts_frame, write_posts


def test_new_database_is_migrated_once_and_reopens_at_the_same_version(db_path):
    with Store(db_path) as store:
        assert store.schema_version() == len(store_module.MIGRATIONS)
    with Store(db_path) as store:
        assert store.schema_version() == len(store_module.MIGRATIONS)
        assert store.scalar("SELECT count(*) FROM schema_version") == len(store_module.MIGRATIONS)


def test_incident_links_made_before_version_3_get_their_post_channel(db_path, monkeypatch):
    monkeypatch.setattr(store_module, "MIGRATIONS", store_module.MIGRATIONS[:2])
    with Store(db_path) as store:
        write_posts(store, [{"post_id": "p1", "channel": "抖音", "created_at": "2026-11-20 10:00"}])
        store._conn.execute("INSERT INTO incident_posts (incident_id, post_id, added_by) VALUES ('i1', 'p1', 't')")
    monkeypatch.undo()
    with Store(db_path) as store:
        assert store.scalar("SELECT channel FROM incident_posts WHERE post_id = 'p1'") == "抖音"


def test_database_from_a_newer_program_is_refused(db_path):
    with Store(db_path) as store:
        store._conn.execute("INSERT INTO schema_version VALUES (99, now())")
    with pytest.raises(RuntimeError, match="newer than this program"):
        Store(db_path)


def test_second_writer_process_gets_database_locked(db_path):
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    with Store(db_path):
        code = ("import sys\nfrom analysis.store import Store, DatabaseLocked\n"
                "try:\n    Store(sys.argv[1])\nexcept DatabaseLocked:\n    sys.exit(42)\n")
        result = subprocess.run([sys.executable, "-c", code, str(db_path)], cwd=REPO_ROOT, timeout=60)
    assert result.returncode == 42
    assert issubclass(DatabaseLocked, RuntimeError)


def test_failed_batch_leaves_nothing_behind(db_path):
    with Store(db_path) as store:
        write_posts(store, [{"created_at": "2026-11-01 10:00"}], batch_id="ok")
        bad = posts_frame([{"post_id": "x1", "created_at": "2026-11-01 11:00"},
                           {"post_id": "x2", "created_at": "2026-11-01 12:00", "sentiment_label": "不存在"}])
        record = store_module.BatchRecord("bad", "f", "sha", "csv", "canonical", 2, pd.Timestamp.now(tz="UTC"))
        empty_quarantine = pd.DataFrame({"line": [3], "reason_code": ["bad_date"], "reason": ["r"], "raw": ["{}"]})
        with pytest.raises(Exception, match="CHECK"):
            store.write_batch(record, bad, empty_quarantine)
        assert store.scalar("SELECT count(*) FROM posts") == 1
        assert store.scalar("SELECT count(*) FROM quarantine") == 0
        assert store.scalar("SELECT count(*) FROM ingest_batches") == 1


def test_data_version_changes_when_a_batch_lands(db_path):
    with Store(db_path) as store:
        before = store.data_version()
        write_posts(store, [{"created_at": "2026-11-01 10:00"}])
        assert store.data_version() != before
