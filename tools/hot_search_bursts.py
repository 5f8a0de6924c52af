"""Real labelled bursts from the hourly Weibo hot-search archive, and window scoring of a detector on them.

Volume series: per category (the part of ``category`` before "-", the 10 biggest), the summed heat of its
titles on the list each hour, in units of 10,000 heat (an hourly "volume per topic"). Hours missing from
the archive (08:00 every day, ~100 others) are unobserved (NaN), not zero.

Labelling rule (uses single titles only, never the detector nor the summed series' dynamics): with
H = max(the 95th percentile of all titles' peak heat (``TOP_SHARE`` 0.05: 1,879,769), ``REL_HEAT`` (1.5) x
the category's median hourly total (a static scale, so one hot title in a busy category is not a burst
of it)), a title *bursts* at hour t when its heat reaches H there, its previous observed hour was below
H, and in one of the 3 hours before t (``RISE_HOURS``; hours without the title on the list count as 0,
hours missing from the archive are skipped) it stood at or below H / 2 - it entered the list or jumped,
rather than climbed slowly; not in the first 24 archive hours (no history). The burst window runs from
the hour after the last of those hours at or below H / 2 to the last hour, contiguous from its peak
within 3 hours of t (``PEAK_HOURS``), at which the title keeps >= half that peak. Windows of one
category closer than ``MERGE_GAP`` (6) hours merge: a run of hot titles is one burst. ``--top-share
0.10`` gives the broader set used as a sensitivity check.

Scoring (the outside check's rule): a labelled burst is *found* when a detection of that series overlaps
its window; precision = detections overlapping some burst of their series / detections; F1 of the two.
False alarms = detections overlapping no burst, per series per week of evaluated hours; "quiet" ones
are those more than 24 h from every burst. Figures are printed for all hours and for the halves before and
after ``--split`` (default 2024-08-04): tune on one half, report the other.

    .venv/bin/python tools/hot_search_bursts.py            # figures of the default detector
    .venv/bin/python tools/hot_search_bursts.py --labels   # print the labelled bursts
    .venv/bin/python tools/hot_search_bursts.py --top-share 0.10 jump_window=0   # other labels / params
    .venv/bin/python tools/hot_search_bursts.py --ceiling  # a detector that knows the labelling bar
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SHARED_DATA = Path(os.environ.get("OPINION_SHARED_DATA", REPO.parent / "shared" / "data"))
DATA = SHARED_DATA / "hot_search_dev.csv.gz"
TZ = "Asia/Shanghai"
N_SERIES = 10  # biggest categories by rows
HEAT_UNIT = 10_000
TOP_SHARE = 0.05  # a bursting title is among the top 5 % of titles by peak heat
REL_HEAT = 1.5
PEAK_HOURS = 3
RISE_HOURS = 3
MERGE_GAP = 6
EVAL_FROM = pd.Timestamp("2024-07-08 00:00", tz=TZ)  # the first 7 days are history only
SPLIT = "2024-08-04 00:00"  # July (4 weeks scored) / August (4 weeks: the Olympics)
QUIET_MARGIN = pd.Timedelta(hours=24)
NO_MARGIN = pd.Timedelta(0)


def load(path: Path = DATA) -> pd.DataFrame:
    hs = pd.read_csv(path, usecols=["time", "title", "heat", "category"])
    hs["time"] = pd.to_datetime(hs["time"]).dt.tz_convert(TZ)
    hs["category"] = hs["category"].fillna("暂无").str.split("-").str[0]
    return hs


def volume_series(hs: pd.DataFrame) -> pd.DataFrame:
    """Long frame key/hour/posts: summed heat per category and hour (NaN = hour not in the archive)."""
    keys = hs["category"].value_counts().index[:N_SERIES]
    observed = pd.DatetimeIndex(sorted(hs["time"].unique()))
    full = pd.date_range(observed.min(), observed.max(), freq="h")
    wide = (hs[hs["category"].isin(keys)].groupby(["time", "category"])["heat"].sum().unstack()
            .reindex(index=observed, columns=keys).fillna(0.0) / HEAT_UNIT).reindex(full)
    long = wide.stack(future_stack=True).rename("posts").reset_index()
    long.columns = ["hour", "key", "posts"]
    return long.sort_values(["key", "hour"]).reset_index(drop=True)


def label_bursts(hs: pd.DataFrame, series: pd.DataFrame, top_share: float = TOP_SHARE) -> pd.DataFrame:
    """Labelled bursts ``key, start, end, title, peak_heat, titles`` (hour starts, end inclusive)."""
    keys = set(series["key"])
    scale = series.groupby("key")["posts"].median() * HEAT_UNIT
    min_heat = hs.groupby("title")["heat"].max().quantile(1 - top_share)
    observed = set(hs["time"].unique())
    first_hour = hs["time"].min()
    hs = hs[hs["category"].isin(keys)].sort_values(["title", "time"]).reset_index(drop=True)
    hs["key"] = hs.groupby("title")["category"].transform("first")
    hs["bar"] = np.fmax(min_heat, REL_HEAT * hs["key"].map(scale))
    heat = hs.set_index(["title", "time"])["heat"]

    def lagged(lag: int) -> np.ndarray:
        """The title's heat `lag` hours earlier: 0 if that hour is in the archive without the title."""
        then = hs["time"] - pd.Timedelta(hours=lag)
        got = heat.reindex(pd.MultiIndex.from_arrays([hs["title"], then])).to_numpy(dtype=np.float64)
        return np.where(then.isin(observed), np.nan_to_num(got), np.nan)

    lags = np.stack([lagged(lag) for lag in range(1, RISE_HOURS + 1)])
    previous = lags[np.argmax(~np.isnan(lags), axis=0), np.arange(len(hs))]  # latest observed hour
    low = lags <= hs["bar"].to_numpy() / 2
    crossing = (hs["heat"] >= hs["bar"]) & (previous < hs["bar"]) & low.any(axis=0)
    crossing &= hs["time"] >= first_hour + pd.Timedelta(hours=24)
    rise = np.argmax(low, axis=0)  # 0-based: lag 1 below half -> the burst starts at the crossing
    onsets = hs[crossing].assign(start=hs["time"][crossing] - pd.to_timedelta(rise[crossing], unit="h"))
    stays = dict(tuple(hs[hs["title"].isin(set(onsets["title"]))].groupby("title")))
    rows = []
    for r in onsets.itertuples():
        g = stays[r.title]
        g = g[g["time"] >= r.time]
        g = g[~g["time"].diff().gt(pd.Timedelta(hours=2)).cumsum().astype(bool)]  # this stay on the list
        early = g[g["time"] < r.time + pd.Timedelta(hours=PEAK_HOURS)]
        peak = early["heat"].max()
        after = g[g["time"] >= early.loc[early["heat"].idxmax(), "time"]]
        end = after.loc[after["heat"].ge(peak / 2).cummin(), "time"].iloc[-1]
        rows.append({"key": r.key, "start": r.start, "end": end, "title": r.title, "peak_heat": int(peak)})
    raw = pd.DataFrame(rows).sort_values(["key", "start", "title"]).reset_index(drop=True)
    merged = []
    for key, g in raw.groupby("key"):
        cur = None
        for r in g.itertuples():
            if cur is not None and r.start - cur["end"] <= pd.Timedelta(hours=MERGE_GAP):
                cur["end"] = max(cur["end"], r.end)
                cur["titles"] += 1
                if r.peak_heat > cur["peak_heat"]:
                    cur["title"], cur["peak_heat"] = r.title, r.peak_heat
                continue
            if cur is not None:
                merged.append(cur)
            cur = {"key": key, "start": r.start, "end": r.end, "title": r.title, "peak_heat": r.peak_heat,
                   "titles": 1}
        merged.append(cur)
    return pd.DataFrame(merged).sort_values(["start", "key"]).reset_index(drop=True)


