"""事件时间线: every incident from first sight to closure, and one incident's clocks, grade and handling."""

import pandas as pd
import streamlit as st

import ui
import ui_incidents
import ui_opinions
from analysis import (
    charts,
    chronology,
    explain,
    grading,
    incident_edits,
    incidents,
    media,
    opinions,
    settings,
    wordcloud,
)
from analysis.config import TIMEZONE

st.title("事件时间线")
listed = ui.cached(incidents.list_incidents)
if listed.empty:
    st.info("尚无事件。可在“预警”页对预警“立案”，或在“话题分析”“热力图”的帖子表中勾选帖子后“新建事件”；"
            "服务每次巡检也会为达到级别的预警生成待确认事件。")
    st.stop()
now = pd.Timestamp.now(tz=TIMEZONE)
colours = {grade: grading.grade_colour(grade) for grade in listed["grade"].dropna().unique()}
st.plotly_chart(charts.incident_gantt(listed, now, colours), key="incident_gantt")

proposals = listed[listed["status"] == "待确认"]
if len(proposals):
    st.warning(f"有 {len(proposals)} 起待确认事件（由预警自动生成），请核实后确认立案或排除误报："
               + "、".join(ui.plain(t) for t in proposals["title"].head(5)))
ids = listed["incident_id"].tolist()
chosen = ui.page_param("incident", ids, ids[0])
incident_id = st.selectbox("选择事件", ids, index=ids.index(chosen),
                           format_func=lambda i: f"{i} · {listed.set_index('incident_id').loc[i, 'status']} · "
                                                 f"{listed.set_index('incident_id').loc[i, 'title']}")
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
if row["status"] in ("误报", "已合并"):
    st.info(f"该事件{'已作为误报排除' if row['status'] == '误报' else '已并入 ' + str(row['merged_into'])}"
            + (f"：{row['state_reason']}" if row["state_reason"] else "") + "。处置记录与帖子保留备查。")

events = ui.cached(incidents.events, incident_id)
posts = ui.cached(incidents.incident_posts, incident_id)

st.markdown("**处置时限**")
office = ui.cached(settings.policy)
clocks = incidents.incident_clocks(row, events, now, office.deadlines)
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
        new_grade = st.selectbox("定级", grading.grades_of(row["tier_set"]))
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

st.markdown("**事件脉络**（由关联帖子自动梳理）")
directory = ui.cached(settings.media_directory)
milestones = chronology.chronology(posts, office.mainstream_sites, directory)
st.dataframe(milestones, hide_index=True, placeholder="", key="incident_chronology",
             column_config={"milestone": "节点", "at": st.column_config.DatetimeColumn("时间", format="MM-DD HH:mm"),
                            "channel": "渠道", "site": "站点", "post_id": "帖子ID",
                            "url": st.column_config.LinkColumn("链接", display_text="打开"), "excerpt": "内容摘要",
                            "detail": "说明"})
why = ui.cached(explain.explain_incident, incident_id)
if why is not None and why.posts and why.baseline_posts:
    ui_incidents.show_explanation(why.as_dict())
ui_opinions.opinion_section(ui.cached(opinions.for_incident, incident_id), "incident")
ui_opinions.word_cloud_section(ui.cached(wordcloud.incident_terms, incident_id,
                                         tuple(ui.cached(settings.keyword_stop_words))), "incident")
ui_opinions.media_section(ui.cached(media.tiered, posts, directory), "incident")


def _decision(container, key: str, heading: str, note, actions, clear: bool = False) -> None:
    """A form of one note and a button per (label, type, action); the pressed button's action takes the note,
    then the page redraws, or shows why it was refused."""
    with container.form(key, clear_on_submit=clear):
        st.markdown(heading)
        text = note()
        pressed = [column.form_submit_button(label, type=kind)
                   for column, (label, kind, _) in zip(st.columns(len(actions)), actions, strict=True)]
    for hit, (_, _, act) in zip(pressed, actions, strict=True):
        if hit:
            try:
                act(text)
            except ValueError as exc:
                st.error(str(exc))
            else:
                st.rerun()


