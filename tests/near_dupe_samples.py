"""A labelled near-duplicate set built from real posts (../shared/data): stories and their realistic copies.

Each story is a real Weibo post; its copies are what reprints do to a post: 转载/转自 prefixes, an added source
line, changed or dropped punctuation and spaces, the traditional-character version, a few characters cut or a
lead-in added, and combinations. Other real posts are the negatives, among them posts on the same subject.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from opencc import OpenCC

from tests.conftest import shared_file

PREFIXES = ("转载：", "【转】", "转自@人民日报：", "转发：", "#转载# ")
SOURCES = ("（来源：新京报）", "来源：澎湃新闻", "本文来自人民日报客户端", "（原标题：{head}）", "责任编辑：王明")
LEADS = ("据网友爆料，", "网传：", "最新消息！", "扩散！")


def _punctuation(text: str, rng: np.random.Generator) -> str:
    table = {"，": rng.choice([",", " ", "，，", ""]), "。": rng.choice([".", "！", "", "。。"]),
             "！": rng.choice(["!", "！！！", ""]), "？": rng.choice(["?", "？？"])}
    return "".join(table.get(c, c) for c in text)


def _edits(text: str, rng: np.random.Generator, s2t: OpenCC) -> str:
    kinds = rng.choice(["prefix", "source", "punct", "trad", "cut", "lead"], size=rng.integers(1, 4), replace=False)
    out = text
    if "cut" in kinds:  # a few characters cut off the end (a truncated reprint)
        out = out[:max(12, int(len(out) * rng.uniform(0.85, 0.95)))]
    if "punct" in kinds:
        out = _punctuation(out, rng)
    if "trad" in kinds:
        out = s2t.convert(out)
    if "lead" in kinds:
        out = rng.choice(LEADS) + out
    if "prefix" in kinds:
        out = rng.choice(PREFIXES) + out
    if "source" in kinds:
        out = out + rng.choice(SOURCES).format(head=text[:10])
    return out


def labelled_set(stories: int = 300, negatives: int = 900, seed: int = 4) -> pd.DataFrame:
    """Columns: text, story (the story id; negatives are stories of one post), created_at (copies after their
    story's first post, in a shuffled order of rows)."""
    rng = np.random.default_rng(seed)
    s2t = OpenCC("s2t")
    train = pd.read_csv(shared_file("sentiment_train.csv.gz"), usecols=["source", "text"]).dropna()
    weibo = train[train["source"].isin(["weibo_senti_100k", "osm2022_train", "smp2020_ewect_train"])
                  & train["text"].str.len().between(30, 200)]["text"].drop_duplicates()
    picked = weibo.sample(n=stories + negatives, random_state=seed).tolist()
    rows = []
    start = pd.Timestamp("2026-11-20 08:00", tz="Asia/Shanghai")
    for k, original in enumerate(picked):
        at = start + pd.Timedelta(minutes=int(rng.integers(0, 7 * 24 * 60)))
        rows.append((original, k, at))
        if k < stories:
            for _ in range(int(rng.integers(1, 5))):
                rows.append((_edits(original, rng, s2t), k, at + pd.Timedelta(minutes=int(rng.integers(1, 2000)))))
    frame = pd.DataFrame(rows, columns=["text", "story", "created_at"])
    return frame.sample(frac=1, random_state=seed).reset_index(drop=True)


def pair_scores(story: np.ndarray, cluster: np.ndarray) -> tuple[float, float]:
    """Pairwise precision and recall: pairs put in one cluster vs pairs of one story."""
    frame = pd.DataFrame({"story": story, "cluster": cluster})
    both = frame.groupby(["story", "cluster"]).size()
    same_both = int((both * (both - 1) // 2).sum())
    by_cluster = frame.groupby("cluster").size()
    by_story = frame.groupby("story").size()
    predicted = int((by_cluster * (by_cluster - 1) // 2).sum())
    actual = int((by_story * (by_story - 1) // 2).sum())
    return (same_both / predicted if predicted else 1.0), (same_both / actual if actual else 1.0)
