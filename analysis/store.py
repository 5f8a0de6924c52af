"""The one door to the DuckDB file: schema and migrations, connection, bulk batch writes, queries."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from analysis.config import TIMEZONE

log = logging.getLogger(__name__)

POST_COLUMNS: tuple[str, ...] = (
    "post_id", "channel", "site", "url", "author_id", "title", "text", "text_norm", "created_at",
    "collected_at", "parent_id", "root_id", "post_type", "repost_count", "comment_count", "like_count",
    "read_count", "region", "topic", "topics", "keywords", "sentiment_score", "sentiment_label",
    "sentiment_model", "content_key", "batch_id",
)
QUARANTINE_COLUMNS: tuple[str, ...] = ("line", "reason_code", "reason", "raw")
ACCOUNT_COLUMNS: tuple[str, ...] = ("author_id", "channel", "verified", "followers", "follows")

# Forward-only migrations: index i brings the schema from version i to i + 1. Never edit a shipped one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE posts (
        post_id         VARCHAR PRIMARY KEY,
        channel         VARCHAR NOT NULL,
        site            VARCHAR,
        url             VARCHAR,
        author_id       VARCHAR,
        title           VARCHAR,
        text            VARCHAR NOT NULL,          -- as read, untouched
        text_norm       VARCHAR NOT NULL,          -- simplified, half-width: for search and models
        created_at      TIMESTAMPTZ NOT NULL,
        collected_at    TIMESTAMPTZ,
        parent_id       VARCHAR,
        root_id         VARCHAR,
        post_type       VARCHAR NOT NULL CHECK (post_type IN ('original', 'repost', 'comment')),
        repost_count    BIGINT NOT NULL DEFAULT 0,
        comment_count   BIGINT NOT NULL DEFAULT 0,
        like_count      BIGINT NOT NULL DEFAULT 0,
        read_count      BIGINT NOT NULL DEFAULT 0,
        region          VARCHAR,
        topic           VARCHAR NOT NULL,
        topics          VARCHAR[] NOT NULL,
        keywords        VARCHAR[] NOT NULL,
        sentiment_score DOUBLE NOT NULL,
        sentiment_label VARCHAR NOT NULL CHECK (sentiment_label IN ('正面', '中性', '负面')),
        sentiment_model VARCHAR NOT NULL,
        content_key     VARCHAR NOT NULL,          -- author + text + minute: the third duplicate rule
        batch_id        VARCHAR NOT NULL,
        ingested_at     TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TABLE quarantine (
        batch_id        VARCHAR NOT NULL,
        source_file     VARCHAR NOT NULL,
        source_sha256   VARCHAR NOT NULL,
        line            BIGINT NOT NULL,
        reason_code     VARCHAR NOT NULL,
        reason          VARCHAR NOT NULL,
        raw             VARCHAR NOT NULL,
        quarantined_at  TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TABLE ingest_batches (
        batch_id        VARCHAR PRIMARY KEY,
        source_file     VARCHAR NOT NULL,
        sha256          VARCHAR NOT NULL,
        file_format     VARCHAR NOT NULL,
        layout          VARCHAR NOT NULL,
        rows_read       BIGINT NOT NULL,
        inserted        BIGINT NOT NULL,
        duplicates      BIGINT NOT NULL,
        quarantined     BIGINT NOT NULL,
        started_at      TIMESTAMPTZ NOT NULL,
        finished_at     TIMESTAMPTZ NOT NULL
    );
    """,
    # 2: the incident workflow, alerts, analysts' sentiment corrections, settings and the audit log.
    """
    CREATE SEQUENCE event_seq;
    CREATE SEQUENCE alert_seq;
    CREATE SEQUENCE audit_seq;
    CREATE TABLE incidents (
        incident_id      VARCHAR PRIMARY KEY,
        title            VARCHAR NOT NULL,
        topic            VARCHAR,
        region           VARCHAR,
        source           VARCHAR NOT NULL,        -- spike | analyst | ticket | demo
        first_seen_at    TIMESTAMPTZ NOT NULL,
        responsible_unit VARCHAR,
        tier_set         VARCHAR NOT NULL,
        created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
        created_by       VARCHAR NOT NULL
    );
    CREATE TABLE incident_posts (
        incident_id VARCHAR NOT NULL,
        post_id     VARCHAR NOT NULL,
        added_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
        added_by    VARCHAR NOT NULL,
        PRIMARY KEY (incident_id, post_id)
    );
    CREATE TABLE incident_events (             -- append-only lifecycle log
        event_id    BIGINT PRIMARY KEY DEFAULT nextval('event_seq'),
        incident_id VARCHAR NOT NULL,
        step        VARCHAR NOT NULL,
        occurred_at TIMESTAMPTZ NOT NULL,
        actor       VARCHAR NOT NULL,
        note        VARCHAR,
        recorded_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TABLE incident_grades (             -- every grading, computed or overridden, kept
        incident_id VARCHAR NOT NULL,
        graded_at   TIMESTAMPTZ NOT NULL,
        tier_set    VARCHAR NOT NULL,
        grade       VARCHAR NOT NULL,
        reasons     VARCHAR[] NOT NULL,
        signals     JSON NOT NULL,
        is_override BOOLEAN NOT NULL,
        actor       VARCHAR NOT NULL,
        note        VARCHAR
    );
    CREATE TABLE alert_rules (
        rule_id     VARCHAR PRIMARY KEY,
        name        VARCHAR NOT NULL,
        kind        VARCHAR NOT NULL,
        params      JSON NOT NULL,
        enabled     BOOLEAN NOT NULL DEFAULT true,
        cooldown_minutes INTEGER NOT NULL DEFAULT 60,
        updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_by  VARCHAR NOT NULL
    );
    CREATE TABLE alerts (
        alert_id    BIGINT PRIMARY KEY DEFAULT nextval('alert_seq'),
        rule_id     VARCHAR NOT NULL,
        dedupe_key  VARCHAR NOT NULL UNIQUE,    -- the same data never fires the same alert twice
        fired_at    TIMESTAMPTZ NOT NULL,
        window_start TIMESTAMPTZ,
        window_end  TIMESTAMPTZ,
        subject     VARCHAR,                    -- topic / channel / region / incident the alert is about
        severity    VARCHAR NOT NULL,
        message     VARCHAR NOT NULL,
        details     JSON NOT NULL,
        state       VARCHAR NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'acknowledged', 'closed')),
        state_by    VARCHAR,
        state_at    TIMESTAMPTZ,
        merged_count INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE sentiment_corrections (
        post_id      VARCHAR NOT NULL,
        label        VARCHAR NOT NULL CHECK (label IN ('正面', '中性', '负面')),
        model_label  VARCHAR NOT NULL,           -- what the model said, kept for accuracy and retraining
        model_score  DOUBLE NOT NULL,
        model        VARCHAR NOT NULL,
        corrected_by VARCHAR NOT NULL,
        corrected_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        note         VARCHAR
    );
    CREATE TABLE settings (
        key        VARCHAR PRIMARY KEY,
        value      JSON NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_by VARCHAR NOT NULL
    );
    CREATE TABLE audit_log (
        audit_id  BIGINT PRIMARY KEY DEFAULT nextval('audit_seq'),
        logged_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        actor     VARCHAR NOT NULL,
        action    VARCHAR NOT NULL,
        target    VARCHAR,
        details   JSON
    );
    """,
    # A linked post's channel and time, kept beside the link (neither ever changes): listing incidents then
    # reads no posts, and an incident's posts are read from its time span only (zone maps skip the rest).
    # Both were scans of every post id: 180–230 ms and 150–190 ms at 10 M posts.
    """
    ALTER TABLE incident_posts ADD COLUMN channel VARCHAR;
    ALTER TABLE incident_posts ADD COLUMN created_at TIMESTAMPTZ;
    UPDATE incident_posts SET channel = p.channel, created_at = p.created_at
    FROM posts p WHERE p.post_id = incident_posts.post_id;
    """,
    # 4: the always-on service (analysis.service): what each scheduler tick did, which alert went to which
    # notification target (so a target that was down is retried next tick), and small service state values.
    """
    CREATE SEQUENCE tick_seq;
    CREATE TABLE service_ticks (
        tick_id     BIGINT PRIMARY KEY DEFAULT nextval('tick_seq'),
        started_at  TIMESTAMPTZ NOT NULL,
        finished_at TIMESTAMPTZ NOT NULL,
        summary     JSON NOT NULL,                -- step -> what it did
        errors      JSON NOT NULL                 -- step -> error line; {} when all went well
    );
    CREATE TABLE alert_deliveries (
        alert_id     BIGINT NOT NULL,
        target       VARCHAR NOT NULL,
        ok           BOOLEAN NOT NULL,
        attempts     INTEGER NOT NULL,
        error        VARCHAR,
        attempted_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TABLE service_state (
        key        VARCHAR PRIMARY KEY,
        value      JSON NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    """,
    # Incidents opened on an office's own data: a state beside the lifecycle (待确认 proposals from the tick,
    # 误报 dismissals, merges), what new posts must match to join (topic, keywords, channels), the work fields of
    # the 专报 (承办单位 is responsible_unit), and which alert or spike each incident came from (one incident per
    # source: the tick may propose the same alert again and again).
    """
    ALTER TABLE incidents ADD COLUMN state VARCHAR DEFAULT 'active';   -- proposed | active | dismissed | merged
    ALTER TABLE incidents ADD COLUMN state_reason VARCHAR;
    ALTER TABLE incidents ADD COLUMN state_by VARCHAR;
    ALTER TABLE incidents ADD COLUMN state_at TIMESTAMPTZ;
    ALTER TABLE incidents ADD COLUMN merged_into VARCHAR;
    ALTER TABLE incidents ADD COLUMN match_keywords VARCHAR[];
    ALTER TABLE incidents ADD COLUMN match_channels VARCHAR[];            -- NULL: any channel
    ALTER TABLE incidents ADD COLUMN instruction VARCHAR;                 -- 领导批示
    ALTER TABLE incidents ADD COLUMN instruction_by VARCHAR;
    ALTER TABLE incidents ADD COLUMN instruction_at TIMESTAMPTZ;
    ALTER TABLE incidents ADD COLUMN response_url VARCHAR;                -- 公开回应 link
    ALTER TABLE incidents ADD COLUMN response_channel VARCHAR;
    ALTER TABLE incidents ADD COLUMN facts JSON;                          -- 基本情况: 时间/地点/类别/伤亡/…
    UPDATE incidents SET state = 'active' WHERE state IS NULL;
    CREATE TABLE incident_sources (
        kind        VARCHAR NOT NULL,             -- alert | spike
        source_key  VARCHAR NOT NULL,             -- the alert id, or by|key|window start
        incident_id VARCHAR NOT NULL,
        linked_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
        linked_by   VARCHAR NOT NULL,
        PRIMARY KEY (kind, source_key)
    );
    """,
    # Monitoring schemes (analysis.schemes): the source of posts' topic/topics. topic_given marks the posts whose
    # file gave their topic, which re-tagging leaves alone.
    """
    CREATE TABLE schemes (
        name        VARCHAR PRIMARY KEY,
        expression  VARCHAR NOT NULL,
        scope       VARCHAR NOT NULL DEFAULT 'both' CHECK (scope IN ('both', 'title', 'text')),
        channels    VARCHAR[],                    -- NULL: every channel
        owner       VARCHAR NOT NULL,
        position    INTEGER NOT NULL,             -- ties between equally strong schemes go to the first
        updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_by  VARCHAR NOT NULL
    );
    ALTER TABLE posts ADD COLUMN topic_given BOOLEAN DEFAULT false;
    """,
    # Near-duplicates (analysis.near_dupes): each post's cluster (named by its earliest post, the 首发), the MinHash
    # signature of every signed post (NULL: too short to sign) and its LSH band keys, to match later posts against.
    """
    ALTER TABLE posts ADD COLUMN dup_cluster VARCHAR;
    CREATE TABLE dup_signed (post_id VARCHAR PRIMARY KEY, signature BLOB);
    CREATE TABLE dup_bands (band_key BIGINT NOT NULL, post_id VARCHAR NOT NULL);
    """,
    # Accounts as publishers (analysis.ingest.accounts): what exports say of the accounts behind posts.author_id,
    # nothing about the person. `authors` is every author of posts with what is known of the account.
    """
    CREATE TABLE accounts (
        author_id   VARCHAR PRIMARY KEY,          -- as posts.author_id holds it (given or hashed at import)
        channel     VARCHAR,
        verified    VARCHAR,                      -- 政务认证/媒体认证/机构认证/个人认证/已认证/未认证; NULL unknown
        followers   BIGINT,
        follows     BIGINT,
        batch_id    VARCHAR NOT NULL,             -- the import that last changed it
        updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE VIEW authors AS
        SELECT p.author_id, count(*) AS posts, min(p.created_at) AS first_post_at, max(p.created_at) AS last_post_at,
               string_agg(DISTINCT p.channel, '、' ORDER BY p.channel) AS channels,
               CAST(sum(p.repost_count + p.comment_count + p.like_count) AS BIGINT) AS interactions,
               any_value(a.verified) AS verified, any_value(a.followers) AS followers,
               any_value(a.follows) AS follows
        FROM posts p LEFT JOIN accounts a ON a.author_id = p.author_id
        WHERE p.author_id IS NOT NULL
        GROUP BY p.author_id;
    -- 网民主要观点 of open incidents, computed by the service's tick (analysis.opinions.precompute_incidents)
    CREATE TABLE incident_viewpoints (
        incident_id VARCHAR PRIMARY KEY,
        posts_key   VARCHAR NOT NULL,             -- the posts it was computed from (opinions._posts_key)
        viewpoints  JSON NOT NULL,
        computed_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    """,
)


