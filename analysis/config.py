"""Settings declared once: vocabularies, limits and where the database lives."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB_PATH = REPO_ROOT / "data" / "opinion.duckdb"
DB_ENV_VAR = "OPINION_DB"
TIMEZONE = "Asia/Shanghai"


def local_time(value) -> pd.Timestamp:
    """A timestamp in the office's time zone; a naive one is taken to be local already."""
    ts = pd.Timestamp(value)
    return ts.tz_localize(TIMEZONE) if ts.tzinfo is None else ts.tz_convert(TIMEZONE)


# DuckDB's buffer pool in the dashboard process. Uncapped, DuckDB keeps up to 80 % of RAM of table data cached
# and the app reached 768 MB RSS (peak 1,486 MB) at 10 M posts, against a 600 MB target; capped at 256MB it
# measured 432 MB (peak 585 MB; bench/page_bench.py) with every page's warm render unchanged: warm pages are served from
# st.cache_data, and a cold query that outgrows the cap spills to <db>.tmp instead of growing the process.
DASHBOARD_MEMORY_LIMIT = "256MB"
DASHBOARD_MEMORY_LIMIT_ENV_VAR = "OPINION_DASHBOARD_MEMORY_LIMIT"
_MEMORY_SIZE = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)

# 来源渠道 from the seeds, in the order the UI lists them.
CHANNELS: tuple[str, ...] = (
    "门户网站", "新闻", "新闻跟帖", "论坛", "贴吧", "微博", "微信公众号", "抖音", "快手", "博客",
    "维权网站", "传统媒体", "境外媒体", "市长信箱", "书记信箱", "留言板", "12345热线", "上级转办", "信访",
)

# Names seen in exports for the same channel; unknown names are kept as given (the list is open).
CHANNEL_ALIASES: dict[str, str] = {
    "weibo": "微博", "新浪微博": "微博", "wechat": "微信公众号", "微信": "微信公众号", "公众号": "微信公众号",
    "douyin": "抖音", "kuaishou": "快手", "tieba": "贴吧", "百度贴吧": "贴吧", "bbs": "论坛",
    "news": "新闻", "新闻网站": "新闻", "跟帖": "新闻跟帖", "门户": "门户网站", "blog": "博客",
    "境外": "境外媒体", "报纸": "传统媒体", "电视": "传统媒体", "12345": "12345热线",
    "市长热线": "12345热线", "领导留言板": "留言板", "转办": "上级转办", "交办": "上级转办",
    "zhihu": "论坛", "知乎": "论坛", "xhs": "论坛", "小红书": "论坛", "bilibili": "论坛", "b站": "论坛",
}

# An export's 来源/来源网站 usually names a site (网易新闻, 百度贴吧) or gives its address, not a channel. Known sites
# and address domains map onto a channel; an unknown site keeps its name as `site` under OTHER_CHANNEL.
OTHER_CHANNEL = "其他"
SITE_CHANNELS: dict[str, str] = {
    **{site: "微博" for site in ("微博", "新浪微博", "微博客户端", "微博网页版")},
    **{site: "贴吧" for site in ("百度贴吧", "贴吧")},
    **{site: "微信公众号" for site in ("微信", "微信公众号", "公众号", "微信公众平台")},
    **{site: "抖音" for site in ("抖音", "抖音短视频", "抖音号")},
    **{site: "快手" for site in ("快手", "快手短视频")},
    **{site: "新闻" for site in ("网易新闻", "腾讯新闻", "新浪新闻", "搜狐新闻", "今日头条", "凤凰新闻", "澎湃新闻",
                                 "人民网", "新华网", "央视新闻", "央视网", "中国新闻网", "光明网", "中国日报", "环球网",
                                 "新京报", "界面新闻", "财新网", "人民日报客户端", "新华社客户端", "百家号",
                                 "一点资讯")},
    **{site: "新闻跟帖" for site in ("网易跟帖", "新闻跟帖", "新闻评论")},
    **{site: "门户网站" for site in ("新浪网", "网易", "搜狐", "腾讯网", "凤凰网", "新浪", "腾讯", "政府网站")},
    **{site: "论坛" for site in ("天涯社区", "天涯论坛", "知乎", "小红书", "哔哩哔哩", "豆瓣", "猫扑", "凯迪社区")},
    **{site: "博客" for site in ("新浪博客", "博客", "网易博客")},
    **{site: "传统媒体" for site in ("人民日报", "光明日报", "经济日报", "电视台", "广播电台")},
    **{site: "境外媒体" for site in ("BBC", "BBC中文网", "美国之音", "自由亚洲电台", "德国之声", "法广", "纽约时报",
                                   "纽约时报中文网", "联合早报", "路透社", "美联社", "法新社", "端传媒")},
    **{site: "留言板" for site in ("人民网领导留言板", "领导留言板", "留言板")},
    **{site: "12345热线" for site in ("12345", "12345热线", "政务服务便民热线")},
}
# Address domains (the host or any parent of it), longest match first.
DOMAIN_CHANNELS: dict[str, str] = {
    "weibo.com": "微博", "weibo.cn": "微博", "tieba.baidu.com": "贴吧", "mp.weixin.qq.com": "微信公众号",
    "douyin.com": "抖音", "iesdouyin.com": "抖音", "kuaishou.com": "快手", "gifshow.com": "快手",
    "news.163.com": "新闻", "3g.163.com": "新闻", "news.qq.com": "新闻", "new.qq.com": "新闻",
    "news.sina.com.cn": "新闻",
    "toutiao.com": "新闻", "thepaper.cn": "新闻", "people.com.cn": "新闻", "xinhuanet.com": "新闻", "news.cn": "新闻",
    "cctv.com": "新闻", "chinanews.com.cn": "新闻", "gmw.cn": "新闻", "baijiahao.baidu.com": "新闻",
    "comment.tie.163.com": "新闻跟帖", "163.com": "门户网站", "qq.com": "门户网站", "sina.com.cn": "门户网站",
    "sohu.com": "门户网站", "ifeng.com": "门户网站", "blog.sina.com.cn": "博客", "zhihu.com": "论坛",
    "xiaohongshu.com": "论坛", "bilibili.com": "论坛", "douban.com": "论坛", "tianya.cn": "论坛",
    "liuyan.people.com.cn": "留言板", "bbc.com": "境外媒体", "bbc.co.uk": "境外媒体", "voachinese.com": "境外媒体",
    "rfa.org": "境外媒体", "dw.com": "境外媒体", "nytimes.com": "境外媒体", "cn.nytimes.com": "境外媒体",
    "zaobao.com": "境外媒体", "reuters.com": "境外媒体", "theinitium.com": "境外媒体",
}
# A site name nobody listed, judged by its last words (本地论坛 → 论坛, 某某日报 → 传统媒体).
SITE_SUFFIX_CHANNELS: tuple[tuple[str, str], ...] = (
    ("贴吧", "贴吧"), ("论坛", "论坛"), ("社区", "论坛"), ("bbs", "论坛"), ("博客", "博客"), ("公众号", "微信公众号"),
    ("日报", "传统媒体"), ("晚报", "传统媒体"), ("都市报", "传统媒体"), ("电视台", "传统媒体"), ("新闻网", "新闻"),
    ("新闻", "新闻"), ("留言板", "留言板"), ("信箱", "市长信箱"),
)

