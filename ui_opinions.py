"""Streamlit glue for 网民主要观点 and 词云 (the logic is in analysis/opinions.py and analysis/wordcloud.py)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import ui
from analysis import charts, opinions, wordcloud


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
