"""Volume, negativity, spread and heat: parametrized SQL on the store, returned as DataFrames."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.config import TIMEZONE
from analysis.filters import Filters
from analysis.store import Store

NEGATIVE = "负面"

# 清博 BCI-style heat: log-damped so a viral day does not flatten every other day on a chart.
HEAT_FORMULA_ZH = (
    "热度指数 = (0.2·ln(发帖量+1) + 0.8·(0.4·ln(转发数+1) + 0.4·ln(评论数+1) + 0.2·ln(点赞数+1)))·160；"
    "参照清博指数（BCI）形式，取对数以便不同话题、不同日期之间可比。"
)

_GROUP_COLUMNS = {"none": "NULL", "topic": "topic", "channel": "channel", "region": "coalesce(region, '未知')",
                  "site": "coalesce(site, '未知')"}
_FREQ = {"hour": "h", "day": "D", "week": "W-MON"}

_AGGREGATES = """
    count(*)                                              AS posts,
    count(*) FILTER (WHERE post_type = 'original')        AS originals,
    count(*) FILTER (WHERE post_type = 'repost')          AS reposts,
    count(*) FILTER (WHERE post_type = 'comment')         AS comments,
    count(*) FILTER (WHERE sentiment_label = '负面')       AS negative,
    count(*) FILTER (WHERE sentiment_label = '正面')       AS positive,
    avg(sentiment_score)                                  AS mean_score,
    coalesce(sum(repost_count), 0)                        AS repost_sum,
    coalesce(sum(comment_count), 0)                       AS comment_sum,
    coalesce(sum(like_count), 0)                          AS like_sum,
    coalesce(sum(read_count), 0)                          AS read_sum
