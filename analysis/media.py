"""媒体报道情况: who published — media and account tiers from an editable directory, 媒体活跃度 and 意见领袖.

A post's tier comes from, in order: the directory entry for its author (an account: 人民日报's Weibo,
金城发布); the directory entry for its site when the post is the site's own report (not a comment, not a
跟帖 — a netizen under 人民网 is not 人民网 reporting — and not on a social platform, where accounts
publish); the overseas-media channel; an official account name (…发布, 公安…, 政府…); a commercial platform
for an unknown news site; else 自媒体. The directory is the `media_directory` setting, so an office re-tiers
its history by editing it. Accounts are publishers of posts: only their ids as stored (given or hashed at
import) are used, nothing about the person.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from analysis import cascades
from analysis.filters import Filters
from analysis.store import Store

CENTRAL, PROVINCIAL, LOCAL, GOVERNMENT, COMMERCIAL, SELF, OVERSEAS = TIERS = (
    "中央媒体", "省级媒体", "市县媒体", "政务号", "商业平台", "自媒体", "境外媒体")
MAINSTREAM_TIERS = (CENTRAL, PROVINCIAL, LOCAL)
PUBLISHER_CHANNELS = frozenset({"新闻", "门户网站", "传统媒体"})   # the site itself reports (chronology.MEDIA_CHANNELS)
OVERSEAS_CHANNEL = "境外媒体"
COMMENT_CHANNELS = frozenset({"新闻跟帖"})      # netizens under a site's report: not the site reporting
SOCIAL_CHANNELS = frozenset({"微博", "微信公众号", "抖音", "快手", "贴吧", "论坛", "博客"})  # accounts, not sites
OFFICIAL_NAME_WORDS = ("发布", "公安", "警方", "政府", "网信", "融媒", "应急管理", "市场监管", "卫健委", "教育局",
                       "共青团", "检察", "法院", "政务")
DEFAULT_DIRECTORY: tuple[tuple[str, str], ...] = (
    *((name, CENTRAL) for name in (
        "人民网", "人民日报", "新华网", "新华社", "央视新闻", "央视网", "中国新闻网", "中新网", "光明网", "光明日报",
        "中国日报", "经济日报", "中国青年报", "中青网", "环球网", "环球时报", "求是网", "中国网", "法治日报",
        "工人日报", "央广网", "中国之声", "国际在线", "科技日报")),
    *((name, PROVINCIAL) for name in (
        "澎湃新闻", "新京报", "南方都市报", "南方日报", "北京日报", "甘肃日报", "每日甘肃网", "中国甘肃网",
        "甘肃广播电视台", "封面新闻", "红星新闻", "极目新闻", "大河报", "齐鲁晚报", "华西都市报", "扬子晚报",
        "潮新闻", "上游新闻", "九派新闻", "紫牛新闻", "北青网", "新民晚报")),
    *((name, LOCAL) for name in ("金城日报", "金城晚报", "金城广播电视台", "兰州日报", "兰州晚报", "兰州广播电视台")),
    *((name, GOVERNMENT) for name in ("金城发布", "平安金城", "省网信办", "省政府办公厅", "国家信访局", "市信访局")),
    *((name, COMMERCIAL) for name in (
        "网易新闻", "腾讯新闻", "新浪新闻", "搜狐新闻", "今日头条", "凤凰网", "财新网", "界面新闻", "第一财经",
        "21世纪经济报道", "百度新闻", "一点资讯")),
    *((name, OVERSEAS) for name in ("联合早报", "BBC中文", "BBC中文网", "德国之声中文", "德国之声", "美国之音",
                                    "法广", "纽约时报中文网", "端传媒", "自由亚洲电台")),
)


def default_directory() -> list[dict[str, str]]:
    return [{"name": name, "tier": tier} for name, tier in DEFAULT_DIRECTORY]


def directory_map(entries: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """name -> tier from the setting's rows."""
    return {entry["name"]: entry["tier"] for entry in entries}


