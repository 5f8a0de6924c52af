"""Sentiment scoring of posts (domain model or SnowNLP), 3-way labels, evaluation and the CLI handlers."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import zlib
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
# What a reader of a negative ratio should know (help text of the pages; figures: analysis/models/MODEL_CARD.md).
ACCURACY_HELP_ZH = ("情感模型判正负的准确率：留出的真实微博上约72%–89%（按来源），"
                    "正面/中性/负面三分类宏F1约0.73（中性=无观点：通知、新闻、陈述）；负面占比是估计值。")
# How strongly P(no opinion) pulls a score towards 0.5 (DomainModel.score; chosen on held-out smp2020).
NEUTRAL_SHRINK = 2.0
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


# -- the domain model's input ------------------------------------------------------------------------
# What the domain model reads of a post: the author's own words (analysis.text.scoring_text) — or, for a
# pure repost, the nearest reposted words it passes on — followed by one mark per [emoticon] of that
# part. A mark is the emoticon's name hashed to one character of plane 15 (private use), so it is a
# 1-gram of its own and '[哈哈]' never shares grams with the word '哈哈'. weibo_senti_100k was labelled from
# its emoticons: training drops the marks of those rows (tools/train_sentiment.py) so words are learned.
_EMOTICON = re.compile(r"\[([^\[\]\s]{1,10})\]")
_EMOTICON_PLANE = 0xF0000
_EMOTICON_SLOTS = 0xFFFD


def emoticon_marks(text: str) -> str:
    """One plane-15 character per [emoticon] code in text, in order ('' without any)."""
    if "[" not in text:
        return ""
    return "".join(chr(_EMOTICON_PLANE + zlib.crc32(name.encode("utf-8")) % _EMOTICON_SLOTS)
                   for name in _EMOTICON.findall(text))


def model_texts(texts: Sequence[str | None], marks: bool = True) -> list[str]:
    """The domain model's input for each raw post ('' when there is nothing to score)."""
    raw = ["" if t is None or t != t else str(t) for t in texts]
    own = textmod.scoring_texts(raw)
    out = []
    for t, words in zip(raw, own, strict=True):
        part = t.split("//@", 1)[0] if "//" in t else t
        emo = emoticon_marks(part) if marks else ""
        if not words and not emo and "//" in t:
            for _, chain_words in textmod.split_repost(textmod.normalize(t))[1]:
                words = textmod.scoring_text(chain_words)
                emo = emoticon_marks(chain_words) if marks else ""
                if words or emo:
                    break
        out.append(f"{words} {emo}" if words and emo else words or emo)
    return out


