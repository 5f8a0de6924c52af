"""事件脉络: the milestones of an incident computed from its posts, each linked to the post that marks it.

首发 (the first post, with its site), the first mainstream and the first overseas media report, the peak hour,
the first official response, the hour the negative share turned (its peak, once it has fallen back), and the
first post on each further channel (the spread). Pure: built from incidents.incident_posts, so the page and the
专报 show the same rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from analysis import config
from analysis import media as tiers

TZ = config.TIMEZONE
MEDIA_CHANNELS = frozenset({"新闻", "门户网站", "传统媒体"})
OVERSEAS_CHANNEL = "境外媒体"
# Words of an official statement (警情通报, 情况说明, 官方回应 …) and of official accounts' names.
OFFICIAL_WORDS = ("通报", "情况说明", "官方回应", "官方发布", "新闻发布会", "答记者问", "调查结果")
OFFICIAL_AUTHORS = ("发布", "官方", "政府", "公安", "警方", "应急管理", "市场监管", "卫健委", "教育局", "融媒")
TURN_MIN_POSTS = 5        # an hour with fewer posts says nothing about the mood
TURN_MIN_DROP = 0.10      # the negative share must fall this far below its peak for the peak to be a turn
COLUMNS = ["milestone", "at", "channel", "site", "post_id", "url", "excerpt", "detail"]


def _excerpt(post: pd.Series, limit: int = 60) -> str:
    title, body = (post.get(key) for key in ("title", "text"))  # a missing title is NaN in a frame, not None
    text = str(title) if isinstance(title, str) and title.strip() else str(body) if isinstance(body, str) else ""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def _where(post: pd.Series) -> str:
    return str(post["site"] or post["channel"])


def _row(milestone: str, post: pd.Series, detail: str = "") -> dict:
    return {"milestone": milestone, "at": post["created_at"], "channel": post["channel"], "site": post["site"],
            "post_id": post["post_id"], "url": post["url"], "excerpt": _excerpt(post), "detail": detail}


def _official(posts: pd.DataFrame) -> pd.Series:
    texts = (posts["title"].fillna("") + " " + posts["text_norm"].fillna("")).str
    authors = posts["author_id"].fillna("").str
    return texts.contains("|".join(OFFICIAL_WORDS)) | authors.contains("|".join(OFFICIAL_AUTHORS))


def chronology(posts: pd.DataFrame, mainstream_sites: Sequence[str],
              directory: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The milestones in time order (columns COLUMNS); empty for an incident without posts. With a media
    `directory` (settings.media_directory), also the first report of each tier: 首家央媒报道, 首家省级媒体报道, …"""
    if posts.empty:
        return pd.DataFrame(columns=COLUMNS)
    posts = posts.sort_values(["created_at", "post_id"], kind="stable").reset_index(drop=True)
    rows = [_row("首发", posts.iloc[0], f"首发于{_where(posts.iloc[0])}")]
    media = posts[posts["site"].isin(list(mainstream_sites)) | posts["channel"].isin(MEDIA_CHANNELS)]
    if len(media):
        rows.append(_row("主流媒体首次报道", media.iloc[0], _where(media.iloc[0])))
    overseas = posts[posts["channel"].eq(OVERSEAS_CHANNEL)]
    if len(overseas):
        rows.append(_row("境外媒体首次报道", overseas.iloc[0], _where(overseas.iloc[0])))
    if directory is not None:
        tiered = tiers.with_tiers(posts, directory)
        for tier, first in tiers.firsts(tiered).items():
            rows.append(_row(tiers.FIRST_LABELS[tier], first, f"{first['publisher']}（{tier}）"))
    hours = posts["created_at"].dt.tz_convert(TZ).dt.floor("h")
    per_hour = hours.value_counts().sort_index()
    peak = per_hour.idxmax()
    rows.append(_row("传播峰值", posts[hours == peak].iloc[0],
                     f"{peak:%m-%d %H:00}–{peak + pd.Timedelta(hours=1):%H:00} 共{int(per_hour.max())}条"))
    official = posts[_official(posts)]
    if len(official):
        rows.append(_row("首次官方回应", official.iloc[0], _where(official.iloc[0])))
    turn = _negative_turn(posts, hours)
    if turn is not None:
        rows.append(turn)
    for _, first in posts.drop_duplicates("channel").iloc[1:].iterrows():  # each further channel's first post
        rows.append(_row("扩散至新渠道", first, f"首次出现在{first['channel']}"))
    return pd.DataFrame(rows, columns=COLUMNS).sort_values("at", kind="stable").reset_index(drop=True)


def _negative_turn(posts: pd.DataFrame, hours: pd.Series) -> dict | None:
    """The hour the negative share peaked before falling back by TURN_MIN_DROP (hours with enough posts)."""
    negative = posts["sentiment_label"].eq("负面")
    stats = pd.DataFrame({"hour": hours, "negative": negative}).groupby("hour")["negative"].agg(["mean", "size"])
    stats = stats[stats["size"] >= TURN_MIN_POSTS]
    if len(stats) < 2:
        return None
    peak = stats["mean"].idxmax()
    after = stats.loc[stats.index > peak, "mean"]
    if after.empty or after.min() > stats.loc[peak, "mean"] - TURN_MIN_DROP:
        return None
    first_after = after[after <= stats.loc[peak, "mean"] - TURN_MIN_DROP].index[0]
    return _row("负面情绪拐点", posts[hours == first_after].iloc[0],
                f"负面占比由{peak:%m-%d %H时}的{stats.loc[peak, 'mean']:.0%}回落至{first_after:%m-%d %H时}的"
                f"{stats.loc[first_after, 'mean']:.0%}")