def assign_tiers(posts: pd.DataFrame, directory: Mapping[str, str]) -> pd.Series:
    """The tier of each post (columns author_id, site, channel), by the rules in the module docstring."""
    author = posts["author_id"].astype(object).where(posts["author_id"].notna(), "")
    site = posts["site"].astype(object).where(posts["site"].notna(), "")
    channel = posts["channel"].astype(object)
    by_author = author.map(directory)
    comment = posts["post_type"].eq("comment") if "post_type" in posts.columns else False
    by_site = site.map(directory).where(~channel.isin(COMMENT_CHANNELS | SOCIAL_CHANNELS) & ~comment)
    official = author.astype(str).str.contains("|".join(OFFICIAL_NAME_WORDS), regex=True)
    tier = by_author.fillna(by_site)
    tier = tier.fillna(pd.Series(np.where(channel.eq(OVERSEAS_CHANNEL), OVERSEAS, None), index=posts.index))
    tier = tier.fillna(pd.Series(np.where(official, GOVERNMENT, None), index=posts.index))
    publisher = channel.isin(PUBLISHER_CHANNELS)
    tier = tier.fillna(pd.Series(np.where(publisher, COMMERCIAL, SELF), index=posts.index))
    return tier.astype(str).rename("tier")


def publisher(posts: pd.DataFrame) -> pd.Series:
    """Who is ranked: the site for a site's own report (a byline such as 记者 张明 is not the outlet), else the
    account, else the site or channel."""
    author = posts["author_id"].astype(object)
    outlet = posts["channel"].isin(PUBLISHER_CHANNELS | {OVERSEAS_CHANNEL}) & posts["site"].notna()
    account = author.where(author.notna() & author.ne(""), None)
    return posts["site"].where(outlet, account).fillna(posts["site"]).fillna(posts["channel"]).astype(str)


_COLUMNS = ("post_id, parent_id, root_id, created_at, channel, site, author_id, post_type, "
            "repost_count + comment_count + like_count AS interactions")


def with_tiers(posts: pd.DataFrame, directory: Mapping[str, str]) -> pd.DataFrame:
    """Posts (an incident's, or `tiered_posts`') with their tier, publisher and interactions."""
    if "interactions" not in posts.columns:
        posts = posts.assign(interactions=posts["repost_count"] + posts["comment_count"] + posts["like_count"])
    return posts.assign(tier=assign_tiers(posts, directory), publisher=publisher(posts))


def tiered_posts(store: Store, f: Filters, directory: Mapping[str, str]) -> pd.DataFrame:
    """The filtered posts' publishing fields with their tier and what is known of their accounts."""
    where, params = f.where()
    posts = store.query(f"SELECT {_COLUMNS} FROM posts WHERE {where} ORDER BY created_at, post_id", params)
    return tiered(store, posts, directory)


def tiered(store: Store, posts: pd.DataFrame, directory: Mapping[str, str]) -> pd.DataFrame:
    """Given posts (an incident's) with tiers and account data: what 媒体报道与意见领袖 shows."""
    return with_accounts(store, with_tiers(posts, directory))


def with_accounts(store: Store, posts: pd.DataFrame) -> pd.DataFrame:
    """Posts with their account's verification level and followers (the accounts table: imported creator files
    and account columns of exports); NULL where nothing is known."""
    ids = posts["author_id"].dropna().astype(str).unique().tolist()
    known = store.query("SELECT author_id, verified, followers FROM accounts WHERE list_contains(?, author_id)",
                        [ids]) if ids else pd.DataFrame(columns=["author_id", "verified", "followers"])
    known = known.set_index("author_id")
    author = posts["author_id"].astype(object)
    return posts.assign(verified=author.map(known["verified"]),
                        followers=author.map(known["followers"]).astype("Int64"))


def media_activity(posts: pd.DataFrame) -> pd.DataFrame:
    """媒体活跃度: every publisher that is not 自媒体 (media, 政务号, platforms, overseas), tier order then posts.

    posts = its originals and reposts (comments are replies, not coverage); first_at = its first post."""
    own = posts[posts["tier"].ne(SELF) & posts["post_type"].ne("comment")]
    if own.empty:
        return pd.DataFrame(columns=["tier", "publisher", "posts", "interactions", "first_at", "first_post_id"])
    table = (own.sort_values(["created_at", "post_id"]).groupby(["tier", "publisher"], as_index=False)
             .agg(posts=("post_id", "size"), interactions=("interactions", "sum"), first_at=("created_at", "first"),
                  first_post_id=("post_id", "first")))
    table["order"] = table["tier"].map({t: i for i, t in enumerate(TIERS)})
    return (table.sort_values(["order", "posts", "publisher"], ascending=[True, False, True])
            .drop(columns="order").reset_index(drop=True))


