"""Settings declared once: each key's label, help, default (from the code constants) and validator, stored in the DB.

Values are stored as JSON in the `settings` table. A stored value that no longer validates (edited by hand, or
written by an older version) never crashes a reader: the default is used instead and `problems()` says so.
Notification targets (`alert_targets`) keep their own storage and secret redaction in analysis.delivery;
this module only delegates to it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

import pandas as pd

from analysis import audit, config, delivery, media, sensitive, topics
from analysis.grading import DEADLINES, DEFAULT_TIER_SET, LIFECYCLE, PROFILES, TIER_SETS, Deadline, GradingThresholds
from analysis.policy import Policy, Proposals
from analysis.store import Store


@dataclass(frozen=True)
class Field:
    """One input of a setting's form: where it sits in the value, its Chinese label, kind, unit, range and help."""

    key: str
    label: str
    kind: str = "text"              # int | float | text | date | choice | lines (one text per line) | words
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    help: str = ""
    options: tuple[str, ...] = ()   # for kind "choice"

    @property
    def title(self) -> str:
        """The label with its unit: 累计发帖量（条）, 传播站点数（二级，个）."""
        if not self.unit:
            return self.label
        return f"{self.label[:-1]}，{self.unit}）" if self.label.endswith("）") else f"{self.label}（{self.unit}）"


@dataclass(frozen=True)
class Form:
    """How a setting is edited on the 设置 page, declared beside it (see `form_of` for settings without one).

    value   — one input (the value itself; kind "lines" edits a list of texts one per line)
    record  — one input per field of a JSON object
    rows    — a table, one row per list item, one column per field
    """

    shape: str
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Setting:
    """One configurable value: how it is named in the UI, its default, how it is checked and edited."""

    key: str
    label: str
    help: str
    default: Callable[[], Any]                  # JSON-ready default, built from the code constants
    validate: Callable[[Any], list[str]]        # Chinese messages naming the field; empty when valid
    normalize: Callable[[Any], Any] = lambda value: value   # canonical JSON form of a valid value
    form: Form | None = None                    # None: inferred from the default (`form_of`), else JSON


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# -- default_tier_set ------------------------------------------------------------------------------------
def _check_tier_set(value) -> list[str]:
    if value not in TIER_SETS:
        return [f"默认分级体系（default_tier_set）应为 {'、'.join(TIER_SETS)} 之一，收到：{value!r}"]
    return []


# -- grading_thresholds ----------------------------------------------------------------------------------
THRESHOLD_FIELDS: tuple[Field, ...] = (
    Field("spread_window_minutes", "跨平台传播统计窗口", "int", "分钟", 1, 1440,
          "统计“短时间内跨多个平台传播”所用的时间窗口。"),
    Field("fast_spread_channels", "窗口内跨平台数（一级）", "int", "个", 1, 50,
          "窗口内出现在这么多个渠道即视为快速跨平台传播，定为一级。"),
    Field("severe_posts_per_hour", "1小时发帖量（快速发酵，一级）", "int", "条", 1, 100_000,
          "任一小时发帖量达到此数视为快速发酵，定为一级；敏感时期减半即可触发。"),
    Field("severe_posts", "累计发帖量", "int", "条", 1, 1_000_000,
          "事件累计发帖量达到此数，作为一级（敏感时期）或二级的依据。"),
    Field("several_sites", "传播站点数（二级）", "int", "个", 1, 1000,
          "在这么多个站点出现即视为“多个网站传播”，定为二级。"),
    Field("dozens_of_comments", "评论数（二级）", "int", "条", 1, 1_000_000,
          "评论/跟帖达到此数即视为“数十条评论”，定为二级。"),
    Field("rising_negative_points", "负面占比日升幅", "float", "0–1", 0.01, 1,
          "负面占比较前一日上升的幅度，0.10 即 10 个百分点，作为二级依据。"),
    Field("min_keyword_posts", "伤亡/群体性关键词最少帖子数", "int", "条", 1, 1000,
          "至少这么多条帖子提到伤亡或群体性事件关键词才采信，避免个别字眼误判为一级。"),
    Field("escalate_after_hours", "二级升级观察时长", "int", "小时", 1, 720, "二级事件在此时长后仍在增长即升为一级。"),
)
_THRESHOLDS = {f.key: f for f in THRESHOLD_FIELDS}
assert set(_THRESHOLDS) == {f.name for f in fields(GradingThresholds)}, "label every threshold"


