"""Hourly and daily rollups of the lake, built by DuckDB or Spark, and a store that answers the metric SQL from them.

`python -m analysis rollup --lake DIR --engine duckdb|spark --out FILE.duckdb` writes two tables, `hourly` and
`daily`: per time bucket × topic × channel × region, the additive measures the metric SQL aggregates (posts,
originals, reposts, comments, negatives, positives, the score sum, interaction sums) and the distinct sites of
the cell. ROLLUP_SQL is written once, in DuckDB's dialect; Spark runs it transpiled, like every metric.

`RollupStore` serves a dashboard at 100 M+ posts without changing a metric: each statement is rewritten (sqlglot)
onto the coarsest rollup table that gives exactly the same numbers (aggregate navigation), chosen again for
the bound parameters (a day-aligned range reads `daily`, an hour grain `hourly`). A statement that needs posts
(distinct authors, a post list, keywords) runs on the lake, or the database file; one without GROUP BY is split,
column by column, between the two (the headline's distinct sites and authors come from posts, the rest from the
rollup). Statements on other tables (incidents, alerts, settings …) and every write go to the database file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import sqlglot
from sqlglot import exp

from analysis.config import TIMEZONE
from analysis.dialects import bound, named_placeholders
from analysis.store import Store, write_tables

ROLLUP_ENV_VAR = "OPINION_ROLLUP"
LAKE_ENV_VAR = "OPINION_LAKE"
TABLES = {"hourly": "hour", "daily": "day"}  # rollup table → its time column (the bucket's start)
KEYS = ("topic", "channel", "region")

ROLLUP_SQL = """
SELECT date_trunc('{grain}', created_at) AS {grain}, topic, channel, region,
       count(*)                                                                    AS posts,
       count(*) FILTER (WHERE post_type = 'original')                              AS originals,
       count(*) FILTER (WHERE post_type = 'repost')                                AS reposts,
       count(*) FILTER (WHERE post_type = 'comment')                               AS comments,
       count(*) FILTER (WHERE sentiment_label = '负面')                             AS negatives,
       count(*) FILTER (WHERE sentiment_label = '正面')                             AS positives,
       sum(sentiment_score)                                                        AS score_sum,
       CAST(coalesce(sum(repost_count), 0) AS BIGINT)                              AS repost_sum,
       CAST(coalesce(sum(comment_count), 0) AS BIGINT)                             AS comment_sum,
       CAST(coalesce(sum(like_count), 0) AS BIGINT)                                AS like_sum,
       CAST(coalesce(sum(read_count), 0) AS BIGINT)                                AS read_sum,
       CAST(coalesce(sum(repost_count + comment_count + like_count), 0) AS BIGINT) AS interactions,
       count(DISTINCT site)                                                        AS sites
