"""The dashboard's router: page setup, the shared sidebar, then the chosen page."""

import streamlit as st

import ui

st.set_page_config(page_title="舆情态势监测", page_icon="📈", layout="wide")
ui.sync()
page = st.navigation([
    st.Page("pages/overview.py", title="总览", icon=":material/dashboard:", default=True),
])
ui.render_sidebar()
page.run()