def _check_thresholds(value) -> list[str]:
    if not isinstance(value, dict):
        return ["分级阈值（grading_thresholds）必须是 JSON 对象，如 {\"several_sites\": 3}"]
    errors = [f"分级阈值（grading_thresholds）中没有字段“{name}”，可用：{'、'.join(_THRESHOLDS)}"
              for name in value if name not in _THRESHOLDS]
    for name, number in value.items():
        if name not in _THRESHOLDS:
            continue
        field = _THRESHOLDS[name]
        whole = field.kind == "int"
        if (not _is_number(number) or (whole and number != int(number))
                or not field.minimum <= number <= field.maximum):
            errors.append(f"分级阈值（grading_thresholds）的“{field.label}”（{name}）应为 "
                          f"{field.minimum:g}–{field.maximum:g} 的{'整数' if whole else '数值'}，收到：{number!r}")
    return errors


def _normalize_thresholds(value: dict) -> dict:
    merged = asdict(GradingThresholds()) | value
    return {name: (int(v) if _THRESHOLDS[name].kind == "int" else float(v)) for name, v in merged.items()}


# -- deadlines -------------------------------------------------------------------------------------------
DEADLINE_FIELDS: tuple[Field, ...] = (
    Field("profile", "适用级别", "choice", options=PROFILES,
          help="一级/二级/三级；四级体系的特别重大、重大归一级，较大归二级，一般归三级"),
    Field("label", "时限名称", help="如 首报（30分钟内报送）"),
    Field("anchor", "起算环节", "choice", help="从该环节首次记录时起算", options=LIFECYCLE),
    Field("step", "完成环节", "choice", help="记录该环节即视为完成", options=LIFECYCLE),
    Field("minutes", "目标时限", "int", "分钟", 1, 60 * 24 * 30, "在此时限内完成计为按时"),
    Field("hard_minutes", "最迟时限", "int", "分钟", 1, 60 * 24 * 30, "可空；超过目标但未超过最迟时限仍计为按时"),
    Field("ticket_only", "仅信件/留言/热线", "bool", help="只适用于全部来自信箱、留言板或热线的事件（答复时限）"),
)


def _deadline_to_json(deadline: Deadline) -> dict:
    return asdict(deadline)


def _check_deadlines(value) -> list[str]:
    field = "处置时限（deadlines）"
    if not isinstance(value, list):
        return [f"{field}必须是列表，每项形如 "
                + json.dumps(_deadline_to_json(DEADLINES[0]), ensure_ascii=False)]
    errors = []
    names = {f.key for f in DEADLINE_FIELDS}
    for number, item in enumerate(value, start=1):
        where = f"{field}第{number}项"
        if not isinstance(item, dict):
            errors.append(f"{where}必须是 JSON 对象")
            continue
        unknown = set(item) - names
        if unknown:
            errors.append(f"{where}有未知字段：{'、'.join(sorted(unknown))}")
        if item.get("profile") not in PROFILES:
            errors.append(f"{where}的适用级别（profile）应为 {'、'.join(PROFILES)} 之一，收到：{item.get('profile')!r}")
        if not isinstance(item.get("label"), str) or not item["label"].strip():
            errors.append(f"{where}的时限名称（label）不能为空")
        for key, label in (("anchor", "起算环节"), ("step", "完成环节")):
            if item.get(key) not in LIFECYCLE:
                errors.append(f"{where}的{label}（{key}）应为处置环节之一（{'、'.join(LIFECYCLE)}），"
                              f"收到：{item.get(key)!r}")
        minutes, hard = item.get("minutes"), item.get("hard_minutes")
        if not (_is_number(minutes) and minutes == int(minutes) and minutes > 0):
            errors.append(f"{where}的目标时限（minutes）应为正整数（分钟），收到：{minutes!r}")
        elif hard is not None and not (_is_number(hard) and hard == int(hard) and hard >= minutes):
            errors.append(f"{where}的最迟时限（hard_minutes）应为空或不小于目标时限的整数（分钟），收到：{hard!r}")
        if not isinstance(item.get("ticket_only", False), bool):
            errors.append(f"{where}的“仅信件/留言/热线”（ticket_only）应为 true 或 false")
    return errors


def _normalize_deadlines(value: list) -> list[dict]:
    return [_deadline_to_json(Deadline(
        item["profile"], item["label"].strip(), item["step"], item["anchor"], int(item["minutes"]),
        None if item.get("hard_minutes") is None else int(item["hard_minutes"]), bool(item.get("ticket_only", False))))
        for item in value]


