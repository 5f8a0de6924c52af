"""Streamlit glue shared by the pages: the cached store, cached analysis calls, sidebar filters, formats."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable

import pandas as pd
import streamlit as st

from analysis import access, backups, charts, config, ingest, metrics, rollup
from analysis.filters import Filters
from analysis.store import DatabaseCorrupt, DatabaseLocked, Store, owner_of

LIST_PARAMS = ("channel", "topic", "region")


def _db_argument() -> str | None:
    argv = sys.argv[1:]
    return argv[argv.index("--db") + 1] if "--db" in argv[:-1] else None


@st.cache_resource(show_spinner=False)
def _open_store(path: str) -> Store:
    """The dashboard process owns the database file for its lifetime (DuckDB allows one writer). Its buffer pool
    is capped (config.DASHBOARD_MEMORY_LIMIT): pages are served from st.cache_data, not from DuckDB's cache.
    Under `python -m analysis serve` the service already owns the file: the pages share its Store.
    With $OPINION_ROLLUP set, the metric SQL is answered from that rollup file where it can be (analysis/rollup.py)."""
    return rollup.serving(owner_of(path) or Store(path, memory_limit=config.dashboard_memory_limit()))


def store() -> Store:
    return _open_store(str(config.resolve_db_path(_db_argument())))


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: no identity provider
        return False


def sign_in(before_form: Callable[[], object] = lambda: None) -> access.User | None:
    """The signed-in user, or None when access control is off; otherwise show the sign-in form and stop
    (`before_form` runs first: the router registers its pages there)."""
    if not access.enabled():
        return None
    if "user" in st.session_state:
        return st.session_state["user"]
    if _oidc_configured() and st.user.is_logged_in:
        user = access.user_for_email(st.user.get("email", ""))
        if user is None:
            before_form()
            st.error("该账号未被授权使用本系统，请联系管理员。")
            st.button("退出登录", on_click=st.logout)
            st.stop()
        st.session_state["user"] = user
        return user
    before_form()
    st.title("舆情态势监测 · 登录")
    with st.form("sign_in"):
        login = st.text_input("用户名")
        password = st.text_input("密码", type="password")
        if st.form_submit_button("登录", type="primary"):
            user = access.authenticate(login, password)
            if user is None:
                st.error("用户名或密码错误。")
            else:
                st.session_state["user"] = user
                st.rerun()
    if _oidc_configured():
        st.button("使用单位统一身份认证登录", on_click=st.login)
    st.stop()


def current_user() -> access.User | None:
    return st.session_state.get("user")


def allowed(action: str) -> bool:
    """Whether the signed-in role may perform an action (always, when access control is off)."""
    user = current_user()
    return access.can(user.role if user else None, action)


def open_store_or_stop() -> Store:
    try:
        return store()
    except DatabaseLocked:
        st.error("数据库正被其他进程（如命令行导入）占用，请稍后刷新页面。")
        st.stop()
    except DatabaseCorrupt as exc:
        st.error(backups.damaged_message_zh(exc))
        st.stop()


def sync() -> None:
    """Import batches that other processes queued while we held the file; say so when any landed.
    app.py calls this first in every script run, so it also starts the run's data version afresh."""
    st.session_state.pop(_DATA_VERSION, None)
    owner = open_store_or_stop()
    for summary in ingest.drain_inbox(owner, config.inbox_dir(owner.path)):
        st.toast(f"已导入排队文件 {summary.file}：新增 {summary.inserted} 条，重复 {summary.duplicates} 条，"
                 f"隔离 {summary.quarantined} 条")


_DATA_VERSION = "_data_version"


def _data_version(owner: Store) -> str:
    """The store's data version, read once per script run rather than per cached call (it is 8 subqueries,
    12–29 ms, and a page makes many calls), and again whenever a write has been committed through the store
    since: this process owns the file, so every write goes through it, and a write earlier in a run (an
    import, an incident event, an alert evaluation) is seen by every cached call after it, even without
    st.rerun."""
    commits, version = st.session_state.get(_DATA_VERSION, (None, None))
    if commits != owner.commits:
        version = owner.data_version()
        st.session_state[_DATA_VERSION] = (owner.commits, version)
    return version


def cached(fn: Callable, *args, **kwargs):
    """Call an analysis function on the store, cached on its name, its arguments and the data version."""
    owner = store()
    key = f"{fn.__module__}.{fn.__qualname__}"
    return _cached_call(fn, key, str(owner.path), _data_version(owner), args, tuple(sorted(kwargs.items())))


@st.cache_data(ttl=3600, max_entries=512, show_spinner=False)
def _cached_call(_fn: Callable, key: str, db_path: str, version: str, args: tuple, kwargs: tuple):
    return _fn(_open_store(db_path), *args, **dict(kwargs))


