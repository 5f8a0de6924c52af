"""Tests for analysis.cascades against hand-computed trees, an independent naive implementation and
the real CED repost cascades in /work/shared/data/cascades_dev.csv.gz."""

from __future__ import annotations

import json
from collections import defaultdict, deque
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cascades import (
    cascade_nodes,
    cascade_stats,
    cli_cascades,
    infer_parents,
    read_cascades,
    tree_levels,
)

DATA = Path("/work/shared/data/cascades_dev.csv.gz")
T0 = pd.Timestamp("2024-07-01 10:00", tz="Asia/Shanghai")


def frame(
    edges: list[tuple[str, str | None]], minutes: list[float] | None = None, cid: str = "c"
) -> pd.DataFrame:
    minutes = minutes if minutes is not None else list(range(len(edges)))
    return pd.DataFrame({
        "cascade_id": cid,
        "mid": [m for m, _ in edges],
        "parent_mid": [p for _, p in edges],
        "created_at": [T0 + pd.Timedelta(minutes=float(x)) for x in minutes],
    })


# ---------- hand-computed tiny cases ----------

def test_root_only():
    st = cascade_stats(frame([("r", None)])).iloc[0]
    assert (st["size"], st["depth"], st["max_breadth"], st["orphans"]) == (1, 0, 1, 0)
    assert st["structural_virality"] == 0.0
    assert st["t50_minutes"] == 0.0 and st["t90_minutes"] == 0.0
    assert st["key_nodes"] == []


def test_chain_of_three():
    # r - a - b: distances 1, 1, 2 -> mean 4/3
    st = cascade_stats(frame([("r", None), ("a", "r"), ("b", "a")], minutes=[0, 10, 30])).iloc[0]
    assert (st["size"], st["depth"], st["max_breadth"]) == (3, 2, 1)
    assert st["structural_virality"] == pytest.approx(4 / 3, abs=1e-12)
    assert st["t50_minutes"] == 10.0  # 2 of 3 posts exist at +10 min
    assert st["t90_minutes"] == 30.0
    assert st["key_nodes"] == [{"mid": "a", "size": 2}, {"mid": "b", "size": 1}]


def test_star_of_four():
    # root + 3 leaves: 3 pairs at distance 1, 3 pairs at distance 2 -> 9/6 = 1.5
    st = cascade_stats(frame([("r", None), ("a", "r"), ("b", "r"), ("c", "r")])).iloc[0]
    assert (st["size"], st["depth"], st["max_breadth"]) == (4, 1, 3)
    assert st["structural_virality"] == pytest.approx(1.5, abs=1e-12)


def test_orphans_missing_parent_and_cycle_attach_to_root():
    edges = [("r", None), ("a", "r"), ("b", "ghost"), ("c", "b"), ("x", "y"), ("y", "x"), ("s", "s")]
    nodes = cascade_nodes(frame(edges)).set_index("mid")
    st = cascade_stats(frame(edges)).iloc[0]
    assert nodes.loc["b", "parent"] == "r" and bool(nodes.loc["b", "is_orphan"])
    assert nodes.loc["c", "depth"] == 2 and not bool(nodes.loc["c", "is_orphan"])
    assert nodes.loc["s", "parent"] == "r" and bool(nodes.loc["s", "is_orphan"])
    # the x <-> y cycle is broken by attaching both to the root: depths 1
    assert set(nodes.loc[["x", "y"], "depth"]) == {1}
    assert st["orphans"] == 4  # b, s, x, y
    assert st["size"] == 7 and st["depth"] == 2
    assert nodes.loc["r", "subtree_size"] == 7 and nodes.loc["b", "subtree_size"] == 2


def test_tree_levels_for_sunburst():
    df = pd.concat([frame([("r", None), ("a", "r"), ("b", "a")], cid="one"),
                    frame([("q", None)], cid="two")])
    t = tree_levels(df, "one")
    assert list(t["mid"]) == ["r", "a", "b"]
    assert list(t["parent"]) == ["", "r", "a"]
    assert list(t["subtree_size"]) == [3, 2, 1]
    with pytest.raises(ValueError):
        tree_levels(df)


# ---------- //@ chain inference ----------