# -- the domain model ---------------------------------------------------------------------------------
class DomainModel:
    """Logistic regression over TF-IDF-weighted character n-grams, scored batch-wise with numpy (no sklearn).

    A text's feature for gram g is count(g)·idf(g) / sqrt(Σ count·idf² over its known grams): TF-IDF with
    a norm that is a plain sum over the text's gram occurrences (on the training data it matched sklearn's
    l2-normalised TfidfVectorizer in accuracy). The file holds, per gram code, weight·idf and idf², and
    optionally the weight·idf of a second "no opinion" model over the same features (see score()).
    All texts of a batch are concatenated into one code-point array; every 1-, 2- and 3-gram becomes an
    int64 code (21 bits per character, as tools/train_sentiment.py's gram_code) looked up in a numpy
    open-addressing hash table built at load time.
    """

    def __init__(self, path: Path = DOMAIN_MODEL_PATH):
        with np.load(path, allow_pickle=False) as z:
            self.codes = z["codes"].astype(np.int64)
            weights = z["weights"].astype(np.float64)
            idf2 = z["idf2"].astype(np.float64)
            self.bias = float(z["bias"])
            self.version = str(z["version"])
            low, high = (float(x) for x in z["thresholds"])
            # the "no opinion" model (optional): same grams and weighting, its own weights and bias
            neutral = z["neutral_weights"].astype(np.float64) if "neutral_weights" in z else None
            self.neutral_bias = float(z["neutral_bias"]) if neutral is not None else None
        if np.any(np.diff(self.codes) <= 0):
            raise ValueError(f"{path}: gram codes must be strictly increasing")
        self.thresholds = (low, high)
        self.name = f"domain@{self.version}"
        self._build_table(weights, idf2, neutral)

    # An open-addressing hash table (linear probing) in numpy arrays: a lookup is one or two random
    # gathers per gram instead of ~19 binary-search steps, which made searchsorted the bottleneck.
    _EMPTY = -1
    _MULT = np.uint64(0x9E3779B97F4A7C15)

    def _slots(self, codes: np.ndarray) -> np.ndarray:
        return ((codes.astype(np.uint64) * self._MULT) >> np.uint64(64 - self._bits)).astype(np.int64)

    def _build_table(self, weights: np.ndarray, idf2: np.ndarray, neutral: np.ndarray | None) -> None:
        self._bits = max(int(np.ceil(np.log2(max(len(self.codes), 1) * 2.5))), 4)
        size = 1 << self._bits
        keys = np.full(size + 64, self._EMPTY, dtype=np.int64)  # tail pad: probes never wrap
        # values per slot; an empty slot holds zeros, so a gram not in the model adds nothing
        wvals = np.zeros(size + 64, dtype=np.float64)
        nvals = np.zeros(size + 64, dtype=np.float64)
        qvals = np.zeros(size + 64, dtype=np.float64) if neutral is not None else None
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
            wvals[slot[winners]] = weights[winners]
            nvals[slot[winners]] = idf2[winners]
            if qvals is not None:
                qvals[slot[winners]] = neutral[winners]
            placed = np.zeros(len(self.codes), dtype=bool)
            placed[winners] = True
            pending = pending[~placed[pending]]
            slot[pending] += 1
        self._keys, self._wvals, self._nvals, self._qvals, self._max_probe = keys, wvals, nvals, qvals, probes
        self._miss = int(np.flatnonzero(keys == self._EMPTY)[-1])  # an empty slot: zero weight and idf

    def _lookup(self, codes: np.ndarray) -> np.ndarray:
        """The table slot of each code (an empty slot for codes not in the model)."""
        out = np.full(len(codes), self._miss, dtype=np.int64)
        slot = self._slots(codes)
        active = np.arange(len(codes))
        for _ in range(self._max_probe + 1):
            found = self._keys[slot]
            hit = found == codes
            out[active[hit]] = slot[hit]
            go_on = ~hit & (found != self._EMPTY)
            if not go_on.any():
                break
            active, slot, codes = active[go_on], slot[go_on] + 1, codes[go_on]
        return out

    def _grams(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, int]:
        """(table slot, text index) of every 1-, 2- and 3-gram of the prepare()d texts, and their number."""
        prepared = [prepare(s) for s in texts]
        n = len(prepared)
        lengths = np.fromiter(map(len, prepared), dtype=np.int64, count=n)
        raw = "".join(prepared).encode("utf-32-le", "surrogatepass")
        chars = np.frombuffer(raw, dtype=np.uint32).astype(np.int64)
        text_id = np.repeat(np.arange(n), lengths)
        ends = np.repeat(np.cumsum(lengths), lengths)  # position just after each character's text
        pos = np.arange(len(chars))
        slots = [self._lookup(chars)]
        ids = [text_id]
        if len(chars) > 1:
            ok2 = pos[:-1] + 1 < ends[:-1]
            slots.append(self._lookup(((chars[:-1] << 21) | chars[1:])[ok2]))
            ids.append(text_id[:-1][ok2])
        if len(chars) > 2:
            ok3 = pos[:-2] + 2 < ends[:-2]
            slots.append(self._lookup(((chars[:-2] << 42) | (chars[1:-1] << 21) | chars[2:])[ok3]))
            ids.append(text_id[:-2][ok3])
        return np.concatenate(slots), np.concatenate(ids), n

    def _logits(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray | None]:
        """Raw scores of the sentiment model and of the "no opinion" model (None without one)."""
        slot, tid, n = self._grams(texts)
        norm = np.sqrt(np.bincount(tid, weights=self._nvals[slot], minlength=n))
        inv = np.divide(1.0, norm, out=np.zeros(n), where=norm > 0)
        sent = np.bincount(tid, weights=self._wvals[slot], minlength=n) * inv + self.bias
        if self._qvals is None:
            return sent, None
        return sent, np.bincount(tid, weights=self._qvals[slot], minlength=n) * inv + self.neutral_bias

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """Raw scores of the sentiment model for non-empty model texts (model_texts)."""
        return self._logits(texts)[0]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """P(positive) of the sentiment model for non-empty model texts (model_texts)."""
        if not len(texts):
            return np.empty(0, dtype=np.float64)
        return 1.0 / (1.0 + np.exp(-self.logits(texts)))

    def score(self, texts: Sequence[str]) -> np.ndarray:
        """sentiment_score for non-empty model texts: P(positive) pulled towards 0.5 by P(no opinion).

        score = 0.5 + (P(positive) - 0.5) * (1 - P(no opinion)) ** NEUTRAL_SHRINK: the side of 0.5 (the
        binary verdict) is the sentiment model's, and a notice, question or plain fact lands in the 中性 band.
        """
        if not len(texts):
            return np.empty(0, dtype=np.float64)
        sent, neutral = self._logits(texts)
        p = 1.0 / (1.0 + np.exp(-sent))
        if neutral is None:
            return p
        return 0.5 + (p - 0.5) * (1.0 / (1.0 + np.exp(neutral))) ** NEUTRAL_SHRINK


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

    snownlp reads analysis.text.scoring_text (the author's own words, without URLs, @mentions, [emoticons]
    or the //@ repost chain); domain reads model_texts (those words, or for a pure repost the words it
    passes on, plus its [emoticons] as marks). A post with nothing left — '转发微博', None, '', whitespace,
    emoji only (and for snownlp any pure repost) — gets score 0.5 and label 中性. Same length/order as input.
    """
    name = _model_name(model)
    texts = list(texts)
    cleaned = model_texts(texts) if name == "domain" else textmod.scoring_texts(texts)
    scores = np.full(len(cleaned), NO_WORDS_SCORE, dtype=np.float64)
    idx = [i for i, s in enumerate(cleaned) if s]
    if name == "domain":
        dm = domain_model()
        low, high, model_name = *dm.thresholds, dm.name
        if idx:
            scores[idx] = dm.score([cleaned[i] for i in idx])
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


def raw_scores(lines: Sequence[str], model: str | None = None) -> np.ndarray:
    """Each line scored exactly as given, without cleaning; snownlp: bit-identical to SnowNLP(line).sentiments.

    An empty line (SnowNLP raises on '') scores 0.5; a whitespace-only line gets SnowNLP's own value.
    """
    scores = np.full(len(lines), NO_WORDS_SCORE, dtype=np.float64)
    words = [i for i, s in enumerate(lines) if s.strip()]
    if _model_name(model) == "domain":
        scores[words] = domain_model().score([lines[i] for i in words])
        return scores
    from snownlp import SnowNLP

    from analysis.snownlp_compat import score_snownlp

    scores[words] = score_snownlp([lines[i] for i in words])
    for i, s in enumerate(lines):
        if s and not s.strip():
            scores[i] = SnowNLP(s).sentiments
    return scores


def cli_score(argv: list[str]) -> int:
    """score [--model snownlp|domain] [--raw]: one text per stdin line -> one repr(float) score per line."""
    parser = argparse.ArgumentParser(prog="python -m analysis score",
                                     description="逐行读取标准输入的文本，逐行输出情感分数（正面概率）")
    parser.add_argument("--model", choices=MODEL_NAMES, default=DEFAULT_MODEL)
    parser.add_argument("--raw", action="store_true",
                        help="每行原样评分，不清洗链接/@/表情/转发链（snownlp 与 SnowNLP(行).sentiments 逐位一致）")
    args = parser.parse_args(argv)
    lines = [line.rstrip("\r\n") for line in sys.stdin]
    if args.raw:
        scores = raw_scores(lines, args.model).tolist()
    else:
        scores = score_posts(lines, args.model)["sentiment_score"].tolist()
    sys.stdout.write("".join(repr(float(s)) + "\n" for s in scores))
    return 0
