"""Near-duplicates: reprints and lightly edited copies of one story form one cluster (相似 / 首发 / 合并相似).

A post's text (title + text, normalized: simplified, half-width) is cleaned of what reprints add or change — 转载/
转自 prefixes, 来源/编辑/原标题 lines, links, @mentions, [emoticons], all punctuation and spaces — and cut into
character 3-grams. A MinHash signature of 48 values estimates the Jaccard similarity of two posts' 3-gram sets;
locality-sensitive hashing (16 bands of 3 values) finds the candidates, and two posts whose signatures agree on at
least SIMILARITY of their values are the same story. Clusters are the connected posts; each is named by its
earliest post (posts.dup_cluster = that post's id: the 首发), so "count stories, not copies" is "count the posts
that are their cluster's first".

Computed when a batch is written (`update`): the batch's posts are matched among themselves and against every
stored post through the stored band keys (table dup_bands), all in bulk (numpy for the hashes, DuckDB joins for
the candidates). Texts shorter than MIN_CHARS after cleaning are too short to call copies and stay alone.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from analysis import text
from analysis.store import Store

HASHES, BANDS = 48, 16
ROWS = HASHES // BANDS
SHINGLE = 3
MIN_CHARS = 8
SIMILARITY = 0.5
BATCH_LIMIT = 200_000   # posts signed per pass: memory stays bounded when an upgraded database catches up

_REPRINT = re.compile(
    r"^ *(?:【? *(?:转载|转自|转发|转) *】? *[:：]?)|"              # 转载：/【转】 prefixes
    r"[（(【\[]? *(?:来源|来自|转自|原标题|责任编辑|编辑|记者|作者|原文|出处) *[:：][^。！？\n）)】\]]{0,40}[）)】\]]?|"
    r"(?:本文)?(?:来自|来源于?)\S{0,20}(?:客户端|微博|网|报|号)",
    re.MULTILINE,
)
_NOT_WORD = re.compile(r"[\W_]+")
_MASK = np.uint64(0xFFFFFFFF)
_RNG = np.random.default_rng(20261202)
_A = _RNG.integers(1, 2**63, HASHES, dtype=np.uint64) | np.uint64(1)   # odd multipliers: multiply-shift hashing
_B = _RNG.integers(0, 2**63, HASHES, dtype=np.uint64)


def clean(value: str | None) -> str:
    """What two copies of a story share: the words, without reprint boilerplate, links, marks and spaces."""
    return clean_many([value])[0]


_NOT_WORD_OR_LINE = re.compile(r"[^\w\n]+|_+")


def clean_many(values: list[str | None]) -> list[str]:
    """clean() of many texts at once: the regexes run over all of them joined by newlines (normalized texts hold
    none), which is 3x faster than one call per text."""
    joined = "\n".join((v or "").replace("\n", " ") for v in values).casefold()
    joined = _REPRINT.sub(" ", text._NOISE.sub(" ", joined))
    return _NOT_WORD_OR_LINE.sub("", joined).split("\n")


def signatures(cleaned: list[str]) -> np.ndarray:
    """(n, HASHES) uint32 MinHash signatures; a row of all 0xFFFFFFFF for a text too short to sign.

    One-permutation hashing: every 3-gram of every text hashed once (all texts in one array), its hash's high bits
    pick one of HASHES bins and the low 32 bits compete for that bin's minimum; an empty bin borrows the next
    full one's value (rotation densification), so similar texts agree bin by bin as with HASHES hash functions,
    at 1/HASHES of the hashing."""
    out = np.full((len(cleaned), HASHES), 0xFFFFFFFF, dtype=np.uint64)
    lengths = np.fromiter((len(v) for v in cleaned), dtype=np.int64, count=len(cleaned))
    signed = np.flatnonzero(lengths >= MIN_CHARS)
    if not len(signed):
        return out.astype(np.uint32)
    lens = lengths[signed]
    codes = np.frombuffer("".join(cleaned[k] for k in signed).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    grams = (codes[:-2] * np.uint64(0x9E3779B97F4A7C15) ^ codes[1:-1] * np.uint64(0xC2B2AE3D27D4EB4F)
             ^ codes[2:] * np.uint64(0x165667B19E3779F9)) * np.uint64(0xFF51AFD7ED558CCD)
    grams ^= grams >> np.uint64(29)
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    owner = np.repeat(np.arange(len(lens)), lens)[:len(grams)]
    keep = np.arange(len(grams)) - starts[owner] <= lens[owner] - SHINGLE   # no gram spans two texts
    grams, owner = grams[keep], owner[keep]
    bins = ((grams >> np.uint64(32)) % np.uint64(HASHES)).astype(np.int64)
    table = np.full((len(lens), HASHES), 0xFFFFFFFF, dtype=np.uint64)
    np.minimum.at(table, (owner, bins), grams & _MASK)
    empty = np.uint64(0xFFFFFFFF)
    unfilled = table == empty
    dense = table.copy()
    for step in range(1, HASHES):   # densify: an empty bin takes the next full bin's value, marked by the distance
        if not unfilled.any():
            break
        borrowed = np.roll(table, -step, axis=1)
        take = unfilled & (borrowed != empty)
        dense[take] = (borrowed[take] + np.uint64(step * 0x9E3779B1)) & _MASK
        unfilled &= ~take
    table = dense
    out[signed] = table
    return (out & _MASK).astype(np.uint32)


def band_keys(signature: np.ndarray) -> np.ndarray:
    """(n, BANDS) int64 keys: band number and its ROWS values hashed together."""
    rows = signature.astype(np.uint64).reshape(len(signature), BANDS, ROWS)
    key = np.arange(BANDS, dtype=np.uint64)[None, :] * np.uint64(0x9E3779B97F4A7C15)
    for r in range(ROWS):
        key = (key ^ rows[:, :, r]) * np.uint64(0x100000001B3)
    return (key >> np.uint64(1)).astype(np.int64)


def similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Estimated Jaccard similarity of row pairs: the share of equal MinHash values."""
    return (a == b).mean(axis=1)


