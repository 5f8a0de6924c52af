"""What every CLI verb shares: the --db/--json options (accepted before or after a sub-command) and JSON output
in which a missing value is `null`, never "NaN" or "NaT"."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import config


def common_options() -> argparse.ArgumentParser:
    """A parent parser for a verb and each of its sub-commands: `alerts --json list` and `alerts list --json`
    both work (SUPPRESS lets whichever level was given set the value, without the other overwriting it)."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--db", default=argparse.SUPPRESS,
                        help=f"database file (default ${config.DB_ENV_VAR} or data/opinion.duckdb)")
    parent.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print JSON (UTF-8; missing values are null)")
    return parent


def db_path(args: argparse.Namespace) -> Path:
    return config.resolve_db_path(getattr(args, "db", None))


def wants_json(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "json", False))


def jsonable(value):
    """Plain JSON values: NaN/NaT/None → None, times → ISO 8601, numpy scalars and arrays → Python."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | np.ndarray | pd.Index | pd.Series):
        return [jsonable(v) for v in value]
    if isinstance(value, pd.DataFrame):
        return [jsonable(r) for r in value.to_dict(orient="records")]
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, pd.Timedelta | dt.timedelta):
        return pd.Timedelta(value).total_seconds()
    if isinstance(value, Path):
        return str(value)
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value if isinstance(value, str) else str(value)


def dumps(payload) -> str:
    return json.dumps(jsonable(payload), ensure_ascii=False, allow_nan=False)


def print_json(payload) -> None:
    print(dumps(payload))
