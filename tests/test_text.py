"""Tests for analysis.text: normalization, scoring text, repost chains, tokenization."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import text
from tests.conftest import SHARED_DATA

DATA = SHARED_DATA


def test_traditional_to_simplified():
    assert text.normalize("乾淨的頭髮，儘管如此") == "干净的头发，尽管如此"
    assert text.normalize("網友回覆：這個軟體很好") == "网友回复：这个软体很好"
    # phrase-level conversion (覆 alone is also simplified)
    assert text.normalize("反覆沈默") == "反复沉默"


def test_fullwidth_to_halfwidth_keeps_chinese_punctuation():
    assert text.normalize("ＡＢＣ１２３＃话题＃＠张三") == "ABC123#话题#@张三"
    assert text.normalize("你好，世界！真的？（是）：好；") == "你好，世界！真的？（是）：好；"
    assert text.normalize("  前\u3000后\n\t空格\u200b ") == "前 后 空格"


@pytest.mark.parametrize("value", [None, "", "   ", "\u3000"])
def test_normalize_empty(value):
    assert text.normalize(value) == ""


def test_normalize_many_matches_normalize_on_real_posts():
    posts = pd.read_csv(DATA / "cascades_dev.csv.gz", usecols=["text"], nrows=3000)["text"].tolist()
    many = text.normalize_many(posts)
    assert len(many) == len(posts)
    assert many == [text.normalize(None if isinstance(p, float) else p) for p in posts]
    assert many.count("") >= 900  # 990 NaN (empty pure reposts) become ''


def test_scoring_text_strips_noise_keeps_topic_words():
    got = text.scoring_text("#成都49中#无法无天！@某某 看看 https://t.cn/Rx1中文[怒]")
    assert got == "成都49中 无法无天！ 看看 中文"
    assert text.scoring_text("回复@林白月:哦，城管真好！") == "哦，城管真好！"
    assert text.scoring_text("好开心[哈哈] //@张三: 是啊//@李四：哈哈 http://t.cn/abc") == "好开心"
    assert text.scoring_text("ＯＫ　太棒了 www.example.com") == "OK 太棒了"


def test_split_repost_nested_chain():
    own, chain = text.split_repost("说得好//@张三: 同意//@李四：必须转//@王_五-6:原文在此")
    assert own == "说得好"
    assert chain == [("张三", "同意"), ("李四", "必须转"), ("王_五-6", "原文在此")]


def test_split_repost_pure_reposts():
    assert text.split_repost("//@张三: 同意//@李四：原文") == ("", [("张三", "同意"), ("李四", "原文")])
    assert text.split_repost("转发微博//@张三:原文") == ("", [("张三", "原文")])
    assert text.split_repost("转发微博") == ("", [])
    assert text.split_repost("") == ("", [])
    assert text.split_repost(None) == ("", [])


@pytest.mark.parametrize("post, pure", [
    ("//@张三: 是啊", True),
    ("转发微博", True),
    ("", True),
    (None, True),
    ("[哈哈]//@张三: 是啊", True),
    ("@李四 //@张三: 是啊", True),
    ("好文//@张三: 是啊", False),
    ("今天天气不错", False),
])
def test_a_pure_repost_leaves_nothing_to_score(post, pure):
    assert (text.scoring_text(post) == "") is pure


@pytest.mark.parametrize("post", [None, "", "  ", "[哈哈][哈哈]", "🙂🙂", "@张三", "。。。", "http://t.cn/x"])
def test_no_own_words(post):
    assert text.scoring_text(post) == ""


def test_scoring_texts_on_real_cascades():
    posts = pd.read_csv(DATA / "cascades_dev.csv.gz", usecols=["text"])["text"].tolist()
    cleaned = text.scoring_texts(posts)
    assert len(cleaned) == 37158
    empty = sum(1 for c in cleaned if c == "")
    # 39 % of the texts are empty; mention/emoticon-only reposts add about 10 %
    assert 0.45 < empty / len(cleaned) < 0.55
    assert not any("@" in c or "http" in c for c in cleaned)
    one_by_one = [text.scoring_text(None if isinstance(p, float) else p) for p in posts[:2000]]
    assert cleaned[:2000] == one_by_one


def test_tokenize_uses_opinion_user_words():
    words = text.tokenize("网民反映小区物业费乱收费，拖欠工资的农民工讨薪")
    for word in ("网民", "物业费", "乱收费", "拖欠工资", "农民工", "讨薪"):
        assert word in words
    assert text.tokenize("") == []
    assert text.tokenize_many(["", "安全隐患"]) == [[], ["安全隐患"]]
