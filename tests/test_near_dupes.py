"""Near-duplicates on a labelled set built from real posts (tests/near_dupe_samples.py), computed at import: the
clusters' precision and recall, 首发 = each cluster's earliest post, 相似数 in post tables, 合并相似 counts stories."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from analysis import explore, ingest, metrics, near_dupes, text
from analysis.filters import Filters
from analysis.store import Store
from tests.near_dupe_samples import labelled_set, pair_scores

SITES = ("新浪微博", "网易新闻", "今日头条", "百度贴吧", "澎湃新闻")


@pytest.fixture(scope="module")
def labelled():
    return labelled_set()


@pytest.fixture(scope="module")
def imported(labelled, tmp_path_factory):
    """The labelled set imported in two batches (the second matched against the stored first)."""
    frame = labelled.assign(post_id=[f"n{k}" for k in range(len(labelled))], channel="新闻",
                            site=[SITES[k % len(SITES)] for k in range(len(labelled))],
                            created_at=labelled["created_at"].dt.strftime("%Y-%m-%d %H:%M:%S"))
    db_path = tmp_path_factory.mktemp("dupes") / "dupes.duckdb"
    half = len(frame) * 3 // 5
    with Store(db_path) as store:
        for name, part in (("first.csv", frame.iloc[:half]), ("second.csv", frame.iloc[half:])):
            columns = ["post_id", "channel", "site", "text", "created_at"]
            summary = ingest.ingest_bytes(part[columns].to_csv(index=False).encode(), name, db_path, store=store)
            assert summary.inserted == len(part)
        stored = store.query("SELECT post_id, site, created_at, dup_cluster FROM posts")
    return {"db": db_path, "frame": frame.merge(stored, on="post_id", suffixes=("_given", ""))}


def test_clusters_at_import_have_high_precision_and_recall(imported, labelled):
    frame = imported["frame"]
    assert frame["dup_cluster"].notna().all()
    precision, recall = pair_scores(frame["story"].to_numpy(), frame["dup_cluster"].to_numpy())
    print(f"near-duplicates at import: {len(frame)} posts, {frame['story'].nunique()} stories, "
          f"pairwise precision {precision:.3f}, recall {recall:.3f}")
    assert precision >= 0.95 and recall >= 0.92
    # the same decision in memory, in one go
    cleaned = [near_dupes.clean(t) for t in text.normalize_many(labelled["text"].tolist())]
    in_memory = pair_scores(labelled["story"].to_numpy(), near_dupes.cluster(cleaned, labelled["created_at"]))
    assert in_memory[0] >= 0.95 and in_memory[1] >= 0.92


def test_every_kind_of_edit_is_recognised():
    base = "城关镇一中食堂昨天中午有学生吃出虫子，家长要求学校给个说法，市场监管局已经介入调查"
    traditional = "城關鎮一中食堂昨天中午有學生吃出蟲子，家長要求學校給個說法，市場監管局已經介入調查"
    copies = [f"转载：{base}", f"{base}（来源：新京报）", base.replace("，", ","), traditional,
              f"据网友爆料，{base[:-4]}", f"【转】{base}。。责任编辑：王明"]
    other = "城关镇二中门口的道路施工半个月了，每天放学堵车严重，交警能不能来疏导一下"
    labels = near_dupes.cluster([near_dupes.clean(text.normalize(t)) for t in [base, *copies, other]])
    assert labels.tolist() == [0] * (len(copies) + 1) + [len(copies) + 1]


def test_the_first_post_names_the_cluster_and_tables_show_it(imported):
    frame = imported["frame"]
    first = frame.sort_values(["created_at", "post_id"]).groupby("dup_cluster").head(1)
    assert (first["post_id"] == first["dup_cluster"]).all()  # 首发 = the earliest post of each cluster
    newest = pd.Timestamp(frame["created_at"].max()).date()
    with Store(imported["db"], read_only=True) as store:
        shown = explore.posts(store, Filters(newest - dt.timedelta(days=30), newest), order="time", limit=2000)
    sizes = frame.groupby("dup_cluster").size()
    assert (shown["similar"] == shown["dup_cluster"].map(sizes) - 1).all()
    firsts = frame.set_index("post_id")
    assert (shown["first_site"] == shown["dup_cluster"].map(firsts["site"])).all()
    assert (shown["first_at"] == shown["dup_cluster"].map(firsts["created_at"])).all()


def test_merge_similar_counts_stories_not_copies(imported):
    frame = imported["frame"]
    newest = pd.Timestamp(frame["created_at"].max()).date()
    span = Filters(newest - dt.timedelta(days=30), newest)
    with Store(imported["db"], read_only=True) as store:
        posts = metrics.headline(store, span).current["posts"]
        stories = metrics.headline(store, Filters(span.start, span.end, merge_similar=True)).current["posts"]
    assert posts == len(frame) and stories == frame["dup_cluster"].nunique()
    assert abs(stories - frame["story"].nunique()) <= 0.05 * frame["story"].nunique()
    assert Filters.from_query_params(span.__class__(span.start, span.end, merge_similar=True).to_query_params(),
                                     newest).merge_similar


def test_signatures_are_stable_and_short_texts_stay_alone():
    cleaned = [near_dupes.clean(t) for t in ["转发微博", "好的", "今天天气真好啊我们一起去公园散步吧"]]
    sig = near_dupes.signatures(cleaned)
    assert (sig[:2] == 0xFFFFFFFF).all() and not (sig[2] == 0xFFFFFFFF).all()
    assert np.array_equal(sig, near_dupes.signatures(cleaned))
    assert near_dupes.cluster(cleaned).tolist() == [0, 1, 2]
