"""Tests for analysis.topics: seed dictionary, topic assignment and keyword extraction."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest

from analysis import config, text, topics
from tests.conftest import SHARED_DATA

DATA = SHARED_DATA


def test_dictionary_covers_every_topic():
    assert set(topics.TOPIC_KEYWORDS) == set(config.TOPICS)
    for words in topics.TOPIC_KEYWORDS.values():
        assert len(words) >= 25
        assert all(w == text.normalize(w) for w in words)


@pytest.mark.parametrize("post, expected_first", [
    ("关于做好防汛工作的通知：各单位要加强值班值守", "防汛救灾"),
    ("某化工厂发生爆炸，造成3人伤亡", "安全生产"),
    ("小区物业费乱收费，业主投诉无门，物业公司不管", "物业小区"),
    ("农民工讨薪被打，包工头拖欠工资半年", "欠薪维权"),
    ("学校食堂饭菜发霉，学生集体腹泻，家长要求教育局调查", "教育"),
    ("夜市有人持刀行凶，民警已将嫌疑人控制", "社会治安"),
    ("化肥厂偷排废水，河里死鱼一片，恶臭刺鼻", "环境污染"),
    ("村里强拆，补偿款至今未到位", "拆迁征收"),
    ("路口红绿灯坏了三天，早高峰堵车严重", "交通出行"),
    ("患者在医院急诊等了五个小时没人管", "医疗卫生"),
    ("超市卖过期食品，还有地沟油", "食品药品"),
    ("办个营业执照跑了六趟，窗口吃拿卡要", "营商环境"),
])
def test_assign_topics_on_sample_texts(post, expected_first):
    (assigned,) = topics.assign_topics([text.normalize(post)])
    assert assigned[0] == expected_first
    assert topics.primary_topic(assigned) == expected_first


def test_unmatched_and_empty_texts():
    assert topics.assign_topics(["今天天气不错，心情很好", "", None]) == [[], [], []]
    assert topics.primary_topic([]) == config.UNCLASSIFIED_TOPIC
    assert topics.primary_topic(None) == config.UNCLASSIFIED_TOPIC


def test_multiple_topics_ordered_by_hits():
    (assigned,) = topics.assign_topics(["暴雨导致内涝，积水路段多车熄火，公交停运"])
    assert assigned == ["防汛救灾", "交通出行"]


def test_custom_dictionary_replaces_seed_and_is_case_insensitive():
    custom = {"网络安全": ["APP", "数据泄露"], "安全生产": ["爆炸"]}
    got = topics.assign_topics(["某app数据泄露", "锅炉爆炸", "无关内容"], dictionary=custom)
    assert got == [["网络安全"], ["安全生产"], []]


def test_assign_topics_on_real_cascades():
    posts = pd.read_csv(DATA / "cascades_dev.csv.gz", usecols=["text"])["text"].tolist()
    assigned = topics.assign_topics(text.normalize_many(posts))
    assert len(assigned) == len(posts)
    primary = Counter(topics.primary_topic(t) for t in assigned)
    # rumour cascades: mostly everyday talk; 教育 and 社会治安 are the largest matched areas
    assert primary[config.UNCLASSIFIED_TOPIC] > 0.9 * len(posts)
    assert primary.most_common(3)[1][0] in ("教育", "社会治安")
    assert sum(n for t, n in primary.items() if t != config.UNCLASSIFIED_TOPIC) > 500


def test_extract_keywords_samples():
    posts = ["小区物业费乱收费，业主投诉无门，物业公司不管", "",
             "某化工厂发生爆炸，造成3人伤亡 http://t.cn/abc @张三"]
    kw = topics.extract_keywords([text.normalize(p) for p in posts], top_k=3)
    assert len(kw) == 3 and kw[1] == []
    assert len(kw[0]) == 3 and "物业费" in kw[0]
    assert "化工厂" in kw[2]
    assert not any("http" in w or "张三" in w for w in kw[2])


def test_extract_keywords_on_real_posts():
    posts = pd.read_csv(DATA / "sentiment_dev.csv.gz", usecols=["text"], nrows=2000)["text"].tolist()
    kw = topics.extract_keywords(text.normalize_many(posts), top_k=5)
    assert len(kw) == len(posts)
    assert all(len(k) <= 5 for k in kw)
    flat = [w for k in kw for w in k]
    assert len(flat) > 5000
    assert not set(flat) & topics.STOP_WORDS
    assert all(len(w) >= 2 for w in flat)