"""


def wilson_interval(negative, total, z: float = 1.96) -> tuple[np.ndarray, np.ndarray]:
    """95 % Wilson score interval of a proportion: 2 negative of 3 posts is not a crisis."""
    k = np.asarray(negative, dtype=float)
    n = np.asarray(total, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denominator = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denominator
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denominator
        low, high = centre - half, centre + half
    empty = n == 0
    return np.where(empty, np.nan, low), np.where(empty, np.nan, high)


def heat_index(posts, reposts, comments, likes) -> np.ndarray:
    """The heat formula of HEAT_FORMULA_ZH, vectorised."""
    ln = np.log1p
    return (0.2 * ln(np.asarray(posts, float)) + 0.8 * (
        0.4 * ln(np.asarray(reposts, float)) + 0.4 * ln(np.asarray(comments, float))
        + 0.2 * ln(np.asarray(likes, float)))) * 160


def _with_derived(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["negative_ratio"] = np.where(frame["posts"] > 0, frame["negative"] / frame["posts"], np.nan)
    frame["negative_ratio_low"], frame["negative_ratio_high"] = wilson_interval(frame["negative"], frame["posts"])
    frame["heat"] = heat_index(frame["posts"], frame["repost_sum"], frame["comment_sum"], frame["like_sum"])
    return frame


@dataclass(frozen=True)
class Headline:
    """Totals for the filtered period and the equally long period before it."""

    current: dict
    previous: dict

    def change(self, key: str) -> float | None:
        """Relative change for counts; absolute change (in ratio points) for ratios."""
        now, before = self.current.get(key), self.previous.get(key)
        if now is None or before is None or pd.isna(now) or pd.isna(before):
            return None
        if key.endswith("ratio"):
            return float(now - before)
        return None if before == 0 else float(now / before - 1)


def _period_totals(store: Store, f: Filters) -> dict:
    where, params = f.where()
    frame = store.query(
        f"""SELECT {_AGGREGATES},
                   count(DISTINCT author_id) AS authors,
                   count(DISTINCT site)      AS sites,
                   count(DISTINCT channel)   AS channels
            FROM posts WHERE {where}""",
        params,
    )
    return _with_derived(frame).to_dict("records")[0]  # per column, so counts stay integers (a row would be floats)


def headline(store: Store, f: Filters) -> Headline:
    return Headline(_period_totals(store, f), _period_totals(store, f.previous_period()))


def trend(store: Store, f: Filters) -> pd.DataFrame:
    """One row per time bucket (and group when f.group_by is set), empty buckets filled with zeros."""
    where, params = f.where()
    group = _GROUP_COLUMNS[f.group_by]
    frame = store.query(
        f"""SELECT date_trunc(?, created_at) AS bucket, {group} AS grp, {_AGGREGATES}
            FROM posts WHERE {where} GROUP BY ALL ORDER BY bucket""",
        [f.grain, *params],
    )
    frame["bucket"] = pd.to_datetime(frame["bucket"]).dt.tz_convert(TIMEZONE)
    frame = _fill_buckets(frame, f)
    return _with_derived(frame).drop(columns="grp" if f.group_by == "none" else [])


def _fill_buckets(frame: pd.DataFrame, f: Filters) -> pd.DataFrame:
    first = pd.Timestamp(f.start, tz=TIMEZONE)
    if f.grain == "week":
        first -= pd.Timedelta(days=first.weekday())
    buckets = pd.date_range(first, f.end_ts - pd.Timedelta(seconds=1), freq=_FREQ[f.grain], tz=TIMEZONE)
    groups = frame["grp"].dropna().unique().tolist() or [None]
    grid = pd.MultiIndex.from_product([buckets, groups], names=["bucket", "grp"])
    counts = [c for c in frame.columns if c not in ("bucket", "grp", "mean_score")]
    filled = frame.set_index(["bucket", "grp"]).reindex(grid)
    filled[counts] = filled[counts].fillna(0).astype("int64")
    return filled.reset_index()


def breakdown(store: Store, f: Filters, dimension: str) -> pd.DataFrame:
    """Totals per channel / topic / region / site, largest first."""
    column = _GROUP_COLUMNS[dimension]
    if dimension == "none":
        raise ValueError("breakdown needs a dimension")
    where, params = f.where()
    frame = store.query(
        f"""SELECT {column} AS {dimension}, {_AGGREGATES}
            FROM posts WHERE {where} GROUP BY ALL ORDER BY posts DESC, {dimension}""",
        params,
    )
    return _with_derived(frame)


def latest_day(store: Store) -> dt.date | None:
    """The newest day with posts (Asia/Shanghai), so the default view opens where the data is."""
    value = store.scalar("SELECT max(created_at) FROM posts")
    return None if value is None else pd.Timestamp(value).tz_convert(TIMEZONE).date()


def post_count(store: Store) -> int:
    return int(store.scalar("SELECT count(*) FROM posts"))


def dimension_values(store: Store) -> dict[str, list[str]]:
    """Distinct channels, topics and regions present in the data, for the filter pickers."""
    values = {}
    for column in ("channel", "topic", "region"):
        frame = store.query(
            f"SELECT {column} AS v, count(*) AS n FROM posts WHERE {column} IS NOT NULL GROUP BY 1 ORDER BY n DESC, v"
        )
        values[column] = frame["v"].tolist()
    return values


HEATMAPS: dict[str, tuple[str, str, str, str]] = {
    # kind: (row expression, column expression, row label, column label)
    "topic_day": ("topic", "strftime(created_at, '%Y-%m-%d')", "话题", "日期"),
    "channel_day": ("channel", "strftime(created_at, '%Y-%m-%d')", "渠道", "日期"),
    "hour_weekday": ("hour(created_at)", "isodow(created_at)", "时段", "星期"),
    "region_topic": ("coalesce(region, '未知')", "topic", "地域", "话题"),
}
MEASURES = {"posts": "发帖量", "negative_ratio": "负面占比", "heat": "热度指数"}
WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def heatmap_cells(store: Store, f: Filters, kind: str) -> pd.DataFrame:
    """Long form: one row per (row, col) cell with posts, negative, negative_ratio (+ Wilson) and heat."""
    row_expr, col_expr, _, _ = HEATMAPS[kind]
    where, params = f.where()
    frame = store.query(
        f"""SELECT {row_expr} AS row_key, {col_expr} AS col_key, {_AGGREGATES}
            FROM posts WHERE {where} GROUP BY ALL""",
        params,
    )
    return _with_derived(frame)


def heatmap_cell_condition(kind: str, row, col) -> tuple[str, list]:
    """SQL predicate selecting the posts of one heatmap cell (for drill-down); values are bound."""
    row_expr, col_expr, _, _ = HEATMAPS[kind]
    if kind == "hour_weekday":
        day = WEEKDAYS_ZH.index(col) + 1 if col in WEEKDAYS_ZH else int(col)
        return f"{row_expr} = ? AND {col_expr} = ?", [int(row), day]
    return f"{row_expr} = ? AND {col_expr} = ?", [str(row), str(col)]


def heatmap_matrix(cells: pd.DataFrame, measure: str, kind: str | None = None) -> pd.DataFrame:
    """Pivot cells into a matrix for a chart; rows ordered by volume, empty cells 0 (NaN for ratios)."""
    if measure not in MEASURES:
        raise ValueError(f"未知的指标：{measure}")
    matrix = cells.pivot(index="row_key", columns="col_key", values=measure)
    if kind == "hour_weekday":  # a full 24 × 7 grid, weekdays named
        matrix = matrix.reindex(index=range(24), columns=range(1, 8))
        matrix.columns = list(WEEKDAYS_ZH)
        return matrix if measure == "negative_ratio" else matrix.fillna(0)
    order = cells.groupby("row_key")["posts"].sum().sort_values(ascending=False).index
    matrix = matrix.reindex(index=order).sort_index(axis=1)
    return matrix if measure == "negative_ratio" else matrix.fillna(0)


def spread(store: Store, f: Filters, mainstream_sites: Sequence[str]) -> pd.DataFrame:
    """Reach per group: interactions, distinct channels/sites, the office's mainstream media, velocity and acceleration.

    velocity = posts in the busiest hour and mean posts per active hour; acceleration = posts in the
    last hour with data minus the hour before it (positive: still speeding up).
    """
    where, params = f.where()
    group = "'全部'" if f.group_by == "none" else _GROUP_COLUMNS[f.group_by]
    mainstream = list(mainstream_sites)
    placeholders = ", ".join("?" for _ in mainstream)
    totals = store.query(
        f"""SELECT {group} AS grp, {_AGGREGATES},
                   count(DISTINCT channel) AS channels,
                   count(DISTINCT site) AS sites,
                   count(*) FILTER (WHERE site IN ({placeholders})) AS mainstream_posts,
                   list(DISTINCT site) FILTER (WHERE site IN ({placeholders})) AS mainstream_sites,
                   min(created_at) AS first_seen,
                   max(created_at) AS last_seen
            FROM posts WHERE {where} GROUP BY ALL""",
        [*mainstream, *mainstream, *params],
    )
    hourly = store.query(
        f"""SELECT {group} AS grp, date_trunc('hour', created_at) AS hour, count(*) AS posts
            FROM posts WHERE {where} GROUP BY ALL ORDER BY hour""",
        params,
    )
    speed = hourly.groupby("grp", dropna=False).agg(
        peak_velocity=("posts", "max"), mean_velocity=("posts", "mean"), active_hours=("posts", "size"))
    speed["acceleration"] = (hourly.groupby("grp", dropna=False).apply(_last_hour_change, include_groups=False)
                             if len(hourly) else pd.Series(dtype="int64"))  # on no rows apply gives a frame
    frame = totals.merge(speed, left_on="grp", right_index=True, how="left")
    frame["mainstream_sites"] = [sorted(v) if isinstance(v, list | np.ndarray) else []
                                 for v in frame["mainstream_sites"]]
    frame = _with_derived(frame).sort_values("posts", ascending=False).reset_index(drop=True)
    return frame.drop(columns="grp") if f.group_by == "none" else frame.rename(columns={"grp": f.group_by})


def _last_hour_change(hours: pd.DataFrame) -> int:
    if hours.empty:
        return 0
    last = hours["hour"].iloc[-1]
    previous = hours.loc[hours["hour"] == last - pd.Timedelta(hours=1), "posts"]
    return int(hours["posts"].iloc[-1] - (previous.iloc[0] if len(previous) else 0))


def hourly_series(store: Store, f: Filters, by: str) -> pd.DataFrame:
    """Posts and negative posts per hour and per topic/channel/region: the input of spike detection."""
    if by not in ("topic", "channel", "region", "site", "none"):
        raise ValueError(f"未知的分组方式：{by}")
    where, params = f.where()
    key = "'全部'" if by == "none" else _GROUP_COLUMNS[by]
    frame = store.query(
        f"""SELECT {key} AS key, date_trunc('hour', created_at) AS hour, count(*) AS posts,
                   count(*) FILTER (WHERE sentiment_label = '负面') AS negative
            FROM posts WHERE {where} GROUP BY ALL ORDER BY key, hour""",
        params,
    )
    frame["hour"] = pd.to_datetime(frame["hour"]).dt.tz_convert(TIMEZONE)
    return frame


def freshness(store: Store, now: pd.Timestamp | None = None) -> pd.DataFrame:
    """Per channel: newest post, newest import, posts in the last 24 h — a silent channel means a broken crawler."""
    now = now or pd.Timestamp.now(tz=TIMEZONE)
    frame = store.query(
        """SELECT channel, max(created_at) AS newest_post, max(ingested_at) AS newest_import,
                  count(*) FILTER (WHERE created_at >= ?) AS posts_24h, count(*) AS posts
           FROM posts GROUP BY channel ORDER BY newest_post DESC""",
        [(now - pd.Timedelta(hours=24)).to_pydatetime()],
    )
    frame["hours_since_post"] = (now - pd.to_datetime(frame["newest_post"])).dt.total_seconds() / 3600
    return frame
