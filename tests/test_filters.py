"""Filters: URL round trip, defaults, and hostile parameters that must do nothing."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from analysis.filters import Filters

LATEST = dt.date(2026, 11, 23)


def test_defaults_open_on_the_last_30_days_of_data():
    f = Filters.from_query_params({}, LATEST)
    assert (f.start, f.end, f.days) == (dt.date(2026, 10, 25), LATEST, 30)
    assert f.previous_period().end == dt.date(2026, 10, 24)


def test_query_params_round_trip():
    f = Filters(dt.date(2026, 11, 1), dt.date(2026, 11, 7), "hour", "topic", ("微博", "抖音"), ("教育",), ())
    assert Filters.from_query_params(f.to_query_params(), LATEST) == f


@pytest.mark.parametrize("params", [
    {"from": "2026-13-45", "to": "<script>", "grain": "minute;DROP TABLE posts", "by": "1=1"},
    {"from": ["x"], "channel": ["", "微博"] * 100},
])
def test_malformed_params_fall_back_to_defaults(params):
    f = Filters.from_query_params(params, LATEST)
    assert f.end == LATEST and f.grain == "day" and f.group_by == "none"
    assert len(f.channels) <= 50


def test_reversed_range_is_swapped_and_where_binds_values():
    f = Filters.from_query_params({"from": "2026-11-10", "to": "2026-11-01", "channel": ["a'b"]}, LATEST)
    assert (f.start, f.end) == (dt.date(2026, 11, 1), dt.date(2026, 11, 10))
    sql, params = f.where()
    assert "a'b" not in sql and "a'b" in params


def test_until_cuts_a_running_period_and_the_previous_period_keeps_its_length():
    from analysis.config import TIMEZONE

    cut = pd.Timestamp("2026-11-17 09:00", tz=TIMEZONE)
    week = Filters(dt.date(2026, 11, 16), dt.date(2026, 11, 22), until=cut)
    assert week.end_ts == cut and week.where()[1][1] == cut.to_pydatetime()
    before = week.previous_period()
    assert (before.start, before.end_ts) == (dt.date(2026, 11, 9), cut - pd.Timedelta(days=7))
    assert Filters(dt.date(2026, 11, 16), dt.date(2026, 11, 16), until=cut + pd.Timedelta(days=3)).end_ts == \
        pd.Timestamp("2026-11-17", tz=TIMEZONE)  # a cut after the last day changes nothing
