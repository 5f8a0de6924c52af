"""Concurrency and crashes with real processes on a real DuckDB file: one writer, the inbox, SIGKILL anywhere."""

from __future__ import annotations

import json
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from analysis import alerts, backups, config, incidents, ingest
from analysis.alerts import Rule
from analysis.store import DatabaseCorrupt, Store
from tests.conftest import REPO_ROOT
from tests.factories import write_posts

ENV = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
WORKER = Path(__file__).resolve().parent / "crash_worker.py"
BASE_TIME = pd.Timestamp("2026-11-12 08:00")
ALERT_NOW = "2026-11-10 11:00"
INCIDENT = "INC-REL-01"
KEYWORD_RULE = Rule("kw", "伤亡关键词", "keyword", {"words": ["爆炸"], "min_count": 3, "window_minutes": 60})
SEED = 20261123
TRIALS = 20


# -- data -------------------------------------------------------------------------------------------------
def posts_file(real_posts: pd.DataFrame, path: Path, start: int, n: int, prefix: str) -> Path:
    """n real texts in the canonical layout, unique ids / urls / minutes, all valid."""
    texts = real_posts["text"].iloc[start:start + n].tolist()
    pd.DataFrame({
        "post_id": [f"{prefix}{i}" for i in range(n)],
        "channel": "微博",
        "site": "新浪微博",
        "url": [f"https://weibo.com/{prefix}/{i}" for i in range(n)],
        "author_id": [f"{prefix}-user{i % 9}" for i in range(n)],
        "text": texts,
        "created_at": [(BASE_TIME + pd.Timedelta(minutes=7 * i)).strftime("%Y-%m-%d %H:%M:%S") for i in range(n)],
        "region": "城关区",
    }).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("reliability")


@pytest.fixture(scope="module")
def base_db(work) -> Path:
    """A small database: 120 background posts, 3 explosion posts that fire one keyword alert, one incident."""
    path = work / "base" / "base.duckdb"
    rows = [{"post_id": f"bg{i}", "created_at": f"2026-11-{9 + i % 3} {8 + i % 12:02d}:{i % 60:02d}",
             "text": f"城关区道路改造进展第{i}期", "text_norm": f"城关区道路改造进展第{i}期"} for i in range(120)]
    rows += [{"post_id": f"k{i}", "created_at": f"2026-11-10 10:{10 + i}", "text": "西固区化工厂爆炸了",
              "text_norm": "西固区化工厂爆炸了", "author_id": f"w{i}"} for i in range(3)]
    with Store(path) as store:
        write_posts(store, rows, batch_id="base")
        store.execute([("DELETE FROM alert_rules", [])])  # only the rule under test, not the seeded defaults
        alerts.save_rule(store, KEYWORD_RULE, "test")
        incidents.create_incident(store, "西固区化工厂爆炸", ["k0", "k1"], "test", incident_id=INCIDENT)
    return path


@pytest.fixture(scope="module")
def files(real_posts, work) -> dict[str, Path]:
    folder = work / "files"
    folder.mkdir()
    return {"a": posts_file(real_posts, folder / "a.csv", 0, 150, "ra"),
            "b": posts_file(real_posts, folder / "b.csv", 150, 90, "rb")}


