"""What a briefing says: the period briefings (日志/周报/月报) and the incident briefing (专报/快报), each a
document model filled from the analysis functions; every number points to its appendix entry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd

from analysis import (
    alerts,
    cascades,
    charts,
    chronology,
    explain,
    grading,
    incident_edits,
    incidents,
    media,
    metrics,
    opinions,
    settings,
)
from analysis import wordcloud as cloud
from analysis.briefing.model import (
    DEFAULT_UNIT,
    KIND_TITLES,
    KINDS,
    KPI_TARGETS,
    MEDIA_CHANNELS,
    PENDING,
    PERIOD_WORDS,
    Briefing,
    Period,
    Progress,
    _clip,
    _count_change,
    _describe,
    _Doc,
    _hours,
    _int,
    _month_of,
    _pct,
    _points_change,
    _ts,
    _week_of,
    day_period,
    default_period,
    month_period,
    week_period,
)
from analysis.config import TIMEZONE
from analysis.filters import Filters
from analysis.policy import Policy
from analysis.store import Store

POST_LIST_COLUMNS = ["post_id", "created_at", "channel", "site", "title", "text", "url", "sentiment_label",
                     "repost_count", "comment_count", "like_count"]


def top_posts(store: Store, f: Filters, limit: int = 10, extra_sql: str = "", extra_params: list | None = None,
              order: str = "interactions DESC") -> pd.DataFrame:
    """The posts behind a number: most interactions first (ties: earliest, then id)."""
    where, params = f.where()
    return store.query(
        f"""SELECT {', '.join(POST_LIST_COLUMNS)}, repost_count + comment_count + like_count AS interactions
            FROM posts WHERE {where} {extra_sql}
            ORDER BY {order}, created_at, post_id LIMIT ?""",
        [*params, *(extra_params or []), limit],
    )


# -- period briefings (daily / weekly / monthly) ---------------------------------------------------------------
def build_period(store: Store, period: Period, unit: str = DEFAULT_UNIT, as_of: pd.Timestamp | None = None,
                 progress: Progress | None = None) -> Briefing:
    """舆情日志 / 周报 / 月报 for one period, compared with the period before."""
    say = progress or (lambda _message: None)
    f, prev = period.filters, period.previous_filters
    now = pd.Timestamp.now(tz=TIMEZONE)
    as_of = pd.Timestamp(as_of) if as_of is not None else min(now, f.end_ts)
    b = Briefing(period.kind, KIND_TITLES[period.kind], period.issue, unit, period.label, period.code, now)
    doc = _Doc(b)
    this, last = PERIOD_WORDS[period.kind]
    if as_of < f.end_ts:  # a period still running: like with like, the same elapsed hours of the period before
        prev = replace(prev, until=min(prev.end_ts, prev.start_ts + (as_of - f.start_ts)))
        f = replace(f, until=as_of)
        doc.para(f"注：本期尚未结束，统计截至{_ts(as_of)}；{last}按相同时长统计（截至{_ts(prev.end_ts)}）"
                 "后比较。", "warning")
    say("总体态势")
    _overview(store, doc, f, prev, this, last)
    say("舆情事件")
    _incident_section(store, doc, f, as_of, this)
    say("热点话题")
    _topic_section(store, doc, f, prev, this, last, period.kind)
    _channel_section(store, doc, f, this)
    say("网民主要观点")
    _opinion_section(store, doc, opinions.for_filters(store, f), this,
                     cloud.filter_terms(store, f, settings.keyword_stop_words(store)))
    _media_section(doc, media.tiered_posts(store, f, settings.media_directory(store)), this)
    say("传播分析")
    _cascade_section(store, doc, f, this)
    say("预警与考核")
    _alert_section(store, doc, f, this)
    _kpi_section(store, doc, f, as_of, this)
    _notes_section(store, doc, f, as_of)
    return b


def _overview(store: Store, doc: _Doc, f: Filters, prev: Filters, this: str, last: str) -> None:
    now, before = metrics.headline(store, f).current, metrics.headline(store, prev).current
    posts = _int(now["posts"])
    ref = doc.appendix(f"{this}信息总量及负面信息（按互动量排序的前10条帖子）", _describe(
        f, [("口径", "信息总量=时间范围内全部帖子（含原创、转发、评论/跟帖）；负面=情感标签为“负面”；"
                    "互动量=转发+评论+点赞")]), top_posts(store, f), posts)
    neg_ref = doc.appendix(f"{this}负面信息（按互动量排序的前10条）", _describe(f, [("情感", "负面")]),
                           top_posts(store, f, extra_sql="AND sentiment_label = ?", extra_params=["负面"]),
                           _int(now["negative"]))
    doc.section("总体态势")
    if posts == 0:
        doc.para(f"{this}未监测到相关信息。（{ref}）")
        return
    doc.para(
        f"{this}共监测到相关信息{posts}条，较{last}（{_int(before['posts'])}条）"
        f"{_count_change(posts, before['posts'])}；"
        f"其中原创{_int(now['originals'])}条、转发{_int(now['reposts'])}条、评论/跟帖{_int(now['comments'])}条，"
        f"来自{_int(now['channels'])}类渠道、{_int(now['sites'])}个站点。负面信息{_int(now['negative'])}条，"
        f"占比{_pct(now['negative_ratio'])}，"
        f"较{last}{_points_change(now['negative_ratio'], before['negative_ratio'])}。"
        f"（数据见{ref}、{neg_ref}）")
    rows = [
        ["信息总量（条）", posts, _int(before["posts"]), _count_change(posts, before["posts"])],
        ["其中：原创", _int(now["originals"]), _int(before["originals"]),
         _count_change(now["originals"], before["originals"])],
        ["转发", _int(now["reposts"]), _int(before["reposts"]), _count_change(now["reposts"], before["reposts"])],
        ["评论/跟帖", _int(now["comments"]), _int(before["comments"]),
         _count_change(now["comments"], before["comments"])],
        ["负面信息（条）", _int(now["negative"]), _int(before["negative"]),
         _count_change(now["negative"], before["negative"])],
        ["负面占比", _pct(now["negative_ratio"]), _pct(before["negative_ratio"]),
         _points_change(now["negative_ratio"], before["negative_ratio"])],
        ["涉及渠道（类）", _int(now["channels"]), _int(before["channels"]),
         _count_change(now["channels"], before["channels"])],
        ["涉及站点（个）", _int(now["sites"]), _int(before["sites"]), _count_change(now["sites"], before["sites"])],
        ["转发+评论+点赞", _int(now["repost_sum"] + now["comment_sum"] + now["like_sum"]),
         _int(before["repost_sum"] + before["comment_sum"] + before["like_sum"]),
         _count_change(now["repost_sum"] + now["comment_sum"] + now["like_sum"],
                       before["repost_sum"] + before["comment_sum"] + before["like_sum"])],
        ["热度指数", f"{now['heat']:.1f}", f"{before['heat']:.1f}", _count_change(now["heat"], before["heat"])],
    ]
    doc.table(["指标", this, last, "变化"], rows, f"表 主要指标（数据见{ref}）", key="headline")
    grain_word = "小时" if f.grain == "hour" else "日"
    doc.figure("trend", charts.volume_and_negativity(metrics.trend(store, f),
                                                     title=f"{this}分{grain_word}发帖量与负面占比"),
               f"{this}分{grain_word}发帖量与负面占比（数据见{ref}）",
               date_ticks="%H时" if f.grain == "hour" else "%m月%d日")


def _period_incidents(store: Store, f: Filters, as_of: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    listed = incidents.list_incidents(store)
    events = incidents.events_until(store, as_of)
    in_period = events[(events["occurred_at"] >= f.start_ts) & (events["occurred_at"] < f.end_ts)]
    seen = (listed["first_seen_at"] >= f.start_ts) & (listed["first_seen_at"] < f.end_ts)
    active = listed[seen | listed["incident_id"].isin(in_period["incident_id"])].copy()
    active["is_new"] = seen[active.index]
    return active.sort_values("first_seen_at").reset_index(drop=True), events


def _clocks(incident, events: pd.DataFrame, as_of: pd.Timestamp, office: Policy) -> pd.DataFrame:
    own = events[events["incident_id"] == incident.incident_id]
    return grading.clocks_for(incident.grade or "三级", own, grading.is_ticket_incident(incident.channels), as_of,
                              office.deadlines)


def _incident_section(store: Store, doc: _Doc, f: Filters, as_of: pd.Timestamp, this: str) -> None:
    active, events = _period_incidents(store, f, as_of)
    doc.section("重点舆情事件")
    if active.empty:
        doc.para(f"{this}无新发现或在办的舆情事件。")
        return
    new = active[active["is_new"]]
    by_grade = new["grade"].fillna("未定级").value_counts()
    grade_text = "、".join(f"{g}{n}起" for g, n in by_grade.items())
    closed = active["status"].isin(["已办结", "已归档"]).sum()
    posts = pd.concat([incidents.incident_posts(store, i)[POST_LIST_COLUMNS].assign(incident_id=i)
                       for i in active["incident_id"]], ignore_index=True)
    posts["interactions"] = posts["repost_count"] + posts["comment_count"] + posts["like_count"]
    shown = (posts.sort_values(["interactions", "created_at"], ascending=[False, True])
             .groupby("incident_id", sort=False).head(5))
    ref = doc.appendix(f"{this}舆情事件关联帖子（每起事件互动量前5条）", [
        ("事件", "首次发现于本期内，或本期内有处置记录的事件"),
        ("统计截至", _ts(as_of)), ("口径", "关联帖子=事件台账中人工或系统关联的帖子")], shown, len(posts))
    rows, clock_rows, met, missed, running = [], [], 0, 0, 0
    office = settings.policy(store)
    for number, incident in enumerate(active.itertuples(), start=1):
        clocks = _clocks(incident, events, as_of, office)
        ok = int(clocks["status"].isin(grading.ON_TIME_STATUSES).sum())
        late = int(clocks["is_overdue"].sum())
        open_ = int((clocks["status"] == grading.RUNNING).sum())
        met, missed, running = met + ok, missed + late, running + open_
        rows.append([number, incident.incident_id, _clip(incident.title, 40), incident.grade or "未定级",
                     incident.status, _ts(incident.first_seen_at), int(incident.posts),
                     f"按时{ok}/逾期{late}/进行中{open_}"])
        for clock in clocks.itertuples():
            clock_rows.append([incident.incident_id, clock.label, _ts(clock.hard_due_at), _ts(clock.done_at),
                               clock.status])
    doc.para(
        f"{this}涉及舆情事件{len(active)}起，其中新发现{len(new)}起" + (f"（{grade_text}）" if len(new) else "")
        + f"，截至{_ts(as_of)}已办结{closed}起。涉及处置时限{met + missed + running}项，按时完成{met}项，"
        f"逾期{missed}项，进行中{running}项。（关联帖子见{ref}）")
    doc.table(["序号", "事件编号", "事件名称", "等级", "状态", "首次发现", "关联帖子", "处置时限"], rows,
              f"表 {this}舆情事件一览（数据见{ref}）", key="incidents")
    if clock_rows:
        doc.table(["事件编号", "时限要求", "应完成时间", "实际完成时间", "状态"], clock_rows,
                  "表 处置时限执行情况（“超目标未超时限”计为按时）", key="deadlines")


def _topic_section(store: Store, doc: _Doc, f: Filters, prev: Filters, this: str, last: str, kind: str) -> None:
    now = metrics.breakdown(store, f, "topic")
    before = metrics.breakdown(store, prev, "topic").set_index("topic")
    doc.section("热点话题")
    if now.empty:
        doc.para(f"{this}无话题数据。")
        return
    top = now.head(8)
    refs = {}
    for topic in top["topic"].head(3):
        tf = replace(f, topics=(topic,))
        refs[topic] = doc.appendix(f"话题“{topic}”（按互动量排序的前5条）", _describe(tf), top_posts(store, tf, 5),
                                   int(top.loc[top["topic"] == topic, "posts"].iloc[0]))
    rows = []
    for row in top.itertuples():
        previous = before["posts"].get(row.topic, 0)
        rows.append([row.topic, int(row.posts), _int(previous), _count_change(row.posts, previous),
                     int(row.negative), _pct(row.negative_ratio), f"{row.heat:.1f}"])
    first = top.iloc[0]
    rises = [(r.topic, r.posts / before["posts"].get(r.topic, 0) - 1) for r in top.itertuples()
             if before["posts"].get(r.topic, 0) >= 10]
    rise_text = ""
    if rises:
        name, change = max(rises, key=lambda item: item[1])
        if change > 0:
            rise_text = f"较{last}增幅最大的是“{name}”（增长{change * 100:.1f}%）。"
    leaders = "、".join(f"“{r.topic}”（{int(r.posts)}条，{refs.get(r.topic, '')}）".replace("，）", "）")
                       for r in top.head(3).itertuples())
    doc.para(f"{this}发帖量居前的话题为{leaders}；其中“{first['topic']}”负面占比{_pct(first['negative_ratio'])}。"
             + rise_text)
    doc.table(["话题", this, last, "变化", "负面（条）", "负面占比", "热度指数"], rows, f"表 {this}热点话题",
              key="topics")
    names = top["topic"].head(5).tolist()
    ticks = "%H时" if f.grain == "hour" else "%m月%d日"
    trend = metrics.trend(store, replace(f, group_by="topic", topics=tuple(names)))
    topic_refs = "、".join(refs.values())
    doc.figure("topic_trend", charts.topic_lines(trend, "grp", f"{this}前五话题发帖量走势"),
               f"{this}前五话题发帖量走势（前三话题的帖子见{topic_refs}）", date_ticks=ticks)
    doc.figure("topic_heat", charts.topic_lines(trend, "grp", f"{this}前五话题热度指数走势", value="heat"),
               f"{this}前五话题热度指数走势（计算方法见“数据说明”）", date_ticks=ticks)
    kind_key = "region_topic" if kind == "daily" else "topic_day"
    cells = metrics.heatmap_cells(store, f, kind_key)
    row_label, col_label = metrics.HEATMAPS[kind_key][2:]
    hottest = cells.sort_values(["posts", "row_key", "col_key"], ascending=[False, True, True]).iloc[0]
    cell_ref = doc.appendix(
        f"热力图最热单元格：{row_label}“{hottest['row_key']}”×{col_label}“{hottest['col_key']}”（互动量前5条）",
        *_cell_query(store, f, kind_key, hottest))
    short = (lambda c: str(c)[5:]) if kind_key == "topic_day" else str  # 2026-11-19 -> 11-19
    matrix = metrics.heatmap_matrix(cells, "posts").rename(columns=short)
    doc.para(f"从{row_label}×{col_label}分布看，发帖最集中的是{row_label}“{hottest['row_key']}”在{col_label}"
             f"“{hottest['col_key']}”，共{int(hottest['posts'])}条，负面占比{_pct(hottest['negative_ratio'])}"
             f"（帖子见{cell_ref}）。")
    doc.figure("heatmap", charts.heatmap_figure(matrix, "posts", f"{row_label}×{col_label}发帖量", row_label,
                                                col_label),
               f"{row_label}×{col_label}发帖量热力图（最热单元格的帖子见{cell_ref}）")
    negative = metrics.heatmap_matrix(cells, "negative_ratio").head(8).rename(columns=short)
    doc.figure("heatmap_negative",
               charts.heatmap_figure(negative, "negative_ratio", f"{row_label}×{col_label}负面占比", row_label,
                                     col_label),
               f"{row_label}×{col_label}负面占比热力图（发帖量前八的{row_label}）")


def _opinion_section(store: Store, doc: _Doc, found: opinions.Opinions, this: str, terms: pd.DataFrame) -> None:
    """网民主要观点: each viewpoint's share, with its posts counted and its representative posts in an appendix;
    then the word cloud of the same posts' keywords (the page's image)."""
    doc.section("网民主要观点")
    _word_cloud(doc, terms, this)
    if not found.viewpoints:
        doc.para(f"{this}有原创内容的帖子{found.clustered}条，不足{opinions.MIN_POSTS}条，不归纳观点。")
        return
    reps = opinions.representatives(store, found)
    basis = f"{this}有原创内容的帖子按用词聚类，重复内容计一次，纯转发不计"
    refs = [doc.appendix(f"观点“{v.label}”（占比{v.share_pct:.1f}%，共{v.posts}条，最具代表性的{len(v.medoids)}条）",
                         [("口径", basis)], reps[reps["group"] == group].drop(columns=["group", "viewpoint", "rank"]),
                         v.posts)
            for group, v in enumerate(found.viewpoints)]
    sample = f"（按帖子ID固定抽样{found.sampled_from}条）" if found.sampled_from < found.total else ""
    doc.para(f"{this}有原创内容的帖子{found.clustered}条{sample}（已排除纯转发{found.pure_reposts}条、重复内容"
             f"{found.duplicates}条），按用词归纳为{len(found.viewpoints)}类观点：{found.summary()}。"
             f"（各观点的代表性帖子见{refs[0]}至{refs[-1]}）")
    doc.table(["观点", "占比", "帖子（条）", "负面/中性/正面（条）", "代表性帖子", "帖子见"],
              [[v.label, f"{v.share_pct:.1f}%", v.posts, "/".join(str(v.sentiment[s]) for s in opinions.SENTIMENTS),
                "、".join(v.medoids), ref] for v, ref in zip(found.viewpoints, refs, strict=True)],
              "表 网民主要观点", key="opinions")


def _media_section(doc: _Doc, posts: pd.DataFrame, this: str) -> None:
    """媒体报道情况: which 央媒/省媒/市媒, 政务号, platforms and overseas media carried it, and the 意见领袖."""
    doc.section("媒体报道情况")
    activity = media.media_activity(posts)
    if activity.empty:
        doc.para(f"{this}无媒体、政务号或平台发布的报道（均为自媒体/网民帖子）。")
        return
    rows = []
    for tier, part in activity.groupby("tier", sort=False):
        first = part.sort_values(["first_at", "first_post_id"]).iloc[0]
        rows.append([tier, len(part), int(part["posts"].sum()), "、".join(part["publisher"].head(6)),
                     f"{first['publisher']} {_ts(first['first_at'])}（{first['first_post_id']}）"])
    doc.para(f"{this}参与报道或发布的媒体与账号{len(activity)}个：" + "；".join(
        f"{r[0]}{r[1]}家（{r[3]}）" for r in rows) + "。层级依据“媒体与账号名录”设置；评论/跟帖不计为报道。")
    doc.table(["层级", "媒体/账号（个）", "发布（条）", "主要媒体/账号", "首家（时间、帖子ID）"], rows,
              "表 媒体报道情况", key="media")
    leaders = media.opinion_leaders(posts, "reach", 10)
    doc.table(["媒体/账号", "层级", "认证", "粉丝数", "发布（条）", "互动量", "带动转发/评论（条）"],
              [[r.publisher, r.tier, r.verified if isinstance(r.verified, str) else "—",
                "—" if pd.isna(r.followers) else f"{int(r.followers):,}", int(r.posts), int(r.interactions),
                int(r.downstream)] for r in leaders.itertuples()], "表 意见领袖（按互动量）", key="leaders")


def _word_cloud(doc: _Doc, terms: pd.DataFrame, this: str) -> None:
    if terms.empty:
        return
    fig = cloud.figure(terms, f"{this}高频词词云")
    top = "、".join(f"{t.keyword}（{int(t.posts)}）" for t in terms.head(10).itertuples())
    if fig is None:
        doc.para(cloud.NO_FONT_ZH.replace("词表见下", f"高频词：{top}"), "warning")
        return
    doc.figure("wordcloud", fig, f"{this}高频词词云（{cloud.COLOURS_ZH}高频词：{top}）")


def _explanation(doc: _Doc, why: explain.Explanation | None, ref: str) -> None:
    """成因: what drove the incident against its topic's week before (the incident page shows the same)."""
    if why is None or not why.posts or not why.baseline_posts:
        return
    doc.para(f"成因分析（事件{why.posts}条帖子对比{why.baseline_scope}基线{why.baseline_posts}条，"
             f"{why.baseline_start[:10]}至{why.baseline_end[:10]}）：{why.summary()}。（帖子见{ref}）")


