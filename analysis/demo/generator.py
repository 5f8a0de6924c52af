"""Deterministic Chinese demo posts: a city's background chatter plus four embedded incidents.

The demo city is the fictional 金城市 with the districts in ``REGIONS``. Everything is generated
from ``numpy.random.Generator(PCG64(seed))``; the same ``(days, seed, end)`` gives the same frame bit for
bit (no global random state, no ``hash()`` of strings, no set iteration).

Background (about 460 posts a day):
- channel volumes as a 舆情 office sees them: 微博, 新闻跟帖 and 抖音 large; 12345热线, 留言板 and
  市长信箱 medium; 境外媒体, 上级转办 and 信访 small;
- three daily rhythms: social media (night dip, peaks about 10:00 and 21:00, busier weekends), media
  (office hours, quieter weekends) and tickets/letters (office hours, weekends at less than half);
- a day-to-day wobble, authors from heavy-tailed pools, heavy-tailed read/like/comment/repost counts
  (0 for tickets and letters);
- trees: 微博 reposts (two levels, ``//@`` chains), comments under news (新闻跟帖), 贴吧 threads and
  抖音/快手 videos; children inherit topic and region and follow their parent in time.

Embedded incidents (anchored to the calendar day of ``end``, called ``D``; needs ``days >= MIN_DAYS``):
1. ``explosion`` — 一级 burst, 安全生产 in 西固区 on D-4 at 14:20: about 600 posts, most within 4 hours,
   on 微博, 抖音, 快手, 新闻 (人民网, 新华网, 央视新闻 ...), 门户网站, 新闻跟帖, 微信公众号, 贴吧,
   境外媒体 (traditional characters), 12345热线; casualty words 死亡/受伤; closed (办结) on D-2.
2. ``river_pollution`` — 二级 slow fermentation, 环境污染 in 榆中县 from D-12: daily volume and the
   negative share rise for six days until the official 通报, then decline; closed on D-3.
3. ``heating_outage`` — hotline cluster, 物业小区 in 安宁区 on D-8 and D-7: about 200 tickets and letters
   (12345热线, 留言板, 市长信箱, 书记信箱) with near-identical wording, a few 贴吧/微博 posts; 三级.
4. ``canteen_rumour`` — 食品药品 rumour in 七里河区 on D-2 20:30: a 微博 repost cascade of about 300
   reposts, at least 7 deep through a chain of relaying accounts, each repost's ``//@`` chain mirroring its
   parent chain, then an official 辟谣 on D-1 11:00 that is itself reposted; still open (no 办结), and
   its late reposts may trail into D up to ``end``.
"""

from __future__ import annotations

import copy
import re
from datetime import datetime
from functools import lru_cache

import numpy as np
import opencc
import pandas as pd

from analysis.config import CHANNELS, TIMEZONE, TOPICS
from analysis.demo.corpus import (
    ASKS,
    BASE62,
    CHANNEL_DAILY,
    CHANNEL_KIND,
    CHANNEL_RHYTHM,
    CHANNEL_SITES,
    CHILD_SHARE,
    CITY,
    COUNT_BASE,
    EMO_VIDEO,
    EMO_WEIBO,
    EXPLOSION_COMMENTS,
    EXPLOSION_HOTLINE,
    EXPLOSION_NEWS,
    EXPLOSION_OFFICIAL,
    EXPLOSION_OVERSEAS,
    EXPLOSION_VIDEO,
    EXPLOSION_WEIBO,
    FRAMES,
    HEATING_BOARD,
    HEATING_MAIL,
    HEATING_SOCIAL,
    HEATING_TICKET,
    HOUR_PROFILE,
    INCIDENT_EVENTS,
    INCIDENT_SPECS,
    KIND_TONES,
    MAINSTREAM_SITES,
    MIN_DAYS,
    NICK_CORE,
    NICK_HEAD,
    NICK_TAIL,
    OFFICIAL_WEIBO,
    PETITIONERS,
    POLLUTION_COMPLAINTS,
    POLLUTION_COVERAGE,
    POLLUTION_NEWS,
    POLLUTION_POSTS,
    REGION_SHORT,
    REGION_WEIGHT,
    REPORTERS,
    RUMOUR_AFTER,
    RUMOUR_DEBUNK,
    RUMOUR_DEBUNK_REPOSTS,
    RUMOUR_RELAY,
    RUMOUR_RELAYERS,
    RUMOUR_ROOT,
    TICKET_CHANNELS,
    TONE_MIX,
    TONES,
    TOPIC_DAILY_WEIGHT,
    TOPIC_TEXT,
    WECHAT_ACCOUNTS,
    WEEKDAY_PROFILE,
    WHO,
)


@lru_cache(maxsize=1)
def _to_traditional() -> opencc.OpenCC:
    return opencc.OpenCC("s2hk")


class _Posts:
    """Column buffers for posts under construction; indexes are creation order."""

    def __init__(self, rng: np.random.Generator, t0: pd.Timestamp, window_s: int, nicks: tuple[str, ...]):
        self.rng, self.t0, self.window_s, self.nicks = rng, t0, window_s, nicks
        self.nick_p = 1.0 / (np.arange(len(nicks)) + 8.0) ** 1.15
        self.nick_p /= self.nick_p.sum()
        # A few ordinary users write traditional characters (Hong Kong, Taiwan, overseas readers).
        self.trad_users = frozenset(name for i, name in enumerate(nicks) if i % 97 == 5)
        self.cols: dict[str, list] = {k: [] for k in (
            "channel", "site", "author_id", "title", "text", "t", "parent", "region", "topic", "post_type",
            "tone", "url", "boost")}

    def __len__(self) -> int:
        return len(self.cols["text"])

    def user_names(self, n: int) -> list[str]:
        return [self.nicks[i] for i in self.rng.choice(len(self.nicks), size=n, p=self.nick_p)]

    def add(self, **rows: list) -> np.ndarray:
        """Append rows; 境外媒体 and the traditional-script users get their own words converted."""
        n = len(rows["text"])
        start = len(self)
        for key, values in rows.items():
            self.cols[key].extend(values)
        cols, cc = self.cols, _to_traditional()
        for i in range(start, start + n):
            if cols["channel"][i] == "境外媒体" or cols["author_id"][i] in self.trad_users:
                own, sep, chain = cols["text"][i].partition("//@")  # quoted reposts keep their authors' script
                cols["text"][i] = cc.convert(own) + sep + chain
                if cols["title"][i]:
                    cols["title"][i] = cc.convert(cols["title"][i])
        return np.arange(start, start + n)