# What a brand-new database starts with, registered by the modules that own it (alerts: the default rules), so
# the store never imports them. Run once, by the open that created the schema (or, for a seed tied to a table, by
# the open whose migration created that table: an older database gets it when upgraded); analysis/__init__.py
# imports the registering modules, so every process that can create a database has them.
_SEEDS: list[tuple[Callable[[Store], object], str | None]] = []


def seed_new_databases(seed: Callable[[Store], object] | None = None, *, table: str | None = None):
    """Register `seed(store)` to run when an open creates a database (not on later opens); with `table`, when an
    open's migration creates that table. Usable as @seed_new_databases or @seed_new_databases(table=...)."""
    def register(function: Callable[[Store], object]) -> Callable[[Store], object]:
        _SEEDS.append((function, table))
        return function
    return register(seed) if seed is not None else register


def no_accounts() -> pd.DataFrame:
    """A batch's accounts when its file has no account columns: ACCOUNT_COLUMNS, typed, no rows."""
    return pd.DataFrame({c: pd.Series(dtype="Int64" if c in ("followers", "follows") else object)
                         for c in ACCOUNT_COLUMNS})


def _sql_literal(text: str) -> str:
    """A path inside a SQL string literal (COPY and read_parquet take no bound parameters for paths)."""
    return text.replace("'", "''")


