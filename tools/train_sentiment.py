"""Train the 'domain' sentiment model on sentiment_train.csv.gz; write analysis/models/sentiment_domain.npz.

Reproducible (fixed seed). scikit-learn is needed here only (requirements-dev); scoring uses numpy.

    .venv/bin/python tools/train_sentiment.py            # train, tune thresholds, print metrics, save
    .venv/bin/python tools/train_sentiment.py --dry-run  # same, without writing the model
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from analysis import config, sentiment  # noqa: E402

DATA = config.shared_data_dir()
SEED = 20261123
VERSION = "2026-12-02"


def gram_code(gram: str) -> int:
    """A 1-3-gram as one int64, 21 bits per character (1-grams < 2**21 <= 2-grams < 2**42 <= 3-grams): the
    codes DomainModel._grams computes from code points at scoring time."""
    code = 0
    for ch in gram:
        code = (code << 21) | ord(ch)
    return code


_EMOTICON_CODE = re.compile(r"\[[^\[\]\s]{1,10}\]")


def strip_emoticons(raw: str) -> str:
    """The text without its Weibo [emoticon] codes: how the emoticon-labelled source is judged."""
    return re.sub(r"\s+", " ", _EMOTICON_CODE.sub(" ", raw)).strip()


EMOTICON_LABELLED = "weibo_senti_100k"  # labelled from its emoticons: its rows are fitted without the marks


def load_train(path: Path) -> pd.DataFrame:
    """Training rows with `clean`, the model text (sentiment.model_texts) the runtime scores.

    weibo_senti_100k got its labels from its emoticons, so its rows are fitted on words only (no marks):
    their marks would predict the label perfectly and no word would be learned.
    """
    df = pd.read_csv(path)
    df["text"] = df["text"].fillna("").astype(str)
    emo_labelled = (df["source"] == EMOTICON_LABELLED).to_numpy()
    df["clean"] = sentiment.model_texts(df["text"].tolist())
    df.loc[emo_labelled, "clean"] = sentiment.model_texts(df.loc[emo_labelled, "text"].tolist(), marks=False)
    df["marks"] = [sentiment.emoticon_marks(t.split("//@", 1)[0]) if e else ""
                   for t, e in zip(df["text"], emo_labelled, strict=True)]
    return df[(df["clean"] != "") | (df["marks"] != "")].reset_index(drop=True)


def emoticon_rows(fit: pd.DataFrame) -> pd.DataFrame:
    """The emoticon lexicon weibo_senti_100k was labelled with: its fitted rows' marks alone, same labels."""
    rows = fit[(fit["source"] == EMOTICON_LABELLED) & (fit["marks"] != "")].copy()
    rows["clean"] = rows["marks"]
    rows["source"] = EMOTICON_LABELLED + "_emoticons"
    return rows


def load_corrections(path: Path) -> pd.DataFrame:
    """Analysts' corrections (text, label 正面/负面; 中性 carries no binary signal) as one more source."""
    extra = pd.read_csv(path)
    extra = extra[extra["label"].isin(["正面", "负面"])].copy()
    extra["label"] = (extra["label"] == "正面").astype(float)
    extra["source"] = "analyst_corrections"
    extra["label3"] = None
    extra["clean"] = sentiment.model_texts(extra["text"].tolist())
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


def count_matrix(texts: list[str], vocab: dict[str, int] | None, min_df: int):
    """Gram counts per text (sentiment.features of prepare()d text) and the vocabulary (grams in >= min_df)."""
    from scipy import sparse

    grams_all = [sentiment.features(sentiment.prepare(s)) for s in texts]
    if vocab is None:
        df_count: dict[str, int] = {}
        for grams in grams_all:
            for g in set(grams):
                df_count[g] = df_count.get(g, 0) + 1
        vocab = {g: k for k, g in enumerate(sorted(g for g, c in df_count.items() if c >= min_df))}
    rows, cols, vals = [], [], []
    for r, grams in enumerate(grams_all):
        counts: dict[int, int] = {}
        for g in grams:
            k = vocab.get(g)
            if k is not None:
                counts[k] = counts.get(k, 0) + 1
        rows += [r] * len(counts)
        cols += list(counts)
        vals += list(counts.values())
    x = sparse.csr_matrix((vals, (rows, cols)), shape=(len(texts), len(vocab)), dtype=np.float64)
    return x, vocab


def idf_of(counts) -> np.ndarray:
    """Smoothed idf (as sklearn's TfidfVectorizer): ln((1 + n) / (1 + df)) + 1."""
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    return np.log((1 + counts.shape[0]) / (1 + df)) + 1


def tfidf(counts, idf: np.ndarray):
    """count·idf / sqrt(Σ count·idf²): the runtime's weighting (DomainModel), exactly."""
    from scipy import sparse

    norm = np.sqrt(counts @ (idf ** 2))
    scale = np.divide(1.0, norm, out=np.zeros_like(norm), where=norm > 0)
    return (sparse.diags(scale) @ counts @ sparse.diags(idf)).tocsr()


