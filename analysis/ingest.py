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
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import config, exports, layouts, sentiment, text, topics
from analysis.store import BatchRecord, DatabaseLocked, Store

log = logging.getLogger(__name__)

TZ = config.TIMEZONE
EARLIEST_VALID = pd.Timestamp("2000-01-01", tz=TZ)
COUNT_COLUMNS = ("repost_count", "comment_count", "like_count", "read_count")


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
}


# -- reading ----------------------------------------------------------------------------------------
def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode by BOM, then strict UTF-8, then GB18030 (a superset of GBK): GBK text is almost never valid UTF-8."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise UnreadableFile(
        "cannot decode file as UTF-8, UTF-16, GBK or GB18030",
        "无法识别文件编码：请保存为 UTF-8、GBK 或 GB18030 编码",
    )


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


def _strings(frame: pd.DataFrame) -> pd.DataFrame:
    """All cells as str, empty and missing as None: one representation for validation."""
    out = frame.astype(object).where(frame.notna(), None)
    for column in out.columns:
        out[column] = [None if v is None or (isinstance(v, str) and not v.strip()) else str(v)
                       for v in out[column]]
    out.columns = [str(c).strip().lstrip("\ufeff") for c in out.columns]
    return out


def _read_delimited(content: str) -> tuple[pd.DataFrame, np.ndarray, list[tuple[int, str, str]]]:
    first_line = content.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise UnreadableFile("file is empty", "文件为空") from None
    width = len(header)
    rows, lines, malformed = [], [], []
    for record in reader:
        line = reader.line_num
        if not record or all(not cell.strip() for cell in record):
            continue
        if len(record) > width:
            malformed.append((line, "malformed_row", delimiter.join(record)))
            continue
        rows.append(record + [""] * (width - len(record)))
        lines.append(line)
    return pd.DataFrame(rows, columns=header, dtype=object), np.array(lines, dtype=np.int64), malformed


def _read_json(content: str) -> pd.DataFrame:
    try:
        parsed = json.loads(content)
    except json.JSONDecodeError as exc:
        raise UnreadableFile(f"invalid JSON: {exc}", f"JSON 格式错误：第{exc.lineno}行") from None
    if isinstance(parsed, dict):
        lists = [v for v in parsed.values() if isinstance(v, list)]
        parsed = lists[0] if len(lists) == 1 else [parsed]
    if not all(isinstance(item, dict) for item in parsed):
        raise UnreadableFile("JSON must be a list of objects", "JSON 文件应为对象数组（每条记录一个对象）")
    return pd.DataFrame(_flatten(item) for item in parsed)


def _read_jsonl(content: str) -> tuple[pd.DataFrame, np.ndarray, list[tuple[int, str, str]]]:
    records, lines, malformed = [], [], []
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            item = None
        if not isinstance(item, dict):
            malformed.append((number, "bad_json", line))
            continue
        records.append(_flatten(item))
        lines.append(number)
    return pd.DataFrame(records), np.array(lines, dtype=np.int64), malformed


def _flatten(item: dict) -> dict:
    return {k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v for k, v in item.items()}


def read_table(data: bytes, name: str) -> RawTable:
    """Parse a file's bytes into string records; raises UnreadableFile when the file as a whole is bad."""
    if not data.strip():
        raise UnreadableFile("file is empty", "文件为空")
    file_format = sniff_format(data, name)
    encoding = None
    malformed: list[tuple[int, str, str]] = []
    try:
        if file_format == "xlsx":
            frame = pd.read_excel(io.BytesIO(data), dtype=object, engine="openpyxl")
            lines = np.arange(len(frame), dtype=np.int64) + 2
        elif file_format == "parquet":
            frame = pd.read_parquet(io.BytesIO(data))
            lines = np.arange(len(frame), dtype=np.int64) + 1
        else:
            content, encoding = decode_text(data)
            if file_format == "json":
                frame = _read_json(content)
                lines = np.arange(len(frame), dtype=np.int64) + 1
            elif file_format == "jsonl":
                frame, lines, malformed = _read_jsonl(content)
            else:
                frame, lines, malformed = _read_delimited(content)
    except UnreadableFile:
        raise
    except Exception as exc:  # a corrupt workbook or parquet file: one clear line, nothing written
        raise UnreadableFile(
            f"cannot read {file_format} file: {exc}", f"无法读取该{file_format.upper()}文件：文件损坏或格式不符"
        ) from exc
    return RawTable(_strings(frame), lines, file_format, encoding, malformed)


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
    result.loc[excel.index] = (pd.Timestamp("1899-12-30") + pd.to_timedelta(excel, unit="D")).dt.tz_localize(TZ)

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
        "raw": [json.dumps({k: v for k, v in row.items() if v is not None}, ensure_ascii=False)
                for row in raw_rows.to_dict(orient="records")],
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
    posts["text_norm"] = text.normalize_many(posts["text"].tolist())
    titled = [f"{t} {n}" if t else n for t, n in zip(posts["title"], posts["text_norm"], strict=True)]
    matched = topics.assign_topics(titled)
    given_topic = posts["topic"]
    posts["topics"] = [[g] if g else m for g, m in zip(given_topic, matched, strict=True)]
    posts["topic"] = [topics.primary_topic(t) for t in posts["topics"]]
    posts["keywords"] = topics.extract_keywords(titled)
    scoring_input = [body if body.strip() else (title or "") for body, title in
                     zip(posts["text"], posts["title"], strict=True)]
    scores = sentiment.score_posts(scoring_input)
    for column in ("sentiment_score", "sentiment_label", "sentiment_model"):
        posts[column] = scores[column].to_numpy()
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
    return RawTable(_strings(frame), np.arange(len(frame), dtype=np.int64) + 1, file_format, None)