def tier_summary(posts: pd.DataFrame) -> pd.DataFrame:
    """Posts and publishers per tier, in tier order (every tier listed)."""
    grouped = posts.groupby("tier").agg(posts=("post_id", "size"), publishers=("publisher", "nunique"))
    return grouped.reindex(list(TIERS), fill_value=0).rename_axis("tier").reset_index()


def tree_roots(posts: pd.DataFrame) -> pd.Series:
    """Each post's tree: the furthest ancestor among `posts` by parent links (an export without root ids stores a
    repost's parent as its root, so root_id alone splits one tree into many), else the given root or itself."""
    ids = posts["post_id"].astype(str)
    parents = posts["parent_id"].astype(object)
    parent_of = pd.Series(parents.where(parents.isin(set(ids))).to_numpy(), index=ids.to_numpy())
    parent_of = parent_of[~parent_of.index.duplicated()].dropna()
    top = ids.to_numpy(copy=True)
    for _ in range(64):   # pointer walking; 64 levels is deeper than any real repost tree (and stops cycles)
        up = parent_of.reindex(top).to_numpy()
        moved = pd.notna(up) & (up != top)
        if not moved.any():
            break
        top = np.where(moved, up, top)
    given = posts["root_id"].astype(object).where(posts["root_id"].notna(), ids)
    return pd.Series(np.where(top != ids.to_numpy(), top, given.to_numpy()), index=posts.index)


LEADER_RANKINGS = {"reach": ("interactions", "downstream"), "followers": ("followers", "interactions"),
                   "tree": ("downstream", "bridges", "interactions")}
LEADER_COLUMNS = ["publisher", "tier", "verified", "followers", "posts", "interactions", "downstream", "bridges",
                  "cascades"]


def opinion_leaders(posts: pd.DataFrame, by: str = "reach", limit: int = 20) -> pd.DataFrame:
    """意见领袖: publishers ranked by reach (interactions on their posts), by followers (imported account data;
    unknown last) or by their place in the repost trees.

    downstream = reposts and comments under their posts (subtree sizes, cascades.cascade_nodes over the
    filtered posts); bridges = their posts that are themselves reposts yet carry others (key forwarders)."""
    accounts = posts if "followers" in posts.columns else posts.assign(verified=None, followers=pd.NA)
    if accounts.empty:
        return pd.DataFrame(columns=LEADER_COLUMNS)
    outlet = accounts["publisher"].ne(accounts["author_id"].astype(str))   # a site's report: not its byline's account
    accounts = accounts.assign(verified=accounts["verified"].mask(outlet), followers=accounts["followers"].mask(outlet))
    frame = posts.assign(cascade_id=tree_roots(posts), mid=posts["post_id"], parent_mid=posts["parent_id"])
    nodes = cascades.cascade_nodes(frame[["cascade_id", "mid", "parent_mid", "created_at", "post_id"]])
    under = nodes.set_index("mid")["subtree_size"] - 1
    accounts = accounts.assign(downstream=accounts["post_id"].map(under).fillna(0).astype(int))
    accounts = accounts.assign(bridge=accounts["parent_id"].notna() & accounts["downstream"].gt(0),
                               cascade_id=frame["cascade_id"])
    table = accounts.groupby("publisher", as_index=False).agg(
        tier=("tier", "first"), verified=("verified", "first"), followers=("followers", "max"),
        posts=("post_id", "size"), interactions=("interactions", "sum"),
        downstream=("downstream", "sum"), bridges=("bridge", "sum"),
        cascades=("cascade_id", lambda c: int(c[accounts.loc[c.index, "downstream"].gt(0)].nunique())))
    keys = list(LEADER_RANKINGS[by])
    table["followers"] = table["followers"].astype("Int64")
    ranked = table.sort_values([*keys, "publisher"], ascending=[*([False] * len(keys)), True], na_position="last")
    return ranked.head(limit).reset_index(drop=True)[LEADER_COLUMNS]


