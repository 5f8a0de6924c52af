"""Train the 'domain' sentiment model on sentiment_train.csv.gz; write analysis/models/sentiment_domain.npz.

Reproducible (fixed seed). scikit-learn is needed here only (requirements-dev); scoring uses numpy.

    .venv/bin/python tools/train_sentiment.py            # train, tune thresholds, print metrics, save
    .venv/bin/python tools/train_sentiment.py --dry-run  # same, without writing the model
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from analysis import config, sentiment, text  # noqa: E402

DATA = config.shared_data_dir()
SEED = 20261123
VERSION = "2026-11-23"


def load_train(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path)
    # Emoticons gave weibo_senti_100k its labels: scoring_texts strips them (and URLs, @, //@ chains),
    # exactly as score_posts does at runtime.
    df["clean"] = text.scoring_texts(df["text"].tolist())
    df = df[df["clean"] != ""].reset_index(drop=True)
    return df


def load_corrections(path: Path) -> pd.DataFrame:
    """Analysts' corrections (text, label 正面/负面; 中性 carries no binary signal) as one more source."""
    extra = pd.read_csv(path)
    extra = extra[extra["label"].isin(["正面", "负面"])].copy()
    extra["label"] = (extra["label"] == "正面").astype(float)
    extra["source"] = "analyst_corrections"
    extra["label3"] = None
    extra["clean"] = text.scoring_texts(extra["text"].tolist())
    return extra[extra["clean"] != ""].reset_index(drop=True)


