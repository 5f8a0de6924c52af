"""Layout detection and mapping onto canonical columns, on realistic samples of every known export."""

from __future__ import annotations

import io
import random

import pandas as pd
import pytest
from layout_samples import BASE_TIME, EXPORT_COLUMNS, gbk_encodable, sample_frame

from analysis import config
from analysis.ingest.layouts import (
    ACCOUNT_INPUT_COLUMNS,
    CANONICAL_INPUT_COLUMNS,
    LAYOUTS,
    LAYOUTS_BY_NAME,
    UnknownLayoutError,
    detect_layout,
    normalize_column_name,
    required_description,
    to_canonical,
)

# Post layouts; the account tables (layout.accounts) are tested in test_accounts.py.
NAMES = [layout.name for layout in LAYOUTS if not layout.accounts]
MEDIACRAWLER = [name for name in NAMES if name.startswith("mediacrawler_")]


def test_every_layout_has_a_sample_and_a_consistent_definition():
    assert set(EXPORT_COLUMNS) == set(NAMES)
    assert len(MEDIACRAWLER) == 14  # 7 platforms × (content, comments)
    for layout in LAYOUTS:
        targets = set(layout.columns.values()) | set(layout.constants)
        assert targets <= set(ACCOUNT_INPUT_COLUMNS if layout.accounts else CANONICAL_INPUT_COLUMNS), layout.name
        assert set(layout.account_columns.values()) <= set(ACCOUNT_INPUT_COLUMNS), layout.name
        assert set(layout.required) <= set(layout.columns) | set(layout.account_columns), layout.name
        if layout.accounts:
            continue
        mapped = {normalize_column_name(c) for c in layout.columns}
        assert not mapped & {normalize_column_name(c) for c in layout.known}, layout.name
        assert layout.label and layout.source
        if layout.name in MEDIACRAWLER:
            assert "NanmiCoder/MediaCrawler" in layout.source
            assert layout.constants["post_type"] == ("comment" if layout.comments else "original")
            assert layout.time_format in ("s", "ms", "text")
        if "channel" in layout.constants:
            assert layout.constants["channel"] in config.CHANNELS


@pytest.mark.parametrize("name", NAMES)
def test_detected_from_its_own_columns_in_any_order_with_noise(name):
    columns = list(sample_frame(name, n=3).columns)
    assert detect_layout(columns).name == name
    shuffled = columns[:]
    random.Random(7).shuffle(shuffled)
    noisy = ["\ufeff" + shuffled[0]] + [f"  {c} " for c in shuffled[1:]] + ["备注", "extra_col"]
    assert detect_layout(noisy).name == name
    assert detect_layout([c.upper() for c in columns]).name == name


@pytest.mark.parametrize("name", NAMES)
def test_to_canonical_maps_every_sample_row(name):
    layout = LAYOUTS_BY_NAME[name]
    frame = sample_frame(name, n=20, seed=3)
    frame.index = range(100, 120)  # rows must stay aligned with the source lines
    out = to_canonical(frame, layout)
    assert list(out.index) == list(range(100, 120))
    assert set(out.columns) <= set(CANONICAL_INPUT_COLUMNS)
    for column in ("text", "created_at", "channel"):
        assert out[column].notna().all(), column
    if name in MEDIACRAWLER or name == "hotline_12345":
        assert out["post_id"].notna().all() and out["post_id"].is_unique
    assert set(out["channel"]) <= set(config.CHANNELS)
    text_source = next(s for s in layout.columns if layout.columns[s] == "text" and s in frame.columns)
    assert out["text"].tolist() == frame[text_source].tolist()
    mapped = {c for c in frame.columns if c in layout.columns}
    assert out.attrs["unmapped_columns"] == [c for c in frame.columns if c not in mapped]
    assert out.attrs["layout"] == name
    if layout.comments:
        assert (out["post_type"] == "comment").all()
        assert out["root_id"].notna().all() and out["parent_id"].notna().all()
        assert not out["parent_id"].isin(["0", ""]).any()
        assert (out["parent_id"] != out["post_id"]).all()


def test_channel_argument_overrides_the_layouts_channel():
    out = to_canonical(sample_frame("mediacrawler_weibo_note", n=5), LAYOUTS_BY_NAME["mediacrawler_weibo_note"],
                       channel="新闻")
    assert out["channel"].tolist() == ["新闻"] * 5
    assert out["site"].tolist() == ["新浪微博"] * 5


