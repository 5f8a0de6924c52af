"""设置: edit the office's settings as forms (drawn from each setting's declared fields), audited; JSON for the rest."""

import pandas as pd
import streamlit as st

import ui
from analysis import settings

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
    """Remember the outcome, give the editor fresh widgets (showing the stored value), and redraw."""
    st.session_state[FLASH] = (key, message)
    st.session_state[f"settings_rev_{key}"] = _revision(key) + 1
    st.rerun()


def _input(field: settings.Field, value, key: str):
    """One form input for a field: its kind picks the widget, its range and unit label it."""
    common = {"label": field.title, "help": field.help or None, "key": key}
    if field.kind == "int":
        low, high = (None if b is None else int(b) for b in (field.minimum, field.maximum))
        return st.number_input(value=int(value), min_value=low, max_value=high, step=1, **common)
    if field.kind == "float":
        low, high = (None if b is None else float(b) for b in (field.minimum, field.maximum))
        return st.number_input(value=float(value), min_value=low, max_value=high, step=0.01, format="%.2f", **common)
    if field.kind == "choice":
        return st.radio(options=field.options, index=field.options.index(value), horizontal=True, **common)
    if field.kind == "bool":
        return st.checkbox(value=bool(value), **common)
    if field.kind == "lines":
        return st.text_area(value=value, height=180, **common)
    if field.kind == "date":
        return st.date_input(value=value, format="YYYY-MM-DD", **common)
    return st.text_input(value=str(value), **common)


def _column(field: settings.Field):
    """The same field as a column of an editable table."""
    label, help_text = field.title, field.help or None
    if field.kind in ("int", "float"):
        return st.column_config.NumberColumn(label, help=help_text, min_value=field.minimum, max_value=field.maximum,
                                             step=1 if field.kind == "int" else 0.01,
                                             format="%d" if field.kind == "int" else "%.2f", required=True)
    if field.kind == "date":
        return st.column_config.DateColumn(label, help=help_text, format="YYYY-MM-DD", required=True)
    if field.kind == "choice":
        return st.column_config.SelectboxColumn(label, help=help_text, options=field.options, required=True)
    if field.kind == "bool":
        return st.column_config.CheckboxColumn(label, help=help_text)
    return st.column_config.TextColumn(label, help=help_text, width="large" if field.kind == "words" else None)


def _editor(key: str, current):
    """The setting's form inputs; returns what they hold, in the shape `settings.from_form` reads."""
    form, shown, widget = settings.form_of(key), settings.to_form(key, current), f"edit_{key}_{_revision(key)}"
    if form is None:  # only JSON can say it (e.g. notification targets)
        return st.text_area("JSON", shown, height=260 if len(shown) > 200 else 140, key=widget,
                            label_visibility="collapsed")
    if form.shape == "value":
        return _input(form.fields[0], shown, widget)
    if form.shape == "record":
        columns, values = st.columns(3), {}
        for number, field in enumerate(form.fields):
            with columns[number % 3]:
                values[field.key] = _input(field, shown[field.key], f"{widget}_{field.key}")
        return values
    table = pd.DataFrame(shown, columns=[f.key for f in form.fields])
    edited = st.data_editor(table, key=widget, num_rows="dynamic", hide_index=True, width="stretch",
                            placeholder="", column_config={f.key: _column(f) for f in form.fields})
    return edited.to_dict("records")


def _section(key: str) -> None:
    setting = settings.REGISTRY[key]
    st.subheader(setting.label)
    st.caption(ui.plain(f"{setting.help}（{'已自定义' if settings.is_customised(owner, key) else '默认值'}）"))
    flash = st.session_state.get(FLASH)
    if flash and flash[0] == key:
        st.success(flash[1])
        del st.session_state[FLASH]
    with st.form(f"form_{key}"):
        edited = _editor(key, settings.get(owner, key))
        cols = st.columns([1, 1, 6])
        save = cols[0].form_submit_button("保存", type="primary", key=f"save_{key}")
        reset = cols[1].form_submit_button("恢复默认", key=f"reset_{key}")
    if save:
        try:
            settings.save(owner, key, settings.from_form(key, edited), ui.actor())
        except ValueError as exc:
            st.error(f"未保存：{exc}")
        else:
            _done(key, f"已保存“{setting.label}”。")
    if reset:
        settings.reset(owner, key, ui.actor())
        _done(key, f"“{setting.label}”已恢复默认值。")


for name in settings.REGISTRY:
    _section(name)

flash = st.session_state.pop(FLASH, None) if st.session_state.get(FLASH, ("",))[0] == "import" else None
with st.expander("高级：以 JSON 导出 / 导入全部设置", expanded=flash is not None):
    st.caption("导出当前生效的全部设置（含推送目标的密钥，请妥善保管）；导入时全部校验通过才保存，每项变更记入审计日志。")
    if flash:
        st.success(flash[1])
    st.download_button("导出全部设置（JSON）", settings.export_all(owner), "settings.json", "application/json")
    with st.form("import_settings", clear_on_submit=True):
        text = st.text_area("粘贴导出的 JSON", height=160, key="import_text")
        if st.form_submit_button("导入"):
            try:
                saved = settings.import_all(owner, text, ui.actor())
            except ValueError as exc:
                st.error(f"未导入：{exc}")
            else:
                for key in settings.REGISTRY:  # every form above is redrawn from the imported values
                    st.session_state[f"settings_rev_{key}"] = _revision(key) + 1
                _done("import", "已导入：" + "、".join(saved) if saved else "导入内容与当前设置相同，未做修改。")

st.subheader("最近的设置变更")
changes = ui.cached(settings.history, 50)
if changes.empty:
    st.caption("尚无设置变更。")
else:
    st.dataframe(changes, hide_index=True, placeholder="", column_config={
        "logged_at": st.column_config.DatetimeColumn("时间", format="YYYY-MM-DD HH:mm"),
        "actor": "操作人", "action": "操作", "setting": "设置项", "target": None,
        "details": st.column_config.TextColumn("内容（old 为旧值，new 为新值；密钥已隐去）", width="large")})