def test_infer_parents_from_repost_chains():
    posts = pd.DataFrame({
        "mid": ["m0", "m1", "m2", "m3", "m4", "m5", "m6"],
        "author": ["原博", "小王", "小李", "小王", "老张", "路人", "小李"],
        "text": [
            "【通报】某小区停水",
            "关注//@原博:【通报】某小区停水",
            "转发微博//@小王:关注//@原博:【通报】",
            "再转//@小李：转发微博//@小王:关注",  # full-width colon; the most recent 小李 before this is m2
            "//@不存在的人: 哈哈",  # named user never posted here -> root
            "没有链条的评论",  # no chain -> root
            "//@小王:又转了",  # most recent earlier 小王 post is m3, not m1
        ],
        "created_at": [T0 + pd.Timedelta(minutes=i) for i in range(7)],
    })
    out = infer_parents(posts).set_index("mid")
    assert out["parent_mid"].to_dict() == {
        "m0": "", "m1": "m0", "m2": "m1", "m3": "m2", "m4": "m0", "m5": "m0", "m6": "m3",
    }
    assert out.loc["m2", "parent_source"] == "chain" and out.loc["m4", "parent_source"] == "root"
    st = cascade_stats(out.reset_index().assign(cascade_id="c")).iloc[0]
    assert (st["size"], st["depth"], st["orphans"]) == (7, 4, 0)


def test_infer_parents_only_looks_backwards_and_keeps_given_ids():
    posts = pd.DataFrame({
        "mid": ["r", "a", "b"],
        "author": ["甲", "乙", "丙"],
        "text": ["原文", "//@丙:抢先", "//@乙:x"],
        "parent_mid": [None, None, "r"],
        "created_at": [T0, T0 + pd.Timedelta(minutes=1), T0 + pd.Timedelta(minutes=2)],
    })
    out = infer_parents(posts).set_index("mid")
    assert out.loc["a", "parent_mid"] == "r"  # 丙 posts only later: fall back to root
    assert out.loc["b", "parent_mid"] == "r" and out.loc["b", "parent_source"] == "given"


def test_an_export_without_parent_ids_gets_its_trees_from_the_chains_at_import(tmp_path):
    """A 舆情-system export (nicknames in 作者, reposts' `//@` chains in 内容, no ids) through the real CLI."""
    import datetime as dt

    from analysis import media, settings
    from analysis.__main__ import main
    from analysis.filters import Filters
    from analysis.store import Store
    from tests.conftest import shared_file

    texts = pd.read_csv(shared_file("sentiment_dev.csv.gz"))["text"]
    words = texts[~texts.str.contains("@", regex=False)].str.slice(0, 40).head(8).tolist()
    rows = [  # author, minute, text, source
        ("大V", 0, words[0], "新浪微博"),
        ("小王", 5, f"{words[1]}//@大V:{words[0]}", "新浪微博"),
        ("小李", 9, f"{words[2]}//@小王:{words[1]}//@大V:{words[0]}", "新浪微博"),
        ("路人", 12, f"//@大V:{words[0]}", "新浪微博"),
        ("小王", 20, f"{words[3]}//@大V:{words[0]}", "新浪微博"),
        ("老张", 25, f"{words[4]}//@小李：{words[2]}", "新浪微博"),  # full-width colon; 小李's only post
        ("某人", 30, f"{words[5]}//@无名氏:{words[6]}", "新浪微博"),  # nobody of that name posted here
        ("吧友", 35, f"{words[7]}//@小王:{words[1]}", "百度贴吧"),  # 小王 posted on 微博, not on 贴吧
    ]
    export = pd.DataFrame({"作者": [r[0] for r in rows], "内容": [r[2] for r in rows], "来源": [r[3] for r in rows],
                           "发布时间": [f"2026-11-18 10:{r[1]:02d}:00" for r in rows]})
    export.to_csv(tmp_path / "导出.csv", index=False)
    db = tmp_path / "chains.duckdb"
    assert main(["ingest", str(tmp_path / "导出.csv"), "--db", str(db)]) == 0
    with Store(db) as store:
        posts = media.tiered_posts(store, Filters(dt.date(2026, 11, 18), dt.date(2026, 11, 18)),
                                   settings.media_directory(store))
    assert len(posts) == 8
    posts["key"] = posts["author_id"] + posts["created_at"].dt.strftime("%M")
    key = posts.set_index("post_id")["key"]
    tree = posts.set_index("key")
    assert tree["parent_id"].map(key).fillna("").to_dict() == {
        "大V00": "", "小王05": "大V00", "小李09": "小王05", "路人12": "大V00", "小王20": "大V00",
        "老张25": "小李09", "某人30": "", "吧友35": "",
    }
    assert tree["root_id"].map(key).dropna().eq("大V00").all() and tree["root_id"].notna().sum() == 5
    assert tree["post_type"].to_dict() == {
        "大V00": "original", "小王05": "repost", "小李09": "repost", "路人12": "repost", "小王20": "repost",
        "老张25": "repost", "某人30": "original", "吧友35": "original",
    }
    leaders = media.opinion_leaders(posts, by="tree").set_index("publisher")
    assert leaders.index[0] == "大V"
    assert leaders.loc["大V", ["downstream", "bridges", "cascades"]].tolist() == [5, 0, 1]
    assert leaders.loc["小王", ["downstream", "bridges"]].tolist() == [2, 1]  # 小李 and 老张 below its first repost
    assert leaders.loc["小李", ["downstream", "bridges"]].tolist() == [1, 1]
    stats = cascade_stats(posts.assign(cascade_id=posts["root_id"].fillna(posts["post_id"]), mid=posts["post_id"],
                                       parent_mid=posts["parent_id"]))
    assert stats.set_index("cascade_id").loc[tree.loc["大V00", "post_id"], ["size", "depth"]].tolist() == [6, 3]


