"""Reading a file into records: size and archive limits, encodings, CSV/TSV, Excel, JSON and JSON Lines.

Every value stays a string here (None for empty); analysis.ingest.validation types and checks them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.ingest import layouts

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
    """Decode by BOM, then strict UTF-8, then GB18030 (a superset of GBK: GBK text is almost never valid UTF-8);
    returns the text, the encoding and whether the last character was cut off (a truncated UTF-8/UTF-16 file).

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
