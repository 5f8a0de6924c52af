"""The dashboard's router: page setup, the shared sidebar, then the chosen page."""

import streamlit as st

import ui

st.set_page_config(page_title="舆情态势监测", page_icon="📈", layout="wide")
ui.sync()
page = st.navigation({
    "态势": [
        st.Page("views/overview.py", title="总览", icon=":material/dashboard:", default=True),
        st.Page("views/incidents.py", title="事件时间线", icon=":material/timeline:", url_path="incidents"),
        st.Page("views/briefing.py", title="简报", icon=":material/description:", url_path="briefing"),
    ],
    "研判": [
        st.Page("views/heatmap.py", title="热力图", icon=":material/grid_on:", url_path="heatmap"),
        st.Page("views/topic.py", title="话题分析", icon=":material/travel_explore:", url_path="topic"),
        st.Page("views/alerts.py", title="预警", icon=":material/notifications:", url_path="alerts"),
        st.Page("views/corrections.py", title="情感校正", icon=":material/rule:", url_path="corrections"),
    ],
    "数据": [
        st.Page("views/data_import.py", title="数据导入", icon=":material/upload:", url_path="import"),
        st.Page("views/settings.py", title="设置", icon=":material/settings:", url_path="settings"),
    ],
})
ui.render_sidebar()
page.run()
