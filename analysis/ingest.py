"""Files in, posts out: read any supported file, validate every row, enrich, and hand the batch to the store.

Every row read ends as exactly one of: inserted, duplicate, quarantined with a reason.
When another process owns the database file, the validated batch is queued in the inbox folder
as Parquet and imported atomically by whichever process next owns the file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import re
import threading
import uuid
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis import config, exports, layouts, near_dupes, schemes, sentiment, text, topics
from analysis.store import POST_COLUMNS, BatchRecord, DatabaseLocked, Store, open_store

log = logging.getLogger(__name__)

TZ = config.TIMEZONE
EARLIEST_VALID = pd.Timestamp("2000-01-01", tz=TZ)
COUNT_COLUMNS = ("repost_count", "comment_count", "like_count", "read_count")

# Hard limits of the import path itself (the UI has its own, smaller, config.MAX_UPLOAD_MB).
MAX_INGEST_BYTES = 512 * 1024 * 1024  # bytes of one file read by ingest_bytes / ingest_files
MAX_XLSX_UNCOMPRESSED_BYTES = 1024 * 1024 * 1024  # the workbook's declared uncompressed size, all members
MAX_ZIP_RATIO = 100  # uncompressed/compressed for a member over ZIP_RATIO_MIN_BYTES: more is a zip bomb
ZIP_RATIO_MIN_BYTES = 16 * 1024 * 1024
HEADER_SCAN_ROWS = 10  # an Excel export may put a title and blank rows above the header
csv.field_size_limit(max(csv.field_size_limit(), MAX_INGEST_BYTES))  # one field may hold a whole long text


class UnreadableFile(ValueError):
    """The file as a whole cannot be read; nothing from it is written.

    `message_zh` is the sentence for the UI; str() is the one-line reason for the CLI and logs.
    """

    def __init__(self, message: str, message_zh: str):
        super().__init__(message)
        self.message_zh = message_zh


@dataclass
class RawTable:
    """A file's records as strings (None for empty), with the line each record came from."""

    frame: pd.DataFrame
    lines: np.ndarray
    file_format: str
    encoding: str | None
    malformed: list[tuple[int, str, str]] = field(default_factory=list)  # (line, reason_code, raw)


@dataclass
class FileSummary:
    file: str
    status: str  # imported | queued | failed
    read: int = 0
    inserted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    queued: int = 0
    layout: str = ""
    batch_id: str = ""
    reasons: dict[str, int] = field(default_factory=dict)
    error: str = ""
    error_zh: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


# Chinese reasons shown to analysts; the code is for logs and filters.
REASONS_ZH: dict[str, str] = {
    "malformed_row": "该行列数多于表头，无法对应到字段",
    "bad_json": "该行不是有效的 JSON 对象",
    "missing_channel": "缺少来源渠道（可在导入时指定渠道）",
    "empty_text": "标题和正文均为空",
    "missing_date": "缺少发布时间",
    "bad_date": "发布时间无法解析或格式有歧义（请使用 年-月-日 时:分 格式）",
    "date_too_old": "发布时间早于2000年，疑为错误",
    "future_date": f"发布时间晚于当前时间超过{config.FUTURE_TOLERANCE_HOURS}小时",
    "text_too_long": f"正文超过{config.MAX_TEXT_CHARS}字上限",
    "bad_count": "转发/评论/点赞/阅读数不是有效的非负数字",
    "truncated_row": "文件末尾不完整（最后一个字符被截断），该行未导入",
}


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f}"


def check_size(size: int) -> None:
    """Refuse a file larger than MAX_INGEST_BYTES before reading it."""
    if size > MAX_INGEST_BYTES:
        raise UnreadableFile(
            f"file too large: {size} bytes, the import limit is {MAX_INGEST_BYTES} bytes",
            f"文件过大（{_mb(size)} MB），超过导入上限 {_mb(MAX_INGEST_BYTES)} MB，请拆分后再导入",
        )


# -- reading ----------------------------------------------------------------------------------------
def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode by BOM, then strict UTF-8, then GB18030 (a superset of GBK): GBK text is almost never valid UTF-8."""
    content, encoding, _ = decode_text_tail(data)
    return content, encoding


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le'/'utf-16-be' when the NUL bytes say so (ASCII-heavy text has one NUL per character)."""
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd > 0.3 * len(sample) / 2 and even < odd / 10:
        return "utf-16-le"
    if even > 0.3 * len(sample) / 2 and odd < even / 10:
        return "utf-16-be"
    return None


_BOMS = ((b"\xef\xbb\xbf", "utf-8", "utf-8-sig"), (b"\xff\xfe", "utf-16-le", "utf-16"),
         (b"\xfe\xff", "utf-16-be", "utf-16"))
_NOT_TEXT = ("not a text file: too many control bytes (binary data?)",
             "无法读取：该文件不是文本表格（疑似二进制文件或已损坏），请上传 CSV、XLSX、JSON 或 Parquet 文件")
_UNKNOWN_ENCODING = ("cannot decode file as UTF-8, UTF-16, GBK or GB18030",
                     "无法识别文件编码：请保存为 UTF-8、GBK 或 GB18030 编码")


def _looks_binary(sample: bytes) -> bool:
    controls = sum(sample.count(bytes([b])) for b in (*range(0, 9), 11, 12, *range(14, 32), 127))
    return controls > 0.05 * len(sample)


