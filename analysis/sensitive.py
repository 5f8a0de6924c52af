"""Sensitive periods (holidays, major meetings, anniversaries): when they apply and how much thresholds tighten."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from analysis.config import TIMEZONE


@dataclass(frozen=True)
class SensitivePeriod:
    """A named span of whole days (inclusive) during which alert and grading thresholds are multiplied by factor."""

    name: str
    start: dt.date
    end: dt.date
    factor: float = 0.7  # < 1 tightens: a threshold of 100 posts becomes 70

    def __post_init__(self):
        if self.start > self.end:
            raise ValueError(f"敏感时期“{self.name}”的开始日期晚于结束日期")
        if not 0 < self.factor <= 1:
            raise ValueError(f"敏感时期“{self.name}”的收紧系数应在 0 到 1 之间（不含0）")

    def covers(self, at: pd.Timestamp) -> bool:
        day = pd.Timestamp(at).tz_convert(TIMEZONE).date()
        return self.start <= day <= self.end


def _yearly(name: str, month: int, day: int, before: int, after: int, years: range) -> list[SensitivePeriod]:
    return [SensitivePeriod(name, dt.date(y, month, day) - dt.timedelta(days=before),
                            dt.date(y, month, day) + dt.timedelta(days=after)) for y in years]


# Defaults an office edits in settings: national holidays and the spring meetings (两会) each year.
DEFAULT_PERIODS: tuple[SensitivePeriod, ...] = tuple(
    _yearly("元旦", 1, 1, 1, 2, range(2024, 2031))
    + _yearly("全国两会", 3, 4, 2, 10, range(2024, 2031))
    + _yearly("清明节", 4, 4, 1, 2, range(2024, 2031))
    + _yearly("劳动节", 5, 1, 1, 4, range(2024, 2031))
    + _yearly("国庆节", 10, 1, 2, 7, range(2024, 2031))
)


def active_period(at: pd.Timestamp, periods: Sequence[SensitivePeriod]) -> SensitivePeriod | None:
    """The tightest period covering `at`, if any."""
    covering = [p for p in periods if p.covers(at)]
    return min(covering, key=lambda p: p.factor) if covering else None


def threshold_factor(at: pd.Timestamp, periods: Sequence[SensitivePeriod]) -> float:
    """Multiply thresholds by this: 1.0 normally, the period's factor inside a sensitive period."""
    period = active_period(at, periods)
    return period.factor if period else 1.0
