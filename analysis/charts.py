"""Pure Plotly figure builders shared by the pages and the briefing; they never call Streamlit."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

NEGATIVE_RED = "#d62728"
POSITIVE_GREEN = "#2ca02c"
NEUTRAL_GREY = "#9e9e9e"
POST_TYPE_COLOURS = {"originals": "#1f77b4", "comments": "#7fb3e0", "reposts": "#c6dbef"}
POST_TYPE_NAMES = {"originals": "原创", "comments": "评论/跟帖", "reposts": "转发"}
FONT = "Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, PingFang SC, sans-serif"


def _layout(fig: go.Figure, title: str, height: int = 360) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "font": {"size": 15}},
        font={"family": FONT, "size": 12},
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.15, "x": 0},
        plot_bgcolor="white",
        hovermode="x unified",
    )
    fig.update_xaxes(showgrid=False)
    fig.update_yaxes(gridcolor="#eeeeee")
    return fig


# Plotly names months and weekdays in English ("Nov 8, 2026"), and its zh-CN locale is not bundled with
# Streamlit's plotly.js; so every date axis gets Chinese formats for each zoom level (d3: %-m = unpadded month).
DATE_TICKS = (
    {"dtickrange": [None, 60_000], "value": "%H:%M:%S"},
    {"dtickrange": [60_000, 86_400_000], "value": "%H:%M<br>%-m月%-d日"},
    {"dtickrange": [86_400_000, "M1"], "value": "%-m月%-d日"},
    {"dtickrange": ["M1", "M12"], "value": "%Y年%-m月"},
    {"dtickrange": ["M12", None], "value": "%Y年"},
)


def _chinese_dates(fig: go.Figure, moments) -> None:
    """Chinese tick labels on the date x axis, and hover dates with the hour unless every moment is a whole day."""
    stamps = pd.to_datetime(pd.Series(moments))
    whole_days = bool(len(stamps)) and bool((stamps == stamps.dt.normalize()).all())
    fig.update_xaxes(type="date", tickformatstops=list(DATE_TICKS),
                     hoverformat="%Y年%-m月%-d日" if whole_days else "%Y年%-m月%-d日 %H:%M")


def zh_count(value: float) -> str:
    """A count as an office writes it: 9,876 · 12.3万 · 1.23亿 (万 from 100,000, where digits stop reading)."""
    if value != value:
        return ""
    if abs(value) >= 1e8:
        return f"{value / 1e8:.3g}亿"
    if abs(value) >= 1e5:
        return f"{value / 1e4:.4g}万"
    return f"{value:,.0f}"


def _nice_step(top: float, ticks: int = 5) -> float:
    raw = max(top, 1) / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)


def _count_axis(fig: go.Figure, top: float, axis: str = "y", **selector) -> None:
    """Whole-number ticks on a count axis (never Plotly's "15k" or "0.5"); 万/亿 labels once counts are large."""
    update = fig.update_yaxes if axis == "y" else fig.update_xaxes
    if top < 1e5:
        update(tickformat=",d", hoverformat=",d", **selector)
        return
    step = _nice_step(top)
    values = [step * i for i in range(int(top // step) + 2)]
    unit, name = (1e8, "亿") if top >= 1e8 else (1e4, "万")   # one unit along the axis: 0, 5万, 10万 …
    update(tickmode="array", tickvals=values, ticktext=[f"{v / unit:g}{name}" if v else "0" for v in values],
           hoverformat=",d", **selector)


def volume_and_negativity(trend: pd.DataFrame, title: str = "发帖量与负面占比") -> go.Figure:
    """Stacked volume by post type (so reposts never pass for volume) with the negative ratio and its 95 % band."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    for column in ("originals", "comments", "reposts"):
        fig.add_bar(x=trend["bucket"], y=trend[column], name=POST_TYPE_NAMES[column],
                    marker_color=POST_TYPE_COLOURS[column], secondary_y=False)
    fig.add_scatter(x=trend["bucket"], y=trend["negative_ratio_high"], mode="lines", line={"width": 0},
                    showlegend=False, hoverinfo="skip", secondary_y=True)
    fig.add_scatter(x=trend["bucket"], y=trend["negative_ratio_low"], mode="lines", line={"width": 0},
                    fill="tonexty", fillcolor="rgba(214,39,40,0.15)", name="负面占比95%区间",
                    hoverinfo="skip", secondary_y=True)
    fig.add_scatter(x=trend["bucket"], y=trend["negative_ratio"], mode="lines+markers", name="负面占比",
                    line={"color": NEGATIVE_RED, "width": 2}, marker={"size": 4}, secondary_y=True)
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title_text="发帖量", secondary_y=False)
    _count_axis(fig, float(trend["posts"].max()) if len(trend) else 0, secondary_y=False)
    fig.update_yaxes(title_text="负面占比", tickformat=".0%", hoverformat=".1%", rangemode="tozero",
                     secondary_y=True, showgrid=False)
    _chinese_dates(fig, trend["bucket"])
    return _layout(fig, title)


def breakdown_bars(frame: pd.DataFrame, dimension: str, title: str) -> go.Figure:
    """Horizontal bars: negative posts in red, the rest in grey, largest on top."""
    ordered = frame.sort_values("posts")
    fig = go.Figure()
    fig.add_bar(y=ordered[dimension], x=ordered["negative"], name="负面", orientation="h",
                marker_color=NEGATIVE_RED,
                customdata=ordered["negative_ratio"], hovertemplate="负面 %{x}（占比 %{customdata:.1%}）")
    fig.add_bar(y=ordered[dimension], x=ordered["posts"] - ordered["negative"], name="非负面",
                orientation="h", marker_color=NEUTRAL_GREY)
    fig.update_layout(barmode="stack", hovermode="y unified")
    _count_axis(fig, float(ordered["posts"].max()) if len(ordered) else 0, axis="x")
    return _layout(fig, title, height=max(260, 26 * len(ordered) + 80))


# -- briefing builders (analysis.briefing uses them; pages may too) ---------------------------------------
def heatmap_figure(matrix: pd.DataFrame, measure: str, title: str, row_label: str = "", col_label: str = "",
                   height: int | None = None) -> go.Figure:
    """A heatmap of `metrics.heatmap_matrix` output; ratios in red shades with % labels, counts in blues."""
    is_ratio = measure == "negative_ratio"
    values = matrix.to_numpy(dtype=float)
    text = [[("" if pd.isna(v) else (f"{v:.0%}" if is_ratio else f"{v:.0f}")) for v in row] for row in values]
    labelled = len(matrix.columns) <= 16  # beyond that the numbers overlap; hover still shows them
    fig = go.Figure(go.Heatmap(
        z=values, x=[str(c) for c in matrix.columns], y=[str(r) for r in matrix.index], text=text,
        texttemplate="%{text}" if labelled else None, textfont={"size": 10},
        colorscale="Reds" if is_ratio else "Blues", zmin=0, zmax=1 if is_ratio else None,
        hovertemplate=f"{row_label} %{{y}}<br>{col_label} %{{x}}<br>%{{text}}<extra></extra>",
        colorbar={"tickformat": ".0%" if is_ratio else ",d", "thickness": 12},
    ))
    fig.update_yaxes(autorange="reversed", title_text=row_label)
    fig.update_xaxes(title_text=col_label, type="category")
    fig = _layout(fig, title, height=height or max(300, 24 * len(matrix.index) + 120))
    fig.update_layout(hovermode="closest")
    return fig


def topic_lines(trend: pd.DataFrame, group: str, title: str, value: str = "posts") -> go.Figure:
    """One line per group (topic/channel) over time buckets, from `metrics.trend` with group_by set."""
    fig = go.Figure()
    for name, part in trend.groupby(group, sort=False):
        fig.add_scatter(x=part["bucket"], y=part[value], mode="lines+markers", name=str(name),
                        marker={"size": 4})
    names = {"posts": "发帖量", "heat": "热度指数", "negative": "负面帖子", "negative_ratio": "负面占比"}
    fig.update_yaxes(title_text=names.get(value, value), rangemode="tozero")
    if value == "negative_ratio":
        fig.update_yaxes(tickformat=".0%", hoverformat=".1%")
    else:
        _count_axis(fig, float(trend[value].max()) if len(trend) else 0)
    _chinese_dates(fig, trend["bucket"])
    return _layout(fig, title)


def hourly_volume(hours: pd.DataFrame, title: str, events: pd.DataFrame | None = None) -> go.Figure:
    """Posts per hour (columns hour, posts, negative) with lifecycle events as dotted vertical markers."""
    fig = go.Figure()
    fig.add_bar(x=hours["hour"], y=hours["posts"] - hours["negative"], name="非负面", marker_color=NEUTRAL_GREY)
    fig.add_bar(x=hours["hour"], y=hours["negative"], name="负面", marker_color=NEGATIVE_RED)
    fig.update_layout(barmode="stack")
    top = float(hours["posts"].max()) if len(hours) else 1.0
    if events is not None and len(events):
        for number, row in enumerate(events.itertuples(), start=1):
            fig.add_vline(x=row.occurred_at, line_dash="dot", line_color="#555555", line_width=1)
            fig.add_annotation(x=row.occurred_at, y=top * (1.02 + 0.07 * (number % 3)), text=str(row.step),
                               showarrow=False, font={"size": 10}, xanchor="left")
    fig.update_yaxes(title_text="每小时发帖量")
    _count_axis(fig, top)
    _chinese_dates(fig, hours["hour"])
    return _layout(fig, title)


def cascade_bars(stats: pd.DataFrame, labels: list[str], title: str) -> go.Figure:
    """Size of the largest repost trees (bars) with their depth as text."""
    fig = go.Figure(go.Bar(x=stats["size"], y=labels, orientation="h", marker_color="#1f77b4",
                           text=[f"深度{d}" for d in stats["depth"]], textposition="outside"))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text="传播链规模（帖子数）")
    _count_axis(fig, float(stats["size"].max()) if len(stats) else 0, axis="x")
    return _layout(fig, title, height=max(240, 34 * len(labels) + 90))


# -- dashboard builders ----------------------------------------------------------------------------------
def heatmap_selectable(matrix: pd.DataFrame, measure: str, title: str, row_label: str = "",
                       col_label: str = "") -> go.Figure:
    """The heatmap drawn as square markers: Streamlit's selection events work on scatter traces but
    not on go.Heatmap (streamlit#8760), and a clicked cell must drill down to its posts."""
    is_ratio = measure == "negative_ratio"
    long = matrix.stack(future_stack=True).rename("value").reset_index()
    long.columns = ["row", "col", "value"]
    shown = long.dropna(subset=["value"])
    fig = go.Figure(go.Scatter(
        x=shown["col"].astype(str), y=shown["row"].astype(str), mode="markers",
        marker={"symbol": "square", "size": max(8, min(28, 600 // max(len(matrix.columns), 1))),
                "color": shown["value"], "colorscale": "Reds" if is_ratio else "Blues", "cmin": 0,
                "cmax": 1 if is_ratio else None, "showscale": True,
                "colorbar": {"tickformat": ".0%" if is_ratio else ",d", "thickness": 12}},
        customdata=shown[["row", "col"]].astype(str).to_numpy(),
        hovertemplate=(f"{row_label} %{{y}}<br>{col_label} %{{x}}<br>"
                       + ("%{marker.color:.1%}" if is_ratio else "%{marker.color:,.0f}") + "<extra></extra>"),
    ))
    fig.update_xaxes(type="category", title_text=col_label, categoryorder="array",
                     categoryarray=[str(c) for c in matrix.columns])
    fig.update_yaxes(type="category", title_text=row_label, categoryorder="array",
                     categoryarray=[str(r) for r in matrix.index][::-1])
    fig = _layout(fig, title, height=max(320, 30 * len(matrix.index) + 120))
    fig.update_layout(hovermode="closest", clickmode="event+select")
    return fig


def sentiment_pie(split: pd.DataFrame, title: str = "情感分布") -> go.Figure:
    colours = {"负面": NEGATIVE_RED, "正面": POSITIVE_GREEN, "中性": NEUTRAL_GREY}
    fig = go.Figure(go.Pie(labels=split["label"], values=split["posts"], hole=0.5, sort=False,
                           marker={"colors": [colours.get(label, NEUTRAL_GREY) for label in split["label"]]}))
    return _layout(fig, title, height=300)


def cascade_sunburst(tree: pd.DataFrame, title: str = "转发传播树") -> go.Figure:
    """A repost tree as a sunburst: rings are repost levels, wedge size is the subtree size."""
    labels = [f"{a or '匿名'}" for a in tree["author_id"]]
    fig = go.Figure(go.Sunburst(ids=tree["mid"], parents=tree["parent"], labels=labels,
                                values=tree["subtree_size"], branchvalues="total",
                                hovertemplate="%{label}<br>子树规模 %{value}<extra></extra>"))
    return _layout(fig, title, height=420)


def incident_gantt(incidents: pd.DataFrame, now: pd.Timestamp, colours: dict[str, str],
                   title: str = "事件时间线") -> go.Figure:
    """Incidents as bars from first seen to closed (or now, when still open), coloured by grade."""
    fig = go.Figure()
    for grade, part in incidents.groupby("grade", sort=False):
        ends = part["closed_at"].fillna(now)
        fig.add_bar(base=part["first_seen_at"], x=(ends - part["first_seen_at"]).dt.total_seconds() * 1000,
                    y=part["title"], orientation="h", name=str(grade), marker_color=colours.get(grade, NEUTRAL_GREY),
                    customdata=part[["incident_id", "status"]].to_numpy(),
                    hovertemplate="%{y}<br>%{customdata[0]} · %{customdata[1]}<extra></extra>")
    _chinese_dates(fig, incidents["first_seen_at"])
    fig.update_yaxes(autorange="reversed")
    fig = _layout(fig, title, height=max(260, 44 * len(incidents) + 100))
    fig.update_layout(barmode="overlay", hovermode="closest")
    return fig


def backtest_fires(fired: pd.DataFrame, title: str) -> go.Figure:
    """Where a rule would have fired: one marker per alert, by subject, over time."""
    fig = go.Figure()
    if len(fired):
        fig.add_scatter(x=fired["fired_at"], y=fired["subject"].astype(str), mode="markers",
                        marker={"symbol": "triangle-down", "size": 12, "color": NEGATIVE_RED},
                        customdata=fired["message"],
                        hovertemplate="%{x|%-m月%-d日 %H:%M}<br>%{customdata}<extra></extra>")
    fig.update_yaxes(type="category")
    _chinese_dates(fig, fired["fired_at"] if len(fired) else [])
    fig = _layout(fig, title, height=260)
    fig.update_layout(hovermode="closest")
    return fig


def opinion_bars(viewpoints: pd.DataFrame, title: str = "网民主要观点") -> go.Figure:
    """One bar per viewpoint (opinions.Opinions.frame()): its share, split into negative and other posts."""
    ordered = viewpoints.iloc[::-1]
    negative = ordered["share_pct"] * ordered["negative_ratio"]
    fig = go.Figure()
    fig.add_bar(y=ordered["viewpoint"], x=negative, name="负面", orientation="h", marker_color=NEGATIVE_RED,
                customdata=ordered[["posts", "negative_ratio"]].to_numpy(),
                hovertemplate="%{y}<br>%{customdata[0]}条，负面占比 %{customdata[1]:.1%}<extra></extra>")
    fig.add_bar(y=ordered["viewpoint"], x=ordered["share_pct"] - negative, name="非负面", orientation="h",
                marker_color=NEUTRAL_GREY, text=[f"{v:.1f}%" for v in ordered["share_pct"]], textposition="outside",
                hoverinfo="skip")
    fig.update_layout(barmode="stack", hovermode="closest")
    fig.update_xaxes(title_text="占比（%）", range=[0, max(100.0, float(ordered["share_pct"].max() or 0) + 8)]
                     if len(ordered) else [0, 100])
    return _layout(fig, title, height=max(240, 34 * len(ordered) + 90))