def write_tables(path: str | Path, tables: Mapping[str, pd.DataFrame]) -> None:
    """Write a derived DuckDB file (a rollup) whole: into path.tmp, then renamed over path, so a reader opens
    the old file or the new one, never half of one."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(target.name + ".tmp")
    staging.unlink(missing_ok=True)
    with duckdb.connect(str(staging)) as conn:
        conn.execute(f"SET TimeZone = '{TIMEZONE}'")
        for name, frame in tables.items():
            conn.register("incoming", frame)
            conn.execute(f'CREATE TABLE "{name}" AS SELECT * FROM incoming')
            conn.unregister("incoming")
    staging.replace(target)


class DatabaseLocked(RuntimeError):
    """Another process holds the database file (DuckDB allows one writer process)."""


class DatabaseCorrupt(RuntimeError):
    """DuckDB refuses the file: a block fails its checksum. DuckDB rewrites a metadata block in place when it
    checkpoints, so a kill or power cut that tears that one write can leave such a file; analysis.backups
    keeps the copies it is restored from (`python -m analysis restore`)."""

    def __init__(self, path: Path, detail: str):
        super().__init__(f"database {path} is damaged: {detail}")
        self.path = path
        self.detail = detail


# The Store this process owns for its lifetime (the service: dashboard, scheduler and API share it), by path.
# Code that opens the database by path gets the owner when there is one, so a CLI verb run inside the service
# (through its API) or a page never opens a second connection, and every write bumps the same `commits`.
_OWNERS: dict[Path, Store] = {}


def register_owner(store: Store) -> None:
    _OWNERS[store.path.resolve()] = store


def unregister_owner(store: Store) -> None:
    _OWNERS.pop(store.path.resolve(), None)


def owner_of(path: str | Path) -> Store | None:
    return _OWNERS.get(Path(path).resolve())


@contextmanager
def open_store(path: str | Path, *, read_only: bool = False, memory_limit: str | None = None) -> Iterator[Store]:
    """The process's owner Store for `path` when there is one (left open), else a Store closed on exit."""
    owner = owner_of(path)
    if owner is not None:
        yield owner
        return
    with Store(path, read_only=read_only, memory_limit=memory_limit) as store:
        yield store