def decode_text_tail(data: bytes) -> tuple[str, str, bool]:
    """decode_text plus whether the last character was cut off (a truncated UTF-8/UTF-16 file).

    A multi-byte sequence cut at the very end is dropped (the caller quarantines the last record) instead of
    letting one cut character send the whole file to the GB18030 fallback as mojibake.
    """
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            return _decode_strict(data[len(bom):], codec, label)
    utf16 = _utf16_without_bom(data)
    if utf16:
        return _decode_strict(data, utf16, utf16)
    try:
        return _decode_strict(data, "utf-8", "utf-8")
    except UnreadableFile:
        pass
    if _looks_binary(data[:65536]):
        raise UnreadableFile(*_NOT_TEXT)
    try:
        return data.decode("gb18030"), "gb18030", False
    except UnicodeDecodeError:
        pass
    raise UnreadableFile(*_UNKNOWN_ENCODING)


def stream_encoding(head: bytes) -> tuple[str, str, int]:
    """(codec, label, BOM length) of a file too big to decode whole, judged on its first bytes.

    The same order as decode_text_tail; a later part in another encoding is caught while decoding.
    """
    for bom, codec, label in _BOMS:
        if head.startswith(bom):
            return codec, label, len(bom)
    utf16 = _utf16_without_bom(head)
    if utf16:
        return utf16, utf16, 0
    try:
        _decode_strict(head, "utf-8", "utf-8")  # the sample may end inside a character: that is allowed
        return "utf-8", "utf-8", 0
    except UnreadableFile:
        pass
    if _looks_binary(head[:65536]):
        raise UnreadableFile(*_NOT_TEXT)
    return "gb18030", "gb18030", 0


def _decode_strict(data: bytes, codec: str, label: str) -> tuple[str, str, bool]:
    try:
        return data.decode(codec), label, False
    except UnicodeDecodeError as exc:
        if exc.reason in ("unexpected end of data", "truncated data") and exc.end >= len(data):
            return data[:exc.start].decode(codec), label, True
        if codec.startswith("utf-16"):
            raise UnreadableFile(f"invalid {codec} text at byte {exc.start}",
                                 "文件内容不是有效的 UTF-16 文本（文件可能已损坏）") from None
    raise UnreadableFile(*_UNKNOWN_ENCODING)


def sniff_format(data: bytes, name: str) -> str:
    """Decide the format from the content, not the file name."""
    if data.startswith(b"PK\x03\x04"):
        return "xlsx"
    if data.startswith(b"PAR1"):
        return "parquet"
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnreadableFile(
            "legacy .xls files are not supported; save as .xlsx",
            "不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx",
        )
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"["):
        return "json"
    if head.startswith(b"{"):
        return "jsonl" if name.lower().endswith((".jsonl", ".ndjson")) or b"}\n{" in data[:65536] else "json"
    return "csv"


def clean_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """All cells as str, empty and missing as None: one representation for validation."""
    out = frame.astype(object).where(frame.notna(), None)
    for column in out.columns:
        out[column] = [None if v is None or (isinstance(v, str) and not v.strip()) else str(v)
                       for v in out[column]]
    out.columns = column_names(out.columns)
    return out


def column_names(columns: Iterable) -> list[str]:
    return [str(c).strip().lstrip("\ufeff") for c in columns]


def _header_index(rows: list[list], hint: str | None = None) -> int:
    """The first of the leading rows whose cells match a known layout (0 when none does).

    Excel exports often start with a title row ('舆情信息导出 2026-11-20') and a blank row above the header.
    """
    for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        cells = [str(c) for c in row if c is not None and str(c).strip()]
        if not cells:
            continue
        try:
            layouts.detect_layout(cells, hint=hint)
        except layouts.UnknownLayoutError:
            continue
        return index
    return 0


def delimiter(content: str) -> str:
    head = content[:65536].splitlines()[:HEADER_SCAN_ROWS]
    tabs, commas = max((line.count("\t") for line in head), default=0), max((line.count(",") for line in head),
                                                                            default=0)
    return "\t" if tabs > commas else ","


def _read_delimited(content: str, hint: str | None = None) -> tuple[pd.DataFrame, np.ndarray,
                                                                      list[tuple[int, str, str]]]:
    return next(delimited_chunks(io.StringIO(content, newline=""), delimiter(content), hint))


def delimited_chunks(lines: Iterable[str], delimiter: str, hint: str | None = None, chunk_rows: int | None = None
                     ) -> Iterator[tuple[pd.DataFrame, np.ndarray, list[tuple[int, str, str]]]]:
    """(records, their line numbers, malformed lines) of a CSV/TSV, in pieces of at most chunk_rows records.

    The last piece always holds the file's last record (a piece is handed on only when one more record
    follows), so a cut-off last character can be blamed on it.
    """
    reader = csv.reader(lines, delimiter=delimiter)
    head: list[tuple[int, list[str]]] = []
    for record in reader:
        if record and any(cell.strip() for cell in record):
            head.append((reader.line_num, record))
        if len(head) >= HEADER_SCAN_ROWS:
            break
    if not head:
        raise UnreadableFile("file is empty", "文件为空")
    skip = _header_index([record for _, record in head], hint)
    header = head[skip][1]
    width = len(header)
    rows: list[list[str]] = []
    numbers: list[int] = []
    malformed: list[tuple[int, str, str]] = []

    def piece():
        return pd.DataFrame(rows, columns=header, dtype=object), np.array(numbers, dtype=np.int64), malformed

    def records():
        yield from head[skip + 1:]
        for record in reader:
            if record and any(cell.strip() for cell in record):
                yield reader.line_num, record

    for line, record in records():
        if chunk_rows and len(rows) + len(malformed) >= chunk_rows:
            yield piece()
            rows, numbers, malformed = [], [], []
        if len(record) > width and any(cell.strip() for cell in record[width:]):
            malformed.append((line, "malformed_row", delimiter.join(record)))
        else:
            rows.append(record[:width] + [""] * (width - len(record)))
            numbers.append(line)
    yield piece()


