"""Benchmark sentiment scoring speed: plain SnowNLP loop vs 'snownlp' mode vs 'domain' mode, on real posts.

    .venv/bin/python bench/sentiment_bench.py [--n 8000] [--sample 1000] [--json]

Speeds are posts/s of one process, by wall clock and by CPU time (equal on an idle machine).
The plain loop runs on a random sample only (it is slow);
the identity check compares analysis.snownlp_compat.score_snownlp with SnowNLP(t).sentiments on that
sample, bit for bit.
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

from analysis import sentiment  # noqa: E402
from analysis.snownlp_compat import score_snownlp  # noqa: E402

DEV = Path("/work/shared/data/sentiment_dev.csv.gz")


def _timed(fn, n: int):
    """fn() and its rate: posts/s by wall clock and by this process's CPU time (the machine may be busy)."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return out, {"wall": round(n / wall, 1) if wall > 0 else None,
                 "cpu": round(n / cpu, 1) if cpu > 0 else None}


def _ratio(a: dict, b: dict) -> dict:
    return {k: round(a[k] / b[k], 2) if a[k] and b[k] else None for k in ("wall", "cpu")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=8000, help="posts for the fast modes (>= 5000)")
    ap.add_argument("--sample", type=int, default=1000, help="posts for the plain SnowNLP loop")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    from snownlp import SnowNLP

    dev = pd.read_csv(DEV)
    texts = dev["text"].astype(str).tolist()
    if args.n > len(texts):
        texts = (texts * (args.n // len(texts) + 1))[: args.n]
    texts = texts[: args.n]
    rng = np.random.default_rng(args.seed)
    sample_idx = np.sort(rng.choice(len(texts), size=min(args.sample, len(texts)), replace=False))
    sample = [texts[i] for i in sample_idx]

    # warm-up: model loading, jieba/opencc/snownlp initialisation are not part of the rate
    sentiment.score_posts(texts[:50], "domain")
    sentiment.score_posts(texts[:50], "snownlp")
    _ = SnowNLP("预热").sentiments

    def plain_loop():
        return np.array([SnowNLP(s).sentiments if s.strip() else 0.5 for s in sample])

    plain, plain_rate = _timed(plain_loop, len(sample))
    compat_sample, compat_sample_rate = _timed(lambda: score_snownlp(sample), len(sample))
    identical = int(np.sum(compat_sample == plain))
    max_abs_diff = float(np.max(np.abs(compat_sample - plain))) if len(sample) else 0.0
    _, compat_rate = _timed(lambda: score_snownlp(texts), len(texts))
    _, snow_mode_rate = _timed(lambda: sentiment.score_posts(texts, "snownlp"), len(texts))
    _, domain_rate = _timed(lambda: sentiment.score_posts(texts, "domain"), len(texts))
    typical = [s for s in texts if 40 <= len(s) <= 80]
    _, domain_typical_rate = _timed(lambda: sentiment.score_posts(typical, "domain"), len(typical))

    result = {
        "posts": len(texts),
        "mean_chars": round(float(np.mean([len(s) for s in texts])), 1),
        "plain_snownlp_loop_posts_per_s": plain_rate,
        "plain_loop_sample": len(sample),
        "score_snownlp_on_sample_posts_per_s": compat_sample_rate,
        "score_snownlp_posts_per_s": compat_rate,
        "score_posts_snownlp_posts_per_s": snow_mode_rate,
        "score_posts_domain_posts_per_s": domain_rate,
        "score_posts_domain_40_80_chars_posts_per_s": domain_typical_rate,
        "typical_posts": len(typical),
        "ratio_score_snownlp_vs_plain": _ratio(compat_rate, plain_rate),
        "ratio_domain_vs_plain": _ratio(domain_rate, plain_rate),
        "ratio_domain_vs_snownlp_mode": _ratio(domain_rate, snow_mode_rate),
        "identity_check": {"sample": len(sample), "bit_identical": identical,
                           "all_identical": identical == len(sample), "max_abs_diff": max_abs_diff},
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:48s} {value}")
    return 0 if result["identity_check"]["all_identical"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
