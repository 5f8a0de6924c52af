"""An office's own export, built from real posts in ../shared/data (not the demo generator): a generic 舆情-system
CSV whose 来源 column holds site names and addresses, eight days of background chatter and, in the last complete
hour before `now`, a burst of real complaints about food (食品药品) spread over several sites."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis import topics
from tests.conftest import shared_file

TZ = "Asia/Shanghai"
# What offices' exports hold in 来源: site names (known and not) and addresses.
SITES = ("网易新闻", "百度贴吧", "微信", "快手", "本地论坛", "weibo.com", "新浪微博", "某某资讯站", "今日头条",
         "https://tieba.baidu.com/p/1")
BURST_SITES = ("新浪微博", "百度贴吧", "网易新闻", "微信", "本地论坛")
BURST_POSTS = 60
BACKGROUND_PER_HOUR = 3
DAYS = 8


def rule_clock() -> pd.Timestamp:
    """When the rules run: five minutes into an hour, never in the future.

    Five minutes past the current hour would lie ahead of the wall clock when a test runs at hh:00-hh:04, and
    an incident found "later than now" has no running deadlines yet; so before hh:05 the previous hour is used.
    """
    return (pd.Timestamp.now(tz="Asia/Shanghai") - pd.Timedelta(minutes=5)).floor("h") + pd.Timedelta(minutes=5)


def burst_hour(now: pd.Timestamp) -> pd.Timestamp:
    """The last complete hour before `now`: where the burst is, and what a spike rule run at `now` looks at."""
    return now.floor("h") - pd.Timedelta(hours=1)


def export_frame(now: pd.Timestamp, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    food_words = "|".join(topics.TOPIC_KEYWORDS["食品药品"])
    train = pd.read_csv(shared_file("sentiment_train.csv.gz"), usecols=["text", "label"]).dropna(subset=["text"])
    complaints = train[train["text"].str.contains(food_words) & train["label"].eq(0)
                       & train["text"].str.len().between(8, 300)]
    dev = pd.read_csv(shared_file("sentiment_dev.csv.gz"), usecols=["text"])
    background = dev[~dev["text"].str.contains(food_words) & dev["text"].str.len().between(8, 300)]
    hour = burst_hour(now)
    hours = pd.date_range(hour - pd.Timedelta(days=DAYS), hour - pd.Timedelta(hours=1), freq="h")
    times = np.repeat(hours.to_numpy(), BACKGROUND_PER_HOUR)
    offsets = pd.to_timedelta(rng.integers(0, 3600, len(times)), unit="s")
    chatter = pd.DataFrame({
        "内容": background["text"].sample(n=len(times), random_state=seed).to_numpy(),
        "发布时间": pd.DatetimeIndex(times).tz_convert(TZ) + offsets,
        "来源": rng.choice(SITES, len(times)),
        "评论数": rng.integers(0, 4, len(times)),
    })
    picked = complaints.sample(n=BURST_POSTS, random_state=seed)
    burst = pd.DataFrame({
        "内容": picked["text"].to_numpy(),
        "发布时间": hour + pd.to_timedelta(np.sort(rng.integers(0, 3600, BURST_POSTS)), unit="s"),
        "来源": [BURST_SITES[i % len(BURST_SITES)] for i in range(BURST_POSTS)],
        "评论数": rng.integers(2, 9, BURST_POSTS),
    })
    frame = pd.concat([chatter, burst], ignore_index=True).sort_values("发布时间", kind="stable")
    frame.insert(0, "序号", range(1, len(frame) + 1))
    frame["标题"] = frame["内容"].str[:12]
    frame["发布时间"] = frame["发布时间"].dt.strftime("%Y-%m-%d %H:%M:%S")
    frame["作者"] = [f"user{n:04d}" for n in rng.integers(0, 3000, len(frame))]
    return frame[["序号", "标题", "内容", "来源", "发布时间", "作者", "评论数"]]


def write_export(path, now: pd.Timestamp) -> pd.DataFrame:
    frame = export_frame(now)
    frame.to_csv(path, index=False, encoding="utf-8-sig")
    return frame


def imported_export(folder: Path) -> tuple[Path, pd.Timestamp]:
    """A fresh database (no demo) in `folder` holding the export, imported through the CLI path; and the clock
    the rules run at."""
    from analysis.__main__ import main

    clock = rule_clock()
    write_export(folder / "导出.csv", clock)
    assert main(["ingest", str(folder / "导出.csv"), "--db", str(folder / "own.duckdb")]) == 0
    return folder / "own.duckdb", clock
