"""话题分析: one topic or keyword → trend, sentiment, sources, keywords, posts, and a post's repost tree."""

import dataclasses

import streamlit as st

import ui
import ui_incidents
import ui_opinions
from analysis import charts, explore, media, metrics, opinions, sentiment, settings, wordcloud

f = ui.current_filters()
st.title("话题分析")
options = ui.cached(metrics.dimension_values)["topic"]
pick_col, word_col = st.columns([1, 2])
chosen = ui.page_param("t", options, options[0] if options else "")
topic = pick_col.selectbox("话题", options, index=options.index(chosen) if chosen in options else 0)
keyword = word_col.text_input("关键词（可选，在该话题内检索标题与正文）", value=st.query_params.get("q", ""),
                              max_chars=50).strip()
ui.set_page_param("t", topic)
ui.set_page_param("q", keyword or None)
scoped = dataclasses.replace(f, topics=(topic,))

head = ui.cached(metrics.headline, scoped)
now = head.current
# Two rows of four: three counts in one metric did not fit a fifth of the page at 1280 px ("1,227 / …").
volume = st.columns(4)
volume[0].metric("发帖量", ui.fmt_count(now["posts"]), ui.fmt_change(head.change("posts")))
split_help = "转发与评论单独计数，不计入原创，避免转发虚增声量"
volume[1].metric("原创", ui.fmt_count(now["originals"]), help=split_help)
volume[2].metric("转发", ui.fmt_count(now["reposts"]), help=split_help)
volume[3].metric("评论 / 跟帖", ui.fmt_count(now["comments"]), help=split_help)
reach = st.columns(4)
reach[0].metric("负面占比", ui.fmt_pct(now["negative_ratio"]),
                ui.fmt_change(head.change("negative_ratio"), points=True), delta_color="inverse",
                help=sentiment.ACCURACY_HELP_ZH)
reach[1].metric("热度指数", f"{now['heat']:.0f}", help=metrics.HEAT_FORMULA_ZH)
reach[2].metric("覆盖站点", ui.fmt_count(now["sites"]))
reach[3].metric("作者", ui.fmt_count(now["authors"]))
spread = ui.cached(metrics.spread, scoped, ui.cached(settings.policy).mainstream_sites)
if not spread.empty and spread.iloc[0]["posts"]:
    row = spread.iloc[0]
    st.caption(f"传播：{row['channels']}类渠道、{row['sites']}个站点；主流媒体："
               f"{ui.plain('、'.join(row['mainstream_sites'])) or '无'}（{row['mainstream_posts']}条）；"
               f"最高每小时{row['peak_velocity']}条，最近一小时较前一小时{row['acceleration']:+d}条。")

st.plotly_chart(charts.volume_and_negativity(ui.cached(metrics.trend, scoped), f"“{topic}”发帖量与负面占比"),
                key="topic_trend")
left, middle, right = st.columns(3)
left.plotly_chart(charts.sentiment_pie(ui.cached(explore.sentiment_split, scoped)), key="topic_sentiment")
middle.plotly_chart(charts.breakdown_bars(ui.cached(metrics.breakdown, scoped, "channel").head(10), "channel",
                                          "主要渠道"), key="topic_channels")
right.plotly_chart(charts.breakdown_bars(ui.cached(metrics.breakdown, scoped, "site").head(10), "site", "主要站点"),
                   key="topic_sites")
stop_words = tuple(ui.cached(settings.keyword_stop_words))
ui_opinions.word_cloud_section(ui.cached(wordcloud.filter_terms, scoped, stop_words), "topic")
ui_opinions.opinion_section(ui.cached(opinions.for_filters, scoped, keyword or None), "topic")
ui_opinions.media_section(ui.cached(media.tiered_posts, scoped, ui.cached(settings.media_directory)), "topic")

st.subheader("帖子")
order = st.radio("排序", list(explore.ORDERS), horizontal=True,
                 format_func={"interaction": "互动量", "time": "时间", "negative": "最负面"}.get)
posts = ui.cached(explore.posts, scoped, keyword=keyword or None, order=order, limit=500)
event = st.dataframe(posts, hide_index=True, placeholder="", column_config=ui.POST_COLUMNS, on_select="rerun",
                     selection_mode="multi-row", key="topic_posts")
rows = event.selection.rows if event and event.selection else []
ui_incidents.selected_posts_actions(posts, rows, "topic")
if rows:
    ui.set_page_param("post", posts.iloc[rows[0]]["post_id"])
post_id = st.query_params.get("post")
if not post_id:
    st.caption("选中帖子，查看（第一条）所在的转发传播树。")
    st.stop()

tree = ui.cached(explore.cascade_tree, post_id)
if tree.empty:
    st.warning("未找到该帖子。")
    st.stop()
stats = explore.cascade_summary(tree)
st.subheader(f"传播树（原帖 {ui.plain(stats['cascade_id'])}）")
cols = st.columns(4)
cols[0].metric("规模", f"{stats['size']:,}")
cols[1].metric("深度", stats["depth"], help="原帖为第0层")
cols[2].metric("最大宽度", stats["max_breadth"], help="同一层最多的帖子数")
cols[3].metric("结构病毒性", f"{stats['structural_virality']:.2f}", help="任意两帖之间的平均距离（Goel 等，2016）")
if stats["size"] > 1:
    st.plotly_chart(charts.cascade_sunburst(tree), key="topic_cascade")
    key_nodes = ", ".join(f"{node['mid']}（{node['size']}）" for node in stats["key_nodes"])
    st.caption(f"关键节点（子树最大）：{ui.plain(key_nodes)}")
else:
    st.caption("该帖子没有转发或评论。")
