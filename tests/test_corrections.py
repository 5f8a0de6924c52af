"""Analysts' corrections: they override the label everywhere, survive re-scoring, and measure the model."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from analysis import corrections, metrics
from analysis.filters import Filters
from analysis.store import Store
from tests.factories import write_posts

DAY = Filters(dt.date(2026, 11, 10), dt.date(2026, 11, 10))
TEXTS = ["今天天气很好，心情不错", "物业乱收费，投诉多次没人管，太气人了", "关于做好冬季供暖工作的通知", "不高兴"]


@pytest.fixture()
def store(db_path):
    with Store(db_path) as opened:
        write_posts(
            opened,
            [
                {
                    "post_id": f"c{i}",
                    "created_at": f"2026-11-10 1{i}:00",
                    "text": text,
                    "text_norm": text,
                    "sentiment_label": label,
                    "sentiment_score": score,
                    "sentiment_model": "domain@test",
                }
                for i, (text, label, score) in enumerate(
                    zip(TEXTS, ["正面", "负面", "负面", "中性"], [0.9, 0.1, 0.3, 0.5], strict=True)
                )
            ],
        )
        yield opened


def test_correction_overrides_the_label_everywhere_and_is_audited(store):
    before = metrics.headline(store, DAY).current["negative"]
    corrections.correct(store, "c2", "中性", actor="分析员甲", note="政府通知，非负面")
    assert metrics.headline(store, DAY).current["negative"] == before - 1
    standing = corrections.latest_corrections(store).set_index("post_id").loc["c2"]
    assert (standing["label"], standing["model_label"], standing["corrected_by"]) == ("中性", "负面", "分析员甲")
    assert store.scalar("SELECT count(*) FROM audit_log WHERE action = 'sentiment_correction'") == 1


def test_second_correction_keeps_the_models_original_verdict(store):
    corrections.correct(store, "c1", "中性", actor="a")
    corrections.correct(store, "c1", "负面", actor="b")
    standing = corrections.latest_corrections(store).set_index("post_id").loc["c1"]
    assert (standing["label"], standing["model_label"]) == ("负面", "负面")
    assert corrections.model_accuracy(store) == {"n": 1, "accuracy": 1.0}


def test_bad_corrections_are_refused_in_chinese(store):
    with pytest.raises(ValueError, match="情感标签只能是"):
        corrections.correct(store, "c1", "很好", actor="a")
    with pytest.raises(ValueError, match="帖子不存在"):
        corrections.correct(store, "nope", "正面", actor="a")


def test_uncertain_posts_are_the_ones_nearest_a_boundary_and_unchecked(store):
    corrections.correct(store, "c3", "负面", actor="a")
    listed = corrections.uncertain_posts(store, DAY)["post_id"].tolist()
    assert "c3" not in listed
    assert listed[0] == "c2"  # 0.3 is the score nearest a label boundary among the unchecked


def test_rescoring_in_bulk_switches_model_and_keeps_corrections(store):
    corrections.correct(store, "c0", "负面", actor="a")
    assert corrections.rescore(store, "snownlp") == 4
    rows = store.query("SELECT post_id, sentiment_label, sentiment_model FROM posts ORDER BY post_id")
    assert set(rows["sentiment_model"]) == {"snownlp@0.12.3"}
    assert rows.set_index("post_id").loc["c0", "sentiment_label"] == "负面"


def test_retrain_folds_corrections_in_and_compares_before_replacing(store, db_path, capsys):
    from analysis import sentiment

    corrections.correct(store, "c1", "正面", actor="a")
    store.close()
    before = sentiment.DOMAIN_MODEL_PATH.read_bytes()
    assert corrections.cli_retrain(["--db", str(db_path), "--sample", "2000"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["corrections"]["n"] == 1 and report["dev"]["n"] > 7000
    assert 0.5 < report["dev"]["current"] <= 1 and 0.5 < report["dev"]["candidate"] <= 1
    assert report["decision"] in ("replace", "keep current") and report["applied"] is False
    assert sentiment.DOMAIN_MODEL_PATH.read_bytes() == before  # a sample-trained model never replaces the real one