# -- sensitive_periods -----------------------------------------------------------------------------------
def _period_to_json(period: sensitive.SensitivePeriod) -> dict:
    return {"name": period.name, "start": period.start.isoformat(), "end": period.end.isoformat(),
            "factor": period.factor}


def _iso_date(value) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _check_periods(value) -> list[str]:
    field = "敏感时期（sensitive_periods）"
    if not isinstance(value, list):
        return [f"{field}必须是列表，每项形如 {{\"name\": \"国庆节\", \"start\": \"2026-09-29\", "
                "\"end\": \"2026-10-08\", \"factor\": 0.7}"]
    errors = []
    for number, item in enumerate(value, start=1):
        where = f"{field}第{number}项"
        if not isinstance(item, dict):
            errors.append(f"{where}必须是 JSON 对象")
            continue
        unknown = set(item) - {"name", "start", "end", "factor"}
        if unknown:
            errors.append(f"{where}有未知字段：{'、'.join(sorted(unknown))}")
        if not isinstance(item.get("name"), str) or not item["name"].strip():
            errors.append(f"{where}的名称（name）不能为空")
        start, end = _iso_date(item.get("start")), _iso_date(item.get("end"))
        if start is None:
            errors.append(f"{where}的开始日期（start）应为 YYYY-MM-DD 格式的日期，收到：{item.get('start')!r}")
        if end is None:
            errors.append(f"{where}的结束日期（end）应为 YYYY-MM-DD 格式的日期，收到：{item.get('end')!r}")
        if start and end and start > end:
            errors.append(f"{where}的开始日期（start）{start} 晚于结束日期（end）{end}")
        factor = item.get("factor", 0.7)
        if not _is_number(factor) or not 0 < factor <= 1:
            errors.append(f"{where}的收紧系数（factor）应大于 0 且不大于 1，收到：{factor!r}")
    return errors


def _normalize_periods(value: list) -> list[dict]:
    return [{"name": item["name"].strip(), "start": item["start"], "end": item["end"],
             "factor": float(item.get("factor", 0.7))} for item in value]


# -- mainstream_sites ------------------------------------------------------------------------------------
def _check_sites(value) -> list[str]:
    field = "主流媒体站点（mainstream_sites）"
    if not isinstance(value, list):
        return [f"{field}必须是字符串列表，如 [\"人民网\", \"新华网\"]"]
    errors = [f"{field}第{n}项必须是非空字符串，收到：{site!r}" for n, site in enumerate(value, start=1)
              if not isinstance(site, str) or not site.strip()]
    valid = [s.strip() for s in value if isinstance(s, str) and s.strip()]
    duplicates = sorted({s for s in valid if valid.count(s) > 1})
    if duplicates:
        errors.append(f"{field}有重复项：{'、'.join(duplicates)}")
    return errors


# -- keyword_stop_words -------------------------------------------------------------------------------------
def _check_stop_words(value) -> list[str]:
    field = "关键词停用词（keyword_stop_words）"
    if not isinstance(value, list) or any(not isinstance(w, str) or not w.strip() for w in value):
        return [f"{field}必须是非空字符串的列表，如 [\"城关区\", \"点赞\"]"]
    return []


# -- media_directory -------------------------------------------------------------------------------------
def _check_directory(value) -> list[str]:
    field = "媒体与账号名录（media_directory）"
    if not isinstance(value, list):
        return [f"{field}必须是列表，每项形如 {{\"name\": \"人民网\", \"tier\": \"中央媒体\"}}"]
    errors, names = [], []
    for number, item in enumerate(value, start=1):
        where = f"{field}第{number}项"
        if not isinstance(item, dict) or set(item) - {"name", "tier"}:
            errors.append(f"{where}必须是只含名称（name）和层级（tier）的对象")
            continue
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            errors.append(f"{where}的名称（name）不能为空")
        else:
            names.append(name.strip())
        if item.get("tier") not in media.TIERS:
            errors.append(f"{where}的层级（tier）须为{'、'.join(media.TIERS)}之一，收到：{item.get('tier')!r}")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        errors.append(f"{field}有重复的名称：{'、'.join(duplicates)}")
    return errors


def _normalize_stop_words(value: list) -> list[str]:
    return list(dict.fromkeys(w.strip() for w in value))


