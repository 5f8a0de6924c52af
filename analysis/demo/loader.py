"""Loading the demo's embedded incidents (with their lifecycle events and grades) and its alerts into a store."""

from __future__ import annotations

import pandas as pd


def load_incidents(store, incidents: list[dict]) -> list[str]:
    """Record the embedded incidents as an office would have: posts linked, lifecycle events, grades.

    Each is graded by the rules at the moment of its 研判定级 event, so the demo shows computed grades
    and their reasons; where the rules disagree with the analysts' planned grade, the analysts' grade
    stands as an override with a stated reason, as in real work.
    """
    from analysis import incidents as workflow

    created = []
    for number, item in enumerate(sorted(incidents, key=lambda i: i["events"][0][1]), start=1):
        step, found_at, note = item["events"][0]
        incident_id = f"INC-{found_at:%Y%m%d}-{number:02d}"
        workflow.create_incident(store, item["title"], list(item["post_ids"]), actor="值班监测员", source="demo",
                                 topic=item["topic"], region=item["region"], first_seen_at=found_at,
                                 incident_id=incident_id, note=note)
        for step, at, note in item["events"][1:]:
            workflow.add_event(store, incident_id, step, "研判人员", at=at, note=note)
            if step == "研判定级":
                computed = workflow.grade_incident(store, incident_id, at=at, actor="system")
                if computed.grade != item["grade"]:
                    workflow.override_grade(store, incident_id, item["grade"], note, actor="研判人员")
        created.append(incident_id)
    return created


def load_alerts(store, now: pd.Timestamp, days: int = 60) -> int:
    """Install the default alert rules and replay them over the demo's history into the alert log.

    Back-testing finds when each rule would have fired; evaluating at exactly those moments stores the
    same alerts (with dedupe and cooldown) far faster than evaluating every hour. Alerts older than a
    day are shown as handled (acknowledged, then closed) by the duty officer, as in a working office.
    """
    from analysis import alerts

    alerts.install_default_rules(store, actor="系统管理员")
    fired = alerts.backtest(store, alerts.load_rules(store, enabled_only=True), now - pd.Timedelta(days=days), now)
    for moment in sorted(set(fired["fired_at"])):
        alerts.run(store, pd.Timestamp(moment), actor="system")
    log = alerts.list_alerts(store)
    for alert in log[log["fired_at"] < now - pd.Timedelta(days=1)].itertuples():
        alerts.acknowledge(store, int(alert.alert_id), "值班监测员")
        if alert.fired_at < now - pd.Timedelta(days=3):
            alerts.close(store, int(alert.alert_id), "值班监测员")
    return len(log)
