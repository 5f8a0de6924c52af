"""Text normalization, cleaning for scoring, repost-chain splitting and tokenization of Chinese posts."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

# -- traditional -> simplified ------------------------------------------------------------------------
# OpenCC (pure Python) costs ~50 µs per post, and almost every post is already simplified. A post that
# contains no character the t2s dictionaries would change is returned untouched without calling it.


@lru_cache(maxsize=1)
def _t2s():
    """The converter and a regex matching any character that t2s may rewrite (built once)."""
    import opencc
    from opencc import OpenCC

    converter = OpenCC("t2s")
    dict_dir = Path(opencc.__file__).parent / "dictionary"
    trigger: set[str] = set()
    with open(dict_dir / "TSCharacters.txt", encoding="utf-8") as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("\t")
            if key and value.split(" ")[0] != key:
                trigger.add(key)
    with open(dict_dir / "TSPhrases.txt", encoding="utf-8") as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("\t")
            if not key or key == value or trigger.intersection(key):
                continue
            # a phrase made of characters t2s leaves alone on their own (回覆 -> 回复): its changing ones
            if len(key) == len(value):
                trigger.update(k for k, v in zip(key, value, strict=True) if k != v)
            else:
                trigger.update(key)
    # frozenset.isdisjoint(str) runs in C; a 4,000-character regex class is 20x slower
    return converter, frozenset(trigger)


# -- full-width -> half-width -------------------------------------------------------------------------
# Full-width ASCII letters, digits and symbols become ASCII; the full-width marks that Chinese text uses
# as its own punctuation (，！？：；（）) stay, so sentences still read as Chinese.
_KEEP_FULLWIDTH = set("，！？：；（）")
_WIDTH_TABLE: dict[int, str] = {
    cp: chr(cp - 0xFEE0) for cp in range(0xFF01, 0xFF5F) if chr(cp) not in _KEEP_FULLWIDTH
}
_WIDTH_TABLE.update({0x3000: " ", 0x00A0: " ", 0x200B: "", 0x200C: "", 0x200D: "", 0xFEFF: "", 0x2060: ""})
# only characters the table changes: the kept Chinese marks must not trigger the (slow) translate()
_NEEDS_WIDTH = re.compile("[" + "".join(re.escape(chr(cp)) for cp in sorted(_WIDTH_TABLE)) + "]")
_SPACES = re.compile(r"\s+")


def normalize(text: str | None) -> str:
    """Text for storage and search: simplified, ASCII half-width, whitespace collapsed; None -> ''."""
    if text is None:
        return ""
    if not isinstance(text, str):
        text = str(text)
    if _NEEDS_WIDTH.search(text):
        text = text.translate(_WIDTH_TABLE)
    converter, trigger = _t2s()
    if not trigger.isdisjoint(text):
        text = converter.convert(text)
    return _SPACES.sub(" ", text).strip()


def normalize_many(texts: Iterable[str | None]) -> list[str]:
    """normalize() over a list (ingest path: tens of thousands of posts)."""
    converter, trigger = _t2s()
    table, spaces, convert = _WIDTH_TABLE, _SPACES, converter.convert
    needs_width, plain = _NEEDS_WIDTH.search, trigger.isdisjoint
    out: list[str] = []
    append = out.append
    for text in texts:
        if text is None or text != text:  # None or NaN from pandas
            append("")
            continue
        if not isinstance(text, str):
            text = str(text)
        if needs_width(text):
            text = text.translate(table)
        if not plain(text):
            text = convert(text)
        append(spaces.sub(" ", text).strip())
    return out


# -- repost chains and cleaning for scoring -----------------------------------------------------------
_USER = r"[\w\-·.]{1,30}"
_REPOST_SPLIT = re.compile(r"//\s*@")
_CHAIN_HEAD = re.compile(rf"^({_USER})\s*[:：]\s*")
_REPLY_PREFIX = re.compile(rf"^\s*回复\s*@{_USER}\s*[:：]?\s*")
# URLs (ASCII only so Chinese right after a link survives; also the bare 'http:' left by truncated
# copies), Weibo link placeholders, @mentions,
# [emoticon] codes and the # of #话题# markers (the words inside are kept).
_NOISE = re.compile(
    r"https?:(?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*)?|www\.[A-Za-z0-9\-._~/?#=&%]+|O?网页链接"
    r"|@[\w\-·.]{0,30}|\[[^\[\]\s]{1,10}\]|#"
)
_DEFAULT_REPOST_WORDS = frozenset({"转发微博", "转发", "轉發微博", "轉發", "repost", "Repost", "转"})
_ONLY_PUNCT = re.compile(r"^[\s\W_]*$")


def split_repost(text: str | None) -> tuple[str, list[tuple[str, str]]]:
    """Split 'own words//@a: a's words//@b: b's words' into own words and [(user, words), ...].

    The chain is listed nearest first (a reposted b). Weibo's default '转发微博' counts as no own words.
    """
    if not text:
        return "", []
    parts = _REPOST_SPLIT.split(text)
    own = parts[0].strip()
    chain: list[tuple[str, str]] = []
    for part in parts[1:]:
        head = _CHAIN_HEAD.match(part)
        if head:
            chain.append((head.group(1), part[head.end():].strip()))
        else:
            user, _, words = part.strip().partition(" ")
            chain.append((user, words.strip()))
    if own in _DEFAULT_REPOST_WORDS:
        own = ""
    return own, chain


def _clean_own_words(own: str) -> str:
    if "回复" in own:
        own = _REPLY_PREFIX.sub("", own)
    own, replaced = _NOISE.subn(" ", own)
    if replaced:
        own = _SPACES.sub(" ", own).strip()
    if own in _DEFAULT_REPOST_WORDS or _ONLY_PUNCT.match(own):
        return ""
    return own


def scoring_text(text: str | None) -> str:
    """The author's own words, ready for sentiment scoring; '' when there are none (pure repost).

    Normalizes, keeps only the part before the first '//@' (the repost chain is other people's words),
    drops a leading '回复@user:', URLs, @mentions, [emoticon] codes and '#' markers (keeping topic words).
    A text left with only punctuation counts as empty.
    """
    own, _ = split_repost(normalize(text))
    return _clean_own_words(own) if own else ""


def scoring_texts(texts: Iterable[str | None]) -> list[str]:
    """scoring_text() over a list."""
    out = []
    for norm in normalize_many(texts):
        own, _ = split_repost(norm) if "//" in norm else (norm, None)
        if own in _DEFAULT_REPOST_WORDS:
            own = ""
        out.append(_clean_own_words(own) if own else "")
    return out


# -- tokenization -------------------------------------------------------------------------------------
# 舆情 vocabulary jieba would otherwise split; added once to the shared default tokenizer.
USER_WORDS: tuple[str, ...] = (
    "舆情", "网民", "网友", "热搜", "发酵", "通报", "官方通报", "回应", "辟谣", "谣言", "维权", "讨薪",
    "欠薪",
    "拖欠工资", "农民工", "拆迁", "强拆", "征收", "征地", "补偿款", "安置房", "烂尾楼", "物业费", "业委会",
    "安全生产", "安全隐患", "生产事故", "燃气爆炸", "食品安全", "地沟油", "过期食品", "假药", "疫苗",
    "医患纠纷", "医闹", "看病难", "校园霸凌", "食堂", "课外培训", "双减", "环境污染", "偷排", "排污",
    "异味", "噪音扰民", "黑臭水体", "雾霾", "防汛", "汛情", "内涝", "山洪", "泥石流", "抢险", "救灾",
    "营商环境", "吃拿卡要", "乱收费", "乱罚款", "社会治安", "电信诈骗", "电诈", "扫黑除恶", "黑恶势力",
    "交通事故", "酒驾", "堵车", "网约车", "共享单车", "12345热线", "市长信箱", "书记信箱", "留言板",
    "信访", "上访", "群体性事件", "不作为", "乱作为", "懒政", "点赞", "正能量", "接诉即办",
)

_JIEBA_LOCK = threading.Lock()
_jieba_ready = False


def _jieba():
    global _jieba_ready
    import jieba

    if not _jieba_ready:
        with _JIEBA_LOCK:
            if not _jieba_ready:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                for word in USER_WORDS:
                    jieba.add_word(word, freq=20000)
                _jieba_ready = True
    return jieba


def tokenize(text: str | None) -> list[str]:
    """jieba words of a text (with the 舆情 user words), whitespace tokens dropped."""
    if not text:
        return []
    return [w for w in _jieba().lcut(text) if w.strip()]


def tokenize_many(texts: Sequence[str | None]) -> list[list[str]]:
    """tokenize() over a list."""
    cut = _jieba().lcut
    return [[w for w in cut(t) if w.strip()] if t else [] for t in texts]
