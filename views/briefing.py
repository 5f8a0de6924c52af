"""简报: the daily log, weekly and monthly briefings and incident reports, as DOCX/PDF/PNG downloads."""

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

import ui
from analysis import briefing, exports, incidents, scheduler, settings
from analysis.config import TIMEZONE

st.title("简报")
kind = st.radio("类型", briefing.KINDS, horizontal=True,
                format_func={**briefing.KIND_TITLES, "incident": "事件专报/快报"}.get)
f = ui.current_filters()
options: dict = {}
if kind == "daily":
    options["date"] = st.date_input("日期", value=f.end).isoformat()
elif kind in ("weekly", "monthly"):
    # The last complete week/month; one still running may be typed in and is compared over the same elapsed hours.
    complete = ui.cached(briefing.default_period, kind, pd.Timestamp.now(tz=TIMEZONE).floor("h"))
    label = "周次（ISO 周，默认上一个完整周）" if kind == "weekly" else "月份（默认上一个完整月）"
    options["week" if kind == "weekly" else "month"] = st.text_input(label, value=complete.code, max_chars=8)
else:
    listed = ui.cached(incidents.list_incidents)
    if listed.empty:
        st.info("尚无事件。")
        st.stop()
    options["incident_id"] = st.selectbox("事件", listed["incident_id"].tolist(), format_func=lambda i: f"{i} · " + (
        listed.set_index("incident_id").loc[i, "title"]))
formats = st.multiselect("格式", briefing.FORMATS, default=["docx", "pdf"])
unit = st.text_input("编发单位", value=briefing.DEFAULT_UNIT, max_chars=40)

if st.button("生成", type="primary", disabled=not formats):
    with st.status("正在生成…", expanded=True) as status:
        try:
            document = briefing.build(ui.store(), kind, unit=unit, progress=st.write, **options)
            out_dir = Path(tempfile.mkdtemp(prefix="briefing-"))
            written = briefing.write(document, out_dir, tuple(formats), progress=st.write)
        except ValueError as exc:
            status.update(label="生成失败", state="error")
            st.error(str(exc))
            st.stop()
        status.update(label=f"已生成：{document.title}", state="complete")
    st.session_state["briefing_files"] = {p.name: p.read_bytes() for paths in written.values() for p in paths}
    for warning in document.warnings:
        st.warning(warning)

for name, data in st.session_state.get("briefing_files", {}).items():
    st.download_button(f"下载 {name}", data, file_name=name, key=f"download_{name}")

st.divider()
st.subheader("定时简报")
schedule = ui.cached(settings.service)
st.caption(f"值守服务每天 {schedule['daily_brief_at']} 生成当日舆情日志，"
           f"每周一 {schedule['weekly_brief_at']} 生成上一完整周的周报（设置 → 值守服务）。")
written = scheduler.scheduled_briefings(ui.store().path, schedule)
if not written:
    st.info("尚无定时简报（值守服务运行后按时生成）。")
for path in written:
    st.download_button(f"{path.name}（{ui.fmt_time(pd.Timestamp(path.stat().st_mtime, unit='s', tz='UTC'))}）",
                       path.read_bytes, file_name=path.name, key=f"scheduled_{path.name}")

st.divider()
st.subheader("台账导出")
st.caption("事件台账与帖子台账（所选日期范围），所有单元格已防公式注入，可直接用 Excel/WPS 打开。")
if st.button("准备台账"):
    incident_ledger, post_ledger = ui.cached(briefing.ledger_frames, f.start, f.end)
    left, right = st.columns(2)
    left.download_button("事件台账（CSV）", exports.csv_bytes(incident_ledger), "事件台账.csv", "text/csv")
    right.download_button(f"帖子台账（CSV，{len(post_ledger):,}条）", exports.csv_bytes(post_ledger), "帖子台账.csv",
                          "text/csv")
