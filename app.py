"""The dashboard's router: sign-in (when configured), page setup, the shared sidebar, then the chosen page."""

import streamlit as st

import ui
from analysis import access

# (section, page key, file, title, icon); the key is also the URL path and what roles grant.
PAGES = (
    ("态势", "overview", "views/overview.py", "总览", ":material/dashboard:"),
    ("态势", "incidents", "views/incidents.py", "事件时间线", ":material/timeline:"),
    ("态势", "briefing", "views/briefing.py", "简报", ":material/description:"),
    ("研判", "heatmap", "views/heatmap.py", "热力图", ":material/grid_on:"),
    ("研判", "topic", "views/topic.py", "话题分析", ":material/travel_explore:"),
    ("研判", "alerts", "views/alerts.py", "预警", ":material/notifications:"),
    ("研判", "schemes", "views/schemes.py", "监测方案", ":material/manage_search:"),
    ("研判", "corrections", "views/corrections.py", "情感校正", ":material/rule:"),
    ("数据", "import", "views/data_import.py", "数据导入", ":material/upload:"),
    ("数据", "settings", "views/settings.py", "设置", ":material/settings:"),
)

APP_TITLE = "舆情态势监测"

st.set_page_config(page_title=APP_TITLE, page_icon="📈", layout="wide")
every_page = {key: st.Page(path, title=title, icon=icon, url_path=key) for _, key, path, title, icon in PAGES}
# Streamlit serves its default page only at "/" (never at its url_path), so a link to /overview would land on
# "Page not found". The default is therefore a hidden landing page that opens the first page at its own address.
landing = st.Page(lambda: None, title=APP_TITLE, url_path="landing", default=True, visibility="hidden")
# The sign-in form comes with every page registered and none shown, so a deep link keeps its address (and its
# query) through sign-in and opens its page after it.
user = ui.sign_in(before_form=lambda: st.navigation([landing, *every_page.values()], position="hidden"))
ui.sync()
allowed = access.pages_for(user.role if user else None)
sections: dict[str, list] = {}
for section, key, _, _, _ in PAGES:
    if key in allowed:
        sections.setdefault(section, []).append(every_page[key])
first = next(iter(sections.values()))[0]
page = st.navigation({"": [landing], **sections})
if page is landing:
    st.switch_page(first, query_params={key: st.query_params.get_all(key) for key in st.query_params})
st.set_page_config(page_title=f"{page.title} · {APP_TITLE}")  # the browser tab names the page
ui.render_sidebar()
page.run()
