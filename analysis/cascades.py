"""Repost cascades: build trees from parent ids or `//@` chains and measure their shape and speed."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REQUIRED_COLUMNS = ("cascade_id", "mid", "parent_mid", "created_at")
KEY_NODE_COUNT = 5
STATS_COLUMNS = [
    "cascade_id", "size", "depth", "max_breadth", "structural_virality", "orphans",
    "t50_minutes", "t90_minutes", "key_nodes",
]

# `//@name:` (half- or full-width colon). Weibo nicknames contain no '/', ':' or whitespace.
CHAIN_PATTERN = r"//@([^\s/:：@]+)\s*[:：]"


def _check_columns(df: pd.DataFrame, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"缺少必需的列：{', '.join(missing)}")


def _to_time(values: pd.Series) -> pd.Series:
    """Parse timestamps; naive ones are taken as Asia/Shanghai."""
    t = pd.to_datetime(values, errors="coerce", utc=False, format="mixed")
    if t.dt.tz is None:
        return t.dt.tz_localize("Asia/Shanghai")
    return t.dt.tz_convert("Asia/Shanghai")


def _is_missing_id(values: pd.Series) -> np.ndarray:
    s = values.astype("string")
    return (s.isna() | (s.str.strip() == "")).to_numpy(dtype=bool)


def cascade_nodes(df: pd.DataFrame) -> pd.DataFrame:
    """Resolve every post of every cascade into a tree node.

    Input columns: ``cascade_id, mid, parent_mid, created_at`` (extra columns are kept).
    Rules, applied per cascade:

    - the root is the post with an empty ``parent_mid`` (the earliest one if several; if none, the
      earliest post); other posts with an empty parent attach to the root;
    - a ``parent_mid`` not present in the cascade (or pointing at the post itself, or part of a cycle)
      attaches to the root and the post is flagged ``is_orphan``;
    - a ``mid`` repeated within a cascade keeps its first row.

    Returns one row per node with the input columns plus ``parent`` (resolved parent mid, ``None`` for
    the root), ``depth`` (root = 0), ``subtree_size`` (the node included), ``is_root``, ``is_orphan``,
    ``minutes`` (minutes since the root was posted). Sorted by cascade, depth, time. Iterative and
    vectorised: depth by pointer jumping (O(n log depth)), subtree sizes by one pass in depth order.
    """
    _check_columns(df, REQUIRED_COLUMNS)
    nodes = df.copy()
    nodes["cascade_id"] = nodes["cascade_id"].astype(str)
    nodes["mid"] = nodes["mid"].astype(str)
    nodes = nodes.drop_duplicates(["cascade_id", "mid"], keep="first")
    nodes["created_at"] = _to_time(nodes["created_at"])
    no_parent = _is_missing_id(nodes["parent_mid"])
    nodes["_no_parent"] = no_parent
    # Deterministic order: cascade, empty-parent first, time, mid -> first row of a cascade is its root.
    nodes = nodes.sort_values(
        ["cascade_id", "_no_parent", "created_at", "mid"], ascending=[True, False, True, True],
        na_position="last", kind="stable",
    ).reset_index(drop=True)
    n = len(nodes)
    if n == 0:
        out = nodes.drop(columns="_no_parent")
        for col in ("parent", "depth", "subtree_size", "is_root", "is_orphan", "minutes"):
            out[col] = pd.Series(dtype=object)
        return out

    cascade_codes, _ = pd.factorize(nodes["cascade_id"], sort=False)
    first = np.r_[True, cascade_codes[1:] != cascade_codes[:-1]]
    root_pos = np.flatnonzero(first)
    root_of = root_pos[cascade_codes]  # row index of each node's root
    no_parent = nodes["_no_parent"].to_numpy(dtype=bool)

    # Look up the parent row within the same cascade.
    index = pd.MultiIndex.from_arrays([nodes["cascade_id"], nodes["mid"]])
    parent_keys = pd.MultiIndex.from_arrays([nodes["cascade_id"], nodes["parent_mid"].astype("string")])
    parent = index.get_indexer(parent_keys)
    idx = np.arange(n)
    is_root = first
    orphan = ~no_parent & ((parent < 0) | (parent == idx))
    parent = np.where(no_parent | (parent < 0) | (parent == idx), root_of, parent)
    parent[is_root] = idx[is_root]

    depth, anc = _pointer_jump_depth(parent, is_root)
    cyclic = ~is_root[anc]
    if cyclic.any():  # parent pointers that never reach the root: break the cycle at each member
        parent[cyclic] = root_of[cyclic]
        orphan |= cyclic
        depth, anc = _pointer_jump_depth(parent, is_root)

    subtree = _subtree_sizes(parent, depth, is_root)
    utc = nodes["created_at"].dt.tz_convert(None).to_numpy()  # datetime64, not an object array
    minutes = (utc - utc[root_of]) / np.timedelta64(1, "m")

    mids = nodes["mid"].to_numpy(dtype=object)
    out = nodes.drop(columns="_no_parent")
    out["parent"] = np.where(is_root, None, mids[parent])
    out["depth"] = depth
    out["subtree_size"] = subtree
    out["is_root"] = is_root
    out["is_orphan"] = orphan
    out["minutes"] = minutes
    return out.sort_values(["cascade_id", "depth", "created_at", "mid"], kind="stable").reset_index(drop=True)


def _pointer_jump_depth(parent: np.ndarray, is_root: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Depth of every node by pointer jumping; also returns the final ancestor (a root unless cyclic)."""
    anc = parent.copy()
    dist = (~is_root).astype(np.int64)
    for _ in range(max(1, int(math.ceil(math.log2(len(parent) + 1)))) + 1):
        if is_root[anc].all():
            break
        dist = dist + dist[anc]
        anc = anc[anc]
    return dist, anc