def _components(pairs: np.ndarray, n: int) -> np.ndarray:
    """Union-find over index pairs: the smallest index of each node's component."""
    parent = np.arange(n)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i
    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([find(i) for i in range(n)], dtype=np.int64)


def cluster(cleaned: list[str], order: np.ndarray | None = None) -> np.ndarray:
    """Cluster label (the index of its earliest member, by `order`) of each text, in memory: the same decision
    `update` makes against the store, for tests and tools."""
    n = len(cleaned)
    order = np.arange(n) if order is None else np.asarray(order)
    sig = signatures(cleaned)
    pairs = _candidate_pairs(band_keys(sig), sig.min(axis=1) != 0xFFFFFFFF)
    pairs = pairs[similarity(sig[pairs[:, 0]], sig[pairs[:, 1]]) >= SIMILARITY] if len(pairs) else pairs
    roots = _components(pairs, n)
    first: dict[int, int] = {}
    for i in np.argsort(order, kind="stable"):
        first.setdefault(int(roots[i]), int(i))
    return np.array([first[int(r)] for r in roots], dtype=np.int64)


def _candidate_pairs(keys: np.ndarray, signed: np.ndarray) -> np.ndarray:
    """Pairs of rows sharing a band key: each row linked to the first row with that key (a star per key, so a
    story copied a thousand times gives a thousand pairs, not half a million)."""
    rows = np.repeat(np.arange(len(keys)), BANDS)[np.repeat(signed, BANDS)]
    flat = keys[signed].ravel()
    if not len(flat):
        return np.empty((0, 2), dtype=np.int64)
    frame = pd.DataFrame({"key": flat, "row": rows})
    frame["first"] = frame.groupby("key")["row"].transform("min")
    linked = frame.loc[frame["row"] != frame["first"], ["first", "row"]].drop_duplicates()
    return linked.to_numpy(dtype=np.int64)


def update(store: Store) -> int:
    """Sign every post not yet signed, BATCH_LIMIT at a time (newest first); returns the posts signed."""
    total = 0
    while True:
        signed = _update_some(store)
        total += signed
        if signed < BATCH_LIMIT:
            return total