def _summary(batch: PreparedBatch, status: str) -> FileSummary:
    return FileSummary(
        file=batch.record.source_file, status=status, read=batch.record.rows_read,
        quarantined=len(batch.quarantine), layout=batch.record.layout, batch_id=batch.record.batch_id,
        reasons=dict(Counter(batch.quarantine["reason_code"])),
    )


def write_prepared(store: Store, batch: PreparedBatch) -> FileSummary:
    counts = store.write_batch(batch.record, batch.posts, batch.quarantine)
    summary = _summary(batch, "imported")
    summary.inserted, summary.duplicates = counts.inserted, counts.duplicates
    return summary


def queue_prepared(inbox: Path, batch: PreparedBatch) -> FileSummary:
    """Write the batch as Parquet files plus a manifest; the manifest appears last, by rename, as the commit."""
    inbox.mkdir(parents=True, exist_ok=True)
    stem = inbox / batch.record.batch_id
    for part, frame in (("posts", batch.posts), ("quarantine", batch.quarantine)):
        tmp = stem.with_suffix(f".{part}.parquet.tmp")
        frame.to_parquet(tmp, index=False)
        tmp.replace(stem.with_suffix(f".{part}.parquet"))
    manifest = {**asdict(batch.record), "started_at": batch.record.started_at.isoformat()}
    tmp = stem.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, ensure_ascii=False))
    tmp.replace(stem.with_suffix(".json"))
    summary = _summary(batch, "queued")
    summary.queued = len(batch.posts)
    return summary


def drain_inbox(store: Store, inbox: Path) -> list[FileSummary]:
    """Import every complete queued batch; safe to repeat (a batch already stored is only cleaned up)."""
    if not inbox.is_dir():
        return []
    summaries = []
    for manifest_path in sorted(inbox.glob("*.json"), key=lambda p: p.stat().st_mtime):
        manifest = json.loads(manifest_path.read_text())
        manifest["started_at"] = pd.Timestamp(manifest["started_at"])
        record = BatchRecord(**manifest)
        posts_path = manifest_path.with_suffix(".posts.parquet")
        quarantine_path = manifest_path.with_suffix(".quarantine.parquet")
        if not store.batch_exists(record.batch_id):
            batch = PreparedBatch(record, pd.read_parquet(posts_path), pd.read_parquet(quarantine_path))
            summaries.append(write_prepared(store, batch))
            log.info("imported queued batch %s from %s", record.batch_id, record.source_file)
        for path in (posts_path, quarantine_path, manifest_path):
            path.unlink(missing_ok=True)
    return summaries


def ingest_bytes(data: bytes, name: str, db_path: Path, channel: str | None = None,
                 store: Store | None = None) -> FileSummary:
    """Ingest one file's bytes into the database, or queue it when another process owns the file."""
    try:
        batch = prepare(data, name, channel)
    except UnreadableFile as exc:
        return FileSummary(file=Path(name).name, status="failed", error=str(exc), error_zh=exc.message_zh)
    if store is not None:
        return write_prepared(store, batch)
    try:
        with Store(db_path) as owned:
            drain_inbox(owned, config.inbox_dir(db_path))
            return write_prepared(owned, batch)
    except DatabaseLocked:
        return queue_prepared(config.inbox_dir(db_path), batch)


def ingest_files(paths: list[Path], db_path: Path, channel: str | None = None) -> list[FileSummary]:
    summaries = []
    for path in paths:
        try:
            data = Path(path).read_bytes()
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
