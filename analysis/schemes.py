"""Monitoring schemes (监测方案): what an office watches, written as keyword expressions, and the tags they give posts.

A scheme has a name, an expression, a match scope (title / text / both), optional channels and an owner.
Expression syntax: `+` AND, `|` OR, `-` NOT (prefix `-A`, or `A-B` = A and not B), parentheses; the full-width
forms ＋｜－（） are accepted; "…" (or “…”) quotes a phrase that contains operators or spaces. Precedence is
NOT > AND > OR, so `学校+食堂|过期+肉` is (学校 and 食堂) or (过期 and 肉). A term matches as a substring of the
normalized title / text (simplified, half-width, case-folded).

Schemes are the source of every post's `topics` (all schemes it matches: the narrowest first, then by term hits;
see Matcher.match) and `topic` (the first): the built-in topic dictionary is the default set (each topic an OR of
its words), seeded into a new database; saving or removing a scheme re-tags the stored posts in one bulk
update, and every batch is tagged by the current schemes when it is written. Topics a file gave itself are kept
(posts.topic_given).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import pandas as pd

from analysis import audit, config, text, topics
from analysis.store import Store, seed_new_databases

SCOPES = {"both": "标题和正文", "title": "仅标题", "text": "仅正文"}
SYSTEM = "系统"   # the owner of the built-in schemes
PREVIEW_DAYS = 30
SAMPLE_POSTS = 8


class ExpressionError(ValueError):
    """A malformed expression: `position` is the 1-based character it points at, the message is Chinese."""

    def __init__(self, expression: str, position: int, problem: str):
        self.expression, self.position, self.problem = expression, position, problem
        shown = expression[:position - 1] + "【" + expression[position - 1:position] + "】" + expression[position:] \
            if position <= len(expression) else expression + "【】"
        super().__init__(f"表达式第{position}个字符处{problem}：{shown}")


# -- parsing ------------------------------------------------------------------------------------------------
_FULL_WIDTH = str.maketrans({"＋": "+", "｜": "|", "－": "-", "（": "(", "）": ")", "“": '"', "”": '"',
                             "＂": '"'})
_OPERATORS = set('+|-()"')


def normal(term: str) -> str:
    """How terms and texts are compared: simplified, half-width, case-folded."""
    return text.normalize(term).casefold()


def _tokens(expression: str) -> list[tuple[str, str, int]]:
    """(kind, value, position): kind is one of + | - ( ) or 'term'."""
    source = expression.translate(_FULL_WIDTH)
    out: list[tuple[str, str, int]] = []
    i = 0
    while i < len(source):
        c = source[i]
        if c.isspace():
            i += 1
        elif c == '"':
            end = source.find('"', i + 1)
            if end < 0:
                raise ExpressionError(expression, i + 1, "的引号没有配对")
            phrase = normal(source[i + 1:end])
            if not phrase:
                raise ExpressionError(expression, i + 1, "的引号内为空")
            out.append(("term", phrase, i + 1))
            i = end + 1
        elif c in _OPERATORS:
            out.append((c, c, i + 1))
            i += 1
        else:
            start = i
            while i < len(source) and not source[i].isspace() and source[i] not in _OPERATORS:
                i += 1
            out.append(("term", normal(source[start:i]), start + 1))
    return out


class _Parser:
    """or := and ('|' and)* ; and := unary (('+' | '-') unary)* ; unary := '-' unary | term | '(' or ')'."""

    def __init__(self, expression: str):
        self.expression = expression
        self.tokens = _tokens(expression)
        self.i = 0

    def fail(self, problem: str):
        position = self.tokens[self.i][2] if self.i < len(self.tokens) else len(self.expression) + 1
        raise ExpressionError(self.expression, position, problem)

    def peek(self) -> str | None:
        return self.tokens[self.i][0] if self.i < len(self.tokens) else None

    def parse(self) -> tuple:
        if not self.tokens:
            raise ExpressionError(self.expression, 1, "为空：请至少写一个关键词")
        node = self.or_()
        if self.i < len(self.tokens):
            kind = self.peek()
            self.fail("多了一个右括号" if kind == ")" else "缺少运算符（+ 表示并且，| 表示或者；含空格的词请加引号）")
        return node

    def or_(self) -> tuple:
        parts = [self.and_()]
        while self.peek() == "|":
            self.i += 1
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else ("or", tuple(parts))

    def and_(self) -> tuple:
        parts = [self.unary()]
        while self.peek() in ("+", "-"):
            negate = self.peek() == "-"
            self.i += 1
            operand = self.unary()
            parts.append(("not", operand) if negate else operand)
        return parts[0] if len(parts) == 1 else ("and", tuple(parts))

    def unary(self) -> tuple:
        kind = self.peek()
        if kind == "-":
            self.i += 1
            return ("not", self.unary())
        if kind == "term":
            value = self.tokens[self.i][1]
            self.i += 1
            return ("term", value)
        if kind == "(":
            self.i += 1
            node = self.or_()
            if self.peek() != ")":
                self.fail("缺少右括号")
            self.i += 1
            return node
        if kind is None:
            self.fail("缺少关键词（表达式不能以运算符结尾）")
        self.fail("缺少关键词" if kind != ")" else "缺少关键词（括号内为空或运算符后缺词）")
        raise AssertionError  # fail() always raises


def parse(expression: str) -> tuple:
    """The expression's tree: ('term', t) | ('not', n) | ('and', (n, …)) | ('or', (n, …)); ExpressionError if
    malformed."""
    return _Parser(expression or "").parse()


def positive_terms(node: tuple) -> frozenset[str]:
    """Terms that count towards a match (not under an odd number of NOTs): their hits rank a post's schemes."""
    def walk(n: tuple, negated: bool):
        if n[0] == "term":
            if not negated:
                yield n[1]
        elif n[0] == "not":
            yield from walk(n[1], not negated)
        else:
            for child in n[1]:
                yield from walk(child, negated)
    return frozenset(walk(node, False))


