"""What an analyst changes on an incident: its posts, a merge, a proposal confirmed or dismissed (误报), closure,
and the work fields of its 专报 (承办单位, 领导批示, 公开回应, 基本情况). Every change is one audited transaction;
the lifecycle log (incidents.add_event) is never edited, and a merged or dismissed incident keeps its history.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pandas as pd

from analysis import audit, incidents
from analysis.incidents import _now, _require_incident
from analysis.store import Store

# 基本情况 template of the seeds, in the order the 专报 prints it.
FACT_FIELDS: tuple[str, ...] = ("时间", "地点", "类别", "伤亡", "损失", "各方态度", "已采取措施")


def link_statements(store: Store, incident_id: str, post_ids: Sequence[str], actor: str) -> list[tuple[str, list]]:
    """INSERTs linking the posts not yet linked (channel and time kept beside the link); raises on unknown ids."""
    post_ids = list(dict.fromkeys(str(p) for p in post_ids))
    if not post_ids:
        return []
    found = store.query(f"SELECT post_id, channel, created_at FROM posts WHERE post_id IN "
                        f"({', '.join('?' for _ in post_ids)})", post_ids)
    unknown = set(post_ids) - set(found["post_id"])
    if unknown:
        raise ValueError(f"以下帖子不存在：{'、'.join(sorted(unknown)[:5])}")
    linked = set(store.query("SELECT post_id FROM incident_posts WHERE incident_id = ?", [incident_id])["post_id"])
    return [("INSERT INTO incident_posts (incident_id, post_id, channel, created_at, added_by) VALUES (?, ?, ?, ?, ?)",
             [incident_id, row.post_id, row.channel, row.created_at.to_pydatetime(), actor])
            for row in found.itertuples() if row.post_id not in linked]


def _require_open(store: Store, incident_id: str) -> pd.Series:
    incident = _require_incident(store, incident_id)
    state = incident["state"] or "active"
    if state in ("dismissed", "merged"):
        word = "已作为误报排除" if state == "dismissed" else f"已并入 {incident['merged_into']}"
        raise ValueError(f"事件 {incident_id} {word}，不能再修改")
    return incident


def add_posts(store: Store, incident_id: str, post_ids: Sequence[str], actor: str, regrade: bool = True) -> int:
    """Link more posts (already linked ones are skipped) and re-grade; returns how many joined."""
    _require_open(store, incident_id)
    statements = link_statements(store, incident_id, post_ids, actor)
    if statements:
        store.execute([*statements, audit.entry(actor, "incident.add_posts", incident_id,
                                           {"posts": [s[1][1] for s in statements]})])
        if regrade:
            incidents.grade_incident(store, incident_id, actor=actor)
    return len(statements)


def remove_posts(store: Store, incident_id: str, post_ids: Sequence[str], actor: str, reason: str = "") -> int:
    """Unlink posts (an analyst's call that they are not part of it) and re-grade; returns how many left."""
    _require_open(store, incident_id)
    post_ids = list(dict.fromkeys(str(p) for p in post_ids))
    if not post_ids:
        return 0
    marks = ", ".join("?" for _ in post_ids)
    present = store.query(f"SELECT post_id FROM incident_posts WHERE incident_id = ? AND post_id IN ({marks})",
                          [incident_id, *post_ids])["post_id"].tolist()
    if present:
        store.execute([
            (f"DELETE FROM incident_posts WHERE incident_id = ? AND post_id IN ({', '.join('?' for _ in present)})",
             [incident_id, *present]),
            audit.entry(actor, "incident.remove_posts", incident_id, {"posts": present, "reason": reason}),
        ])
        incidents.grade_incident(store, incident_id, actor=actor)
    return len(present)


def confirm(store: Store, incident_id: str, actor: str, note: str | None = None) -> None:
    """The duty analyst confirms a proposal (待确认 → 处置中): recorded as 核实 in the lifecycle."""
    incident = _require_open(store, incident_id)
    if (incident["state"] or "active") != "proposed":
        raise ValueError(f"事件 {incident_id} 不是待确认的事件")
    store.execute([
        ("UPDATE incidents SET state = 'active', state_by = ?, state_at = ?, state_reason = ? WHERE incident_id = ?",
         [actor, _now().to_pydatetime(), note, incident_id]),
        audit.entry(actor, "incident.confirm", incident_id, {"note": note}),
    ])
    incidents.add_event(store, incident_id, "核实", actor, note=note or "值班分析员确认立案")


def dismiss(store: Store, incident_id: str, reason: str, actor: str) -> None:
    """误报: the incident stops (no clocks, no KPI), its posts and history stay; a reason is required."""
    _require_open(store, incident_id)
    if not (reason or "").strip():
        raise ValueError("排除误报须填写理由")
    store.execute([
        ("UPDATE incidents SET state = 'dismissed', state_reason = ?, state_by = ?, state_at = ? WHERE incident_id = ?",
         [reason.strip(), actor, _now().to_pydatetime(), incident_id]),
        audit.entry(actor, "incident.dismiss", incident_id, {"reason": reason.strip()}),
    ])


def close(store: Store, incident_id: str, reason: str, actor: str, at: pd.Timestamp | None = None) -> None:
    """办结/化解 with the reason as its note (the lifecycle order applies: 处置 must be recorded first)."""
    _require_open(store, incident_id)
    if not (reason or "").strip():
        raise ValueError("办结须填写办结情况")
    incidents.add_event(store, incident_id, incidents.CLOSED_STEP, actor, at=at, note=reason.strip())


def merge(store: Store, source_id: str, target_id: str, actor: str, reason: str = "") -> int:
    """Merge `source_id` into `target_id`: the target gains the source's posts and a 跟踪 note; the source is kept,
    marked merged, with its own events and grades. Returns how many posts joined the target."""
    if source_id == target_id:
        raise ValueError("不能把事件并入它自己")
    _require_open(store, source_id)
    _require_open(store, target_id)
    posts = store.query("SELECT post_id FROM incident_posts WHERE incident_id = ?", [source_id])["post_id"].tolist()
    statements = link_statements(store, target_id, posts, actor)
    note = f"并入事件 {source_id}" + (f"：{reason.strip()}" if reason.strip() else "")
    store.execute([
        *statements,
        ("UPDATE incident_sources SET incident_id = ? WHERE incident_id = ?", [target_id, source_id]),
        ("UPDATE incidents SET state = 'merged', merged_into = ?, state_reason = ?, state_by = ?, state_at = ? "
         "WHERE incident_id = ?", [target_id, reason.strip() or None, actor, _now().to_pydatetime(), source_id]),
        audit.entry(actor, "incident.merge", target_id,
                    {"source": source_id, "posts": len(statements), "reason": reason}),
    ])
    incidents.add_event(store, target_id, "跟踪", actor, note=note)
    incidents.grade_incident(store, target_id, actor=actor)
    return len(statements)


def set_work_fields(store: Store, incident_id: str, actor: str, *, responsible_unit: str | None = None,
                    instruction: str | None = None, instruction_by: str | None = None,
                    instruction_at: pd.Timestamp | None = None, response_url: str | None = None,
                    response_channel: str | None = None, facts: dict[str, str] | None = None) -> dict:
    """Set the 专报's work fields; only the ones given change (an empty string clears one). Returns what changed."""
    _require_incident(store, incident_id)
    changes: dict = {}
    for name, value in (("responsible_unit", responsible_unit), ("instruction", instruction),
                        ("instruction_by", instruction_by), ("response_url", response_url),
                        ("response_channel", response_channel)):
        if value is not None:
            changes[name] = value.strip() or None
    if response_url and not response_url.strip().lower().startswith(("http://", "https://")):
        raise ValueError("公开回应链接须以 http:// 或 https:// 开头")
    if instruction_at is not None:
        at = pd.Timestamp(instruction_at)
        changes["instruction_at"] = (at if at.tzinfo else at.tz_localize(incidents.TZ)).to_pydatetime()
    elif instruction:  # an instruction given without its time was given now
        changes["instruction_at"] = _now().to_pydatetime()
    if facts is not None:
        unknown = set(facts) - set(FACT_FIELDS)
        if unknown:
            raise ValueError(f"基本情况没有这些栏目：{'、'.join(sorted(unknown))}（可选：{'、'.join(FACT_FIELDS)}）")
        merged = {**work_fields(store, incident_id)["facts"], **{k: (v or "").strip() for k, v in facts.items()}}
        changes["facts"] = json.dumps({k: v for k, v in merged.items() if v}, ensure_ascii=False)
    if not changes:
        return {}
    assignments = ", ".join(f"{name} = ?" for name in changes)
    store.execute([
        (f"UPDATE incidents SET {assignments} WHERE incident_id = ?", [*changes.values(), incident_id]),
        audit.entry(actor, "incident.work_fields", incident_id, changes),
    ])
    return changes


def work_fields(store: Store, incident_id: str) -> dict:
    """承办单位, 领导批示 (with who and when), 公开回应 link and channel, and the 基本情况 filled so far."""
    row = store.query("SELECT responsible_unit, instruction, instruction_by, instruction_at, response_url, "
                      "response_channel, CAST(facts AS VARCHAR) AS facts FROM incidents WHERE incident_id = ?",
                      [incident_id])
    if row.empty:
        raise ValueError(f"事件不存在：{incident_id}")
    record = {k: (None if v is None or (not isinstance(v, str) and pd.isna(v)) else v)
              for k, v in row.iloc[0].to_dict().items()}
    record["facts"] = json.loads(record["facts"]) if record["facts"] else {}
    return record
