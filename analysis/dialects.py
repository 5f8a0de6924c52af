"""The SQL as written for DuckDB, carried to other engines: named parameters and the project's Spark dialect.

Pure sqlglot (no engine imported): analysis/spark.py runs the transpiled SQL on Spark, analysis/rollup.py
rewrites it onto rollup tables.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

import sqlglot
from sqlglot import exp
from sqlglot.dialects.spark import Spark
from sqlglot.tokens import TokenType


class ProjectSpark(Spark):
    """sqlglot's Spark dialect with the gaps that give silently wrong numbers fixed.

    isodow: sqlglot writes `(DAYOFWEEK(x) % 7) + 1`, which is Sunday = 2 … Saturday = 1, two days off ISO's
    Monday = 1 … Sunday = 7 (sqlglot issue 8021, closed as out of scope). Spark's WEEKDAY is Monday = 0.
    avg: DuckDB averages a DECIMAL (`CASE … THEN 1.0 ELSE 0.0 END`) to a DOUBLE, Spark to a DECIMAL rounded to
    5 places (0.32166 for 0.3216637…); averaging the DOUBLE gives DuckDB's number.
    """

    class Generator(Spark.Generator):
        TRANSFORMS = {
            **Spark.Generator.TRANSFORMS,
            exp.DayOfWeekIso: lambda self, e: f"(WEEKDAY({self.sql(e, 'this')}) + 1)",
            exp.Avg: lambda self, e: self.func("AVG", _as_double(e.this)),
        }


def _as_double(value: exp.Expression) -> exp.Expression:
    if isinstance(value, exp.Distinct):
        return exp.Distinct(expressions=[_as_double(v) for v in value.expressions])
    return exp.cast(value, exp.DataType.Type.DOUBLE)


def named_placeholders(sql: str) -> str:
    """`?` → `$p0`, `$p1` … in the order they are written (the order DuckDB binds a parameter list), so that
    a rewrite or a transpile that moves clauses (LIMIT, subqueries) can never bind a value to the wrong slot."""
    pieces, last = [], 0
    tokens = sqlglot.tokenize(sql, read="duckdb")
    marks = [t for t in tokens if t.token_type == TokenType.PLACEHOLDER and t.text == "?"]
    for number, token in enumerate(marks):
        pieces += [sql[last:token.start], f"$p{number}"]
        last = token.end + 1
    return "".join(pieces) + sql[last:]


def bound(params: Sequence | Mapping | None) -> dict:
    """The parameter list as the named markers of named_placeholders."""
    if isinstance(params, Mapping):
        raise TypeError("the metric SQL binds positional parameters only")
    return {f"p{number}": value for number, value in enumerate(params or [])}


@functools.lru_cache(maxsize=1024)
def to_spark(sql: str) -> str:
    """DuckDB SQL → Spark SQL with named parameter markers (:p0 …), once per distinct statement."""
    return sqlglot.transpile(named_placeholders(sql), read="duckdb", write=ProjectSpark)[0]
