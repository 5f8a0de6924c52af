"""Small realistic frames in each known export layout's original column names, with real Chinese texts."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

SHARED_DATA = Path(os.environ.get("OPINION_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
BASE_TIME = pd.Timestamp("2026-11-20 08:15:00", tz="Asia/Shanghai")
DISTRICTS = ("城关区", "七里河区", "西固区", "安宁区", "红古区", "永登县", "皋兰县", "榆中县", "新区")

# Column order as each export writes it. MediaCrawler: the keys of the dicts built in
# store/<platform>/__init__.py (tieba/zhihu: model/m_baidu_tieba.py, model/m_zhihu.py), which the
# CSV/JSON exports write as the header.
EXPORT_COLUMNS: dict[str, list[str]] = {
    "canonical": ["post_id", "channel", "site", "url", "author_id", "title", "text", "created_at", "parent_id",
                  "repost_count", "comment_count", "like_count", "read_count", "region"],
    "mediacrawler_weibo_note": [
        "note_id", "content", "create_time", "create_date_time", "liked_count", "comments_count", "shared_count",
        "last_modify_ts", "note_url", "ip_location", "user_id", "nickname", "gender", "profile_url", "avatar",
        "source_keyword"],
    "mediacrawler_weibo_comment": [
        "comment_id", "create_time", "create_date_time", "note_id", "content", "sub_comment_count",
        "comment_like_count", "last_modify_ts", "ip_location", "parent_comment_id", "user_id", "nickname",
        "gender", "profile_url", "avatar"],
    "mediacrawler_douyin_aweme": [
        "aweme_id", "aweme_type", "title", "desc", "create_time", "user_id", "sec_uid", "short_user_id",
        "user_unique_id", "user_signature", "nickname", "avatar", "liked_count", "collected_count",
        "comment_count", "share_count", "ip_location", "last_modify_ts", "aweme_url", "cover_url",
        "video_download_url", "music_download_url", "note_download_url", "source_keyword"],
    "mediacrawler_douyin_comment": [
        "comment_id", "create_time", "ip_location", "aweme_id", "content", "user_id", "sec_uid", "short_user_id",
        "user_unique_id", "user_signature", "nickname", "avatar", "sub_comment_count", "like_count",
        "last_modify_ts", "parent_comment_id", "pictures"],
    "mediacrawler_kuaishou_video": [
        "video_id", "video_type", "title", "desc", "create_time", "user_id", "nickname", "avatar", "liked_count",
        "viewd_count", "last_modify_ts", "video_url", "video_cover_url", "video_play_url", "source_keyword"],
    "mediacrawler_kuaishou_comment": [
        "comment_id", "create_time", "video_id", "content", "user_id", "nickname", "avatar", "sub_comment_count",
        "last_modify_ts"],
    "mediacrawler_bilibili_video": [
        "video_id", "video_type", "title", "desc", "create_time", "user_id", "nickname", "avatar", "liked_count",
        "disliked_count", "video_play_count", "video_favorite_count", "video_share_count", "video_coin_count",
        "video_danmaku", "video_comment", "last_modify_ts", "video_url", "video_cover_url", "source_keyword"],
    "mediacrawler_bilibili_comment": [
        "comment_id", "parent_comment_id", "create_time", "video_id", "content", "user_id", "nickname", "sex",
        "sign", "avatar", "sub_comment_count", "like_count", "last_modify_ts"],
    "mediacrawler_xhs_note": [
        "note_id", "type", "title", "desc", "video_url", "time", "last_update_time", "user_id", "nickname",
        "avatar", "liked_count", "collected_count", "comment_count", "share_count", "ip_location", "image_list",
        "tag_list", "last_modify_ts", "note_url", "source_keyword", "xsec_token"],
    "mediacrawler_xhs_comment": [
        "comment_id", "create_time", "ip_location", "note_id", "content", "user_id", "nickname", "avatar",
        "sub_comment_count", "pictures", "parent_comment_id", "last_modify_ts", "like_count"],
    "mediacrawler_tieba_note": [
        "note_id", "title", "desc", "note_url", "publish_time", "user_link", "user_nickname", "user_avatar",
        "tieba_name", "tieba_link", "total_replay_num", "total_replay_page", "ip_location", "source_keyword",
        "last_modify_ts"],
    "mediacrawler_tieba_comment": [
        "comment_id", "parent_comment_id", "content", "user_link", "user_nickname", "user_avatar", "publish_time",
        "ip_location", "sub_comment_count", "note_id", "note_url", "tieba_id", "tieba_name", "tieba_link",
        "last_modify_ts"],
    "mediacrawler_zhihu_content": [
        "content_id", "content_type", "content_text", "content_url", "question_id", "title", "desc",
        "created_time", "updated_time", "voteup_count", "comment_count", "source_keyword", "user_id", "user_link",
        "user_nickname", "user_avatar", "user_url_token", "last_modify_ts"],
    "mediacrawler_zhihu_comment": [
        "comment_id", "parent_comment_id", "content", "publish_time", "ip_location", "sub_comment_count",
        "like_count", "dislike_count", "content_id", "content_type", "user_id", "user_link", "user_nickname",
        "user_avatar", "last_modify_ts"],
    "yuqing_export": ["序号", "标题", "内容", "来源", "频道", "作者", "发布时间", "链接", "转发数", "评论数",
                      "点赞数", "阅读数", "地域", "情感倾向"],
    "hotline_12345": ["工单号", "来电时间", "标题", "诉求内容", "诉求类型", "所属区域", "承办单位", "办理状态"],
}

# How ids look on each platform: (digits, prefix); xhs uses 24 hex digits.
_ID_STYLE = {"weibo": (16, "50"), "douyin": (19, "74"), "kuaishou": (15, "3x"), "bilibili": (12, "11"),
             "tieba": (10, "92"), "zhihu": (10, "28"), "xhs": (24, "")}
_URLS = {
    "mediacrawler_weibo_note": "https://m.weibo.cn/detail/{id}",
    "mediacrawler_douyin_aweme": "https://www.douyin.com/video/{id}",
    "mediacrawler_kuaishou_video": "https://www.kuaishou.com/short-video/{id}",
    "mediacrawler_bilibili_video": "https://www.bilibili.com/video/av{id}",
    "mediacrawler_xhs_note": "https://www.xiaohongshu.com/explore/{id}?xsec_token=AB1x&xsec_source=pc_search",
    "mediacrawler_tieba_note": "https://tieba.baidu.com/p/{id}",
    "mediacrawler_zhihu_content": "https://www.zhihu.com/question/51234567/answer/{id}",
}


def gbk_encodable(text: str) -> bool:
    """Whether a text survives being saved as GBK (as Chinese Excel and many 舆情 systems save CSV)."""
    try:
        text.encode("gbk")
    except UnicodeEncodeError:
        return False
    return True


def gbk_safe(frame: pd.DataFrame, column: str = "text") -> pd.DataFrame:
    """The rows whose `column` GBK can hold."""
    return frame[frame[column].map(gbk_encodable)].reset_index(drop=True)


def _texts(n: int, rng: np.random.Generator) -> list[str]:
    dev = pd.read_csv(SHARED_DATA / "sentiment_dev.csv.gz", usecols=["text"])
    texts = dev["text"].dropna()
    texts = texts[texts.str.len().between(8, 300)]
    return texts.iloc[rng.choice(len(texts), size=n, replace=False)].tolist()


def _ids(platform: str, n: int, rng: np.random.Generator) -> list[str]:
    digits, prefix = _ID_STYLE.get(platform, (10, "1"))
    if platform == "xhs":
        return ["".join(rng.choice(list("0123456789abcdef"), size=24)) for _ in range(n)]
    if platform == "kuaishou":
        return [prefix + "".join(rng.choice(list("0123456789abcdef"), size=digits - 2)) for _ in range(n)]
    return [prefix + "".join(str(d) for d in rng.integers(0, 10, size=digits - len(prefix))) for _ in range(n)]


def _count_text(value: int, rng: np.random.Generator, site_style: bool) -> str:
    """Counts as exports show them: plain digits, or '1.2万' / '10万+' as some sites display."""
    if site_style and value >= 10_000:
        return "10万+" if value >= 100_000 else f"{value / 10_000:.1f}万"
    return str(value)


def sample_frame(layout_name: str, n: int = 20, seed: int = 0) -> pd.DataFrame:
    """n rows in the layout's original column names; every value a string (as a CSV reader gives them)."""
    if layout_name not in EXPORT_COLUMNS:
        raise KeyError(f"no sample for layout {layout_name!r}")
    rng = np.random.default_rng(seed)
    columns = EXPORT_COLUMNS[layout_name]
    platform = layout_name.split("_")[1] if layout_name.startswith("mediacrawler_") else layout_name
    is_comment = layout_name.endswith("_comment")
    texts = _texts(n, rng)
    minutes = np.sort(rng.integers(0, 3 * 24 * 60, size=n))
    times = [BASE_TIME + pd.Timedelta(minutes=int(m), seconds=int(s)) for m, s in
             zip(minutes, rng.integers(0, 60, size=n), strict=True)]
    epoch_s = [str(int(t.timestamp())) for t in times]
    epoch_ms = [str(int(t.timestamp() * 1000) + int(rng.integers(0, 1000))) for t in times]
    collected_ms = [str(int((t + pd.Timedelta(hours=2)).timestamp() * 1000)) for t in times]
    ids = _ids(platform, n, rng)
    users = [str(rng.integers(1_000_000_000, 7_999_999_999)) for _ in range(n)]
    nicknames = [f"网友{rng.integers(1000, 99999)}" for _ in range(n)]
    site_style = platform in ("xhs", "yuqing_export")

    def count() -> list[str]:
        big = rng.random(n) < 0.3
        drawn = np.where(big, rng.integers(10_000, 300_000, n), rng.integers(0, 5_000, n))
        return [_count_text(int(v), rng, site_style) for v in drawn]

    notes = _ids(platform, 3, np.random.default_rng(seed + 1))  # the posts these comments reply to
    note_of = [notes[i % len(notes)] for i in range(n)]
    parents = []
    for i in range(n):
        earlier = [j for j in range(i) if note_of[j] == note_of[i]]
        if earlier and rng.random() < 0.4:
            parents.append(ids[int(rng.choice(earlier))])
        else:  # top level: each platform marks it its own way
            parents.append({"weibo": ids[i], "tieba": "", "zhihu": ""}.get(platform, "0"))

    def titles(width: int) -> list[str]:
        return [t[:width] for t in texts]

    def shanghai(fmt: str) -> list[str]:
        return [t.strftime(fmt) for t in times]

    values: dict[str, list] = {
        # canonical
        "post_id": [f"c{seed}-{i}" for i in range(n)], "channel": list(rng.choice(["微博", "新闻", "论坛"], n)),
        "site": list(rng.choice(["新浪微博", "人民网", "本地宝论坛"], n)),
        "url": [f"https://example.cn/p/{i}" for i in ids], "author_id": users, "title": titles(16),
        "text": texts, "created_at": shanghai("%Y-%m-%d %H:%M:%S"), "parent_id": [None] * n,
        "region": list(rng.choice(DISTRICTS, n)),
        # MediaCrawler
        "content": texts, "desc": texts, "content_text": texts, "create_time": epoch_s,
        "create_date_time": shanghai("%Y-%m-%d %H:%M:%S+08:00"), "time": epoch_ms,
        "publish_time": shanghai("%Y-%m-%d %H:%M"), "created_time": epoch_s, "updated_time": epoch_s,
        "last_modify_ts": collected_ms, "last_update_time": epoch_ms,
        "user_id": users, "nickname": nicknames, "user_nickname": nicknames, "ip_location": ["甘肃"] * n,
        "avatar": ["https://tvax1.sinaimg.cn/crop.0.0.180.180.180/a.jpg"] * n,
        "gender": list(rng.choice(["m", "f"], n)),
        "profile_url": [f"https://m.weibo.cn/u/{u}" for u in users], "source_keyword": ["兰州 停水"] * n,
        "comment_id": ids, "parent_comment_id": parents, "question_id": ["51234567"] * n,
        "aweme_type": ["0"] * n, "video_type": ["video"] * n, "type": ["normal"] * n, "content_type": ["answer"] * n,
        "tieba_name": ["兰州吧"] * n, "tieba_link": ["https://tieba.baidu.com/f?kw=兰州"] * n, "tieba_id": ["1234"] * n,
        "user_link": [f"https://tieba.baidu.com/home/main?id=tb.1.{u}" for u in users],
        "total_replay_page": ["1"] * n, "xsec_token": ["AB1x"] * n,
        # 舆情 export
        "序号": [str(i + 1) for i in range(n)], "标题": titles(16), "内容": texts,
        "来源": list(rng.choice(["新浪微博", "人民网", "兰州本地宝", "今日头条"], n)),
        "频道": list(rng.choice(["微博", "新闻", "论坛", "微信公众号"], n)), "作者": nicknames,
        "发布时间": shanghai("%Y-%m-%d %H:%M:%S"), "链接": [f"https://example.cn/a/{i}" for i in ids],
        "地域": list(rng.choice(DISTRICTS, n)), "情感倾向": list(rng.choice(["正面", "中性", "负面"], n)),
        # 12345
        "工单号": [f"GD{t.strftime('%Y%m%d')}{i:05d}" for i, t in enumerate(times)],
        "来电时间": shanghai("%Y-%m-%d %H:%M:%S"), "诉求内容": texts,
        "诉求类型": list(rng.choice(["投诉", "咨询", "求助", "建议", "举报"], n)),
        "所属区域": list(rng.choice(DISTRICTS, n)),
        "承办单位": list(rng.choice(["城关区住建局", "七里河区市场监管局", "市交通运输局"], n)),
        "办理状态": list(rng.choice(["已办结", "办理中"], n)),
    }
    if layout_name == "mediacrawler_zhihu_content":
        values["title"] = [f"如何看待{t[:12]}？" for t in texts]
    elif layout_name in ("mediacrawler_douyin_aweme", "mediacrawler_kuaishou_video"):
        values["title"] = texts  # MediaCrawler stores the caption as both title and desc
    if platform in ("kuaishou", "xhs"):
        values["create_time"] = epoch_ms
    if is_comment:
        values.update({"note_id": note_of, "aweme_id": note_of, "video_id": note_of, "content_id": note_of})
    else:
        values.update({"note_id": ids, "aweme_id": ids, "video_id": ids, "content_id": ids})
    url_pattern = _URLS.get(layout_name, "https://example.cn/{id}")
    for name in ("note_url", "aweme_url", "video_url", "content_url"):
        values[name] = [url_pattern.format(id=note) for note in (note_of if is_comment else ids)]

    count_words = ("count", "_num", "转发", "评论", "点赞", "阅读", "viewd", "video_comment", "video_danmaku")
    frame = {}
    for column in columns:
        if column in values:
            frame[column] = values[column]
        elif any(word in column for word in count_words) or column in ("repost_count", "read_count"):
            frame[column] = count()
        else:
            frame[column] = [""] * n
    return pd.DataFrame(frame, columns=columns)
