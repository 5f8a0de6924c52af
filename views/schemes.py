"""监测方案: write what the office watches (地域词 + 主体词 + 事件词 - 排除词, or an expression), preview it on the
stored posts exactly as saving would tag them, save or remove it (the stored posts are re-tagged at once)."""

import streamlit as st

import ui
from analysis import metrics, schemes, settings

owner = ui.store()
st.title("监测方案")
st.caption("方案即“话题”：保存后立即重新标注已入库的帖子，之后每批导入的帖子也按全部方案标注；侧栏筛选、热力图、预警范围、"
           "事件与简报都按方案统计。表达式：+ 表示并且，| 表示或者，- 表示排除（如 A-B），可用括号与全角符号；"
           "含空格或运算符的词请加引号。优先级：排除 > 并且 > 或者。")
FLASH = "schemes_flash"
if FLASH in st.session_state:
    st.success(st.session_state.pop(FLASH))

current = schemes.load(owner)
st.dataframe(schemes.table(owner), hide_index=True, placeholder="", width="stretch", column_config={
    "name": "方案", "expression": st.column_config.TextColumn("表达式", width="large"), "scope": "匹配范围",
    "channels": "渠道", "owner": "负责人"})

names = [s.name for s in current]
NEW = "（新建方案）"
if "scheme_pick_next" in st.session_state:  # the scheme just saved (or none after a removal) is the one shown
    st.session_state["scheme_pick"] = st.session_state.pop("scheme_pick_next")
picked = st.selectbox("编辑方案", [NEW, *names], key="scheme_pick")
base = next((s for s in current if s.name == picked), None)
revision = f"{picked}_{st.session_state.get('schemes_rev', 0)}"

name = st.text_input("方案名称", value=base.name if base else "", key=f"scheme_name_{revision}",
                     help="如 城关镇校园食品安全；保存后即作为话题出现在各页面")
mode = st.radio("编写方式", ("组合词表", "直接写表达式"), horizontal=True, index=1 if base else 0,
                key=f"scheme_mode_{revision}")
if mode == "组合词表":
    help_words = "用顿号、逗号或空格分隔；同组内任一词出现即可"
    columns = st.columns(4)
    groups = [columns[k].text_input(label, key=f"scheme_{field}_{revision}", help=help_words)
              for k, (field, label) in enumerate((("regions", "地域词"), ("subjects", "主体词"), ("events", "事件词"),
                                                  ("excluded", "排除词")))]
    expression = schemes.build_expression(*[[w for w in settings.WORD_SEPARATORS.split(g) if w] for g in groups])
    st.markdown("生成的表达式：")
    st.code(expression or "（请至少填写一组词）", language=None)
else:
    expression = st.text_area("表达式", value=base.expression if base else "", key=f"scheme_expr_{revision}",
                              height=100, placeholder="(城关镇|城关)+(一中|实验小学)+(食堂|食物中毒)-招聘")
scope_col, channel_col = st.columns(2)
scope_keys = list(schemes.SCOPES)
scope = scope_col.radio("匹配范围", scope_keys, format_func=schemes.SCOPES.get, horizontal=True,
                        index=scope_keys.index(base.scope) if base else 0, key=f"scheme_scope_{revision}")
channel_options = sorted(set(ui.cached(metrics.dimension_values)["channel"]) | set(base.channels if base else ()))
channels = channel_col.multiselect("仅这些渠道", channel_options, default=list(base.channels) if base else [],
                                   placeholder="全部渠道", key=f"scheme_channels_{revision}")
scheme = schemes.Scheme(name.strip() or "预览", expression, scope, tuple(channels), base.owner if base else "")

preview_col, save_col, remove_col, _ = st.columns([1, 1, 1, 5])
show = preview_col.button("预览", key="scheme_preview")
save = save_col.button("保存", type="primary", key="scheme_save", disabled=not ui.allowed("scheme_edit"))
remove = remove_col.button("删除方案", key="scheme_remove", disabled=base is None or not ui.allowed("scheme_edit"))

if save:
    if not name.strip():
        st.error("未保存：请填写方案名称")
    else:
        try:
            retagged = schemes.save(owner, scheme, ui.actor())
        except ValueError as exc:
            st.error(f"未保存：{exc}")
        else:
            st.session_state[FLASH] = f"已保存方案“{scheme.name}”，重新标注 {retagged} 条帖子。"
            st.session_state["schemes_rev"] = st.session_state.get("schemes_rev", 0) + 1
            st.session_state["scheme_pick_next"] = scheme.name
            st.rerun()
if remove and base is not None:
    retagged = schemes.remove(owner, base.name, ui.actor())
    st.session_state[FLASH] = f"已删除方案“{base.name}”，重新标注 {retagged} 条帖子。"
    st.session_state["schemes_rev"] = st.session_state.get("schemes_rev", 0) + 1
    st.session_state["scheme_pick_next"] = NEW
    st.rerun()
if show:
    try:
        result = ui.cached(schemes.preview, scheme)
    except ValueError as exc:
        st.error(str(exc))
        st.stop()
    st.metric("命中帖子（全部已入库帖子）", ui.fmt_count(result["hits"]),
              help="即保存后会被标注为该方案的帖子数（文件自带话题的帖子除外）")
    days, sample = schemes.preview_frames(result)
    if len(days):
        st.caption(f"近 {len(days)} 天每日命中")
        st.bar_chart(days, x="日期", y="命中", height=220)
    if len(sample):
        st.caption("最新命中的帖子")
        st.dataframe(sample, hide_index=True, placeholder="", width="stretch",
                     column_config={**ui.POST_COLUMNS, "text": st.column_config.TextColumn("正文", width="large")})