_MERGE_RE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')


def check_zip(data: bytes) -> zipfile.ZipFile:
    """Open a workbook's zip and refuse it, from the declared sizes alone, before anything is inflated."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise UnreadableFile(f"cannot read xlsx file: broken or truncated zip ({exc})",
                             "无法读取该XLSX文件：文件不完整或已损坏（可能下载/复制未完成），请重新导出") from None
    total = sum(m.file_size for m in members)
    if total > MAX_XLSX_UNCOMPRESSED_BYTES:
        raise UnreadableFile(
            f"refused xlsx: declared uncompressed size {total} bytes exceeds {MAX_XLSX_UNCOMPRESSED_BYTES}",
            f"拒绝导入：该XLSX解压后达 {_mb(total)} MB，超过上限 {_mb(MAX_XLSX_UNCOMPRESSED_BYTES)} MB"
            "（疑似压缩炸弹或超大表格，请拆分后导入）",
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > ZIP_RATIO_MIN_BYTES and ratio > MAX_ZIP_RATIO:
            raise UnreadableFile(
                f"refused xlsx: member {member.filename} expands {ratio:.0f}x to {member.file_size} bytes",
                f"拒绝导入：该XLSX中的 {member.filename} 压缩比异常（{ratio:.0f} 倍，"
                f"解压后 {_mb(member.file_size)} MB），疑似压缩炸弹",
            )
    return archive


def _merged_ranges(archive: zipfile.ZipFile, sheet_path: str) -> list[tuple[int, int, int, int]]:
    """(min_row, min_col, max_row, max_col), 1-based, of the sheet's merged cells, streamed from its XML."""
    from openpyxl.utils.cell import column_index_from_string

    found, tail = [], b""
    with archive.open(sheet_path.lstrip("/")) as stream:
        while chunk := stream.read(1 << 20):
            buffer = tail + chunk
            found += _MERGE_RE.findall(buffer)  # a tag cut by the chunk edge is whole in the next buffer
            tail = buffer[-200:]
    return [(int(r1), column_index_from_string(c1.decode()), int(r2), column_index_from_string(c2.decode()))
            for c1, r1, c2, r2 in dict.fromkeys(found)]