# -- alert_targets (owned by analysis.delivery) -------------------------------------------------------------
def _check_targets(value) -> list[str]:
    if not isinstance(value, list):
        return ["推送目标（alert_targets）必须是列表，每项是一个推送目标对象"]
    return [f"推送目标（alert_targets）第{i}个：{e}" for i, t in enumerate(value, start=1)
            for e in delivery.validate_target(t)]


TARGETS_KEY = delivery.SETTINGS_KEY
SEVERITY_LEVELS = ("low", "medium", "high")  # alerts.SEVERITIES, mildest first
PROPOSAL_FIELDS = {
    "min_severity": "预警达到该级别（low/medium/high）才自动生成待确认事件",
    "attach_hours": "同一话题的事件最近一条帖子之后多少小时内的新突增并入该事件（不另立）",
    "lookback_hours": "每次巡检考虑最近多少小时内的预警",
    "grow_quiet_hours": "事件最近一条帖子之后多少小时内，新出现的匹配帖子自动加入事件",
}
PROPOSAL_DEFAULTS = {"min_severity": "medium", "attach_hours": 72, "lookback_hours": 24, "grow_quiet_hours": 48}


def _check_proposals(value) -> list[str]:
    if not isinstance(value, dict):
        return ["须为对象，如 " + json.dumps(PROPOSAL_DEFAULTS, ensure_ascii=False)]
    errors = [f"未知字段：{name}" for name in value if name not in PROPOSAL_FIELDS]
    if "min_severity" in value and value["min_severity"] not in SEVERITY_LEVELS:
        errors.append(f"min_severity 须为 {'、'.join(SEVERITY_LEVELS)} 之一")
    for name in ("attach_hours", "lookback_hours", "grow_quiet_hours"):
        if name in value and not (_is_number(value[name]) and value[name] > 0):
            errors.append(f"{name}（{PROPOSAL_FIELDS[name]}）须为正数")
    return errors

# The always-on service (python -m analysis serve): how often it ticks, where crawler exports are dropped, when the
# scheduled briefings are written. Times are Asia/Shanghai; paths are relative to the database file's folder.
SERVICE_DEFAULTS: dict[str, Any] = {
    "tick_seconds": 300, "incoming_dir": "incoming", "settle_seconds": 10, "briefings_dir": "briefings",
    "daily_brief_at": "17:30", "weekly_brief_at": "08:00", "brief_formats": ["docx", "pdf"],
    "mail_briefings": False, "backup_at": "02:00", "keep_backups": 7,
}
SERVICE_FIELDS: dict[str, str] = {
    "tick_seconds": "巡检间隔（秒，30–3600）", "incoming_dir": "监视文件夹（相对数据库所在目录）",
    "settle_seconds": "文件静置秒数（写入完成判定，0–600）", "briefings_dir": "定时简报目录（相对数据库所在目录）",
    "daily_brief_at": "舆情日志生成时间（HH:MM，每天）", "weekly_brief_at": "周报生成时间（HH:MM，每周一，上一完整周）",
    "brief_formats": "定时简报格式（docx/pdf/html）", "mail_briefings": "定时简报发送至邮件目标（true/false）",
    "backup_at": "数据库备份时间（HH:MM，每天）", "keep_backups": "保留备份份数（1–90）",
}


def _is_clock(value) -> bool:
    try:
        dt.time.fromisoformat(value)
        return isinstance(value, str) and len(value) == 5
    except (TypeError, ValueError):
        return False


def _check_service(value) -> list[str]:
    if not isinstance(value, dict):
        return ["服务设置必须是对象（字段见说明）"]
    errors = [f"服务设置：未知字段“{k}”" for k in value if k not in SERVICE_DEFAULTS]
    merged = {**SERVICE_DEFAULTS, **value}
    bounds = {"tick_seconds": (30, 3600), "settle_seconds": (0, 600), "keep_backups": (1, 90)}
    for key, (low, high) in bounds.items():
        v = merged[key]
        if not (_is_number(v) and float(v).is_integer() and low <= v <= high):
            errors.append(f"服务设置：{SERVICE_FIELDS[key]}必须是 {low}–{high} 之间的整数")
    for key in ("incoming_dir", "briefings_dir"):
        v = merged[key]
        if not (isinstance(v, str) and v.strip() and ".." not in v.split("/")):
            errors.append(f"服务设置：{SERVICE_FIELDS[key]}必须是非空的相对路径")
    for key in ("daily_brief_at", "weekly_brief_at", "backup_at"):
        if not _is_clock(merged[key]):
            errors.append(f"服务设置：{SERVICE_FIELDS[key]}必须是 HH:MM 格式，如 17:30")
    formats = merged["brief_formats"]
    if not (isinstance(formats, list) and formats and set(formats) <= {"docx", "pdf", "html"}):
        errors.append("服务设置：定时简报格式必须是 docx、pdf、html 中的一项或多项")
    if not isinstance(merged["mail_briefings"], bool):
        errors.append("服务设置：定时简报发送至邮件目标必须是 true 或 false")
    return errors

