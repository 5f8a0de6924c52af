"""The monitoring loop: one tick imports what waits, evaluates alerts, escalates overdue deadlines, delivers,
checks channel freshness and writes the scheduled briefings; ticks are recorded and never overlap.

Each step runs on its own: a step that fails (a webhook down, a broken file) is logged, recorded in the tick
and tried again on the next tick, and the steps after it still run. Everything a tick does is idempotent
(imports dedupe, alerts have a UNIQUE dedupe key, 督办 events are keyed by their deadline, deliveries are logged
per alert and target, briefings by period), so a tick cut short by `kill -9` is simply done again.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analysis import alerts, backups, config, delivery, incidents, ingest, settings, watch
from analysis.config import TIMEZONE
from analysis.store import Store

log = logging.getLogger(__name__)

MAX_DELIVERY_ATTEMPTS = 5             # per alert and target, one per tick: a target down for 5 ticks gives up
DELIVERY_WINDOW = pd.Timedelta(hours=24)  # older undelivered alerts are no longer news
KEEP_TICKS = pd.Timedelta(days=30)


@dataclass
class TickReport:
    started_at: pd.Timestamp
    finished_at: pd.Timestamp | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # per step

    @property
    def duration_seconds(self) -> float | None:
        return None if self.finished_at is None else (self.finished_at - self.started_at).total_seconds()

    def as_dict(self) -> dict:
        return {"started_at": self.started_at.isoformat(),
                "finished_at": None if self.finished_at is None else self.finished_at.isoformat(),
                "duration_seconds": self.duration_seconds, "summary": self.summary, "errors": self.errors,
                "seconds": self.seconds}


def _now() -> pd.Timestamp:
    return pd.Timestamp.now(tz=TIMEZONE)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:500]


# -- service state (small values that must survive a restart) -------------------------------------------------
def get_state(store: Store, key: str, default=None):
    raw = store.scalar("SELECT value FROM service_state WHERE key = ?", [key])
    return default if raw is None else json.loads(raw)


def set_state(store: Store, key: str, value) -> None:
    store.execute([("""INSERT INTO service_state (key, value, updated_at) VALUES (?, ?, now())
                       ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()""",
                    [key, json.dumps(value, ensure_ascii=False)])])


# -- the steps --------------------------------------------------------------------------------------------------
def _import_summary(summaries: list[ingest.FileSummary]) -> dict:
    return {"files": len(summaries), **{k: v for k, v in ingest.totals(summaries).items() if k != "queued"},
            "names": [s.file for s in summaries]}


def step_incoming(store: Store, now: pd.Timestamp, cfg: dict) -> dict:
    folder = watch.incoming_dir(store.path, cfg["incoming_dir"])
    folder.mkdir(parents=True, exist_ok=True)
    summaries = watch.import_incoming(store, folder, cfg["settle_seconds"])
    result = _import_summary(summaries)
    failed = [f"{s.file}：{s.error_zh or s.error}" for s in summaries if s.status == "failed"]
    if failed:
        raise StepWarning(result, "；".join(failed))
    return result


def step_inbox(store: Store, now: pd.Timestamp, cfg: dict) -> dict:
    return _import_summary(ingest.drain_inbox(store, config.inbox_dir(store.path)))


def step_alerts(store: Store, now: pd.Timestamp, cfg: dict) -> dict:
    problems: list[str] = []
    new = alerts.run(store, now, actor="service", errors=problems)
    result = {"new": len(new), "alert_ids": [a.alert_id for a in new]}
    if problems:
        raise StepWarning(result, "；".join(problems))
    return result


def step_viewpoints(store: Store, now: pd.Timestamp, cfg: dict) -> dict:
    """The open incidents whose posts changed get their 网民主要观点 clustered now, not when a page opens."""
    from analysis import opinions

    listed = incidents.list_incidents(store)
    open_ids = listed.loc[listed["status"].isin(incidents.OPEN_STATUSES), "incident_id"].tolist()
    return {"computed": len(opinions.precompute_incidents(store, open_ids)), "open": len(open_ids)}


def step_escalation(store: Store, now: pd.Timestamp, cfg: dict) -> dict:
    return {"events": incidents.escalate_overdue(store, now, actor="service")}


def step_proposals(store: Store, now: pd.Timestamp, cfg: dict) -> dict:
    """New alerts above the configured level become 待确认 incidents (or join the open one on their topic)."""
    from analysis import incident_intake

    done = incident_intake.propose_incidents(store, now, actor="service")
    return {"proposed": len(done.proposed), "attached": len(done.attached)}


def step_growth(store: Store, now: pd.Timestamp, cfg: dict) -> dict:
    """Open incidents take the new posts that match them, and are re-graded."""
    from analysis import incident_intake

    done = incident_intake.grow_incidents(store, now, actor="service")
    return {"grown": len(done.grown)}


def step_delivery(store: Store, now: pd.Timestamp, cfg: dict) -> dict:
    """Send every alert not yet delivered to each target (failures are retried on later ticks)."""
    targets = delivery.load_targets(store)
    watermark = get_state(store, "delivery_after_alert_id", 0)
    sent, failed, errors = 0, 0, []
    for target in targets:
        label = delivery.target_label(target)
        pending = store.query(
            """SELECT a.alert_id FROM alerts a
               WHERE a.alert_id > ? AND a.fired_at >= ?
                 AND NOT EXISTS (SELECT 1 FROM alert_deliveries d
                                 WHERE d.alert_id = a.alert_id AND d.target = ? AND d.ok)
                 AND (SELECT count(*) FROM alert_deliveries d
                      WHERE d.alert_id = a.alert_id AND d.target = ?) < ?
               ORDER BY a.alert_id""",
            [watermark, (now - DELIVERY_WINDOW).to_pydatetime(), label, label, MAX_DELIVERY_ATTEMPTS])
        if pending.empty:
            continue
        ids = set(pending["alert_id"].tolist())
        listed = alerts.list_alerts(store, since=now - DELIVERY_WINDOW)
        batch = listed[listed["alert_id"].isin(ids)].sort_values("alert_id")
        for start in range(0, len(batch), delivery.MAX_ALERTS_PER_MESSAGE):
            chunk = batch.iloc[start:start + delivery.MAX_ALERTS_PER_MESSAGE]
            result = delivery.deliver(chunk, [target])[0]
            store.execute([("INSERT INTO alert_deliveries (alert_id, target, ok, attempts, error) "
                            "VALUES (?, ?, ?, ?, ?)", [int(a), label, result.ok, result.attempts, result.error or None])
                           for a in chunk["alert_id"]])
            if result.ok:
                sent += len(chunk)
            else:
                failed += len(chunk)
                errors.append(f"{label}：{result.error}")
    result = {"targets": len(targets), "sent": sent, "failed": failed}
    if errors:
        raise StepWarning(result, "；".join(dict.fromkeys(errors)))
    return result


def channel_freshness(store: Store) -> pd.DataFrame:
    """The newest post per channel (how long each channel has been silent)."""
    return store.query("SELECT channel, max(created_at) AS last_post_at, count(*) AS posts FROM posts "
                       "GROUP BY channel ORDER BY last_post_at DESC, channel")


def step_freshness(store: Store, now: pd.Timestamp, cfg: dict) -> dict:
    fresh = channel_freshness(store)
    silent = fresh[fresh["last_post_at"] < now - pd.Timedelta(hours=24)]
    return {"channels": len(fresh), "silent_24h": silent["channel"].tolist()}


def step_briefings(store: Store, now: pd.Timestamp, cfg: dict) -> dict:
    """The daily 舆情日志 after its time of day, and the weekly 周报 for the last complete week from Monday's time."""
    from analysis import briefing  # heavy (python-docx, kaleido): loaded only when a briefing is due

    if not store.scalar("SELECT count(*) FROM posts"):
        return {"written": []}
    folder = briefings_dir(store.path, cfg)
    due = []
    today = now.tz_convert(TIMEZONE).date()
    if _due(store, now, _at(today, cfg["daily_brief_at"]), "daily_brief", today.isoformat()):
        due.append(("daily_brief", today.isoformat(), {"date": today.isoformat()}))
    monday = today - dt.timedelta(days=today.weekday())
    last_week = monday - dt.timedelta(days=7)
    week = f"{last_week.isocalendar().year}-W{last_week.isocalendar().week:02d}"
    if _due(store, now, _at(monday, cfg["weekly_brief_at"]), "weekly_brief", week):
        due.append(("weekly_brief", week, {"week": week}))
    written, errors = [], []
    for state_key, period, kwargs in due:
        try:
            doc = briefing.build(store, "daily" if state_key == "daily_brief" else "weekly", **kwargs)
            files = [p for paths in briefing.write(doc, folder, tuple(cfg["brief_formats"])).values() for p in paths]
            if not files:
                raise RuntimeError("；".join(doc.warnings) or "未生成任何文件")
            set_state(store, state_key, period)
            written.extend(p.name for p in files)
            if cfg["mail_briefings"]:
                errors.extend(_mail_briefing(store, doc.title, period, files))
        except Exception as exc:  # one briefing failing must not stop the other
            log.exception("scheduled briefing %s %s failed", state_key, period)
            errors.append(f"{period}：{_first_line(exc)}")
    result = {"written": written}
    if errors:
        raise StepWarning(result, "；".join(errors))
    return result