def ceiling_detections(hs: pd.DataFrame, series: pd.DataFrame, top_share: float = TOP_SHARE) -> pd.DataFrame:
    """A detector that knows the labelling bar H: each hour the summed series rises by >= H over its
    previous observed hour. Not a product detector - it shows how far any detector that sees only the
    summed series can get on these labels (titles below the bar also move the sum)."""
    bar = np.fmax(hs.groupby("title")["heat"].max().quantile(1 - top_share),
                  REL_HEAT * series.groupby("key")["posts"].transform("median") * HEAT_UNIT) / HEAT_UNIT
    previous = series.groupby("key")["posts"].transform(lambda x: x.ffill().shift(1))
    hit = series[(series["posts"] - previous) >= bar]
    return pd.DataFrame({"key": hit["key"], "kind": "volume", "start": hit["hour"], "end": hit["hour"]})


def _overlap(a: pd.DataFrame, b: pd.DataFrame, margin: pd.Timedelta = NO_MARGIN) -> np.ndarray:
    """Boolean matrix len(a) x len(b): same key and [start, end] windows overlap (b widened by margin)."""
    same = a["key"].to_numpy()[:, None] == b["key"].to_numpy()[None, :]
    a0, a1 = a["start"].to_numpy()[:, None], a["end"].to_numpy()[:, None]
    b0, b1 = (b["start"] - margin).to_numpy()[None, :], (b["end"] + margin).to_numpy()[None, :]
    return same & (a0 <= b1) & (b0 <= a1)