def nb_ratio(counts, y: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """NBSVM's log-count ratio per gram: ln of (share of positive texts with it) / (share of negative ones)."""
    present = (counts > 0).astype(np.float64)
    p = alpha + np.asarray(present[y == 1].sum(axis=0)).ravel()
    q = alpha + np.asarray(present[y == 0].sum(axis=0)).ravel()
    return np.log((p / p.sum()) / (q / q.sum()))


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


NATURAL_MIX = {"negative": 3888, "neutral": 2136, "positive": 4726}  # smp2020 in sentiment_train


def three_class_f1(p: np.ndarray, label3: np.ndarray, low: float, high: float) -> dict[str, float]:
    """3-class macro-F1, class-balanced and re-weighted to smp2020's natural class mix (~20 % neutral)."""
    classes = list(NATURAL_MIX)
    pred = np.where(p < low, "negative", np.where(p > high, "positive", "neutral"))
    counts = {c: max(int(np.sum(label3 == c)), 1) for c in classes}
    return {"balanced": round(macro_f1(label3, pred, classes, np.array([1.0 / counts[c] for c in label3])), 4),
            "natural_mix": round(macro_f1(label3, pred, classes,
                                          np.array([NATURAL_MIX[c] / counts[c] for c in label3])), 4)}


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


WEIBO_SOURCES = (EMOTICON_LABELLED, "osm2022_train", "smp2020_ewect_train", "simplifyweibo_5_moods")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--C", type=float, nargs="+", default=[1.0],
                    help="one or more; the best mean held-out accuracy on the Weibo sources wins")
    ap.add_argument("--min-df", type=int, default=2)
    ap.add_argument("--holdout", type=float, default=0.1)
    ap.add_argument("--dry-run", action="store_true")
    ap.add_argument("--out", type=Path, default=sentiment.DOMAIN_MODEL_PATH)
    ap.add_argument("--extra", type=Path, help="CSV of text,label (analysts' corrections) added to the fitted rows")
    ap.add_argument("--sample", type=int, help="fit on this many random training rows (quick checks only)")
    args = ap.parse_args(argv)
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(SEED)
    t0 = time.time()
    train = load_train(DATA / "sentiment_train.csv.gz")
    fit_mask, held_mask = split(train, args.holdout, rng)
    fit, held = train[fit_mask].reset_index(drop=True), train[held_mask].reset_index(drop=True)
    held = held[held["clean"] != ""].reset_index(drop=True)
    if args.sample:
        fit = fit.sample(n=min(args.sample, len(fit)), random_state=SEED).reset_index(drop=True)
    fit = pd.concat([fit[fit["clean"] != ""], emoticon_rows(fit)], ignore_index=True)
    if args.extra:
        fit = pd.concat([fit, load_corrections(args.extra)], ignore_index=True)
    dev = pd.read_csv(DATA / "sentiment_dev.csv.gz")
    dev["text"] = dev["text"].fillna("").astype(str)
    # the emoticon-labelled source is judged without its emoticons (they are its labels)
    emo_dev = (dev["source"] == EMOTICON_LABELLED).to_numpy()
    dev.loc[emo_dev, "text"] = [strip_emoticons(t) for t in dev.loc[emo_dev, "text"]]
    n_neutral = int((held.label3 == "neutral").sum())
    print(f"train rows used {len(fit)}, held out {len(held)} (neutral {n_neutral}),"
          f" dev {len(dev)}; prep {time.time() - t0:.1f}s")
    print(fit.groupby("source")["label"].agg(["size", "mean"]).to_string())

    c_fit, vocab = count_matrix(fit["clean"].tolist(), None, args.min_df)
    c_held, _ = count_matrix(held["clean"].tolist(), vocab, args.min_df)
    idf = idf_of(c_fit)
    x_fit, x_held = tfidf(c_fit, idf), tfidf(c_held, idf)
    y_fit = fit["label"].to_numpy().astype(int)
    print(f"features {len(vocab)}, nnz {x_fit.nnz}; vectorized {time.time() - t0:.1f}s")
    held_bin_mask = held["label"].notna().to_numpy()
    held_bin = held[held_bin_mask].reset_index(drop=True)

    # NBSVM-style: each gram's TF-IDF value scaled by its log-count ratio (a per-gram constant, folded
    # into the shipped weights, so the runtime is unchanged)
    ratio = nb_ratio(c_fit, y_fit)
    scale = sparse.diags(ratio)
    best = None
    for c in args.C:
        clf = LogisticRegression(C=c, max_iter=2000)
        clf.fit(x_fit @ scale, y_fit)
        p_held = clf.predict_proba(x_held @ scale)[:, 1]
        m = per_source(held_bin, p_held[held_bin_mask])
        mean_acc = float(np.mean([m[k]["accuracy"] for k in WEIBO_SOURCES if k in m]))
        print(f"C={c}: held-out mean Weibo-source accuracy {mean_acc:.4f}  {json.dumps(m)}"
              f"  {time.time() - t0:.0f}s")
        if best is None or mean_acc > best[0]:
            best = (mean_acc, c, clf, p_held)
    _, c, clf, p_held = best
    print(f"chosen C={c}")

    coef = clf.coef_.ravel() * ratio
    grams = np.empty(len(vocab), dtype=object)
    for g, k in vocab.items():
        grams[k] = g
    codes = np.array([gram_code(g) for g in grams], dtype=np.int64)
    order = np.argsort(codes)

    # "No opinion" model: half of smp2020's neutral rows (the only neutral labels) against smp2020's fitted
    # polar rows (same period and topics, so it learns opinion vs none rather than topic); the other half
    # with the held-out polar smp2020 rows is split again: thresholds are tuned on one part, reported on the other.
    smp = (held["source"] == "smp2020_ewect_train").to_numpy() & held["label3"].notna().to_numpy()
    neutral_rows = rng.permutation(np.flatnonzero(smp & (held["label3"] == "neutral").to_numpy()))
    neutral_fit = neutral_rows[: len(neutral_rows) // 2]
    rest = rng.permutation(np.concatenate([neutral_rows[len(neutral_rows) // 2:],
                                           np.flatnonzero(smp & (held["label3"] != "neutral").to_numpy())]))
    tune, report = rest[: len(rest) // 2], rest[len(rest) // 2:]
    polar_fit = (fit["source"] == "smp2020_ewect_train").to_numpy()
    neutral_clf = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced")
    neutral_clf.fit(sparse.vstack([x_fit[polar_fit], x_held[neutral_fit]]).tocsr(),
                    np.r_[np.zeros(int(polar_fit.sum())), np.ones(len(neutral_fit))])
    q_held = neutral_clf.predict_proba(x_held)[:, 1]
    s_held = 0.5 + (p_held - 0.5) * (1 - q_held) ** sentiment.NEUTRAL_SHRINK
    label3 = held["label3"].to_numpy()
    low, high, f3 = tune_thresholds(s_held[tune], label3[tune])
    print(f"thresholds low={low} high={high} (tuned on {len(tune)} held-out smp2020 rows: balanced 3-class"
          f" macro-F1 {f3:.4f}); reported on {len(report)} others:"
          f" {three_class_f1(s_held[report], label3[report], low, high)}")
    blow, bhigh, _ = tune_thresholds(p_held[tune], label3[tune])
    print(f"  without the no-opinion model (score band only, thresholds {blow}/{bhigh}):"
          f" {three_class_f1(p_held[report], label3[report], blow, bhigh)}")

    payload = dict(codes=codes[order], weights=(coef * idf)[order].astype(np.float16),
                   idf2=(idf ** 2)[order].astype(np.float16),
                   bias=np.float64(clf.intercept_[0]), thresholds=np.array([low, high]),
                   neutral_weights=(neutral_clf.coef_.ravel() * idf)[order].astype(np.float16),
                   neutral_bias=np.float64(neutral_clf.intercept_[0]),
                   version=np.str_(VERSION))
    out = args.out if not args.dry_run else Path("/tmp/sentiment_domain_dryrun.npz")
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **payload)
    print(f"model {out} {out.stat().st_size / 1e6:.2f} MB, {len(codes)} grams")

    # Metrics of the saved (float16) model through the runtime path (score_posts' model_texts).
    model = sentiment.DomainModel(out)
    dev_texts = sentiment.model_texts(dev["text"].tolist())
    nonempty = np.array([bool(t) for t in dev_texts])
    p_dev = np.full(len(dev), 0.5)
    t1 = time.perf_counter()
    p_dev[nonempty] = model.score([t for t in dev_texts if t])
    rate = int(nonempty.sum()) / (time.perf_counter() - t1)
    p_saved = model.score(held["clean"].tolist())
    print("held out (saved model):", json.dumps(per_source(held_bin, p_saved[held_bin_mask])))
    print("dev (binary; weibo_senti_100k without its emoticons):")
    print(json.dumps(per_source(dev, p_dev), ensure_ascii=False, indent=1))
    print(f"runtime scoring {rate:.0f} posts/s (model texts)")
    print("3-class on the reported rows (saved model):",
          three_class_f1(p_saved[report], label3[report], low, high))
    for probe in ["不高兴", "很高兴", "不错", "太差了", "关于做好防汛工作的通知：各单位要加强值班值守",
                  "明天几点开会？", "某小区发生火灾，消防已到场处置，暂无人员伤亡"]:
        print(f"  {probe}: {float(model.score([probe])[0]):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
