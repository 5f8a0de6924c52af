"""总览: what leadership reads first — volume, negativity and where they come from, vs the previous period."""

import streamlit as st

import ui
from analysis import charts, metrics

f = ui.current_filters()
st.title("舆情总览")
if ui.cached(metrics.post_count) == 0:
    st.info("暂无数据。运行 `make demo` 生成演示数据，或用 `python -m analysis ingest 文件` 导入采集结果。")
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
                    f"{ui.fmt_pct(now['negative_ratio_low'])}–{ui.fmt_pct(now['negative_ratio_high'])}")
cols[3].metric("热度指数", f"{now['heat']:.0f}", ui.fmt_change(head.change("heat")), help=metrics.HEAT_FORMULA_ZH)
cols[4].metric("覆盖站点", ui.fmt_count(now["sites"]), ui.fmt_change(head.change("sites")))

st.plotly_chart(charts.volume_and_negativity(ui.cached(metrics.trend, f)), key="overview_trend")
left, right = st.columns(2)
left.plotly_chart(charts.breakdown_bars(ui.cached(metrics.breakdown, f, "channel"), "channel", "各渠道发帖量"),
                  key="overview_channels")
right.plotly_chart(charts.breakdown_bars(ui.cached(metrics.breakdown, f, "topic"), "topic", "各话题发帖量"),
                   key="overview_topics")
