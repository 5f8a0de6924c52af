"""网民主要观点: the posts' own words grouped into a handful of viewpoints, with shares that trace to posts.

Pure reposts (no own words) and duplicates (the same own words, punctuation and spacing aside) are left out,
so a thousand copies of one post count once. The rest are TF-IDF vectors over jieba words (stop words and
one-character words dropped) and character bigrams; k-means on the unit vectors (scikit-learn, fixed seed),
k growing slowly with the number of posts. Each viewpoint is labelled with its most distinctive words,
carries the ids of all its posts and of its medoids (the posts closest to its centre), and its sentiment mix
from the stored labels. The same posts always give the same viewpoints: the seed is fixed and the input is
sorted by post id.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from analysis import explore, topics
from analysis import text as textmod
from analysis.filters import Filters
from analysis.store import Store

MAX_POSTS = 3000            # a deterministic sample beyond this (by a hash of the post id): pages stay fast
MIN_POSTS = 12              # fewer posts with own words than this: too few to speak of viewpoints
K_RANGE = (3, 6)            # "a handful" of viewpoints
LABEL_TERMS = 3
MEDOIDS = 3
SEED = 0
OTHER_LABEL = "其他（无共同用词）"
SENTIMENTS = ("负面", "中性", "正面")
_TOKEN_OK = re.compile(r"^[\u4e00-\u9fffA-Za-z][\u4e00-\u9fffA-Za-z0-9\-]*$")
_COMPACT = re.compile(r"[\W_]+")
_HAN = re.compile(r"[\u4e00-\u9fff]+")
_BIGRAM = "\u00b7"          # marks a character-bigram feature


@dataclass(frozen=True)
class Viewpoint:
    label: str                       # its top terms, 、-joined (Chinese)
    terms: tuple[str, ...]
    posts: int
    share: float                     # of the clustered posts; all viewpoints' shares sum to 1
    share_pct: float                 # rounded to 0.1 so that the listed percentages sum to exactly 100
    sentiment: dict[str, int]        # 负面/中性/正面 -> posts
    medoids: tuple[str, ...]         # post ids of the most representative posts, closest first
    post_ids: tuple[str, ...]        # every post counted in `posts`


@dataclass(frozen=True)
class Opinions:
    viewpoints: tuple[Viewpoint, ...]   # largest first ("其他" last)
    clustered: int                      # posts with own words, duplicates counted once
    pure_reposts: int                   # posts without own words: pure reposts, emoticon- or link-only posts
    duplicates: int
    sampled_from: int                   # posts read (before the MAX_POSTS sample: `total`)
    total: int

    def frame(self) -> pd.DataFrame:
        """One row per viewpoint, for tables."""
        return pd.DataFrame([{
            "viewpoint": v.label, "share_pct": v.share_pct, "posts": v.posts,
            **{f"sentiment_{s}": v.sentiment.get(s, 0) for s in SENTIMENTS},
            "negative_ratio": v.sentiment.get("负面", 0) / v.posts if v.posts else 0.0,
            "medoids": list(v.medoids)} for v in self.viewpoints],
            columns=["viewpoint", "share_pct", "posts", *(f"sentiment_{s}" for s in SENTIMENTS), "negative_ratio",
                     "medoids"])

    def summary(self, limit: int = 5) -> str:
        """'质疑、处置、速度 38.0 %、…' as a briefing sentence writes it."""
        return "、".join(f"“{v.label}”{v.share_pct:.1f}%" for v in self.viewpoints[:limit])


def _terms(tokens: list[str]) -> list[str]:
    return [t for t in tokens if len(t) >= 2 and t not in topics.STOP_WORDS and _TOKEN_OK.match(t)]


def _rounded_pcts(counts: list[int]) -> list[float]:
    """Percentages with one decimal that sum to exactly 100.0 (largest remainder)."""
    total = sum(counts)
    if not total:
        return [0.0 for _ in counts]
    tenths = [c * 1000 / total for c in counts]
    floors = [int(t) for t in tenths]
    order = sorted(range(len(counts)), key=lambda i: (floors[i] - tenths[i], i))
    for i in order[:1000 - sum(floors)]:
        floors[i] += 1
    return [f / 10 for f in floors]


def _features(own: list[str]) -> list[list[str]]:
    """jieba words (stop words and one-character words dropped) plus character bigrams of the Chinese runs.

    Bigrams let short posts that share no whole word still meet; they carry a leading marker so that labels
    are made of words only. On 2,000 labelled posts from four sources (sentiment_dev) words+bigrams gave
    NMI 0.43 against the source at k=4, words alone 0.37.
    """
    out = []
    for tokens, own_text in zip(textmod.tokenize_many(own), own, strict=True):
        words = _terms(tokens)
        chinese = "".join(_HAN.findall(own_text))
        out.append(words + [_BIGRAM + chinese[i:i + 2] for i in range(len(chinese) - 1)])
    return out


def _kmeans(x, k: int):
    from sklearn.cluster import KMeans

    model = KMeans(n_clusters=k, n_init=3, random_state=SEED).fit(x)
    return model.labels_, model.cluster_centers_


def default_k(n: int) -> int:
    """About one viewpoint per 300 posts, from 3 to 6 (silhouette, tried first, always chose the largest k on
    these sparse vectors, and cost five fits)."""
    return int(min(K_RANGE[1], max(K_RANGE[0], round((n / 40) ** 0.5))))


def cluster(posts: pd.DataFrame, k: int | None = None, total: int | None = None) -> Opinions:
    """Viewpoints of `posts` (columns post_id, text or text_norm, sentiment_label); k=None picks it."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    column = "text_norm" if "text_norm" in posts.columns else "text"
    posts = posts.sort_values("post_id", kind="stable")
    own = textmod.scoring_texts(posts[column].tolist())
    has_own = np.array([bool(o) for o in own], dtype=bool)
    frame = pd.DataFrame({"post_id": posts["post_id"].to_numpy(), "own": own,
                          "key": [_COMPACT.sub("", o) for o in own],
                          "sentiment": posts["sentiment_label"].to_numpy()})[has_own]
    unique = frame[~frame["key"].duplicated() & frame["key"].ne("")]
    pure, dups = int((~has_own).sum()), int(len(frame) - len(unique))
    total = len(posts) if total is None else total
    empty = Opinions((), len(unique), pure, dups, len(posts), total)
    if len(unique) < MIN_POSTS:
        return empty
    vectorizer = TfidfVectorizer(analyzer=_identity, min_df=2, max_df=0.5, sublinear_tf=True)
    try:
        x = normalize(vectorizer.fit_transform(_features(unique["own"].tolist())))
    except ValueError:  # no term in two posts
        return empty
    vocab = vectorizer.get_feature_names_out()
    is_word = np.array([not t.startswith(_BIGRAM) for t in vocab])
    covered = np.flatnonzero(x.getnnz(axis=1) > 0)
    labels_all = np.full(len(unique), -1)
    centres = np.zeros((0, len(vocab)))
    if len(covered) >= MIN_POSTS:
        xs = x[covered]
        labels, centres = _kmeans(xs, min(k or default_k(len(covered)), len(covered)))
        labels_all[covered] = labels
    mean = np.asarray(x[covered].mean(axis=0)).ravel()
    groups = []
    for j in range(len(centres)):
        members = np.flatnonzero(labels_all == j)
        if not len(members):
            continue
        # distinctive words: weight in the viewpoint above the weight in all posts
        weight = np.where(is_word, np.asarray(x[members].mean(axis=0)).ravel() - mean, -np.inf)
        terms = tuple(str(vocab[i]) for i in np.argsort(-weight, kind="stable")[:LABEL_TERMS] if weight[i] > 0)
        closeness = x[members] @ centres[j]
        groups.append((terms, members, members[np.argsort(-closeness, kind="stable")[:MEDOIDS]]))
    groups.sort(key=lambda g: (-len(g[1]), g[0]))
    rest = np.flatnonzero(labels_all == -1)
    if len(rest):
        groups.append(((), rest, rest[:MEDOIDS]))
    pcts = _rounded_pcts([len(g[1]) for g in groups])
    ids, sentiments = unique["post_id"].to_numpy(), unique["sentiment"].to_numpy()
    viewpoints = tuple(Viewpoint(
        label="、".join(terms) if terms else OTHER_LABEL, terms=terms, posts=len(members),
        share=len(members) / len(unique), share_pct=pct,
        sentiment={s: int((sentiments[members] == s).sum()) for s in SENTIMENTS},
        medoids=tuple(str(i) for i in ids[medoids]), post_ids=tuple(str(i) for i in ids[members]))
        for (terms, members, medoids), pct in zip(groups, pcts, strict=True))
    return Opinions(viewpoints, len(unique), pure, dups, len(posts), total)


