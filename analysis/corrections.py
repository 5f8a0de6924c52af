"""Analysts' sentiment corrections: kept with who/when, override the model's label everywhere, measure the model."""

from __future__ import annotations

import json

import pandas as pd

from analysis import sentiment
from analysis.config import SENTIMENT_LABELS
from analysis.filters import Filters
from analysis.store import Store


def correct(store: Store, post_id: str, label: str, actor: str, note: str | None = None) -> None:
    """Record the right label and apply it to the post; the model's own verdict stays in the record."""
    if label not in SENTIMENT_LABELS:
        raise ValueError(f"情感标签只能是：{'、'.join(SENTIMENT_LABELS)}")
    current = store.query("SELECT sentiment_label, sentiment_score, sentiment_model FROM posts WHERE post_id = ?",
                          [post_id])
    if current.empty:
        raise ValueError(f"帖子不存在：{post_id}")
    previous = store.query("SELECT model_label, model_score, model FROM sentiment_corrections WHERE post_id = ? "
                           "ORDER BY corrected_at LIMIT 1", [post_id])
    model_row = previous.iloc[0] if len(previous) else current.iloc[0]
    model_label, model_score, model = (model_row.iloc[0], float(model_row.iloc[1]), model_row.iloc[2])
    store.execute([
        ("INSERT INTO sentiment_corrections (post_id, label, model_label, model_score, model, corrected_by, note) "
         "VALUES (?, ?, ?, ?, ?, ?, ?)", [post_id, label, model_label, model_score, model, actor, note]),
        ("UPDATE posts SET sentiment_label = ? WHERE post_id = ?", [label, post_id]),
        ("INSERT INTO audit_log (actor, action, target, details) VALUES (?, 'sentiment_correction', ?, ?)",
         [actor, post_id, json.dumps({"from": model_label, "to": label, "note": note}, ensure_ascii=False)]),
    ])


def latest_corrections(store: Store) -> pd.DataFrame:
    """The standing correction per post (the newest), with the model's verdict beside it."""
    return store.query(
        """SELECT c.post_id, arg_max(c.label, c.corrected_at) AS label, any_value(c.model_label) AS model_label,
                  any_value(c.model_score) AS model_score, any_value(c.model) AS model,
                  arg_max(c.corrected_by, c.corrected_at) AS corrected_by, max(c.corrected_at) AS corrected_at,
                  any_value(p.text) AS text
           FROM sentiment_corrections c JOIN posts p USING (post_id)
           GROUP BY c.post_id ORDER BY corrected_at DESC"""
    )


def model_accuracy(store: Store) -> dict:
    """How often the model agreed with the analysts on the posts they corrected or confirmed."""
    frame = latest_corrections(store)
    if frame.empty:
        return {"n": 0, "accuracy": None}
    return {"n": len(frame), "accuracy": float((frame["label"] == frame["model_label"]).mean())}


def uncertain_posts(store: Store, f: Filters, limit: int = 200) -> pd.DataFrame:
    """Posts whose score sits closest to a label boundary and nobody has checked yet: where review pays most."""
    low, high = sentiment.thresholds()
    where, params = f.where("p")
    return store.query(
        f"""SELECT p.post_id, p.created_at, p.channel, p.text, p.sentiment_label, p.sentiment_score,
                   least(abs(p.sentiment_score - ?), abs(p.sentiment_score - ?)) AS margin
            FROM posts p
            WHERE {where} AND length(trim(p.text)) > 0
              AND NOT EXISTS (SELECT 1 FROM sentiment_corrections c WHERE c.post_id = p.post_id)
            ORDER BY margin, p.created_at DESC LIMIT ?""",
        [low, high, *params, int(limit)],
    )


def rescore(store: Store, model: str) -> int:
    """Score every post again with `model`, in bulk; analysts' corrections still win afterwards."""
    posts = store.query("SELECT post_id, text, title FROM posts")
    inputs = [body if body.strip() else (title or "") for body, title in zip(posts["text"], posts["title"],
                                                                              strict=True)]
    scores = sentiment.score_posts(inputs, model=model)
    frame = pd.concat([posts[["post_id"]], scores], axis=1)
    store.replace_scores(frame)
    return len(frame)