REGISTRY: dict[str, Setting] = {s.key: s for s in (
    Setting("default_tier_set", "默认分级体系",
            "新建事件使用的分级体系：三级（一级/二级/三级）或四级（特别重大/重大/较大/一般）。",
            lambda: DEFAULT_TIER_SET, _check_tier_set,
            form=Form("value", (Field("value", "分级体系", "choice", options=tuple(TIER_SETS)),))),
    Setting("grading_thresholds", "分级阈值",
            "事件自动定级所用的计数阈值；敏感时期内计数阈值按收紧系数下调。",
            lambda: asdict(GradingThresholds()), _check_thresholds, _normalize_thresholds,
            form=Form("record", THRESHOLD_FIELDS)),
    Setting("deadlines", "处置时限",
            "各级事件从起算环节到完成环节的时限（分钟）；超过目标时限但未超过最迟时限仍计为按时。",
            lambda: [_deadline_to_json(d) for d in DEADLINES], _check_deadlines, _normalize_deadlines,
            form=Form("rows", DEADLINE_FIELDS)),
    Setting("sensitive_periods", "敏感时期",
            "节假日、重要会议、纪念日等：期间预警与定级阈值乘以收紧系数（0–1，越小越严）。日期含首尾。",
            lambda: [_period_to_json(p) for p in sensitive.DEFAULT_PERIODS], _check_periods, _normalize_periods,
            form=Form("rows", (Field("name", "名称", help="如 国庆节、全国两会"),
                               Field("start", "开始日期", "date", help="含当日"),
                               Field("end", "结束日期", "date", help="含当日"),
                               Field("factor", "收紧系数", "float", "0–1", 0.01, 1,
                                     "期间阈值乘以此系数，越小越严；0.7 即阈值降为七成")))),
    Setting("mainstream_sites", "主流媒体站点",
            "这些站点出现报道即视为“主流媒体介入”，是一级事件的定级依据之一。",
            lambda: list(config.MAINSTREAM_SITES), _check_sites, lambda value: [s.strip() for s in value],
            form=Form("value", (Field("value", "站点", "lines", help="每行一个站点名称，与帖子的“站点”一致"),))),
    Setting("keyword_stop_words", "关键词停用词",
            "话题分析的高频关键词不列出这些词（地名与日常用语）；数据中的地域名称也自动不列出。修改即时生效。",
            lambda: list(topics.KEYWORD_STOP_DEFAULT), _check_stop_words, _normalize_stop_words,
            form=Form("value", (Field("value", "停用词", "lines", help="每行一个词"),))),
    Setting("media_directory", "媒体与账号名录",
            "站点或账号 → 层级（中央媒体/省级媒体/市县媒体/政务号/商业平台/自媒体/境外媒体）。站点只在其自身发布的"
            "报道（新闻、门户网站、传统媒体渠道）上生效，网民跟帖不算；账号名称按帖子的作者ID匹配。修改后历史帖子按新名录统计。",
            media.default_directory, _check_directory,
            lambda value: [{"name": item["name"].strip(), "tier": item["tier"]} for item in value],
            form=Form("rows", (Field("name", "站点或账号", help="与帖子的“站点”或“作者ID”一致"),
                               Field("tier", "层级", "choice", options=media.TIERS)))),
    Setting("service", "值守服务",
            "常驻服务（python -m analysis serve，即 make run）的定时巡检、监视文件夹与定时简报。",
            lambda: dict(SERVICE_DEFAULTS), _check_service, lambda value: {**SERVICE_DEFAULTS, **value},
            form=Form("record", (
                Field("tick_seconds", "巡检间隔", "int", "秒", 30, 3600, "每次巡检：导入、预警、督办、推送、简报"),
                Field("incoming_dir", "监视文件夹", help="相对数据库所在目录；放入的导出文件自动导入"),
                Field("settle_seconds", "文件静置时间", "int", "秒", 0, 600, "文件这么久未变化才视为写入完成"),
                Field("briefings_dir", "定时简报目录", help="相对数据库所在目录"),
                Field("daily_brief_at", "舆情日志生成时间", help="HH:MM，每天"),
                Field("weekly_brief_at", "周报生成时间", help="HH:MM，每周一生成上一完整周"),
                Field("brief_formats", "定时简报格式", "words", help="docx、pdf、html 中的一项或多项"),
                Field("mail_briefings", "定时简报发送至邮件目标", "bool"),
                Field("backup_at", "数据库备份时间", help="HH:MM，每天；备份存于数据库所在目录的 backups/"),
                Field("keep_backups", "保留备份份数", "int", "份", 1, 90, "只保留最新的这么多份")))),
    Setting(TARGETS_KEY, "预警推送目标",
            "企业微信/钉钉/飞书机器人与 SMTP 邮件；密钥、密码与机器人地址不会写入审计日志。",
            lambda: [], _check_targets),
    Setting("incident_proposals", "自动立案",
            "每次巡检：达到级别的突增/阈值/关键词预警生成“待确认”事件，由值班分析员确认或说明理由后排除；"
            "同一话题的新突增并入未结事件；未结事件自动吸纳新出现的匹配帖子并重新定级。字段："
            + "；".join(f"{name} = {label}" for name, label in PROPOSAL_FIELDS.items()) + "。",
            lambda: dict(PROPOSAL_DEFAULTS), _check_proposals, lambda value: {**PROPOSAL_DEFAULTS, **value}),
)}