def _pick(rng: np.random.Generator, options: tuple, weights, size: int) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return np.asarray(options, dtype=object)[rng.choice(len(options), size=size, p=p / p.sum())]


def _sites(rng: np.random.Generator, channel: str, size: int) -> np.ndarray:
    names, weights = zip(*CHANNEL_SITES[channel], strict=True)
    return _pick(rng, names, weights, size)


class _Slots(dict):
    """Template slots for one post, computed only when a template asks for them."""

    def __init__(self, topic: str, region: str, tone: str, channel: str, site: str, r: list[int], d8: str):
        super().__init__(region=region, site=site, city=CITY)
        self.spec, self.tone, self.channel, self.r, self.d8 = TOPIC_TEXT[topic], tone, channel, r, d8
        self.n = 2 + r[9] % 19

    def _choose(self, field: str, k: int) -> str:
        options = self.spec[field]
        return options[self.r[k] % len(options)]

    def __missing__(self, key: str):
        r, region = self.r, self["region"]
        if key in ("issue", "issue_title"):
            issue = self._choose("issues", 0)
            value = issue if key == "issue" else issue.split("，")[0]
        elif key == "emo":
            emos = (EMO_VIDEO if self.channel in ("抖音", "快手") else EMO_WEIBO)[
                "neu" if self.tone == "gov" else self.tone]
            value = emos[r[8] % len(emos)] if r[10] % 4 else ""
        elif key == "official":
            value = self.spec["account"] if r[11] % 2 else f"{REGION_SHORT[region]}发布"
        else:
            value = {
                "place": lambda: self._choose("places", 1).replace("{n}", str(self.n + 20)),
                "good": lambda: self._choose("good", 2),
                "notice": lambda: self._choose("notices", 3).replace("{n}", str(self.n)),
                "head": lambda: self._choose("heads", 4).format(region=region, n=self.n * 3),
                "org": lambda: self._choose("orgs", 5), "demand": lambda: self._choose("demands", 6),
                "dept": lambda: self.spec["dept"], "tag": lambda: self.spec["tag"],
                "ask": lambda: ASKS[r[7] % len(ASKS)], "n": lambda: self.n, "who": lambda: WHO[r[13] % len(WHO)],
                "ticket": lambda: f"JC{self.d8}{r[12] % 1_000_000:06d}",
            }[key]()
        self[key] = value
        return value


def _render(kind: str, tone: str, slots: dict, r: list[int]) -> tuple[str | None, str]:
    frames = FRAMES[kind].get(tone) or FRAMES[kind].get("neu") or FRAMES[kind]["neg"]
    frame = frames[r[14] % len(frames)].format_map(slots)
    if "||" in frame:
        title, text = frame.split("||", 1)
        return title, text
    return None, frame