def specificity(node: tuple) -> int:
    """How many conditions a match must meet at the top (地域 + 主体 + 事件 is 3, an OR of words 1): a post matching
    a narrow scheme is first of all about that, before the broad topics it also matches."""
    return sum(1 for child in node[1] if child[0] != "not") if node[0] == "and" else 1


def all_terms(node: tuple) -> frozenset[str]:
    if node[0] == "term":
        return frozenset([node[1]])
    if node[0] == "not":
        return all_terms(node[1])
    return frozenset().union(*(all_terms(child) for child in node[1]))


def _source(node: tuple) -> str:
    if node[0] == "term":
        return f"({node[1]!r} in s)"
    if node[0] == "not":
        return f"(not {_source(node[1])})"
    joiner = " and " if node[0] == "and" else " or "
    return "(" + joiner.join(_source(child) for child in node[1]) + ")"


@lru_cache(maxsize=512)
def _predicate(expression: str):
    """The expression as a function of the set of terms present (compiled once: terms are repr() literals)."""
    return eval(compile(f"lambda s: {_source(parse(expression))}", "<scheme>", "eval"), {})  # noqa: S307


def expression_of_words(words: Sequence[str]) -> str:
    """An OR of words, each quoted when it holds an operator or a space."""
    return "|".join(_quoted(w) for w in words)


def _quoted(word: str) -> str:
    word = word.strip()
    return f'"{word}"' if any(c in _OPERATORS or c.isspace() for c in word.translate(_FULL_WIDTH)) else word


def build_expression(regions: Sequence[str] = (), subjects: Sequence[str] = (), events: Sequence[str] = (),
                     excluded: Sequence[str] = ()) -> str:
    """The common case: (any 地域词) + (any 主体词) + (any 事件词) - (any 排除词); empty groups are left out."""
    groups = [[w for w in g if w.strip()] for g in (regions, subjects, events)]
    parts = [expression_of_words(g) if len(g) == 1 else f"({expression_of_words(g)})" for g in groups if g]
    out = "+".join(parts)
    excluded = [w for w in excluded if w.strip()]
    if excluded:
        out += "-" + (expression_of_words(excluded) if len(excluded) == 1 else f"({expression_of_words(excluded)})")
    return out


# -- schemes ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scheme:
    name: str
    expression: str
    scope: str = "both"
    channels: tuple[str, ...] = ()
    owner: str = ""            # saved as the actor when empty

    def check(self) -> None:
        """Raises ValueError (Chinese) for a bad name, scope or expression."""
        if not self.name.strip():
            raise ValueError("方案名称不能为空")
        if self.name.strip() == config.UNCLASSIFIED_TOPIC:
            raise ValueError(f"方案名称不能是“{config.UNCLASSIFIED_TOPIC}”")
        if self.scope not in SCOPES:
            raise ValueError(f"匹配范围必须是 {'、'.join(SCOPES)} 之一，收到：{self.scope}")
        parse(self.expression)

    def as_dict(self) -> dict:
        return {"name": self.name, "expression": self.expression, "scope": self.scope,
                "channels": list(self.channels), "owner": self.owner}


