"""Accounts as publishers: the verification level and follower counts that exports carry, checked like posts.

Two ways in: an account table (a crawler's creator export, a 舆情 system's account list), whose every row is an
account, and the account columns of a post export (粉丝数, 认证类型 beside each post), taken from its valid posts.
Only the id as the posts store it, the channel, a verification level and two counts are kept: accounts are
analysed as publishers of posts, never profiled as people (no nickname beyond the id, avatar, bio or location).
"""

from __future__ import annotations

import re

import pandas as pd

from analysis.ingest.layouts import ACCOUNT_INPUT_COLUMNS, Layout, account_fields
from analysis.ingest.read import RawTable
from analysis.ingest.validation import Validated, enrich, parse_count, quarantine_frame, validate
from analysis.store import no_accounts

ACCOUNT_COLUMNS = ACCOUNT_INPUT_COLUMNS

# Verification as exports write it → one level. Order matters: the first matching pattern wins.
VERIFIED_LEVELS: tuple[tuple[str, re.Pattern], ...] = (
    ("未认证", re.compile(r"^(?:0|-1|false|否|无|未认证|非认证|普通用户|none|null)$", re.IGNORECASE)),
    ("政务认证", re.compile(r"政务|政府|机关|公安|党政")),
    ("媒体认证", re.compile(r"媒体|新闻|报社|电视台|广播")),
    ("机构认证", re.compile(r"蓝\s*v|机构|企业|官方|组织|团体|校园|学校|网站|应用|true|^1$", re.IGNORECASE)),
    ("个人认证", re.compile(r"[黄橙红金]\s*v|个人|达人|博主|名人", re.IGNORECASE)),
    ("已认证", re.compile(r"^(?:是|已认证|认证|v|yes)$", re.IGNORECASE)),
)
VERIFIED_ORDER = ("政务认证", "媒体认证", "机构认证", "个人认证", "已认证", "未认证")


def verification_level(value: object) -> str | None:
    """'蓝V' → 机构认证, '黄V' → 个人认证, '政务' → 政务认证, '否' → 未认证, blank → None (unknown);
    an unknown wording is kept as given (at most 20 characters)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    given = str(value).strip()
    if not given:
        return None
    for level, pattern in VERIFIED_LEVELS:
        if pattern.search(given):
            return level
    return given[:20]


def _per_value(values: pd.Series, parse) -> pd.Series:
    """`parse` applied once per distinct value (an export repeats an account's fields on each of its posts)."""
    present = values.dropna()
    return values.map({v: parse(v) for v in present.unique()}) if len(present) else values.map(lambda v: None)


def _counts(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Counts parsed like post counts ('1.2万'); blank stays unknown (None), not 0. Returns (counts, bad)."""
    blank = values.isna()
    parsed = _per_value(values, parse_count)
    return parsed.where(~blank, None), parsed.isna() & ~blank


def typed(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Account columns typed, and each row's first failing reason (None when it passes)."""
    out = pd.DataFrame(index=frame.index)
    for name in ("author_id", "channel"):
        values = frame[name] if name in frame else pd.Series(None, index=frame.index, dtype=object)
        out[name] = values.map(lambda v: None if v is None else str(v).strip() or None)
    out["verified"] = _per_value(frame["verified"] if "verified" in frame else
                                 pd.Series(None, index=frame.index, dtype=object), verification_level)
    reason = pd.Series(None, index=frame.index, dtype=object)
    reason[out["author_id"].isna()] = "missing_account"
    for name in ("followers", "follows"):
        values = frame[name] if name in frame else pd.Series(None, index=frame.index, dtype=object)
        counts, bad = _counts(values)
        reason[bad & reason.isna()] = "bad_account_count"
        out[name] = pd.array(counts.where(~bad, None).tolist(), dtype="Int64")
    return out[list(ACCOUNT_COLUMNS)], reason


def validate_accounts(raw: RawTable, canonical: pd.DataFrame) -> tuple[pd.DataFrame, Validated]:
    """An account table's rows: the accounts that pass, and (as Validated, with no posts) the quarantine."""
    accounts, reason = typed(canonical)
    return accounts.loc[reason.isna()].reset_index(drop=True), Validated(pd.DataFrame(), quarantine_frame(raw, reason))


def checked_rows(raw: RawTable, layout: Layout, canonical: pd.DataFrame, batch_id: str, channel: str | None = None,
                 now: pd.Timestamp | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(enriched posts, quarantine, accounts) of a mapped table: an account table gives accounts only, a post
    export its posts and the account columns beside them."""
    if layout.accounts:
        accounts, checked = validate_accounts(raw, canonical)
        no_rows = pd.DataFrame({"text": pd.Series(dtype=object), "created_at": pd.Series(dtype=object)})
        nothing = validate(RawTable(raw.frame.iloc[:0], raw.lines[:0], raw.file_format, raw.encoding), no_rows,
                           channel=channel, now=now)
        return enrich(nothing.posts, batch_id), checked.quarantine, accounts
    checked = validate(raw, canonical, channel=channel, now=now)
    posts = enrich(checked.posts, batch_id)
    return posts, checked.quarantine, from_posts(raw, layout, posts, checked.kept)


def from_posts(raw: RawTable, layout: Layout, posts: pd.DataFrame, kept: pd.Index) -> pd.DataFrame:
    """The account columns beside a post export's valid posts (`kept`: their rows in the raw frame), one row per
    post with an author and something to say about it; a bad count is left unknown (the post itself is fine)."""
    fields = account_fields(raw.frame, layout)
    if fields.empty or posts.empty:
        return no_accounts()
    fields = fields.loc[kept].reset_index(drop=True)
    frame = fields.assign(author_id=posts["author_id"].to_numpy(), channel=posts["channel"].to_numpy())
    accounts, reason = typed(frame)
    accounts.loc[reason.eq("bad_account_count"), ["followers", "follows"]] = pd.NA
    known = accounts[["verified", "followers", "follows"]].notna().any(axis=1)
    return accounts[accounts["author_id"].notna() & known].reset_index(drop=True)