# ---------- real data against an independent naive implementation ----------

def naive_stats(group: pd.DataFrame) -> dict:
    mids = group["mid"].tolist()
    present = set(mids)
    root = group.loc[group["parent_mid"].isna(), "mid"].iloc[0]
    children = defaultdict(list)
    orphans = 0
    for m, p in zip(group["mid"], group["parent_mid"], strict=True):
        if m == root:
            continue
        if not isinstance(p, str) or p not in present:
            orphans += isinstance(p, str)
            p = root
        children[p].append(m)
    depth = {root: 0}
    queue = deque([root])
    while queue:
        u = queue.popleft()
        for v in children[u]:
            depth[v] = depth[u] + 1
            queue.append(v)
    levels = defaultdict(int)
    for d in depth.values():
        levels[d] += 1
    out = {"size": len(depth), "depth": max(depth.values()), "max_breadth": max(levels.values()),
           "orphans": orphans}
    if len(mids) <= 300:  # O(n^2) all-pairs BFS on the undirected tree
        adj = defaultdict(list)
        for u, vs in children.items():
            for v in vs:
                adj[u].append(v)
                adj[v].append(u)
        total = 0
        for s in depth:
            dist = {s: 0}
            q = deque([s])
            while q:
                u = q.popleft()
                for v in adj[u]:
                    if v not in dist:
                        dist[v] = dist[u] + 1
                        q.append(v)
            total += sum(dist.values())
        n = len(depth)
        out["virality"] = total / (n * (n - 1))
    return out


@pytest.fixture(scope="module")
def real() -> tuple[pd.DataFrame, pd.DataFrame]:
    df = read_cascades(DATA)
    return df, cascade_stats(df).set_index("cascade_id")


def test_real_cascades_match_naive_implementation(real):
    df, stats = real
    assert len(stats) == 100 and int(stats["size"].sum()) == 37158
    checked_virality = 0
    for cid, group in df.groupby("cascade_id"):
        expected = naive_stats(group)
        got = stats.loc[cid]
        assert got["size"] == expected["size"], cid
        assert got["depth"] == expected["depth"], cid
        assert got["max_breadth"] == expected["max_breadth"], cid
        assert got["orphans"] == expected["orphans"], cid
        if "virality" in expected:
            assert got["structural_virality"] == pytest.approx(expected["virality"], abs=1e-9), cid
            checked_virality += 1
    assert checked_virality >= 40
    # README: 49-937 posts, depth 1-12 (median 5); every parent is present in its cascade
    assert stats["size"].min() == 49 and stats["size"].max() == 937
    assert stats["depth"].min() == 1 and stats["depth"].max() == 12 and stats["depth"].median() == 5
    assert stats["orphans"].sum() == 0