# -- reading -------------------------------------------------------------------------------------------------
def _setting(key: str) -> Setting:
    if key not in REGISTRY:
        raise ValueError(f"未知的设置项：{key}（可选：{'、'.join(REGISTRY)}）")
    return REGISTRY[key]


def _stored(store: Store, key: str) -> tuple[bool, Any, str | None]:
    """(is anything stored, the parsed value, a problem when it cannot be used)."""
    raw = store.scalar("SELECT value FROM settings WHERE key = ?", [key])
    if raw is None:
        return False, None, None
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return True, None, "已保存的值不是合法 JSON"
    errors = REGISTRY[key].validate(value)
    return True, value, "；".join(errors) if errors else None


def get(store: Store, key: str) -> Any:
    """The value in effect: the stored one when it validates, otherwise the default."""
    setting = _setting(key)
    present, value, problem = _stored(store, key)
    if not present or problem:
        return setting.default()
    return setting.normalize(value)


def is_customised(store: Store, key: str) -> bool:
    return _stored(store, _setting(key).key)[0]


def problems(store: Store) -> list[str]:
    """One Chinese line per stored value that is unusable and was replaced by its default."""
    lines = []
    for key, setting in REGISTRY.items():
        present, _, problem = _stored(store, key)
        if present and problem:
            lines.append(f"设置“{setting.label}”（{key}）的已保存值无效，已改用默认值：{problem}")
    return lines


# -- writing -------------------------------------------------------------------------------------------------
def _audited(key: str, value: Any) -> Any:
    """A value as the audit log may keep it: notification targets without their secrets and robot URLs."""
    return delivery.redact(value) if key == TARGETS_KEY and isinstance(value, list) else value


def save(store: Store, key: str, value: Any, actor: str) -> Any:
    """Validate and store a value (raises ValueError with Chinese messages naming the field); audited."""
    setting = _setting(key)
    errors = setting.validate(value)
    if errors:
        raise ValueError("；".join(errors))
    old, new = get(store, key), setting.normalize(value)
    store.execute([
        ("""INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, now(), ?)
            ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now(),
                                            updated_by = excluded.updated_by""",
         [key, json.dumps(new, ensure_ascii=False), actor]),
        audit.entry(actor, "settings.update", key, {"old": _audited(key, old), "new": _audited(key, new)}),
    ])
    return new


def reset(store: Store, key: str, actor: str) -> Any:
    """Back to the default (the stored override is removed); audited."""
    setting = _setting(key)
    old, new = get(store, key), setting.default()
    store.execute([
        ("DELETE FROM settings WHERE key = ?", [key]),
        audit.entry(actor, "settings.reset", key, {"old": _audited(key, old), "new": _audited(key, new)}),
    ])
    return new