def _subtree_sizes(parent: np.ndarray, depth: np.ndarray, is_root: np.ndarray) -> np.ndarray:
    """Subtree size (node included): add each node into its parent, deepest nodes first."""
    order = np.argsort(-depth, kind="stable")
    order = order[~is_root[order]]
    size = np.ones(len(parent), dtype=np.int64)
    levels = int(depth.max()) if len(depth) else 0
    if levels * 50 < len(parent):
        # Few levels (wide trees): one vectorised scatter-add per level.
        d_sorted = depth[order]
        bounds = np.flatnonzero(np.r_[True, d_sorted[1:] != d_sorted[:-1], True])
        for a, b in zip(bounds[:-1], bounds[1:], strict=False):
            level = order[a:b]
            np.add.at(size, parent[level], size[level])
        return size
    # Deep trees (long chains): a plain loop over Python ints is O(n) and fastest.
    size_list = size.tolist()
    parent_list = parent.tolist()
    for i in order.tolist():
        size_list[parent_list[i]] += size_list[i]
    return np.asarray(size_list, dtype=np.int64)


def cascade_stats(df: pd.DataFrame, key_nodes: int = KEY_NODE_COUNT) -> pd.DataFrame:
    """One row per cascade: shape and speed of the repost tree.

    Columns: ``cascade_id, size, depth`` (root alone = 0), ``max_breadth`` (most nodes on one level,
    the root level included), ``structural_virality`` (Goel et al. 2016: mean shortest-path distance
    over all unordered pairs of nodes; 0 for a lone root), ``orphans`` (posts whose parent is not in
    the cascade, attached to the root), ``t50_minutes`` / ``t90_minutes`` (minutes from the root until
    50 % / 90 % of the cascade's posts had appeared, root included; negative offsets clipped to 0),
    ``key_nodes`` (list of ``{"mid", "size"}`` for the ``key_nodes`` largest subtrees, root excluded,
    ties broken by earlier post).

    Virality in O(n): in a tree every path between two nodes crosses the edges between them, so the
    Wiener index (sum of all pairwise distances) is the sum over edges of the number of pairs the edge
    separates, ``W = Σ_{v ≠ root} s_v·(n − s_v)`` with ``s_v`` the subtree size of v. The mean over the
    ``n(n−1)/2`` pairs is ``2·W / (n(n−1))``.
    """
    nodes = cascade_nodes(df)
    if nodes.empty:
        return pd.DataFrame(columns=STATS_COLUMNS)
    return stats_from_nodes(nodes, key_nodes=key_nodes)


