"""Streamlit glue for opening incidents from the pages' post tables and alerts (the logic is in analysis/)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import ui
from analysis import incident_edits, incident_intake, incidents

INCIDENT_PAGE = "views/incidents.py"


def go_to_incident(incident_id: str) -> None:
    """Open 事件时间线 on one incident (its id in the link)."""
    st.switch_page(INCIDENT_PAGE, query_params={"incident": incident_id})


def selected_posts_actions(posts: pd.DataFrame, rows: list[int], key: str) -> None:
    """新建事件 / 加入事件 for the rows selected in a post table."""
    if not ui.allowed("incident_event"):
        return
    chosen = posts.iloc[[r for r in rows if r < len(posts)]]["post_id"].tolist() if rows else []
    if not chosen:
        st.caption("勾选表格左侧的帖子，可据此新建事件或加入已有事件。")
        return
    st.markdown(f"**已选 {len(chosen)} 条帖子**")
    new_col, join_col = st.columns(2)
    with new_col.form(f"{key}_new_incident"):
        title = st.text_input("事件标题", max_chars=80)
        if st.form_submit_button("新建事件", type="primary"):
            try:
                opened = incident_intake.open_from_posts(ui.store(), title, chosen, ui.actor())
            except ValueError as exc:
                st.error(str(exc))
            else:
                go_to_incident(opened.incident_id)
    listed = ui.cached(incidents.list_incidents)
    open_ones = listed[listed["status"].isin(incidents.OPEN_STATUSES)]
    with join_col.form(f"{key}_join_incident"):
        titles = dict(zip(open_ones["incident_id"], open_ones["title"], strict=True))
        target = st.selectbox("加入未结事件", list(titles), format_func=lambda i: f"{i} · {titles[i]}",
                              placeholder="暂无未结事件", index=None if not titles else 0)
        if st.form_submit_button("加入事件", disabled=not titles) and target:
            try:
                incident_edits.add_posts(ui.store(), target, chosen, ui.actor())
            except ValueError as exc:
                st.error(str(exc))
            else:
                go_to_incident(target)


def show_explanation(why: dict) -> None:
    """What drove an alert or incident against its baseline (analysis.explain): terms, rising channels/sites/regions,
    posts; shared by 预警 and the incident page."""
    with st.expander("成因分析（与基线相比）", expanded=True):
        st.text(why["summary"])
        st.caption(f"窗口 {why['posts']} 条，对比基线 {why['baseline_posts']} 条（{why['baseline_scope']}，"
                   f"{why['baseline_start'][:16]} 至 {why['baseline_end'][:16]}）")
        terms_col, shifts_col = st.columns(2)
        terms_col.dataframe(
            pd.DataFrame(why["terms"], columns=["term", "z", "posts", "baseline_posts"]),
            hide_index=True, placeholder="", key="why_terms",
            column_config={"term": "词语", "z": st.column_config.NumberColumn("对数几率z值", format="%.1f"),
                           "posts": "窗口帖数", "baseline_posts": "基线帖数"})
        shifts = pd.DataFrame([{"dimension": label, **shift} for label, key in
                               (("渠道", "channels"), ("站点", "sites"), ("地域", "regions")) for shift in why[key]],
                              columns=["dimension", "value", "posts", "share", "baseline_share"])
        shifts_col.dataframe(
            shifts, hide_index=True, placeholder="", key="why_shifts",
            column_config={"dimension": "维度", "value": "取值", "posts": "窗口帖数",
                           "share": st.column_config.NumberColumn("占比", format="percent"),
                           "baseline_share": st.column_config.NumberColumn("基线占比", format="percent")})
        st.dataframe(
            pd.DataFrame(why["examples"], columns=["post_id", "created_at", "site", "excerpt"]),
            hide_index=True, placeholder="", key="why_examples",
            column_config={"post_id": "代表帖子", "created_at": "发布时间", "site": "站点",
                           "excerpt": st.column_config.TextColumn("内容", width="large")})
