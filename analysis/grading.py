"""Grading as data: tier sets with their colours and order, thresholds, deadline profiles and the "on time" rule.

Pure (no storage): analysis.settings stores an office's choices of these, analysis.policy carries them, and
analysis.incidents applies them to incidents.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from analysis.config import TIMEZONE

# -- tiers --------------------------------------------------------------------------------------------
# Each tier set lists grades from gravest to mildest, with the colour the UI and briefings use.
TIER_SETS: dict[str, tuple[tuple[str, str], ...]] = {
    "三级": (("一级", "#d62728"), ("二级", "#ff7f0e"), ("三级", "#1f77b4")),
    "四级": (("特别重大", "#d62728"), ("重大", "#ff7f0e"), ("较大", "#f2c500"), ("一般", "#1f77b4")),
}
DEFAULT_TIER_SET = "三级"
# A grade's place in its tier set, gravest 0: the one tier order (sorting boards, telling a raise from a cut).
GRADE_RANK: dict[str, int] = {grade: rank for tiers in TIER_SETS.values() for rank, (grade, _) in enumerate(tiers)}
# Deadline profiles are defined once for the 3-tier grades; 4-tier grades map onto them.
DEADLINE_PROFILE = {"一级": "一级", "二级": "二级", "三级": "三级",
                    "特别重大": "一级", "重大": "一级", "较大": "二级", "一般": "三级"}
PROFILES: tuple[str, ...] = ("一级", "二级", "三级")


def grades_of(tier_set: str) -> list[str]:
    if tier_set not in TIER_SETS:
        raise ValueError(f"未知的分级体系：{tier_set}（可选：{'、'.join(TIER_SETS)}）")
    return [grade for grade, _ in TIER_SETS[tier_set]]


def grade_colour(grade: str) -> str:
    return next((colour for tiers in TIER_SETS.values() for g, colour in tiers if g == grade), "#9e9e9e")


# -- thresholds -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GradingThresholds:
    """Count thresholds tighten inside sensitive periods (multiplied by the period's factor)."""

    spread_window_minutes: int = 30       # "30分钟内跨N个平台传播"
    fast_spread_channels: int = 5
    severe_posts_per_hour: int = 100       # rapid fermentation
    severe_posts: int = 300
    several_sites: int = 3
    dozens_of_comments: int = 30
    rising_negative_points: float = 0.10   # negative share up by 10 points day on day
    min_keyword_posts: int = 3             # one stray word is not a casualty report
    escalate_after_hours: int = 24         # a 二级 still growing after a day becomes 一级

    def tightened(self, factor: float) -> GradingThresholds:
        if factor >= 1:
            return self
        counts = ("fast_spread_channels", "severe_posts_per_hour", "severe_posts", "several_sites",
                  "dozens_of_comments", "min_keyword_posts")
        return replace(self, **{name: max(1, int(np.ceil(getattr(self, name) * factor))) for name in counts})


# -- deadlines ----------------------------------------------------------------------------------------------
# The lifecycle steps (analysis.incidents enforces their order); deadlines start at one and are met by another.
LIFECYCLE: tuple[str, ...] = ("监测发现", "核实", "研判定级", "报送", "批办/交办", "处置", "公开回应", "跟踪",
                              "督办/催办", "办结/化解", "总结评估", "归档")


@dataclass(frozen=True)
class Deadline:
    """A clock: `step` must be recorded within `minutes` (hard limit `hard_minutes`) after `anchor`."""

    profile: str          # 一级 / 二级 / 三级 (4-tier grades map via DEADLINE_PROFILE)
    label: str
    step: str
    anchor: str
    minutes: int
    hard_minutes: int | None = None
    ticket_only: bool = False   # only for incidents from mailboxes, 留言板 or hotline tickets


# The defaults, from the seeds and 国办发〔2016〕61号; an office edits its own in settings ("deadlines").
DEADLINES: tuple[Deadline, ...] = (
    Deadline("一级", "首报（30分钟内报送）", "报送", "监测发现", 30),
    Deadline("一级", "基本情况报告（2小时内）", "核实", "监测发现", 120),
    Deadline("一级", "权威发布（3小时，最迟5小时）", "公开回应", "监测发现", 180, 300),
    Deadline("一级", "新闻发布会/回应（24小时内）", "公开回应", "监测发现", 24 * 60),
    Deadline("二级", "报送（2小时内）", "报送", "监测发现", 120),
    Deadline("二级", "公开回应（48小时内）", "公开回应", "监测发现", 48 * 60),
    Deadline("三级", "报送（24小时内）", "报送", "监测发现", 24 * 60),
    Deadline("三级", "公开回应（48小时内）", "公开回应", "监测发现", 48 * 60),
    *(Deadline(p, "信件/留言答复（3个工作日，最迟5日）", "公开回应", "监测发现", 3 * 24 * 60, 5 * 24 * 60, True)
      for p in PROFILES),
    *(Deadline(p, "总结评估（办结后3日内）", "总结评估", "办结/化解", 3 * 24 * 60) for p in PROFILES),
)
TICKET_CHANNELS = frozenset({"市长信箱", "书记信箱", "留言板", "12345热线", "上级转办", "信访"})
# A clock's status; met within the hard limit counts as on time (the one "on time" rule).
CLOCK_STATUSES = ("按时", "超目标未超时限", "逾期完成", "已逾期", "进行中")
ON_TIME_STATUSES = frozenset({"按时", "超目标未超时限"})
RUNNING, OVERDUE = "进行中", "已逾期"


def is_ticket_incident(channels) -> bool:
    """An incident whose posts all came through mailboxes, 留言板 or hotlines runs on the reply clock."""
    return len(channels) > 0 and set(channels) <= TICKET_CHANNELS


def deadline_items(grade_name: str, events: pd.DataFrame, from_tickets: bool,
                   deadlines: Sequence[Deadline]) -> pd.DataFrame:
    """Every deadline of one incident with its anchor, due times and when (if ever) it was met.

    `events` has columns step, occurred_at (the incident's lifecycle log). Independent of the current
    time, so a back-test can ask "was it overdue at t?" without re-reading the log.
    """
    profile = DEADLINE_PROFILE.get(grade_name, "三级")
    rows = []
    for d in deadlines:
        if d.profile != profile or (d.ticket_only and not from_tickets):
            continue
        if not d.ticket_only and from_tickets and d.step == "公开回应":
            continue  # tickets are answered on the mailbox clock, not the press clock
        anchors = events.loc[events["step"] == d.anchor, "occurred_at"]
        if anchors.empty:
            continue
        start = anchors.min()
        done = events.loc[(events["step"] == d.step) & (events["occurred_at"] >= start), "occurred_at"]
        rows.append({"label": d.label, "step": d.step, "anchor_at": start,
                     "due_at": start + pd.Timedelta(minutes=d.minutes),
                     "hard_due_at": start + pd.Timedelta(minutes=d.hard_minutes or d.minutes),
                     "done_at": done.min() if not done.empty else pd.NaT})
    items = pd.DataFrame(rows, columns=["label", "step", "anchor_at", "due_at", "hard_due_at", "done_at"])
    for column in ("anchor_at", "due_at", "hard_due_at", "done_at"):
        items[column] = pd.to_datetime(items[column], utc=True).dt.tz_convert(TIMEZONE)
    return items


def clocks_for(grade_name: str, events: pd.DataFrame, from_tickets: bool, now: pd.Timestamp,
               deadlines: Sequence[Deadline]) -> pd.DataFrame:
    """Every deadline of one incident at `now`: met on time / late, running, or overdue, and minutes left."""
    clocks = deadline_items(grade_name, events[events["occurred_at"] <= now], from_tickets, deadlines)
    done = clocks["done_at"].notna()
    left = (clocks["hard_due_at"] - now).dt.total_seconds() / 60
    clocks["status"] = np.select(
        [done & (clocks["done_at"] <= clocks["due_at"]), done & (clocks["done_at"] <= clocks["hard_due_at"]), done,
         left < 0],
        list(CLOCK_STATUSES[:4]), default=RUNNING)
    clocks["minutes_left"] = left.where(~done)
    clocks["is_overdue"] = clocks["status"].isin(["已逾期", "逾期完成"])
    return clocks