def default_schemes() -> list[Scheme]:
    """The built-in topic dictionary: one scheme per topic, an OR of its words."""
    return [Scheme(topic, expression_of_words(words), owner=SYSTEM) for topic, words in topics.TOPIC_KEYWORDS.items()]


@dataclass
class Matcher:
    """All schemes' terms counted in one pass per text, then each candidate scheme's predicate evaluated."""

    schemes: Sequence[Scheme]
    _by_first: dict[str, tuple[str, ...]] = field(init=False)

    def __post_init__(self):
        self.compiled = [(s.name, _predicate(s.expression), positive_terms(parse(s.expression)),
                          s.scope, frozenset(s.channels)) for s in self.schemes]
        terms = set().union(*(all_terms(parse(s.expression)) for s in self.schemes)) if self.schemes else set()
        by_first: dict[str, list[str]] = {}
        for term in terms:
            by_first.setdefault(term[0], []).append(term)
        self._by_first = {c: tuple(ts) for c, ts in by_first.items()}
        # a scheme true on a text with none of its terms (e.g. "-广告") is a candidate for every post
        self._always = [k for k, (_, predicate, *_rest) in enumerate(self.compiled) if predicate(frozenset())]
        self._specificity = [specificity(parse(s.expression)) for s in self.schemes]
        self._owners: dict[str, list[int]] = {}
        for k, (_, _, positive, _, _) in enumerate(self.compiled):
            for term in positive:
                self._owners.setdefault(term, []).append(k)

    def _present(self, haystack: str) -> set[str]:
        """The terms occurring in a (case-folded) text: `in` on the few terms starting with one of its characters."""
        by_first = self._by_first
        return {term for c in by_first.keys() & set(haystack) for term in by_first[c] if term in haystack}

    def match(self, titles: Sequence[str | None], bodies: Sequence[str | None],
              channels: Sequence[str | None]) -> list[list[str]]:
        """For each post: the names of the schemes it matches, the narrowest first (`specificity`), then the most
        positive-term occurrences, then scheme order. `titles` and `bodies` are normalized (text.normalize); they
        are case-folded here."""
        out: list[list[str]] = []
        compiled, always, owners, present = self.compiled, self._always, self._owners, self._present
        empty: set[str] = set()
        for title, body, channel in zip(titles, bodies, channels, strict=True):
            title, body = (title or "").casefold(), (body or "").casefold()
            both_text = f"{title} {body}" if title else body
            both = present(both_text) if both_text else empty
            in_title = in_body = None  # worked out from `both` for the first scheme scoped to one of them
            candidates = set(always)
            for term in both:
                candidates.update(owners.get(term, ()))
            hits: list[tuple[int, str, str]] = []
            for k in sorted(candidates):
                name, predicate, positive, scope, wanted = compiled[k]
                if wanted and channel not in wanted:
                    continue
                if scope == "both":
                    where, haystack = both, both_text
                elif scope == "title":
                    in_title = {t for t in both if t in title} if in_title is None else in_title
                    where, haystack = in_title, title
                else:
                    in_body = {t for t in both if t in body} if in_body is None else in_body
                    where, haystack = in_body, body
                if predicate(where):
                    hits.append((k, haystack, name))
            if len(hits) > 1:  # narrowest first, then by how often its own terms occur (counted only when it matters)
                hits.sort(key=lambda h: (-self._specificity[h[0]],
                                         -sum(h[1].count(t) for t in compiled[h[0]][2] if t in h[1]), h[0]))
            out.append([name for _, _, name in hits])
        return out


def tag_frame(posts: pd.DataFrame, schemes: Sequence[Scheme]) -> tuple[list[list[str]], list[str]]:
    """(topics, topic) of each post in a frame with title, text_norm and channel; each distinct post matched once
    (reposts and copies repeat texts)."""
    keys = pd.MultiIndex.from_arrays([posts["title"].fillna("\x00none"), posts["text_norm"].fillna(""),
                                      posts["channel"].fillna("")])
    codes, uniques = pd.factorize(keys)
    titles = [None if t == "\x00none" else t for t in uniques.get_level_values(0)]
    matched = Matcher(schemes).match(text.normalize_many(titles), list(uniques.get_level_values(1)),
                                     list(uniques.get_level_values(2)))
    spread = [matched[c] for c in codes]
    return [list(m) for m in spread], [topics.primary_topic(m) for m in spread]