TOPICS: tuple[str, ...] = (
    "安全生产", "食品药品", "教育", "医疗卫生", "拆迁征收", "环境污染", "交通出行", "物业小区",
    "欠薪维权", "防汛救灾", "营商环境", "社会治安",
)
UNCLASSIFIED_TOPIC = "未分类"

# Sites whose involvement marks mainstream/official media attention (a grading signal): the default of the
# `mainstream_sites` setting, which is what grading, briefings and metrics apply (analysis.settings.policy).
MAINSTREAM_SITES: tuple[str, ...] = (
    "人民网", "新华网", "央视新闻", "中国新闻网", "光明网", "中国日报", "澎湃新闻", "新京报", "环球网",
    "人民日报", "新华社", "央视网", "中国青年报", "南方都市报", "财新网", "界面新闻",
)

SENTIMENT_LABELS: tuple[str, ...] = ("正面", "中性", "负面")
POST_TYPES: tuple[str, ...] = ("original", "repost", "comment")

# Ingest limits: a row beyond them is quarantined with the reason, never silently cut.
MAX_TEXT_CHARS = 50_000
FUTURE_TOLERANCE_HOURS = 24
MAX_UPLOAD_MB = 50


def resolve_db_path(cli_value: str | os.PathLike | None = None) -> Path:
    """The database file: --db wins, then $OPINION_DB, then data/opinion.duckdb."""
    chosen = cli_value or os.environ.get(DB_ENV_VAR) or DEFAULT_DB_PATH
    return Path(chosen).expanduser().resolve()


def dashboard_memory_limit() -> str:
    """DuckDB's memory limit for the dashboard: $OPINION_DASHBOARD_MEMORY_LIMIT (e.g. '512MB'), else 256MB.
    A malformed value fails at start-up naming the variable, not later as a DuckDB error."""
    chosen = (os.environ.get(DASHBOARD_MEMORY_LIMIT_ENV_VAR) or "").strip() or DASHBOARD_MEMORY_LIMIT
    if not _MEMORY_SIZE.fullmatch(chosen):
        raise ValueError(f"{DASHBOARD_MEMORY_LIMIT_ENV_VAR}={chosen!r} is not a memory size like '256MB' or '1GB'")
    return chosen


def shared_data_dir() -> Path:
    """The labelled public data beside the repository (../shared/data), or $OPINION_SHARED_DATA."""
    return Path(os.environ.get("OPINION_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def inbox_dir(db_path: Path) -> Path:
    """Where ingests queue batches while another process owns the database file."""
    return db_path.parent / "inbox"


def canonical_channel(name: str | None) -> str | None:
    """Map an export's channel name onto the seeds' vocabulary; keep unknown names as given."""
    if name is None:
        return None
    cleaned = str(name).strip()
    if not cleaned:
        return None
    return CHANNEL_ALIASES.get(cleaned.lower(), CHANNEL_ALIASES.get(cleaned, cleaned))


def channel_of_site(site: str | None, url: str | None = None) -> str | None:
    """The channel a site name or an address names (weibo.com → 微博, 网易新闻 → 新闻, 本地论坛 → 论坛), or None."""
    name = str(site).strip() if site is not None else ""
    if name:
        if name in SITE_CHANNELS:
            return SITE_CHANNELS[name]
        known = canonical_channel(name)
        if known in CHANNELS:
            return known
    for address in (name, str(url or "").strip()):
        host = _host(address)
        while host:
            if host in DOMAIN_CHANNELS:
                return DOMAIN_CHANNELS[host]
            host = host.partition(".")[2] if host.count(".") > 1 else ""
    lowered = name.lower()
    return next((channel for suffix, channel in SITE_SUFFIX_CHANNELS if lowered.endswith(suffix)), None)


def _host(address: str) -> str:
    """'https://m.weibo.com/123' or 'weibo.com' → 'm.weibo.com' / 'weibo.com'; '' when it is no address."""
    text = address.lower()
    if "://" in text:
        text = text.split("://", 1)[1]
    host = text.split("/", 1)[0].split("?", 1)[0].split(":", 1)[0]
    return host.removeprefix("www.") if re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", host) else ""