def _cell(value: object) -> object:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _read_xlsx(data: bytes, hint: str | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """The first sheet as values (Excel dates as datetimes), header found by layout, merged cells filled."""
    from openpyxl import load_workbook

    archive = check_zip(data)
    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        merged = _merged_ranges(archive, sheet._worksheet_path)
        numbered = [(number, [_cell(v) for v in row])
                    for number, row in enumerate(sheet.iter_rows(values_only=True), start=1)]
    finally:
        workbook.close()
    if merged:
        by_number = {number: row for number, row in numbered}
        for min_row, min_col, max_row, max_col in merged:
            top = by_number.get(min_row)
            value = top[min_col - 1] if top is not None and len(top) >= min_col else None
            for number in range(min_row, max_row + 1):
                row = by_number.get(number)
                if row is None:
                    continue
                row.extend([None] * (max_col - len(row)))
                for col in range(min_col - 1, max_col):
                    if row[col] is None:
                        row[col] = value
    numbered = [(n, row) for n, row in numbered if any(v is not None and str(v).strip() for v in row)]
    if not numbered:
        raise UnreadableFile("workbook's first sheet is empty", "工作簿的第一个工作表为空")
    skip = _header_index([row for _, row in numbered], hint)
    header_row = numbered[skip][1]
    body = numbered[skip + 1:]
    width = max(len(row) for _, row in numbered[skip:])
    header, seen = [], Counter()
    for index in range(width):
        cell = header_row[index] if index < len(header_row) else None
        name = str(cell).strip() if cell is not None and str(cell).strip() else f"Unnamed: {index}"
        header.append(f"{name}.{seen[name]}" if seen[name] else name)
        seen[name] += 1
    rows = [row + [None] * (width - len(row)) for _, row in body]
    frame = pd.DataFrame(rows, columns=header, dtype=object) if rows else pd.DataFrame(columns=header, dtype=object)
    return frame, np.array([n for n, _ in body], dtype=np.int64)


def _read_json(content: str) -> pd.DataFrame:
    try:
        parsed = json.loads(content)
    except json.JSONDecodeError as exc:
        raise UnreadableFile(f"invalid JSON: {exc}",
                             f"JSON 格式错误：第{exc.lineno}行第{exc.colno}列（文件可能不完整或已被截断）") from None
    if isinstance(parsed, dict):
        lists = [v for v in parsed.values() if isinstance(v, list)]
        parsed = lists[0] if len(lists) == 1 else [parsed]
    if not all(isinstance(item, dict) for item in parsed):
        raise UnreadableFile("JSON must be a list of objects", "JSON 文件应为对象数组（每条记录一个对象）")
    return pd.DataFrame(_flatten(item) for item in parsed)


def _read_jsonl(content: str) -> tuple[pd.DataFrame, np.ndarray, list[tuple[int, str, str]]]:
    # Records end at \n only: str.splitlines() would also cut inside a record at U+0085, U+2028, \x1c ...
    return next(jsonl_chunks(content.split("\n")))


def jsonl_chunks(lines: Iterable[str], chunk_rows: int | None = None
                 ) -> Iterator[tuple[pd.DataFrame, np.ndarray, list[tuple[int, str, str]]]]:
    """Like delimited_chunks, for JSON Lines: one object per line, a line that is not one is malformed."""
    records: list[dict] = []
    numbers: list[int] = []
    malformed: list[tuple[int, str, str]] = []
    for number, line in enumerate(lines, start=1):
        line = line[:-1] if line.endswith("\n") else line
        if not line.strip():
            continue
        if chunk_rows and len(records) + len(malformed) >= chunk_rows:
            yield pd.DataFrame(records), np.array(numbers, dtype=np.int64), malformed
            records, numbers, malformed = [], [], []
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            item = None
        if not isinstance(item, dict):
            malformed.append((number, "bad_json", line))
            continue
        records.append(_flatten(item))
        numbers.append(number)
    yield pd.DataFrame(records), np.array(numbers, dtype=np.int64), malformed


def _flatten(item: dict) -> dict:
    return {k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v for k, v in item.items()}


def read_table(data: bytes, name: str) -> RawTable:
    """Parse a file's bytes into string records; raises UnreadableFile when the file as a whole is bad."""
    check_size(len(data))
    if not data.strip(b" \t\r\n\x00"):
        raise UnreadableFile("file is empty", "文件为空")
    file_format = sniff_format(data, name)
    encoding = None
    truncated = False
    malformed: list[tuple[int, str, str]] = []
    try:
        if file_format == "xlsx":
            frame, lines = _read_xlsx(data, hint=name)
        elif file_format == "parquet":
            frame = pd.read_parquet(io.BytesIO(data))
            lines = np.arange(len(frame), dtype=np.int64) + 1
        else:
            content, encoding, truncated = decode_text_tail(data)
            if not content.strip("\ufeff \t\r\n\x00"):
                raise UnreadableFile("file is empty", "文件为空")
            if file_format == "json":
                frame = _read_json(content)
                lines = np.arange(len(frame), dtype=np.int64) + 1
            elif file_format == "jsonl":
                frame, lines, malformed = _read_jsonl(content)
            else:
                frame, lines, malformed = _read_delimited(content, hint=name)
    except UnreadableFile:
        raise
    except Exception as exc:  # a corrupt workbook or parquet file: one clear line, nothing written
        raise UnreadableFile(
            f"cannot read {file_format} file: {exc}", f"无法读取该{file_format.upper()}文件：文件损坏或格式不符"
        ) from exc
    table = RawTable(clean_cells(frame), lines, file_format, encoding, malformed)
    return drop_truncated_tail(table) if truncated else table


def raw_json(row: dict) -> str:
    """A quarantined record as valid JSON: an empty cell (None, NaN, NaT) is null, never the invalid NaN."""
    def plain(value):
        if isinstance(value, dict | list | str | bool | int) or value is None:
            return value
        if pd.isna(value):
            return None
        return value.item() if isinstance(value, np.generic) else value

    return json.dumps({str(k): plain(v) for k, v in row.items()}, ensure_ascii=False, allow_nan=False, default=str)


def drop_truncated_tail(table: RawTable) -> RawTable:
    """The record holding a cut-off last character is quarantined (its text is not what was written)."""
    last_malformed = max((line for line, _, _ in table.malformed), default=-1)
    if len(table.lines) == 0 or table.lines[-1] < last_malformed:
        return table
    row = table.frame.iloc[-1]
    raw = raw_json(row.to_dict())
    return RawTable(table.frame.iloc[:-1], table.lines[:-1], table.file_format, table.encoding,
                    [*table.malformed, (int(table.lines[-1]), "truncated_row", raw)])


# -- value parsing ----------------------------------------------------------------------------------
_COUNT_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*(万|w|W|亿|k|K|千)?\+?$")
_COUNT_UNITS = {None: 1, "万": 10_000, "w": 10_000, "W": 10_000, "亿": 100_000_000, "k": 1_000, "K": 1_000,
                "千": 1_000}


def parse_count(value: str | None) -> int | None:
    """'1.2万' → 12000, '10万+' → 100000, '1,234' → 1234, empty → 0; None when not a count."""
    if value is None:
        return 0
    match = _COUNT_RE.match(str(value).strip().replace(",", ""))
    if not match:
        return None
    return int(round(float(match.group(1)) * _COUNT_UNITS[match.group(2)]))


_HAS_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")
_YEAR_FIRST = re.compile(r"^\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}")
_NUMERIC = re.compile(r"^\d+(?:\.\d+)?$")


def parse_datetimes(values: pd.Series) -> pd.Series:
    """Parse timestamps into tz-aware Asia/Shanghai; NaT where unparseable or ambiguous.

    Accepted: year-first dates (2026-11-20 08:15, 2026/11/20, 2026年11月20日 8时, ISO 8601 with
    offset or Z), Unix epochs in s or ms, Excel serial days. Day-first/month-first forms such as
    03/04/2026 are ambiguous and rejected rather than guessed. Naive times are Asia/Shanghai.
    """
    result = pd.Series(pd.NaT, index=values.index, dtype=f"datetime64[ns, {TZ}]")
    present = values.dropna().astype(str).str.strip()
    if present.empty:
        return result
    numeric = present[present.str.fullmatch(_NUMERIC.pattern)].astype(float)
    for lower, upper, unit in ((1e11, 1e14, "ms"), (1e8, 1e11, "s")):
        part = numeric[(numeric >= lower) & (numeric < upper)]
        result.loc[part.index] = pd.to_datetime(part, unit=unit, utc=True).dt.tz_convert(TZ)
    excel = numeric[(numeric >= 20_000) & (numeric < 80_000)]
    serial = (pd.Timestamp("1899-12-30") + pd.to_timedelta(excel, unit="D")).dt.round("ms")  # 46327.41666… → 10:00
    result.loc[excel.index] = serial.dt.tz_localize(TZ)

    textual = present[present.str.match(_YEAR_FIRST.pattern)]
    cleaned = (textual.str.replace(r"[年月/.]", "-", regex=True).str.replace(r"[日号]", " ", regex=True)
               .str.replace("时", ":").str.replace("分", ":").str.replace("秒", "")
               .str.replace(r"\s+", " ", regex=True).str.strip().str.rstrip(":"))
    with_offset = cleaned.str.contains(_HAS_OFFSET.pattern)
    aware = cleaned[with_offset]
    if not aware.empty:
        parsed = pd.to_datetime(aware, format="ISO8601", utc=True, errors="coerce")
        result.loc[aware.index] = parsed.dt.tz_convert(TZ)
    naive = cleaned[~with_offset]
    if not naive.empty:
        parsed = pd.to_datetime(naive, format="ISO8601", errors="coerce")
        retry = parsed.isna()
        if retry.any():
            parsed[retry] = pd.to_datetime(naive[retry], format="mixed", errors="coerce")
        result.loc[naive.index] = parsed.dt.tz_localize(TZ, ambiguous="NaT", nonexistent="NaT")
    return result


# -- validation and enrichment ----------------------------------------------------------------------
@dataclass
class Validated:
    posts: pd.DataFrame  # canonical columns, typed, ready for enrichment
    quarantine: pd.DataFrame  # line, reason_code, reason, raw


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name]
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def validate(raw: RawTable, canonical: pd.DataFrame, channel: str | None = None,
             now: pd.Timestamp | None = None) -> Validated:
    """Type every canonical column and give each bad row its first failing reason."""
    now = now or pd.Timestamp.now(tz=TZ)
    reason = pd.Series([None] * len(canonical), index=canonical.index, dtype=object)

    def flag(mask: pd.Series, code: str) -> None:
        reason.loc[mask & reason.isna()] = code

    out = pd.DataFrame(index=canonical.index)
    channels = pd.Series([channel] * len(canonical), index=canonical.index) if channel else \
        _column(canonical, "channel")
    out["channel"] = [config.canonical_channel(c) for c in channels]
    flag(out["channel"].isna(), "missing_channel")

    for name in ("post_id", "site", "url", "author_id", "title", "parent_id", "root_id", "region", "topic"):
        out[name] = _column(canonical, name)
    out["text"] = _column(canonical, "text").fillna("")
    has_words = (out["text"].str.strip() != "") | out["title"].notna()
    flag(~has_words & out["parent_id"].isna(), "empty_text")

    created_raw = _column(canonical, "created_at")
    out["created_at"] = parse_datetimes(created_raw)
    flag(created_raw.isna(), "missing_date")
    flag(out["created_at"].isna(), "bad_date")
    flag(out["created_at"] < EARLIEST_VALID, "date_too_old")
    flag(out["created_at"] > now + pd.Timedelta(hours=config.FUTURE_TOLERANCE_HOURS), "future_date")
    out["collected_at"] = parse_datetimes(_column(canonical, "collected_at"))

    flag(out["text"].str.len() > config.MAX_TEXT_CHARS, "text_too_long")
    for name in COUNT_COLUMNS:
        parsed = _column(canonical, name).map(parse_count)
        flag(parsed.isna(), "bad_count")
        out[name] = parsed.fillna(0).astype("int64")
    out["post_type"] = _post_types(_column(canonical, "post_type"), out)

    bad = reason.notna()
    raw_rows = raw.frame.loc[bad]
    quarantine = pd.DataFrame({
        "line": raw.lines[bad.to_numpy()],
        "reason_code": reason[bad].to_numpy(),
        "reason": [REASONS_ZH[c] for c in reason[bad]],
        "raw": [raw_json(row) for row in raw_rows.to_dict(orient="records")],
    })
    if raw.malformed:
        extra = pd.DataFrame(raw.malformed, columns=["line", "reason_code", "raw"])
        extra["reason"] = extra["reason_code"].map(REASONS_ZH)
        quarantine = pd.concat([quarantine, extra[quarantine.columns]], ignore_index=True)
    return Validated(out.loc[~bad].reset_index(drop=True), quarantine.astype({"line": "int64"}))


