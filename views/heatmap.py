"""热力图: where and when opinion concentrates; a clicked cell opens the posts behind it."""

import streamlit as st

import ui
import ui_incidents
from analysis import charts, explore, metrics

KINDS = {"topic_day": "话题 × 日期", "channel_day": "渠道 × 日期", "hour_weekday": "时段 × 星期",
         "region_topic": "地域 × 话题"}

f = ui.current_filters()
st.title("热力图")
kind_col, measure_col = st.columns(2)
kind = kind_col.radio("维度", list(KINDS), format_func=KINDS.get, horizontal=True,
                      index=list(KINDS).index(ui.page_param("kind", list(KINDS), "topic_day")))
measures = list(metrics.MEASURES)
measure = measure_col.radio("指标", measures, format_func=metrics.MEASURES.get, horizontal=True,
                            index=measures.index(ui.page_param("measure", measures, "posts")),
                            help=metrics.HEAT_FORMULA_ZH)
if kind != st.query_params.get("kind", kind):  # another matrix: the old cell means nothing there
    ui.set_page_param("row", None)
    ui.set_page_param("col", None)
ui.set_page_param("kind", kind)
ui.set_page_param("measure", measure)

cells = ui.cached(metrics.heatmap_cells, f, kind)
if cells.empty:
    st.info("所选范围内没有数据，请调整左侧筛选条件。")
    st.stop()
_, _, row_label, col_label = metrics.HEATMAPS[kind]
matrix = metrics.heatmap_matrix(cells, measure, kind)
event = st.plotly_chart(
    charts.heatmap_selectable(matrix, measure, f"{KINDS[kind]}：{metrics.MEASURES[measure]}", row_label, col_label),
    on_select="rerun", selection_mode="points", key="heatmap_chart")
points = event.selection.points if event and event.selection else []
if points:
    ui.set_page_param("row", str(points[0]["y"]))
    ui.set_page_param("col", str(points[0]["x"]))
row, col = st.query_params.get("row"), st.query_params.get("col")
if row is None or col is None:
    st.caption("点击任一格子，查看该格子对应的帖子。")
    st.stop()

st.subheader(f"{row_label} {ui.plain(row)} · {col_label} {ui.plain(col)} 的帖子")
try:
    behind = ui.cached(explore.posts, f, cell=(kind, row, col), limit=500)
except ValueError:
    st.warning("链接中的格子参数无效。")
    st.stop()
st.caption(f"共 {len(behind)} 条（按互动量排序，最多显示500条）")
picked = st.dataframe(behind, hide_index=True, placeholder="", column_config=ui.POST_COLUMNS, key="heatmap_posts",
                      on_select="rerun", selection_mode="multi-row")
ui_incidents.selected_posts_actions(behind, picked.selection.rows if picked and picked.selection else [], "heatmap")