def _cell_query(store: Store, f: Filters, kind: str, cell: pd.Series) -> tuple[list, pd.DataFrame, int]:
    """Filters and top posts of one heatmap cell (topic × day or region × topic)."""
    if kind == "topic_day":
        day = dt.date.fromisoformat(str(cell["col_key"]))
        cf = Filters(day, day, topics=(str(cell["row_key"]),), until=f.until)
    else:
        region = str(cell["row_key"])
        cf = replace(f, grain="day", topics=(str(cell["col_key"]),), regions=(region,) if region != "未知" else ())
    extra = "AND region IS NULL" if kind == "region_topic" and str(cell["row_key"]) == "未知" else ""
    filters = [(k, "未填写" if k == "地域" and extra else v) for k, v in _describe(cf)]
    return filters, top_posts(store, cf, 5, extra_sql=extra), int(cell["posts"])


def _channel_section(store: Store, doc: _Doc, f: Filters, this: str) -> None:
    frame = metrics.breakdown(store, f, "channel")
    doc.section("渠道分布")
    if frame.empty:
        doc.para(f"{this}无渠道数据。")
        return
    top = frame.head(10)
    total = int(frame["posts"].sum())
    lead = top.iloc[0]
    cf = replace(f, channels=(str(lead["channel"]),))
    ref = doc.appendix(f"渠道“{lead['channel']}”（互动量前5条）", _describe(cf), top_posts(store, cf, 5),
                       int(lead["posts"]))
    doc.para(f"{this}信息主要来自“{lead['channel']}”（{int(lead['posts'])}条，占{_pct(lead['posts'] / total)}，"
             f"帖子见{ref}）；负面占比最高的渠道（不少于20条）为" + _worst_channel(frame) + "。")
    doc.table(["渠道", "发帖量", "占比", "负面（条）", "负面占比"],
              [[r.channel, int(r.posts), _pct(r.posts / total), int(r.negative), _pct(r.negative_ratio)]
               for r in top.itertuples()], f"表 {this}渠道分布（前十）", key="channels")
    doc.figure("channels", charts.breakdown_bars(top, "channel", f"{this}各渠道发帖量及负面信息"),
               f"{this}各渠道发帖量及负面信息（数据见{ref}）")