def _post_types(given: pd.Series, posts: pd.DataFrame) -> pd.Series:
    """Explicit post_type wins; otherwise no parent → original, a `//@` chain or no words → repost."""
    explicit = given.where(given.isin(config.POST_TYPES))
    is_repost = posts["text"].str.contains("//@", regex=False) | (posts["text"].str.strip() == "")
    inferred = np.where(posts["parent_id"].isna(), "original", np.where(is_repost, "repost", "comment"))
    return explicit.fillna(pd.Series(inferred, index=posts.index))


def _stable_ids(posts: pd.DataFrame) -> pd.Series:
    """Given ids are kept; a missing id is derived from channel + url, else channel + author + text + time."""
    def derive(row) -> str:
        basis = row.url or f"{row.author_id or ''}\x1f{row.text}\x1f{row.title or ''}\x1f{row.created_at.isoformat()}"
        return "h" + hashlib.sha1(f"{row.channel}\x1f{basis}".encode()).hexdigest()[:20]

    missing = posts["post_id"].isna()
    ids = posts["post_id"].copy()
    if missing.any():
        ids.loc[missing] = [derive(row) for row in posts.loc[missing].itertuples()]
    return ids.astype(str)


def _content_keys(posts: pd.DataFrame) -> list[str]:
    minutes = posts["created_at"].dt.floor("min").dt.strftime("%Y%m%d%H%M")
    return [
        hashlib.md5(f"{author or ''}\x1f{title or ''}\x1f{body}\x1f{minute}".encode()).hexdigest()
        for author, title, body, minute in zip(posts["author_id"], posts["title"], posts["text"], minutes,
                                               strict=True)
    ]


