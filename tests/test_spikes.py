"""Tests for analysis.spikes: hand-made series, real labelled bursts (tools/hot_search_bursts.py), and
known bursts injected into a real background, all from the hourly Weibo hot-search archive in
/work/shared/data/hot_search_dev.csv.gz."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.spikes import HOURLY, detect_spikes, spike_scores, wilson_lower
from tools import hot_search_bursts as hsb

DATA = Path("/work/shared/data/hot_search_dev.csv.gz")
KEYS = ["社会", "暂无", "体育", "明星", "财经"]
NEGATIVE_SHARE = {"社会": 0.20, "暂无": 0.12, "体育": 0.10, "明星": 0.15, "财经": 0.18}
POSTS_PER_TITLE = 10
EVAL_FROM = pd.Timestamp("2024-07-08 00:00", tz="Asia/Shanghai")  # 7 days of history first
SEED = 20240701
SIGMA_LOW, SIGMA_HIGH = 4.0, 12.0  # injected burst size, in units of the key's hour-to-hour noise


def hours(start: str, n: int) -> pd.DatetimeIndex:
    return pd.date_range(pd.Timestamp(start, tz="Asia/Shanghai"), periods=n, freq="h")


def series(values, key: str = "k", start: str = "2024-07-01", negative=None) -> pd.DataFrame:
    values = np.asarray(values, dtype=float)
    return pd.DataFrame({
        "key": key, "hour": hours(start, len(values)), "posts": values,
        "negative": np.zeros(len(values)) if negative is None else np.asarray(negative, dtype=float),
    })


# ---------- hand-made series ----------

def daily_rhythm(days: int, night: float, day: float) -> np.ndarray:
    h = np.arange(days * 24) % 24
    return np.where((h >= 8) & (h < 23), day, night)


def test_daily_rhythm_does_not_fire_but_a_burst_does():
    x = daily_rhythm(10, night=5, day=60)
    assert detect_spikes(series(x)).empty  # the morning jump from 5 to 60 is the usual rhythm
    x[9 * 24 + 14] = 300
    x[9 * 24 + 15] = 240
    sp = detect_spikes(series(x))
    assert len(sp) == 1
    s = sp.iloc[0]
    assert s["kind"] == "volume" and s["hours"] == 2
    assert s["start"] == hours("2024-07-10 14:00", 1)[0] and s["end"] == hours("2024-07-10 15:00", 1)[0]
    assert s["peak_value"] == 300 and s["baseline"] == 60 and s["magnitude"] == pytest.approx(5.0)
    assert s["reason"].startswith("近1小时发帖300条，为基线") and "5.0倍" in s["reason"]
    assert "连续2小时异常" in s["reason"]


def test_small_night_counts_do_not_fire():
    x = np.full(10 * 24, 2.0)  # a quiet key: 2 posts an hour
    x[9 * 24 + 3] = 9  # 2 -> 9 posts at 03:00: 4.5x and z about 5, but only 9 posts
    assert detect_spikes(series(x)).empty
    fired = detect_spikes(series(x), min_posts=5)  # the absolute floor is what keeps it quiet
    assert list(fired["peak"]) == [hours("2024-07-10 03:00", 1)[0]]


def test_missing_rows_are_zero_and_nan_rows_are_unobserved():
    x = daily_rhythm(10, night=20, day=20)
    frame = series(x)
    # Collector down for 6 hours (NaN), then a normal hour: must not fire, must not use the gap as 0.
    frame.loc[200:205, "posts"] = np.nan
    assert detect_spikes(frame).empty
    scores = spike_scores(frame)
    assert scores.loc[206, "baseline"] == 20
    # Rows simply absent mean zero posts: a quiet key then comes back -> baseline 0, 60 posts fires.
    gap = frame.drop(index=range(150, 180)).copy()
    gap.loc[180, "posts"] = 60
    sp = detect_spikes(gap)
    assert list(sp["start"]) == [frame.loc[180, "hour"]]


def test_negative_ratio_burst_uses_wilson_bound():
    x = np.full(10 * 24, 40.0)
    neg = np.full(10 * 24, 6.0)  # 15 % negative
    neg[-3:] = [20, 22, 8]  # 50 %, 55 %, 20 % negative
    sp = detect_spikes(series(x, negative=neg))
    assert list(sp["kind"]) == ["negative_ratio"]
    s = sp.iloc[0]
    assert s["hours"] == 2 and s["peak_value"] == pytest.approx(22 / 40)
    # pooled over the previous 168 h, which include the first burst hour (20 of 40)
    assert s["baseline"] == pytest.approx((6 * 167 + 20 + 1) / (40 * 168 + 2))
    assert "负面22条/共40条" in s["reason"] and "负面占比55%" in s["reason"]
    # 3 of 4 negative is a high ratio on too few posts: no alarm
    small = series(np.full(240, 4.0), negative=np.r_[np.zeros(239), 3])
    assert detect_spikes(small).empty


def test_wilson_lower_bound_values():
    # 5 of 10 at z = 1.96: (0.5 + 0.19208 - 0.36460) / 1.38416 = 0.23659 (textbook value 0.2366)
    assert wilson_lower(np.array([5]), np.array([10]))[0] == pytest.approx(0.2366, abs=1e-4)
    assert wilson_lower(np.array([0]), np.array([10]))[0] == 0.0
    assert wilson_lower(np.array([3]), np.array([0]))[0] == 0.0
    low = wilson_lower(np.array([5, 50, 500]), np.array([10, 100, 1000]))
    assert (np.diff(low) > 0).all() and (low < 0.5).all()  # tighter with more posts, always below p


def test_daily_variant_today_vs_previous_14_days():
    x = daily_rhythm(30, night=3, day=10)  # 15 day hours x 10 + 9 night hours x 3 = 177 posts per day
    x[25 * 24 + 8: 25 * 24 + 23] += 12  # +180 posts over the day hours of day 26: 22 instead of 10
    frame = series(x)
    day = detect_spikes(frame, grain="day")
    assert len(day) == 1
    assert day.iloc[0]["start"] == pd.Timestamp("2024-07-26", tz="Asia/Shanghai")
    assert day.iloc[0]["peak_value"] == 357 and day.iloc[0]["baseline"] == 177
    assert day.iloc[0]["reason"].startswith("当日发帖357条，为基线（前14天中位数")
    # Hourly, the raised day is one spike: the jump test sees 22 posts after a night of 3 (and 2.2x the
    # usual 10 at 08:00), and the frozen onset baseline keeps the whole raised day in that one spike.
    hourly = detect_spikes(frame)
    assert len(hourly) == 1 and hourly.iloc[0]["hours"] == 15
    assert hourly.iloc[0]["start"] == hours("2024-07-26 08:00", 1)[0]
    assert "前3小时中位数" in hourly.iloc[0]["reason"]
    # hourly input and daily input give the same daily answer
    daily_input = frame.groupby(frame["hour"].dt.floor("D")).agg(posts=("posts", "sum")).reset_index()
    daily_input["key"] = "k"
    same = detect_spikes(daily_input, grain="day")
    assert list(same["start"]) == list(day["start"])


def test_a_new_plateau_is_one_spike():
    x = np.full(14 * 24, 20.0)
    x[10 * 24 + 9:] = 100  # from day 11, 09:00 the key runs at 100 posts an hour for good
    sp = detect_spikes(series(x))
    assert len(sp) == 1  # not one spike per hour until the baseline catches up
    s = sp.iloc[0]
    assert s["start"] == hours("2024-07-11 09:00", 1)[0] and s["hours"] == HOURLY.max_periods
    assert s["baseline"] == 20 and s["magnitude"] == pytest.approx(5.0)
    # after max_periods the 12-hour median has long been 100: the plateau is the new normal
    assert not spike_scores(series(x)).query("period > @s['end']")["fires_volume"].any()


def test_flare_ups_of_one_event_are_one_spike():
    x = np.full(14 * 24, 20.0)
    x[10 * 24 + 14: 10 * 24 + 16] = 100  # 14:00-15:59, then back to 20 for six hours, then again
    x[10 * 24 + 22: 10 * 24 + 24] = 100
    sp = detect_spikes(series(x))
    assert len(sp) == 1
    s = sp.iloc[0]
    assert s["start"] == hours("2024-07-11 14:00", 1)[0] and s["end"] == hours("2024-07-11 23:00", 1)[0]
    assert s["hours"] == 10 and s["baseline"] == 20 and s["posts"] == 4 * 100 + 6 * 20
    assert s["reason"].endswith("的5.0倍，10小时内2次突增")
    apart = detect_spikes(series(x), merge_gap=5)  # six quiet hours between: two spikes
    assert list(apart["hours"]) == [2, 2] and apart.iloc[1]["reason"].endswith("连续2小时异常")


def test_past_bursts_do_not_raise_the_bar():
    rng = np.random.default_rng(5)
    x = np.full(30 * 24, 20.0)
    x[np.arange(2, 29) * 24 + rng.integers(0, 24, 27)] = 160  # one hour of 160 a day, at a random hour
    x[29 * 24 + 20] = 150  # smaller than every earlier burst
    sp = detect_spikes(series(x), merge_gap=0)
    # the rarity bar comes from hours where nothing fired: a month of bursts does not deafen the key
    assert len(sp) == 27 and sp.iloc[-1]["start"] == hours("2024-07-30 20:00", 1)[0]
    assert sp.iloc[-1]["peak_value"] == 150


# ---------- real labelled bursts ----------

@pytest.fixture(scope="module")
def real_bursts():
    hs = hsb.load(DATA)
    series = hsb.volume_series(hs)
    return hs, series, hsb.label_bursts(hs, series)


def test_real_labelled_bursts_are_deterministic(real_bursts):
    hs, series, labels = real_bursts
    assert series["key"].nunique() == hsb.N_SERIES and series["hour"].nunique() == 1488
    assert series["posts"].isna().sum() == 10 * (1488 - 1389)  # hours missing from the archive
    assert len(labels) == 152 and (labels["end"] >= hsb.EVAL_FROM).sum() == 150
    assert labels["titles"].sum() == 568  # titles crossing their bar, merged when < 6 h apart
    by_title = labels.set_index("title")
    for title, key, start, end in [
        ("拜登退选", "时事", "2024-07-22 06:00", "2024-07-22 09:00"),  # on the list at 0.58 M, then 6.6 M
        ("黑神话悟空", "游戏", "2024-08-20 08:00", "2024-08-20 13:00"),  # jumped from 0.3 M (07:00)
        ("文泰一接受警方调查", "明星", "2024-08-28 18:00", "2024-08-28 20:00"),  # entered at 16.4 M
    ]:
        row = by_title.loc[title]
        assert (row["key"], row["start"], row["end"]) == (key, hours(start, 1)[0], hours(end, 1)[0])
    assert len(hsb.label_bursts(hs, series, top_share=0.10)) == 240  # the broader set
    # how far any detector that sees only the summed series can get: one that knows the bar H
    ceiling = hsb.window_scores(hsb.ceiling_detections(hs, series), labels, series)
    assert ceiling["f1"] == pytest.approx(0.720, abs=0.001) and ceiling["recall"] == pytest.approx(0.727, abs=0.001)


def test_real_labelled_bursts_window_scores(real_bursts):
    hs, series, labels = real_bursts
    got = hsb.window_scores(detect_spikes(series), labels, series)
    print("\nreal bursts: " + " ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
                                      for k, v in got.items()))
    # measured 0.692 / 0.533 / 0.603; 0.44 false alarms per series-week, 0.37 far from any burst
    assert got["labels"] == 150 and got["detections"] == 104
    assert got["precision"] >= 0.68 and got["recall"] >= 0.52 and got["f1"] >= 0.59
    assert got["false_per_series_week"] <= 0.46 and got["quiet_false_per_series_week"] <= 0.39
    # tuned on July (0.732), reported on August (0.465: the Olympics lift 体育 fifty-fold)
    halves = hsb.halves(detect_spikes(series), labels, series, pd.Timestamp(hsb.SPLIT, tz=hsb.TZ))
    assert halves["before"]["f1"] >= 0.72 and halves["after"]["f1"] >= 0.45
    # the broader labels (top 10 % of titles): measured 0.846 / 0.424 / 0.565
    broad = hsb.window_scores(detect_spikes(series), hsb.label_bursts(hs, series, 0.10), series)
    assert broad["precision"] >= 0.83 and broad["f1"] >= 0.55
    # without the jump test (the long baseline alone) recall falls: measured 0.447, F1 0.544
    alone = hsb.window_scores(detect_spikes(series, jump_window=0), labels, series)
    assert alone["recall"] <= got["recall"] - 0.05 and alone["f1"] <= got["f1"] - 0.03
    # merging flare-ups of one event and the rarity test each cut false alarms without losing a burst
    # (measured 0.58 without merging, 0.49 without rarity, 0.63 without both)
    unmerged = hsb.window_scores(detect_spikes(series, merge_gap=0), labels, series)
    common = hsb.window_scores(detect_spikes(series, rare_quantile=0.0), labels, series)
    assert unmerged["false_per_series_week"] >= got["false_per_series_week"] + 0.10
    assert unmerged["precision"] <= got["precision"] - 0.02 and unmerged["recall"] == got["recall"]
    assert common["false_per_series_week"] >= got["false_per_series_week"] + 0.04
    assert common["precision"] <= got["precision"] - 0.02 and common["recall"] == got["recall"]


# ---------- real background with injected bursts ----------

def hot_search_background() -> pd.DataFrame:
    """Hourly new hot-search titles per category x POSTS_PER_TITLE, negatives drawn binomially.

    Hours missing from the archive (08:00 every day and ~100 others) are kept as NaN = not observed,
    not as zero: a collector gap is not silence.
    """
    hs = pd.read_csv(DATA)
    hs["time"] = pd.to_datetime(hs["time"])
    observed = pd.DatetimeIndex(sorted(hs["time"].unique()))
    full = pd.date_range(observed.min(), observed.max(), freq="h")
    first_seen = hs.sort_values("time").drop_duplicates("title")
    counts = (first_seen[first_seen["category"].isin(KEYS)].groupby(["time", "category"]).size()
              .unstack().reindex(index=observed, columns=KEYS).fillna(0) * POSTS_PER_TITLE).reindex(full)
    long = counts.stack(future_stack=True).rename("posts").reset_index()
    long.columns = ["hour", "key", "posts"]
    rng = np.random.default_rng(SEED)
    share = long["key"].map(NEGATIVE_SHARE).to_numpy()
    posts = long["posts"].fillna(0).astype(int).to_numpy()
    long["negative"] = np.where(long["posts"].isna(), np.nan, rng.binomial(posts, share))
    return long


def inject(background: pd.DataFrame, n_volume: int = 36, n_negative: int = 12):
    """Add known bursts at random (fixed seed). Returns the new frame and the list of injected spans."""
    rng = np.random.default_rng(SEED + 1)
    frame = background.copy().reset_index(drop=True)
    # Burst size in units of the key's hour-to-hour noise: sd(posts_t - posts_t-1) / sqrt(2).
    frame = frame.sort_values(["key", "hour"]).reset_index(drop=True)
    noise = frame.groupby("key")["posts"].agg(lambda s: s.diff().std() / np.sqrt(2))
    candidates = frame[(frame["hour"] >= EVAL_FROM + pd.Timedelta(hours=12)) & frame["posts"].notna()]
    taken: dict[str, list[pd.Timestamp]] = {k: [] for k in KEYS}
    injected = []

    def free(key: str, t: pd.Timestamp) -> bool:
        return all(abs(t - u) >= pd.Timedelta(hours=48) for u in taken[key])

    pools = {
        "volume": candidates,
        "negative_ratio": candidates[candidates["key"].isin(["社会", "暂无"]) & (candidates["posts"] >= 30)],
    }
    while len(injected) < n_volume + n_negative:
        kind = "volume" if len(injected) < n_volume else "negative_ratio"
        pool = pools[kind]
        row = pool.iloc[rng.integers(len(pool))]
        key, start = row["key"], row["hour"]
        if not free(key, start):
            continue
        duration = int(rng.integers(1, 5))
        span = frame.index[(frame["key"] == key) & (frame["hour"] >= start)
                           & (frame["hour"] < start + pd.Timedelta(hours=duration)) & frame["posts"].notna()]
        if kind == "volume":
            factor = rng.uniform(SIGMA_LOW, SIGMA_HIGH)  # burst size in noise units, fading to 60 %
            extra = np.round(factor * noise[key] * np.linspace(1.0, 0.6, len(span)))
            frame.loc[span, "posts"] += extra
            frame.loc[span, "negative"] += rng.binomial(extra.astype(int), NEGATIVE_SHARE[key])
            size = factor
        else:
            share = min(NEGATIVE_SHARE[key] + rng.uniform(0.25, 0.5), 0.95)
            frame.loc[span, "negative"] = rng.binomial(frame.loc[span, "posts"].astype(int), share)
            size = share
        taken[key].append(start)
        injected.append({"key": key, "kind": kind, "start": frame.loc[span[0], "hour"],
                         "end": frame.loc[span[-1], "hour"], "size": size})
    return frame, pd.DataFrame(injected)


def score(detected: pd.DataFrame, injected: pd.DataFrame, kind: str) -> tuple[float, float, int, int]:
    det = detected[(detected["kind"] == kind) & (detected["end"] >= EVAL_FROM)]
    inj = injected[injected["kind"] == kind]

    def overlaps(a, b) -> bool:
        return a["key"] == b["key"] and a["start"] <= b["end"] and b["start"] <= a["end"]

    hit = [any(overlaps(i, d) for _, d in det.iterrows()) for _, i in inj.iterrows()]
    true_det = [any(overlaps(d, i) for _, i in inj.iterrows()) for _, d in det.iterrows()]
    recall = float(np.mean(hit))
    precision = float(np.mean(true_det)) if len(det) else 1.0
    return recall, precision, len(det), int(np.sum(hit))


@pytest.fixture(scope="module")
def background() -> pd.DataFrame:
    return hot_search_background()


def test_background_is_real_and_honest_about_gaps(background):
    assert background["hour"].nunique() == 1488
    unobserved = background.loc[background["key"] == "社会", "posts"].isna().sum()
    assert unobserved == 1488 - 1389  # hours absent from the archive stay unobserved
    assert background.loc[background["hour"].dt.hour == 8, "posts"].isna().all()


def test_background_alone_rarely_fires(background):
    detected = detect_spikes(background)
    in_eval = detected[detected["end"] >= EVAL_FROM]
    key_hours = int((background["posts"].notna() & (background["hour"] >= EVAL_FROM)).sum())
    rate = 1000 * len(in_eval) / key_hours
    print(f"\nbackground only: {len(in_eval)} spikes in {key_hours} observed key-hours "
          f"= {rate:.2f} false alarms per 1,000 key-hours "
          f"({(in_eval['kind'] == 'volume').sum()} volume, {(in_eval['kind'] == 'negative_ratio').sum()} "
          f"negative-ratio)")
    assert rate <= 1.6  # measured 1.47 (1.63 before merging and rarity)
    assert (in_eval["kind"] == "negative_ratio").sum() == 0


def test_injected_bursts_precision_and_recall(background):
    frame, injected = inject(background)
    assert len(injected) == 48
    detected = detect_spikes(frame)
    figures = {}
    for kind in ("volume", "negative_ratio"):
        recall, precision, n_det, n_hit = score(detected, injected, kind)
        figures[kind] = (recall, precision)
        n_inj = int((injected["kind"] == kind).sum())
        print(f"\n{kind}: injected {n_inj}, found {n_hit} -> recall {recall:.3f}; "
              f"{n_det} detections -> precision {precision:.3f}")
    missed = injected[[not any(
        d["key"] == i["key"] and d["kind"] == i["kind"] and d["start"] <= i["end"] and i["start"] <= d["end"]
        for _, d in detected.iterrows()) for _, i in injected.iterrows()]]
    print("missed:\n" + missed.to_string())
    volume = injected[injected["kind"] == "volume"]
    large = volume[volume["size"] >= 6.0]
    large_missed = missed[(missed["kind"] == "volume") & (missed["size"] >= 6.0)]
    small = volume[volume["size"] < 6.0]
    small_missed = missed[(missed["kind"] == "volume") & (missed["size"] < 6.0)]
    print(f"volume bursts >= 6 noise units: {len(large) - len(large_missed)}/{len(large)} found; "
          f"4-6 units: {len(small) - len(small_missed)}/{len(small)} found")
    assert len(large_missed) == 0  # every burst of 6+ noise units is found
    assert figures["volume"][0] >= 0.8 and figures["volume"][1] >= 0.8
    assert figures["negative_ratio"][0] >= 0.8 and figures["negative_ratio"][1] >= 0.8


def test_hourly_defaults_are_documented():
    doc = detect_spikes.__doc__
    for name in ("recent_window", "season_lags", "min_posts", "min_ratio", "z_threshold", "neg_window",
                 "neg_min_delta", "wilson_z", "max_gap", "jump_window", "jump_context_z", "exit_z",
                 "max_periods", "dispersion_window", "rare_quantile", "merge_gap"):
        assert name in doc, name
    assert HOURLY.recent_window == 12 and HOURLY.season_lags == 7 and HOURLY.season_period == 24
