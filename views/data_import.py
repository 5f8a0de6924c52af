"""数据导入: upload collected files, see what happened to every row, and how fresh each channel is."""

import pandas as pd
import streamlit as st

import ui
from analysis import config, ingest, metrics

st.title("数据导入")
st.caption(f"支持 CSV / TSV / XLSX / JSON / JSONL / Parquet（按内容识别格式），UTF-8、GBK、GB18030 编码；"
           f"单个文件不超过 {config.MAX_UPLOAD_MB} MB。识别的格式：本系统标准格式、MediaCrawler 导出（微博、抖音、"
           f"快手、贴吧、知乎、小红书、B站）、通用舆情系统 Excel 导出、12345 热线工单。")
channel = st.selectbox("来源渠道（文件中没有渠道列时必选）", ["（按文件）", *config.CHANNELS])
files = st.file_uploader("选择文件", accept_multiple_files=True, key="uploads")
if files and st.button("开始导入", type="primary"):
    summaries = []
    progress = st.progress(0.0, text="准备导入…")
    for number, upload in enumerate(files, start=1):
        progress.progress((number - 1) / len(files), text=f"正在导入 {upload.name}（{number}/{len(files)}）")
        if upload.size > config.MAX_UPLOAD_MB * 1024 * 1024:
            summaries.append(ingest.FileSummary(file=upload.name, status="failed",
                                                error_zh=f"文件超过 {config.MAX_UPLOAD_MB} MB 上限"))
            continue
        summaries.append(ingest.ingest_bytes(upload.getvalue(), upload.name, ui.store().path,
                                             None if channel.startswith("（") else channel, store=ui.store()))
    progress.progress(1.0, text="导入完成")
    st.session_state["import_summaries"] = summaries

summaries = st.session_state.get("import_summaries", [])
if summaries:
    table = ingest.summary_table(summaries)
    st.dataframe(table, hide_index=True, placeholder="")
    for summary in summaries:
        if summary.status == "failed":
            st.error(f"{summary.file}：{summary.error_zh}")
    quarantined = ingest.quarantine_rows(ui.store(), [s.batch_id for s in summaries if s.batch_id])
    if len(quarantined):
        st.warning(f"共 {len(quarantined)} 行被隔离，原因见下表，可下载后修正再导入。")
        st.dataframe(quarantined, hide_index=True, placeholder="")
        st.download_button("下载隔离记录（CSV）", ingest.quarantine_csv(quarantined), "quarantine.csv", "text/csv")

st.subheader("各渠道数据新鲜度")
fresh = ui.cached(metrics.freshness, pd.Timestamp.now(tz=config.TIMEZONE).floor("5min"))
st.dataframe(fresh, hide_index=True, placeholder="", column_config={
    "channel": "渠道", "newest_post": st.column_config.DatetimeColumn("最新发布", format="MM-DD HH:mm"),
    "newest_import": st.column_config.DatetimeColumn("最近导入", format="MM-DD HH:mm"),
    "posts_24h": "近24小时", "posts": "累计",
    "hours_since_post": st.column_config.NumberColumn("距今（小时）", format="%.1f")})
