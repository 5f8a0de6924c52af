"""The always-on service with real processes: it imports the watched folder, fires and delivers alerts, writes
scheduled briefings and serves every CLI verb from other processes, with no browser open; kill -9 loses nothing."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import stat
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from analysis import backups
from tests.service_helpers import (
    BURST_WORD,
    burst_exports,
    cli,
    cli_json,
    drop,
    running_service,
    start_service,
    wait_for,
    webhook_receiver,
)

pytestmark = pytest.mark.slow
NOW = pd.Timestamp.now(tz="Asia/Shanghai")


@contextlib.contextmanager
def dashboard_probe(url: str):
    """Ask the dashboard's health endpoint every 0.2 s in a thread; yields the (status, seconds) answers."""
    answers: list[tuple[int, float]] = []
    stop = threading.Event()

    def probe():
        while not stop.is_set():
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=30) as response:
                    answers.append((response.status, time.perf_counter() - started))
            except OSError:
                answers.append((0, time.perf_counter() - started))
            stop.wait(0.2)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    try:
        yield answers
    finally:
        stop.set()
        thread.join()


def _status(db: Path) -> dict:
    return cli_json(db, "status", "--json")


def test_service_imports_the_watched_folder_alerts_delivers_and_serves_the_cli(tmp_path):
    db = tmp_path / "office.duckdb"
    incoming = tmp_path / "incoming"
    exports = burst_exports(NOW)
    with webhook_receiver() as (hook_url, bodies), running_service(db, tick_seconds=2) as (_, url):
        # A fresh database: the service created it and installed the default rules.
        rules = cli_json(db, "alerts", "rules", "--json")
        assert {r["rule_id"] for r in rules} >= {"topic_spike", "casualty_keywords", "deadline_overdue"}
        # Configure it from another process while the service holds the file (the CLI goes through the service).
        target = json.dumps([{"type": "wecom", "url": hook_url, "format": "text", "name": "值班群"}])
        assert cli(db, "settings", "set", "alert_targets", target).returncode == 0
        schedule = {"settle_seconds": 0, "daily_brief_at": "00:00", "brief_formats": ["html"], "backup_at": "00:00"}
        assert cli(db, "settings", "set", "service", json.dumps(schedule)).returncode == 0
        assert cli_json(db, "settings", "get", "service", "--json")["settle_seconds"] == 0

        for name, data in exports.items():
            drop(incoming, name, data)
        drop(incoming, "broken.xlsx", b"PK\x03\x04 this is no workbook")
        expected = sum(len(pd.read_csv(io.BytesIO(d), encoding="gbk" if "gbk" in n else "utf-8"))
                       for n, d in exports.items())

        with dashboard_probe(url) as answers:  # the dashboard keeps answering while the tick imports
            status = wait_for(lambda: (s := _status(db))["posts"] == expected and s, 120, what="the exports to land")
        assert answers and all(code == 200 for code, _ in answers)
        latencies = sorted(seconds for _, seconds in answers)
        print(f"dashboard during the import: {len(answers)} answers, median {latencies[len(latencies) // 2]:.3f} s, "
              f"max {latencies[-1]:.3f} s")
        assert sorted(p.name.split("-", 1)[1] for p in (incoming / "done").iterdir()) == sorted(exports)
        failed = [p for p in (incoming / "failed").iterdir() if not p.name.endswith(".reason.txt")]
        assert [p.name.split("-", 1)[1] for p in failed] == ["broken.xlsx"]
        reason = failed[0].with_name(failed[0].name + ".reason.txt").read_text(encoding="utf-8")
        assert reason.strip() and reason.count("\n") == 1
        assert not [p for p in incoming.iterdir() if p.is_file() and not p.name.startswith(".")]
        assert status["service"]["running"] and status["service"]["next_tick_at"]

        # The burst fires the default rules by itself, and the alert reaches the robot.
        fired = wait_for(lambda: [a for a in cli_json(db, "alerts", "list", "--json")
                                  if a["rule_id"] in ("casualty_keywords", "topic_spike")], 120,
                         what="an alert on the burst")
        assert any("安全生产" in (a["subject"] or "") or BURST_WORD[-2:] in a["message"] for a in fired)
        delivered = wait_for(lambda: [b for b in bodies if "预警" in json.dumps(b, ensure_ascii=False)], 60,
                             what="the webhook")
        text = json.dumps(delivered, ensure_ascii=False)
        assert any(f"#{a['alert_id']}" in text for a in fired)

        # The tick proposed an incident for the burst (待确认), for the duty analyst to confirm or dismiss.
        proposed = wait_for(lambda: [i for i in cli_json(db, "incidents", "list", "--json")
                                     if i["state"] == "proposed"], 60, what="a proposed incident")
        assert len(proposed) == 1 and proposed[0]["topic"] == "安全生产"

        # An incident found ten days ago and recorded now (补录) is overdue at once: each overdue deadline gets
        # exactly one 督办 event and one alert, however many ticks pass.
        old_posts = pd.read_csv(io.BytesIO(exports["weibo_contents.csv"]), dtype=str)["note_id"].head(3)
        found = (NOW - pd.Timedelta(days=10)).isoformat()  # every started deadline far past its boundary
        opened = cli_json(db, "incidents", "open", "--title", "化工园区安全检查投诉", "--posts", ",".join(old_posts),
                          "--found-at", found, "--json")
        incident_id = opened["incident_id"]
        overdue = [d for d in opened["deadlines"] if d["status"] == "已逾期"]
        assert overdue, opened["deadlines"]

        def escalated():
            shown = cli_json(db, "incidents", "show", incident_id, "--json")
            events = [e for e in shown["events"] if e["step"] == "督办/催办"]
            alerts = [a for a in cli_json(db, "alerts", "list", "--json", "--rule", "deadline_overdue")
                      if incident_id in json.dumps(a, ensure_ascii=False)]
            return (events, alerts) if len(events) >= len(overdue) and len(alerts) >= len(overdue) else None

        events, deadline_alerts = wait_for(escalated, 60, what="督办 events and deadline alerts")
        time.sleep(6)  # three more ticks
        again_events, again_alerts = escalated()
        assert len(events) == len(again_events) == len(overdue) == len({e["note"] for e in events})
        assert len(deadline_alerts) == len(again_alerts) == len(overdue)

        # Every other verb works beside the service, from other processes.
        assert {i["incident_id"] for i in cli_json(db, "incidents", "--json", "list")} >= {incident_id}
        listed = cli(db, "alerts", "--json", "list")
        assert listed.returncode == 0 and "NaN" not in listed.stdout and "NaT" not in listed.stdout
        out = tmp_path / "briefs"
        daily = cli(db, "brief", "daily", "--out", str(out), "--format", "html", "--no-charts")
        assert daily.returncode == 0, daily.stderr[-2000:]
        assert list(out.glob("daily_*.html"))
        spikes = cli(db, "spikes", "--json")
        assert spikes.returncode == 0 and "安全生产" in spikes.stdout

        # The scheduled daily log (due at 00:00) was written by a tick, beside the database.
        wait_for(lambda: list((tmp_path / "briefings").glob("daily_*.html")), 180, what="the scheduled daily log")
        last = _status(db)["last_tick"]
        assert set(last["summary"]) >= {"incoming", "alerts", "escalation", "delivery", "briefings", "backup"}
        # ... and the nightly copy of the database (due at 00:00 here), once a day, one that opens.
        copies = wait_for(lambda: backups.listed(db), 60, what="the nightly backup")
        time.sleep(4)  # two more ticks: still one copy today
        assert backups.listed(db) == copies and len(copies) == 1
        with duckdb.connect(str(copies[0]), read_only=True) as copy:
            copy.execute("SELECT count(*) FROM posts").fetchall()
        time.sleep(1)  # backup names carry the second
        taken = cli_json(db, "backup", "--json")  # on demand, from another process: it runs in the service
        assert taken["posts"] == expected and backups.listed(db)[0] == Path(taken["path"])

        # The API other systems use: loopback, token in a 0600 file beside the database, JSON.
        info_path = db.with_name(db.name + ".service.json")
        assert stat.S_IMODE(info_path.stat().st_mode) == 0o600
        info = json.loads(info_path.read_text())
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{info['port']}/api/status", timeout=10)
        assert refused.value.code == 401
        request = urllib.request.Request(f"http://127.0.0.1:{info['port']}/api/metrics/headline",
                                         headers={"Authorization": f"Bearer {info['token']}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            headline = json.loads(response.read())
        assert headline["current"]["posts"] + headline["previous"]["posts"] >= 0
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as response:
            assert response.status == 200  # the dashboard answered throughout
    assert not db.with_name(db.name + ".service.json").exists()  # a clean stop removes the service file


def test_kill_9_during_a_tick_then_restart_stores_every_row_exactly_once(tmp_path):
    db = tmp_path / "office.duckdb"
    incoming = tmp_path / "incoming"
    from tests.layout_samples import sample_frame

    files = {}
    for number in range(6):
        frame = sample_frame("mediacrawler_weibo_note", n=400, seed=100 + number)
        frame["content"] = [f"第{number}批第{i}条：{t}" for i, t in enumerate(frame["content"])]
        files[f"batch{number}.csv"] = frame.to_csv(index=False).encode("utf-8")
    total = 6 * 400
    process, _ = start_service(db, tick_seconds=1, dashboard=False)
    try:
        assert cli(db, "settings", "set", "service", json.dumps({"settle_seconds": 0})).returncode == 0
        for name, data in files.items():
            drop(incoming, name, data)
        # Kill as soon as the first file is in: the tick is in the middle of the others.
        wait_for(lambda: (incoming / "done").is_dir() and any((incoming / "done").iterdir()), 120, interval=0.05,
                 what="the first import")
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    left = [p.name for p in incoming.iterdir() if p.is_file() and not p.name.startswith(".")]
    assert left, "the kill came after the whole tick; nothing was interrupted"
    with running_service(db, tick_seconds=1, dashboard=False):
        wait_for(lambda: _status(db)["posts"] == total and not _status(db)["incoming"]["waiting"], 180,
                 what="the restarted service to import the rest")
        time.sleep(3)  # a few more ticks change nothing
        status = _status(db)
    assert status["posts"] == total
    assert sorted(p.name.split("-", 1)[1] for p in (incoming / "done").iterdir()) == sorted(files)
    from analysis.store import Store

    with Store(db, read_only=True) as store:
        assert store.scalar("SELECT count(DISTINCT post_id) FROM posts") == total
        read = store.scalar("SELECT sum(rows_read) FROM ingest_batches")
        counted = store.scalar("SELECT sum(inserted + duplicates + quarantined) FROM ingest_batches")
        assert read == counted >= total