def enrich(posts: pd.DataFrame, batch_id: str) -> pd.DataFrame:
    """Add what the store keeps beyond the file: ids, normalized text, topics, keywords, sentiment."""
    posts = posts.copy()
    posts["post_id"] = _stable_ids(posts)
    posts["root_id"] = posts["root_id"].fillna(posts["parent_id"])
    # Text-derived columns are computed once per distinct (title, text): repeated rows cost nothing.
    codes, uniques = pd.factorize(pd.MultiIndex.from_arrays([posts["title"].fillna("\x00none"), posts["text"]]))
    # Titles stay a Python list: in a DataFrame a missing title becomes NaN, which is truthy and read as "nan".
    titles = [None if t == "\x00none" else t for t in uniques.get_level_values(0)]
    distinct = pd.DataFrame({"title": titles, "text": uniques.get_level_values(1)})
    distinct["text_norm"] = text.normalize_many(distinct["text"].tolist())
    titled = [f"{text.normalize(t)} {n}" if t else n for t, n in zip(titles, distinct["text_norm"], strict=True)]
    distinct["matched"] = topics.assign_topics(titled)
    distinct["keywords"] = topics.extract_keywords(titled)
    scoring_input = [body if body.strip() else (title or "") for body, title in
                     zip(distinct["text"], titles, strict=True)]
    scores = sentiment.score_posts(scoring_input)
    for column in ("sentiment_score", "sentiment_label", "sentiment_model"):
        distinct[column] = scores[column].to_numpy()
    spread = distinct.iloc[codes].reset_index(drop=True)
    spread.index = posts.index
    posts["text_norm"] = spread["text_norm"]
    given_topic = posts["topic"]
    posts["topic_given"] = given_topic.notna().to_numpy()  # see schemes.tag_batch and mark_given
    posts["topics"] = [[g] if g else list(m) for g, m in zip(given_topic, spread["matched"], strict=True)]
    posts["topic"] = [topics.primary_topic(t) for t in posts["topics"]]
    posts["keywords"] = [list(k) for k in spread["keywords"]]
    for column in ("sentiment_score", "sentiment_label", "sentiment_model"):
        posts[column] = spread[column]
    posts["content_key"] = _content_keys(posts)
    posts["batch_id"] = batch_id
    return posts


# -- batches, inbox and the entry points -------------------------------------------------------------
@dataclass
class PreparedBatch:
    record: BatchRecord
    posts: pd.DataFrame
    quarantine: pd.DataFrame


def prepare(data: bytes, name: str, channel: str | None = None) -> PreparedBatch:
    """Read, map, validate and enrich one file: everything but the write (so it can run outside the owner)."""
    started = pd.Timestamp.now(tz=TZ)
    return prepare_table(read_table(data, name), name, sha256_of(data), channel, started)


def prepare_table(raw: RawTable, name: str, sha256: str, channel: str | None = None,
                  started: pd.Timestamp | None = None) -> PreparedBatch:
    started = started or pd.Timestamp.now(tz=TZ)
    try:
        layout = layouts.detect_layout(list(raw.frame.columns), hint=name)
    except layouts.UnknownLayoutError as exc:
        raise UnreadableFile(str(exc), exc.message_zh) from None
    canonical = layouts.to_canonical(raw.frame, layout, channel=channel)
    checked = validate(raw, canonical, channel=channel)
    batch_id = uuid.uuid4().hex[:16]
    posts = enrich(checked.posts, batch_id)
    rows_read = len(raw.frame) + len(raw.malformed)
    record = BatchRecord(batch_id, Path(name).name, sha256, raw.file_format, layout.name, rows_read, started)
    return PreparedBatch(record, posts, checked.quarantine)


def table_from_frame(frame: pd.DataFrame, file_format: str = "dataframe") -> RawTable:
    """Wrap an in-memory frame (the demo generator, tests) so it takes the same path as a file."""
    return RawTable(clean_cells(frame), np.arange(len(frame), dtype=np.int64) + 1, file_format, None)


def _summary(batch: PreparedBatch, status: str) -> FileSummary:
    return FileSummary(
        file=batch.record.source_file, status=status, read=batch.record.rows_read,
        quarantined=len(batch.quarantine), layout=batch.record.layout, batch_id=batch.record.batch_id,
        reasons=dict(Counter(batch.quarantine["reason_code"])),
    )


def write_prepared(store: Store, batch: PreparedBatch) -> FileSummary:
    posts = schemes.tag_batch(store, batch.posts)
    counts = store.write_batch(batch.record, posts, batch.quarantine)
    schemes.mark_given(store, posts)
    near_dupes.update(store)
    summary = _summary(batch, "imported")
    summary.inserted, summary.duplicates = counts.inserted, counts.duplicates
    return summary