def _b62(x: int, width: int) -> str:
    """`width` base-62 characters stirred from `x` (a 64-bit LCG step per character)."""
    chars = []
    for _ in range(width):
        x = (x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        chars.append(BASE62[(x >> 33) % 62])
    return "".join(chars)


# Plausible (fake) addresses per site from a random number `a`, the date `d` (yyyymmdd) and the account id.
SITE_URLS = {
    "新浪微博": lambda a, d, uid: f"https://weibo.com/{uid}/{_b62(a, 9)}",
    "微信": lambda a, d, uid: f"https://mp.weixin.qq.com/s/{_b62(a, 22)}",
    "抖音": lambda a, d, uid: f"https://www.douyin.com/video/7{a % 10**18:018d}",
    "快手": lambda a, d, uid: f"https://www.kuaishou.com/short-video/3x{_b62(a, 13).lower()}",
    "百度贴吧": lambda a, d, uid: f"https://tieba.baidu.com/p/{8 * 10**9 + a % 10**9}",
    "金城论坛": lambda a, d, uid: f"https://bbs.jinchengbbs.cn/thread-{a % 10**7}-1-1.html",
    "天涯社区": lambda a, d, uid: f"http://bbs.tianya.cn/post-free-{a % 10**7}-1.shtml",
    "知乎": lambda a, d, uid: f"https://www.zhihu.com/question/{6 * 10**8 + a % 10**8}",
    "新浪博客": lambda a, d, uid: f"https://blog.sina.com.cn/s/blog_{a % 16**8:08x}0102{_b62(a, 5).lower()}.html",
    "搜狐博客": lambda a, d, uid: f"https://blog.sohu.com/s/{_b62(a, 10)}/",
    "人民网": lambda a, d, uid: f"http://gs.people.com.cn/n2/{d[:4]}/{d[4:]}/c{183000 + a % 1000}-{a % 10**8:08d}.html",
    "新华网": lambda a, d, uid: f"http://www.news.cn/local/{d[:4]}-{d[4:6]}/{d[6:]}/c_{1130000000 + a % 10**7}.htm",
    "央视新闻": lambda a, d, uid: f"https://news.cctv.com/{d[:4]}/{d[4:6]}/{d[6:]}/ARTI{_b62(a, 20)}{d[2:]}.shtml",
    "澎湃新闻": lambda a, d, uid: f"https://www.thepaper.cn/newsDetail_forward_{2 * 10**7 + a % 10**7}",
    "中国新闻网": lambda a, d, uid: (
        f"https://www.chinanews.com.cn/sh/{d[:4]}/{d[4:6]}-{d[6:]}/{10**7 + a % 10**6}.shtml"),
    "金城日报": lambda a, d, uid: f"https://www.jinchengdaily.cn/content/{d}/{a % 10**6:06d}.html",
    "金城晚报": lambda a, d, uid: f"https://www.jcwb.com.cn/news/{d}/{a % 10**6:06d}.html",
    "金城广播电视台": lambda a, d, uid: f"https://www.jctv.cn/xw/{d}/{a % 10**5:05d}.shtml",
    "新浪新闻": lambda a, d, uid: (
        f"https://news.sina.com.cn/s/{d[:4]}-{d[4:6]}-{d[6:]}/doc-in{_b62(a, 13).lower()}.shtml"),
    "网易新闻": lambda a, d, uid: f"https://www.163.com/dy/article/{_b62(a, 16).upper()}.html",
    "腾讯新闻": lambda a, d, uid: f"https://new.qq.com/rain/a/{d}A0{_b62(a, 4).upper()}00",
    "今日头条": lambda a, d, uid: f"https://www.toutiao.com/article/7{a % 10**18:018d}/",
    "搜狐新闻": lambda a, d, uid: f"https://www.sohu.com/a/{7 * 10**8 + a % 10**8}_{a % 10**6:06d}",
    "联合早报": lambda a, d, uid: f"https://www.zaobao.com.sg/news/china/story{d}-{10**6 + a % 10**6}",
    "BBC中文": lambda a, d, uid: f"https://www.bbc.com/zhongwen/trad/chinese-news-{6 * 10**7 + a % 10**7}",
    "德国之声中文": lambda a, d, uid: f"https://www.dw.com/zh-hant/a-{6 * 10**7 + a % 10**7}",
    "黑猫投诉": lambda a, d, uid: f"https://tousu.sina.com.cn/complaint/view/{17 * 10**9 + a % 10**9}/",
    "消费保": lambda a, d, uid: f"https://www.xfb315.com/complaint/{a % 10**7}.html",
    "人民网领导留言板": lambda a, d, uid: f"https://liuyan.people.com.cn/threads/content?tid={2 * 10**7 + a % 10**7}",
    "金城市网上留言板": lambda a, d, uid: f"https://www.jinchengshi.gov.cn/hdjl/lyb/{a % 10**6:06d}.html",
}


def _yyyymmdd(times: pd.DatetimeIndex) -> list[str]:
    return (times.year * 10000 + times.month * 100 + times.day).astype(str).tolist()


def _hour_weights(t0: pd.Timestamp, hours: int, rhythm: str, day_wobble: np.ndarray) -> np.ndarray:
    slot_start = t0 + pd.to_timedelta(np.arange(hours), unit="h")
    w = (np.asarray(HOUR_PROFILE[rhythm])[slot_start.hour]
         * np.asarray(WEEKDAY_PROFILE[rhythm])[slot_start.day_of_week]
         * day_wobble[np.arange(hours) // 24])
    return w / w.sum()


def _draw_tones(rng: np.random.Generator, family: str, size: int) -> np.ndarray:
    return _pick(rng, TONES, TONE_MIX[family], size)


def _texts(rng: np.random.Generator, channel: str, kind: str, topics, regions, tones, sites, times) -> tuple:
    """Titles and texts for new posts, using each row's own random draws."""
    draws = rng.integers(0, 2**62, size=(len(topics), 15)).tolist()
    dates = _yyyymmdd(times)
    titles, texts = [], []
    for i in range(len(topics)):
        slots = _Slots(topics[i], regions[i], tones[i], channel, sites[i], draws[i], dates[i])
        title, text = _render(kind, tones[i], slots, draws[i])
        titles.append(title)
        texts.append(text)
    return titles, texts


def _background(posts: _Posts, days: int) -> None:
    rng, t0 = posts.rng, posts.t0
    hours = days * 24
    day_wobble = np.exp(rng.normal(0.0, 0.12, size=days + 1))
    topic_names, topic_w = TOPICS, [TOPIC_DAILY_WEIGHT[t] for t in TOPICS]
    region_names, region_w = zip(*REGION_WEIGHT.items(), strict=True)
    weights = {r: _hour_weights(t0, hours, r, day_wobble) for r in HOUR_PROFILE}
    trees: dict[str, np.ndarray] = {}
    for channel in CHANNELS:
        total = round(CHANNEL_DAILY[channel] * days)
        if channel == "新闻跟帖":
            continue  # comments need the news originals first
        n = round(total * (1 - CHILD_SHARE.get(channel, 0.0)))
        slot = rng.choice(hours, size=n, p=weights[CHANNEL_RHYTHM[channel]])
        secs = np.sort(slot * 3600 + rng.integers(0, 3600, size=n))
        topics = _pick(rng, topic_names, topic_w, n)
        regions = _pick(rng, region_names, region_w, n)
        kind = CHANNEL_KIND[channel]
        tones = _draw_tones(rng, KIND_TONES.get(kind, "social"), n)
        sites = _sites(rng, channel, n)
        times = t0 + pd.to_timedelta(secs, unit="s")
        if kind == "wechat":
            authors = _pick(rng, WECHAT_ACCOUNTS, np.ones(len(WECHAT_ACCOUNTS)), n)
        elif kind in ("weibo", "video"):
            authors = np.where(tones == "gov", _pick(rng, OFFICIAL_WEIBO, np.ones(len(OFFICIAL_WEIBO)), n),
                               np.asarray(posts.user_names(n), dtype=object))
        elif kind == "news":
            authors = _pick(rng, REPORTERS, np.ones(len(REPORTERS)), n)
        elif kind in ("hotline", "petition"):
            authors = np.full(n, None, dtype=object)
        elif kind in ("mailbox", "board"):
            authors = [f"{s[0]}**" for s in _pick(rng, PETITIONERS, np.ones(len(PETITIONERS)), n)]
        elif kind in ("transfer", "overseas"):
            authors = sites.copy()
        else:
            authors = np.asarray(posts.user_names(n), dtype=object)
        titles, texts = _texts(rng, channel, kind, topics, regions, tones, sites, times)
        idx = posts.add(channel=[channel] * n, site=list(sites), author_id=list(authors), title=titles, text=texts,
                        t=list(secs), parent=[-1] * n, region=list(regions), topic=list(topics),
                        post_type=["original"] * n, tone=list(tones), url=[None] * n, boost=[1.0] * n)
        trees[channel] = idx
        if channel in CHILD_SHARE:
            _children(posts, channel, idx, total - n, "repost" if channel == "微博" else "comment")
    news_parents = np.concatenate([trees["新闻"], trees["门户网站"]])
    _children(posts, "新闻跟帖", news_parents, round(CHANNEL_DAILY["新闻跟帖"] * days), "comment")


def _children(posts: _Posts, channel: str, parents: np.ndarray, n: int, post_type: str) -> None:
    """Reposts or comments under `parents`: popular parents attract most, children follow in time."""
    rng = posts.rng
    popularity = rng.lognormal(0.0, 1.3, size=len(parents))
    chosen = parents[rng.choice(len(parents), size=n, p=popularity / popularity.sum())]
    if post_type == "repost":  # a third of reposts repost an earlier repost: two-level trees and //@ chains
        first = chosen[: n * 2 // 3]
        _add_children(posts, channel, first, post_type, scale_s=3 * 3600)
        level1 = np.arange(len(posts) - len(first), len(posts))
        popularity = rng.lognormal(0.0, 1.0, size=len(level1))
        second = level1[rng.choice(len(level1), size=n - len(first), p=popularity / popularity.sum())]
        _add_children(posts, channel, second, post_type, scale_s=2 * 3600)
    else:
        _add_children(posts, channel, chosen, post_type, scale_s=5 * 3600)


def _add_children(posts: _Posts, channel: str, parents: np.ndarray, post_type: str, scale_s: float,
                  tones: np.ndarray | None = None, texts: list[str] | None = None,
                  authors: list[str] | None = None, boost: float = 0.3) -> np.ndarray:
    """Append children of `parents`; 微博 reposts get `//@parent:` chains like the real client writes."""
    rng, cols = posts.rng, posts.cols
    n = len(parents)
    parent_t = np.asarray([cols["t"][p] for p in parents], dtype=np.int64)
    delay = rng.exponential(scale_s, size=n) + 30
    # People react less at night: a delay landing in a quiet hour is extended, so children keep the daily rhythm.
    awake = np.asarray(HOUR_PROFILE["social"]) / max(HOUR_PROFILE["social"])
    t0_of_day = posts.t0.hour * 3600 + posts.t0.minute * 60 + posts.t0.second
    for _ in range(6):
        hour = ((parent_t + delay + t0_of_day) // 3600 % 24).astype(np.int64)
        asleep = rng.random(n) > awake[hour]
        delay = np.where(asleep, delay + rng.exponential(scale_s, size=n), delay)
    delay = delay.astype(np.int64)
    room = posts.window_s - 1 - parent_t
    delay = np.where(delay > room, (room * rng.random(n)).astype(np.int64), delay)
    secs = parent_t + delay
    if tones is None:
        tones = _draw_tones(rng, "comment", n)
    topics = [cols["topic"][p] for p in parents]
    regions = [cols["region"][p] for p in parents]
    sites = [cols["site"][p] for p in parents]
    if texts is None:
        times = posts.t0 + pd.to_timedelta(secs, unit="s")
        kind = "repost" if post_type == "repost" else "comment"
        texts = _texts(rng, channel, kind, topics, regions, tones, sites, times)[1]
    if post_type == "repost":
        texts = [
            f"{own}//@{cols['author_id'][p]}:{cols['text'][p]}" if cols["post_type"][p] == "repost" else own
            for own, p in zip(texts, parents, strict=True)
        ]
    if authors is None:
        authors = posts.user_names(n)
    return posts.add(channel=[channel] * n, site=sites, author_id=list(authors), title=[None] * n, text=list(texts),
                     t=list(secs), parent=list(parents), region=regions, topic=topics, post_type=[post_type] * n,
                     tone=list(tones), url=[None] * n, boost=[boost] * n)


def _start(spec: dict, day0: pd.Timestamp) -> pd.Timestamp:
    hour, minute = spec["start_hm"]
    return day0 + pd.Timedelta(days=spec["day"], hours=hour, minutes=minute)


def _incident_rows(posts: _Posts, channel: str, secs: np.ndarray, texts: list[str], spec: dict,
                   sites=None, authors=None, tones=None, boost: float = 3.0) -> np.ndarray:
    """Originals of an incident with pre-written texts ('title||text' splits into both)."""
    n = len(secs)
    rng = posts.rng
    sites = list(_sites(rng, channel, n)) if sites is None else list(sites)
    titles, bodies = [], []
    for text in texts:
        title, _, body = text.rpartition("||")
        titles.append(title or None)
        bodies.append(body)
    if authors is None:
        authors = posts.user_names(n) if channel not in TICKET_CHANNELS else [None] * n
    return posts.add(channel=[channel] * n, site=sites, author_id=list(authors), title=titles, text=bodies,
                     t=list(secs), parent=[-1] * n, region=[spec["region"]] * n, topic=[spec["topic"]] * n,
                     post_type=["original"] * n, tone=list(tones if tones is not None else ["neg"] * n), url=[None] * n,
                     boost=[boost] * n)


def _fill_pool(rng: np.random.Generator, pool: tuple[str, ...], n: int, slots: dict, tone: str = "neg",
               video: bool = False) -> list[str]:
    draws = rng.integers(0, 2**62, size=(n, 3))
    emos = (EMO_VIDEO if video else EMO_WEIBO)[tone]
    return [pool[d[0] % len(pool)].format_map({**slots, "emo": emos[d[1] % len(emos)] if d[2] % 3 else "",
                                                "n": 2 + d[2] % 6}) for d in draws]


def _secs(posts: _Posts, start: pd.Timestamp, offsets_h: np.ndarray) -> np.ndarray:
    return np.sort(((start - posts.t0).total_seconds() + offsets_h * 3600).astype(np.int64))


def _explosion(posts: _Posts, spec: dict, start: pd.Timestamp) -> list[np.ndarray]:
    rng = posts.rng
    slots = {"city": CITY, "d": 3, "i": 27, "e": 1200 + int(rng.integers(0, 300)), "date": f"{start:%m月%d日}",
             "official": "金城应急管理"}

    def burst(n: int) -> np.ndarray:  # most within 4 h, a tail over two days
        fast = rng.gamma(2.0, 0.7, size=n)
        slow = rng.exponential(14.0, size=n)
        return np.minimum(np.where(rng.random(n) < 0.85, fast, slow), 44.0)

    out = []
    wb_secs = _secs(posts, start, burst(170))
    wb = _incident_rows(posts, "微博", wb_secs, _fill_pool(rng, EXPLOSION_WEIBO, 170, slots), spec)
    official_secs = _secs(posts, start, np.array([3.2, 9.0, 26.0]))
    gov = _incident_rows(posts, "微博", official_secs, [t.format_map(slots) for t in EXPLOSION_OFFICIAL], spec,
                         authors=["金城发布", "金城应急管理", "金城发布"], tones=["gov"] * 3, boost=30.0)
    roots = np.concatenate([wb, gov])
    pop = rng.lognormal(0, 1.5, size=len(roots))
    parents = roots[rng.choice(len(roots), size=130, p=pop / pop.sum())]
    reposts = _add_children(posts, "微博", parents, "repost", scale_s=1800, tones=np.full(130, "neg"),
                            texts=_fill_pool(rng, EXPLOSION_COMMENTS, 130, slots))
    out += [roots, reposts]
    news_sites = [*MAINSTREAM_SITES, "澎湃新闻", "中国新闻网", "金城日报", *MAINSTREAM_SITES, "澎湃新闻", "金城晚报",
                  "中国新闻网"]
    news_secs = _secs(posts, start, np.sort(1.0 + rng.gamma(2.0, 1.2, size=len(news_sites))))
    news = _incident_rows(posts, "新闻", news_secs, _fill_pool(rng, EXPLOSION_NEWS, len(news_sites), slots), spec,
                          sites=news_sites, authors=list(_pick(rng, REPORTERS, np.ones(len(REPORTERS)), 12)),
                          tones=["neu"] * 12, boost=20.0)
    portal_secs = _secs(posts, start, 1.2 + rng.gamma(2.0, 1.0, size=10))
    portal = _incident_rows(posts, "门户网站", portal_secs, _fill_pool(rng, EXPLOSION_NEWS, 10, slots), spec,
                            authors=list(_pick(rng, REPORTERS, np.ones(len(REPORTERS)), 10)), tones=["neu"] * 10,
                            boost=20.0)
    articles = np.concatenate([news, portal])
    comments = _add_children(posts, "新闻跟帖", articles[rng.integers(0, len(articles), size=120)], "comment",
                             scale_s=5400, tones=np.full(120, "neg"),
                             texts=_fill_pool(rng, EXPLOSION_COMMENTS, 120, slots))
    video_secs = _secs(posts, start, burst(40))
    videos = _incident_rows(posts, "抖音", video_secs, _fill_pool(rng, EXPLOSION_VIDEO, 40, slots, video=True), spec)
    video_comments = _add_children(posts, "抖音", videos[rng.integers(0, 40, size=60)], "comment", scale_s=3600,
                                   tones=np.full(60, "neg"), texts=_fill_pool(rng, EXPLOSION_COMMENTS, 60, slots))
    ks = _incident_rows(posts, "快手", _secs(posts, start, burst(15)),
                        _fill_pool(rng, EXPLOSION_VIDEO, 15, slots, video=True), spec)
    wechat = _incident_rows(posts, "微信公众号", _secs(posts, start, 1.5 + rng.gamma(2.0, 2.0, size=12)),
                            _fill_pool(rng, EXPLOSION_NEWS, 12, slots), spec,
                            authors=list(_pick(rng, WECHAT_ACCOUNTS, np.ones(len(WECHAT_ACCOUNTS)), 12)),
                            tones=["neu"] * 12)
    tieba = _incident_rows(posts, "贴吧", _secs(posts, start, burst(20)),
                           [f"西固化工厂爆炸了||{t}" for t in _fill_pool(rng, EXPLOSION_WEIBO, 20, slots)], spec)
    overseas_texts = _fill_pool(rng, EXPLOSION_OVERSEAS, 5, slots)  # converted with all 境外媒体 posts
    overseas_sites = ["联合早报", "BBC中文", "联合早报", "德国之声中文", "BBC中文"]
    overseas = _incident_rows(posts, "境外媒体", _secs(posts, start, np.array([4.0, 5.5, 9.0, 20.0, 30.0])),
                              overseas_texts, spec, sites=overseas_sites, authors=overseas_sites)
    hotline_n = 25
    tickets = [EXPLOSION_HOTLINE[i % 2].format(ticket=f"JC{start:%Y%m%d}{400000 + i * 37:06d}")
               for i in range(hotline_n)]
    hotline = _incident_rows(posts, "12345热线", _secs(posts, start, 0.5 + rng.gamma(2.0, 3.0, size=hotline_n)),
                             tickets, spec, boost=0.0)
    return out + [news, portal, comments, videos, video_comments, ks, wechat, tieba, overseas, hotline]


def _pollution(posts: _Posts, spec: dict, start: pd.Timestamp) -> list[np.ndarray]:
    rng = posts.rng
    daily = (6, 12, 22, 38, 60, 95, 120, 55, 22)
    negative = (0.45, 0.55, 0.62, 0.7, 0.78, 0.85, 0.6, 0.45, 0.35)
    slots = {"city": CITY, "official": "金城生态环境"}
    out = []
    social = ("微博", "微博", "微博", "抖音", "贴吧", "论坛", "快手", "留言板", "12345热线", "微信公众号")
    articles = []
    for day, (n, neg) in enumerate(zip(daily, negative, strict=True)):
        offsets = day * 24 + rng.choice(24, size=n, p=np.asarray(HOUR_PROFILE["social"]) / sum(HOUR_PROFILE["social"]))
        secs = _secs(posts, start, offsets + rng.random(n))
        tones = np.where(rng.random(n) < neg, "neg", np.where(rng.random(n) < (0.7 if day >= 5 else 0.3), "pos", "neu"))
        channels = _pick(rng, social, np.ones(len(social)), n)
        for channel in dict.fromkeys(social):
            mask = channels == channel
            if not mask.any():
                continue
            texts = []
            for tone in tones[mask]:
                if channel in ("12345热线", "留言板"):
                    detail = POLLUTION_COMPLAINTS[int(rng.integers(0, len(POLLUTION_COMPLAINTS)))]
                    ticket = f"JC{start + pd.Timedelta(days=day):%Y%m%d}{int(rng.integers(0, 10**6)):06d}"
                    text = (f"关于榆中县和平镇河道污染的诉求||来电人反映：{detail}诉求：请环保部门查处排污企业，"
                            f"公开监测结果。（工单编号：{ticket}）" if channel == "12345热线"
                            else f"榆中县和平镇河道污染问题||生态环境局领导您好：{detail}望尽快查处，谢谢！")
                else:
                    text = _fill_pool(rng, POLLUTION_POSTS[tone], 1, slots, tone=tone)[0]
                    if channel in ("论坛", "贴吧", "微信公众号"):
                        text = f"榆中县和平镇河道污染问题||{text}"
                texts.append(text)
            out.append(_incident_rows(posts, channel, secs[mask], texts, spec, tones=tones[mask],
                                      boost=0.0 if channel == "12345热线" else 1.0 + day * 0.4))
        if day in POLLUTION_COVERAGE:
            news_sites, stories = zip(*POLLUTION_COVERAGE[day], strict=True)
            k = len(news_sites)
            texts = [POLLUTION_NEWS[j].format_map(slots) for j in stories]
            news_secs = _secs(posts, start, day * 24 + 10.0 + np.arange(k) * 2.5)
            articles.append(_incident_rows(posts, "新闻", news_secs, texts, spec, sites=list(news_sites),
                                           authors=list(_pick(rng, REPORTERS, np.ones(len(REPORTERS)), k)),
                                           tones=["neu"] * k, boost=10.0))
    articles = np.concatenate(articles)
    comments = _add_children(posts, "新闻跟帖", articles[rng.integers(0, len(articles), size=40)], "comment",
                             scale_s=6 * 3600, tones=np.full(40, "neg"),
                             texts=_fill_pool(rng, POLLUTION_POSTS["neg"], 40, slots))
    return out + [articles, comments]


def _heating(posts: _Posts, spec: dict, start: pd.Timestamp) -> list[np.ndarray]:
    rng = posts.rng
    plan = (("12345热线", HEATING_TICKET, 120), ("留言板", HEATING_BOARD, 35), ("市长信箱", HEATING_MAIL, 15),
            ("书记信箱", HEATING_MAIL, 5))
    office = np.asarray(HOUR_PROFILE["office"]) + 0.15
    out = []
    for channel, template, n in plan:
        day = np.where(rng.random(n) < 0.6, 0, 1)
        offsets = day * 24 + rng.choice(24, size=n, p=office / office.sum()) + rng.random(n)
        offsets = np.where(day == 0, np.maximum(offsets, 8.0 + rng.random(n)), offsets)
        secs = _secs(posts, start.normalize(), offsets)
        draws = rng.integers(0, 10**6, size=(n, 3))
        texts = [template.format(b=1 + d[0] % 24, date=f"{start:%m月%d日}", temp=9 + d[1] % 5,
                                 ticket=f"JC{start:%Y%m%d}{d[2]:06d}") for d in draws]
        authors = None if channel == "12345热线" else [f"{PETITIONERS[i % 10][0]}**" for i in rng.integers(0, 10, n)]
        sites = None if channel != "留言板" else ["金城市网上留言板"] * n
        out.append(_incident_rows(posts, channel, secs, texts, spec, authors=authors, sites=sites, boost=0.0))
    slots = {"temp": 12, "official": "安宁发布"}
    for channel, n in (("贴吧", 15), ("微博", 15)):
        secs = _secs(posts, start.normalize(), 8.0 + rng.random(n) * 36.0)
        texts = _fill_pool(rng, HEATING_SOCIAL, n, slots)
        if channel == "贴吧":
            texts = [f"滨河家园停水停暖||{t}" for t in texts]
        out.append(_incident_rows(posts, channel, secs, texts, spec, boost=0.5))
    return out


def _rumour(posts: _Posts, spec: dict, start: pd.Timestamp) -> list[np.ndarray]:
    """A repost cascade: a relay chain seven accounts deep, then preferential attachment by everyone else."""
    rng, cols = posts.rng, posts.cols
    slots = {"city": CITY}
    debunk_h = 14.5
    root = _incident_rows(posts, "微博", _secs(posts, start, np.array([0.0])),
                          [RUMOUR_ROOT.format(emo="[怒]")], spec, authors=["七里河宝妈小雨"], boost=5.0)
    nodes = [int(root[0])]
    for depth, name in enumerate(RUMOUR_RELAYERS):  # each relayer reposts the previous one
        parent = np.array([nodes[-1]])
        gap = 1800 + 600 * depth
        added = _add_children(posts, "微博", parent, "repost", scale_s=gap, tones=np.array(["neg"]),
                              texts=_fill_pool(rng, RUMOUR_RELAY, 1, slots), authors=[name], boost=8.0)
        nodes.append(int(added[0]))
    weight = [12.0] + [6.0] * len(RUMOUR_RELAYERS)
    n_reposts = 300
    for _ in range(n_reposts):
        w = np.asarray(weight)
        parent = nodes[int(rng.choice(len(nodes), p=w / w.sum()))]
        before_debunk = cols["t"][parent] < (start - posts.t0).total_seconds() + debunk_h * 3600
        pool = RUMOUR_RELAY if before_debunk else RUMOUR_AFTER
        added = _add_children(posts, "微博", np.array([parent]), "repost", scale_s=2400,
                              tones=np.array(["neg"]), texts=_fill_pool(rng, pool, 1, slots))
        nodes.append(int(added[0]))
        weight.append(0.4 + rng.pareto(2.0))
    debunk = _incident_rows(posts, "微博", _secs(posts, start, np.array([debunk_h, debunk_h + 0.3])),
                            [RUMOUR_DEBUNK.format_map(slots)] * 2, spec, authors=["金城网警", "七里河发布"],
                            tones=["gov", "gov"], boost=20.0)
    debunk_parents = debunk[rng.integers(0, 2, size=70)]
    debunk_reposts = _add_children(posts, "微博", debunk_parents, "repost", scale_s=2 * 3600,
                                   tones=np.full(70, "pos"), texts=_fill_pool(rng, RUMOUR_DEBUNK_REPOSTS, 70, slots,
                                                                               tone="pos"))
    news = _incident_rows(posts, "新闻", _secs(posts, start, np.array([debunk_h + 1.5, debunk_h + 3.0])),
                          [f"七里河区一小学食堂“使用过期肉”系谣言||{RUMOUR_DEBUNK.format_map(slots)}"] * 2, spec,
                          sites=["金城日报", "金城晚报"], authors=["记者 刘婷", "记者 何芳"], tones=["neu", "neu"])
    return [np.asarray(nodes), debunk, debunk_reposts, news]


INCIDENT_BUILDERS = {"explosion": _explosion, "river_pollution": _pollution, "heating_outage": _heating,
                     "canteen_rumour": _rumour}


# ---- assembling the frame -------------------------------------------------------------------------------

def _nicknames(rng: np.random.Generator) -> tuple[str, ...]:
    names = [f"{h}{c}{t}" for h in NICK_HEAD for c in NICK_CORE for t in NICK_TAIL]
    names = list(dict.fromkeys(names))
    return tuple(names[i] for i in rng.permutation(len(names)))


def _resolve_end(end: datetime | None) -> pd.Timestamp:
    if end is None:
        return pd.Timestamp.now(tz=TIMEZONE).floor("h")
    ts = pd.Timestamp(end)
    return ts.tz_localize(TIMEZONE) if ts.tzinfo is None else ts.tz_convert(TIMEZONE)


def _counts(posts: _Posts, frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Heavy-tailed engagement per channel; a parent counts at least the children present in the frame."""
    n = len(frame)
    base_read = frame["channel"].map({c: v[0] for c, v in COUNT_BASE.items()}).fillna(0.0).to_numpy()
    base_like = frame["channel"].map({c: v[1] for c, v in COUNT_BASE.items()}).fillna(0.0).to_numpy()
    boost = np.asarray(posts.cols["boost"], dtype=float)
    reach = rng.lognormal(0.0, 1.4, size=n) * np.where(boost > 0, 1.0 + boost, 0.0)
    read = np.floor(base_read * reach).astype(np.int64)
    like = np.floor(base_like * reach * rng.lognormal(0.0, 0.6, size=n)).astype(np.int64)
    comment = np.floor(like * 0.3 * rng.lognormal(0.0, 0.7, size=n)).astype(np.int64)
    repost = np.floor(like * 0.25 * rng.lognormal(0.0, 0.8, size=n)).astype(np.int64)
    parents = np.asarray(posts.cols["parent"])
    has_parent = parents >= 0
    kinds = np.asarray(posts.cols["post_type"], dtype=object)
    child_reposts = np.bincount(parents[has_parent & (kinds == "repost")], minlength=n)
    child_comments = np.bincount(parents[has_parent & (kinds == "comment")], minlength=n)
    no_public = frame["channel"].isin(TICKET_CHANNELS + ("境外媒体",)).to_numpy()
    read = np.where(has_parent, 0, read)  # comments and reposts show likes, not reads
    repost = np.where(kinds == "comment", 0, repost)
    frame["repost_count"] = np.where(no_public, 0, np.maximum(repost, child_reposts))
    frame["comment_count"] = np.where(no_public, 0, np.maximum(comment, child_comments))
    frame["like_count"] = np.where(no_public, 0, like)
    frame["read_count"] = np.where(no_public, 0, read)
    return frame


@lru_cache(maxsize=4)
def _build(days: int, seed: int, end: pd.Timestamp) -> tuple[pd.DataFrame, tuple[dict, ...]]:
    """The frame and the incident descriptions together (cached: both public functions read them)."""
    if days < MIN_DAYS:
        raise ValueError(f"演示数据至少需要 {MIN_DAYS} 天（收到 {days} 天）")
    rng = np.random.Generator(np.random.PCG64(seed))
    t0 = end - pd.Timedelta(days=days)
    posts = _Posts(rng, t0, days * 86400, _nicknames(rng))
    _background(posts, days)
    day0 = end.normalize()
    incident_rows = {}
    for spec in INCIDENT_SPECS:
        incident_rows[spec["key"]] = np.concatenate(INCIDENT_BUILDERS[spec["key"]](posts, spec, _start(spec, day0)))

    cols = posts.cols
    n = len(posts)
    secs = np.asarray(cols["t"], dtype=np.int64)

    order = np.lexsort((np.arange(n), secs))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    ids = np.asarray([f"demo-{i:06d}" for i in range(n)], dtype=object)
    parent = np.asarray(cols["parent"], dtype=np.int64)
    root = parent.copy()
    for i in range(n):  # parents are always created before their children
        if parent[i] >= 0 and root[parent[i]] >= 0:
            root[i] = root[parent[i]]
    created = t0 + pd.to_timedelta(secs, unit="s")
    collect_delay = np.minimum(rng.exponential(1800.0, size=n).astype(np.int64) + 60, days * 86400 - secs)
    collected = t0 + pd.to_timedelta(secs + collect_delay, unit="s")
    url_seed = rng.integers(0, 2**62, size=n).tolist()
    uid_pool = rng.integers(10**9, 8 * 10**9, size=n)
    uids: dict[str | None, int] = {}  # numeric account ids in order of first appearance
    for author in cols["author_id"]:
        uids.setdefault(author, int(uid_pool[len(uids)]))
    dates = _yyyymmdd(created)
    urls = [
        None if (cols["post_type"][i] == "comment" and cols["channel"][i] != "贴吧") or cols["site"][i] not in SITE_URLS
        else SITE_URLS[cols["site"][i]](url_seed[i], dates[i], uids[cols["author_id"][i]])
        for i in range(n)
    ]
    urls = [u if cols["channel"][i] != "贴吧" or cols["post_type"][i] != "comment"
            else f"{urls[parent[i]]}?pid={url_seed[i] % 10**11}" for i, u in enumerate(urls)]
    frame = pd.DataFrame({
        "post_id": ids[rank],
        "channel": cols["channel"], "site": cols["site"], "url": urls, "author_id": cols["author_id"],
        "title": cols["title"], "text": cols["text"],
        "created_at": created.astype(f"datetime64[us, {TIMEZONE}]"),
        "collected_at": collected.astype(f"datetime64[us, {TIMEZONE}]"),
        "parent_id": [ids[rank[p]] if p >= 0 else None for p in parent],
        "root_id": [ids[rank[r]] if r >= 0 else None for r in root],
        "post_type": cols["post_type"], "region": cols["region"], "topic": cols["topic"],
    })
    frame = _counts(posts, frame, rng)
    frame = frame.iloc[order].reset_index(drop=True)

    incidents = []
    for spec in INCIDENT_SPECS:
        rows = incident_rows[spec["key"]]
        start = _start(spec, day0)
        times = created[rows]
        hour_counts = pd.Series(1, index=times.floor("h")).groupby(level=0).sum()
        events = [(step, start + pd.Timedelta(hours=h), note) for step, h, note in INCIDENT_EVENTS[spec["key"]]]
        incidents.append({
            "key": spec["key"], "title": spec["title"], "topic": spec["topic"], "region": spec["region"],
            "channels": list(dict.fromkeys(cols["channel"][i] for i in rows[np.argsort(secs[rows], kind="stable")])),
            "start": times.min(), "peak": hour_counts.idxmax(), "end": times.max(), "grade": spec["grade"],
            "events": events, "closed": events[-1][0] == "办结/化解",
            "post_ids": sorted(ids[rank[rows]].tolist()),
        })
    return frame, tuple(incidents)


def generate_posts(days: int = 60, seed: int = 7, end: datetime | None = None) -> pd.DataFrame:
    """Demo posts over `days` days up to `end` (default: now in Asia/Shanghai, truncated to the hour)."""
    frame, _ = _build(days, seed, _resolve_end(end))
    return frame.copy()


def embedded_incidents(end: datetime | None = None, days: int = 60, seed: int = 7) -> list[dict]:
    """The incidents planted in `generate_posts(days, seed, end)`: shape, timeline, handling and post ids.

    Each dict has: key, title, topic, region, channels (in order of first post), start / peak (hour with the
    most posts) / end (tz-aware Timestamps of its posts), grade ('一级'/'二级'/'三级', what a grader should
    reach), events [(step, timestamp, note)], closed (whether the last event is 办结/化解) and post_ids.
    """
    _, incidents = _build(days, seed, _resolve_end(end))
    return copy.deepcopy(list(incidents))


ACCOUNT_CHANNELS = ("微博", "微信公众号", "抖音", "快手", "小红书", "B站", "贴吧", "论坛")
_MEDIA_NAME = re.compile(r"日报|晚报|广播|电视台|融媒|观察$")


def account_rows(posts: pd.DataFrame, seed: int = 7) -> pd.DataFrame:
    """What a creator export would say of the demo's accounts on social channels (author_id, channel, verified,
    followers), imported like an office's account file: 政务号 and media accounts verified with big followings,
    a few 黄V, the rest unverified with a long-tailed following growing with how much they post."""
    from analysis import media

    rng = np.random.default_rng(seed + 101)
    social = posts[posts["channel"].isin(ACCOUNT_CHANNELS) & posts["author_id"].notna()]
    accounts = social.groupby("author_id").agg(channel=("channel", "first"), posts=("post_id", "size")).reset_index()
    names = accounts["author_id"].astype(str)
    directory = dict(media.DEFAULT_DIRECTORY)
    official = names.map(directory).eq(media.GOVERNMENT) | names.str.contains("|".join(media.OFFICIAL_NAME_WORDS))
    press = ~official & (names.map(directory).isin(media.MAINSTREAM_TIERS) | names.str.contains(_MEDIA_NAME))
    personal = ~official & ~press & (rng.random(len(accounts)) < 0.04)
    scale = np.where(official | press, 2e4, np.where(personal, 3e3, 60.0))
    followers = scale * np.sqrt(accounts["posts"].to_numpy()) * rng.lognormal(0.0, 1.0, len(accounts))
    verified = np.select([official, press, personal], ["政务", "媒体", "黄V"], "否")
    return pd.DataFrame({"author_id": names, "channel": accounts["channel"], "verified": verified,
                         "followers": followers.round().astype("int64")})