def _worst_channel(frame: pd.DataFrame) -> str:
    enough = frame[frame["posts"] >= 20]
    if enough.empty:
        return "（无）"
    worst = enough.sort_values(["negative_ratio", "posts"], ascending=False).iloc[0]
    return f"“{worst['channel']}”（{_pct(worst['negative_ratio'])}）"


def period_cascades(store: Store, f: Filters, limit: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The largest repost/comment trees among the period's posts (trees by root_id): stats and root posts."""
    where, params = f.where()
    roots = store.query(f"""SELECT root_id, count(*) AS n FROM posts WHERE {where} AND root_id IS NOT NULL
                            GROUP BY root_id ORDER BY n DESC, root_id LIMIT ?""", [*params, limit])
    if roots.empty:
        return pd.DataFrame(columns=cascades.STATS_COLUMNS), pd.DataFrame(columns=POST_LIST_COLUMNS)
    ids = roots["root_id"].tolist()
    marks = ", ".join("?" for _ in ids)
    nodes = store.query(
        f"""SELECT coalesce(root_id, post_id) AS cascade_id, post_id AS mid, parent_id AS parent_mid, created_at
            FROM posts WHERE {where} AND (root_id IN ({marks}) OR post_id IN ({marks}))""", [*params, *ids, *ids])
    stats = cascades.cascade_stats(nodes)
    stats = stats.set_index("cascade_id").loc[[i for i in ids if i in set(stats["cascade_id"])]].reset_index()
    stats = stats.sort_values(["size", "cascade_id"], ascending=[False, True]).reset_index(drop=True)
    root_posts = store.query(f"SELECT {', '.join(POST_LIST_COLUMNS)}, repost_count + comment_count + like_count "
                             f"AS interactions FROM posts WHERE post_id IN ({marks})", ids)
    return stats, root_posts


def _cascade_section(store: Store, doc: _Doc, f: Filters, this: str) -> None:
    stats, roots = period_cascades(store, f)
    doc.section("传播分析")
    if stats.empty:
        doc.para(f"{this}未发现转发/评论传播链。")
        return
    ordered = roots.set_index("post_id").reindex(stats["cascade_id"].tolist()).rename_axis("post_id").reset_index()
    ref = doc.appendix(f"{this}主要传播链的源帖", _describe(f, [
        ("口径", "传播链=同一源帖（root_id）下本期内的全部转发、评论；规模含源帖（源帖在本期内时）"),
        ("关键节点", "；".join(f"{s.cascade_id}：" + "、".join(f"{k['mid']}（{k['size']}）" for k in s.key_nodes[:3])
                              for s in stats.itertuples()))]), ordered)
    first = stats.iloc[0]
    doc.para(f"{this}规模最大的传播链源自{first['cascade_id']}（{_clip(ordered.iloc[0]['channel'], 10)}），"
             f"共{int(first['size'])}条，最大深度{int(first['depth'])}层，单层最多{int(first['max_breadth'])}条；"
             f"半数传播在源帖发布后{_minutes(first['t50_minutes'])}内完成。（源帖见{ref}）")
    rows, labels = [], []
    for number, (s, root) in enumerate(zip(stats.itertuples(), ordered.itertuples(), strict=True), start=1):
        label = _clip(root.title if isinstance(root.title, str) and root.title else root.text, 24)
        labels.append(f"{number}. {label}")
        rows.append([number, s.cascade_id, _clip(root.channel, 8), label, int(s.size), int(s.depth),
                     int(s.max_breadth), f"{s.structural_virality:.2f}", _minutes(s.t50_minutes)])
    doc.table(["序号", "源帖ID", "渠道", "源帖摘要", "规模", "深度", "最大宽度", "结构病毒性", "半数传播用时"], rows,
              f"表 {this}主要传播链（数据见{ref}）", key="cascades")
    doc.figure("cascades", charts.cascade_bars(stats, labels, f"{this}主要传播链规模"), f"{this}主要传播链规模")


def _minutes(value) -> str:
    if value is None or pd.isna(value):
        return "—"
    return f"{value:.0f}分钟" if value < 120 else f"{value / 60:.1f}小时"


def period_alerts(store: Store, f: Filters) -> pd.DataFrame:
    """Alerts fired inside the period, oldest first (the alert log owns the table)."""
    fired = alerts.list_alerts(store, since=f.start_ts, until=f.end_ts)
    return fired.sort_values(["fired_at", "alert_id"], ignore_index=True)


def _alert_section(store: Store, doc: _Doc, f: Filters, this: str) -> None:
    fired = period_alerts(store, f)
    doc.section("预警情况")
    if fired.empty:
        doc.para(f"{this}未触发预警。")
        return
    names = {"high": "高", "medium": "中", "low": "低"}
    by_severity = fired["severity"].map(lambda s: names.get(s, s)).value_counts()
    states = {"new": "未处理", "acknowledged": "已确认", "closed": "已关闭"}
    by_state = fired["state"].map(lambda s: states.get(s, s)).value_counts()
    doc.para(f"{this}共触发预警{len(fired)}条（" + "、".join(f"{k}级{v}条" for k, v in by_severity.items())
             + "），其中" + "、".join(f"{k}{v}条" for k, v in by_state.items()) + "。")
    shown = fired.sort_values(["severity", "fired_at"], key=lambda c: c.map({"high": 0, "medium": 1, "low": 2})
                              if c.name == "severity" else c).head(15)
    doc.table(["触发时间", "级别", "规则", "对象", "预警内容", "状态", "合并次数"],
              [[_ts(a.fired_at), names.get(a.severity, a.severity), _clip(a.rule_name, 16), _clip(a.subject, 16),
                _clip(a.message, 60),
                states.get(a.state, a.state), int(a.merged_count)] for a in shown.itertuples()],
              f"表 {this}预警记录（按级别排序，最多15条）", key="alerts")


def _kpi_section(store: Store, doc: _Doc, f: Filters, as_of: pd.Timestamp, this: str) -> None:
    k = incidents.kpis(store, f.start_ts, f.end_ts, now=as_of)
    doc.section("工作成效")
    if not k["incidents"]:
        doc.para(f"{this}无新发现事件，不计算处置考核指标。")
        return
    doc.para(f"{this}新发现舆情事件{k['incidents']}起，化解率{_pct(k['resolution_rate'])}，"
             f"公开回应率{_pct(k['reply_rate'])}，平均响应时长{_hours(k['mean_response_hours'])}，"
             f"逾期未完成时限{k['overdue']}项（统计截至{_ts(as_of)}）。")
    rows = [["新发现事件（起）", k["incidents"], "—"],
            ["分级", "、".join(f"{g}{n}起" for g, n in k["by_grade"].items()) or "—", "—"],
            ["化解率（已办结/归档）", _pct(k["resolution_rate"]), KPI_TARGETS["resolution_rate"]],
            ["公开回应率", _pct(k["reply_rate"]), KPI_TARGETS["reply_rate"]],
            ["平均响应时长（发现→首次公开回应）", _hours(k["mean_response_hours"]), KPI_TARGETS["mean_response_hours"]],
            ["响应时长P90", _hours(k["p90_response_hours"]), "—"],
            *[[f"按时率：{step}", _pct(rate), "100%"] for step, rate in k["on_time_rate"].items()],
            ["逾期未完成时限（项）", k["overdue"], "0"]]
    doc.table(["指标", "实际", "参考目标"], rows, "表 处置考核指标", key="kpis")


def _notes_section(store: Store, doc: _Doc, f: Filters, as_of: pd.Timestamp) -> None:
    where, params = f.where()
    models = store.query(f"SELECT sentiment_model, count(*) AS n FROM posts WHERE {where} GROUP BY 1 ORDER BY n DESC",
                         params)
    doc.section("数据说明")
    doc.para("1. " + metrics.HEAT_FORMULA_ZH, "note")
    model_text = "、".join(f"{m.sentiment_model}（{m.n}条）" for m in models.itertuples()) or "—"
    doc.para(f"2. 情感判别模型：{model_text}；负面占比为负面帖子数/帖子总数，未经人工逐条复核的以模型结果为准。",
             "note")
    doc.para(f"3. 时间均为北京时间；事件状态、处置时限统计截至{_ts(as_of)}。文中“附N”对应文末附件所列查询条件"
             "和帖子，可据此在台账中复核每一个数字。", "note")


# -- incident briefing (专报 / 快报) ----------------------------------------------------------------------------
def build_incident(store: Store, incident_id: str, unit: str = DEFAULT_UNIT, as_of: pd.Timestamp | None = None,
                   progress: Progress | None = None) -> Briefing:
    """舆情专报 (快报 while the incident is still being handled) following the basic-facts template."""
    say = progress or (lambda _message: None)
    now = pd.Timestamp.now(tz=TIMEZONE)
    as_of = pd.Timestamp(as_of) if as_of is not None else now
    inc = incidents.listed_incident(store, incident_id)
    posts = incidents.incident_posts(store, incident_id)
    events = incidents.events(store, incident_id)
    events = events[events["occurred_at"] <= as_of]
    grades = incidents.grade_history(store, incident_id)
    open_ = inc["status"] in incidents.OPEN_STATUSES
    work = incident_edits.work_fields(store, incident_id)
    b = Briefing("incident", "舆情快报" if open_ else "舆情专报", f"事件编号 {incident_id}", unit,
                 _clip(inc["title"], 80), incident_id, now)
    doc = _Doc(b)
    say("基本情况")
    posts = posts.assign(interactions=posts["repost_count"] + posts["comment_count"] + posts["like_count"])
    ref_all = doc.appendix("事件关联帖子（按时间顺序，最多50条）", [
        ("事件", f"{incident_id} {inc['title']}"), ("口径", "事件台账中关联的全部帖子"), ("统计截至", _ts(as_of))],
        posts.head(50)[[*POST_LIST_COLUMNS, "interactions"]], len(posts))
    office = settings.policy(store)
    _basic_facts(doc, inc, posts, events, ref_all, work["facts"], office.mainstream_sites)
    _work_section(doc, work)
    say("事件脉络")
    milestones = chronology.chronology(posts, office.mainstream_sites, settings.media_directory(store))
    _chronology_section(doc, milestones, ref_all)
    say("定级与处置")
    doc.section("事件等级及依据")
    reasons = inc["reasons"]
    doc.para(f"当前等级：{inc['grade'] or '未定级'}（{inc['tier_set']}分级体系）。定级依据：" + (
        "；".join(reasons) if reasons else PENDING) + "。")
    if not grades.empty:
        doc.table(["定级时间", "等级", "依据", "方式", "操作人"],
                  [[_ts(g.graded_at), g.grade, "；".join(list(g.reasons)), "人工调整" if g.is_override else "系统计算",
                    g.actor] for g in grades.itertuples()], "表 定级记录", key="grades")
    doc.section("处置进程")
    if events.empty:
        doc.para(f"暂无处置记录（{PENDING}）。")
    else:
        doc.table(["时间", "环节", "记录人", "说明"],
                  [[_ts(e.occurred_at), e.step, e.actor, _clip(e.note, 80)] for e in events.itertuples()],
                  "表 处置时间线", key="timeline")
    row = inc.copy()
    row["incident_id"] = incident_id
    clocks = _clocks(_Row(row), events.assign(incident_id=incident_id), as_of, office)
    if not clocks.empty:
        doc.table(["时限要求", "起算时间", "应完成时间", "实际完成时间", "状态"],
                  [[c.label, _ts(c.anchor_at), _ts(c.hard_due_at), _ts(c.done_at),
                    c.status if c.done_at is not pd.NaT and pd.notna(c.done_at)
                    else f"{c.status}（{incidents.format_minutes(c.minutes_left)}）"]
                   for c in clocks.itertuples()], "表 处置时限", key="deadlines")
    if not posts.empty:
        hours = (posts.assign(hour=posts["created_at"].dt.floor("h"),
                              negative=posts["sentiment_label"].eq("负面").astype(int))
                 .groupby("hour", as_index=False).agg(posts=("post_id", "size"), negative=("negative", "sum")))
        doc.figure("timeline", charts.hourly_volume(hours, "事件每小时发帖量与处置节点", events),
                   f"事件每小时发帖量与处置节点（数据见{ref_all}）", date_ticks="%m月%d日 %H时")
    say("传播态势")
    _incident_spread(doc, posts, ref_all, office.mainstream_sites)
    _explanation(doc, explain.explain_incident(store, incident_id), ref_all)
    _opinion_section(store, doc, opinions.for_posts(posts), "事件中",
                     cloud.terms_of_posts(posts, stop_words=settings.keyword_stop_words(store)))
    _media_section(doc, media.tiered(store, posts, settings.media_directory(store)), "事件中")
    _representative(doc, posts, office.mainstream_sites)
    return b


class _Row:
    """Attribute access to a Series (so `_clocks` takes list rows and itertuples alike)."""

    def __init__(self, series: pd.Series):
        self.__dict__.update(series.to_dict())


def _basic_facts(doc: _Doc, inc: pd.Series, posts: pd.DataFrame, events: pd.DataFrame, ref: str,
                 filled: dict[str, str], mainstream_sites: tuple[str, ...]) -> None:
    """The basic-facts template: what the analyst filled in (incident_edits.set_work_fields) stands; the rest is
    computed from the posts and events, or marked 待核实."""
    doc.section("基本情况")
    found = events.loc[events["step"] == "监测发现", "occurred_at"]
    if posts.empty:
        time_text, place_text = f"首次发现{_ts(inc['first_seen_at'])}；关联帖子{PENDING}", inc["region"] or PENDING
        casualty, attitude = PENDING, PENDING
    else:
        peak = posts["created_at"].dt.floor("h").value_counts().sort_index().idxmax()
        peak_n = int((posts["created_at"].dt.floor("h") == peak).sum())
        time_text = (f"首条相关信息{_ts(posts['created_at'].min())}；"
                     f"监测发现{_ts(found.min() if len(found) else None)}；"
                     f"峰值时段{_ts(peak)}起1小时内{peak_n}条")
        regions = pd.Series([r for r in [inc["region"]] if r])
        place_text = (inc["region"] or PENDING) + ("" if regions.empty else "（以事件台账为准，具体地点待核实）")
        mentions = posts["text_norm"].fillna("").str.contains("|".join(incidents.CASUALTY_WORDS))
        casualty = (f"{int(mentions.sum())}条帖子提及伤亡相关词语，具体伤亡人数{PENDING}"
                    if mentions.any() else f"相关帖子未提及伤亡（{PENDING}）")
        media = posts["channel"].isin(MEDIA_CHANNELS)
        public = posts[~media]
        mainstream = sorted(set(posts["site"].dropna()) & set(mainstream_sites))
        replies = int((events["step"] == "公开回应").sum())
        public_ratio = public["sentiment_label"].eq("负面").mean() if len(public) else None
        media_ratio = posts.loc[media, "sentiment_label"].eq("负面").mean() if media.any() else None
        attitude = (f"网民：{len(public)}条，负面占比{_pct(public_ratio)}；"
                    f"媒体：{int(media.sum())}条" + (f"（主流媒体：{'、'.join(mainstream)}）" if mainstream else "")
                    + f"，负面占比{_pct(media_ratio)}；"
                    f"官方：公开回应{replies}次")
    measures = events[events["step"].isin(["批办/交办", "处置", "公开回应", "办结/化解"])]
    measures_text = "；".join(f"{_ts(e.occurred_at, '%m-%d %H:%M')} {e.step}：{_clip(e.note, 50)}"
                             for e in measures.itertuples()) or PENDING
    rows = [["时间", time_text, "帖子发布时间、处置记录"],
            ["地点", place_text, "事件台账"],
            ["类别", inc["topic"] or PENDING, "事件台账（话题）"],
            ["伤亡", casualty, "帖子文本关键词计数"],
            ["损失", PENDING, "无可计量数据"],
            ["各方态度", attitude, "帖子情感标签、渠道"],
            ["已采取措施", measures_text, "处置记录"]]
    rows = [[name, filled[name], "分析员填写"] if filled.get(name) else [name, text, basis]
            for name, text, basis in rows]
    doc.para(f"{_ts(inc['first_seen_at'])}监测发现“{_clip(inc['title'], 60)}”相关舆情，截至目前共关联帖子"
             f"{len(posts)}条，事件当前状态为“{inc['status']}”。基本情况如下（未能从数据中计量的项目标注“{PENDING}”，"
             f"帖子见{ref}）：")
    doc.table(["项目", "内容", "依据"], rows, "表 基本情况", key="facts")


def _work_section(doc: _Doc, work: dict) -> None:
    doc.section("工作情况")
    instruction = work["instruction"] or "暂无"
    if work["instruction"]:
        who = f"{work['instruction_by']}，" if work["instruction_by"] else ""
        instruction += f"（{who}{_ts(work['instruction_at'])}）"
    response = "暂无"
    if work["response_url"] or work["response_channel"]:
        response = "，".join(v for v in (work["response_channel"], work["response_url"]) if v)
    doc.table(["项目", "内容"], [["承办单位", work["responsible_unit"] or PENDING], ["领导批示", instruction],
                                 ["公开回应", response]], "表 工作情况", key="work")


def _chronology_section(doc: _Doc, milestones: pd.DataFrame, ref: str) -> None:
    doc.section("事件脉络")
    if milestones.empty:
        doc.para(f"暂无关联帖子（{PENDING}）。")
        return
    doc.para(f"由关联帖子自动梳理（帖子见{ref}）：")
    doc.table(["节点", "时间", "渠道/站点", "说明", "帖子ID", "内容摘要", "链接"],
              [[m.milestone, _ts(m.at), f"{m.channel}/{m.site or '—'}", m.detail, m.post_id, m.excerpt, m.url or ""]
               for m in milestones.itertuples()], "表 事件脉络", key="chronology")


def _incident_spread(doc: _Doc, posts: pd.DataFrame, ref: str, mainstream_sites: tuple[str, ...]) -> None:
    doc.section("传播态势")
    if posts.empty:
        doc.para(f"暂无关联帖子（{PENDING}）。")
        return
    times = posts["created_at"].sort_values()
    hourly_peak = int(posts["created_at"].dt.floor("h").value_counts().max())
    mainstream = sorted(set(posts["site"].dropna()) & set(mainstream_sites))
    heat = float(metrics.heat_index(len(posts), posts["repost_count"].sum(), posts["comment_count"].sum(),
                                    posts["like_count"].sum()))
    rows = [["关联帖子（条）", len(posts)],
            ["原创/转发/评论", "/".join(str(int(posts["post_type"].eq(t).sum()))
                                     for t in ("original", "repost", "comment"))],
            ["涉及渠道（类）/站点（个）", f"{posts['channel'].nunique()}/{posts['site'].nunique()}"],
            ["主流媒体", "、".join(mainstream) or "无"],
            ["境外媒体帖子（条）", int(posts["channel"].eq("境外媒体").sum())],
            ["自然小时最高发帖（条）", hourly_peak],
            ["持续时间", f"{(times.iloc[-1] - times.iloc[0]).total_seconds() / 3600:.1f}小时"],
            ["转发+评论+点赞", int(posts["interactions"].sum())],
            ["负面占比", _pct(posts["sentiment_label"].eq("负面").mean())],
            ["热度指数", f"{heat:.1f}"]]
    doc.para(f"事件共关联帖子{len(posts)}条，涉及{posts['channel'].nunique()}类渠道；自然小时发帖最多{hourly_peak}条，"
             f"负面占比{_pct(posts['sentiment_label'].eq('负面').mean())}。（帖子见{ref}）")
    doc.table(["指标", "数值"], rows, "表 传播指标", key="spread")
    channels = posts["channel"].value_counts()
    doc.table(["渠道", "帖子（条）", "占比"], [[c, int(n), _pct(n / len(posts))] for c, n in channels.items()],
              "表 渠道分布", key="incident_channels")
    tree = posts.assign(cascade_id=posts["root_id"].fillna(posts["post_id"]))
    tree = tree[tree["cascade_id"].isin(tree.loc[tree["root_id"].notna(), "root_id"])]
    if not tree.empty:
        stats = cascades.cascade_stats(tree.rename(columns={"post_id": "mid", "parent_id": "parent_mid"})
                                       [["cascade_id", "mid", "parent_mid", "created_at"]])
        stats = stats.sort_values(["size", "cascade_id"], ascending=[False, True]).head(5)
        doc.table(["源帖ID", "规模", "深度", "最大宽度", "结构病毒性", "半数传播用时", "关键节点"],
                  [[s.cascade_id, int(s.size), int(s.depth), int(s.max_breadth), f"{s.structural_virality:.2f}",
                    _minutes(s.t50_minutes), "、".join(f"{k['mid']}（{k['size']}）" for k in s.key_nodes[:3])]
                   for s in stats.itertuples()], "表 主要传播链", key="incident_cascades")


def _representative(doc: _Doc, posts: pd.DataFrame, mainstream_sites: tuple[str, ...]) -> None:
    doc.section("代表性帖子")
    if posts.empty:
        doc.para(f"暂无关联帖子（{PENDING}）。")
        return
    earliest = posts.sort_values(["created_at", "post_id"]).head(3).assign(why="最早发布")
    loudest = (posts.sort_values(["interactions", "created_at"], ascending=[False, True]).head(5)
               .assign(why="互动量最高"))
    media = posts[posts["site"].isin(mainstream_sites)].sort_values("created_at").head(3).assign(why="主流媒体")
    chosen = pd.concat([earliest, loudest, media]).drop_duplicates("post_id")
    doc.table(["入选原因", "帖子ID", "时间", "渠道/站点", "内容摘要", "互动量", "情感"],
              [[p.why, p.post_id, _ts(p.created_at), f"{p.channel}/{p.site}", _clip(p.title or p.text, 60)
                if isinstance(p.title, str) and p.title else _clip(p.text, 60), int(p.interactions), p.sentiment_label]
               for p in chosen.itertuples()], "表 代表性帖子", key="representative")


# -- orchestration ---------------------------------------------------------------------------------------------
def build(store: Store, kind: str, *, date: str | None = None, week: str | None = None, month: str | None = None,
          incident_id: str | None = None, unit: str = DEFAULT_UNIT, as_of: pd.Timestamp | None = None,
          progress: Progress | None = None) -> Briefing:
    if kind == "incident":
        if not incident_id:
            raise ValueError("专报须给出事件编号")
        return build_incident(store, incident_id, unit, as_of, progress)
    if kind == "daily":
        period = day_period(dt.date.fromisoformat(date)) if date else default_period(store, kind)
    elif kind == "weekly":
        period = week_period(week) if week else (_week_of(dt.date.fromisoformat(date)) if date
                                                  else default_period(store, kind))
    elif kind == "monthly":
        period = month_period(month) if month else (_month_of(dt.date.fromisoformat(date)) if date
                                                     else default_period(store, kind))
    else:
        raise ValueError(f"未知的报告类型：{kind}（可选：{'、'.join(KINDS)}）")
    return build_period(store, period, unit, as_of, progress)
