"""Spreadsheet-safe exports: every CSV/XLSX the product writes goes through safe_frame (formula injection)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from analysis.config import TIMEZONE

# A cell starting with one of these is run as a formula by Excel/WPS (also tab, CR and the full-width forms).
_FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def neutralise_cell(value):
    """Defuse spreadsheet formula injection: text starting with = + - @ (or tab/CR) gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_LEADS):
        return "'" + value
    return value


def _cell_text(value):
    if isinstance(value, list | tuple | np.ndarray):
        return "、".join(str(v) for v in value)
    if isinstance(value, pd.Timestamp):
        if pd.isna(value):
            return ""
        return (value.tz_convert(TIMEZONE) if value.tzinfo else value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, str):
        return CONTROL_CHARS.sub("", value)
    return value


def _is_missing(value) -> bool:
    if isinstance(value, list | tuple | np.ndarray):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def safe_frame(frame: pd.DataFrame, headers: dict[str, str] | None = None) -> pd.DataFrame:
    """A copy ready for CSV/XLSX: Chinese headers, lists joined, times as text, every text cell neutralised."""
    out = frame.copy()
    if headers:
        out = out[[c for c in headers if c in out.columns]].rename(columns=headers)
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_datetime64_any_dtype(series):
            series = series.dt.tz_convert(TIMEZONE) if series.dt.tz is not None else series
            out[column] = series.dt.strftime("%Y-%m-%d %H:%M:%S").astype(object).where(series.notna(), "")
        elif not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
            out[column] = series.astype(object).map(lambda v: "" if _is_missing(v) else neutralise_cell(_cell_text(v)))
    out.columns = [neutralise_cell(str(c)) for c in out.columns]
    return out


def csv_bytes(frame: pd.DataFrame, headers: dict[str, str] | None = None) -> bytes:
    """UTF-8 with BOM so that Excel on Chinese Windows opens it without mojibake."""
    return safe_frame(frame, headers).to_csv(index=False).encode("utf-8-sig")