@dataclass(frozen=True)
class BatchRecord:
    """What is known about an ingest batch before it is written."""

    batch_id: str
    source_file: str
    sha256: str
    file_format: str
    layout: str
    rows_read: int
    started_at: pd.Timestamp


@dataclass(frozen=True)
class WriteCounts:
    inserted: int
    duplicates: int
    quarantined: int
    accounts: int = 0   # accounts added, or changed by this batch


class Store:
    """A DuckDB file opened by this process; thread-safe through a cursor per query."""

    def __init__(self, path: str | Path, *, read_only: bool = False, memory_limit: str | None = None):
        """`memory_limit` caps DuckDB's buffer pool (e.g. '256MB'; big sorts and joins spill to disk instead);
        by default DuckDB may keep up to 80 % of the machine's RAM of table data cached."""
        self.path = Path(path)
        self.read_only = read_only
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.Error as exc:
            message = str(exc).lower()
            if isinstance(exc, duckdb.IOException) and "lock" in message:
                raise DatabaseLocked(f"database {self.path} is in use by another process") from exc
            if "corrupt" in message:
                raise DatabaseCorrupt(self.path, str(exc).strip().splitlines()[0]) from exc
            raise
        self._write_lock = threading.Lock()
        self.commits = 0  # writes committed through this Store: a cheap "has anything changed" for callers
        self._conn.execute(f"SET TimeZone = '{TIMEZONE}'")
        if memory_limit:
            self._conn.execute(f"SET memory_limit = '{_sql_literal(memory_limit)}'")  # SET takes no parameters
        self.created = False  # True when this open created the schema (and ran the seeds)
        self.created_tables: frozenset[str] = frozenset()  # the tables this open's migrations created
        if not read_only:
            self._migrate()
            for seed, table in _SEEDS:
                if (self.created and table is None) or table in self.created_tables:
                    seed(self)

    @classmethod
    def on_parquet_lake(cls, lake: str | Path) -> Store:
        """Read-only store whose `posts` is a day-partitioned Parquet dataset (see export_parquet): the
        metric queries run on it unchanged, as they would on a lake read by a distributed SQL engine."""
        store = cls.__new__(cls)
        store.path, store.read_only = Path(lake), True
        store._conn = duckdb.connect(":memory:")
        store._write_lock = threading.Lock()
        store._conn.execute(f"SET TimeZone = '{TIMEZONE}'")
        pattern = str(Path(lake) / "**" / "*.parquet")
        store._conn.execute(f"CREATE VIEW posts AS SELECT * EXCLUDE (day) FROM read_parquet('{_sql_literal(pattern)}', "
                            "hive_partitioning = true)")
        return store

    def export_parquet(self, lake: str | Path) -> int:
        """Bring the Parquet lake up to date with posts, partitioned by Shanghai calendar day
        (lake/day=2026-11-20/*.parquet), and return how many posts were written.

        Only days whose post count differs from the lake's are written: new days, the day still being
        collected at the last export, and a day an archive import added to. Re-running writes nothing. A day is
        written whole beside the lake and then renamed into place, so a reader sees the old day or the new one.
        (A sentiment re-score keeps counts: after `score` or a retrain, export into a new directory.)
        """
        target = Path(lake)
        target.mkdir(parents=True, exist_ok=True)
        wanted = dict(self._conn.execute(
            "SELECT strftime(created_at, '%Y-%m-%d') AS day, count(*) FROM posts GROUP BY 1").fetchall())
        have: dict[str, int] = {}
        if any(target.glob("day=*/*.parquet")):
            pattern = _sql_literal(str(target / "day=*" / "*.parquet"))
            have = dict(self._conn.execute(
                f"SELECT day::VARCHAR, count(*) FROM read_parquet('{pattern}', hive_partitioning = true) GROUP BY 1"
            ).fetchall())
        stale = sorted(day for day, count in wanted.items() if have.get(day) != count)
        if not stale:
            return 0
        staging = target.parent / f".{target.name}.staging"
        shutil.rmtree(staging, ignore_errors=True)
        days = ", ".join("?" for _ in stale)
        self._conn.execute(
            f"COPY (SELECT *, strftime(created_at, '%Y-%m-%d') AS day FROM posts "
            f"WHERE strftime(created_at, '%Y-%m-%d') IN ({days}) ORDER BY created_at) "
            f"TO '{_sql_literal(str(staging))}' (FORMAT PARQUET, PARTITION_BY (day))", stale)
        for day in stale:
            final, old = target / f"day={day}", staging / f"old-{day}"
            if final.exists():
                final.rename(old)
            (staging / f"day={day}").rename(final)
        shutil.rmtree(staging)
        return sum(wanted[day] for day in stale)

    def close(self) -> None:
        self._conn.close()

    def snapshot_to(self, target: Path) -> None:
        """A byte copy of the database as of now: checkpointed (nothing left in the WAL) and copied while no
        write can start, so the copy is a complete database file of its own. A child process copies it:
        closing any descriptor of the file in this process would drop DuckDB's POSIX lock on it, and let a
        second process open the database beside us."""
        with self._write_lock:
            self._conn.execute("CHECKPOINT")
            subprocess.run([sys.executable, "-c", "import shutil, sys; shutil.copyfile(sys.argv[1], sys.argv[2])",
                            str(self.path), str(target)], check=True, capture_output=True, timeout=3600)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- schema -------------------------------------------------------------------------------------
    def schema_version(self) -> int:
        exists = self._conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
        ).fetchall()[0][0]
        if not exists:
            return 0
        return int(self._conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()[0][0])

    def _tables(self) -> set[str]:
        return {row[0] for row in self._conn.execute("SELECT table_name FROM information_schema.tables").fetchall()}

    def _migrate(self) -> None:
        current = self.schema_version()
        before = self._tables()
        self.created = current == 0
        if current > len(MIGRATIONS):
            raise RuntimeError(
                f"database schema version {current} is newer than this program ({len(MIGRATIONS)})"
            )
        for version in range(current, len(MIGRATIONS)):
            with self._transaction() as conn:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER, applied_at TIMESTAMPTZ)"
                )
                conn.execute(MIGRATIONS[version])
                conn.execute("INSERT INTO schema_version VALUES (?, now())", [version + 1])
            log.info("migrated %s to schema version %d", self.path, version + 1)
        self.created_tables = frozenset(self._tables() - before)

    # -- reads --------------------------------------------------------------------------------------
    def query(self, sql: str, params: Sequence | Mapping | None = None) -> pd.DataFrame:
        """Run one parametrized query on its own cursor and return a DataFrame."""
        cursor = self._conn.cursor()
        try:
            cursor.execute(f"SET TimeZone = '{TIMEZONE}'")
            return cursor.execute(sql, params or []).df()
        finally:
            cursor.close()

    def scalar(self, sql: str, params: Sequence | Mapping | None = None):
        cursor = self._conn.cursor()
        try:
            rows = cursor.execute(sql, params or []).fetchall()
            return rows[0][0] if rows else None
        finally:
            cursor.close()

    def data_version(self) -> str:
        """Changes whenever anything lands (a batch, an incident event, a grade, an alert, an audited change):
        the cache key for everything the dashboard reads."""
        row = self.query(
            """SELECT (SELECT count(*) FROM ingest_batches) AS batches,
                      (SELECT coalesce(max(finished_at)::VARCHAR, '') FROM ingest_batches) AS newest,
                      (SELECT count(*) FROM incident_events) AS events,
                      (SELECT count(*) FROM incident_grades) AS grades,
                      (SELECT count(*) FROM alerts) AS alerts,
                      (SELECT coalesce(sum(merged_count), 0) FROM alerts) AS merged,
                      (SELECT coalesce(max(audit_id), 0) FROM audit_log) AS audits,
                      (SELECT count(*) FROM sentiment_corrections) AS corrections"""
        ).iloc[0]
        return ":".join(str(v) for v in row.tolist())

    def query_frames(self, sql: str, frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
        """A query over stored tables and in-memory frames (registered under the given names while it runs)."""
        with self._write_lock:  # registrations are per connection: no other thread may see or drop them
            for name, frame in frames.items():
                self._conn.register(name, frame)
            try:
                return self._conn.execute(sql).df()
            finally:
                for name in frames:
                    self._conn.unregister(name)

    def batch_exists(self, batch_id: str) -> bool:
        return bool(self.scalar("SELECT count(*) FROM ingest_batches WHERE batch_id = ?", [batch_id]))

    # -- writes -------------------------------------------------------------------------------------
    def execute(self, statements: Sequence[tuple[str, Sequence | Mapping]]) -> None:
        """Run parametrized write statements in one transaction: all of them land or none."""
        with self._write_lock, self._transaction() as conn:
            for sql, params in statements:
                conn.execute(sql, params)

    def write_batch(self, batch: BatchRecord, posts: pd.DataFrame | Sequence[Path],
                    quarantined: pd.DataFrame | Sequence[Path],
                    accounts: pd.DataFrame | Sequence[Path] = ()) -> WriteCounts:
        """Insert a validated batch in one transaction; duplicates are decided here, set-based.

        A row is a duplicate when an earlier row (in this file or already stored) has the same
        post_id, the same channel + url, or the same content_key (author, text, minute).
        `posts` and `quarantined` are DataFrames, or Parquet files staged by a big import or the inbox
        (posts files carry `row_no`, the order rows were read): DuckDB reads those from disk, so the
        batch never has to fit in Python's memory. `accounts` (ACCOUNT_COLUMNS) update the accounts table: the last
        row read for an account wins, and a blank field keeps what was known.
        """
        with self._write_lock, self._incoming(posts, quarantined, accounts):
            with self._transaction() as conn:
                incoming = conn.execute("SELECT count(*) FROM incoming_posts").fetchall()[0][0]
                inserted = self._insert_new_posts(conn)
                conn.execute(
                    """
                    INSERT INTO quarantine
                        (batch_id, source_file, source_sha256, line, reason_code, reason, raw)
                    SELECT ?, ?, ?, q.line, q.reason_code, q.reason, q.raw
                    FROM incoming_quarantine q
                    WHERE NOT EXISTS (
                        SELECT 1 FROM quarantine old
                        WHERE old.source_sha256 = ? AND old.line = q.line AND old.reason_code = q.reason_code)
                    """,
                    [batch.batch_id, batch.source_file, batch.sha256, batch.sha256],
                )
                bad = conn.execute("SELECT count(*) FROM incoming_quarantine").fetchall()[0][0]
                accounts_read = conn.execute("SELECT count(*) FROM incoming_accounts").fetchall()[0][0]
                changed = self._upsert_accounts(conn, batch.batch_id) if accounts_read else 0
                if incoming or not accounts_read:
                    counts = WriteCounts(inserted, incoming - inserted, bad, changed)
                else:  # an account table: its rows are accounts, the unchanged ones duplicates
                    counts = WriteCounts(changed, accounts_read - changed, bad, changed)
                conn.execute(
                    "INSERT INTO ingest_batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
                    [batch.batch_id, batch.source_file, batch.sha256, batch.file_format, batch.layout,
                     batch.rows_read, counts.inserted, counts.duplicates, counts.quarantined,
                     batch.started_at.to_pydatetime()],
                )
        return counts

    @staticmethod
    def _upsert_accounts(conn, batch_id: str) -> int:
        """Merge incoming_accounts into accounts; the number of accounts added or changed."""
        conn.execute("""
            CREATE OR REPLACE TEMP TABLE merged_accounts AS
            SELECT n.author_id, coalesce(n.channel, a.channel) AS channel, coalesce(n.verified, a.verified) AS verified,
                   coalesce(n.followers, a.followers) AS followers, coalesce(n.follows, a.follows) AS follows,
                   a.author_id IS NULL AS is_new
            FROM (SELECT author_id, last(channel ORDER BY row_no) FILTER (WHERE channel IS NOT NULL) AS channel,
                         last(verified ORDER BY row_no) FILTER (WHERE verified IS NOT NULL) AS verified,
                         last(followers ORDER BY row_no) FILTER (WHERE followers IS NOT NULL) AS followers,
                         last(follows ORDER BY row_no) FILTER (WHERE follows IS NOT NULL) AS follows
                  FROM incoming_accounts GROUP BY author_id) n
            LEFT JOIN accounts a ON a.author_id = n.author_id
            WHERE a.author_id IS NULL OR (coalesce(n.channel, a.channel), coalesce(n.verified, a.verified),
                                          coalesce(n.followers, a.followers), coalesce(n.follows, a.follows))
                                         IS DISTINCT FROM (a.channel, a.verified, a.followers, a.follows)""")
        changed = conn.execute("SELECT count(*) FROM merged_accounts").fetchall()[0][0]
        conn.execute("DELETE FROM accounts WHERE author_id IN (SELECT author_id FROM merged_accounts WHERE NOT is_new)")
        conn.execute("INSERT INTO accounts (author_id, channel, verified, followers, follows, batch_id) "
                     "SELECT author_id, channel, verified, followers, follows, ? FROM merged_accounts", [batch_id])
        conn.execute("DROP TABLE merged_accounts")
        return int(changed)

    @contextmanager
    def _incoming(self, posts: pd.DataFrame | Sequence[Path], quarantined: pd.DataFrame | Sequence[Path],
                  accounts: pd.DataFrame | Sequence[Path] = ()):
        """Expose a batch as the views incoming_posts (row_no first), incoming_quarantine and incoming_accounts
        while writing it."""
        if not isinstance(accounts, pd.DataFrame) and not accounts:
            accounts = no_accounts()
        sources = {"incoming_posts": (posts, ("row_no", *POST_COLUMNS)),
                   "incoming_quarantine": (quarantined, QUARANTINE_COLUMNS),
                   "incoming_accounts": (accounts, ("row_no", *ACCOUNT_COLUMNS))}
        try:
            for name, (source, columns) in sources.items():
                if isinstance(source, pd.DataFrame):
                    frame = source.reset_index(drop=True)
                    if "row_no" in columns:
                        frame = frame.assign(row_no=range(len(frame)))
                    self._conn.register(name, frame.loc[:, list(columns)])
                else:
                    files = ", ".join(f"'{_sql_literal(str(path))}'" for path in source)
                    self._conn.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS "
                                       f"SELECT {', '.join(columns)} FROM read_parquet([{files}])")
            yield
        finally:
            for name, (source, _) in sources.items():
                if isinstance(source, pd.DataFrame):
                    self._conn.unregister(name)
                else:
                    self._conn.execute(f"DROP VIEW IF EXISTS {name}")

    def append_generated(self, table) -> None:
        """Append rows generated for benchmarks (ids unique by construction): no duplicate checks, one batch."""
        with self._write_lock:
            self._conn.register("generated", table)
            try:
                with self._transaction() as conn:
                    conn.execute(f"INSERT INTO posts ({', '.join(POST_COLUMNS)}) "
                                 f"SELECT {', '.join(POST_COLUMNS)} FROM generated ORDER BY created_at")
            finally:
                self._conn.unregister("generated")

    def replace_scores(self, scores: pd.DataFrame) -> None:
        """Bulk-update sentiment (post_id, sentiment_score/label/model) and re-apply analysts' corrections."""
        with self._write_lock:
            self._conn.register("new_scores", scores)
            try:
                with self._transaction() as conn:
                    conn.execute(
                        """UPDATE posts SET sentiment_score = s.sentiment_score, sentiment_label = s.sentiment_label,
                                            sentiment_model = s.sentiment_model
                           FROM new_scores s WHERE posts.post_id = s.post_id"""
                    )
                    conn.execute(
                        """UPDATE posts SET sentiment_label = c.label
                           FROM (SELECT post_id, arg_max(label, corrected_at) AS label
                                 FROM sentiment_corrections GROUP BY post_id) c
                           WHERE posts.post_id = c.post_id"""
                    )
            finally:
                self._conn.unregister("new_scores")

    def execute_frames(self, frames: Mapping[str, pd.DataFrame],
                       statements: Sequence[tuple[str, Sequence | Mapping]]) -> None:
        """Write statements reading in-memory frames (registered under the given names), in one transaction."""
        with self._write_lock:
            for name, frame in frames.items():
                self._conn.register(name, frame)
            try:
                with self._transaction() as conn:
                    for sql, params in statements:
                        conn.execute(sql, params)
            finally:
                for name in frames:
                    self._conn.unregister(name)

    def update_posts(self, changes: pd.DataFrame, columns: Sequence[str],
                     statements: Sequence[tuple[str, Sequence | Mapping]] = ()) -> None:
        """Set `columns` of the posts in `changes` (post_id + those columns) in one bulk UPDATE, after the
        parametrized `statements`, all in one transaction."""
        assignments = ", ".join(f'"{c}" = c."{c}"' for c in columns)
        with self._write_lock:
            self._conn.register("post_changes", changes)
            try:
                with self._transaction() as conn:
                    for sql, params in statements:
                        conn.execute(sql, params)
                    if len(changes):
                        conn.execute(f"UPDATE posts SET {assignments} FROM post_changes c "
                                     "WHERE posts.post_id = c.post_id")
            finally:
                self._conn.unregister("post_changes")

    @staticmethod
    def _insert_new_posts(conn) -> int:
        """The dedupe is ranked on the key columns only, so the window sort never carries the texts."""
        columns = ", ".join(POST_COLUMNS)
        before = conn.execute("SELECT count(*) FROM posts").fetchall()[0][0]
        conn.execute(
            f"""
            INSERT INTO posts ({columns})
            WITH ranked AS (
                SELECT row_no, post_id, channel, url, content_key,
                    row_number() OVER (PARTITION BY post_id ORDER BY row_no) AS id_rank,
                    row_number() OVER (PARTITION BY channel, coalesce(url, '#' || row_no::VARCHAR)
                                       ORDER BY row_no) AS url_rank,
                    row_number() OVER (PARTITION BY content_key ORDER BY row_no) AS content_rank
                FROM incoming_posts
            ),
            kept AS (
                SELECT row_no FROM ranked r
                WHERE id_rank = 1 AND url_rank = 1 AND content_rank = 1
                  AND NOT EXISTS (SELECT 1 FROM posts p WHERE p.post_id = r.post_id)
                  AND NOT EXISTS (SELECT 1 FROM posts p WHERE r.url IS NOT NULL AND p.channel = r.channel
                                  AND p.url = r.url)
                  AND NOT EXISTS (SELECT 1 FROM posts p WHERE p.content_key = r.content_key)
            )
            SELECT {columns} FROM incoming_posts WHERE row_no IN (SELECT row_no FROM kept)
            ORDER BY created_at
            """
        )
        return conn.execute("SELECT count(*) FROM posts").fetchall()[0][0] - before

    @contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """BEGIN ... COMMIT, or ROLLBACK on any error: a batch is visible whole or not at all."""
        if self.read_only:
            raise RuntimeError("the database was opened read-only")
        self._conn.execute("BEGIN TRANSACTION")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")
        self.commits += 1