def step_backup(store: Store, now: pd.Timestamp, cfg: dict) -> dict:
    """Once a day after its time of day: a copy of the database in backups/ (the newest `keep_backups` kept)."""
    today = now.tz_convert(TIMEZONE).date()
    if not _due(store, now, _at(today, cfg["backup_at"]), "backup", today.isoformat()):
        return {"written": None}
    done = backups.take(store, now, keep=int(cfg["keep_backups"]))
    set_state(store, "backup", today.isoformat())
    return {"written": done.path.name, "posts": done.posts}


def briefings_dir(db_path: Path, cfg: dict) -> Path:
    return Path(db_path).resolve().parent / cfg["briefings_dir"]


def _at(day: dt.date, clock: str) -> pd.Timestamp:
    return pd.Timestamp(dt.datetime.combine(day, dt.time.fromisoformat(clock)), tz=TIMEZONE)


def _due(store: Store, now: pd.Timestamp, from_time: pd.Timestamp, state_key: str, period: str) -> bool:
    """A scheduled job is due once its time has come and it has not yet been done for this period."""
    return now >= from_time and get_state(store, state_key) != period


def _mail_briefing(store: Store, title: str, period: str, files: list[Path]) -> list[str]:
    errors = []
    for target in delivery.load_targets(store):
        if target.get("type") != "email":
            continue
        message = delivery.document_message(target, f"【{title}】{period}", f"{title}（{period}）见附件。", files)
        result = delivery.send_message(target, message)
        if not result.ok:
            errors.append(f"简报邮件 {result.target}：{result.error}")
    return errors