def test_real_timing_and_key_nodes_consistent(real):
    df, stats = real
    assert (stats["t50_minutes"] <= stats["t90_minutes"]).all()
    assert (stats["t50_minutes"] >= 0).all()
    cid = stats.index[0]
    group = df[df["cascade_id"] == cid]
    t = pd.to_datetime(group["created_at"])
    minutes = np.sort(((t - t[group["parent_mid"].isna()].iloc[0]).dt.total_seconds() / 60).clip(lower=0))
    n = len(minutes)
    assert stats.loc[cid, "t50_minutes"] == pytest.approx(minutes[int(np.ceil(0.5 * n)) - 1])
    assert stats.loc[cid, "t90_minutes"] == pytest.approx(minutes[int(np.ceil(0.9 * n)) - 1])
    keys = stats.loc[cid, "key_nodes"]
    assert len(keys) == 5 and [k["size"] for k in keys] == sorted((k["size"] for k in keys), reverse=True)
    levels = tree_levels(df, cid)
    by_mid = levels.set_index("mid")["subtree_size"]
    assert all(by_mid[k["mid"]] == k["size"] for k in keys)
    assert keys[0]["size"] == levels.loc[~levels["is_root"], "subtree_size"].max()


def test_cli_json_and_table(capsys):
    assert cli_cascades([str(DATA), "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 100
    first = json.loads(lines[0])
    assert set(first) >= {"cascade_id", "size", "depth", "structural_virality", "key_nodes"}
    assert cli_cascades([str(DATA)]) == 0
    assert "最大深度 12" in capsys.readouterr().out
    assert cli_cascades(["/nonexistent.csv"]) == 2


# ---------- scale: 200k-node synthetic chain + star ----------

def test_200k_chain_plus_star():
    n_chain, n_star = 100_000, 100_000
    chain = [f"c{i}" for i in range(n_chain)]
    mids = ["root"] + chain + [f"s{i}" for i in range(n_star)]
    parents = [None, "root"] + chain[:-1] + ["root"] * n_star
    df = pd.DataFrame({
        "cascade_id": "big", "mid": mids, "parent_mid": parents,
        "created_at": T0 + pd.to_timedelta(np.arange(len(mids)), unit="s"),
    })
    st = cascade_stats(df).iloc[0]
    n = len(mids)
    assert st["size"] == n and st["depth"] == n_chain
    assert st["max_breadth"] == n_star + 1  # level 1: first chain node + all star leaves
    # Wiener index by hand: chain edge k (subtree n_chain-k) + star edges (subtree 1)
    w = sum(s * (n - s) for s in range(1, n_chain + 1)) + n_star * (n - 1)
    assert st["structural_virality"] == pytest.approx(2 * w / (n * (n - 1)), rel=1e-12)
    assert st["key_nodes"][0] == {"mid": "c0", "size": n_chain}
    assert st["t50_minutes"] == pytest.approx((int(np.ceil(0.5 * n)) - 1) / 60)


def test_cascade_root_walks_stored_parents_and_stops_at_gaps_and_cycles(tmp_path):
    from analysis import explore
    from analysis.store import Store
    from tests.factories import write_posts

    rows = [{"post_id": "root", "text": "原帖"},
            {"post_id": "a", "parent_id": "root", "post_type": "repost", "text": "转发一"},
            {"post_id": "b", "parent_id": "a", "post_type": "repost", "text": "转发二"},
            {"post_id": "orphan", "parent_id": "never-collected", "post_type": "comment", "text": "评论"},
            {"post_id": "x", "parent_id": "y", "post_type": "repost", "text": "环一"},
            {"post_id": "y", "parent_id": "x", "post_type": "repost", "text": "环二"}]
    with Store(tmp_path / "c.duckdb") as store:
        write_posts(store, [dict(r, author_id=r["post_id"], created_at=f"2026-11-20 10:0{n}")
                            for n, r in enumerate(rows)])
        assert [explore.cascade_root(store, p) for p in ("b", "a", "root")] == ["root"] * 3
        assert explore.cascade_root(store, "orphan") == "orphan"  # its parent was never collected
        assert explore.cascade_root(store, "x") == "y" and explore.cascade_root(store, "y") == "x"
        assert explore.cascade_root(store, "unknown") is None
        assert set(explore.cascade_tree(store, "b")["mid"]) == {"root", "a", "b"}