FROM posts GROUP BY ALL
"""

# An aggregate of the metric SQL over posts (as sqlglot writes it in DuckDB's dialect) → the same number from a
# rollup table. Anything else (distinct authors or sites, min/max of a time, lists) needs the posts.
_MEASURES = {
    "COUNT(*)": "COALESCE(SUM(posts), 0)::BIGINT",
    "COUNT(*) FILTER(WHERE post_type = 'original')": "COALESCE(SUM(originals), 0)::BIGINT",
    "COUNT(*) FILTER(WHERE post_type = 'repost')": "COALESCE(SUM(reposts), 0)::BIGINT",
    "COUNT(*) FILTER(WHERE post_type = 'comment')": "COALESCE(SUM(comments), 0)::BIGINT",
    "COUNT(*) FILTER(WHERE sentiment_label = '负面')": "COALESCE(SUM(negatives), 0)::BIGINT",
    "COUNT(*) FILTER(WHERE sentiment_label = '正面')": "COALESCE(SUM(positives), 0)::BIGINT",
    "AVG(sentiment_score)": "SUM(score_sum) / SUM(posts)",
    "SUM(repost_count)": "SUM(repost_sum)",
    "SUM(comment_count)": "SUM(comment_sum)",
    "SUM(like_count)": "SUM(like_sum)",
    "SUM(read_count)": "SUM(read_sum)",
    **{f"COUNT(DISTINCT {key})": f"COUNT(DISTINCT {key})" for key in KEYS},
}
# Time units a bucket start of each table still answers exactly (date_trunc of a bucket start = of any post in it).
_UNITS = {"hourly": {"hour", "day", "week", "month", "quarter", "year"},
          "daily": {"day", "week", "month", "quarter", "year"}}
_DAY_FORMATS = {"%Y", "%m", "%d", "%F"}
_TABLES_OF_POSTS_ONLY = {"posts"}


class NotDerivable(ValueError):
    """The statement needs posts: no rollup table holds what it reads."""


@dataclass(frozen=True)
class Part:
    source: str                  # "rollup" or "posts"
    sql: str                     # DuckDB SQL with named parameters ($p0 …)
    params: tuple[str, ...]      # the parameter names it binds


@dataclass(frozen=True)
class Variant:
    table: str
    parts: tuple[Part, ...]
    columns: tuple[str, ...]     # a split statement's columns, in its order (its parts are put side by side)
    aligned: tuple[str, ...]     # parameters compared with created_at: must fall on a bucket start
    units: tuple[str, ...]       # parameters naming a date_trunc unit: must be one the table answers

    def accepts(self, params: dict) -> bool:
        bucket = "h" if self.table == "hourly" else "D"
        for name in self.aligned:
            value = params[name]
            if not isinstance(value, dt.datetime):
                return False
            start = pd.Timestamp(value).tz_convert(TIMEZONE) if value.tzinfo else pd.Timestamp(value)
            if start != start.floor(bucket):
                return False
        return all(str(params[name]).lower() in _UNITS[self.table] for name in self.units)


def _posts_only(tree: exp.Expression) -> bool:
    return {t.name for t in tree.find_all(exp.Table)} == _TABLES_OF_POSTS_ONLY


def _derive(select: exp.Select, table: str) -> Variant:
    """`select` (one statement on posts) on a rollup table, or NotDerivable."""
    if select.find(exp.Subquery, exp.CTE, exp.Union, exp.Join, exp.Window, exp.Unnest, exp.Explode):
        raise NotDerivable("nested statement")
    tree = select.copy()
    aliases = {e.alias for e in tree.expressions if e.alias}
    aligned, units = [], []
    for star in tree.find_all(exp.Star):
        if not star.find_ancestor(exp.AggFunc):
            raise NotDerivable("SELECT *")
    for column in list(tree.find_all(exp.Column)):
        if column.find_ancestor(exp.AggFunc, exp.Filter):
            continue
        if column.name in KEYS:
            continue
        if column.name in aliases and column.find_ancestor(exp.Order):
            continue
        if column.name != "created_at":
            raise NotDerivable(f"column {column.name}")
        parent = column.parent
        if isinstance(parent, exp.GTE | exp.LT) and parent.this is column \
                and isinstance(parent.expression, exp.Placeholder):
            aligned.append(parent.expression.name)
        elif isinstance(parent, exp.TimestampTrunc | exp.DateTrunc) and parent.this is column:
            unit = parent.args.get("unit")
            if isinstance(unit, exp.Placeholder):
                units.append(unit.name)
            elif unit is None or unit.name.lower() not in _UNITS[table]:
                raise NotDerivable("date_trunc unit")
        elif isinstance(parent, exp.TimeToStr) and parent.this is column:
            directives = set(parent.text("format").replace("-", " ").replace(":", " ").split())
            if not directives <= (_DAY_FORMATS | ({"%H"} if table == "hourly" else set())):
                raise NotDerivable("strftime format")
        elif isinstance(parent, exp.Hour) and parent.this is column:
            if table != "hourly":
                raise NotDerivable("hour of a daily bucket")
        elif not (isinstance(parent, exp.DayOfWeekIso | exp.DayOfWeek) and parent.this is column):
            raise NotDerivable(f"created_at in {type(parent).__name__}")
        column.replace(exp.column(TABLES[table]))
    for node in list(tree.find_all(exp.AggFunc, exp.Filter)):
        if node.find_ancestor(exp.AggFunc, exp.Filter):
            continue
        measure = _MEASURES.get(node.sql("duckdb"))
        if measure is None:
            raise NotDerivable(node.sql("duckdb"))
        node.replace(sqlglot.parse_one(measure, read="duckdb"))
    for source in list(tree.find_all(exp.Table)):
        source.replace(exp.to_table(table))
    columns = tuple(e.alias_or_name for e in select.expressions)
    return Variant(table, (_part("rollup", tree),), columns, tuple(aligned), tuple(units))


def _part(source: str, tree: exp.Expression) -> Part:
    return Part(source, tree.sql("duckdb"), tuple(dict.fromkeys(p.name for p in tree.find_all(exp.Placeholder))))


def _split(select: exp.Select, table: str) -> Variant:
    """A statement without GROUP BY gives one row: its derivable columns from the rollup, the rest from posts."""
    if any(select.args.get(k) for k in ("group", "order", "limit", "having", "distinct")):
        raise NotDerivable("grouped")
    derived, rest = [], []
    for projection in select.expressions:
        single = select.copy().select(projection.copy(), append=False)
        try:
            derived.append((projection, _derive(single, table)))
        except NotDerivable:
            rest.append(projection)
    if not derived or not all(p.alias for p in select.expressions):
        raise NotDerivable("nothing from the rollup, or an unnamed column")
    rollup = select.copy().select(*(p.copy() for p, _ in derived), append=False)
    variant = _derive(rollup, table)
    posts = select.copy().select(*(p.copy() for p in rest), append=False)
    return Variant(table, (*variant.parts, _part("posts", posts)), tuple(e.alias_or_name for e in select.expressions),
                   variant.aligned, variant.units)


@functools.lru_cache(maxsize=1024)
def plan(sql: str) -> tuple[Variant, ...] | None:
    """None: not a statement on posts alone. Otherwise the rollup variants that answer it, coarsest first
    (empty: it needs posts)."""
    tree = sqlglot.parse_one(named_placeholders(sql), read="duckdb")
    if not isinstance(tree, exp.Select) or not _posts_only(tree):
        return None
    variants = []
    for table in ("daily", "hourly"):
        for derive in (_derive, _split):
            try:
                variants.append(derive(tree, table))
                break
            except NotDerivable:
                continue
    return tuple(variants)


class RollupStore:
    """The dashboard's store at scale: metric SQL on posts from the rollup file where it gives the same numbers,
    from the lake (or the database file) where it needs posts; everything else is the database file's."""

    def __init__(self, owner: Store, rollup: str | Path, lake: str | Path | None = None):
        self.owner = owner
        self.rollup_path = Path(rollup)
        self.posts = Store.on_parquet_lake(lake) if lake else owner
        # statements answered per source: daily, hourly, daily+posts (split), posts, database
        self.served: Counter[str] = Counter()
        self._rollup, self._stamp = None, None

    def __getattr__(self, name):  # path, commits, writes, batch_exists …: the database file's
        return getattr(self.owner, name)

    def _tables(self) -> Store:
        """The rollup file, re-opened when a new build has been renamed over it."""
        stat = self.rollup_path.stat()
        stamp = (stat.st_ino, stat.st_mtime_ns)
        if stamp != self._stamp:
            if self._rollup is not None:
                self._rollup.close()
            self._rollup, self._stamp = Store(self.rollup_path, read_only=True), stamp
        return self._rollup

    def data_version(self) -> str:
        self._tables()
        return f"{self.owner.data_version()}:rollup{self._stamp[1]}"

    def _from_rollup(self, sql: str, params: Sequence | None) -> pd.DataFrame | Store:
        """The answer from the rollup, or the store that answers the statement."""
        variants = plan(sql)
        if variants is None:
            self.served["database"] += 1
            return self.owner
        named = bound(params)
        for variant in variants:
            if variant.accepts(named):
                self.served[variant.table if len(variant.parts) == 1 else f"{variant.table}+posts"] += 1
                frames = [(self._tables() if part.source == "rollup" else self.posts).query(
                    part.sql, {name: named[name] for name in part.params}) for part in variant.parts]
                return frames[0] if len(frames) == 1 else pd.concat(frames, axis=1)[list(variant.columns)]
        self.served["posts"] += 1
        return self.posts

    def query(self, sql: str, params: Sequence | None = None) -> pd.DataFrame:
        answer = self._from_rollup(sql, params)
        return answer if isinstance(answer, pd.DataFrame) else answer.query(sql, params)

    def scalar(self, sql: str, params: Sequence | None = None):
        answer = self._from_rollup(sql, params)
        if isinstance(answer, pd.DataFrame):
            return answer.iloc[0, 0].item() if len(answer) else None
        return answer.scalar(sql, params)

    def close(self) -> None:
        if self._rollup is not None:
            self._rollup.close()
        if self.posts is not self.owner:
            self.posts.close()
        self.owner.close()