def fresh_db(base_db: Path, folder: Path) -> Path:
    """A copy of the base database, with the base as its one backup (as the service's nightly copy would be)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "opinion.duckdb"
    shutil.copy(base_db, target)
    backups.folder_of(target).mkdir(exist_ok=True)
    shutil.copy(base_db, backups.folder_of(target) / "opinion-20261110-020000.duckdb")
    return target


MAX_RESTORED = 1  # of TRIALS kills per test


def opened_after_kill(db: Path, worker: Worker, outcomes: dict) -> Store:
    """The file after a kill. DuckDB rewrites a metadata block in place when it checkpoints, so a kill that
    tears that one write leaves a file it refuses (DatabaseCorrupt: seen once in about a thousand CI kill
    trials, in none of 5,900 local ones). That is the backups' job: restore through the CLI as a user would,
    count it, and carry on from the restored file; a test fails when it happens more than MAX_RESTORED times."""
    try:
        return Store(db)
    except DatabaseCorrupt:
        outcomes["restored"] += 1
        assert worker.run(["restore", "--db", str(db)])[0] == 0
        return Store(db)


def new_posts(store: Store) -> int:
    return int(store.scalar("SELECT count(*) FROM posts WHERE batch_id <> 'base'"))


def batches(store: Store) -> pd.DataFrame:
    return store.query("SELECT source_file, rows_read, inserted, duplicates, quarantined FROM ingest_batches "
                       "WHERE source_file <> 'factory' ORDER BY finished_at")


def manifests(db: Path) -> list[Path]:
    inbox = config.inbox_dir(db)
    return sorted(inbox.glob("*.json")) if inbox.is_dir() else []


def leftovers(db: Path) -> list[Path]:
    inbox = config.inbox_dir(db)
    return sorted(p for p in inbox.iterdir() if p.suffix != ".json") if inbox.is_dir() else []


def cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "analysis", *args], cwd=REPO_ROOT, env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finished(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=180)
    assert process.returncode == 0, err[-2000:]
    return json.loads(out)


# -- the fork server -------------------------------------------------------------------------------------
class Worker:
    """tests/crash_worker.py: forks a real CLI process per command; we SIGKILL it wherever we like."""

    def __init__(self, log: Path):
        self.log = log.open("w")
        self.process = subprocess.Popen([sys.executable, str(WORKER)], cwd=REPO_ROOT, env=ENV, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        assert self._next(120) == "@ready"

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.strip())
        self.lines.put("@eof")

    def _next(self, timeout: float) -> str:
        line = self.lines.get(timeout=timeout)
        assert line != "@eof", "crash worker died: see " + self.log.name
        return line

    def run(self, argv: list[str], kill_after: float | None = None, kill_at: str | None = None) -> tuple[int, list]:
        """Run one command; SIGKILL it `kill_after` seconds after the fork, or `kill_after` seconds after
        the phase line `kill_at` (e.g. 'begin write'). Returns (exit code, phases seen)."""
        self.process.stdin.write(json.dumps(argv, ensure_ascii=False) + "\n")
        self.process.stdin.flush()
        started = self._next(60)
        assert started.startswith("@started "), started
        pid = int(started.split()[1])
        phases: list[str] = []
        killed = False
        clock = time.monotonic() if kill_at is None else None
        while True:
            remaining = None
            if kill_after is not None and not killed and clock is not None:
                remaining = clock + kill_after - time.monotonic()
                if remaining <= 0:
                    self._kill(pid)
                    killed = True
                    continue
            try:
                line = self.lines.get(timeout=remaining if remaining is not None else 120)
            except queue.Empty:
                if remaining is None:
                    raise
                continue
            assert line != "@eof"
            if line.startswith(f"@exited {pid} "):
                return int(line.split()[2]), phases
            if line.startswith(f"@{pid} "):
                phase = line.split(" ", 1)[1]
                phases.append(phase)
                if kill_at == phase and clock is None:
                    clock = time.monotonic()

    @staticmethod
    def _kill(pid: int) -> None:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)
        self.log.close()


@pytest.fixture(scope="module")
def worker(work):
    started = Worker(work / "crash_worker.log")
    yield started
    started.close()


def plan(rng: random.Random, duration: float, phase: str) -> dict:
    """Where to kill: at a random time over the whole run, inside the write, or right after it."""
    where = rng.choice(("anytime", "anytime", "during", "after"))
    if where == "anytime":
        return {"kill_after": rng.uniform(0, duration * 1.1)}
    if where == "during":
        return {"kill_at": f"begin {phase}", "kill_after": rng.uniform(0, 0.03)}
    return {"kill_at": f"end {phase}", "kill_after": rng.uniform(0, 0.01)}


def landed(phases: list[str], phase: str) -> str:
    if f"end {phase}" in phases:
        return "after"
    return "during" if f"begin {phase}" in phases else "before"


TALLY: dict[str, dict] = {}


# -- concurrency ------------------------------------------------------------------------------------------
def test_two_ingests_of_different_files_and_the_same_file_twice_at_once_lose_and_double_nothing(
        base_db, files, work):
    db = fresh_db(base_db, work / "parallel")
    size_a, size_b = 150, 90
    running = [cli("ingest", str(files[name]), "--db", str(db), "--json") for name in ("a", "b", "a")]
    totals = [finished(p)["total"] for p in running]
    assert sum(t["read"] for t in totals) == 2 * size_a + size_b
    assert all(t["quarantined"] == 0 and t["failed_files"] == 0 for t in totals)
    # each process either wrote (inserted + duplicates) or queued its whole file
    assert sorted(t["inserted"] + t["duplicates"] + t["queued"] for t in totals) == [size_b, size_a, size_a]
    with Store(db) as store:
        ingest.drain_inbox(store, config.inbox_dir(db))  # what the next owner does
        assert new_posts(store) == size_a + size_b
        landed_batches = batches(store)
        assert int(store.scalar("SELECT count(DISTINCT post_id) FROM posts")) == int(
            store.scalar("SELECT count(*) FROM posts"))
    assert len(landed_batches) == 3
    assert landed_batches["inserted"].sum() == size_a + size_b
    assert landed_batches["duplicates"].sum() == size_a  # the second copy of a.csv, whichever ran second
    assert sorted(landed_batches["source_file"]) == ["a.csv", "a.csv", "b.csv"]
    assert manifests(db) == [] and leftovers(db) == []


def test_ingest_while_a_holder_owns_the_database_queues_and_the_holder_drains_exactly(base_db, files, work, worker):
    db = fresh_db(base_db, work / "holder")
    with Store(db) as holder:  # this test process owns the file, like a running dashboard
        for name in ("a", "b", "a"):  # real CLI processes (forked by the crash worker)
            assert worker.run(["ingest", str(files[name]), "--db", str(db)]) == (0, ["begin queue", "end queue"])
        assert len(manifests(db)) == 3 and new_posts(holder) == 0
        imported = ingest.drain_inbox(holder, config.inbox_dir(db))
        assert sorted((s.file, s.inserted + s.duplicates) for s in imported) == [
            ("a.csv", 150), ("a.csv", 150), ("b.csv", 90)]
        assert sum(s.inserted for s in imported) == 240 and sum(s.duplicates for s in imported) == 150
        assert ingest.drain_inbox(holder, config.inbox_dir(db)) == []  # draining again imports nothing
        assert new_posts(holder) == 240
    assert manifests(db) == [] and leftovers(db) == []


def test_concurrent_drains_in_one_process_import_each_queued_batch_once(base_db, files, work):
    """The dashboard drains on every page load; two sessions loading at once used to import a batch twice
    (a primary-key error on the page). Threads on a real file, like Streamlit's session threads."""
    db = fresh_db(base_db, work / "drain-race")
    inbox = config.inbox_dir(db)
    for name in ("a", "b", "a"):
        ingest.queue_prepared(inbox, ingest.prepare(files[name].read_bytes(), files[name].name))
    stray = inbox / "0123456789abcdef.posts.parquet.tmp"  # a queuer killed before its manifest landed
    stray.write_bytes(b"PAR1 half written")
    errors: list[str] = []
    imported: list = []
    with Store(db) as store:
        def drain() -> None:
            try:
                imported.extend(ingest.drain_inbox(store, inbox))
            except Exception as exc:  # noqa: BLE001 - the assertion below shows it
                errors.append(repr(exc))

        threads = [threading.Thread(target=drain) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert sorted((s.file, s.inserted, s.duplicates) for s in imported) == [
            ("a.csv", 0, 150), ("a.csv", 150, 0), ("b.csv", 90, 0)]
        assert new_posts(store) == 240 and len(batches(store)) == 3
        assert leftovers(db) == [stray]  # young: maybe still being written, so only ignored
        os.utime(stray, (time.time() - ingest.STALE_INBOX_SECONDS - 60,) * 2)
        assert ingest.drain_inbox(store, inbox) == []
    assert manifests(db) == [] and leftovers(db) == []


# -- SIGKILL loops ----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_ingest_killed_at_random_points_leaves_whole_batches_and_rerun_completes_exactly(
        base_db, files, work, worker):
    rng = random.Random(SEED)
    size = 150
    argv = ["ingest", str(files["a"]), "--json"]
    calibration = fresh_db(base_db, work / "ingest-calibrate")
    started = time.monotonic()
    assert worker.run([*argv, "--db", str(calibration)]) == (0, ["begin write", "end write"])
    duration = time.monotonic() - started
    outcomes = {"before": 0, "during": 0, "after": 0, "whole": 0, "none": 0, "queued_trials": 0,
                "leftovers_cleaned": 0, "restored": 0}
    for trial in range(TRIALS):
        db = fresh_db(base_db, work / f"ingest-{trial}")
        held = trial % 4 == 3  # every fourth trial another process owns the file: the ingest queues
        phase = "queue" if held else "write"
        holder = Store(db) if held else None
        try:
            code, phases = worker.run([*argv, "--db", str(db)], **plan(rng, duration, phase))
            outcomes[landed(phases, phase)] += 1
            if held:
                outcomes["queued_trials"] += 1
                complete = manifests(db)
                assert len(complete) <= 1
                for manifest in complete:  # a visible manifest always has its whole batch beside it
                    assert json.loads(manifest.read_text())["rows_read"] == size
                    assert len(pd.read_parquet(manifest.with_suffix(".posts.parquet"))) == size
                outcomes["leftovers_cleaned"] += bool(leftovers(db))
                ingest.drain_inbox(holder, config.inbox_dir(db))  # fresh leftovers are ignored ...
                assert new_posts(holder) == size * len(complete)
                ingest.drain_inbox(holder, config.inbox_dir(db), stale_after=0)  # ... and stale ones removed
                assert manifests(db) == [] and leftovers(db) == []
                holder.close()
                holder = None
            with opened_after_kill(db, worker, outcomes) as store:  # the batch is all there or absent
                count, batch_rows = new_posts(store), batches(store)
            assert (count, len(batch_rows)) in {(0, 0), (size, 1)}, (trial, phases, code)
            outcomes["whole" if count else "none"] += 1
            assert worker.run([*argv, "--db", str(db)])[0] == 0  # re-running completes it
            with Store(db) as store:
                assert new_posts(store) == size
                assert int(batches(store)["inserted"].sum()) == size
                assert int(store.scalar("SELECT count(DISTINCT post_id) FROM posts WHERE batch_id <> 'base'")) == size
            assert manifests(db) == []
        finally:
            if holder is not None:
                holder.close()
    TALLY["ingest"] = outcomes
    print(f"ingest kill trials: {outcomes}")
    assert outcomes["whole"] + outcomes["none"] == TRIALS
    assert outcomes["before"] and outcomes["during"] and outcomes["after"]
    assert outcomes["whole"] and outcomes["none"]
    assert outcomes["restored"] <= MAX_RESTORED