def window_scores(detected: pd.DataFrame, labels: pd.DataFrame, series: pd.DataFrame) -> dict:
    """Window precision/recall/F1 and false alarms per series-week, over hours from EVAL_FROM."""
    det = detected[(detected["kind"] == "volume") & (detected["end"] >= EVAL_FROM)].reset_index(drop=True)
    lab = labels[labels["end"] >= EVAL_FROM].reset_index(drop=True)
    hit = _overlap(det, lab)
    true_det = hit.any(axis=1)
    found = hit.any(axis=0)
    precision = float(true_det.mean()) if len(det) else 1.0
    recall = float(found.mean()) if len(lab) else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    evaluated = series[(series["hour"] >= EVAL_FROM) & series["posts"].notna()]
    series_weeks = len(evaluated) / (24 * 7)
    quiet = ~_overlap(det, lab, QUIET_MARGIN).any(axis=1)
    return {
        "labels": len(lab), "detections": len(det), "found": int(found.sum()), "precision": precision,
        "recall": recall, "f1": f1, "false_alarms": int((~true_det).sum()), "series_weeks": series_weeks,
        "false_per_series_week": float((~true_det).sum() / series_weeks),
        "quiet_false_per_series_week": float(quiet.sum() / series_weeks),
    }


def halves(detected: pd.DataFrame, labels: pd.DataFrame, series: pd.DataFrame, split: pd.Timestamp) -> dict:
    """`window_scores` before and after `split` (detections and labels by where they start / end), so
    settings chosen on one half are reported on the other."""
    early = [f[f[col] < split] for f, col in ((detected, "start"), (labels, "start"), (series, "hour"))]
    late = [f[f[col] >= split] for f, col in ((detected, "end"), (labels, "end"), (series, "hour"))]
    return {"before": window_scores(*early), "after": window_scores(*late)}


def main() -> None:
    from analysis.spikes import detect_spikes

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", action="store_true", help="print the labelled bursts")
    parser.add_argument("--top-share", type=float, default=TOP_SHARE, help="share of titles hot enough")
    parser.add_argument("--ceiling", action="store_true", help="score the label-aware ceiling instead")
    parser.add_argument("--split", default=SPLIT, help="also score before / after this time (tune on one half)")
    parser.add_argument("overrides", nargs="*", help="detector settings as name=value")
    args = parser.parse_args()
    overrides = {k: float(v) if "." in v or "e" in v else int(v) for k, v in (o.split("=", 1) for o in args.overrides)}
    hs = load()
    series = volume_series(hs)
    labels = label_bursts(hs, series, args.top_share)
    if args.labels:
        print(labels.to_string())
    if args.ceiling:
        detected = ceiling_detections(hs, series, args.top_share)
    else:
        detected = detect_spikes(series, **overrides)
    split = pd.Timestamp(args.split, tz=TZ)
    parts = {"all": window_scores(detected, labels, series), **halves(detected, labels, series, split)}
    for name, figures in parts.items():
        print(name, " ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
