"""Tests for analysis.demo: determinism, canonical shape, rhythms and the four embedded incidents."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from analysis import demo
from analysis.config import CHANNELS, TIMEZONE, TOPICS

END = datetime(2026, 11, 23, 17)  # naive: read as Asia/Shanghai
END_TS = pd.Timestamp(END).tz_localize(TIMEZONE)
DAYS = 60
CONTRACT_REGIONS = ("城关区", "七里河区", "西固区", "安宁区", "红古区", "永登县", "皋兰县", "榆中县", "新区")
COLUMNS = ["post_id", "channel", "site", "url", "author_id", "title", "text", "created_at", "collected_at",
           "parent_id", "root_id", "post_type", "region", "topic",
           "repost_count", "comment_count", "like_count", "read_count"]
COUNTS = ["repost_count", "comment_count", "like_count", "read_count"]
TICKETS = ["12345热线", "市长信箱", "书记信箱", "留言板", "上级转办", "信访"]
STEPS = {"监测发现", "核实", "研判定级", "报送", "批办/交办", "处置", "公开回应", "跟踪", "办结/化解"}
# Characters that only exist in traditional script (their simplified forms differ).
TRADITIONAL = set("這個們來說時會對發現為後還問題沒經過國區門開關長員動產業場廠傷氣應該處報導記網絡務環際車輛"
                  "師學醫藥飲頭電話聞讓樣裡邊無從眾萬當層證據級體東廣與傳謠聲稱認識調難屬樓縣買賣價錢維權討論"
                  "議決書見覺聽視親愛總結統計劃辦職負責質檢測驗標準確訴訟紀獲護衛療險災營黨組織領導戰鄉鎮園礦")


@pytest.fixture(scope="module")
def built() -> tuple[pd.DataFrame, dict[str, dict]]:
    frame = demo.generate_posts(days=DAYS, seed=7, end=END)
    described = demo.embedded_incidents(end=END, days=DAYS, seed=7)  # same arguments: served from the cache
    return frame, {incident["key"]: incident for incident in described}


@pytest.fixture(scope="module")
def posts(built) -> pd.DataFrame:
    return built[0]


@pytest.fixture(scope="module")
def incidents(built) -> dict[str, dict]:
    return built[1]


@pytest.fixture(scope="module")
def depth(posts) -> pd.Series:
    """Depth of every post, found by walking parent_id up to a post without a parent."""
    parent = dict(zip(posts["post_id"], posts["parent_id"], strict=True))
    depths: dict[str, int] = {}
    for post_id in posts["post_id"]:
        chain = []
        node = post_id
        while node not in depths and isinstance(parent[node], str):
            chain.append(node)
            node = parent[node]
        base = depths.get(node, 0)
        depths.setdefault(node, base)
        for offset, child in enumerate(reversed(chain), start=1):
            depths[child] = base + offset
    return posts["post_id"].map(depths)


def _of(posts: pd.DataFrame, incident: dict) -> pd.DataFrame:
    return posts[posts["post_id"].isin(incident["post_ids"])]


# ---- determinism ---------------------------------------------------------------------------------------

def test_same_arguments_give_identical_frames(posts):
    demo.generator._build.cache_clear()  # rebuild from scratch instead of reading the cached frame
    again = demo.generate_posts(days=DAYS, seed=7, end=END)
    pd.testing.assert_frame_equal(posts, again, check_exact=True)


def _digest(frame: pd.DataFrame) -> int:
    return int(pd.util.hash_pandas_object(frame.astype(str), index=True).sum())


def test_frames_do_not_depend_on_python_hash_seed():
    code = ("import sys; from datetime import datetime; from analysis import demo; "
            "sys.path.insert(0, 'tests'); from test_demo import _digest; "
            "print(_digest(demo.generate_posts(days=14, seed=3, end=datetime(2026, 11, 23, 17))))")
    here = _digest(demo.generate_posts(days=14, seed=3, end=END))
    other_seed = "4242" if os.environ.get("PYTHONHASHSEED") != "4242" else "17"
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": other_seed},
                          capture_output=True, text=True, check=True,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert int(done.stdout.strip()) == here


def test_different_seed_gives_different_posts():
    a = demo.generate_posts(days=14, seed=3, end=END)
    b = demo.generate_posts(days=14, seed=4, end=END)
    assert not a["text"].head(500).equals(b["text"].head(500))
    assert not a["created_at"].head(500).equals(b["created_at"].head(500))


def test_too_short_window_is_refused():
    with pytest.raises(ValueError, match="至少"):
        demo.generate_posts(days=demo.MIN_DAYS - 1, end=END)


# ---- shape ---------------------------------------------------------------------------------------------

def test_columns_and_dtypes(posts):
    assert list(posts.columns) == COLUMNS
    for column in ["post_id", "channel", "site", "text", "post_type", "region", "topic"]:
        assert pd.api.types.is_string_dtype(posts[column]), column
        assert posts[column].notna().all(), column
    for column in COUNTS:
        assert posts[column].dtype == np.int64, column
        assert (posts[column] >= 0).all(), column
    for column in ["created_at", "collected_at"]:
        assert isinstance(posts[column].dtype, pd.DatetimeTZDtype), column
        assert str(posts[column].dt.tz) == TIMEZONE
    assert set(posts["post_type"]) == {"original", "repost", "comment"}


def test_row_count_scales_with_days(posts):
    assert 25_000 <= len(posts) <= 35_000
    half = demo.generate_posts(days=30, end=END)
    assert 0.45 < len(half) / len(posts) < 0.6


def test_all_vocabularies_present(posts):
    assert set(posts["channel"]) == set(CHANNELS)
    assert set(posts["topic"]) == set(TOPICS)
    assert set(posts["region"]) == set(CONTRACT_REGIONS) == set(demo.REGIONS)


def test_realistic_sites_per_channel(posts):
    sites = posts.groupby("channel")["site"].agg(set)
    assert sites["微博"] == {"新浪微博"}
    assert {"人民网", "新华网", "央视新闻", "澎湃新闻"} <= sites["新闻"]
    assert {"联合早报", "BBC中文"} <= sites["境外媒体"]
    assert sites["12345热线"] == {"12345热线平台"}
    assert "人民网领导留言板" in sites["留言板"]
    assert "黑猫投诉" in sites["维权网站"]
    weibo_urls = posts.loc[posts["channel"].eq("微博"), "url"]
    assert weibo_urls.str.fullmatch(r"https://weibo\.com/\d{10}/[0-9A-Za-z]{9}").all()
    assert posts.loc[posts["channel"].isin(TICKETS[:2]), "url"].isna().all()


def test_post_ids_unique_and_trees_resolve(posts):
    assert posts["post_id"].is_unique
    assert posts["post_id"].str.fullmatch(r"demo-\d{6}").all()
    by_id = posts.set_index("post_id")
    children = posts[posts["parent_id"].notna()]
    assert children["parent_id"].isin(posts["post_id"]).all()
    assert children["root_id"].isin(posts["post_id"]).all()
    assert posts["parent_id"].isna().eq(posts["post_type"].eq("original")).all()
    assert posts["root_id"].isna().eq(posts["parent_id"].isna()).all()
    # roots are originals, parents come first, and children stay in their parent's channel
    assert by_id.loc[children["root_id"], "post_type"].eq("original").all()
    parent_time = by_id.loc[children["parent_id"], "created_at"].to_numpy()
    assert (children["created_at"].to_numpy() >= parent_time).all()
    assert set(posts.loc[posts["post_type"].eq("repost"), "channel"]) == {"微博"}
    assert set(posts.loc[posts["post_type"].eq("comment"), "channel"]) == {"新闻跟帖", "贴吧", "抖音", "快手"}
    comment_parents = by_id.loc[posts.loc[posts["channel"].eq("新闻跟帖"), "parent_id"], "channel"]
    assert set(comment_parents) == {"新闻", "门户网站"}


def test_times_inside_window(posts):
    start = END_TS - pd.Timedelta(days=DAYS)
    assert posts["created_at"].gt(start).all() and posts["created_at"].le(END_TS).all()
    assert posts["collected_at"].ge(posts["created_at"]).all() and posts["collected_at"].le(END_TS).all()
    assert posts["created_at"].is_monotonic_increasing


def test_default_end_is_this_hour_in_shanghai():
    frame = demo.generate_posts(days=14)
    now = pd.Timestamp.now(tz=TIMEZONE)
    assert frame["created_at"].max() <= now
    assert frame["created_at"].max() >= now.floor("h") - pd.Timedelta(hours=3)


# ---- rhythms and tails ---------------------------------------------------------------------------------

def test_daily_rhythm_has_night_dip_and_two_peaks(posts):
    social = posts[posts["channel"].isin(["微博", "抖音", "快手", "贴吧"])]
    per_hour = social["created_at"].dt.hour.value_counts().reindex(range(24), fill_value=0)
    night = per_hour[[3, 4, 5]].mean()
    assert per_hour[[9, 10, 11]].mean() > 3.5 * night
    assert per_hour[[20, 21, 22]].mean() > 3.5 * night
    assert per_hour[[9, 10, 11]].mean() > per_hour[[6, 7]].mean()


def test_weekly_rhythm_tickets_drop_on_weekends(posts):
    tickets = posts[posts["channel"].isin(TICKETS)]
    day = tickets["created_at"].dt.normalize()
    per_day = tickets.groupby(day).size()
    weekend = per_day.index.day_of_week >= 5
    assert per_day[weekend].mean() < 0.65 * per_day[~weekend].mean()


def test_channel_volumes_are_ordered(posts):
    volume = posts["channel"].value_counts()
    assert volume["微博"] > volume["抖音"] > volume["12345热线"] > volume["市长信箱"] > volume["境外媒体"]
    assert volume["新闻跟帖"] > volume["留言板"] > volume["信访"]
    assert min(volume["微博"], volume["新闻跟帖"]) > 10 * max(volume["上级转办"], volume["信访"])


def test_authors_and_counts_are_heavy_tailed(posts):
    weibo = posts[posts["channel"].eq("微博")]
    per_author = weibo["author_id"].value_counts()
    top = per_author.head(len(per_author) // 100).sum()
    assert top > 0.1 * len(weibo)
    reads = weibo.loc[weibo["post_type"].eq("original"), "read_count"]
    assert reads.max() > 50 * reads.median()
    assert posts.loc[posts["channel"].isin(TICKETS), COUNTS].eq(0).all().all()
    # a parent counts at least the reposts present in the frame
    reposts = posts[posts["post_type"].eq("repost")].groupby("parent_id").size()
    shown = posts.set_index("post_id").loc[reposts.index, "repost_count"]
    assert (shown >= reposts).all()


# ---- text --------------------------------------------------------------------------------------------

def test_text_reads_like_posts(posts):
    text = posts["text"]
    assert text.str.len().gt(0).all()
    assert text.str.contains("//@", regex=False).sum() > 500
    assert text.str.contains(r"\[(?:怒|哈哈|泪)\]").sum() > 200
    assert text.str.contains(r"#[^#\s]+#").sum() > 500
    assert text.str.contains(r"@[^\s/:]+").sum() > 500
    hotline = posts[posts["channel"].eq("12345热线")]
    assert hotline["text"].str.startswith(("来电人反映", "来电人咨询", "来电人表扬")).all()
    assert hotline["title"].notna().all()
    for channel in ["新闻", "门户网站", "市长信箱", "留言板", "境外媒体"]:
        assert posts.loc[posts["channel"].eq(channel), "title"].notna().all(), channel
    assert posts["text"].nunique() > 0.5 * len(posts)


def test_traditional_characters(posts):
    has_traditional = posts["text"].map(lambda t: any(ch in TRADITIONAL for ch in t))
    overseas = posts["channel"].eq("境外媒体")
    assert has_traditional[overseas].mean() > 0.9
    assert has_traditional[~overseas].sum() > 50


def test_repost_chains_mirror_the_tree(posts, depth):
    reposts = posts[posts["post_type"].eq("repost")]
    assert reposts["text"].str.count("//@").eq(depth[reposts.index] - 1).all()
    chained = reposts[depth[reposts.index] >= 2]
    first_quoted = chained["text"].str.extract(r"//@([^:]+):", expand=False)
    parent_author = posts.set_index("post_id").loc[chained["parent_id"], "author_id"].to_numpy()
    assert (first_quoted.to_numpy() == parent_author).all()


# ---- embedded incidents --------------------------------------------------------------------------------

def test_incident_descriptions(posts, incidents):
    assert list(incidents) == ["explosion", "river_pollution", "heating_outage", "canteen_rumour"]
    window_start = END_TS - pd.Timedelta(days=DAYS)
    for key, incident in incidents.items():
        assert {"key", "title", "topic", "region", "channels", "start", "peak", "end", "grade", "events",
                "closed", "post_ids"} <= set(incident), key
        assert incident["topic"] in TOPICS and incident["region"] in CONTRACT_REGIONS
        assert window_start < incident["start"] <= incident["end"] <= END_TS, key
        assert incident["start"].floor("h") <= incident["peak"] <= incident["end"], key  # peak: busiest hour
        assert incident["start"].tzinfo is not None
        mine = _of(posts, incident)
        assert len(mine) == len(incident["post_ids"]) > 100, key
        assert mine["topic"].eq(incident["topic"]).all() and mine["region"].eq(incident["region"]).all()
        assert set(mine["channel"]) == set(incident["channels"])
        steps = [step for step, _, _ in incident["events"]]
        times = [when for _, when, _ in incident["events"]]
        assert set(steps) <= STEPS and steps[0] == "监测发现", key
        assert times == sorted(times) and times[-1] <= END_TS, key
        assert incident["closed"] == (steps[-1] == "办结/化解")
    assert [i["grade"] for i in incidents.values()] == ["一级", "二级", "三级", "二级"]
    assert not incidents["canteen_rumour"]["closed"]
    assert all(incidents[k]["closed"] for k in ["explosion", "river_pollution", "heating_outage"])


def test_incidents_are_fixed_relative_to_end():
    later = {i["key"]: i for i in demo.embedded_incidents(end=END_TS + pd.Timedelta(days=3), days=14, seed=3)}
    for key, incident in {i["key"]: i for i in demo.embedded_incidents(end=END, days=14, seed=3)}.items():
        assert later[key]["events"][0][1] - incident["events"][0][1] == pd.Timedelta(days=3)


def test_explosion_is_a_fast_first_grade_burst(posts, incidents):
    incident = incidents["explosion"]
    mine = _of(posts, incident)
    topic = posts[posts["topic"].eq("安全生产")]
    hourly = topic.groupby(topic["created_at"].dt.floor("h")).size()
    hourly = hourly.reindex(pd.date_range(END_TS - pd.Timedelta(days=DAYS), END_TS, freq="h"), fill_value=0)
    assert hourly[incident["peak"]] >= 20 * max(hourly.median(), 1)
    assert (mine["created_at"] < incident["start"] + pd.Timedelta(hours=5)).sum() >= 300
    assert incident["end"] - incident["start"] < pd.Timedelta(days=3)
    assert len(set(mine["channel"])) >= 5 and "境外媒体" in incident["channels"]
    assert set(demo.MAINSTREAM_SITES) <= set(mine.loc[mine["channel"].eq("新闻"), "site"])
    assert mine["text"].str.contains("死亡").sum() >= 10 and mine["text"].str.contains("受伤").sum() >= 10
    assert incident["start"] >= END_TS.normalize() - pd.Timedelta(days=5)


def test_pollution_ferments_slowly(posts, incidents):
    incident = incidents["river_pollution"]
    mine = _of(posts, incident)
    daily = mine.groupby(mine["created_at"].dt.normalize()).size()
    first_six = daily.iloc[:6].to_numpy()
    assert (np.diff(first_six) > 0).all(), first_six
    assert incident["peak"] - incident["start"] >= pd.Timedelta(days=4)
    assert len(set(mine["channel"])) >= 6
    graded = dict((step, when) for step, when, _ in incident["events"])
    assert graded["研判定级"] < graded["公开回应"]


def test_hotline_cluster_in_one_district(posts, incidents):
    incident = incidents["heating_outage"]
    mine = _of(posts, incident)
    tickets = mine[mine["channel"].isin(TICKETS)]
    assert len(tickets) >= 150 and tickets["region"].eq("安宁区").all()
    assert incident["end"] - incident["start"] <= pd.Timedelta(days=2)
    assert tickets["channel"].eq("12345热线").mean() > 0.5
    assert tickets["title"].value_counts().iloc[0] >= 0.5 * len(tickets)  # near-identical wording
    assert tickets["text"].str.contains("滨河家园").all()


def test_rumour_cascade_and_debunk(posts, incidents, depth):
    incident = incidents["canteen_rumour"]
    mine = _of(posts, incident)
    weibo = mine[mine["channel"].eq("微博")]
    root = weibo[weibo["post_type"].eq("original")].iloc[0]
    cascade = weibo[weibo["root_id"].eq(root["post_id"])]
    assert len(cascade) >= 200
    assert depth[cascade.index].max() >= 5
    debunk = weibo[weibo["text"].str.startswith("【辟谣】")]
    assert len(debunk) >= 1 and debunk["created_at"].min() > root["created_at"]
    assert debunk["author_id"].isin(["金城网警", "七里河发布"]).all()
    assert weibo[weibo["root_id"].isin(debunk["post_id"])].shape[0] >= 30