work = ui.cached(incident_edits.work_fields, incident_id)
is_open = row["status"] in incidents.OPEN_STATUSES
if ui.allowed("incident_event") and is_open:
    def dismiss(note: str) -> None:
        incident_edits.dismiss(ui.store(), incident_id, note, ui.actor())

    if row["status"] == "待确认":
        _decision(st, "proposal", "**待确认事件**：核实后确认立案，或说明理由排除误报",
                  lambda: st.text_input("说明 / 排除理由", max_chars=200),
                  [("确认立案", "primary",
                    lambda note: incident_edits.confirm(ui.store(), incident_id, ui.actor(), note or None)),
                   ("排除误报", "secondary", dismiss)])
    end_col, merge_col = st.columns(2)
    _decision(end_col, "end_incident", "**办结或排除**",
              lambda: st.text_area("办结情况 / 排除理由（必填）", max_chars=500),
              [("办结", "secondary", lambda note: incident_edits.close(ui.store(), incident_id, note, ui.actor())),
               ("排除误报", "secondary", dismiss)], clear=True)
    others = listed[listed["status"].isin(incidents.OPEN_STATUSES) & (listed["incident_id"] != incident_id)]
    with merge_col.form("merge_incident"):
        st.markdown("**合并事件**（本事件并入所选事件，双方记录保留）")
        other_titles = dict(zip(others["incident_id"], others["title"], strict=True))
        target = st.selectbox("并入", list(other_titles), format_func=lambda i: f"{i} · {other_titles[i]}",
                              index=None if not other_titles else 0, placeholder="暂无其他未结事件")
        merge_reason = st.text_input("合并说明", max_chars=200)
        merging = st.form_submit_button("合并", disabled=not other_titles)
    if merging and target:
        try:
            incident_edits.merge(ui.store(), incident_id, target, ui.actor(), merge_reason)
        except ValueError as exc:
            st.error(str(exc))
        else:
            ui_incidents.go_to_incident(target)

with st.expander("工作信息（承办单位、领导批示、公开回应、基本情况）", expanded=is_open):
    with st.form("work_fields"):
        unit_col, reply_col = st.columns(2)
        unit = unit_col.text_input("承办单位", work["responsible_unit"] or "", max_chars=100)
        instruction = unit_col.text_area("领导批示", work["instruction"] or "", max_chars=1000)
        instruction_by = unit_col.text_input("批示领导", work["instruction_by"] or "", max_chars=50)
        instruction_at = unit_col.text_input(
            "批示时间（留空为保存时，格式 2026-11-20 14:30）",
            "" if work["instruction_at"] is None else f"{work['instruction_at']:%Y-%m-%d %H:%M}")
        response_url = reply_col.text_input("公开回应链接", work["response_url"] or "", max_chars=500)
        response_channel = reply_col.text_input("公开回应渠道（如 政府网站、官方微博）", work["response_channel"] or "",
                                                max_chars=50)
        facts = {name: reply_col.text_input(f"基本情况·{name}", work["facts"].get(name, ""), max_chars=300)
                 for name in incident_edits.FACT_FIELDS}
        saving = st.form_submit_button("保存工作信息", disabled=not ui.allowed("incident_event"))
    if saving:
        try:
            incident_edits.set_work_fields(
                ui.store(), incident_id, ui.actor(), responsible_unit=unit,
                instruction=instruction if instruction != (work["instruction"] or "") else None,
                instruction_by=instruction_by,
                instruction_at=pd.Timestamp(instruction_at) if instruction_at.strip() else None,
                response_url=response_url, response_channel=response_channel, facts=facts)
            st.rerun()
        except ValueError as exc:
            st.error(str(exc))

st.markdown("**关联帖子**")
linked = st.dataframe(posts.head(300), hide_index=True, placeholder="", column_config=ui.POST_COLUMNS,
                      key="incident_posts", on_select="rerun", selection_mode="multi-row")
chosen_rows = linked.selection.rows if linked and linked.selection else []
if chosen_rows and is_open and ui.allowed("incident_event"):
    if st.button(f"将所选 {len(chosen_rows)} 条帖子移出事件", key="remove_posts"):
        incident_edits.remove_posts(ui.store(), incident_id, posts.head(300).iloc[chosen_rows]["post_id"].tolist(),
                                    ui.actor(), "分析员判定与事件无关")
        st.rerun()