@pytest.mark.slow
def test_alert_run_killed_at_random_points_leaves_no_partial_alert_and_rerun_fires_exactly_one(
        base_db, work, worker):
    rng = random.Random(SEED + 1)
    argv = ["alerts", "run", "--now", ALERT_NOW, "--json"]
    calibration = fresh_db(base_db, work / "alerts-calibrate")
    started = time.monotonic()
    code, phases = worker.run([*argv, "--db", str(calibration)])
    duration = time.monotonic() - started
    assert code == 0 and phases.count("end execute") == 2  # the alert row, then the audit line
    outcomes = {"before": 0, "during": 0, "after": 0, "fired": 0, "none": 0, "alert_without_audit": 0,
                "restored": 0}
    for trial in range(TRIALS):
        db = fresh_db(base_db, work / f"alerts-{trial}")
        code, phases = worker.run([*argv, "--db", str(db)], **plan(rng, duration, "execute"))
        outcomes[landed(phases, "execute")] += 1
        with opened_after_kill(db, worker, outcomes) as store:
            rows = store.query("SELECT rule_id, dedupe_key, message, details, merged_count FROM alerts")
        assert len(rows) <= 1, (trial, phases)
        outcomes["fired" if len(rows) else "none"] += 1
        for row in rows.itertuples():  # a stored alert is whole
            assert row.rule_id == "kw" and row.merged_count == 1 and "爆炸" in row.message
            assert json.loads(row.details)["post_ids"] == ["k0", "k1", "k2"]
        with Store(db) as store:
            audited = int(store.scalar("SELECT count(*) FROM audit_log WHERE action = 'alerts.run'"))
        outcomes["alert_without_audit"] += len(rows) > audited
        assert worker.run([*argv, "--db", str(db)])[0] == 0
        with Store(db) as store:
            assert int(store.scalar("SELECT count(*) FROM alerts")) == 1
            assert int(store.scalar("SELECT max(merged_count) FROM alerts")) == 1
    TALLY["alerts"] = outcomes
    print(f"alert kill trials: {outcomes}")
    assert outcomes["fired"] and outcomes["none"]
    assert outcomes["restored"] <= MAX_RESTORED


