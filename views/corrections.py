"""情感校正: analysts check the posts the model is least sure of, and see how often it was right."""

import streamlit as st

import ui
from analysis import corrections
from analysis.config import SENTIMENT_LABELS

f = ui.current_filters()
st.title("情感校正")
accuracy = ui.cached(corrections.model_accuracy)
cols = st.columns(2)
cols[0].metric("已校正帖子", f"{accuracy['n']:,}")
cols[1].metric("模型在已校正帖子上的准确率", ui.fmt_pct(accuracy["accuracy"]),
               help="校正过的帖子中，模型原判断与人工标签一致的比例")

st.subheader("待复核：模型最拿不准的帖子")
uncertain = ui.cached(corrections.uncertain_posts, f, 200)
margin_column = st.column_config.NumberColumn("距分界", format="%.3f")
event = st.dataframe(uncertain, hide_index=True, placeholder="", on_select="rerun", selection_mode="single-row",
                     key="uncertain", column_config={**ui.POST_COLUMNS, "margin": margin_column})
rows = event.selection.rows if event and event.selection else []
if rows and ui.allowed("sentiment_correction"):
    post = uncertain.iloc[rows[0]]
    st.text(post["text"])
    with st.form("correct"):
        label = st.radio("正确的情感", SENTIMENT_LABELS, horizontal=True,
                         index=SENTIMENT_LABELS.index(post["sentiment_label"]))
        note = st.text_input("备注", max_chars=200)
        if st.form_submit_button("保存校正"):
            corrections.correct(ui.store(), post["post_id"], label, ui.actor(), note or None)
            st.success("已保存，该帖子的情感标签在所有统计中以人工校正为准。")
            st.rerun()
else:
    st.caption("选中一条帖子以校正其情感。")

st.subheader("已校正")
st.dataframe(ui.cached(corrections.latest_corrections), hide_index=True, placeholder="", column_config={
    "post_id": "帖子ID", "label": "人工标签", "model_label": "模型原判", "model_score": "模型分数", "model": "模型",
    "corrected_by": "校正人", "corrected_at": st.column_config.DatetimeColumn("校正时间", format="MM-DD HH:mm"),
    "text": st.column_config.TextColumn("正文", width="large")})
