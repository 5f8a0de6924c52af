"""Sentiment scoring of posts (domain model or SnowNLP), 3-way labels, evaluation and the CLI handlers."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import text as textmod

MODELS_DIR = Path(__file__).resolve().parent / "models"
DOMAIN_MODEL_PATH = MODELS_DIR / "sentiment_domain.npz"
DEFAULT_MODEL = "domain"
MODEL_NAMES: tuple[str, ...] = ("domain", "snownlp")

POSITIVE, NEUTRAL, NEGATIVE = "正面", "中性", "负面"
LABELS: tuple[str, ...] = (POSITIVE, NEUTRAL, NEGATIVE)
# A post without own words (pure repost, emoji-only, empty) gets exactly this score and label 中性.
NO_WORDS_SCORE = 0.5
# Fallback thresholds when a model file does not carry tuned ones: < low 负面, > high 正面, else 中性.
DEFAULT_THRESHOLDS = (0.35, 0.65)

# -- features (shared with tools/train_sentiment.py: training and scoring must agree exactly) ----------
# Negation: the characters a negator governs (up to NEGATION_SCOPE, stopping at punctuation/space) are
# replaced by "negated" twins (the same character shifted into the supplementary private-use plane), so
# '不高兴' yields '不', '¬高', '¬兴', '不¬高', '¬高¬兴', '不¬高¬兴' and does not share the positive
# '高兴' grams: the model learns from every negated context that a negated positive word is negative and
# that '不错' ('¬错') is positive. Degree words (很/非常/太/特别) are covered by the 2-3-grams ('很好',
# '太差', '特别差').
NEGATION_SCOPE = 3
_NEG_OFFSET = 0x100000
_SCOPE_STOP = r"\s,.!?;:，。！？；：、…~～\"'“”‘’()（）【】《》\U00010000-\U0010ffff"
_NEGATION = re.compile(rf"(没有|[不没别未无莫勿])([^{_SCOPE_STOP}]{{1,{NEGATION_SCOPE}}})")
_NEGATED_TABLE = {cp: cp + _NEG_OFFSET for cp in range(0x20, 0xFFFE)}
_NEGATOR_CHARS = frozenset("不没别未无莫勿")


def _negate(match: re.Match) -> str:
    return match.group(1) + match.group(2).translate(_NEGATED_TABLE)


def prepare(s: str) -> str:
    """The form features() sees: lower-case ASCII, negation scopes marked."""
    s = s.lower()
    return _NEGATION.sub(_negate, s) if not _NEGATOR_CHARS.isdisjoint(s) else s


_SL2: list[slice] = []
_SL3: list[slice] = []


def _slices(n: int) -> tuple[list[slice], list[slice]]:
    if len(_SL2) < n:
        grow = max(n, 2 * len(_SL2), 256)
        _SL2[:] = [slice(i, i + 2) for i in range(grow)]
        _SL3[:] = [slice(i, i + 3) for i in range(grow)]
    return _SL2[: max(n - 1, 0)], _SL3[: max(n - 2, 0)]


def features(s: str) -> list[str]:
    """Character 1-, 2- and 3-grams of a prepare()d text."""
    sl2, sl3 = _slices(len(s))
    get = s.__getitem__
    grams = list(s)
    grams += map(get, sl2)
    grams += map(get, sl3)
    return grams


# -- the domain model ---------------------------------------------------------------------------------
def gram_code(gram: str) -> int:
    """A 1-3-gram as one int64, 21 bits per character (1-grams < 2**21 <= 2-grams < 2**42 <= 3-grams)."""
    code = 0
    for ch in gram:
        code = (code << 21) | ord(ch)
    return code


class DomainModel:
    """Logistic regression over character n-gram weights, scored batch-wise with numpy (no sklearn).

    All texts of a batch are concatenated into one code-point array; every 1-, 2- and 3-gram becomes an
    int64 code (gram_code) looked up in a numpy open-addressing hash table built at load time.
    """

    def __init__(self, path: Path = DOMAIN_MODEL_PATH):
        with np.load(path, allow_pickle=False) as z:
            self.codes = z["codes"].astype(np.int64)
            self.weights = z["weights"].astype(np.float64)
            self.bias = float(z["bias"])
            self.version = str(z["version"])
            low, high = (float(x) for x in z["thresholds"])
            self.length_norm = bool(z["length_norm"])
        if np.any(np.diff(self.codes) <= 0):
            raise ValueError(f"{path}: gram codes must be strictly increasing")
        self.thresholds = (low, high)
        self.name = f"domain@{self.version}"
        self._build_table()

    # An open-addressing hash table (linear probing) in numpy arrays: a lookup is one or two random
    # gathers per gram instead of ~19 binary-search steps, which made searchsorted the bottleneck.
    _EMPTY = -1
    _MULT = np.uint64(0x9E3779B97F4A7C15)

    def _slots(self, codes: np.ndarray) -> np.ndarray:
        return ((codes.astype(np.uint64) * self._MULT) >> np.uint64(64 - self._bits)).astype(np.int64)

    def _build_table(self) -> None:
        self._bits = max(int(np.ceil(np.log2(max(len(self.codes), 1) * 2.5))), 4)
        size = 1 << self._bits
        keys = np.full(size + 64, self._EMPTY, dtype=np.int64)  # tail pad: probes never wrap
        vals = np.zeros(size + 64, dtype=np.float64)
        pending = np.arange(len(self.codes))
        slot = self._slots(self.codes)
        probes = 0
        while len(pending):
            probes += 1
            if probes > 64:
                raise ValueError("hash table too crowded")
            cand = pending[keys[slot[pending]] == self._EMPTY]
            # among codes wanting the same free slot the first wins; the others probe the next slot
            _, first = np.unique(slot[cand], return_index=True)
            winners = cand[first]
            keys[slot[winners]] = self.codes[winners]
            vals[slot[winners]] = self.weights[winners]
            placed = np.zeros(len(self.codes), dtype=bool)
            placed[winners] = True
            pending = pending[~placed[pending]]
            slot[pending] += 1
        self._keys, self._vals, self._max_probe = keys, vals, probes

    def _lookup(self, codes: np.ndarray) -> np.ndarray:
        out = np.zeros(len(codes), dtype=np.float64)
        slot = self._slots(codes)
        active = np.arange(len(codes))
        for _ in range(self._max_probe + 1):
            found = self._keys[slot]
            hit = found == codes
            out[active[hit]] = self._vals[slot[hit]]
            go_on = ~hit & (found != self._EMPTY)
            if not go_on.any():
                break
            active, slot, codes = active[go_on], slot[go_on] + 1, codes[go_on]
        return out

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """Raw scores for already-cleaned, non-empty scoring texts."""
        prepared = [prepare(s) for s in texts]
        lengths = np.fromiter(map(len, prepared), dtype=np.int64, count=len(prepared))
        raw = "".join(prepared).encode("utf-32-le", "surrogatepass")
        chars = np.frombuffer(raw, dtype=np.uint32).astype(np.int64)
        text_id = np.repeat(np.arange(len(prepared)), lengths)
        ends = np.repeat(np.cumsum(lengths), lengths)  # position just after each character's text
        pos = np.arange(len(chars))
        total = np.bincount(text_id, weights=self._lookup(chars), minlength=len(prepared))
        if len(chars) > 1:
            ok2 = pos[:-1] + 1 < ends[:-1]
            bi = (chars[:-1] << 21) | chars[1:]
            total += np.bincount(text_id[:-1][ok2], weights=self._lookup(bi[ok2]), minlength=len(prepared))
        if len(chars) > 2:
            ok3 = pos[:-2] + 2 < ends[:-2]
            tri = (chars[:-2] << 42) | (chars[1:-1] << 21) | chars[2:]
            total += np.bincount(text_id[:-2][ok3], weights=self._lookup(tri[ok3]), minlength=len(prepared))
        if self.length_norm:
            n_grams = lengths + np.maximum(lengths - 1, 0) + np.maximum(lengths - 2, 0)
            total = total / np.sqrt(np.maximum(n_grams, 1))
        return total + self.bias

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """P(positive) for already-cleaned scoring texts (non-empty)."""
        if not len(texts):
            return np.empty(0, dtype=np.float64)
        return 1.0 / (1.0 + np.exp(-self.logits(texts)))


@lru_cache(maxsize=1)
def domain_model() -> DomainModel:
    """The shipped domain model, loaded once."""
    return DomainModel()


@lru_cache(maxsize=1)
def _snownlp_name() -> str:
    from importlib.metadata import version

    return f"snownlp@{version('snownlp')}"


def thresholds(model: str | None = None) -> tuple[float, float]:
    """(low, high): score < low is 负面, score > high is 正面, otherwise 中性."""
    if _model_name(model) == "domain":
        return domain_model().thresholds
    return DEFAULT_THRESHOLDS


def label_scores(scores: np.ndarray, low: float, high: float) -> np.ndarray:
    """3-way labels for probabilities."""
    return np.where(scores < low, NEGATIVE, np.where(scores > high, POSITIVE, NEUTRAL)).astype(object)


# Official notices (…的通知/公告/通告, 特此通知) are announcements, not opinion: the domain model, trained on
# personal posts and reviews, reads their subject ('停水', '事故') as complaint. Their score is floored at
# the negative threshold, so they are 中性 at worst.
_OFFICIAL_NOTICE = re.compile(
    r"^关于.{1,80}的(通知|通告|公告|意见|决定|办法|规定|批复|函|通报|公示|说明|倡议书)"
    r"|^(通知|公告|通告|公示|紧急通知)\s*[:：]|特此(通知|公告|通告|函告|公示)"
)


def _model_name(model: str | None) -> str:
    name = (model or DEFAULT_MODEL).strip().lower()
    if name not in MODEL_NAMES:
        raise ValueError(f"未知的情感模型：{model}（可选：{'、'.join(MODEL_NAMES)}）")
    return name


def score_posts(texts: Sequence[str | None], model: str | None = None) -> pd.DataFrame:
    """Score raw post texts: sentiment_score (P positive), sentiment_label, sentiment_model.

    Texts are cleaned with analysis.text.scoring_text (only the author's own words, without URLs,
    @mentions, [emoticons] or the //@ repost chain). A post with no own words left — pure repost, '转发微博',
    None, '', whitespace or emoji only — gets score 0.5 and label 中性. Same length/order as the input.
    """
    name = _model_name(model)
    texts = list(texts)
    cleaned = textmod.scoring_texts(texts)
    scores = np.full(len(cleaned), NO_WORDS_SCORE, dtype=np.float64)
    idx = [i for i, s in enumerate(cleaned) if s]
    if name == "domain":
        dm = domain_model()
        low, high, model_name = *dm.thresholds, dm.name
        if idx:
            scores[idx] = dm.predict_proba([cleaned[i] for i in idx])
            notices = [i for i in idx if _OFFICIAL_NOTICE.search(cleaned[i])]
            scores[notices] = np.maximum(scores[notices], low)
    else:
        low, high = DEFAULT_THRESHOLDS
        model_name = _snownlp_name()
        if idx:
            from analysis.snownlp_compat import score_snownlp

            scores[idx] = np.asarray(score_snownlp([cleaned[i] for i in idx]), dtype=np.float64)
    labels = label_scores(scores, low, high)
    labels[[i for i, s in enumerate(cleaned) if not s]] = NEUTRAL
    return pd.DataFrame({
        "sentiment_score": scores,
        "sentiment_label": labels,
        "sentiment_model": [model_name] * len(cleaned),
    })


# -- evaluation -----------------------------------------------------------------------------------------
_LABEL_ALIASES = {
    "正面": POSITIVE, "positive": POSITIVE, "pos": POSITIVE,
    "中性": NEUTRAL, "neutral": NEUTRAL, "neu": NEUTRAL,
    "负面": NEGATIVE, "negative": NEGATIVE, "neg": NEGATIVE,
}


def _canonical_labels(labels: Sequence) -> tuple[list[str], bool]:
    """Map labels to 正面/中性/负面; binary 1/0 labels give (labels, True)."""
    out: list[str] = []
    binary = True
    for raw in labels:
        if isinstance(raw, (bool, np.bool_)):
            out.append(POSITIVE if raw else NEGATIVE)
            continue
        if isinstance(raw, (int, float, np.integer, np.floating)):
            if raw != raw:
                raise ValueError("标签列含空值")
            if raw not in (0, 1):
                raise ValueError(f"无法识别的标签：{raw}")
            out.append(POSITIVE if raw == 1 else NEGATIVE)
            continue
        key = str(raw).strip()
        if key in ("1", "1.0", "0", "0.0"):
            out.append(POSITIVE if key.startswith("1") else NEGATIVE)
            continue
        canon = _LABEL_ALIASES.get(key.lower())
        if canon is None:
            raise ValueError(f"无法识别的标签：{raw}")
        binary = False
        out.append(canon)
    return out, binary


def _macro_f1(truth: list[str], pred: list[str], classes: Sequence[str]) -> float:
    f1s = []
    for c in classes:
        tp = sum(1 for t, p in zip(truth, pred, strict=True) if t == c and p == c)
        fp = sum(1 for t, p in zip(truth, pred, strict=True) if t != c and p == c)
        fn = sum(1 for t, p in zip(truth, pred, strict=True) if t == c and p != c)
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s)) if f1s else 0.0


def _metrics(truth: list[str], pred: list[str], classes: list[str]) -> dict:
    index = {c: k for k, c in enumerate(classes)}
    matrix = [[0] * len(classes) for _ in classes]
    for t, p in zip(truth, pred, strict=True):
        matrix[index[t]][index[p]] += 1
    n = len(truth)
    correct = sum(matrix[k][k] for k in range(len(classes)))
    return {"n": n, "accuracy": correct / n if n else 0.0, "macro_f1": _macro_f1(truth, pred, classes),
            "labels": classes, "confusion": matrix}


def evaluate(texts: Sequence[str | None], labels: Sequence, model: str | None = None,
             groups: Sequence | None = None) -> dict:
    """Accuracy, macro-F1, confusion matrix (rows true, columns predicted) and posts/s of a model.

    Binary labels (1/0) are compared with score >= 0.5 (正面) vs < 0.5 (负面); 3-class labels
    (正面/中性/负面 or positive/neutral/negative) with the model's 3-way label. With `groups` (e.g. the
    source of each text) the result also has n/accuracy/macro_f1 per group under "by_group".
    """
    texts = list(texts)
    truth, binary = _canonical_labels(list(labels))
    if len(truth) != len(texts):
        raise ValueError("文本与标签数量不一致")
    score_posts(["好"], model)  # load the model / warm caches outside the timed run
    start = time.perf_counter()
    scored = score_posts(texts, model)
    elapsed = time.perf_counter() - start
    if binary:
        classes = [POSITIVE, NEGATIVE]
        pred = [POSITIVE if s >= 0.5 else NEGATIVE for s in scored["sentiment_score"]]
    else:
        classes = list(LABELS)
        pred = scored["sentiment_label"].tolist()
    n = len(truth)
    result = {
        "model": scored["sentiment_model"].iloc[0] if n else _model_name(model),
        "task": "binary" if binary else "3-class",
        **_metrics(truth, pred, classes),
        "posts_per_second": n / elapsed if elapsed > 0 else float("inf"),
    }
    if groups is not None:
        groups = list(groups)
        by_group = {}
        for g in sorted(set(map(str, groups))):
            idx = [i for i, x in enumerate(groups) if str(x) == g]
            m = _metrics([truth[i] for i in idx], [pred[i] for i in idx], classes)
            by_group[g] = {k: m[k] for k in ("n", "accuracy", "macro_f1")}
        result["by_group"] = by_group
    return result


# -- CLI handlers (registered in analysis/__main__.py) ----------------------------------------------------
def cli_sentiment_eval(argv: list[str]) -> int:
    """sentiment-eval FILE [--model snownlp|domain] [--text-col text] [--label-col label] [--json]."""
    parser = argparse.ArgumentParser(prog="python -m analysis sentiment-eval",
                                     description="在带标签的 CSV(.gz) 上评估情感模型")
    parser.add_argument("file")
    parser.add_argument("--model", choices=MODEL_NAMES, default=DEFAULT_MODEL)
    parser.add_argument("--text-col", default="text")
    parser.add_argument("--label-col", default="label")
    parser.add_argument("--json", action="store_true", help="输出 JSON")
    args = parser.parse_args(argv)
    try:
        frame = pd.read_csv(args.file, dtype={args.text_col: "string"}, keep_default_na=False,
                            na_values={args.label_col: [""]})
    except (OSError, ValueError) as exc:
        print(f"无法读取文件 {args.file}：{exc}", file=sys.stderr)
        return 2
    for col in (args.text_col, args.label_col):
        if col not in frame.columns:
            print(f"文件中没有列 {col}（现有列：{', '.join(map(str, frame.columns))}）", file=sys.stderr)
            return 2
    frame = frame[frame[args.label_col].notna()]
    texts = frame[args.text_col].astype(object).where(frame[args.text_col].notna(), "").tolist()
    groups = frame["source"].astype(str).tolist() if "source" in frame.columns else None
    try:
        result = evaluate(texts, frame[args.label_col].tolist(), args.model, groups=groups)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    print(f"模型 {result['model']}  样本 {result['n']}  任务 {result['task']}")
    print(f"准确率 {result['accuracy']:.4f}  宏平均F1 {result['macro_f1']:.4f}  "
          f"速度 {result['posts_per_second']:.0f} 条/秒")
    print("混淆矩阵（行=真实，列=预测）: " + " / ".join(result["labels"]))
    for name, row in zip(result["labels"], result["confusion"], strict=True):
        print(f"  {name}: {row}")
    for src, m in result.get("by_group", {}).items():
        print(f"  [{src}] n={m['n']} 准确率 {m['accuracy']:.4f} 宏平均F1 {m['macro_f1']:.4f}")
    return 0


def cli_score(argv: list[str]) -> int:
    """score [--model snownlp|domain]: one text per stdin line -> one repr(float) score per line."""
    parser = argparse.ArgumentParser(prog="python -m analysis score",
                                     description="逐行读取标准输入的文本，逐行输出情感分数（正面概率）")
    parser.add_argument("--model", choices=MODEL_NAMES, default=DEFAULT_MODEL)
    args = parser.parse_args(argv)
    lines = [line.rstrip("\r\n") for line in sys.stdin]
    scores = score_posts(lines, args.model)["sentiment_score"].tolist()
    sys.stdout.write("".join(repr(float(s)) + "\n" for s in scores))
    return 0
