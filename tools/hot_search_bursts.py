"""Real labelled bursts from the hourly Weibo hot-search archive, and window scoring of a detector on them.

Volume series: per category (the part of ``category`` before "-", the 10 biggest), the summed heat of its
titles on the list each hour, in units of 10,000 heat (an hourly "volume per topic"). Hours missing from
the archive (08:00 every day, ~100 others) are unobserved (NaN), not zero.

Labelling rule (uses only single titles, never the detector nor the summed series' dynamics):
  a title *bursts* when it newly enters the list (not on it in the first 24 archive hours, i.e. not
  already running when the archive starts) and within its first 3 hours on the list reaches a heat of at
  least ``MIN_HEAT`` (2,000,000, the 96th percentile of titles' peak heat) and at least ``REL_HEAT`` (1.5)
  times its category's median hourly total (a static scale of the series, so one hot title in a busy
  category is not a burst of that category). Its burst window runs from the hour it entered the list to
  the last hour, contiguous from the entry, at which its heat is still >= half that peak. Windows of one
  category closer than ``MERGE_GAP`` (6) hours are merged: a run of hot titles is one burst.

Scoring (the outside check's rule): a labelled burst is *found* when a detection of that series overlaps
its window; precision = detections overlapping some burst of their series / detections; F1 of the two.
False alarms = detections overlapping no burst, per series per week of evaluated hours; "quiet" ones
are those more than 24 h from every burst.

    .venv/bin/python tools/hot_search_bursts.py            # figures of the default detector
    .venv/bin/python tools/hot_search_bursts.py --labels   # print the labelled bursts
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
MIN_HEAT = 2_000_000
REL_HEAT = 1.5
PEAK_HOURS = 3
MERGE_GAP = 6
EVAL_FROM = pd.Timestamp("2024-07-08 00:00", tz=TZ)  # the first 7 days are history only
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


def label_bursts(hs: pd.DataFrame, series: pd.DataFrame) -> pd.DataFrame:
    """Labelled bursts ``key, start, end`` (hour starts, end inclusive) by the rule in the module doc."""
    keys = set(series["key"])
    scale = series.groupby("key")["posts"].median() * HEAT_UNIT
    hs = hs[hs["category"].isin(keys)].sort_values(["title", "time"]).reset_index(drop=True)
    by_title = hs.groupby("title", sort=False)
    entered = by_title["time"].transform("first")
    # the title's own contiguous run from its entry (a comeback after > 2 h off the list is another story)
    first_run = by_title["time"].diff().gt(pd.Timedelta(hours=2)).groupby(hs["title"]).cumsum().eq(0)
    hs = hs.assign(entered=entered, key=by_title["category"].transform("first"))[
        first_run & (entered >= hs["time"].min() + pd.Timedelta(hours=24))
    ]
    early = hs[hs["time"] < hs["entered"] + pd.Timedelta(hours=PEAK_HOURS)]
    peak_at = early.loc[early.groupby("title")["heat"].idxmax(), ["title", "time", "heat"]]
    peak_at.columns = ["title", "peak_time", "peak_heat"]
    hs = hs.merge(peak_at, on="title")
    hs = hs[hs["peak_heat"] >= np.fmax(MIN_HEAT, REL_HEAT * hs["key"].map(scale))]
    # end: last hour after the peak, contiguous from it, with heat >= half the peak
    after = hs[hs["time"] >= hs["peak_time"]]
    still = after["heat"].ge(after["peak_heat"] / 2).groupby(after["title"]).cummin()
    ends = after[still].groupby("title")["time"].max().rename("end")
    raw = (hs.drop_duplicates("title")[["key", "entered", "title", "peak_heat"]].merge(ends, on="title")
           .rename(columns={"entered": "start"}))
    raw = raw.sort_values(["key", "start", "title"]).reset_index(drop=True)
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


def main() -> None:
    from analysis.spikes import detect_spikes

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", action="store_true", help="print the labelled bursts")
    args = parser.parse_args()
    hs = load()
    series = volume_series(hs)
    labels = label_bursts(hs, series)
    if args.labels:
        print(labels.to_string())
    detected = detect_spikes(series)
    figures = window_scores(detected, labels, series)
    print(" ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
