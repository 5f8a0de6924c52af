"""数据导入: upload collected files, see what happened to every row, and how fresh each channel is."""

import pandas as pd
import streamlit as st

import ui
from analysis import config, ingest, metrics, scheduler, service

st.title("数据导入")
st.caption(f"支持 CSV / TSV / XLSX / JSON / JSONL / Parquet（按内容识别格式），UTF-8、GBK、GB18030 编码；"
           f"单个文件不超过 {config.MAX_UPLOAD_MB} MB。识别的格式：本系统标准格式、MediaCrawler 导出（微博、抖音、"
           "快手、贴吧、知乎、小红书、B站）、通用舆情系统 Excel 导出、12345 热线工单；"
           "账号信息（MediaCrawler 博主信息表、账号名录，或导出文件中的粉丝数/认证列）"
           "只保存账号ID、认证级别与粉丝数。")
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

st.subheader("系统状态")
status = service.collect_status(ui.store(), service.current_scheduler())
running, tick = status["service"], status["last_tick"]
left, middle, right = st.columns(3)
left.metric("值守服务", "运行中" if running["running"] else "未运行",
            help="python -m analysis serve（make run）同时运行看板、定时巡检与本机 API；未运行时不会自动导入与预警。")
middle.metric("上次巡检", ui.fmt_time(tick["finished_at"]) if tick else "—",
              f"用时 {tick['duration_seconds']:.1f} 秒" if tick else None, delta_color="off")
right.metric("下次巡检", ui.fmt_time(running.get("next_tick_at")), f"每 {running['tick_seconds']} 秒",
             delta_color="off")
waiting = status["incoming"]["waiting"]
st.caption(f"监视文件夹：{status['incoming']['folder']}（放入的文件在下次巡检时导入，之后移入 done/ 或 failed/）；"
           f"待导入 {len(waiting)} 个" + (f"：{'、'.join(waiting[:10])}" if waiting else "") + "。")
copies = status["backups"]
st.caption(f"数据库备份：{copies['folder']}，共 {copies['count']} 份"
           + (f"，最新 {copies['newest']}" if copies["newest"] else "（尚无备份：值守服务每天自动备份一次）")
           + "。数据库损坏时，停止值守服务后运行 python -m analysis restore 恢复最新备份。")
if tick:
    steps = scheduler.tick_steps_table(tick["summary"], tick["errors"])
    st.dataframe(steps, hide_index=True, placeholder="", column_config={
        "step": "步骤", "result": "结果", "seconds": st.column_config.NumberColumn("用时（秒）", format="%.2f"),
        "error": "错误"})
if status["last_error"] and (not tick or not tick["errors"]):
    failures = status["last_error"]["errors"].items()
    st.caption(f"最近一次出错：{ui.fmt_time(status['last_error']['at'])}，"
               + "；".join(f"{scheduler.STEP_LABELS.get(k, k)}：{v}" for k, v in failures))
if running["running"] and ui.allowed("import") and st.button("立即巡检"):
    service.current_scheduler().wake()
    st.toast("已请求立即巡检，结果稍后刷新本页可见。")
