"""Settings declared once: vocabularies, limits and where the database lives."""

from __future__ import annotations

import os
import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB_PATH = REPO_ROOT / "data" / "opinion.duckdb"
DB_ENV_VAR = "OPINION_DB"
TIMEZONE = "Asia/Shanghai"

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

TOPICS: tuple[str, ...] = (
    "安全生产", "食品药品", "教育", "医疗卫生", "拆迁征收", "环境污染", "交通出行", "物业小区",
    "欠薪维权", "防汛救灾", "营商环境", "社会治安",
)
UNCLASSIFIED_TOPIC = "未分类"

# Sites whose involvement marks mainstream/official media attention (a grading signal); configurable later.
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