def _identity(features: list[str]) -> list[str]:
    return features


def _sample_key(post_id: str) -> int:
    return zlib.crc32(post_id.encode("utf-8"))


def read_posts(store: Store, f: Filters, keyword: str | None = None) -> tuple[pd.DataFrame, int]:
    """The filtered posts' ids, texts and labels (a fixed sample of MAX_POSTS when more) and their count."""
    where, params = f.where()
    clauses, extra = [where], []
    if keyword and keyword.strip():
        clauses.append("(text_norm LIKE ? ESCAPE '\\' OR coalesce(title, '') LIKE ? ESCAPE '\\')")
        extra = [explore._like_pattern(keyword.strip())] * 2
    condition = " AND ".join(clauses)
    total = int(store.scalar(f"SELECT count(*) FROM posts WHERE {condition}", [*params, *extra]))
    posts = store.query(f"SELECT post_id, text_norm, sentiment_label FROM posts WHERE {condition} "
                        "ORDER BY hash(post_id), post_id LIMIT ?", [*params, *extra, MAX_POSTS])
    return posts, total


def for_filters(store: Store, f: Filters, keyword: str | None = None) -> Opinions:
    """Viewpoints of the posts a filter (and optional keyword) selects."""
    posts, total = read_posts(store, f, keyword)
    return cluster(posts, total=total)