def test_weibo_prefers_create_date_time_and_falls_back_to_create_time():
    # Older MediaCrawler computed create_time as if Beijing wall time were UTC; create_date_time is right.
    frame = pd.DataFrame({
        "note_id": ["5012", "5013"], "content": ["兰州今天停水了", "供暖还没来"],
        "create_time": ["1795241700", "1795245300"],
        "create_date_time": ["2026-11-20 08:15:00+08:00", None],
        "liked_count": ["3", "1.2万"], "comments_count": ["0", "10万+"], "shared_count": ["1", "2"],
    })
    out = to_canonical(frame, detect_layout(frame.columns))
    assert out["created_at"].tolist() == ["2026-11-20 08:15:00+08:00", "1795245300"]
    assert out["like_count"].tolist() == ["3", "1.2万"]  # raw: ingest parses counts
    assert out["comment_count"].tolist() == ["0", "10万+"]
    assert out["repost_count"].tolist() == ["1", "2"]
    assert out.attrs["unmapped_columns"] == []


@pytest.mark.parametrize(("name", "note_column", "top_level"), [
    ("mediacrawler_weibo_comment", "note_id", "own"),  # Weibo rootid of a top-level comment = its own id
    ("mediacrawler_douyin_comment", "aweme_id", "0"),
    ("mediacrawler_bilibili_comment", "video_id", "0"),
    ("mediacrawler_xhs_comment", "note_id", "0"),
    ("mediacrawler_tieba_comment", "note_id", ""),
    ("mediacrawler_zhihu_comment", "content_id", None),
])
def test_comment_parent_is_the_parent_comment_else_the_post(name, note_column, top_level):
    ids = ["c1", "c2", "c3"]
    parents = [ids[0] if top_level == "own" else top_level, "c1", "c1"]
    frame = sample_frame(name, n=3).assign(comment_id=ids, parent_comment_id=parents)
    frame[note_column] = ["N9", "N9", "N9"]
    out = to_canonical(frame, detect_layout(frame.columns))
    assert out["parent_id"].tolist() == ["N9", "c1", "c1"]
    assert out["root_id"].tolist() == ["N9"] * 3
    assert out["post_type"].tolist() == ["comment"] * 3


def test_kuaishou_comments_have_no_parent_column_so_reply_to_the_video():
    frame = sample_frame("mediacrawler_kuaishou_comment", n=4)
    out = to_canonical(frame, LAYOUTS_BY_NAME["mediacrawler_kuaishou_comment"])
    assert out["parent_id"].tolist() == frame["video_id"].tolist() == out["root_id"].tolist()


def test_title_repeating_the_text_is_dropped_but_a_real_title_kept():
    douyin = sample_frame("mediacrawler_douyin_aweme", n=4)
    assert to_canonical(douyin, LAYOUTS_BY_NAME["mediacrawler_douyin_aweme"])["title"].isna().all()
    xhs = sample_frame("mediacrawler_xhs_note", n=2).assign(title=["", "冬季供暖实测"])
    xhs.loc[0, "title"] = xhs.loc[0, "desc"][:10]  # MediaCrawler's fallback: desc[:255]
    out = to_canonical(xhs, LAYOUTS_BY_NAME["mediacrawler_xhs_note"])
    assert out["title"].tolist() == [None, "冬季供暖实测"]
    zhihu = to_canonical(sample_frame("mediacrawler_zhihu_content", n=3), LAYOUTS_BY_NAME["mediacrawler_zhihu_content"])
    assert zhihu["title"].str.startswith("如何看待").all()


def test_zhihu_video_without_text_falls_back_to_description():
    frame = sample_frame("mediacrawler_zhihu_content", n=2)
    frame.loc[1, "content_text"] = ""
    frame.loc[1, "desc"] = "视频简介：黄河边的冬天"
    out = to_canonical(frame, LAYOUTS_BY_NAME["mediacrawler_zhihu_content"])
    assert out.loc[1, "text"] == "视频简介：黄河边的冬天"
    assert out.loc[0, "text"] == frame.loc[0, "content_text"]