# -- staged batches: Parquet parts on disk (the inbox, and big files read in chunks) ------------------------
_STRING = pa.string()
POSTS_PART_SCHEMA = pa.schema(
    [("row_no", pa.int64())]
    + [(name, pa.timestamp("us", tz=TZ) if name in ("created_at", "collected_at") else
        pa.int64() if name in COUNT_COLUMNS else pa.float64() if name == "sentiment_score" else
        pa.list_(_STRING) if name in ("topics", "keywords") else _STRING) for name in POST_COLUMNS]
    + [("topic_given", pa.bool_())]
)
QUARANTINE_PART_SCHEMA = pa.schema([("line", pa.int64()), ("reason_code", _STRING), ("reason", _STRING),
                                    ("raw", _STRING)])


def write_part(frame: pd.DataFrame, path: Path, schema: pa.Schema) -> None:
    """One Parquet part with fixed column types (an all-empty column would otherwise be typed null),
    renamed into place so a reader never sees half a file."""
    if frame.empty:  # an empty frame's columns have no meaningful types (a chunk whose rows were all bad)
        table = schema.empty_table()
    else:
        frame = frame.reset_index(drop=True)
        for name in ("created_at", "collected_at"):
            if name in schema.names:
                frame[name] = frame[name].astype(f"datetime64[us, {TZ}]")
        table = pa.Table.from_pandas(frame.loc[:, schema.names], schema=schema, preserve_index=False)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)


def staged_parts(stem: Path) -> tuple[list[Path], list[Path]]:
    """A staged batch's posts and quarantine parts, in the order they were read."""
    return (sorted(stem.parent.glob(f"{stem.name}.posts*.parquet")),
            sorted(stem.parent.glob(f"{stem.name}.quarantine*.parquet")))


def write_staged(store: Store, record: BatchRecord, stem: Path) -> FileSummary:
    """Write a staged batch in one transaction, DuckDB reading the parts from disk."""
    posts_parts, quarantine_parts = staged_parts(stem)
    for part in posts_parts:  # one part at a time, so memory stays bounded
        frame = pd.read_parquet(part)
        tagged = schemes.tag_batch(store, frame)
        if tagged is not frame:
            write_part(tagged, part, POSTS_PART_SCHEMA)
    counts = store.write_batch(record, posts_parts, quarantine_parts)
    for part in posts_parts:
        schemes.mark_given(store, pd.read_parquet(part, columns=["post_id", "topic_given"]))
    near_dupes.update(store)
    summary = staged_summary(record, stem, "imported")
    summary.inserted, summary.duplicates = counts.inserted, counts.duplicates
    return summary


def staged_summary(record: BatchRecord, stem: Path, status: str) -> FileSummary:
    """The summary of a staged batch, counted from the parts' metadata and reason codes."""
    posts_parts, quarantine_parts = staged_parts(stem)
    reasons = pd.read_parquet(quarantine_parts, columns=["reason_code"])["reason_code"]
    posts = sum(pq.ParquetFile(part).metadata.num_rows for part in posts_parts)
    return FileSummary(file=record.source_file, status=status, read=record.rows_read, quarantined=len(reasons),
                       queued=posts if status == "queued" else 0, layout=record.layout, batch_id=record.batch_id,
                       reasons=dict(Counter(reasons)))


def commit_to_inbox(stem: Path, record: BatchRecord) -> None:
    """The manifest, renamed into place last, is what makes a staged batch visible to drain_inbox."""
    manifest = {**asdict(record), "started_at": record.started_at.isoformat()}
    tmp = stem.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, ensure_ascii=False))
    tmp.replace(stem.with_suffix(".json"))


def remove_staged(stem: Path) -> None:
    for path in stem.parent.glob(f"{stem.name}.*"):
        path.unlink(missing_ok=True)


def queue_prepared(inbox: Path, batch: PreparedBatch) -> FileSummary:
    """Stage the batch as Parquet parts, then commit it with its manifest."""
    inbox.mkdir(parents=True, exist_ok=True)
    stem = inbox / batch.record.batch_id
    write_part(batch.posts.reset_index(drop=True).assign(row_no=lambda f: range(len(f))),
               stem.with_suffix(".posts.parquet"), POSTS_PART_SCHEMA)
    write_part(batch.quarantine, stem.with_suffix(".quarantine.parquet"), QUARANTINE_PART_SCHEMA)
    commit_to_inbox(stem, batch.record)
    summary = _summary(batch, "queued")
    summary.queued = len(batch.posts)
    return summary


# A temp file, or Parquet without its manifest, this old belongs to a queuer that died mid-write: removed.
# Younger ones may still be being written by a live process, so they are only ignored.
STALE_INBOX_SECONDS = 3600
_DRAIN_LOCK = threading.Lock()


def _clean_stale_inbox_files(inbox: Path, stale_after: float) -> None:
    cutoff = pd.Timestamp.now(tz="UTC").timestamp() - stale_after
    for path in inbox.iterdir():
        committed = inbox / (path.name.split(".", 1)[0] + ".json")
        if path.suffix == ".json" or committed.exists():
            continue
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                log.warning("removed %s left in the inbox by an interrupted ingest", path.name)
        except FileNotFoundError:
            continue