def serving(owner: Store) -> Store | RollupStore:
    """The dashboard's store: the database file, or with $OPINION_ROLLUP set, that rollup file in front of it
    (and $OPINION_LAKE, when set, for the posts behind the numbers)."""
    rollup = os.environ.get(ROLLUP_ENV_VAR)
    return RollupStore(owner, rollup, os.environ.get(LAKE_ENV_VAR) or None) if rollup else owner


def build(lake: str | Path, engine: str, master: str | None = None) -> dict[str, pd.DataFrame]:
    """The rollup tables of a lake, computed by DuckDB or Spark from the same SQL, in a stable row order."""
    if engine == "duckdb":
        source = Store.on_parquet_lake(lake)
    elif engine == "spark":
        from analysis import spark

        source = spark.SparkStore(lake, master=master or spark.DEFAULT_MASTER)
    else:
        raise ValueError(f"unknown engine {engine}")
    tables = {}
    for table, grain in TABLES.items():
        frame = source.query(ROLLUP_SQL.format(grain=grain))
        tables[table] = frame.sort_values([grain, *KEYS], na_position="last").reset_index(drop=True)
    return tables


def cli_rollup(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis rollup",
                                     description="Hourly and daily aggregates of the Parquet lake, for the dashboard.")
    parser.add_argument("--lake", type=Path, required=True, help="the lake export-parquet writes")
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb")
    parser.add_argument("--master", help="Spark master (default local[2]; e.g. spark://host:7077, yarn, k8s://…)")
    parser.add_argument("--out", type=Path, required=True, help="the rollup file (replaced whole)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    tables = build(args.lake, args.engine, args.master)
    posts = int(tables["hourly"]["posts"].sum())
    info = pd.DataFrame([{"engine": args.engine, "lake": str(args.lake.resolve()), "posts": posts,
                          "built_at": pd.Timestamp.now(tz=TIMEZONE)}])
    write_tables(args.out, {**tables, "rollup_info": info})
    print(f"rollup {args.out}: {posts} posts in {len(tables['hourly'])} hourly and {len(tables['daily'])} daily rows "
          f"by {args.engine} in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return 0