def test_generic_export_accepts_synonyms():
    frame = sample_frame("yuqing_export", n=6).rename(columns={
        "内容": "正文", "来源": "媒体", "链接": "网址", "地域": "地区", "频道": "渠道", "转发数": "转发",
        "阅读数": "阅读量"})
    layout = detect_layout(frame.columns)
    assert layout.name == "yuqing_export"
    out = to_canonical(frame, layout)
    assert out["text"].tolist() == frame["正文"].tolist()
    assert out["site"].tolist() == frame["媒体"].tolist()
    assert out["url"].tolist() == frame["网址"].tolist()
    assert out["region"].tolist() == frame["地区"].tolist()
    assert out["channel"].tolist() == frame["渠道"].tolist()
    assert out["read_count"].tolist() == frame["阅读量"].tolist()
    assert out.attrs["unmapped_columns"] == ["序号", "情感倾向"]


def test_generic_export_without_channel_takes_it_from_the_site_or_its_address():
    sites = ["新浪微博", "人民网", "百度贴吧", "网易新闻", "微信", "快手", "本地论坛", "weibo.com", "某某资讯站",
             None, None]
    urls = [None] * 9 + ["https://mp.weixin.qq.com/s/x1", "https://www.douyin.com/video/7"]
    frame = pd.DataFrame({"标题": list("abcdefghijk"), "内容": ["停水"] * 11, "来源": sites, "链接": urls,
                          "发布时间": ["2026-11-20 08:15:00"] * 11})
    out = to_canonical(frame, detect_layout(frame.columns))
    assert out["channel"].tolist() == ["微博", "新闻", "贴吧", "新闻", "微信公众号", "快手", "论坛", "微博",
                                       config.OTHER_CHANNEL, "微信公众号", "抖音"]
    assert out["site"].tolist()[:9] == sites[:9]  # the site stays as the office wrote it
    given = to_canonical(frame.assign(渠道=["论坛"] * 11), detect_layout([*frame.columns, "渠道"]))
    assert set(given["channel"]) == {"论坛"}  # a channel column wins over the site


def test_hotline_tickets_get_the_hotline_channel_and_drop_personal_data():
    frame = sample_frame("hotline_12345", n=5).assign(来电人=["张三"] * 5, 来电号码=["13800000000"] * 5)
    layout = detect_layout(frame.columns)
    assert layout.name == "hotline_12345"
    out = to_canonical(frame, layout)
    assert out["channel"].tolist() == ["12345热线"] * 5
    assert out["region"].tolist() == frame["所属区域"].tolist()
    assert out["post_id"].tolist() == frame["工单号"].tolist()
    assert "张三" not in out.to_string() and "13800000000" not in out.to_string()
    assert {"来电人", "来电号码", "承办单位"} <= set(out.attrs["unmapped_columns"])
    alt = frame.rename(columns={"来电时间": "受理时间", "所属区域": "区县"})
    assert detect_layout(alt.columns).name == "hotline_12345"


def test_file_name_hint_breaks_a_tie_between_identical_tables():
    # kuaishou_video_comment and the pre-2024 bilibili_video_comment have exactly the same columns.
    old_bilibili = ["id", "user_id", "nickname", "avatar", "add_ts", "last_modify_ts", "comment_id", "video_id",
                    "content", "create_time", "sub_comment_count"]
    assert detect_layout(old_bilibili).name == "mediacrawler_kuaishou_comment"
    assert detect_layout(old_bilibili, hint="bilibili_search_comments_2026-11-20.csv").name == \
        "mediacrawler_bilibili_comment"


def test_unknown_columns_raise_with_both_messages():
    found = ["\ufeff日期时间", "微博内容", "作者ID"]
    with pytest.raises(UnknownLayoutError) as info:
        detect_layout(found)
    error = info.value
    message = str(error)
    assert "\n" not in message
    assert "日期时间" in message and "微博内容" in message and "作者ID" in message
    assert "\ufeff" not in message
    assert error.found == ["日期时间", "微博内容", "作者ID"]
    zh = error.message_zh
    assert "文件中的列：日期时间、微博内容、作者ID" in zh
    for layout in LAYOUTS:
        assert f"{layout.label}：{'、'.join(required_description(layout))}" in zh
    assert "内容（或 正文" in zh and "工单号" in zh and "aweme_id" in zh
    assert set(error.expected_by_layout) == {layout.label for layout in LAYOUTS}