@pytest.mark.slow
def test_event_write_killed_at_random_points_leaves_no_partial_event_and_rerun_records_exactly_one(
        base_db, work, worker):
    rng = random.Random(SEED + 2)
    argv = ["incidents", "event", INCIDENT, "研判定级", "--at", "2026-11-10 12:00", "--by", "crash"]
    calibration = fresh_db(base_db, work / "event-calibrate")
    started = time.monotonic()
    assert worker.run(["incidents", "--db", str(calibration), *argv[1:]]) == (0, ["begin execute", "end execute"])
    duration = time.monotonic() - started
    outcomes = {"before": 0, "during": 0, "after": 0, "recorded": 0, "none": 0, "restored": 0}
    query = "SELECT count(*) FROM incident_events WHERE step = '研判定级'"
    audit = "SELECT count(*) FROM audit_log WHERE action = 'incident_event'"
    for trial in range(TRIALS):
        db = fresh_db(base_db, work / f"event-{trial}")
        command = ["incidents", "--db", str(db), *argv[1:]]
        code, phases = worker.run(command, **plan(rng, duration, "execute"))
        outcomes[landed(phases, "execute")] += 1
        with opened_after_kill(db, worker, outcomes) as store:
            events, audits = int(store.scalar(query)), int(store.scalar(audit))
        assert events in (0, 1) and audits == events, (trial, phases)  # the event and its audit line together
        outcomes["recorded" if events else "none"] += 1
        rerun = worker.run(command)[0]
        assert rerun == (1 if events else 0)  # a second 研判定级 is refused, not appended
        with Store(db) as store:
            assert (int(store.scalar(query)), int(store.scalar(audit))) == (1, 1)
            assert store.query("SELECT actor, note FROM incident_events WHERE step = '研判定级'").iloc[0].tolist() == [
                "crash", None]
    TALLY["events"] = outcomes
    print(f"event kill trials: {outcomes}")
    assert outcomes["recorded"] and outcomes["none"]
    assert outcomes["restored"] <= MAX_RESTORED