def firsts(posts: pd.DataFrame) -> dict[str, pd.Series]:
    """The first post of each mainstream and overseas tier (for 事件脉络's 首家央媒报道 and grading)."""
    reports = posts[posts["post_type"].ne("comment")].sort_values(["created_at", "post_id"], kind="stable")
    out = {}
    for tier in (*MAINSTREAM_TIERS, GOVERNMENT, OVERSEAS):
        found = reports[reports["tier"].eq(tier)]
        if len(found):
            out[tier] = found.iloc[0]
    return out


FIRST_LABELS = {CENTRAL: "首家央媒报道", PROVINCIAL: "首家省级媒体报道", LOCAL: "首家市县媒体报道",
                GOVERNMENT: "首条政务号发布", OVERSEAS: "首家境外媒体报道"}


def mainstream_coverage(posts: pd.DataFrame, directory: Mapping[str, str], sites: Sequence[str]) -> tuple[str, ...]:
    """'中央媒体：人民网（首家，11-20 14:30）、新华网' per tier, for the reports (not comments) of the mainstream
    `sites` (settings.mainstream_sites, which decides the grading signal): the grading reason's wording."""
    if posts.empty:
        return ()
    tiered = with_tiers(posts, directory) if "tier" not in posts.columns else posts
    chosen = tiered["site"].isin(list(sites)) | tiered["publisher"].isin(list(sites))
    reports = tiered[chosen & tiered["post_type"].ne("comment")].sort_values(["created_at", "post_id"], kind="stable")
    out = []
    for tier in TIERS:
        names = reports.loc[reports["tier"].eq(tier), ["publisher", "created_at"]].drop_duplicates("publisher")
        if len(names):
            first = names.iloc[0]
            at = pd.Timestamp(first["created_at"]).tz_convert("Asia/Shanghai")
            out.append(f"{tier}：{first['publisher']}（首家，{at:%m-%d %H:%M}）"
                       + "".join(f"、{n}" for n in names["publisher"].iloc[1:5]))
    return tuple(out)


AUTHOR_ORDERS = ("followers", "posts", "interactions", "last_post_at")


def authors(store: Store, order: str = "followers", limit: int = 50) -> pd.DataFrame:
    """The `authors` view (every author of posts, with its imported verification and followers), biggest first."""
    if order not in AUTHOR_ORDERS:
        raise ValueError(f"order must be one of {', '.join(AUTHOR_ORDERS)}")
    found = store.query(f"SELECT * FROM authors ORDER BY {order} DESC NULLS LAST, author_id LIMIT ?", [limit])
    return found.astype({"posts": "int64", "interactions": "Int64", "followers": "Int64", "follows": "Int64"})


def cli_authors(argv: list[str]) -> int:
    """authors [--by followers|posts|interactions|last_post_at] [--limit N] [--json]: who publishes the posts."""
    import argparse

    from analysis import cli, config
    from analysis.store import open_store

    parser = argparse.ArgumentParser(prog="python -m analysis authors",
                                     description="Authors of posts with their imported verification and followers.")
    parser.add_argument("--db", help=f"database file (default ${config.DB_ENV_VAR} or data/opinion.duckdb)")
    parser.add_argument("--by", choices=AUTHOR_ORDERS, default="followers")
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--json", action="store_true", help="one JSON object per author and line")
    args = parser.parse_args(argv)
    with open_store(config.resolve_db_path(args.db)) as store:
        found = authors(store, args.by, args.limit)
    if args.json:
        for record in found.to_dict(orient="records"):
            cli.print_json(record)
        return 0
    for row in found.itertuples():
        followers = "?" if pd.isna(row.followers) else f"{int(row.followers):,}"
        verified = row.verified if isinstance(row.verified, str) else "-"
        print(f"{row.author_id}\t{row.channels}\t{verified}\t粉丝 {followers}\t帖子 {row.posts}"
              f"\t互动 {int(row.interactions):,}")
    return 0