def stats_from_nodes(nodes: pd.DataFrame, key_nodes: int = KEY_NODE_COUNT) -> pd.DataFrame:
    """`cascade_stats` from the output of `cascade_nodes` (avoids rebuilding the trees)."""
    g = nodes.groupby("cascade_id", sort=True)
    size = g.size()
    n = size.reindex(nodes["cascade_id"]).to_numpy(dtype=np.float64)
    s = nodes["subtree_size"].to_numpy(dtype=np.float64)
    pair_terms = np.where(nodes["is_root"].to_numpy(), 0.0, s * (n - s))
    wiener = pd.Series(pair_terms, index=nodes.index).groupby(nodes["cascade_id"]).sum()
    nn = size.astype(np.float64)
    virality = (2.0 * wiener / (nn * (nn - 1.0))).where(nn > 1, 0.0)
    breadth = nodes.groupby(["cascade_id", "depth"]).size().groupby(level=0).max()

    minutes = nodes[["cascade_id", "minutes"]].copy()
    minutes["minutes"] = minutes["minutes"].clip(lower=0.0)
    t50 = _time_to_share(minutes, 0.5)
    t90 = _time_to_share(minutes, 0.9)

    ranked = nodes.loc[~nodes["is_root"], ["cascade_id", "mid", "subtree_size", "created_at"]]
    ranked = ranked.sort_values(
        ["cascade_id", "subtree_size", "created_at", "mid"], ascending=[True, False, True, True]
    )
    top = ranked.groupby("cascade_id", sort=False).head(key_nodes)
    key_lists = {
        cid: [{"mid": m, "size": int(sz)} for m, sz in zip(grp["mid"], grp["subtree_size"], strict=True)]
        for cid, grp in top.groupby("cascade_id", sort=False)
    }

    out = pd.DataFrame({
        "cascade_id": size.index.astype(str),
        "size": size.to_numpy(dtype=np.int64),
        "depth": g["depth"].max().to_numpy(dtype=np.int64),
        "max_breadth": breadth.reindex(size.index).to_numpy(dtype=np.int64),
        "structural_virality": virality.reindex(size.index).to_numpy(dtype=np.float64),
        "orphans": g["is_orphan"].sum().to_numpy(dtype=np.int64),
        "t50_minutes": t50.reindex(size.index).to_numpy(dtype=np.float64),
        "t90_minutes": t90.reindex(size.index).to_numpy(dtype=np.float64),
    })
    out["key_nodes"] = [key_lists.get(cid, []) for cid in out["cascade_id"]]
    return out


def _time_to_share(minutes: pd.DataFrame, share: float) -> pd.Series:
    """Minutes until at least ``share`` of a cascade's posts exist (k-th earliest, k = ceil(share·n))."""
    m = minutes.sort_values(["cascade_id", "minutes"], kind="stable")
    rank = m.groupby("cascade_id").cumcount() + 1
    n = m.groupby("cascade_id")["minutes"].transform("size")
    k = np.ceil(share * n - 1e-9).clip(lower=1)
    return m.loc[rank == k].set_index("cascade_id")["minutes"]


def tree_levels(df: pd.DataFrame, cascade_id: str | None = None) -> pd.DataFrame:
    """Nodes of one cascade for drawing (sunburst / tree): ``mid, parent, depth, subtree_size, ...``.

    ``parent`` is the resolved parent (root: ``""``, as Plotly's sunburst expects), ``depth`` the
    level, ``subtree_size`` the node's weight. With ``cascade_id=None`` the frame must hold exactly one
    cascade.
    """
    _check_columns(df, REQUIRED_COLUMNS)
    if cascade_id is None:
        ids = df["cascade_id"].astype(str).unique()
        if len(ids) != 1:
            raise ValueError("数据包含多个传播链，请指定 cascade_id")
        part = df
    else:
        part = df[df["cascade_id"].astype(str) == str(cascade_id)]
        if part.empty:
            raise ValueError(f"未找到传播链：{cascade_id}")
    nodes = cascade_nodes(part)
    nodes["parent"] = nodes["parent"].fillna("")
    front = ["cascade_id", "mid", "parent", "depth", "subtree_size", "is_root", "is_orphan", "created_at",
             "minutes"]
    return nodes[front + [c for c in nodes.columns if c not in front]]


