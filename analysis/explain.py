"""What drove a burst: a window of posts against its baseline, by terms, channels, regions, sites and examples.

Terms are ranked by the weighted log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008,
"Fightin' Words", Political Analysis 16(4)): for a term w counted y_w times among the window's n term occurrences
and b_w times among the baseline's m, with prior counts a_w = a0 * (y_w + b_w) / (n + m) and a0 = n + m (the pooled
corpus as the prior),

    delta_w = log((y_w + a_w) / (n + a0 - y_w - a_w)) - log((b_w + a_w) / (m + a0 - b_w - a_w))
    z_w     = delta_w / sqrt(1 / (y_w + a_w) + 1 / (b_w + a_w))

so a word seen twice in a quiet hour does not outrank one that fills a burst. Terms are the posts' keywords as
stored at import (TF-IDF words, stop words dropped), counted once per post, so reprints of one long article do
not swamp the list. Channels, regions and sites are ranked by how much their share of the posts rose. The
representative posts carry the most top-term evidence, from different sites where possible; their ids trace back.

The baseline is the same scope over the `baseline_days` before the window; when that holds fewer than
`MIN_BASELINE_POSTS` posts (a topic that was silent until the burst), it widens to all posts of those days.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from analysis.config import local_time
from analysis.store import Store

MIN_BASELINE_POSTS = 30
MIN_TERM_POSTS = 3  # a term must appear in at least this many window posts
Z_MIN = 1.96
_SCOPE_COLUMNS = {"topic": "topic", "channel": "channel", "region": "coalesce(region, '未知')",
                  "site": "coalesce(site, channel)"}


@dataclass(frozen=True)
class Term:
    term: str
    z: float
    posts: int  # window posts carrying the term
    baseline_posts: int


@dataclass(frozen=True)
class Shift:
    value: str
    posts: int
    share: float
    baseline_share: float


@dataclass(frozen=True)
class Example:
    post_id: str
    created_at: str
    site: str
    channel: str
    excerpt: str


@dataclass(frozen=True)
class Explanation:
    window_start: str
    window_end: str
    baseline_start: str
    baseline_end: str
    baseline_scope: str  # "同范围" or "全部信息" (widened: the scope had too little history)
    posts: int
    baseline_posts: int
    terms: tuple[Term, ...]
    channels: tuple[Shift, ...]
    regions: tuple[Shift, ...]
    sites: tuple[Shift, ...]
    examples: tuple[Example, ...]

    def as_dict(self) -> dict:
        """Plain JSON-shaped data (lists, not tuples): what the alert log stores and pages show."""
        data = {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}
        return {**data, "summary": self.summary()}

    def summary(self) -> str:
        """One Chinese sentence for messages: the top terms, the channel/site/region that rose most, the posts."""
        if not self.posts or not self.baseline_posts:
            return "窗口内无信息" if not self.posts else "基线期无信息，无法比较"
        parts = []
        if self.terms:
            parts.append("主要词语" + "".join(f"“{t.term}”" for t in self.terms[:5]))
        for label, shifts in (("渠道", self.channels), ("站点", self.sites), ("地域", self.regions)):
            if shifts:
                s = shifts[0]
                parts.append(f"{label}{s.value}占比{s.baseline_share:.0%}→{s.share:.0%}")
        if self.examples:
            parts.append("代表帖子 " + "、".join(e.post_id for e in self.examples))
        return "；".join(parts) if parts else "与基线相比无明显变化"


def _where(scope: Mapping[str, Sequence[str]], keywords: Sequence[str]) -> tuple[str, list]:
    clauses, params = [], []
    for key, values in scope.items():
        if key in _SCOPE_COLUMNS and values:
            clauses.append(f"{_SCOPE_COLUMNS[key]} IN ({', '.join('?' for _ in values)})")
            params += list(values)
    if keywords:
        clauses.append("(" + " OR ".join("contains(text_norm, ?)" for _ in keywords) + ")")
        params += list(keywords)
    return "".join(f" AND {c}" for c in clauses), params


def weighted_log_odds(window: Mapping[str, int], baseline: Mapping[str, int]) -> pd.DataFrame:
    """z-scores of the weighted log-odds with the pooled counts as informative Dirichlet prior (Monroe et al.)."""
    terms = sorted(set(window) | set(baseline))
    if not terms:
        return pd.DataFrame({"term": [], "z": [], "posts": [], "baseline_posts": []})
    y = np.array([window.get(t, 0) for t in terms], float)
    b = np.array([baseline.get(t, 0) for t in terms], float)
    n, m = y.sum(), b.sum()
    a0 = n + m
    a = y + b  # = a0 * pooled frequency
    delta = np.log((y + a) / (n + a0 - y - a)) - np.log((b + a) / (m + a0 - b - a))
    z = delta / np.sqrt(1 / (y + a) + 1 / (b + a))
    return pd.DataFrame({"term": terms, "z": z, "posts": y.astype(int), "baseline_posts": b.astype(int)})


def _term_counts(store: Store, where: str, params: list, start, end) -> dict[str, int]:
    frame = store.query(
        f"""SELECT w AS term, count(*) AS n FROM (
                SELECT DISTINCT post_id, unnest(keywords) AS w FROM posts
                WHERE created_at >= ? AND created_at < ?{where})
            WHERE w IS NOT NULL AND w NOT IN ('nan', 'None', '') GROUP BY w""",
        [start, end, *params])
    return dict(zip(frame["term"], frame["n"].astype(int), strict=True))


def _shares(store: Store, column: str, where: str, params: list, start, end) -> pd.Series:
    frame = store.query(
        f"""SELECT {column} AS v, count(*) AS n FROM posts
            WHERE created_at >= ? AND created_at < ?{where} AND {column} IS NOT NULL GROUP BY 1""",
        [start, end, *params])
    return frame.set_index("v")["n"].astype(int)


def _shifts(now: pd.Series, before: pd.Series, posts: int, baseline_posts: int, top: int) -> tuple[Shift, ...]:
    if not posts:
        return ()
    share = now / posts
    base = before.reindex(share.index, fill_value=0) / max(baseline_posts, 1)
    rise = (share - base).sort_values(ascending=False, kind="stable")
    return tuple(Shift(str(v), int(now[v]), float(share[v]), float(base[v]))
                 for v in rise.index[:top] if rise[v] > 0)


def explain(store: Store, scope: Mapping[str, Sequence[str]], start, end, *, keywords: Sequence[str] = (),
            incident_id: str | None = None, baseline_days: float = 7, top_terms: int = 8,
            top_shifts: int = 3) -> Explanation:
    """What drove the posts of `scope` (topic/channel/region/site -> values) in [start, end) against the
    `baseline_days` before; `keywords` narrow the window to posts containing any of them (a keyword alert),
    `incident_id` to the incident's posts (the baseline stays the scope's)."""
    start, end = local_time(start), local_time(end)
    b_start = start - pd.Timedelta(days=baseline_days)
    base_where, base_params = where, params = _where(scope, keywords)
    if incident_id is not None:
        where += " AND post_id IN (SELECT post_id FROM incident_posts WHERE incident_id = ?)"
        params = [*params, incident_id]
    window_sql = [start.to_pydatetime(), end.to_pydatetime()]
    base_sql = [b_start.to_pydatetime(), start.to_pydatetime()]
    count = "SELECT count(*) FROM posts WHERE created_at >= ? AND created_at < ?"
    posts = int(store.scalar(count + where, [*window_sql, *params]))
    base_scope = "同范围"
    baseline_posts = int(store.scalar(count + base_where, [*base_sql, *base_params]))
    if baseline_posts < MIN_BASELINE_POSTS:
        base_where, base_params, base_scope = "", [], "全部信息"
        baseline_posts = int(store.scalar(count, base_sql))

    scored = weighted_log_odds(_term_counts(store, where, params, *window_sql),
                               _term_counts(store, base_where, base_params, *base_sql))
    scored = scored[(scored["posts"] >= MIN_TERM_POSTS) & (scored["z"] >= Z_MIN)]
    scored = scored.sort_values(["z", "term"], ascending=[False, True], kind="stable").head(top_terms)
    terms = tuple(Term(r.term, round(float(r.z), 2), int(r.posts), int(r.baseline_posts))
                  for r in scored.itertuples())

    shifts = {}
    for name, column in (("channels", "channel"), ("regions", "region"), ("sites", "coalesce(site, channel)")):
        shifts[name] = _shifts(_shares(store, column, where, params, *window_sql),
                               _shares(store, column, base_where, base_params, *base_sql),
                               posts, baseline_posts, top_shifts)
    return Explanation(start.isoformat(), end.isoformat(), b_start.isoformat(), start.isoformat(), base_scope,
                       posts, baseline_posts, terms, shifts["channels"], shifts["regions"], shifts["sites"],
                       _examples(store, where, params, window_sql, {t.term: t.z for t in terms}))


def _examples(store: Store, where: str, params: list, window_sql: list, weights: dict[str, float],
              k: int = 3) -> tuple[Example, ...]:
    """The k window posts carrying the most top-term evidence (then the most engagement), distinct sites first."""
    frame = store.query(
        f"""SELECT post_id, created_at, coalesce(site, channel) AS site, channel, text, keywords,
                   repost_count + comment_count + like_count AS engagement
            FROM posts WHERE created_at >= ? AND created_at < ?{where} ORDER BY created_at, post_id""",
        [*window_sql, *params])
    if frame.empty:
        return ()
    frame["evidence"] = [sum(weights.get(w, 0.0) for w in set(kws)) for kws in frame["keywords"]]
    ranked = frame.sort_values(["evidence", "engagement", "post_id"], ascending=[False, False, True], kind="stable")
    picked, sites = [], set()
    for row in ranked.itertuples():  # one per site first ...
        if row.site not in sites:
            picked.append(row)
            sites.add(row.site)
        if len(picked) == k:
            break
    for row in ranked.itertuples():  # ... then the best of the rest
        if len(picked) == k:
            break
        if all(row.post_id != p.post_id for p in picked):
            picked.append(row)
    return tuple(Example(str(r.post_id), local_time(r.created_at).isoformat(), str(r.site), str(r.channel),
                         str(r.text)[:80]) for r in picked)


def explain_alert(store: Store, details: Mapping) -> Explanation | None:
    """The explanation of an alert from its details' `filters` (window and scope); None for alerts without posts
    (silence, grades, deadlines) and where no post precedes the window."""
    filters = details.get("filters") or {}
    if "created_at_from" not in filters or details.get("rule", {}).get("kind") == "silence":
        return None
    scope = {key: filters[key] for key in ("topic", "channel", "region") if filters.get(key)}
    found = explain(store, scope, filters["created_at_from"], filters["created_at_to"],
                    keywords=filters.get("keywords") or ())
    return found if found.baseline_posts else None  # nothing stored before the window: nothing to compare with


def explain_alert_dict(store: Store, details: Mapping) -> dict | None:
    """`explain_alert` as plain data (what the alert log stores and pages show), for an alert fired before
    explanations were stored."""
    found = explain_alert(store, details)
    return None if found is None else found.as_dict()


def explain_incident(store: Store, incident_id: str) -> Explanation | None:
    """What drove an incident: its posts from the first to the last against its topic's week before (for the
    incident page and the briefing); None for an incident without posts."""
    row = store.query(
        """SELECT any_value(i.topic) AS topic, min(p.created_at) AS first, max(p.created_at) AS last
           FROM incidents i JOIN incident_posts ip USING (incident_id) JOIN posts p USING (post_id)
           WHERE i.incident_id = ?""", [incident_id])
    if row.empty or pd.isna(row["first"].iloc[0]):
        return None
    topic = row["topic"].iloc[0]
    return explain(store, {"topic": [topic]} if isinstance(topic, str) and topic else {}, row["first"].iloc[0],
                   local_time(row["last"].iloc[0]) + pd.Timedelta(seconds=1), incident_id=incident_id)
