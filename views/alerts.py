"""预警: the alert log to acknowledge and close, and rules tuned against history before they are saved."""

import dataclasses
import datetime as dt

import pandas as pd
import streamlit as st

import ui
import ui_incidents
from analysis import alerts, charts, explain, incident_intake, metrics
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
        if choices:
            by_id = shown.set_index("alert_id")
            alert_id = choices[st.selectbox("处理预警", list(choices))]
            why = by_id.loc[alert_id, "details"].get("explanation") or ui.cached(
                explain.explain_alert_dict, by_id.loc[alert_id, "details"])
            if why:
                ui_incidents.show_explanation(why)
        if choices and ui.allowed("alert_state"):
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
    may_edit = ui.allowed("rule_edit")
    if not rules and may_edit and st.button("安装默认规则"):
        alerts.install_default_rules(ui.store(), actor=ui.actor())
        st.rerun()
    if rules:
        st.dataframe(
            [{"名称": r.name, "类型": alerts.KINDS[r.kind], "启用": r.enabled, "冷却（分钟）": r.cooldown_minutes,
              "编号": r.rule_id} for r in rules],
            hide_index=True, placeholder="", key="rule_table",
        )
    by_id = {r.rule_id: r for r in rules}
    NEW = ""
    rule_id = st.selectbox("规则", [NEW, *by_id], key="rule_pick",
                           format_func=lambda r: "＋ 新建规则" if r == NEW else
                           f"{by_id[r].name}（{alerts.KINDS[by_id[r].kind]}）")
    if rule_id == NEW:
        kind = st.selectbox("规则类型", list(alerts.REGISTRY), format_func=alerts.KINDS.get, key="rule_kind")
        rule = alerts.forms.blank_rule(kind)
    else:
        rule = by_id[rule_id]
        kind = rule.kind
    st.caption(alerts.REGISTRY[kind].help)
    form_key = f"rule_{rule_id or 'new'}_{kind}"
    name = st.text_input("名称", rule.name, max_chars=50, key=f"{form_key}_name", placeholder="例如 本县食品安全投诉")
    left, right = st.columns(2)
    enabled = left.checkbox("启用", rule.enabled, key=f"{form_key}_enabled")
    cooldown = right.number_input("冷却时间（分钟）", min_value=0, max_value=10080, value=rule.cooldown_minutes,
                                  key=f"{form_key}_cooldown", help="同一对象在冷却时间内再次触发时并入原预警")
    edited = {p.key: st.session_state[f"{form_key}_{p.key}"] for p in alerts.REGISTRY[kind].params
              if f"{form_key}_{p.key}" in st.session_state}
    values = {}
    for field in alerts.forms.fields(kind, rule.params, ui.cached(metrics.dimension_values), edited):
        key = f"{form_key}_{field.key}"
        if field.widget == "select":
            options = list(field.options)
            values[field.key] = st.selectbox(field.label, options, index=options.index(field.value), key=key,
                                             format_func=field.options.get, help=field.help or None)
        elif field.widget == "multiselect":
            values[field.key] = st.multiselect(field.label, list(field.options), default=field.value, key=key,
                                               help=field.help or None, placeholder="全部")
        elif field.widget == "int":
            values[field.key] = st.number_input(field.label, min_value=int(field.minimum), step=1, key=key,
                                                value=None if field.value is None else int(field.value),
                                                help=field.help or None)
        elif field.widget == "number":
            values[field.key] = st.number_input(field.label, min_value=float(field.minimum), step=field.step,
                                                value=field.value, key=key, help=field.help or None)
        elif field.widget == "checkbox":
            values[field.key] = st.checkbox(field.label, field.value, key=key, help=field.help or None)
        else:
            values[field.key] = st.text_area(field.label, field.value, key=key, help=field.help or None,
                                             height=68 if field.widget == "json" else 120)
    days = st.slider("回测天数", 7, 90, 30, key="backtest_days")
    preview_col, save_col, toggle_col, delete_col = st.columns(4)
    preview = preview_col.button("回测预览", key="rule_preview")
    save = save_col.button("保存规则", type="primary", disabled=not may_edit, key="rule_save",
                           help=None if may_edit else "仅管理员可修改规则")
    try:
        params = alerts.forms.params_from_form(kind, values)
    except ValueError as exc:
        edited, errors = None, [str(exc)]
    else:
        edited = alerts.Rule(rule_id or "new", name.strip(), kind, params, enabled, int(cooldown))
        errors = alerts.validate_rule(edited)
    if (preview or save) and errors:
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
            if not rule_id:
                edited = dataclasses.replace(edited, rule_id=alerts.forms.new_rule_id(ui.store(), kind))
            alerts.save_rule(ui.store(), edited, ui.actor())
            st.success(f"规则“{edited.name}”已保存（已记入审计日志）。")
    if rule_id and may_edit:
        if toggle_col.button("停用" if rule.enabled else "启用", key="rule_toggle"):
            alerts.set_rule_enabled(ui.store(), rule_id, not rule.enabled, ui.actor())
            st.rerun()
        sure = delete_col.checkbox("确认删除", key=f"{form_key}_sure", help="删除后已产生的预警记录仍保留")
        if delete_col.button("删除规则", disabled=not sure, key="rule_delete"):
            alerts.delete_rule(ui.store(), rule_id, ui.actor())
            st.rerun()