def render_sidebar() -> Filters:
    """Shared filters, read from and written back to the URL so every view is a link one can send."""
    latest = cached(metrics.latest_day) or dt.date.today()
    params = {key: st.query_params.get_all(key) for key in LIST_PARAMS}
    params |= {key: st.query_params.get(key) for key in ("from", "to", "grain", "by", "merge")}
    f = Filters.from_query_params(params, latest)
    options = cached(metrics.dimension_values)
    with st.sidebar:
        st.subheader("筛选")
        picked = st.date_input("日期范围", value=(f.start, f.end), key="filter_dates", format="YYYY-MM-DD")
        start, end = (picked + (picked[0],))[:2] if isinstance(picked, tuple) and picked else (f.start, f.end)
        channels = st.multiselect("来源渠道", options["channel"], default=_known(f.channels, options["channel"]),
                                  key="filter_channels", placeholder="全部渠道")
        topics = st.multiselect("话题", options["topic"], default=_known(f.topics, options["topic"]),
                                key="filter_topics", placeholder="全部话题")
        regions = st.multiselect("地域", options["region"], default=_known(f.regions, options["region"]),
                                 key="filter_regions", placeholder="全部地域")
        merge = st.checkbox("合并相似", value=f.merge_similar, key="filter_merge",
                            help="转载与轻度改写的副本只计一次（按首发帖计）：统计的是“事”，不是“帖”")
        user = current_user()
        if user is None:
            st.text_input("操作人", value="分析员", key="actor", help="记入审计日志与事件处置记录")
        else:
            st.caption(f"当前用户：{plain(user.name)}（{user.role}）")
            if st.button("退出登录"):
                st.session_state.pop("user", None)
                if _oidc_configured() and st.user.is_logged_in:
                    st.logout()
                st.rerun()
    chosen = Filters(min(start, end), max(start, end), f.grain, f.group_by, tuple(channels), tuple(topics),
                     tuple(regions), merge_similar=merge)
    # Rewrite only the shared filter keys: a page's own keys (a heatmap cell, an incident) stay in the link.
    for key in (*LIST_PARAMS, "from", "to", "grain", "by", "merge"):
        st.query_params.pop(key, None)
    st.query_params.update(chosen.to_query_params())
    st.session_state["filters"] = chosen
    return chosen


# How posts are shown everywhere: text stays text (st.dataframe never renders HTML), links are links.
POST_COLUMNS = {
    "post_id": st.column_config.TextColumn("帖子ID"),
    "created_at": st.column_config.DatetimeColumn("发布时间", format="YYYY-MM-DD HH:mm"),
    "channel": "渠道", "site": "站点", "author_id": "作者", "title": "标题",
    "text": st.column_config.TextColumn("正文", width="large"),
    "sentiment_label": "情感", "sentiment_score": st.column_config.NumberColumn("正面概率", format="%.2f"),
    "post_type": "类型", "repost_count": "转发", "comment_count": "评论", "like_count": "点赞", "read_count": "阅读",
    "url": st.column_config.LinkColumn("链接", display_text="打开"),
    "topic": "话题", "region": "地域", "parent_id": None, "root_id": None,
    "similar": st.column_config.NumberColumn("相似数", help="同一事件的其他转载与改写副本", format="%d"),
    "first_at": st.column_config.DatetimeColumn("首发时间", format="YYYY-MM-DD HH:mm"), "first_site": "首发站点",
    "dup_cluster": None,
}


def _known(values: tuple[str, ...], options: list[str]) -> list[str]:
    return [v for v in values if v in options]


def current_filters() -> Filters:
    return st.session_state["filters"]


def actor() -> str:
    """Who is acting, for the audit log: the signed-in user, or the name typed in the sidebar."""
    user = current_user()
    return f"{user.name}（{user.login}）" if user else (st.session_state.get("actor") or "分析员")


def page_param(key: str, choices: list[str] | tuple[str, ...], default: str) -> str:
    """A page's own setting read from the URL (so drill-downs are links); unknown values fall back."""
    value = st.query_params.get(key)
    return value if value in choices else default


def set_page_param(key: str, value: str | None) -> None:
    if value is None:
        st.query_params.pop(key, None)
    else:
        st.query_params[key] = value


_MARKDOWN_SPECIALS = str.maketrans({c: "\\" + c for c in "\\`*_{}[]()#+-.!|<>~$"})


def plain(text) -> str:
    """Escape Markdown so names and titles from data show literally in headings and captions."""
    return str(text if text is not None else "").translate(_MARKDOWN_SPECIALS)


def overdue_red(row) -> list[str]:
    """Row style for deadline tables: overdue rows in red."""
    return ["color: #d62728; font-weight: 600" if row.get("is_overdue") else ""] * len(row)


def fmt_count(value) -> str:
    """A count as on the charts: 9,876 · 12.35万 · 1.2亿."""
    return charts.zh_count(int(value))


def fmt_time(value) -> str:
    """A moment as 月-日 时:分 in Shanghai time; empty as —."""
    if value is None or (not isinstance(value, str) and value != value):
        return "—"
    return f"{pd.Timestamp(value).tz_convert(config.TIMEZONE):%m-%d %H:%M}"


def fmt_pct(value) -> str:
    return "—" if value is None or value != value else f"{value:.1%}"


def fmt_change(value, *, points: bool = False) -> str | None:
    """Delta text for st.metric: relative change for counts, percentage points for ratios."""
    if value is None:
        return None
    return f"{value * 100:+.1f} 个百分点" if points else f"{value:+.1%}"