class StepWarning(Exception):
    """A step that did part of its work: its result is kept, and the message is the tick's error for it."""

    def __init__(self, result: dict, message: str):
        super().__init__(message)
        self.result = result


Step = Callable[[Store, pd.Timestamp, dict], dict]
STEPS: tuple[tuple[str, str, Step], ...] = (
    ("incoming", "导入监视文件夹", step_incoming),
    ("inbox", "导入排队批次", step_inbox),
    ("alerts", "评估预警规则", step_alerts),
    ("proposals", "自动立案", step_proposals),
    ("growth", "事件扩展", step_growth),
    ("viewpoints", "归纳事件观点", step_viewpoints),
    ("escalation", "逾期督办", step_escalation),
    ("delivery", "推送预警", step_delivery),
    ("freshness", "渠道新鲜度", step_freshness),
    ("briefings", "定时简报", step_briefings),
    ("backup", "数据库备份", step_backup),
)
STEP_LABELS = {key: label for key, label, _ in STEPS}


def run_tick(store: Store, now: pd.Timestamp | None = None, steps=STEPS) -> TickReport:
    """Run every step once, each on its own, and record the tick."""
    report = TickReport(started_at=_now())
    cfg = settings.service(store)
    moment = now or report.started_at
    for key, _label, step in steps:
        started = time.perf_counter()
        try:
            report.summary[key] = step(store, moment, cfg)
        except StepWarning as warning:
            report.summary[key] = warning.result
            report.errors[key] = str(warning)
        except Exception as exc:
            log.exception("tick step %s failed", key)
            report.errors[key] = _first_line(exc)
        report.seconds[key] = round(time.perf_counter() - started, 3)
        report.summary.setdefault(key, {})["seconds"] = report.seconds[key]
    report.finished_at = _now()
    try:
        store.execute([
            ("INSERT INTO service_ticks (started_at, finished_at, summary, errors) VALUES (?, ?, ?, ?)",
             [report.started_at.to_pydatetime(), report.finished_at.to_pydatetime(),
              json.dumps(report.summary, ensure_ascii=False, default=str),
              json.dumps(report.errors, ensure_ascii=False)]),
            ("DELETE FROM service_ticks WHERE started_at < ?", [(report.started_at - KEEP_TICKS).to_pydatetime()]),
        ])
    except Exception:
        log.exception("could not record the tick")
    return report


def recent_ticks(store: Store, limit: int = 20) -> pd.DataFrame:
    frame = store.query("""SELECT tick_id, started_at, finished_at, CAST(summary AS VARCHAR) AS summary,
                                  CAST(errors AS VARCHAR) AS errors
                           FROM service_ticks ORDER BY tick_id DESC LIMIT ?""", [limit])
    frame["summary"] = [json.loads(s) for s in frame["summary"]]
    frame["errors"] = [json.loads(e) for e in frame["errors"]]
    frame["duration_seconds"] = (frame["finished_at"] - frame["started_at"]).dt.total_seconds()
    return frame


