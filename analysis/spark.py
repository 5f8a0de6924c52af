"""Apache Spark as a read backend over the Parquet lake: the metric functions run on it unchanged.

The SQL stays the one written for DuckDB (analysis/metrics.py, analysis/explore.py …). `SparkStore` has the
store's read interface (query, scalar): each statement is transpiled by sqlglot once (cached) into the
project's own Spark dialect (analysis/dialects.py), its `?` parameters become named markers in the order they
were written and are bound by Spark (never spliced into the text), and results come back through Arrow,
timestamps in Asia/Shanghai.
pyspark is imported only when a session is started (requirements-spark.txt; it needs a Java runtime).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa

from analysis.config import TIMEZONE
from analysis.dialects import bound, to_spark

DEFAULT_MASTER = "local[2]"


def arrow_frame(table: pa.Table) -> pd.DataFrame:
    """Arrow → pandas with every timestamp in Asia/Shanghai (toPandas() would drop the zone)."""
    frame = table.to_pandas()
    for field in table.schema:
        if pa.types.is_timestamp(field.type) and field.type.tz is not None:
            frame[field.name] = frame[field.name].dt.tz_convert(TIMEZONE)
    return frame


def session(master: str = DEFAULT_MASTER, app_name: str = "opinion"):
    """A Spark session whose days are cut in Asia/Shanghai. `master` is local[N] or a cluster URL
    (spark://host:7077, yarn, k8s://…); the lake path must then be one every executor can read."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    scratch = Path(tempfile.gettempdir()) / "opinion-spark"
    builder = (SparkSession.builder.master(master).appName(app_name)
               .config("spark.sql.session.timeZone", TIMEZONE)
               .config("spark.sql.shuffle.partitions", "4" if master.startswith("local") else "200")
               .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")  # not INT96, if it ever writes
               .config("spark.sql.warehouse.dir", str(scratch / "warehouse"))
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false"))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


class SparkStore:
    """Read-only store whose `posts` is the day-partitioned Parquet lake, queried by Spark."""

    def __init__(self, lake: str | Path, spark=None, *, master: str = DEFAULT_MASTER):
        self.path = Path(lake)
        # A session of its own (same SparkContext): its `posts` view cannot clash with another store's.
        self.spark = (spark or session(master)).newSession()
        self.spark.read.parquet(str(lake)).drop("day").createOrReplaceTempView("posts")

    def query(self, sql: str, params: Sequence | None = None) -> pd.DataFrame:
        return arrow_frame(self.spark.sql(to_spark(sql), args=bound(params)).toArrow())

    def scalar(self, sql: str, params: Sequence | None = None):
        table = self.spark.sql(to_spark(sql), args=bound(params)).toArrow()
        if not table.num_rows:
            return None
        value = table.column(0)[0].as_py()
        return pd.Timestamp(value).tz_convert(TIMEZONE).to_pydatetime() if isinstance(value, dt.datetime) else value
