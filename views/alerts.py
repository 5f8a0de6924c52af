"""预警: the alert log to acknowledge and close, and rules tuned against history before they are saved."""

import datetime as dt
import json

import pandas as pd
import streamlit as st

import ui
import ui_incidents
from analysis import alerts, charts, incident_intake
from analysis.config import TIMEZONE

st.title("预警")
log_tab, rules_tab = st.tabs(["预警记录", "规则与回测"])

with log_tab:
    states = {"new": "未处理", "acknowledged": "已确认", "closed": "已关闭"}
    state = st.radio(
        "状态",
        ["all", *states],
        horizontal=True,
        format_func={"all": "全部", **states}.get,
        index=["all", *states].index(ui.page_param("state", ["all", *states], "new")),
    )
    ui.set_page_param("state", state)
    log = ui.cached(alerts.list_alerts, state=None if state == "all" else state)
    if log.empty:
        st.info("暂无符合条件的预警。")
    else:
        shown = log.assign(状态=log["state"].map(states), 级别=log["severity"].map(alerts.SEVERITIES))
        st.dataframe(
            shown[
                ["alert_id", "fired_at", "级别", "rule_name", "subject", "message", "merged_count", "状态", "state_by"]
            ],
            hide_index=True, placeholder="",
            key="alert_log",
            # widths that keep every column inside the page at 1280 px; the full text shows on hover
            column_config={
                "alert_id": st.column_config.NumberColumn("编号", width=44, format="%d"),
                "fired_at": st.column_config.DatetimeColumn("时间", format="MM-DD HH:mm", width=84),
                "级别": st.column_config.TextColumn(width=44),
                "rule_name": st.column_config.TextColumn("规则", width=110),
                "subject": st.column_config.TextColumn("对象", width=72),
                "message": st.column_config.TextColumn("内容", width=250),
                "merged_count": st.column_config.NumberColumn("合并", width=50, format="%d"),
                "状态": st.column_config.TextColumn(width=56),
                "state_by": st.column_config.TextColumn("处理人", width=70),
            },
        )
        open_alerts = shown[shown["state"] != "closed"]
        choices = {f"#{a.alert_id} {a.message[:60]}": int(a.alert_id) for a in open_alerts.itertuples()}
        if choices and ui.allowed("alert_state"):
            by_id = shown.set_index("alert_id")
            alert_id = choices[st.selectbox("处理预警", list(choices))]
            ack_col, close_col, open_col = st.columns(3)
            linked = ui.cached(incident_intake.linked_incident, "alert", str(alert_id))
            if linked:
                if open_col.button(f"查看事件 {linked}", key="open_incident"):
                    ui_incidents.go_to_incident(linked)
            elif by_id.loc[alert_id, "kind"] in incident_intake.POST_KINDS and ui.allowed("incident_event"):
                if open_col.button("立案", type="primary", key="open_incident", help="以预警对应的帖子建立事件并定级"):
                    try:
                        opened = incident_intake.open_from_alert(ui.store(), int(alert_id), ui.actor())
                    except ValueError as exc:
                        st.error(str(exc))
                    else:
                        ui_incidents.go_to_incident(opened.incident_id)
            try:
                if ack_col.button("确认", disabled=by_id.loc[alert_id, "state"] != "new", key="ack"):
                    alerts.acknowledge(ui.store(), int(alert_id), ui.actor())
                    st.rerun()
                if close_col.button("关闭", key="close"):
                    alerts.close(ui.store(), int(alert_id), ui.actor())
                    st.rerun()
            except ValueError as exc:
                st.error(str(exc))
    if ui.allowed("alert_state") and st.button(
        "立即评估全部启用规则", help="与定时任务 python -m analysis alerts run 相同"
    ):
        fired = alerts.run(ui.store(), pd.Timestamp.now(tz=TIMEZONE), actor=ui.actor())
        st.success(f"评估完成，新增预警 {len(fired)} 条。")

with rules_tab:
    rules = ui.cached(alerts.load_rules)
    if not rules:
        if st.button("安装默认规则"):
            alerts.install_default_rules(ui.store(), actor=ui.actor())
            st.rerun()
        st.stop()
    by_id = {r.rule_id: r for r in rules}
    rule_id = st.selectbox(
        "规则", list(by_id), format_func=lambda r: f"{by_id[r].name}（{alerts.KINDS[by_id[r].kind]}）"
    )
    rule = by_id[rule_id]
    with st.form("rule_editor"):
        name = st.text_input("名称", rule.name, max_chars=50)
        enabled = st.checkbox("启用", rule.enabled)
        cooldown = st.number_input("冷却时间（分钟）", min_value=0, max_value=10080, value=rule.cooldown_minutes)
        params_text = st.text_area("参数（JSON）", json.dumps(rule.params, ensure_ascii=False, indent=2), height=180)
        days = st.slider("回测天数", 7, 90, 30)
        preview = st.form_submit_button("回测预览")
        save = st.form_submit_button(
            "保存规则",
            disabled=not ui.allowed("rule_edit"),
            help=None if ui.allowed("rule_edit") else "仅管理员可修改规则",
        )
    try:
        edited = alerts.Rule(rule_id, name, rule.kind, json.loads(params_text), enabled, int(cooldown))
        errors = alerts.validate_rule(edited)
    except json.JSONDecodeError as exc:
        edited, errors = None, [f"参数不是有效的 JSON：第{exc.lineno}行第{exc.colno}列"]
    for message in errors:
        st.error(message)
    if edited is not None and not errors and (preview or save):
        end = pd.Timestamp.now(tz=TIMEZONE)
        fired = alerts.backtest(ui.store(), [edited], end - dt.timedelta(days=days), end)
        st.plotly_chart(charts.backtest_fires(fired, f"回测：过去{days}天将触发 {len(fired)} 次"), key="backtest")
        st.dataframe(
            fired[["fired_at", "subject", "message"]],
            hide_index=True, placeholder="",
            column_config={
                "fired_at": st.column_config.DatetimeColumn("时间", format="MM-DD HH:mm"),
                "subject": "对象",
                "message": st.column_config.TextColumn("内容", width="large"),
            },
        )
        if save:
            alerts.save_rule(ui.store(), edited, ui.actor())
            st.success("规则已保存（已记入审计日志）。")
