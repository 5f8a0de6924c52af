"""Typing and checking the canonical columns: each bad row gets its first failing reason; then enrichment
(ids, text normalisation, sentiment, topics, keywords) of the rows that pass.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis import cascades, config, sentiment, text, topics
from analysis.ingest.read import RawTable, raw_json

TZ = config.TIMEZONE
EARLIEST_VALID = pd.Timestamp("2000-01-01", tz=TZ)
COUNT_COLUMNS = ("repost_count", "comment_count", "like_count", "read_count")

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
    "missing_account": "缺少账号ID",
    "bad_account_count": "粉丝数/关注数不是有效的非负数字",
}


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
    kept: pd.Index | None = None  # the raw frame's rows the posts came from


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
    return Validated(out.loc[~bad].reset_index(drop=True), quarantine_frame(raw, reason),
                     kept=canonical.index[~bad.to_numpy()])


def quarantine_frame(raw: RawTable, reason: pd.Series) -> pd.DataFrame:
    """The quarantine of a table: each row with a reason code (line, code, Chinese reason, raw record), then the
    lines the reader could not split into a record."""
    bad = reason.notna()
    quarantine = pd.DataFrame({
        "line": raw.lines[bad.to_numpy()],
        "reason_code": reason[bad].to_numpy(),
        "reason": [REASONS_ZH[c] for c in reason[bad]],
        "raw": [raw_json(row) for row in raw.frame.loc[bad].to_dict(orient="records")],
    })
    if raw.malformed:
        extra = pd.DataFrame(raw.malformed, columns=["line", "reason_code", "raw"])
        extra["reason"] = extra["reason_code"].map(REASONS_ZH)
        quarantine = pd.concat([quarantine, extra[quarantine.columns]], ignore_index=True)
    return quarantine.astype({"line": "int64"})


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


def _chain_parents(posts: pd.DataFrame) -> pd.DataFrame:
    """Reposts that arrive without a parent id get one from their `//@name:` chain (cascades.infer_parents):
    the most recent earlier post in this batch, on the same channel, by the account the chain names first.

    Their root is the parent's root (given, or found the same way) and their type is repost. A chain naming no
    earlier author of the batch leaves the post as it came; given parent ids are never changed. Big files are
    read in chunks (ingest.bulk): a parent is looked for within the post's chunk.
    """
    chained = posts["parent_id"].isna() & posts["text"].str.contains("//@", regex=False)
    if not chained.any():
        return posts
    inferred = cascades.infer_parents(pd.DataFrame({
        "mid": posts["post_id"], "author": posts["author_id"], "created_at": posts["created_at"],
        "text": posts["text"].where(chained, ""), "cascade_id": posts["channel"], "parent_mid": posts["parent_id"],
    }))
    found = chained & pd.Series(inferred["parent_source"].eq("chain").to_numpy(), index=posts.index)
    if not found.any():
        return posts
    posts = posts.copy()
    posts.loc[found, "parent_id"] = inferred["parent_mid"].to_numpy()[found.to_numpy()]
    roots = {post: root for post, root in zip(posts["post_id"], posts["root_id"], strict=True) if pd.notna(root)}
    ordered = posts.loc[found].sort_values("created_at", kind="stable")
    for post, parent in zip(ordered["post_id"], ordered["parent_id"], strict=True):  # parents are strictly earlier
        roots[post] = roots.get(parent, parent)
    posts.loc[ordered.index, "root_id"] = [roots[post] for post in ordered["post_id"]]
    posts.loc[found, "post_type"] = "repost"
    return posts


def enrich(posts: pd.DataFrame, batch_id: str) -> pd.DataFrame:
    """Add what the store keeps beyond the file: ids, normalized text, topics, keywords, sentiment."""
    posts = posts.copy()
    posts["post_id"] = _stable_ids(posts)
    posts["root_id"] = posts["root_id"].fillna(posts["parent_id"])
    posts = _chain_parents(posts)
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