def history(store: Store, limit: int = 50) -> pd.DataFrame:
    """Recent settings changes, newest first: when, who, which setting, what."""
    frame = store.query(
        """SELECT logged_at, actor, action, target, CAST(details AS VARCHAR) AS details FROM audit_log
           WHERE action LIKE 'settings.%' ORDER BY audit_id DESC LIMIT ?""", [limit])
    frame["setting"] = [REGISTRY[t].label if t in REGISTRY else t for t in frame["target"]]
    frame["action"] = frame["action"].map({"settings.update": "修改", "settings.reset": "恢复默认"}).fillna(
        frame["action"])
    frame["details"] = [d if d is None or len(d) <= 300 else d[:300] + "…" for d in frame["details"]]
    return frame[["logged_at", "actor", "action", "setting", "target", "details"]]


# -- the policy: every setting the compute functions apply, read once --------------------------------------
def _periods(value: list[dict]) -> tuple[sensitive.SensitivePeriod, ...]:
    return tuple(sensitive.SensitivePeriod(p["name"], dt.date.fromisoformat(p["start"]),
                                           dt.date.fromisoformat(p["end"]), p["factor"]) for p in value)


def policy(store: Store) -> Policy:
    """The office's policy in effect (stored values that validate, defaults for the rest)."""
    proposals = {**PROPOSAL_DEFAULTS, **get(store, "incident_proposals")}
    return Policy(
        tier_set=get(store, "default_tier_set"),
        thresholds=GradingThresholds(**get(store, "grading_thresholds")),
        deadlines=tuple(Deadline(**item) for item in get(store, "deadlines")),
        periods=_periods(get(store, "sensitive_periods")),
        mainstream_sites=tuple(get(store, "mainstream_sites")),
        proposals=Proposals(**proposals),
        targets=tuple(get(store, TARGETS_KEY)),
    )


def keyword_stop_words(store: Store) -> list[str]:
    """What 话题分析's keyword list leaves out (read by the page, passed to explore.top_keywords)."""
    return get(store, "keyword_stop_words")


def media_directory(store: Store) -> dict[str, str]:
    """Site or account -> tier (media.assign_tiers)."""
    return media.directory_map(get(store, "media_directory"))


def service(store: Store) -> dict[str, Any]:
    return get(store, "service")


def to_json(value: Any) -> str:
    """How a value is shown for editing."""
    return json.dumps(value, ensure_ascii=False, indent=2)


