"""网民主要观点 on real posts: stable, meaningful (against labels), Chinese labels, shares that add up and trace."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import normalized_mutual_info_score

from analysis import briefing, opinions, text
from analysis.store import Store
from tests.conftest import shared_file
from tests.factories import write_posts

CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def sources() -> pd.DataFrame:
    """200 real texts from each of four sources (Weibo ×2, hotel and food-delivery reviews)."""
    dev = pd.read_csv(shared_file("sentiment_dev.csv.gz"))
    sample = dev.groupby("source").sample(200, random_state=3).reset_index(drop=True)
    return sample.assign(post_id=[f"s{i:04d}" for i in range(len(sample))],
                         sentiment_label=np.where(sample["label"] == 1, "正面", "负面"))


@pytest.fixture(scope="module")
def clustered(sources) -> opinions.Opinions:
    return opinions.cluster(sources, k=4)


def _assignment(found: opinions.Opinions) -> dict[str, int]:
    return {pid: i for i, v in enumerate(found.viewpoints) for pid in v.post_ids}


def test_clusters_are_stable_across_runs_and_input_order(sources, clustered):
    again = opinions.cluster(sources.sample(frac=1, random_state=9), k=4)
    assert again == clustered
    assert opinions.cluster(sources) == opinions.cluster(sources.iloc[::-1])


def test_labels_are_chinese_and_shares_sum_to_100(clustered):
    assert 4 <= len(clustered.viewpoints) <= 5  # k viewpoints, and 其他 for posts sharing no term
    assert all(CHINESE.search(v.label) for v in clustered.viewpoints)
    assert sum(v.share_pct for v in clustered.viewpoints) == pytest.approx(100.0, abs=1e-9)
    assert sum(v.share for v in clustered.viewpoints) == pytest.approx(1.0)
    assert sum(v.posts for v in clustered.viewpoints) == clustered.clustered
    for v in clustered.viewpoints:
        assert sum(v.sentiment.values()) == v.posts == len(v.post_ids)
        assert set(v.medoids) <= set(v.post_ids) and len(v.medoids) == min(3, v.posts)
    frame = clustered.frame()
    assert frame["share_pct"].sum() == pytest.approx(100.0) and list(frame["viewpoint"])[0] == clustered.viewpoints[
        0].label


def test_clusters_recover_the_sources_far_above_chance(sources, clustered):
    """NMI/purity against the source label (a hotel review and a food-delivery review use different words)."""
    assigned = _assignment(clustered)
    kept = sources[sources["post_id"].isin(assigned)]
    groups = kept["post_id"].map(assigned).to_numpy()
    nmi = normalized_mutual_info_score(kept["source"], groups)
    shuffled = np.random.default_rng(0).permutation(groups)
    chance = normalized_mutual_info_score(kept["source"], shuffled)
    purity = pd.crosstab(groups, kept["source"]).max(axis=1).sum() / len(kept)
    assert nmi > 0.25 and chance < 0.02 and purity > 0.45
    hotel = next(v for v in clustered.viewpoints if "酒店" in v.terms or "房间" in v.terms)
    hotel_sources = sources.set_index("post_id").loc[list(hotel.post_ids), "source"]
    assert (hotel_sources == "ChnSentiCorp_htl_all").mean() > 0.8


def test_pure_reposts_and_duplicates_are_left_out(sources):
    extra = pd.DataFrame({"post_id": ["r1", "r2", "r3", "d1", "d2"], "sentiment_label": "中性",
                          "text": ["转发微博", "//@某人: 房间很干净", "[哈哈]@某人", sources["text"].iloc[0] + "！！",
                                   " " + sources["text"].iloc[0]]})
    found = opinions.cluster(pd.concat([sources, extra], ignore_index=True), k=4)
    alone = opinions.cluster(sources, k=4)
    counted = set(_assignment(found))
    assert alone.pure_reposts > 0  # emoticon-only Weibo posts have no own words either
    assert found.pure_reposts == alone.pure_reposts + 3 and found.duplicates == alone.duplicates + 2
    assert counted.isdisjoint({"r1", "r2", "r3"}) and found.clustered == len(counted)
    assert len(counted & {"s0000", "d1", "d2"}) == 1  # one copy of the three counts (the first by post id)


def test_too_few_posts_give_no_viewpoints():
    posts = pd.DataFrame({"post_id": ["a", "b"], "text": ["物业不作为", "物业乱收费"], "sentiment_label": "负面"})
    found = opinions.cluster(posts)
    assert found.viewpoints == () and found.clustered == 2 and found.summary() == ""


@pytest.fixture(scope="module")
def cascade_db(tmp_path_factory) -> tuple[object, pd.DataFrame]:
    """Real comments of four Weibo cascades (cascades_dev), written through the store on one day."""
    cascades = pd.read_csv(shared_file("cascades_dev.csv.gz"))
    chosen = sorted(cascades["cascade_id"].unique())[::25][:4]
    posts = cascades[cascades["cascade_id"].isin(chosen)].reset_index(drop=True)
    path = tmp_path_factory.mktemp("opinions") / "opinions.duckdb"
    rows = [{"post_id": f"c{p.mid}", "text": p.text if isinstance(p.text, str) else "",
             "text_norm": p.text if isinstance(p.text, str) else "", "created_at": f"2026-11-18 {8 + i % 12}:00",
             "topic": "社会治安", "post_type": "original" if p.is_original else "repost",
             "sentiment_label": "负面" if i % 3 == 0 else "中性", "like_count": i % 7}
            for i, p in enumerate(posts.itertuples())]
    with Store(path) as store:
        write_posts(store, rows)
    return path, posts.assign(post_id="c" + posts["mid"])


def test_filters_read_the_posts_and_medoids_come_back_as_posts(cascade_db):
    import datetime as dt

    from analysis.filters import Filters

    path, posts = cascade_db
    f = Filters(dt.date(2026, 11, 18), dt.date(2026, 11, 18), topics=("社会治安",))
    with Store(path, read_only=True) as store:
        found = opinions.for_filters(store, f)
        reps = opinions.representatives(store, found)
        assert opinions.for_filters(store, f) == found
    assert found.total == len(posts) and found.pure_reposts == sum(
        text.scoring_text(t) == "" for t in posts["text"].fillna(""))
    assert 3 <= len(found.viewpoints) <= 7
    assert list(reps["post_id"]) == [m for v in found.viewpoints for m in v.medoids]
    assert set(reps["post_id"]) <= set(posts["post_id"])
    by_cascade = posts.set_index("post_id")["cascade_id"]
    assigned = _assignment(found)
    truth, groups = by_cascade.loc[list(assigned)], np.array(list(assigned.values()))
    nmi = normalized_mutual_info_score(truth, groups)
    chance = normalized_mutual_info_score(truth, np.random.default_rng(0).permutation(groups))
    print(f"cascades: NMI {nmi:.3f}, shuffled {chance:.3f}")
    assert nmi > 0.08 and nmi > 5 * chance  # comments on different stories say different things


def test_weekly_brief_traces_each_share_to_its_posts(demo_db):
    with Store(demo_db, read_only=True) as store:
        period = briefing.default_period(store, "weekly")
        doc = briefing.build(store, "weekly", week=period.code)
        found = opinions.for_filters(store, period.filters)
    table = doc.table("opinions")
    assert [row[0] for row in table.rows] == [v.label for v in found.viewpoints]
    assert sum(float(row[1].rstrip("%")) for row in table.rows) == pytest.approx(100.0)
    appendix = {entry.ref: entry for entry in doc.appendix}
    for row, v in zip(table.rows, found.viewpoints, strict=True):
        assert row[2] == v.posts and row[4] == "、".join(v.medoids)
        entry = appendix[row[5]]
        assert entry.total_posts == v.posts and list(entry.posts["post_id"]) == list(v.medoids)
    heading = next(b.text for b in doc.blocks if isinstance(b, briefing.Heading) and "网民主要观点" in b.text)
    assert heading.endswith("网民主要观点")
    cloud = next(fig for fig in doc.figures() if fig.key == "wordcloud")  # the page's image, in the brief
    assert cloud.figure.layout.images[0].source.startswith("data:image/png;base64,") and "高频词" in cloud.caption


def test_incident_brief_has_the_viewpoints_of_its_posts(demo_db):
    from analysis import incidents

    with Store(demo_db, read_only=True) as store:
        incident_id = incidents.list_incidents(store)["incident_id"].iloc[0]
        doc = briefing.build(store, "incident", incident_id=incident_id)
        found = opinions.for_incident(store, incident_id)
    assert found.viewpoints
    assert [row[2] for row in doc.table("opinions").rows] == [v.posts for v in found.viewpoints]


def test_topic_and_incident_pages_show_the_viewpoints(app_db):
    import dataclasses

    from analysis import incidents
    from tests.test_pages import latest_filters, run_app

    scoped = dataclasses.replace(latest_filters(app_db), topics=("食品药品",))
    with Store(app_db) as store:
        found = opinions.for_filters(store, scoped)
        incident_id = incidents.list_incidents(store)["incident_id"].iloc[0]
        in_incident = opinions.for_incident(store, incident_id)
    for at, expected in ((run_app("topic.py", t="食品药品"), found),
                         (run_app("incidents.py", incident=incident_id), in_incident)):
        assert "网民主要观点" in [h.value for h in at.subheader]
        table = next(d.value for d in at.dataframe if "viewpoint" in d.value.columns)
        assert list(table["post_id"]) == [m for v in expected.viewpoints for m in v.medoids]
        assert any(f"基于{expected.clustered:,}条有原创内容的帖子" in c.value for c in at.caption)