def for_posts(posts: pd.DataFrame) -> Opinions:
    """Viewpoints of a given set of posts (an incident's), sampled like `read_posts` when there are many."""
    if len(posts) > MAX_POSTS:
        order = posts["post_id"].map(_sample_key).sort_values(kind="stable").index[:MAX_POSTS]
        return cluster(posts.loc[order], total=len(posts))
    return cluster(posts)


def for_incident(store: Store, incident_id: str) -> Opinions:
    """Viewpoints of an incident's posts: as the service's tick stored them while its posts are unchanged, else
    computed now (a page then pays the clustering once per data version, through its cache)."""
    from analysis import incidents

    key = _posts_key(store, incident_id)
    stored = store.query("SELECT viewpoints FROM incident_viewpoints WHERE incident_id = ? AND posts_key = ?",
                         [incident_id, key])
    if len(stored):
        return _from_json(stored["viewpoints"].iloc[0])
    return for_posts(incidents.incident_posts(store, incident_id))


def precompute_incidents(store: Store, incident_ids: list[str]) -> list[str]:
    """Cluster each incident whose posts changed since its viewpoints were stored (the tick's step, so an incident
    page opens without clustering); the incidents computed."""
    from analysis import incidents

    done = []
    for incident_id in incident_ids:
        key = _posts_key(store, incident_id)
        if store.scalar("SELECT count(*) FROM incident_viewpoints WHERE incident_id = ? AND posts_key = ?",
                        [incident_id, key]):
            continue
        found = for_posts(incidents.incident_posts(store, incident_id))
        store.execute([("DELETE FROM incident_viewpoints WHERE incident_id = ?", [incident_id]),
                       ("INSERT INTO incident_viewpoints (incident_id, posts_key, viewpoints) VALUES (?, ?, ?)",
                        [incident_id, key, json.dumps(asdict(found), ensure_ascii=False)])])
        done.append(incident_id)
    return done


def _posts_key(store: Store, incident_id: str) -> str:
    """Which posts an incident has (their number and an order-free hash of their ids), and the model's labels'
    version (a correction or retrain relabels posts)."""
    row = store.query("SELECT count(*) AS n, coalesce(bit_xor(hash(post_id)), 0) AS h FROM incident_posts "
                      "WHERE incident_id = ?", [incident_id]).iloc[0]
    corrections = store.scalar("SELECT count(*) FROM sentiment_corrections")
    return f"{int(row['n'])}:{int(row['h'])}:{int(corrections)}"


def _from_json(payload: str) -> Opinions:
    data = json.loads(payload)
    viewpoints = tuple(Viewpoint(**{**v, "terms": tuple(v["terms"]), "medoids": tuple(v["medoids"]),
                                    "post_ids": tuple(v["post_ids"])}) for v in data.pop("viewpoints"))
    return Opinions(viewpoints, **data)


REPRESENTATIVE_COLUMNS = ("post_id", "created_at", "channel", "site", "title", "text", "url", "sentiment_label",
                          "repost_count", "comment_count", "like_count")


def representatives(store: Store, opinions: Opinions) -> pd.DataFrame:
    """The medoid posts of every viewpoint, in viewpoint order then closeness: group (its index), viewpoint, rank
    and the post."""
    picks = pd.DataFrame([(group, v.label, rank, pid) for group, v in enumerate(opinions.viewpoints)
                          for rank, pid in enumerate(v.medoids, 1)], columns=["group", "viewpoint", "rank", "post_id"])
    if picks.empty:
        return picks.assign(**{c: pd.Series(dtype=object) for c in REPRESENTATIVE_COLUMNS[1:]}, interactions=0)
    ids = picks["post_id"].tolist()
    found = store.query(f"SELECT {', '.join(REPRESENTATIVE_COLUMNS)}, repost_count + comment_count + like_count "
                        f"AS interactions FROM posts WHERE post_id IN ({', '.join('?' for _ in ids)})", ids)
    return picks.merge(found, on="post_id", how="inner").sort_values(["group", "rank"], ignore_index=True)
