"""Analysts' sentiment corrections: kept with who/when, override the model's label everywhere, measure the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis import audit, sentiment, text
from analysis.config import SENTIMENT_LABELS
from analysis.filters import Filters
from analysis.store import Store, open_store


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
        audit.entry(actor, "sentiment_correction", post_id, {"from": model_label, "to": label, "note": note}),
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
            ORDER BY margin, p.created_at DESC, p.post_id LIMIT ?""",
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


def compare_models(current: Path, candidate: Path, texts: list[str], labels: list[str]) -> dict:
    """Binary accuracy (正面 vs 负面) of two domain-model files on the same labelled texts."""
    cleaned = text.scoring_texts(texts)
    keep = [i for i, (c, label) in enumerate(zip(cleaned, labels, strict=True)) if c and label in ("正面", "负面")]
    truth = np.array([labels[i] == "正面" for i in keep])
    result = {"n": len(keep)}
    for name, path in (("current", current), ("candidate", candidate)):
        scores = sentiment.DomainModel(path).predict_proba([cleaned[i] for i in keep]) if keep else np.array([])
        result[name] = float(((scores >= 0.5) == truth).mean()) if keep else None
    return result


def cli_retrain(argv: list[str]) -> int:
    """`retrain [--db DB] [--apply] [--sample N]`: fold corrections into a new domain model, compare, maybe replace."""
    import argparse
    import json as jsonlib
    import subprocess
    import sys
    import tempfile

    from analysis import config

    parser = argparse.ArgumentParser(prog="python -m analysis retrain",
                                     description="Retrain the domain sentiment model with analysts' corrections.")
    parser.add_argument("--db")
    parser.add_argument("--apply", action="store_true",
                        help="replace the model (and re-score every post) when the candidate is not worse")
    parser.add_argument("--sample", type=int, help="train on a sample (quick checks; never with --apply)")
    args = parser.parse_args(argv)
    db_path = config.resolve_db_path(args.db)
    with open_store(db_path, read_only=not args.apply) as store:
        corrected = latest_corrections(store)
    with tempfile.TemporaryDirectory(prefix="retrain-") as tmp:
        extra, candidate = Path(tmp) / "corrections.csv", Path(tmp) / "candidate.npz"
        corrected[["text", "label"]].to_csv(extra, index=False)
        command = [sys.executable, str(config.REPO_ROOT / "tools" / "train_sentiment.py"), "--extra", str(extra),
                   "--out", str(candidate)] + (["--sample", str(args.sample)] if args.sample else [])
        print(f"training on the shared data plus {len(corrected)} corrections…", file=sys.stderr)
        trained = subprocess.run(command, capture_output=True, text=True)
        if trained.returncode != 0:
            print(f"training failed: {trained.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
            return 1
        dev = pd.read_csv(config.shared_data_dir() / "sentiment_dev.csv.gz")
        report = {
            "corrections": compare_models(sentiment.DOMAIN_MODEL_PATH, candidate, corrected["text"].tolist(),
                                          corrected["label"].tolist()),
            "dev": compare_models(sentiment.DOMAIN_MODEL_PATH, candidate, dev["text"].tolist(),
                                  ["正面" if v == 1 else "负面" for v in dev["label"]]),
        }
        not_worse = report["dev"]["candidate"] >= report["dev"]["current"] - 0.005 and (
            report["corrections"]["n"] == 0 or report["corrections"]["candidate"] >= report["corrections"]["current"])
        report["decision"] = "replace" if not_worse else "keep current"
        if args.apply and not_worse and not args.sample:
            sentiment.DOMAIN_MODEL_PATH.write_bytes(candidate.read_bytes())
            sentiment.domain_model.cache_clear()
            with open_store(db_path) as store:
                report["rescored"] = rescore(store, "domain")
        report["applied"] = bool(args.apply and not_worse and not args.sample)
    print(jsonlib.dumps(report, ensure_ascii=False))
    return 0