def drain_inbox(store: Store, inbox: Path, stale_after: float = STALE_INBOX_SECONDS) -> list[FileSummary]:
    """Import every complete queued batch; safe to repeat (a batch already stored is only cleaned up).

    Only a manifest (renamed into place last) makes a batch visible; leftovers of a queuer that was
    killed before its manifest landed are ignored, and removed once older than `stale_after` seconds.
    """
    if not inbox.is_dir():
        return []
    with _DRAIN_LOCK:  # two page loads at once in the dashboard must not import the same batch twice
        _clean_stale_inbox_files(inbox, stale_after)
        return [summary for manifest_path in sorted(inbox.glob("*.json"), key=lambda p: p.stat().st_mtime)
                if (summary := _import_queued(store, manifest_path)) is not None]


def _import_queued(store: Store, manifest_path: Path) -> FileSummary | None:
    """Write one queued batch unless it is already stored, then remove its files (manifest last)."""
    summary = None
    manifest = json.loads(manifest_path.read_text())
    manifest["started_at"] = pd.Timestamp(manifest["started_at"])
    record = BatchRecord(**manifest)
    stem = manifest_path.with_suffix("")
    if not store.batch_exists(record.batch_id):
        summary = write_staged(store, record, stem)
        log.info("imported queued batch %s from %s", record.batch_id, record.source_file)
    for parts in staged_parts(stem):
        for path in parts:
            path.unlink(missing_ok=True)
    manifest_path.unlink(missing_ok=True)
    return summary


def ingest_bytes(data: bytes, name: str, db_path: Path, channel: str | None = None,
                 store: Store | None = None) -> FileSummary:
    """Ingest one file's bytes into the database, or queue it when another process owns the file."""
    try:
        batch = prepare(data, name, channel)
    except UnreadableFile as exc:
        return FileSummary(file=Path(name).name, status="failed", error=str(exc), error_zh=exc.message_zh)
    except Exception as exc:  # never crash the caller on a hostile file; nothing has been written yet
        log.exception("unexpected error preparing %s", name)
        return FileSummary(file=Path(name).name, status="failed", error=f"cannot import file: {exc!r}",
                           error_zh="导入失败：文件内容无法处理，未写入任何数据（详情见日志）")
    try:
        if store is not None:
            return write_prepared(store, batch)
        with open_store(db_path) as owned:
            drain_inbox(owned, config.inbox_dir(db_path))
            return write_prepared(owned, batch)
    except DatabaseLocked:
        return queue_prepared(config.inbox_dir(db_path), batch)
    except Exception as exc:  # the batch is one transaction: a failed write leaves nothing behind
        log.exception("writing %s failed", name)
        return FileSummary(file=Path(name).name, status="failed", error=f"write failed, nothing stored: {exc!r}",
                           error_zh="写入数据库失败，本文件的数据均未写入（详情见日志），请稍后重试")


def ingest_files(paths: list[Path], db_path: Path, channel: str | None = None,
                 workers: int | None = None) -> list[FileSummary]:
    """Ingest files one by one; big ones are read in chunks by a process pool (analysis.bulk)."""
    from analysis import bulk  # bulk builds on this module

    summaries = []
    for path in paths:
        try:
            if bulk.is_big(Path(path)):
                summaries.append(bulk.ingest_big_file(Path(path), db_path, channel, workers))
                continue
            check_size(Path(path).stat().st_size)
            data = Path(path).read_bytes()
        except UnreadableFile as exc:
            summaries.append(FileSummary(file=Path(path).name, status="failed", error=str(exc),
                                         error_zh=exc.message_zh))
            continue
        except OSError as exc:
            summaries.append(FileSummary(file=str(path), status="failed", error=str(exc),
                                         error_zh=f"无法打开文件：{exc.strerror}"))
            continue
        summaries.append(ingest_bytes(data, Path(path).name, db_path, channel))
    return summaries


def totals(summaries: list[FileSummary]) -> dict[str, int]:
    keys = ("read", "inserted", "duplicates", "quarantined", "queued")
    return {k: sum(getattr(s, k) for s in summaries) for k in keys} | {
        "failed_files": sum(s.status == "failed" for s in summaries)
    }


SUMMARY_HEADERS = {"file": "文件", "status": "结果", "layout": "识别格式", "read": "读取", "inserted": "新增",
                   "duplicates": "重复", "quarantined": "隔离", "queued": "排队"}
STATUS_ZH = {"imported": "已导入", "queued": "已排队（数据库忙）", "failed": "失败"}
QUARANTINE_HEADERS = {"source_file": "文件", "line": "行号", "reason": "原因", "raw": "原始记录"}


def summary_table(summaries: list[FileSummary]) -> pd.DataFrame:
    """Per-file counts for the UI, with Chinese headers."""
    frame = pd.DataFrame([s.as_dict() for s in summaries], columns=list(SUMMARY_HEADERS))
    frame["status"] = frame["status"].map(STATUS_ZH)
    return frame.rename(columns=SUMMARY_HEADERS)


def quarantine_rows(store: Store, batch_ids: list[str]) -> pd.DataFrame:
    if not batch_ids:
        return pd.DataFrame(columns=list(QUARANTINE_HEADERS))
    placeholders = ", ".join("?" for _ in batch_ids)
    return store.query(f"SELECT source_file, line, reason, raw FROM quarantine WHERE batch_id IN ({placeholders}) "
                       "ORDER BY source_file, line", batch_ids)


def quarantine_csv(rows: pd.DataFrame) -> bytes:
    return exports.csv_bytes(rows, QUARANTINE_HEADERS)
