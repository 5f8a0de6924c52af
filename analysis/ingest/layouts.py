"""Known export layouts (our own, MediaCrawler, 舆情 system Excel, 12345 tickets) mapped onto canonical post columns.

A layout is data: which source column feeds which canonical column, constants to add, the columns that
must be present, and a few flags. `detect_layout` picks one from a file's header; `to_canonical` applies
it. Values are left raw (strings or numbers): ingest validates and converts types, including dates
(epoch seconds, epoch milliseconds or text) and counts ('1.2万', '10万+').
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from analysis import config
from analysis.store import ACCOUNT_COLUMNS

# What to_canonical may produce, in the contract's order (ingest derives the rest).
CANONICAL_INPUT_COLUMNS: tuple[str, ...] = (
    "post_id", "channel", "site", "url", "author_id", "title", "text", "created_at", "collected_at",
    "parent_id", "root_id", "post_type", "repost_count", "comment_count", "like_count", "read_count",
    "region", "topic",
)
# What an account table (or a post export's account columns) maps onto: see analysis.ingest.accounts.
ACCOUNT_INPUT_COLUMNS = ACCOUNT_COLUMNS
# Values that mean "no parent" in MediaCrawler comment tables (douyin reply_id '0', bilibili parent 0, ...).
_NO_PARENT = {"", "0", "none", "nan", "null"}


@dataclass(frozen=True)
class Layout:
    """How one export's columns map onto canonical post columns.

    columns: source column → canonical column. Several sources may feed one canonical column: they are
      fallbacks in dict order (the first non-empty value per row wins), which is also how synonyms
      (内容 / 正文) are expressed.
    constants: canonical column → value for every row where the file gives none (channel, site, post_type).
    required: source names that must be present; a required name is also satisfied by any other source
      column of this layout that feeds the same canonical column (so 正文 satisfies 内容).
    known: columns of the export that are recognised but dropped (avatars, personal data, the vendor's
      own sentiment label): they count for detection and end in attrs['unmapped_columns'].
    time_format: how created_at arrives: 's' / 'ms' (Unix epoch), 'text', or 'mixed'.
    comments: a comment table: parent_id falls back to root_id (the commented post) when the parent
      comment id is empty, '0' or the comment's own id.
    title_in_text: the title repeats the start of the text (douyin/kuaishou/xhs): drop it to avoid
      counting the same words twice.
    channel_from_site: when the channel column is empty, take it from the site or the address
      (config.channel_of_site); a site nobody listed gets config.OTHER_CHANNEL.
    accounts: an account table (a crawler's creator export, a system's account list): it maps onto
      ACCOUNT_INPUT_COLUMNS and fills the accounts table, not posts.
    account_columns: for a post export, its account columns (粉丝数, 认证类型) → ACCOUNT_INPUT_COLUMNS.
    source: where the column names come from.
    """

    name: str
    label: str
    columns: dict[str, str] = field(compare=False)
    constants: dict[str, str] = field(default_factory=dict, compare=False)
    required: tuple[str, ...] = ()
    known: tuple[str, ...] = ()
    time_format: str = "text"
    comments: bool = False
    title_in_text: bool = False
    channel_from_site: bool = False
    accounts: bool = False
    account_columns: dict[str, str] = field(default_factory=dict, compare=False)
    source: str = ""

    def vocabulary(self) -> set[str]:
        """Normalized names of every column this layout recognises."""
        return {normalize_column_name(c) for c in (*self.columns, *self.account_columns, *self.known)}

    def alternatives(self, required_name: str) -> list[str]:
        """The required column and every other source column feeding the same canonical column."""
        mapping = {**self.account_columns, **self.columns}
        target = mapping[required_name]
        return [required_name] + [c for c, t in mapping.items() if t == target and c != required_name]


class UnknownLayoutError(ValueError):
    """No known layout has all its required columns; str() for logs, .message_zh for the UI."""

    def __init__(self, found: Sequence[str], expected_by_layout: dict[str, list[str]],
                 closest: str | None = None, missing: Sequence[str] = ()):
        self.found = list(found)
        self.expected_by_layout = expected_by_layout
        self.closest = closest
        self.missing = list(missing)
        hint = f"; closest layout {closest} lacks {', '.join(self.missing)}" if closest else ""
        super().__init__(
            f"unrecognised column layout: found columns [{', '.join(self.found) or 'none'}]; "
            f"none of the {len(expected_by_layout)} known layouts has all its required columns{hint}"
        )
        lines = [f"无法识别文件的列格式。文件中的列：{'、'.join(self.found) or '（无）'}。"]
        if closest:
            lines.append(f"最接近的格式是「{LAYOUTS_BY_NAME[closest].label}」，缺少必需列：{'、'.join(self.missing)}。")
        lines.append("支持的格式及其必需列：")
        lines += [f"- {label}：{'、'.join(cols)}" for label, cols in expected_by_layout.items()]
        self.message_zh = "\n".join(lines)


def normalize_column_name(name: object) -> str:
    """Header as compared: BOM, quotes and all whitespace removed, lower case."""
    return "".join(str(name).replace("\ufeff", "").split()).strip("\"'").lower()


def _mc(file: str) -> str:
    return f"NanmiCoder/MediaCrawler {file}"


# -- MediaCrawler -----------------------------------------------------------------------------------
# The CSV/JSON/Excel exports write the dicts built in store/<platform>/__init__.py (or the pydantic
# models in model/m_*.py for tieba and zhihu); the DB tables in schema/tables.sql carry the same names
# plus `id`/`add_ts`. Timestamps: add_ts/last_modify_ts are epoch ms (tools/utils get_current_timestamp).
_MC_COLLECTED = {"add_ts": "collected_at", "last_modify_ts": "collected_at"}

# The account columns 舆情 systems put beside each post, or in an account list.
_ACCOUNT_LIST_COLUMNS = {"粉丝数": "followers", "粉丝": "followers", "粉丝量": "followers", "关注数": "follows",
                         "认证类型": "verified", "认证": "verified", "认证信息": "verified", "是否认证": "verified",
                         "账号认证": "verified", "作者认证": "verified"}
# Creator tables (store/<platform>/__init__.py save_creator, schema/tables.sql *_creator, bilibili_up_info): only
# the id, counts and official flag are taken; nickname, avatar, gender, bio, location and tags are never stored.
_CREATOR_KNOWN = ("id", "nickname", "avatar", "gender", "desc", "ip_location", "tag_list", "interaction",
                  "videos_count", "add_ts", "last_modify_ts")


def _creator(platform: str, label: str, channel: str, table: str) -> Layout:
    return Layout(
        name=f"mediacrawler_{platform}_creator", label=f"{label}博主信息（MediaCrawler）",
        columns={"user_id": "author_id"}, account_columns={"fans": "followers", "follows": "follows"},
        constants={"channel": channel}, required=("user_id", "fans"), known=_CREATOR_KNOWN, accounts=True,
        source=_mc(f"store/{platform}/__init__.py save_creator, schema/tables.sql {table}"))


LAYOUTS: tuple[Layout, ...] = (
    Layout(
        name="canonical", label="标准格式（本系统字段）",
        columns={c: c for c in CANONICAL_INPUT_COLUMNS},
        required=("text", "created_at"),
        # Re-importing our own export: derived columns are recomputed at ingest.
        known=("text_norm", "topics", "keywords", "sentiment_score", "sentiment_label", "sentiment_model",
               "batch_id", "content_key"),
        account_columns={"verified": "verified", "followers": "followers", "follows": "follows"},
        time_format="mixed", source="docs: the contract's canonical post columns",
    ),
    # store/weibo/__init__.py update_weibo_note; schema/tables.sql `weibo_note`.
    # create_time is epoch s, but older MediaCrawler (tools/time_util.py rfc2822_to_timestamp used
    # replace(tzinfo=utc)) shifted it by +8 h; create_date_time ('2024-05-11 17:51:15+08:00') is right
    # in every version, so it goes first.
    Layout(
        name="mediacrawler_weibo_note", label="微博帖子（MediaCrawler）",
        columns={"note_id": "post_id", "content": "text", "create_date_time": "created_at",
                 "create_time": "created_at", "liked_count": "like_count", "comments_count": "comment_count",
                 "shared_count": "repost_count", "note_url": "url", "user_id": "author_id",
                 "nickname": "author_id", **_MC_COLLECTED},
        constants={"channel": "微博", "site": "新浪微博", "post_type": "original"},
        required=("note_id", "content", "create_time"),
        known=("id", "ip_location", "gender", "profile_url", "avatar", "source_keyword"),
        time_format="text", source=_mc("store/weibo/__init__.py, schema/tables.sql weibo_note"),
    ),
    # store/weibo/__init__.py update_weibo_note_comment; schema/tables.sql `weibo_note_comment`.
    # parent_comment_id is Weibo's `rootid`, equal to the comment's own id for a top-level comment.
    Layout(
        name="mediacrawler_weibo_comment", label="微博评论（MediaCrawler）",
        columns={"comment_id": "post_id", "content": "text", "create_date_time": "created_at",
                 "create_time": "created_at", "note_id": "root_id", "parent_comment_id": "parent_id",
                 "comment_like_count": "like_count", "sub_comment_count": "comment_count",
                 "user_id": "author_id", "nickname": "author_id", **_MC_COLLECTED},
        constants={"channel": "微博", "site": "新浪微博", "post_type": "comment"},
        required=("comment_id", "note_id", "content", "create_time"),
        known=("id", "ip_location", "gender", "profile_url", "avatar"),
        time_format="text", comments=True,
        source=_mc("store/weibo/__init__.py, schema/tables.sql weibo_note_comment"),
    ),
    # store/douyin/__init__.py update_douyin_aweme (title and desc are both aweme `desc`);
    # schema/tables.sql `douyin_aweme`. create_time: epoch s.
    Layout(
        name="mediacrawler_douyin_aweme", label="抖音视频（MediaCrawler）",
        columns={"aweme_id": "post_id", "desc": "text", "title": "title", "create_time": "created_at",
                 "liked_count": "like_count", "comment_count": "comment_count", "share_count": "repost_count",
                 "aweme_url": "url", "user_id": "author_id", "nickname": "author_id", **_MC_COLLECTED},
        constants={"channel": "抖音", "site": "抖音", "post_type": "original"},
        required=("aweme_id", "desc", "create_time"),
        known=("id", "aweme_type", "sec_uid", "short_user_id", "user_unique_id", "user_signature", "avatar",
               "collected_count", "ip_location", "cover_url", "video_download_url", "music_download_url",
               "note_download_url", "source_keyword"),
        time_format="s", title_in_text=True,
        source=_mc("store/douyin/__init__.py, schema/tables.sql douyin_aweme"),
    ),
    # store/douyin/__init__.py update_dy_aweme_comment (parent_comment_id = reply_id, '0' at top level);
    # schema/tables.sql `douyin_aweme_comment` (+ ALTERs for parent_comment_id, like_count, pictures).
    Layout(
        name="mediacrawler_douyin_comment", label="抖音评论（MediaCrawler）",
        columns={"comment_id": "post_id", "content": "text", "create_time": "created_at", "aweme_id": "root_id",
                 "parent_comment_id": "parent_id", "like_count": "like_count",
                 "sub_comment_count": "comment_count", "user_id": "author_id", "nickname": "author_id",
                 **_MC_COLLECTED},
        constants={"channel": "抖音", "site": "抖音", "post_type": "comment"},
        required=("comment_id", "aweme_id", "content", "create_time"),
        known=("id", "ip_location", "sec_uid", "short_user_id", "user_unique_id", "user_signature", "avatar",
               "pictures"),
        time_format="s", comments=True,
        source=_mc("store/douyin/__init__.py, schema/tables.sql douyin_aweme_comment"),
    ),
    # store/kuaishou/__init__.py update_kuaishou_video (title = desc = caption[:500], create_time =
    # photo.timestamp in epoch ms); schema/tables.sql `kuaishou_video` ('viewd_count' is their spelling).
    Layout(
        name="mediacrawler_kuaishou_video", label="快手视频（MediaCrawler）",
        columns={"video_id": "post_id", "desc": "text", "title": "title", "create_time": "created_at",
                 "liked_count": "like_count", "viewd_count": "read_count", "video_url": "url",
                 "user_id": "author_id", "nickname": "author_id", **_MC_COLLECTED},
        constants={"channel": "快手", "site": "快手", "post_type": "original"},
        required=("video_id", "desc", "create_time"),
        known=("id", "video_type", "avatar", "video_cover_url", "video_play_url", "source_keyword"),
        time_format="ms", title_in_text=True,
        source=_mc("store/kuaishou/__init__.py, schema/tables.sql kuaishou_video"),
    ),
    # store/kuaishou/__init__.py update_ks_video_comment (create_time = timestamp, epoch ms; no parent id);
    # schema/tables.sql `kuaishou_video_comment`. Same columns as an old bilibili comment table: a file
    # without bilibili's extra columns is read as kuaishou (pass a file-name hint to decide).
    Layout(
        name="mediacrawler_kuaishou_comment", label="快手评论（MediaCrawler）",
        columns={"comment_id": "post_id", "content": "text", "create_time": "created_at", "video_id": "root_id",
                 "sub_comment_count": "comment_count", "user_id": "author_id", "nickname": "author_id",
                 **_MC_COLLECTED},
        constants={"channel": "快手", "site": "快手", "post_type": "comment"},
        required=("comment_id", "video_id", "content", "create_time"),
        known=("id", "avatar"),
        time_format="ms", comments=True,
        source=_mc("store/kuaishou/__init__.py, schema/tables.sql kuaishou_video_comment"),
    ),
    # store/bilibili/__init__.py update_bilibili_video (create_time = pubdate, epoch s);
    # schema/tables.sql `bilibili_video`.
    Layout(
        name="mediacrawler_bilibili_video", label="B站视频（MediaCrawler）",
        columns={"video_id": "post_id", "desc": "text", "title": "title", "create_time": "created_at",
                 "liked_count": "like_count", "video_comment": "comment_count",
                 "video_share_count": "repost_count", "video_play_count": "read_count", "video_url": "url",
                 "user_id": "author_id", "nickname": "author_id", **_MC_COLLECTED},
        constants={"channel": "论坛", "site": "哔哩哔哩", "post_type": "original"},
        required=("video_id", "title", "create_time"),
        known=("id", "video_type", "avatar", "disliked_count", "video_favorite_count", "video_coin_count",
               "video_danmaku", "video_cover_url", "source_keyword"),
        time_format="s", source=_mc("store/bilibili/__init__.py, schema/tables.sql bilibili_video"),
    ),
    # store/bilibili/__init__.py update_bilibili_video_comment (parent_comment_id = parent, '0' at top
    # level; create_time = ctime, epoch s); schema/tables.sql `bilibili_video_comment`.
    Layout(
        name="mediacrawler_bilibili_comment", label="B站评论（MediaCrawler）",
        columns={"comment_id": "post_id", "content": "text", "create_time": "created_at", "video_id": "root_id",
                 "parent_comment_id": "parent_id", "like_count": "like_count",
                 "sub_comment_count": "comment_count", "user_id": "author_id", "nickname": "author_id",
                 **_MC_COLLECTED},
        constants={"channel": "论坛", "site": "哔哩哔哩", "post_type": "comment"},
        required=("comment_id", "video_id", "content", "create_time"),
        known=("id", "sex", "sign", "avatar"),
        time_format="s", comments=True,
        source=_mc("store/bilibili/__init__.py, schema/tables.sql bilibili_video_comment"),
    ),
    # store/xhs/__init__.py update_xhs_note (title falls back to desc[:255]; `time` is epoch ms);
    # schema/tables.sql `xhs_note`. Counts come as the site shows them, e.g. '1.2万', '10万+'.
    Layout(
        name="mediacrawler_xhs_note", label="小红书笔记（MediaCrawler）",
        columns={"note_id": "post_id", "desc": "text", "title": "title", "time": "created_at",
                 "liked_count": "like_count", "comment_count": "comment_count", "share_count": "repost_count",
                 "note_url": "url", "user_id": "author_id", "nickname": "author_id", **_MC_COLLECTED},
        constants={"channel": "论坛", "site": "小红书", "post_type": "original"},
        required=("note_id", "desc", "time"),
        known=("id", "type", "video_url", "last_update_time", "avatar", "collected_count", "ip_location",
               "image_list", "tag_list", "source_keyword", "xsec_token"),
        time_format="ms", title_in_text=True,
        source=_mc("store/xhs/__init__.py, schema/tables.sql xhs_note"),
    ),
    # store/xhs/__init__.py update_xhs_note_comment (parent_comment_id = target_comment.id, 0 at top
    # level; create_time epoch ms); schema/tables.sql `xhs_note_comment` (+ ALTERs).
    Layout(
        name="mediacrawler_xhs_comment", label="小红书评论（MediaCrawler）",
        columns={"comment_id": "post_id", "content": "text", "create_time": "created_at", "note_id": "root_id",
                 "parent_comment_id": "parent_id", "like_count": "like_count",
                 "sub_comment_count": "comment_count", "user_id": "author_id", "nickname": "author_id",
                 **_MC_COLLECTED},
        constants={"channel": "论坛", "site": "小红书", "post_type": "comment"},
        required=("comment_id", "note_id", "content", "create_time"),
        known=("id", "ip_location", "avatar", "pictures"),
        time_format="ms", comments=True,
        source=_mc("store/xhs/__init__.py, schema/tables.sql xhs_note_comment"),
    ),
    # model/m_baidu_tieba.py TiebaNote (dumped by store/tieba/__init__.py); schema/tables.sql `tieba_note`.
    # publish_time is text 'YYYY-MM-DD HH:MM' (media_platform/tieba/help.py extract_ip_and_pub_time).
    Layout(
        name="mediacrawler_tieba_note", label="贴吧帖子（MediaCrawler）",
        columns={"note_id": "post_id", "desc": "text", "title": "title", "publish_time": "created_at",
                 "note_url": "url", "user_nickname": "author_id", "total_replay_num": "comment_count",
                 **_MC_COLLECTED},
        constants={"channel": "贴吧", "site": "百度贴吧", "post_type": "original"},
        required=("note_id", "title", "publish_time"),
        known=("id", "user_link", "user_avatar", "tieba_id", "tieba_name", "tieba_link", "total_replay_page",
               "ip_location", "source_keyword"),
        time_format="text", source=_mc("model/m_baidu_tieba.py TiebaNote, schema/tables.sql tieba_note"),
    ),
    # model/m_baidu_tieba.py TiebaComment (parent_comment_id '' at top level); schema/tables.sql
    # `tieba_comment`.
    Layout(
        name="mediacrawler_tieba_comment", label="贴吧评论（MediaCrawler）",
        columns={"comment_id": "post_id", "content": "text", "publish_time": "created_at", "note_id": "root_id",
                 "parent_comment_id": "parent_id", "sub_comment_count": "comment_count",
                 "user_nickname": "author_id", **_MC_COLLECTED},
        constants={"channel": "贴吧", "site": "百度贴吧", "post_type": "comment"},
        required=("comment_id", "note_id", "content", "publish_time"),
        known=("id", "user_link", "user_avatar", "ip_location", "note_url", "tieba_id", "tieba_name",
               "tieba_link"),
        time_format="text", comments=True,
        source=_mc("model/m_baidu_tieba.py TiebaComment, schema/tables.sql tieba_comment"),
    ),
    # model/m_zhihu.py ZhihuContent, filled by media_platform/zhihu/help.py (created_time = the API's
    # created_time, epoch s; content_text empty for videos, then desc); schema/tables.sql `zhihu_content`.
    Layout(
        name="mediacrawler_zhihu_content", label="知乎回答/文章（MediaCrawler）",
        columns={"content_id": "post_id", "content_text": "text", "desc": "text", "title": "title",
                 "created_time": "created_at", "content_url": "url", "voteup_count": "like_count",
                 "comment_count": "comment_count", "user_id": "author_id", "user_nickname": "author_id",
                 **_MC_COLLECTED},
        constants={"channel": "论坛", "site": "知乎", "post_type": "original"},
        required=("content_id", "content_text", "created_time"),
        known=("id", "content_type", "question_id", "updated_time", "source_keyword", "user_link", "user_avatar",
               "user_url_token"),
        time_format="s", source=_mc("model/m_zhihu.py ZhihuContent, schema/tables.sql zhihu_content"),
    ),
    # model/m_zhihu.py ZhihuComment (parent_comment_id = reply_comment_id; publish_time epoch s);
    # schema/tables.sql `zhihu_comment`.
    Layout(
        name="mediacrawler_zhihu_comment", label="知乎评论（MediaCrawler）",
        columns={"comment_id": "post_id", "content": "text", "publish_time": "created_at", "content_id": "root_id",
                 "parent_comment_id": "parent_id", "like_count": "like_count",
                 "sub_comment_count": "comment_count", "user_id": "author_id", "user_nickname": "author_id",
                 **_MC_COLLECTED},
        constants={"channel": "论坛", "site": "知乎", "post_type": "comment"},
        required=("comment_id", "content_id", "content", "publish_time"),
        known=("id", "ip_location", "dislike_count", "content_type", "user_link", "user_avatar"),
        time_format="s", comments=True,
        source=_mc("model/m_zhihu.py ZhihuComment, schema/tables.sql zhihu_comment"),
    ),
    # Generic 舆情 monitoring system export (Excel/CSV); synonyms in precedence order.
    Layout(
        name="yuqing_export", label="舆情系统导出（Excel/CSV）",
        columns={
            "信息ID": "post_id", "文章ID": "post_id", "编号": "post_id", "ID": "post_id",
            "标题": "title", "文章标题": "title",
            "内容": "text", "正文": "text", "原文": "text", "全文": "text", "正文内容": "text", "文章内容": "text",
            "摘要": "text",
            "来源": "site", "媒体": "site", "站点": "site", "媒体名称": "site", "来源网站": "site", "网站": "site",
            "站点名称": "site", "网站名称": "site", "发布媒体": "site",
            "发布时间": "created_at", "发文时间": "created_at", "时间": "created_at", "发布日期": "created_at",
            "日期": "created_at",
            "采集时间": "collected_at", "抓取时间": "collected_at", "入库时间": "collected_at",
            "链接": "url", "网址": "url", "URL": "url", "原文链接": "url", "文章链接": "url",
            "作者": "author_id", "发布者": "author_id", "博主": "author_id", "账号": "author_id",
            "作者昵称": "author_id",
            "转发": "repost_count", "转发数": "repost_count", "转发量": "repost_count",
            "评论": "comment_count", "评论数": "comment_count", "评论量": "comment_count", "回复数": "comment_count",
            "点赞": "like_count", "点赞数": "like_count", "点赞量": "like_count",
            "阅读": "read_count", "阅读数": "read_count", "阅读量": "read_count", "浏览量": "read_count",
            "浏览数": "read_count", "播放量": "read_count",
            "地域": "region", "地区": "region", "所属地区": "region", "区县": "region",
            "频道": "channel", "渠道": "channel", "媒体类型": "channel", "来源类型": "channel", "平台": "channel",
            "信息类型": "channel",
        },
        required=("内容", "发布时间"),
        # The vendor's sentiment label is not taken: every post is scored by our own model at ingest.
        known=("情感倾向", "情感", "倾向性", "情感属性", "关键词", "命中关键词", "专题", "所属专题", "相似文章数",
               "序号"),
        account_columns=_ACCOUNT_LIST_COLUMNS,
        time_format="text", channel_from_site=True,
        source="common 舆情 monitoring exports (column names vary by vendor; synonyms accepted)",
    ),
    # 12345 hotline tickets. Caller name and phone are personal data: recognised, never imported.
    Layout(
        name="hotline_12345", label="12345热线工单",
        columns={
            "工单号": "post_id", "工单编号": "post_id", "受理编号": "post_id",
            "来电时间": "created_at", "受理时间": "created_at", "登记时间": "created_at", "创建时间": "created_at",
            "诉求内容": "text", "来电内容": "text", "反映内容": "text", "问题描述": "text", "工单内容": "text",
            "标题": "title", "诉求标题": "title", "工单标题": "title",
            "所属区域": "region", "区县": "region", "所属区县": "region", "区域": "region", "所属地区": "region",
        },
        constants={"channel": "12345热线", "site": "12345热线", "post_type": "original"},
        required=("工单号", "诉求内容", "来电时间"),
        known=("承办单位", "办理单位", "责任单位", "诉求类型", "诉求分类", "工单类型", "办理状态", "办结时间",
               "回复内容", "满意度", "来电人", "联系人", "来电号码", "联系电话", "序号"),
        time_format="text", source="12345 government service hotline ticket exports",
    ),
    # -- account tables: verification and followers of the accounts that publish the posts ---------------------
    Layout(
        name="canonical_accounts", label="账号信息（本系统字段）",
        columns={"author_id": "author_id", "channel": "channel"},
        account_columns={"verified": "verified", "followers": "followers", "follows": "follows"},
        required=("author_id", "followers"), accounts=True, source="docs: the accounts import",
    ),
    _creator("weibo", "微博", "微博", "weibo_creator"),
    _creator("xhs", "小红书", "小红书", "xhs_creator"),
    _creator("dy", "抖音", "抖音", "dy_creator"),
    Layout(
        name="mediacrawler_bilibili_creator", label="B站UP主信息（MediaCrawler）",
        columns={"user_id": "author_id"},
        account_columns={"total_fans": "followers", "is_official": "verified"},
        constants={"channel": "B站"}, required=("user_id", "total_fans"),
        known=("id", "nickname", "avatar", "total_liked", "user_rank", "add_ts", "last_modify_ts"), accounts=True,
        source=_mc("store/bilibili/__init__.py, schema/tables.sql bilibili_up_info"),
    ),
    Layout(
        name="account_list", label="账号名录（舆情系统导出）",
        columns={"账号": "author_id", "作者": "author_id", "账号名称": "author_id", "博主": "author_id",
                 "发布者": "author_id", "账号ID": "author_id", "平台": "channel", "渠道": "channel"},
        account_columns=_ACCOUNT_LIST_COLUMNS, required=("账号", "粉丝数"), known=("序号",), accounts=True,
        source="common 舆情 system account lists (粉丝数, 认证类型)",
    ),
)
LAYOUTS_BY_NAME: dict[str, Layout] = {layout.name: layout for layout in LAYOUTS}


def required_description(layout: Layout) -> list[str]:
    """Required columns as shown to analysts: '内容（或 正文/原文/…）'."""
    out = []
    for name in layout.required:
        others = layout.alternatives(name)[1:]
        out.append(f"{name}（或 {'/'.join(others)}）" if others else name)
    return out


def _satisfied(layout: Layout, present: set[str]) -> list[str]:
    """The required names with no column present (empty when the layout applies)."""
    return [r for r in layout.required
            if not any(normalize_column_name(alt) in present for alt in layout.alternatives(r))]


def detect_layout(columns: Sequence[str], hint: str | None = None) -> Layout:
    """The layout whose required columns are all present and which recognises most columns.

    Ties (e.g. kuaishou vs old bilibili comment tables, which share every column) go to the layout whose
    platform appears in `hint` (a file name such as 'bilibili_search_comments.csv'), then to the one whose
    own columns are most completely present, then to the first listed.
    """
    present = {normalize_column_name(c) for c in columns}
    hint_norm = normalize_column_name(hint or "")
    best, best_key = None, None
    for order, layout in enumerate(LAYOUTS):
        if _satisfied(layout, present):
            continue
        vocab = layout.vocabulary()
        matched = len(present & vocab)
        platform = layout.name.split("_")[1] if layout.name.startswith("mediacrawler_") else layout.name
        key = (matched, bool(hint_norm) and platform in hint_norm, matched / len(vocab), -order)
        if best_key is None or key > best_key:
            best, best_key = layout, key
    if best is not None:
        return best
    closest = max(LAYOUTS, key=lambda lay: (len(present & lay.vocabulary()) - len(_satisfied(lay, present))))
    has_overlap = bool(present & closest.vocabulary())
    raise UnknownLayoutError(
        [str(c).replace("\ufeff", "").strip() for c in columns],
        {layout.label: required_description(layout) for layout in LAYOUTS},
        closest=closest.name if has_overlap else None,
        missing=_satisfied(closest, present) if has_overlap else (),
    )


def _filled(values: pd.Series) -> pd.Series:
    """True where a cell holds something (not missing, not blank)."""
    return values.notna() & values.astype(str).str.strip().ne("")


def to_canonical(df: pd.DataFrame, layout: Layout, channel: str | None = None) -> pd.DataFrame:
    """Rename mapped columns to canonical names, add constants, drop the rest (listed in attrs).

    Values stay raw; blank cells become None. The index is kept so rows line up with the source.
    """
    by_norm: dict[str, str] = {}
    for column in df.columns:
        by_norm.setdefault(normalize_column_name(column), column)
    out = pd.DataFrame(index=df.index)
    used: set = set()
    for source, target in layout.columns.items():  # dict order = precedence among fallbacks
        column = by_norm.get(normalize_column_name(source))
        if column is None:
            continue
        used.add(column)
        values = df[column].astype(object)
        values = values.where(_filled(values), None)
        out[target] = values if target not in out else out[target].where(out[target].notna(), values)

    for target, value in layout.constants.items():
        if target not in out:
            out[target] = value
        else:
            out[target] = out[target].where(out[target].notna(), value)

    if layout.channel_from_site and ("site" in out or "url" in out):
        sites = out["site"] if "site" in out else pd.Series(None, index=out.index, dtype=object)
        urls = out["url"] if "url" in out else pd.Series(None, index=out.index, dtype=object)
        named = pd.Series([config.channel_of_site(s, u) for s, u in zip(sites, urls, strict=True)], index=out.index,
                          dtype=object)
        # A site nobody listed is kept as the site, under 其他: never quarantined for that alone.
        from_site = named.where(named.notna() | (sites.isna() & urls.isna()), config.OTHER_CHANNEL)
        out["channel"] = out["channel"].where(out["channel"].notna(), from_site) if "channel" in out else from_site
    if channel:
        out["channel"] = channel

    if layout.comments and "root_id" in out:
        parent = out["parent_id"] if "parent_id" in out else pd.Series(None, index=out.index, dtype=object)
        own = out["post_id"].astype(str) if "post_id" in out else pd.Series("", index=out.index)
        parent_text = parent.astype(str).str.strip()
        real_parent = parent.notna() & ~parent_text.str.lower().isin(_NO_PARENT) & parent_text.ne(own)
        out["parent_id"] = parent.where(real_parent, out["root_id"])

    if layout.title_in_text and "title" in out and "text" in out:
        title = out["title"].astype(str).str.strip()
        text = out["text"].astype(str).str.strip()
        starts = pd.Series([t.startswith(h) for t, h in zip(text, title, strict=True)], index=out.index)
        repeated = out["title"].notna() & out["text"].notna() & starts
        out["title"] = out["title"].where(~repeated, None)

    if layout.accounts:
        out = out.join(account_fields(df, layout))
    columns = ACCOUNT_INPUT_COLUMNS if layout.accounts else CANONICAL_INPUT_COLUMNS
    out = out[[c for c in columns if c in out]].astype(object)
    out = out.where(out.notna(), None)  # one missing marker, whatever dtype pandas inferred on the way
    out.attrs["layout"] = layout.name
    account_sources = {normalize_column_name(c) for c in layout.account_columns}
    out.attrs["unmapped_columns"] = [c for c in df.columns if c not in used
                                     and normalize_column_name(c) not in account_sources]
    return out


def account_fields(df: pd.DataFrame, layout: Layout) -> pd.DataFrame:
    """The layout's account columns of a raw frame (verified, followers, follows: raw values, blanks None);
    no columns when the file has none."""
    by_norm = {normalize_column_name(c): c for c in reversed(list(df.columns))}
    out = pd.DataFrame(index=df.index)
    for source, target in layout.account_columns.items():
        column = by_norm.get(normalize_column_name(source))
        if column is None:
            continue
        values = df[column].astype(object)
        values = values.where(_filled(values), None)
        out[target] = values if target not in out else out[target].where(out[target].notna(), values)
    return out