def parse_json(text: str, key: str) -> Any:
    """Parse edited JSON; a syntax error becomes a Chinese message naming the setting and the position."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"“{_setting(key).label}”（{key}）不是合法的 JSON：第{exc.lineno}行第{exc.colno}列，"
                         f"{exc.msg}") from exc


def cli_settings(argv: list[str]) -> int:
    """`settings list|get KEY|set KEY JSON|reset KEY`: the 设置 page for scripts (validated and audited alike)."""
    import argparse
    import sys

    from analysis import cli
    from analysis.store import open_store

    common = cli.common_options()
    parser = argparse.ArgumentParser(prog="python -m analysis settings", parents=[common],
                                     description="read and change settings (validated, audited)")
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("list", parents=[common])
    for name in ("get", "reset"):
        sub.add_parser(name, parents=[common]).add_argument("key")
    change = sub.add_parser("set", parents=[common])
    change.add_argument("key")
    change.add_argument("value", help="the new value as JSON")
    change.add_argument("--by", default="cli")
    args = parser.parse_args(argv)
    with open_store(cli.db_path(args)) as store:
        try:
            if args.action == "list":
                values = {key: get(store, key) for key in REGISTRY if key != TARGETS_KEY}
                values[TARGETS_KEY] = delivery.redacted_targets(store)
                if cli.wants_json(args):
                    cli.print_json(values)
                else:
                    for key, value in values.items():
                        print(f"{key}（{REGISTRY[key].label}）= {json.dumps(value, ensure_ascii=False)}")
                return 0
            if args.action == "get":
                key = _setting(args.key).key
                value = delivery.redacted_targets(store) if key == TARGETS_KEY else get(store, key)
            elif args.action == "set":
                value = save(store, args.key, parse_json(args.value, _setting(args.key).key), args.by)
            else:
                value = reset(store, args.key, "cli")
        except ValueError as exc:
            print(f"错误：{exc}", file=sys.stderr)
            return 1
    print(json.dumps(value, ensure_ascii=False) if not cli.wants_json(args) else cli.dumps(value))
    return 0


# -- forms: what the 设置 page edits, and back to a value for `save` --------------------------------------------
_SCALAR_KINDS = {bool: "bool", int: "int", float: "float", str: "text"}
WORD_SEPARATORS = re.compile(r"[、，,；;\s]+")


def _inferred_field(key: str, label: str, value: Any) -> Field | None:
    kind = _SCALAR_KINDS.get(type(value))
    return Field(key, label, kind) if kind else None


def form_of(key: str) -> Form | None:
    """The setting's declared form; for a setting declared without one, a form inferred from its default
    (a number, text or switch; an object of those; a list of texts), so settings added later get inputs
    too. None when only JSON can express it (e.g. notification targets)."""
    setting = _setting(key)
    if setting.form is not None:
        return setting.form
    default = setting.default()
    single = _inferred_field("value", setting.label, default)
    if single:
        return Form("value", (single,))
    if isinstance(default, list) and default and all(isinstance(item, str) for item in default):
        return Form("value", (Field("value", setting.label, "lines", help="每行一项"),))
    if isinstance(default, dict) and default:
        inferred = [_inferred_field(name, name, item) for name, item in default.items()]
        if all(inferred):
            return Form("record", tuple(inferred))
    return None


def _shown(field: Field, value: Any) -> Any:
    if field.kind == "date":
        return _iso_date(value) or value
    if field.kind == "words":
        return "、".join(value) if isinstance(value, list) else value
    if field.kind == "lines":
        return "\n".join(str(item) for item in value) if isinstance(value, list) else value
    return value


def _stored_form(field: Field, value: Any) -> Any:
    if value is None or (not isinstance(value, list | dict | str) and pd.isna(value)):  # a table's empty cell
        return None
    if field.kind == "date":
        day = value.date() if isinstance(value, dt.datetime) else value
        return day.isoformat() if isinstance(day, dt.date) else value
    if field.kind == "words":
        return [w for w in WORD_SEPARATORS.split(str(value)) if w]
    if field.kind == "lines":
        return [line.strip() for line in str(value).splitlines() if line.strip()]
    if field.kind == "int" and _is_number(value) and value == int(value):
        return int(value)
    if field.kind == "float" and _is_number(value):
        return float(value)
    if field.kind == "text" and isinstance(value, str):
        return value.strip()
    return value


def to_form(key: str, value: Any) -> Any:
    """The value as the form's inputs start from: a scalar (value), {field: input} (record) or a list of
    {field: cell} rows (rows) — dates as dates, word lists joined with 、, text lists one per line."""
    form = form_of(key)
    if form is None:
        return to_json(value)
    if form.shape == "value":
        return _shown(form.fields[0], value)
    if form.shape == "record":
        return {f.key: _shown(f, value.get(f.key)) for f in form.fields}
    return [{f.key: _shown(f, item.get(f.key)) for f in form.fields} for item in value]


def from_form(key: str, edited: Any) -> Any:
    """The form's inputs as a JSON-ready value for `save` (which validates it); blank table rows are dropped."""
    form = form_of(key)
    if form is None:
        return parse_json(edited, key)
    if form.shape == "value":
        return _stored_form(form.fields[0], edited)
    if form.shape == "record":
        return {f.key: _stored_form(f, edited.get(f.key)) for f in form.fields}
    rows = [{f.key: _stored_form(f, row.get(f.key)) for f in form.fields} for row in edited]
    rows = [row for row in rows if any(v not in (None, "", []) for v in row.values())]
    return rows


def export_all(store: Store) -> str:
    """Every setting in effect as one JSON document (the advanced export; `import_all` reads it back)."""
    return to_json({key: get(store, key) for key in REGISTRY})


def import_all(store: Store, text: str, actor: str) -> list[str]:
    """Save every setting of an exported JSON document; nothing is saved unless all of it validates.
    Returns the labels of the settings saved (each change audited as by `save`)."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"导入内容不是合法的 JSON：第{exc.lineno}行第{exc.colno}列，{exc.msg}") from exc
    if not isinstance(document, dict):
        raise ValueError("导入内容必须是 JSON 对象：设置项 → 值")
    errors = [f"未知的设置项：{key}（可选：{'、'.join(REGISTRY)}）" for key in document if key not in REGISTRY]
    errors += [e for key, value in document.items() if key in REGISTRY for e in REGISTRY[key].validate(value)]
    if errors:
        raise ValueError("；".join(errors))
    changed = [key for key, value in document.items() if REGISTRY[key].normalize(value) != get(store, key)]
    for key in changed:
        save(store, key, document[key], actor)
    return [REGISTRY[key].label for key in changed]
