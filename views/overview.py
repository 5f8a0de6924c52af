"""总览: what leadership reads first — is anything burning, what grade, any deadline overdue, this vs last period."""

import pandas as pd
import streamlit as st

import ui
from analysis import alerts, charts, incidents, metrics, sentiment
from analysis.config import TIMEZONE

f = ui.current_filters()
st.title("舆情总览")
if ui.cached(metrics.post_count) == 0:
    st.info("暂无数据。运行 `make demo` 生成演示数据，或在“数据导入”页上传采集结果。")
    st.stop()

st.caption(f"统计区间 {f.start:%Y-%m-%d} 至 {f.end:%Y-%m-%d}（共 {f.days} 天），与之前同样长度的区间比较。")
head = ui.cached(metrics.headline, f)
now = head.current
cols = st.columns(5)
cols[0].metric("发帖量", ui.fmt_count(now["posts"]), ui.fmt_change(head.change("posts")),
               help="全部帖子，含转发与评论；原创见右侧。")
cols[1].metric("原创", ui.fmt_count(now["originals"]), ui.fmt_change(head.change("originals")))
cols[2].metric("负面占比", ui.fmt_pct(now["negative_ratio"]),
               ui.fmt_change(head.change("negative_ratio"), points=True), delta_color="inverse",
               help=f"负面 {ui.fmt_count(now['negative'])} 条；95%区间 "
                    f"{ui.fmt_pct(now['negative_ratio_low'])}–{ui.fmt_pct(now['negative_ratio_high'])}。"
                    + sentiment.ACCURACY_HELP_ZH)
cols[3].metric("热度指数", f"{now['heat']:.0f}", ui.fmt_change(head.change("heat")), help=metrics.HEAT_FORMULA_ZH)
cols[4].metric("覆盖站点", ui.fmt_count(now["sites"]), ui.fmt_change(head.change("sites")))

moment = pd.Timestamp.now(tz=TIMEZONE).floor("min")
board_col, alert_col = st.columns([3, 2])
with board_col:
    board = ui.cached(incidents.open_board, moment)
    st.markdown(f"**处置中的事件（{len(board)}）**")
    if board.empty:
        st.caption("当前没有处置中的事件。")
    else:
        # Fixed widths: every column fits three fifths of the page at 1280 px (long titles end in "…").
        st.dataframe(board.style.apply(ui.overdue_red, axis=1), hide_index=True, placeholder="",
                     height=min(240, 36 * len(board) + 40), column_order=["grade", "title", "next_deadline",
                                                                         "time_left", "posts"],
                     column_config={"grade": st.column_config.TextColumn("定级", width=56),
                                    "title": st.column_config.TextColumn("事件", width=180),
                                    "next_deadline": st.column_config.TextColumn("最近时限", width=100),
                                    "time_left": st.column_config.TextColumn("剩余/逾期", width=80),
                                    "posts": st.column_config.NumberColumn("帖子", width=50, format="%d")})
with alert_col:
    fresh_alerts = ui.cached(alerts.list_alerts, state="new", limit=5)
    waiting = ui.cached(alerts.count_alerts, "new")
    st.markdown(f"**未处理预警（{waiting}）**")
    for alert in fresh_alerts.itertuples():
        st.text(f"{alert.fired_at:%m-%d %H:%M}  【{alert.rule_name}】{alert.message}")
    if waiting > len(fresh_alerts):
        st.caption(f"以上为最新 {len(fresh_alerts)} 条，其余 {waiting - len(fresh_alerts)} 条见“预警”页。")
    if fresh_alerts.empty:
        st.caption("没有未处理的预警。")

st.plotly_chart(charts.volume_and_negativity(ui.cached(metrics.trend, f)), key="overview_trend")

kpi = ui.cached(incidents.kpis, f.start_ts, f.end_ts, moment)
cols = st.columns(5)
cols[0].metric("事件数", kpi["incidents"], help="、".join(f"{g}{n}起" for g, n in kpi["by_grade"].items()))
cols[1].metric("化解率", ui.fmt_pct(kpi["resolution_rate"]), help="区间内首次发现的事件中已办结/化解的比例（目标≥90%）")
cols[2].metric("回应率", ui.fmt_pct(kpi["reply_rate"]), help="已公开回应的事件比例（目标100%）")
cols[3].metric("平均回应时长", "—" if kpi["mean_response_hours"] is None else f"{kpi['mean_response_hours']:.1f} 小时",
               help="从监测发现到首次公开回应（目标≤24小时）；P90 "
                    + ("—" if kpi["p90_response_hours"] is None else f"{kpi['p90_response_hours']:.1f} 小时"))
cols[4].metric("逾期未办", kpi["overdue"], help="已超过最迟时限仍未完成的处置环节数")

left, right = st.columns([3, 2])
rhythm = metrics.heatmap_matrix(ui.cached(metrics.heatmap_cells, f, "hour_weekday"), "posts", "hour_weekday")
# Weekdays down, hours across: 7 × 24 cells fill a wide, low panel instead of a tall, narrow strip.
left.plotly_chart(charts.heatmap_figure(rhythm.T, "posts", "发帖时段分布（星期×时段）", "星期", "时段", height=320),
                  key="overview_heatmap")
right.plotly_chart(charts.breakdown_bars(ui.cached(metrics.breakdown, f, "channel"), "channel", "各渠道发帖量"),
                   key="overview_channels")
