"""设置: edit the office's settings (tiers, thresholds, sensitive periods, media, topics, push targets), audited."""

import streamlit as st

import ui
from analysis import settings
from analysis.incidents import TIER_SETS

# Settings are a few tiny rows: read fresh (not cached) so a value edited by hand shows up at once.
owner = ui.store()
st.title("设置")
st.caption("修改即时生效，并记入审计日志。保存前逐项校验，无效的值不会被保存。")
for problem in settings.problems(owner):
    st.warning(problem)

FLASH = "settings_flash"


def _revision(key: str) -> int:
    return st.session_state.get(f"settings_rev_{key}", 0)


def _done(key: str, message: str) -> None:
    """Remember the outcome, give the editor a fresh widget (showing the stored value), and redraw."""
    st.session_state[FLASH] = (key, message)
    st.session_state[f"settings_rev_{key}"] = _revision(key) + 1
    st.rerun()


def _section(key: str) -> None:
    setting = settings.REGISTRY[key]
    st.subheader(setting.label)
    st.caption(ui.plain(f"{setting.help}（{key}{'，已自定义' if settings.is_customised(owner, key) else '，默认值'}）"))
    flash = st.session_state.get(FLASH)
    if flash and flash[0] == key:
        st.success(flash[1])
        del st.session_state[FLASH]
    current = settings.get(owner, key)
    with st.form(f"form_{key}"):
        if key == "default_tier_set":
            options = list(TIER_SETS)
            value = st.radio(setting.label, options, index=options.index(current), horizontal=True,
                             key=f"edit_{key}_{_revision(key)}", label_visibility="collapsed")
            text = None
        else:
            height = 260 if len(str(current)) > 200 else 140
            text = st.text_area(setting.label, settings.to_json(current), height=height,
                                key=f"edit_{key}_{_revision(key)}", label_visibility="collapsed")
        cols = st.columns([1, 1, 6])
        save = cols[0].form_submit_button("保存", type="primary", key=f"save_{key}")
        reset = cols[1].form_submit_button("恢复默认", key=f"reset_{key}")
    if save:
        try:
            value = settings.parse_json(text, key) if text is not None else value
            settings.save(owner, key, value, ui.actor())
        except ValueError as exc:
            st.error(f"未保存：{exc}")
        else:
            _done(key, f"已保存“{setting.label}”。")
    if reset:
        settings.reset(owner, key, ui.actor())
        _done(key, f"“{setting.label}”已恢复默认值。")


for name in settings.REGISTRY:
    _section(name)

st.subheader("最近的设置变更")
changes = ui.cached(settings.history, 50)
if changes.empty:
    st.caption("尚无设置变更。")
else:
    st.dataframe(changes, hide_index=True, placeholder="", column_config={
        "logged_at": st.column_config.DatetimeColumn("时间", format="YYYY-MM-DD HH:mm"),
        "actor": "操作人", "action": "操作", "setting": "设置项", "target": None,
        "details": st.column_config.TextColumn("内容（old 为旧值，new 为新值；密钥已隐去）", width="large")})