def test_missing_required_column_names_the_closest_layout():
    columns = [c for c in EXPORT_COLUMNS["mediacrawler_weibo_note"] if c != "content"]
    with pytest.raises(UnknownLayoutError) as info:
        detect_layout(columns)
    assert info.value.closest == "mediacrawler_weibo_note"
    assert info.value.missing == ["content"]
    assert "content" in str(info.value)
    assert "最接近的格式是「微博帖子（MediaCrawler）」，缺少必需列：content" in info.value.message_zh
    with pytest.raises(UnknownLayoutError):
        detect_layout([])


# -- through the real reader and validator: file formats and native timestamp formats ---------------------
@pytest.fixture()
def ingest():
    """The lead's reader and validator (skipped, with the reason shown, while ingest cannot be imported)."""
    return pytest.importorskip("analysis.ingest", reason="analysis.ingest not importable yet",
                               exc_type=ImportError)


def _validated(ingest, data: bytes, file_name: str):
    raw = ingest.read_table(data, file_name)
    layout = detect_layout(list(raw.frame.columns))
    now = pd.Timestamp("2026-11-23 12:00", tz=config.TIMEZONE)
    return layout, raw, ingest.validate(raw, to_canonical(raw.frame, layout), now=now)


@pytest.mark.parametrize("name", NAMES)
def test_sample_csv_passes_ingest_validation_with_native_timestamps(ingest, name):
    frame = sample_frame(name, n=20, seed=5)
    data = frame.to_csv(index=False).encode("utf-8-sig")
    layout, raw, checked = _validated(ingest, data, f"{name}.csv")
    assert layout.name == name
    assert checked.quarantine.empty, checked.quarantine["reason_code"].tolist()
    assert len(checked.posts) == 20
    created = checked.posts["created_at"]
    # Every native format (epoch s, epoch ms, text with or without offset) lands in the sampled window.
    assert created.min() >= BASE_TIME.floor("min")
    assert created.max() < BASE_TIME + pd.Timedelta(days=3)
    if name == "mediacrawler_weibo_note":  # the text column and the epoch column agree
        assert (created == pd.to_datetime(frame["create_time"].astype(int), unit="s", utc=True)
                .dt.tz_convert(config.TIMEZONE)).all()
    if layout.time_format == "ms":
        assert (created.dt.tz_convert("UTC") == pd.to_datetime(frame[[c for c in frame.columns if layout.columns.get(c)
                == "created_at"][0]].astype(int), unit="ms", utc=True)).all()
    counts = checked.posts[["repost_count", "comment_count", "like_count", "read_count"]]
    assert (counts >= 0).all().all()


def test_xhs_counts_like_wan_are_parsed_by_ingest(ingest):
    frame = sample_frame("mediacrawler_xhs_note", n=20, seed=2)
    assert frame["liked_count"].str.contains("万").any()
    _, _, checked = _validated(ingest, frame.to_csv(index=False).encode(), "xhs.csv")
    expected = [ingest.parse_count(v) for v in frame["liked_count"]]
    assert checked.posts["like_count"].tolist() == expected
    assert max(expected) >= 10_000


def test_generic_export_as_xlsx_and_hotline_as_gbk_csv(ingest):
    frame = sample_frame("yuqing_export", n=12, seed=4)
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False)
    layout, _, checked = _validated(ingest, buffer.getvalue(), "导出.xlsx")
    assert layout.name == "yuqing_export"
    assert checked.quarantine.empty
    assert checked.posts["text"].tolist() == frame["内容"].tolist()
    assert set(checked.posts["channel"]) <= {"微博", "新闻", "论坛", "微信公众号"}

    tickets = sample_frame("hotline_12345", n=20, seed=4)
    encodable = tickets["诉求内容"].map(gbk_encodable) & tickets["标题"].map(gbk_encodable)
    tickets = tickets[encodable].reset_index(drop=True)
    layout, raw, checked = _validated(ingest, tickets.to_csv(index=False).encode("gbk"), "工单.csv")
    assert raw.encoding == "gb18030"
    assert layout.name == "hotline_12345"
    assert checked.quarantine.empty
    assert len(checked.posts) == len(tickets) >= 10
    assert checked.posts["channel"].unique().tolist() == ["12345热线"]
    assert checked.posts["text"].tolist() == tickets["诉求内容"].tolist()

