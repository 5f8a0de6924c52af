"""事件时间线: every incident from first sight to closure, and one incident's clocks, grade and handling."""

import pandas as pd
import streamlit as st

import ui
from analysis import charts, incidents
from analysis.config import TIMEZONE

st.title("事件时间线")
listed = ui.cached(incidents.list_incidents)
if listed.empty:
    st.info("尚无事件。可在“话题分析”中选取帖子后建立事件，或由突增预警生成。")
    st.stop()
now = pd.Timestamp.now(tz=TIMEZONE)
colours = {grade: incidents.grade_colour(grade) for grade in listed["grade"].dropna().unique()}
st.plotly_chart(charts.incident_gantt(listed, now, colours), key="incident_gantt")

ids = listed["incident_id"].tolist()
chosen = ui.page_param("incident", ids, ids[0])
incident_id = st.selectbox("选择事件", ids, index=ids.index(chosen),
                           format_func=lambda i: f"{i} · {listed.set_index('incident_id').loc[i, 'title']}")
ui.set_page_param("incident", incident_id)
row = listed.set_index("incident_id").loc[incident_id]

st.subheader(ui.plain(row["title"]))
cols = st.columns(4)
cols[0].metric("当前定级", row["grade"] or "未定级")
cols[1].metric("状态", row["status"])
cols[2].metric("关联帖子", f"{row['posts']:,}")
cols[3].metric("首次发现", f"{row['first_seen_at']:%m-%d %H:%M}")
st.markdown("**定级理由**")
for reason in row["reasons"]:
    st.text(f"· {reason}")

events = ui.cached(incidents.events, incident_id)
posts = ui.cached(incidents.incident_posts, incident_id)

st.markdown("**处置时限**")
clocks = incidents.incident_clocks(row, events, now)
st.dataframe(clocks[["label", "due_at", "hard_due_at", "done_at", "status", "time_left"]], hide_index=True,
             placeholder="", column_config={"label": "时限",
                            "due_at": st.column_config.DatetimeColumn("目标时间", format="MM-DD HH:mm"),
                            "hard_due_at": st.column_config.DatetimeColumn("最迟", format="MM-DD HH:mm"),
                            "done_at": st.column_config.DatetimeColumn("完成时间", format="MM-DD HH:mm"),
                            "status": "状态", "time_left": "剩余/逾期"})
overdue = clocks[clocks["status"] == "已逾期"]
if len(overdue):
    st.error("已逾期：" + "；".join(f"{r.label}（{r.time_left}）" for r in overdue.itertuples()))

st.plotly_chart(charts.hourly_volume(incidents.hourly_counts(posts), "事件声量与处置节点", events),
                key="incident_hours")
st.markdown("**处置记录**（只追加，不可修改）")
st.dataframe(events[["occurred_at", "step", "actor", "note"]], hide_index=True, placeholder="",
             column_config={"occurred_at": st.column_config.DatetimeColumn("时间", format="YYYY-MM-DD HH:mm"),
                            "step": "环节", "actor": "操作人", "note": "说明"})

if ui.allowed("incident_event"):
    left, right = st.columns(2)
    with left.form("add_event", clear_on_submit=True):
        st.markdown("**记录处置环节**")
        step = st.selectbox("环节", [*incidents.LIFECYCLE, incidents.REOPEN])
        when = st.text_input("发生时间（留空为现在，格式 2026-11-20 14:30）")
        note = st.text_area("说明", max_chars=500)
        if st.form_submit_button("记录"):
            try:
                at = pd.Timestamp(when).tz_localize(TIMEZONE) if when.strip() else None
                incidents.add_event(ui.store(), incident_id, step, ui.actor(), at=at, note=note or None)
                st.success(f"已记录“{step}”。")
                st.rerun()
            except (ValueError, TypeError) as exc:
                st.error(str(exc) if isinstance(exc, incidents.LifecycleError) else f"无法记录：{exc}")
    with right.form("override_grade", clear_on_submit=True):
        st.markdown("**人工调整定级**（保留系统定级记录）")
        new_grade = st.selectbox("定级", incidents.grades_of(row["tier_set"]))
        reason = st.text_area("理由（必填）", max_chars=500)
        if st.form_submit_button("调整定级"):
            try:
                incidents.override_grade(ui.store(), incident_id, new_grade, reason, ui.actor())
                st.success(f"已调整为{new_grade}。")
                st.rerun()
            except ValueError as exc:
                st.error(str(exc))
        if st.form_submit_button("按规则重新定级"):
            result = incidents.grade_incident(ui.store(), incident_id, actor=ui.actor())
            st.success(f"规则定级：{result.grade}")
            st.rerun()

st.markdown("**关联帖子**")
st.dataframe(posts.head(300), hide_index=True, placeholder="", column_config=ui.POST_COLUMNS, key="incident_posts")
