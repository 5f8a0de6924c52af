"""Drill-down reads for analysts: the posts behind a number, a topic's keywords, a post's repost tree."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from analysis import cascades, metrics, near_dupes, text, topics
from analysis.filters import Filters
from analysis.store import Store

POST_COLUMNS = ("post_id", "created_at", "channel", "site", "author_id", "title", "text", "sentiment_label",
                "sentiment_score", "post_type", "repost_count", "comment_count", "like_count", "read_count", "url",
                "topic", "region", "parent_id", "root_id", "dup_cluster")
# Every order ends on the post id, so a limited list is the same posts on every store and every run (ties in
# interactions or scores are common: without it, rollup and database answered different top-20s).
ORDERS = {"time": "created_at DESC, post_id", "interaction": "repost_count + comment_count + like_count DESC, "
          "created_at DESC, post_id", "negative": "sentiment_score ASC, created_at DESC, post_id"}
MAX_POSTS = 2000


def _like_pattern(keyword: str) -> str:
    escaped = text.normalize(keyword).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def posts(store: Store, f: Filters, *, keyword: str | None = None, cell: tuple[str, str, str] | None = None,
          sentiment: str | None = None, order: str = "interaction", limit: int = 500) -> pd.DataFrame:
    """The posts behind a view: filters, optionally a keyword, a heatmap cell (kind, row, col), a label."""
    where, params = f.where()
    clauses = [where]
    if keyword and keyword.strip():
        clauses.append("(text_norm LIKE ? ESCAPE '\\' OR coalesce(title, '') LIKE ? ESCAPE '\\')")
        params += [_like_pattern(keyword.strip())] * 2
    if cell is not None:
        cell_sql, cell_params = metrics.heatmap_cell_condition(*cell)
        clauses.append(cell_sql)
        params += cell_params
    if sentiment:
        clauses.append("sentiment_label = ?")
        params.append(sentiment)
    return near_dupes.annotate(store, store.query(
        f"SELECT {', '.join(POST_COLUMNS)} FROM posts WHERE {' AND '.join(clauses)} "
        f"ORDER BY {ORDERS[order]} LIMIT ?",
        [*params, min(int(limit), MAX_POSTS)],
    ))


def top_keywords(store: Store, f: Filters, k: int = 20, stop_words: Sequence[str] = ()) -> pd.DataFrame:
    """Most frequent extracted keywords in the filtered posts, with their negative share; `stop_words` (the
    setting keyword_stop_words, on the page), the database's region names and what they contain (新区 of 兰州新区)
    left out."""
    where, params = f.where()
    stop = [*stop_words, *topics.NOT_WORDS]
    return store.query(
        f"""WITH regions AS (SELECT DISTINCT region FROM posts WHERE region IS NOT NULL)
            SELECT keyword, count(*) AS posts,
                   avg(CASE WHEN sentiment_label = '负面' THEN 1.0 ELSE 0.0 END) AS negative_ratio
            FROM (SELECT unnest(keywords) AS keyword, sentiment_label FROM posts WHERE {where})
            WHERE NOT list_contains(?, keyword) AND NOT EXISTS (SELECT 1 FROM regions WHERE contains(region, keyword))
            GROUP BY keyword ORDER BY posts DESC, keyword LIMIT ?""",
        [*params, stop, int(k)],
    )


def sentiment_split(store: Store, f: Filters) -> pd.DataFrame:
    where, params = f.where()
    return store.query(
        f"SELECT sentiment_label AS label, count(*) AS posts FROM posts WHERE {where} GROUP BY 1 ORDER BY 2 DESC",
        params,
    )


def cascade_root(store: Store, post_id: str) -> str | None:
    """Walk parent links up to the original: the farthest ancestor present in the data.

    One primary-key lookup per step (a recursive CTE joins every post at every step: 1.1 s at 10 M posts),
    bounded and stopping at a cycle, so bad data cannot hang a page.
    """
    path: list[str] = []
    current = post_id
    while len(path) < 100:
        found = store.query("SELECT parent_id FROM posts WHERE post_id = ?", [current])
        if found.empty:  # the post itself is unknown, or its parent was never collected
            break
        path.append(current)
        parent = found["parent_id"].iloc[0]
        if pd.isna(parent) or parent in path:
            break
        current = parent
    return path[-1] if path else None


def cascade_tree(store: Store, post_id: str) -> pd.DataFrame:
    """Every repost/comment under the original of `post_id`, as nodes with depth and subtree size."""
    root = cascade_root(store, post_id)
    if root is None:
        return pd.DataFrame()
    # Replies come after what they reply to: each step of the walk reads only posts from a day before the
    # root on (a day's slack for clocks that disagree), so zone maps skip older row groups. Unbounded, every
    # step scanned all parent ids: 290 ms at 10 M posts.
    since = store.scalar("SELECT created_at - INTERVAL 1 DAY FROM posts WHERE post_id = ?", [root])
    nodes = store.query(
        """WITH RECURSIVE down(post_id, parent_id, created_at, depth) AS (
               SELECT post_id, parent_id, created_at, 0 FROM posts WHERE post_id = ?
               UNION ALL
               SELECT p.post_id, p.parent_id, p.created_at, d.depth + 1
               FROM posts p JOIN down d ON p.parent_id = d.post_id WHERE d.depth < 100 AND p.created_at >= ?)
           SELECT DISTINCT d.post_id, d.parent_id, d.created_at, p.author_id, p.channel, p.text
           FROM down d JOIN posts p USING (post_id) WHERE p.created_at >= ?""",
        [root, since, since],
    )
    frame = pd.DataFrame({"cascade_id": root, "mid": nodes["post_id"], "created_at": nodes["created_at"],
                          "parent_mid": nodes["parent_id"].where(nodes["post_id"] != root)})
    tree = cascades.tree_levels(frame)
    return tree.merge(nodes[["post_id", "author_id", "channel", "text"]], left_on="mid", right_on="post_id")


def cascade_summary(tree: pd.DataFrame) -> dict:
    """Size, depth, breadth, virality and key nodes of one tree from `cascade_tree`."""
    frame = tree[["cascade_id", "mid", "parent_mid", "created_at"]]
    return cascades.cascade_stats(frame).iloc[0].to_dict()