class Scheduler:
    """Ticks on its own thread from the moment it starts; `wake()` asks for a tick now."""

    def __init__(self, store: Store, tick_seconds: int | None = None):
        self.store = store
        self.tick_seconds_override = tick_seconds
        self.last_report: TickReport | None = None
        self.next_tick_at: pd.Timestamp | None = None
        self.running_since: pd.Timestamp | None = None
        self.ticks = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._tick_lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="opinion-scheduler", daemon=True)

    def interval(self) -> int:
        return self.tick_seconds_override or int(settings.service(self.store)["tick_seconds"])

    def start(self) -> None:
        if get_state(self.store, "delivery_after_alert_id") is None:
            # Alerts already in the database (history, a demo) are not news: deliver only what fires from now on.
            set_state(self.store, "delivery_after_alert_id",
                      int(self.store.scalar("SELECT coalesce(max(alert_id), 0) FROM alerts")))
        self._thread.start()

    def stop(self, timeout: float = 60) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def wake(self) -> None:
        self._wake.set()

    def tick(self) -> TickReport:
        with self._tick_lock:  # never two ticks at once, whoever asks
            self.running_since = _now()
            try:
                report = run_tick(self.store)
            finally:
                self.running_since = None
            self.last_report = report
            self.ticks += 1
            return report

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                report = self.tick()
                if report.errors:
                    log.warning("tick finished with errors: %s", report.errors)
            except Exception:  # the loop itself must survive anything a tick throws
                log.exception("tick failed")
            try:
                interval = self.interval()
            except Exception:
                interval = settings.SERVICE_DEFAULTS["tick_seconds"]
            wait = max(0.0, interval - (time.monotonic() - started))
            self.next_tick_at = _now() + pd.Timedelta(seconds=wait)
            self._wake.wait(wait)
            self._wake.clear()

    def state(self) -> dict:
        return {"running": self._thread.is_alive(), "tick_seconds": self.interval(), "ticks": self.ticks,
                "tick_running_since": None if self.running_since is None else self.running_since.isoformat(),
                "next_tick_at": None if self.next_tick_at is None else self.next_tick_at.isoformat()}


def describe_step(key: str, result: dict | None) -> str:
    """One Chinese line saying what a tick's step did."""
    if not result:
        return "—"
    if key in ("incoming", "inbox"):
        what = "个文件" if key == "incoming" else "个排队批次"
        return (f"{result.get('files', 0)}{what}：新增 {result.get('inserted', 0)}，"
                f"重复 {result.get('duplicates', 0)}，隔离 {result.get('quarantined', 0)}，"
                f"失败 {result.get('failed_files', 0)}")
    if key == "alerts":
        return f"新预警 {result.get('new', 0)} 条"
    if key == "proposals":
        return f"新提议事件 {result.get('proposed', 0)} 起，并入已有事件 {result.get('attached', 0)} 起"
    if key == "growth":
        return f"扩展事件 {result.get('grown', 0)} 起"
    if key == "viewpoints":
        return f"未结事件 {result.get('open', 0)} 起，重新归纳观点 {result.get('computed', 0)} 起"
    if key == "escalation":
        return f"记录督办 {result.get('events', 0)} 条"
    if key == "delivery":
        return (f"推送目标 {result.get('targets', 0)} 个：送达 {result.get('sent', 0)} 条，"
                f"失败 {result.get('failed', 0)} 条（下次巡检重试）")
    if key == "freshness":
        silent = result.get("silent_24h") or []
        return f"渠道 {result.get('channels', 0)} 个" + (f"；24小时无新帖：{'、'.join(silent)}" if silent else "")
    if key == "briefings":
        return "生成：" + "、".join(result["written"]) if result.get("written") else "无到期简报"
    if key == "backup":
        if not result.get("written"):
            return "今日已备份或未到时间"
        return f"已备份：{result['written']}（{result.get('posts', 0)} 条帖子）"
    return str(result)


def tick_steps_table(summary: dict, errors: dict) -> pd.DataFrame:
    """A tick's steps for the 系统状态 section: step, what it did, its error (empty when none)."""
    return pd.DataFrame([{"step": label, "result": describe_step(key, summary.get(key)),
                          "seconds": (summary.get(key) or {}).get("seconds"), "error": errors.get(key, "")}
                         for key, label, _ in STEPS])


def scheduled_briefings(db_path: Path, cfg: dict, limit: int = 20) -> list[Path]:
    """The briefings the scheduler wrote, newest first."""
    folder = briefings_dir(db_path, cfg)
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.is_file()), key=lambda p: p.stat().st_mtime, reverse=True)[:limit]