# -- the dashboard keeps serving ----------------------------------------------------------------------------
def health(url: str) -> int:
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as response:
        return response.status


def test_dashboard_keeps_serving_while_cli_ingests_queue_and_drains_them_exactly(base_db, files, work, request):
    from tests.conftest import running_dashboard

    db = fresh_db(base_db, work / "dashboard")
    statuses: list[int | str] = []
    page_loads = 0
    stop = threading.Event()

    def poll_health(url: str) -> None:
        while not stop.is_set():
            try:
                statuses.append(health(url))
            except OSError as exc:
                statuses.append(repr(exc))
            stop.wait(0.25)

    with running_dashboard(db) as url:
        try:  # the session's browser (one Playwright per process); without Chromium, HTTP checks only
            browser_page = request.getfixturevalue("page")
        except pytest.skip.Exception:
            browser_page = None
        poller = threading.Thread(target=poll_health, args=(url,), daemon=True)
        poller.start()
        try:
            if browser_page is not None:
                load(browser_page, f"{url}/import")  # the first session opens the store: the dashboard owns it
            running = [cli("ingest", str(files[name]), "--db", str(db), "--json") for name in ("a", "b", "a")]
            with ThreadPoolExecutor(1) as pool:
                results = pool.map(finished, running)
                while browser_page is not None and any(p.poll() is None for p in running):
                    load(browser_page, f"{url}/import")  # each page load drains the inbox while queuers write
                    page_loads += 1
                results = list(results)
            if browser_page is not None:
                assert all(f["status"] == "queued" for r in results for f in r["files"])
                load(browser_page, url)  # the overview, with the imported posts
                assert manifests(db) == []  # the page load imported every queued batch
        finally:
            stop.set()
            poller.join(timeout=30)
    assert len(statuses) >= 5 and set(statuses) == {200}
    server_logs = "".join(log.read_text() for log in db.parent.glob("server-*.log"))
    assert "Traceback" not in server_logs and "Error" not in server_logs, server_logs[-2000:]
    print(f"dashboard: {len(statuses)} health polls all 200, {page_loads} page loads while ingests ran")
    with Store(db) as store:
        ingest.drain_inbox(store, config.inbox_dir(db))  # without Chromium, the next owner drains
        assert new_posts(store) == 240
        assert batches(store)["duplicates"].sum() == 150 and len(batches(store)) == 3
    assert manifests(db) == []


def load(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("[data-testid='stMain'] h1", timeout=60_000)
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
    assert page.locator("[data-testid='stException']").count() == 0
    assert "Traceback" not in page.content()
