"""Sensitive periods (analysis.sensitive): which period covers a moment, and how much it tightens thresholds."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from analysis.sensitive import DEFAULT_PERIODS, SensitivePeriod, active_period, threshold_factor

MEETING = SensitivePeriod("全市重要会议", dt.date(2026, 11, 9), dt.date(2026, 11, 11), 0.5)
WEEK = SensitivePeriod("宣传周", dt.date(2026, 11, 5), dt.date(2026, 11, 12), 0.8)


def at(text: str, tz: str = "Asia/Shanghai") -> pd.Timestamp:
    return pd.Timestamp(text, tz=tz)


def test_days_are_whole_and_inclusive_in_shanghai_time():
    assert MEETING.covers(at("2026-11-09 00:00")) and MEETING.covers(at("2026-11-11 23:59"))
    assert not MEETING.covers(at("2026-11-12 00:00"))
    assert MEETING.covers(at("2026-11-08 16:30", "UTC"))  # 00:30 on the 9th in Shanghai


def test_the_tightest_covering_period_wins_and_sets_the_factor():
    periods = (WEEK, MEETING)
    assert active_period(at("2026-11-10 12:00"), periods) == MEETING
    assert threshold_factor(at("2026-11-10 12:00"), periods) == 0.5
    assert active_period(at("2026-11-06 12:00"), periods) == WEEK
    assert active_period(at("2026-11-20 12:00"), periods) is None
    assert threshold_factor(at("2026-11-20 12:00"), periods) == 1.0
    assert threshold_factor(at("2026-11-10 12:00"), ()) == 1.0  # an office without periods


def test_defaults_cover_the_national_holidays():
    assert active_period(at("2026-10-03 10:00"), DEFAULT_PERIODS).name == "国庆节"
    assert active_period(at("2027-03-10 10:00"), DEFAULT_PERIODS).name == "全国两会"


@pytest.mark.parametrize(("start", "end", "factor", "message"), [
    (dt.date(2026, 11, 12), dt.date(2026, 11, 11), 0.7, "开始日期晚于结束日期"),
    (dt.date(2026, 11, 9), dt.date(2026, 11, 11), 0, "收紧系数"),
    (dt.date(2026, 11, 9), dt.date(2026, 11, 11), 1.5, "收紧系数"),
])
def test_a_bad_period_is_refused(start, end, factor, message):
    with pytest.raises(ValueError, match=message):
        SensitivePeriod("x", start, end, factor)