def _update_some(store: Store) -> int:
    """Sign up to BATCH_LIMIT posts not yet signed (newest first), link them to similar stored posts and to each
    other, and write dup_cluster for every post whose cluster changed. Returns the posts signed."""
    new = store.query(
        f"""SELECT p.post_id, p.title, p.text_norm, p.created_at FROM posts p
            WHERE NOT EXISTS (SELECT 1 FROM dup_signed s WHERE s.post_id = p.post_id)
            ORDER BY p.created_at DESC, p.post_id LIMIT {BATCH_LIMIT}""")
    if new.empty:
        return 0
    titles = text.normalize_many(new["title"].tolist())
    cleaned = clean_many([f"{t} {b}" if t else b for t, b in zip(titles, new["text_norm"], strict=True)])
    sig = signatures(cleaned)
    signed = sig.min(axis=1) != 0xFFFFFFFF
    keys = band_keys(sig)
    n = len(new)
    # stored posts sharing a band key with a new one: one per (new post, stored cluster), with its signature
    probe = pd.DataFrame({"row": np.repeat(np.arange(n), BANDS)[np.repeat(signed, BANDS)],
                          "band_key": keys[signed].ravel()})
    stored = pd.DataFrame({"row": [], "dup_cluster": [], "signature": []}) if probe.empty else store.query_frames(
        """SELECT DISTINCT ON (q.row, p.dup_cluster) q.row, p.dup_cluster, s.signature
           FROM probe q JOIN dup_bands b ON b.band_key = q.band_key JOIN dup_signed s ON s.post_id = b.post_id
           JOIN posts p ON p.post_id = b.post_id""", {"probe": probe})
    old_sig = np.array([np.frombuffer(s, dtype=np.uint32) for s in stored["signature"]], dtype=np.uint32) \
        .reshape(len(stored), HASHES)
    close = similarity(sig[stored["row"].to_numpy(dtype=np.int64)], old_sig) >= SIMILARITY if len(stored) else []
    stored = stored[np.asarray(close, dtype=bool)].reset_index(drop=True)
    # nodes: the new posts, then the stored clusters they touch
    old_clusters = list(dict.fromkeys(stored["dup_cluster"]))
    node_of_cluster = {c: n + k for k, c in enumerate(old_clusters)}
    inner = _candidate_pairs(keys, signed)
    if len(inner):
        inner = inner[similarity(sig[inner[:, 0]], sig[inner[:, 1]]) >= SIMILARITY]
    outer = np.array([(row, node_of_cluster[c]) for row, c in zip(stored["row"], stored["dup_cluster"],
                                                                   strict=True)], dtype=np.int64).reshape(-1, 2)
    roots = _components(np.vstack([inner, outer]), n + len(old_clusters))
    # every component's first post: the earliest of its new posts and of its stored clusters' first posts
    firsts = store.query_frames(
        "SELECT c.dup_cluster, p.created_at FROM wanted c JOIN posts p ON p.post_id = c.dup_cluster",
        {"wanted": pd.DataFrame({"dup_cluster": old_clusters})}) if old_clusters else \
        pd.DataFrame({"dup_cluster": [], "created_at": []})
    members = pd.concat([
        pd.DataFrame({"root": roots[:n], "post_id": new["post_id"], "created_at": new["created_at"]}),
        pd.DataFrame({"root": [roots[node_of_cluster[c]] for c in firsts["dup_cluster"]],
                      "post_id": firsts["dup_cluster"], "created_at": firsts["created_at"]}),
    ], ignore_index=True)
    first = members.sort_values(["created_at", "post_id"]).drop_duplicates("root").set_index("root")["post_id"]
    new_cluster = first.reindex(roots[:n]).to_numpy()
    relabel = pd.DataFrame({"old": old_clusters,
                            "new": first.reindex([roots[node_of_cluster[c]] for c in old_clusters]).to_numpy()})
    relabel = relabel[relabel["old"] != relabel["new"]]
    bands = pd.DataFrame({"band_key": keys[signed].ravel(),
                          "post_id": np.repeat(new["post_id"].to_numpy(), BANDS)[np.repeat(signed, BANDS)]})
    signed_rows = pd.DataFrame({"post_id": new["post_id"],
                                "signature": [row.tobytes() if ok else None for row, ok in zip(sig, signed,
                                                                                               strict=True)]})
    store.execute_frames(
        {"assigned": pd.DataFrame({"post_id": new["post_id"], "dup_cluster": new_cluster}),
         "relabel": relabel.reset_index(drop=True), "signed_rows": signed_rows, "bands": bands},
        [("UPDATE posts SET dup_cluster = r.new FROM relabel r WHERE posts.dup_cluster = r.old", []),
         ("UPDATE posts SET dup_cluster = a.dup_cluster FROM assigned a WHERE posts.post_id = a.post_id", []),
         ("INSERT INTO dup_signed SELECT post_id, signature FROM signed_rows", []),
         ("INSERT INTO dup_bands SELECT band_key, post_id FROM bands", [])])
    return n


def annotate(store: Store, posts: pd.DataFrame) -> pd.DataFrame:
    """Posts (post_id, created_at, site, dup_cluster) plus similar (the other posts of its cluster), first_at and
    first_site (its cluster's first post: the 首发; the post itself when it has no copies)."""
    clusters = posts["dup_cluster"].dropna().unique().tolist()
    info = store.query(
        """SELECT c.dup_cluster, c.size - 1 AS similar, f.created_at AS first_at, f.site AS first_site
           FROM (SELECT dup_cluster, count(*) AS size FROM posts WHERE list_contains(?, dup_cluster)
                 GROUP BY dup_cluster) c JOIN posts f ON f.post_id = c.dup_cluster""", [clusters or [""]])
    out = posts.merge(info.astype({"dup_cluster": posts["dup_cluster"].dtype}), on="dup_cluster", how="left")
    alone = out["similar"].isna()
    out["similar"] = out["similar"].fillna(0).astype("int64")
    out["first_at"] = out["first_at"].where(~alone, out["created_at"])
    out["first_site"] = out["first_site"].where(~alone, out["site"])
    return out