# -- storage ----------------------------------------------------------------------------------------------
def load(store: Store) -> list[Scheme]:
    """The database's schemes in their order (the order breaks ties between equally strong schemes)."""
    frame = store.query("SELECT name, expression, scope, coalesce(channels, []::VARCHAR[]) AS channels, owner "
                        "FROM schemes ORDER BY position, name")
    return [Scheme(r.name, r.expression, r.scope, tuple(r.channels), r.owner) for r in frame.itertuples()]


def get(store: Store, name: str) -> Scheme | None:
    return next((s for s in load(store) if s.name == name), None)


def _retagged(store: Store, schemes: Sequence[Scheme]) -> pd.DataFrame:
    """The stored posts whose tags change under `schemes` (post_id, topic, topics): what saving writes."""
    posts = store.query("SELECT post_id, channel, title, text_norm, topic, topics FROM posts WHERE NOT topic_given")
    if posts.empty:
        return posts[["post_id", "topic", "topics"]]
    new_topics, new_topic = tag_frame(posts, schemes)
    changed = [old_t != t or list(old) != n for old_t, old, t, n in zip(posts["topic"], posts["topics"], new_topic,
                                                                        new_topics, strict=True)]
    frame = pd.DataFrame({"post_id": posts["post_id"], "topic": new_topic, "topics": new_topics})
    return frame[changed].reset_index(drop=True)


def _write(store: Store, schemes: Sequence[Scheme], statements: list[tuple[str, list]]) -> int:
    """Run the scheme statements and re-tag the posts in one transaction; returns the posts re-tagged."""
    changes = _retagged(store, schemes)
    store.update_posts(changes, ("topic", "topics"), statements)
    return len(changes)


def save(store: Store, scheme: Scheme, actor: str) -> int:
    """Add or replace a scheme and re-tag the stored posts; returns how many posts' tags changed. Audited."""
    scheme = Scheme(scheme.name.strip(), scheme.expression.strip(), scheme.scope, tuple(scheme.channels),
                    scheme.owner or actor)
    scheme.check()
    current = load(store)
    old = next((s for s in current if s.name == scheme.name), None)
    after = [scheme if s.name == scheme.name else s for s in current] + ([] if old else [scheme])
    position = store.scalar("SELECT coalesce((SELECT position FROM schemes WHERE name = ?), "
                            "(SELECT coalesce(max(position), -1) + 1 FROM schemes))", [scheme.name])
    statements = [
        ("DELETE FROM schemes WHERE name = ?", [scheme.name]),
        ("INSERT INTO schemes (name, expression, scope, channels, owner, position, updated_by) "
         "VALUES (?, ?, ?, ?, ?, ?, ?)",
         [scheme.name, scheme.expression, scheme.scope, list(scheme.channels) or None, scheme.owner,
          position, actor]),
        audit.entry(actor, "schemes.save", scheme.name,
                    {"old": old.as_dict() if old else None, "new": scheme.as_dict()}),
    ]
    return _write(store, after, statements)


def remove(store: Store, name: str, actor: str) -> int:
    """Delete a scheme and re-tag; returns the posts re-tagged. KeyError when there is no such scheme."""
    current = load(store)
    old = next((s for s in current if s.name == name), None)
    if old is None:
        raise KeyError(f"没有名为“{name}”的监测方案")
    return _write(store, [s for s in current if s.name != name], [
        ("DELETE FROM schemes WHERE name = ?", [name]),
        audit.entry(actor, "schemes.remove", name, {"old": old.as_dict(), "new": None})])


def tag_batch(store: Store, posts: pd.DataFrame) -> pd.DataFrame:
    """A batch about to be written, tagged by the database's schemes (topics the file gave are kept)."""
    current = load(store)
    if current == default_schemes():
        return posts  # enrich tagged it with the built-in dictionary already
    matched, primary = tag_frame(posts, current)
    given = posts["topic_given"].to_numpy() if "topic_given" in posts else [False] * len(posts)
    posts = posts.copy()
    posts["topics"] = [list(old) if keep else new for keep, old, new in zip(given, posts["topics"], matched,
                                                                             strict=True)]
    posts["topic"] = [old if keep else new for keep, old, new in zip(given, posts["topic"], primary, strict=True)]
    return posts


