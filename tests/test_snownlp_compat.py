"""score_snownlp returns exactly SnowNLP(t).sentiments, on real posts and on awkward texts."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pandas as pd
import pytest
from snownlp import SnowNLP
from snownlp import seg as snow_seg
from snownlp.seg.seg import Seg

from analysis import snownlp_compat
from analysis.snownlp_compat import NEUTRAL, score_snownlp
from tests.conftest import shared_file

EDGE_TEXTS = [
    "說話很難聽，服務態度極差，再也不來了",  # traditional characters
    "😀😀 好开心🎉[哈哈]",  # emoji and a Weibo emoticon code
    "123 abc 很好 OK!!! 4.5分",  # digits and latin
    "！！！",  # punctuation only
    "。，、",
    "a",
    "第一行\n第二行\r\n\n第三行\t结束",  # newlines and tabs
    "\t 很好 \n",  # surrounding whitespace
    "龘",  # characters SnowNLP's segmenter has never seen (its 'not found' path)
    "龘龘",
    "龘好",
    "好龘",
    "今天龘天气好",
    "天气好龘龘龘",
    "龘靐齉很差",
    "的",
    "好",
    "好好",
    "不不不不不不不不不不不不不不不不不不不不",
    "回复@小王:说得对//@老李: 转发微博",
]


def reference(texts: list[str]) -> np.ndarray:
    return np.array([SnowNLP(t).sentiments for t in texts], dtype=np.float64)


@pytest.fixture(scope="module")
def dev_sample() -> list[str]:
    dev = pd.read_csv(shared_file("sentiment_dev.csv.gz"))
    return dev.sample(n=300, random_state=20261123)["text"].tolist()


def cold_model(monkeypatch) -> None:
    """Forget the memoised tables, so the next call builds them from snownlp's models again."""
    monkeypatch.setattr(snownlp_compat, "_MODEL", None)


def test_identical_to_snownlp_on_real_posts(dev_sample, monkeypatch):
    cold_model(monkeypatch)
    got = score_snownlp(dev_sample)
    want = reference(dev_sample)
    assert got.dtype == np.float64
    assert got.shape == (300,)
    assert np.count_nonzero(got != want) == 0
    # a real spread of scores, not a constant
    assert got.min() < 0.05 and got.max() > 0.95


def test_identical_on_edge_cases(monkeypatch):
    long_text = "".join(EDGE_TEXTS) * 15 + "这家店的服务真是太好了，下次还来！" * 40
    texts = [*EDGE_TEXTS, long_text]
    assert len(long_text) > 2000
    cold_model(monkeypatch)
    np.testing.assert_array_equal(score_snownlp(texts), reference(texts))


def test_same_values_whatever_the_batching(dev_sample, monkeypatch):
    texts = dev_sample[:60] + EDGE_TEXTS
    cold_model(monkeypatch)
    whole = score_snownlp(texts)
    monkeypatch.setattr(snownlp_compat, "_BATCH_TEXTS", 7)
    cold_model(monkeypatch)
    batched = score_snownlp(texts)
    again = score_snownlp(list(reversed(texts)))[::-1]  # warm caches, other order
    np.testing.assert_array_equal(batched, whole)
    np.testing.assert_array_equal(again, whole)


def test_empty_missing_and_blank_texts_are_neutral():
    texts = ["", None, "   ", "\n\t", float("nan"), "很好", ""]
    got = score_snownlp(texts)
    assert got.tolist()[:5] == [NEUTRAL] * 5
    assert got[6] == NEUTRAL
    assert got[5] == SnowNLP("很好").sentiments
    assert score_snownlp([]).shape == (0,)
    with pytest.raises(ZeroDivisionError):  # why "" needs a defined value at all
        _ = SnowNLP("").sentiments


def test_word_pattern_matches_snownlp_tag_grouping():
    class FixedTags:
        def __init__(self, tags):
            self.tags = tags

        def tag(self, sentence):
            return zip(sentence, self.tags, strict=True)

    rng = random.Random(5)
    for _ in range(500):
        n = rng.randint(1, 12)
        tags = [rng.choice("bmes") for _ in range(n)]
        run = "".join(chr(0x4E00 + i) for i in range(n))
        segger = Seg()
        segger.segger = FixedTags(tags)
        want = list(segger.seg(run))
        got = [run[m.start() : m.end()] for m in snownlp_compat._WORD_PATTERN.finditer("".join(tags))]
        assert got == want


def test_model_invariants_the_lookup_pruning_relies_on():
    # Checked on every entry once during development (345,726 bigrams, 928,492 trigrams); a fixed
    # stride of the shipped model keeps this test fast.
    gen = snow_seg.segger.segger
    uni, bi, tri = gen.uni.d, gen.bi.d, gen.tri.d
    assert (len(bi), len(tri)) == (345_726, 928_492)
    valid = {("b", "m"), ("b", "e"), ("m", "m"), ("m", "e"), ("e", "b"), ("e", "s"), ("s", "b"), ("s", "s")}
    for (a, b), n in itertools.islice(bi.items(), 0, None, 7):
        assert n > 0 and uni.get(a, 0) > 0 and uni.get(b, 0) > 0
        assert "BOS" in (a[1], b[1]) or (a[1], b[1]) in valid
    for a, b, c in itertools.islice(tri, 0, None, 29):
        assert bi.get((a, b), 0) > 0 and bi.get((b, c), 0) > 0
