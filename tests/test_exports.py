"""Exports: every spreadsheet cell the product writes is safe from formula injection."""

from __future__ import annotations

import io

import pandas as pd

from analysis import exports

HOSTILE = ["=1+1", "+SUM(A1:A9)", "-2", "@cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", "<script>alert(1)</script>"]


def test_neutralise_cell_defuses_formulas():
    assert [exports.neutralise_cell(v) for v in HOSTILE] == [
        "'=1+1", "'+SUM(A1:A9)", "'-2", "'@cmd|' /C calc'!A0", "'\t=1+1", "'\r=1+1", "<script>alert(1)</script>"]
    assert exports.neutralise_cell(-2) == -2 and exports.neutralise_cell("安全生产") == "安全生产"
    frame = exports.safe_frame(pd.DataFrame({"=x": HOSTILE, "n": range(7), "tags": [["=a", "b"]] * 7}))
    assert list(frame.columns) == ["'=x", "n", "tags"]
    assert frame["=x" if "=x" in frame else "'=x"].str[0].tolist()[:6] == ["'"] * 6
    assert frame["tags"][0] == "'=a、b" and frame["n"].tolist() == list(range(7))


def test_csv_bytes_open_in_excel_as_text():
    data = exports.csv_bytes(pd.DataFrame({"text": ["=HYPERLINK(\"http://x\")", "正常"]}), {"text": "正文"})
    assert data.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    assert back.columns.tolist() == ["正文"] and back["正文"].tolist() == ["'=HYPERLINK(\"http://x\")", "正常"]