def split(df: pd.DataFrame, holdout: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks (fit, held out): held out = `holdout` of each source x label, plus all neutral rows."""
    held = np.zeros(len(df), dtype=bool)
    for _, idx in df.groupby(["source", df["label"].fillna(-1), df["label3"].fillna("")]).groups.items():
        idx = np.asarray(idx)
        take = rng.permutation(idx)[: int(round(len(idx) * holdout))]
        held[take] = True
    neutral = (df["label3"] == "neutral").to_numpy()
    binary = df["label"].notna().to_numpy()
    return binary & ~held, (held & binary) | neutral


def source_weights(df: pd.DataFrame, cap: int) -> np.ndarray:
    """Each source counts at most `cap` rows in total, each class of a source half of that source."""
    w = np.zeros(len(df))
    for _, idx in df.groupby(["source", "label"]).groups.items():
        idx = np.asarray(idx)
        src = df.loc[idx[0], "source"]
        n_src = int((df["source"] == src).sum())
        w[idx] = min(n_src, cap) / 2 / len(idx)
    return w * len(df) / w.sum()


def vectorize(texts: list[str], vocab: dict[str, int] | None, length_norm: bool, min_df: int):
    from scipy import sparse

    rows, cols, vals = [], [], []
    grams_all = [sentiment.features(sentiment.prepare(s)) for s in texts]
    if vocab is None:
        df_count: dict[str, int] = {}
        for grams in grams_all:
            for g in set(grams):
                df_count[g] = df_count.get(g, 0) + 1
        vocab = {g: k for k, g in enumerate(sorted(g for g, c in df_count.items() if c >= min_df))}
    for r, grams in enumerate(grams_all):
        counts: dict[int, int] = {}
        for g in grams:
            k = vocab.get(g)
            if k is not None:
                counts[k] = counts.get(k, 0) + 1
        scale = 1.0 / np.sqrt(len(grams)) if length_norm and grams else 1.0
        rows += [r] * len(counts)
        cols += list(counts)
        vals += [c * scale for c in counts.values()]
    x = sparse.csr_matrix((vals, (rows, cols)), shape=(len(texts), len(vocab)), dtype=np.float64)
    return x, vocab


def macro_f1(truth, pred, classes, weight=None) -> float:
    w = np.ones(len(truth)) if weight is None else weight
    f1 = []
    for c in classes:
        tp = np.sum(w * ((truth == c) & (pred == c)))
        fp = np.sum(w * ((truth != c) & (pred == c)))
        fn = np.sum(w * ((truth == c) & (pred != c)))
        f1.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1))


def tune_thresholds(p: np.ndarray, label3: np.ndarray) -> tuple[float, float, float]:
    """(low, high, macro-F1) maximizing class-balanced 3-class macro-F1 (each class weighs the same, so
    the held-out class mix does not set the width of the neutral band); low <= 0.5 <= high."""
    classes = ["positive", "neutral", "negative"]
    counts = {c: max(int(np.sum(label3 == c)), 1) for c in classes}
    weight = np.array([1.0 / counts[c] for c in label3])
    best = (0.35, 0.65, -1.0)
    for low in np.arange(0.15, 0.501, 0.01):
        for high in np.arange(0.5, 0.851, 0.01):
            pred = np.where(p < low, "negative", np.where(p > high, "positive", "neutral"))
            f = macro_f1(label3, pred, classes, weight)
            if f > best[2] + 1e-9:
                best = (round(float(low), 2), round(float(high), 2), f)
    return best


def per_source(df: pd.DataFrame, p: np.ndarray) -> dict[str, dict[str, float]]:
    out = {}
    y = df["label"].to_numpy().astype(int)
    pred = (p >= 0.5).astype(int)
    for src in sorted(df["source"].unique()):
        m = (df["source"] == src).to_numpy()
        out[src] = {"n": int(m.sum()), "accuracy": round(float(np.mean(pred[m] == y[m])), 4),
                    "macro_f1": round(macro_f1(y[m], pred[m], [0, 1]), 4)}
    out["ALL"] = {"n": len(df), "accuracy": round(float(np.mean(pred == y)), 4),
                  "macro_f1": round(macro_f1(y, pred, [0, 1]), 4)}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--C", type=float, nargs="+", default=[3.0],
                    help="one or more; the best on the held-out split wins (0.3, 1, 3, 10 were compared)")
    ap.add_argument("--cap", type=int, default=12000, help="max effective rows per source")
    ap.add_argument("--min-df", type=int, default=2)
    ap.add_argument("--holdout", type=float, default=0.1)
    ap.add_argument("--no-length-norm", action="store_true")
    ap.add_argument("--max-features", type=int, default=400_000, help="keep the largest |weights|")
    ap.add_argument("--dry-run", action="store_true")
    ap.add_argument("--out", type=Path, default=sentiment.DOMAIN_MODEL_PATH)
    ap.add_argument("--extra", type=Path, help="CSV of text,label (analysts' corrections) added to the fitted rows")
    ap.add_argument("--sample", type=int, help="fit on this many random training rows (quick checks only)")
    args = ap.parse_args(argv)
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(SEED)
    t0 = time.time()
    train = load_train(DATA / "sentiment_train.csv.gz")
    fit_mask, held_mask = split(train, args.holdout, rng)
    fit, held = train[fit_mask].reset_index(drop=True), train[held_mask].reset_index(drop=True)
    if args.sample:
        fit = fit.sample(n=min(args.sample, len(fit)), random_state=SEED).reset_index(drop=True)
    if args.extra:
        fit = pd.concat([fit, load_corrections(args.extra)], ignore_index=True)
    dev = pd.read_csv(DATA / "sentiment_dev.csv.gz")
    dev["clean"] = text.scoring_texts(dev["text"].tolist())
    length_norm = not args.no_length_norm
    n_neutral = int((held.label3 == "neutral").sum())
    print(f"train rows used {len(fit)}, held out {len(held)} (neutral {n_neutral}),"
          f" dev {len(dev)}; prep {time.time() - t0:.1f}s")
    print(fit.groupby("source")["label"].agg(["size", "mean"]).to_string())

    x_fit, vocab = vectorize(fit["clean"].tolist(), None, length_norm, args.min_df)
    x_held, _ = vectorize(held["clean"].tolist(), vocab, length_norm, args.min_df)
    y_fit = fit["label"].to_numpy().astype(int)
    weights = source_weights(fit, args.cap)
    print(f"features {len(vocab)}, nnz {x_fit.nnz}; vectorized {time.time() - t0:.1f}s")
    held_bin = held[held["label"].notna()].reset_index(drop=True)
    held_bin_mask = held["label"].notna().to_numpy()

    best = None
    for c in args.C:
        clf = LogisticRegression(C=c, solver="liblinear", max_iter=200, random_state=SEED)
        clf.fit(x_fit, y_fit, sample_weight=weights)
        p_held = clf.predict_proba(x_held)[:, 1]
        m = per_source(held_bin, p_held[held_bin_mask])
        mean_f1 = float(np.mean([v["macro_f1"] for k, v in m.items() if k != "ALL"]))
        print(f"C={c}: held-out mean source macro-F1 {mean_f1:.4f}  {json.dumps(m['ALL'])}"
              f"  {time.time() - t0:.0f}s")
        if best is None or mean_f1 > best[0]:
            best = (mean_f1, c, clf, p_held)
    _, c, clf, p_held = best
    print(f"chosen C={c}")

    coef = clf.coef_.ravel()
    inv_vocab = np.empty(len(vocab), dtype=object)
    for g, k in vocab.items():
        inv_vocab[k] = g
    keep = np.flatnonzero(np.abs(coef) > 1e-4)
    if len(keep) > args.max_features:
        keep = keep[np.argsort(-np.abs(coef[keep]))[: args.max_features]]
    keep = np.sort(keep)
    codes = np.array([sentiment.gram_code(g) for g in inv_vocab[keep]], dtype=np.int64)
    order = np.argsort(codes)
    codes, w = codes[order], coef[keep][order].astype(np.float16)

    # Thresholds: 3-class macro-F1 on held-out smp2020 (the only source with a neutral class).
    smp = (held["source"] == "smp2020_ewect_train").to_numpy() & held["label3"].notna().to_numpy()
    low, high, f3 = tune_thresholds(p_held[smp], held.loc[smp, "label3"].to_numpy())
    print(f"thresholds low={low} high={high} "
          f"(held-out smp2020 class-balanced 3-class macro-F1 {f3:.4f}, n={int(smp.sum())})")

    payload = dict(codes=codes, weights=w,
                   bias=np.float64(clf.intercept_[0]), thresholds=np.array([low, high]),
                   version=np.str_(VERSION), length_norm=np.bool_(length_norm))
    out = args.out if not args.dry_run else Path("/tmp/sentiment_domain_dryrun.npz")
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **payload)
    print(f"model {out} {out.stat().st_size / 1e6:.2f} MB, {len(keep)} weights")

    # Metrics of the saved (pruned, float16) model through the runtime path.
    model = sentiment.DomainModel(out)
    nonempty = dev["clean"] != ""
    p_dev = np.full(len(dev), 0.5)
    t1 = time.perf_counter()
    p_dev[nonempty.to_numpy()] = model.predict_proba(dev.loc[nonempty, "clean"].tolist())
    rate = int(nonempty.sum()) / (time.perf_counter() - t1)
    dev_metrics = per_source(dev, p_dev)
    print("dev (binary, emoticons stripped):")
    print(json.dumps(dev_metrics, ensure_ascii=False, indent=1))
    mean_dev = np.mean([v["macro_f1"] for k, v in dev_metrics.items() if k != "ALL"])
    print(f"dev mean source macro-F1 {mean_dev:.4f}; runtime scoring {rate:.0f} posts/s (cleaned texts)")
    for probe in ["不高兴", "很高兴", "不错", "太差了", "关于做好防汛工作的通知：各单位要加强值班值守"]:
        print(f"  {probe}: {float(model.predict_proba([probe])[0]):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