def mark_given(store: Store, posts: pd.DataFrame) -> None:
    """Remember which just-written posts carry a topic from their file (re-tagging leaves those alone)."""
    if "topic_given" not in posts:
        return
    given = posts.loc[posts["topic_given"].astype(bool), ["post_id"]].drop_duplicates()
    if len(given):
        store.update_posts(given.assign(topic_given=True), ("topic_given",))


# -- preview ----------------------------------------------------------------------------------------------
def preview(store: Store, scheme: Scheme, days: int = PREVIEW_DAYS, sample: int = SAMPLE_POSTS) -> dict:
    """What saving `scheme` would tag, over all stored posts: {"hits", "by_day" (the last `days` days up to the
    newest post, zeros included), "sample" (the newest matching posts)}. ExpressionError if malformed."""
    scheme.check()
    posts = store.query("SELECT post_id, channel, site, title, text_norm, created_at FROM posts "
                        "WHERE NOT topic_given")
    hit = pd.Series([bool(m) for m in Matcher([scheme]).match(
        text.normalize_many(posts["title"].tolist()), posts["text_norm"].tolist(), posts["channel"].tolist())],
        index=posts.index, dtype=bool) if len(posts) else pd.Series([], dtype=bool)
    matched = posts[hit]
    newest = store.scalar("SELECT max(created_at) FROM posts")
    by_day: dict[str, int] = {}
    if newest is not None:
        end = pd.Timestamp(newest).tz_convert(config.TIMEZONE).normalize()
        span = pd.date_range(end - pd.Timedelta(days=days - 1), end, freq="D")
        counts = matched["created_at"].dt.tz_convert(config.TIMEZONE).dt.normalize().value_counts()
        by_day = {day.strftime("%Y-%m-%d"): int(counts.get(day, 0)) for day in span}
    shown = matched.sort_values("created_at", ascending=False).head(sample)
    return {"hits": int(len(matched)), "by_day": by_day,
            "sample": [{"post_id": r.post_id, "created_at": r.created_at, "channel": r.channel,
                        "site": r.site, "title": r.title, "text": r.text_norm[:200]} for r in shown.itertuples()]}


# -- for the 监测方案 page -----------------------------------------------------------------------------------
def table(store: Store) -> pd.DataFrame:
    """The schemes as the page lists them: name, expression, scope (Chinese), channels (全部 when any), owner."""
    return pd.DataFrame([{"name": s.name, "expression": s.expression, "scope": SCOPES[s.scope],
                          "channels": "、".join(s.channels) or "全部", "owner": s.owner} for s in load(store)],
                        columns=["name", "expression", "scope", "channels", "owner"])


def preview_frames(result: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A preview's hits per day (日期, 命中) and its sample posts, as frames for a chart and a table."""
    days = pd.DataFrame({"日期": list(result["by_day"]), "命中": list(result["by_day"].values())})
    return days, pd.DataFrame(result["sample"], columns=["post_id", "created_at", "channel", "site", "title", "text"])


# -- a new database starts with the built-in dictionary; an upgraded one with its own topic dictionary ---------
@seed_new_databases(table="schemes")
def seed_defaults(store: Store) -> None:
    """The default schemes; a database upgraded from the topic-dictionary setting gets that dictionary instead,
    and its posts whose topic no scheme could have given (a file's own topic) are marked as given."""
    raw = store.scalar("SELECT value FROM settings WHERE key = 'topic_dictionary'")
    dictionary = json.loads(raw) if isinstance(raw, str) else raw
    seeded = default_schemes()
    if isinstance(dictionary, dict) and dictionary and all(isinstance(w, list) and w for w in dictionary.values()):
        seeded = [Scheme(str(name), expression_of_words([str(w) for w in words]), owner=SYSTEM)
                  for name, words in dictionary.items()]
    names = [s.name for s in seeded] + [config.UNCLASSIFIED_TOPIC]
    store.execute([("INSERT INTO schemes (name, expression, scope, channels, owner, position, updated_by) "
                    "VALUES (?, ?, 'both', NULL, ?, ?, ?)", [s.name, s.expression, SYSTEM, k, SYSTEM])
                   for k, s in enumerate(seeded)]
                  + [("UPDATE posts SET topic_given = true WHERE NOT list_contains(?, topic)", [names]),
                     ("DELETE FROM settings WHERE key = 'topic_dictionary'", [])])