def infer_parents(posts: pd.DataFrame, author_col: str = "author", text_col: str = "text") -> pd.DataFrame:
    """Infer repost parents from `//@name:` chains when parent ids are missing.

    Input: ``mid, author, text, created_at`` and optionally ``cascade_id`` (default: one cascade) and
    ``parent_mid`` (non-empty values are kept as given). In each cascade the earliest post is the root.
    For every other post, the first user named in its chain (``转发理由//@B: ...//@C: ...`` names B) is
    the account it reposted from; its parent is the most recent strictly earlier post by B in the same
    cascade, else the root. Returns the posts with ``parent_mid`` filled (root: empty) and
    ``parent_source`` in {'given', 'chain', 'root'}.
    """
    _check_columns(posts, ("mid", author_col, text_col, "created_at"))
    p = posts.copy()
    if "cascade_id" not in p.columns:
        p["cascade_id"] = "cascade"
    p["cascade_id"] = p["cascade_id"].astype(str)
    p["mid"] = p["mid"].astype(str)
    p["created_at"] = _to_time(p["created_at"])
    p["_row"] = np.arange(len(p))
    given = ~_is_missing_id(p["parent_mid"]) if "parent_mid" in p.columns else np.zeros(len(p), dtype=bool)

    p = p.sort_values(["cascade_id", "created_at", "mid"], kind="stable")
    root_mid = p.groupby("cascade_id")["mid"].transform("first")
    p["_root_mid"] = root_mid
    p["_named"] = p[text_col].astype("string").str.extract(CHAIN_PATTERN, expand=False)

    left = p.loc[p["_named"].notna(), ["_row", "cascade_id", "_named", "created_at"]]
    left = left.rename(columns={"_named": "_author"}).sort_values("created_at", kind="stable")
    right = p[["cascade_id", author_col, "created_at", "mid"]].rename(
        columns={author_col: "_author", "mid": "_found"}
    )
    right["_author"] = right["_author"].astype("string")
    right = right.dropna(subset=["_author"]).sort_values("created_at", kind="stable")
    left["_author"] = left["_author"].astype("string")
    found = pd.merge_asof(
        left, right, on="created_at", by=["cascade_id", "_author"], allow_exact_matches=False,
        direction="backward",
    ).set_index("_row")["_found"]

    p = p.sort_values("_row", kind="stable")
    chain_parent = found.reindex(p["_row"]).to_numpy(dtype=object)
    is_root = (p["mid"] == p["_root_mid"]).to_numpy()
    has_chain = pd.notna(chain_parent)
    parent = np.where(has_chain, chain_parent, p["_root_mid"].to_numpy(dtype=object))
    source = np.where(has_chain, "chain", "root")
    if "parent_mid" in p.columns:
        parent = np.where(given, p["parent_mid"].astype(object).to_numpy(), parent)
        source = np.where(given, "given", source)
    parent = np.where(is_root & ~given, "", parent)
    source = np.where(is_root & ~given, "root", source)
    out = p.drop(columns=["_row", "_root_mid", "_named"])
    out["parent_mid"] = parent
    out["parent_source"] = source
    return out


def read_cascades(path: str | Path) -> pd.DataFrame:
    """Read a cascade CSV / CSV.GZ with ids kept as strings."""
    return pd.read_csv(path, dtype={"cascade_id": str, "mid": str, "parent_mid": str})


def stats_records(stats: pd.DataFrame) -> list[dict]:
    """Plain JSON-ready dicts (NaN -> None, numpy scalars -> Python)."""
    records = []
    for row in stats.to_dict(orient="records"):
        clean = {}
        for k, v in row.items():
            if isinstance(v, np.generic):
                v = v.item()
            if isinstance(v, float) and math.isnan(v):
                v = None
            clean[k] = v
        records.append(clean)
    return records


def format_stats_table(stats: pd.DataFrame) -> str:
    """Readable fixed-width table with Chinese headers."""
    view = pd.DataFrame({
        "传播链": stats["cascade_id"],
        "规模": stats["size"],
        "深度": stats["depth"],
        "最大宽度": stats["max_breadth"],
        "结构病毒性": stats["structural_virality"].round(3),
        "孤立节点": stats["orphans"],
        "t50(分钟)": stats["t50_minutes"].round(1),
        "t90(分钟)": stats["t90_minutes"].round(1),
        "关键节点": [", ".join(f"{k['mid']}({k['size']})" for k in keys[:3]) for keys in stats["key_nodes"]],
    })
    return view.to_string(index=False)


def cli_cascades(argv: list[str]) -> int:
    """`cascades FILE [--json]`: per-cascade statistics as a table or as JSON lines."""
    from analysis import cli

    parser = argparse.ArgumentParser(prog="python -m analysis cascades", description="转发传播链统计")
    parser.add_argument("file", help="CSV 或 CSV.GZ，需含 cascade_id, mid, parent_mid, created_at 列")
    parser.add_argument("--json", action="store_true", help="每个传播链输出一行 JSON")
    args = parser.parse_args(argv)
    path = Path(args.file)
    if not path.is_file():
        print(f"错误：文件不存在：{path}", file=sys.stderr)
        return 2
    try:
        df = read_cascades(path)
        stats = cascade_stats(df)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        print(f"错误：无法处理 {path}：{exc}", file=sys.stderr)
        return 2
    if args.json:
        for rec in stats_records(stats):
            print(cli.dumps(rec))
    else:
        print(format_stats_table(stats))
        print(f"共 {len(stats)} 条传播链，{int(stats['size'].sum())} 条帖子，"
              f"最大深度 {int(stats['depth'].max()) if len(stats) else 0}")
    return 0
