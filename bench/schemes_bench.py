"""What matching monitoring schemes adds to an import (and what near-duplicate clustering costs in it).

Usage: .venv/bin/python bench/schemes_bench.py [--posts 30000] [--repeats 3]

One CSV of N real posts (../shared/data), imported in this process into fresh databases that differ only in their
schemes: none, the 12 defaults (the built-in dictionary, already applied while preparing the batch), and 50 (the
defaults plus 38 office-style schemes: 地域词 + 主体词 + 事件词 - 排除词, some scoped to titles or channels).
Printed: the best of `--repeats` import CPU times of each (interleaved), the ratio of 50 schemes to none, and the
matcher alone.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from analysis import ingest, near_dupes, schemes, text, topics  # noqa: E402
from analysis.store import Store  # noqa: E402

REGIONS = ["城关镇", "城关", "开发区", "新区", "东城", "西城", "南湖", "北山", "河口", "青石镇", "白沙", "高新区",
           "老城区", "县城", "县里", "镇上", "村里", "市里", "本地", "我们这"]
SUBJECTS = ["学校", "医院", "小区", "公司", "工厂", "酒店", "饭店", "餐厅", "外卖", "商家", "超市", "物业", "政府",
            "派出所", "银行", "快递", "司机", "老板", "店家", "客服"]
EXCLUDED = ["广告", "招聘", "转让", "抽奖", "代购", "优惠券"]


def fifty_schemes(rng: np.random.Generator) -> list[schemes.Scheme]:
    out = schemes.default_schemes()
    words = [w for ws in topics.TOPIC_KEYWORDS.values() for w in ws]
    for k in range(50 - len(out)):
        regions = rng.choice(REGIONS, 3, replace=False)
        subjects = rng.choice(SUBJECTS, 4, replace=False)
        events = rng.choice(words, 8, replace=False)
        expression = schemes.build_expression(regions if k % 3 else [], subjects, events,
                                              rng.choice(EXCLUDED, 2, replace=False))
        scope = "title" if k % 7 == 0 else "both"
        channels = ("微博",) if k % 5 == 0 else ()
        out.append(schemes.Scheme(f"方案{k:02d}", expression, scope, channels))
    return out


def make_csv(path: Path, posts: int) -> None:
    shared = REPO.parent / "shared" / "data"
    texts = pd.read_csv(shared / "sentiment_train.csv.gz", usecols=["text"])["text"].dropna().astype(str)
    texts = texts[texts.str.len() > 4].sample(n=posts, random_state=3).to_numpy()
    rng = np.random.default_rng(3)
    created = pd.Timestamp("2026-11-01 00:00") + pd.to_timedelta(rng.integers(0, 30 * 86400, posts), unit="s")
    pd.DataFrame({"post_id": [f"p{n}" for n in range(posts)], "channel": rng.choice(["微博", "贴吧", "新闻"], posts),
                  "title": [t[:14] for t in texts], "text": texts, "created_at": created.strftime("%Y-%m-%d %H:%M:%S"),
                  "author_id": [f"u{n % 5000}" for n in range(posts)]}).to_csv(path, index=False)


def import_time(data: bytes, folder: Path, name: str, setup) -> float:
    db_path = folder / f"{name}.duckdb"
    with Store(db_path) as store:
        setup(store)
        started = time.process_time()  # CPU time of this process (DuckDB's threads too): other load counts less
        summary = ingest.ingest_bytes(data, "bench.csv", db_path, store=store)
        elapsed = time.process_time() - started
    assert summary.status == "imported", summary
    db_path.unlink()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=30_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    fifty = fifty_schemes(np.random.default_rng(5))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_csv(folder / "bench.csv", args.posts)
        data = (folder / "bench.csv").read_bytes()

        def none(store):
            store.execute([("DELETE FROM schemes", [])])

        def fifty_setup(store):
            store.execute([("DELETE FROM schemes", [])])
            for scheme in fifty:
                schemes.save(store, scheme, "bench")

        setups = {"none": none, "defaults (12)": lambda store: None, "50 schemes": fifty_setup}
        import_time(data[:200_000], folder, "warmup", lambda store: None)  # jieba, the sentiment model
        times: dict[str, list[float]] = {name: [] for name in setups}
        for r in range(args.repeats):  # interleaved, so a busy moment of the machine hits every case alike
            for name, setup in setups.items():
                times[name].append(import_time(data, folder, f"{name}-{r}".replace(" ", ""), setup))
        best = {name: min(seconds) for name, seconds in times.items()}
        frame = pd.read_csv(folder / "bench.csv")
        norm = text.normalize_many(frame["text"].tolist())
        started = time.process_time()
        matched = schemes.Matcher(fifty).match(text.normalize_many(frame["title"].tolist()), norm,
                                               frame["channel"].tolist())
        alone = time.process_time() - started
        started = time.process_time()
        near_dupes.cluster(near_dupes.clean_many([f"{t} {b}" for t, b in zip(frame["title"], norm, strict=True)]))
        dupes = time.process_time() - started
    print(f"{args.posts} real posts, best of {args.repeats} imports (CPU seconds of this process):")
    for name, seconds in best.items():
        print(f"  {name:14s} {seconds:6.2f} s  ({args.posts / seconds:,.0f} posts/s)")
    print(f"50 schemes vs none: {best['50 schemes'] / best['none']:.3f}x "
          f"(+{(best['50 schemes'] / best['none'] - 1) * 100:.1f} %); vs defaults: "
          f"{best['50 schemes'] / best['defaults (12)']:.3f}x")
    tagged = sum(1 for m in matched if m)
    print(f"matcher alone, 50 schemes: {alone:.2f} s ({args.posts / alone:,.0f} posts/s), "
          f"{tagged} posts tagged ({tagged / args.posts:.0%}); {alone / best['none']:.1%} of an import")
    print(f"near-duplicates alone (clean, sign, cluster in memory): {dupes:.2f} s, {dupes / best['none']:.1%} of an "
          "import (part of every import above)")


if __name__ == "__main__":
    main()
