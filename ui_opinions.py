"""Streamlit glue for 网民主要观点, 词云 and 媒体报道情况 (the logic: analysis/opinions.py, wordcloud.py, media.py)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import ui
from analysis import charts, media, opinions, wordcloud


def opinion_section(found: opinions.Opinions, key: str) -> None:
    """Viewpoints with shares and sentiment, and their most representative posts."""
    st.subheader("网民主要观点")
    sample = (f"（发帖较多，按帖子ID固定抽样{found.sampled_from:,}条）" if found.sampled_from < found.total else "")
    if not found.viewpoints:
        st.caption(f"有原创内容的帖子不足{opinions.MIN_POSTS}条，无法归纳观点{sample}。")
        return
    st.caption(f"基于{found.clustered:,}条有原创内容的帖子{sample}：已排除纯转发{found.pure_reposts:,}条、"
               f"重复内容{found.duplicates:,}条；观点按用词聚类（TF-IDF + k-means），以最具区分度的词命名，"
               "占比合计100%。")
    frame = found.frame()
    st.plotly_chart(charts.opinion_bars(frame), key=f"{key}_opinion_bars")
    reps = ui.cached(opinions.representatives, found)
    st.dataframe(reps[["viewpoint", "rank", "post_id", "created_at", "channel", "text", "sentiment_label"]],
                 hide_index=True, placeholder="", key=f"{key}_opinion_posts",
                 column_config={"viewpoint": "观点", "rank": "代表性排序", "post_id": "帖子ID",
                                "created_at": st.column_config.DatetimeColumn("时间", format="MM-DD HH:mm"),
                                "channel": "渠道", "text": "内容", "sentiment_label": "情感"})


@st.cache_data(max_entries=64, show_spinner=False)
def _cloud(terms: pd.DataFrame):
    return wordcloud.figure(terms)


def word_cloud_section(terms: pd.DataFrame, key: str) -> None:
    """The word cloud (the same image as in the briefings) and the sortable term table behind it."""
    st.subheader("词云与高频词")
    if terms.empty:
        st.caption("没有可统计的关键词。")
        return
    fig = _cloud(terms)
    if fig is None:
        st.warning(wordcloud.NO_FONT_ZH)
    else:
        st.plotly_chart(fig, key=f"{key}_wordcloud", config={"staticPlot": True})
        st.caption(wordcloud.COLOURS_ZH)
    st.dataframe(terms, hide_index=True, placeholder="", key=f"{key}_terms",
                 column_config={"keyword": "关键词",
                                "posts": st.column_config.NumberColumn("含该词的帖子", format="%d"),
                                "negative_ratio": st.column_config.ProgressColumn(
                                    "负面占比", format="percent", min_value=0.0, max_value=1.0)})


_PUBLISHER_COLUMNS = {"tier": "层级", "publisher": "媒体/账号", "posts": "发布（条）", "interactions": "互动量",
                      "downstream": "带动转发/评论（条）", "bridges": "关键转发节点（条）", "cascades": "涉及传播树",
                      "publishers": "媒体/账号（个）", "verified": "认证",
                      "followers": st.column_config.NumberColumn("粉丝数", format="localized"),
                      "first_at": st.column_config.DatetimeColumn("首次发布", format="MM-DD HH:mm"),
                      "first_post_id": "首发帖子ID"}


LEADER_RANKINGS_ZH = {"reach": "按影响力（互动量）", "followers": "按粉丝数（导入的账号信息）",
                      "tree": "按传播树位置（带动转发/评论）"}


def media_section(posts: pd.DataFrame, key: str) -> None:
    """媒体报道情况 (tiers, 媒体活跃度) and 意见领袖 of tiered posts (media.with_tiers / media.tiered_posts)."""
    st.subheader("媒体报道与意见领袖")
    if posts.empty:
        st.caption("没有帖子。")
        return
    left, right = st.columns([1, 2])
    left.dataframe(media.tier_summary(posts), hide_index=True, placeholder="", key=f"{key}_tiers",
                   column_config=_PUBLISHER_COLUMNS)
    right.dataframe(media.media_activity(posts).head(30), hide_index=True, placeholder="", key=f"{key}_activity",
                    column_config=_PUBLISHER_COLUMNS)
    st.caption("媒体活跃度：非自媒体的站点与账号按层级、发布条数排列（评论/跟帖不计为报道）；层级来自“设置”中的"
               "“媒体与账号名录”。")
    by = st.radio("意见领袖排序", list(media.LEADER_RANKINGS), horizontal=True, key=f"{key}_leaders_by",
                  format_func=LEADER_RANKINGS_ZH.get)
    st.dataframe(media.opinion_leaders(posts, by), hide_index=True, placeholder="", key=f"{key}_leaders",
                 column_config=_PUBLISHER_COLUMNS)
    st.caption("认证与粉丝数来自导入的账号信息（MediaCrawler 博主信息表、账号名录，或导出文件中的粉丝数/认证列），"
               "未导入的显示为空；站点自身的报道不取署名作者的账号信息。")
