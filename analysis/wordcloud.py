"""词云: the filtered posts' keywords laid out by weight with a Chinese font, as a PNG inside a Plotly figure.

Our own layout (no `wordcloud` package: it pulls in matplotlib): words largest first, each placed at the
first free spot on an Archimedean spiral from the centre, checked against an occupancy mask with the text's
exact box in the font. Deterministic. The font is the system's Noto Sans CJK SC (Debian fonts-noto-cjk),
found through fc-match or the known Debian paths, or OPINION_CJK_FONT; without it there is no image, and
the caller says why (the term table still lists every word).
"""

from __future__ import annotations

import base64
import io
import math
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis import charts, explore, topics
from analysis.filters import Filters
from analysis.store import Store

FONT_ENV_VAR = "OPINION_CJK_FONT"
FONT_FAMILY = "Noto Sans CJK SC"
FONT_CANDIDATES = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                   "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
                   "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc")
COLOURS_ZH = "红色：含该词的帖子负面占比≥50%；灰色：20%–50%；蓝色：低于20%。字号随含该词的帖子数增大。"
NO_FONT_ZH = ("未找到中文字体（请安装 Debian 软件包 fonts-noto-cjk，或设置环境变量 OPINION_CJK_FONT），"
              "词云未生成；词表见下。")
WIDTH, HEIGHT = 900, 420
MAX_WORDS = 80
SIZES = (14, 64)             # font pixels of the lightest and the heaviest word
STEP = 4                     # the occupancy mask's cell (pixels)


@dataclass(frozen=True)
class Placed:
    word: str
    x: int
    y: int
    size: int
    colour: str


@lru_cache(maxsize=1)
def find_font() -> tuple[str, int] | None:
    """(path, face index) of a Simplified-Chinese CJK font, or None."""
    from PIL import ImageFont

    candidates = [os.environ.get(FONT_ENV_VAR, "")]
    if shutil.which("fc-match"):
        try:
            found = subprocess.run(["fc-match", "-f", "%{file}", f"{FONT_FAMILY}:lang=zh-cn"], capture_output=True,
                                   text=True, timeout=10).stdout.strip()
            candidates.append(found)
        except (OSError, subprocess.SubprocessError):
            pass
    candidates.extend(FONT_CANDIDATES)
    for path in filter(None, candidates):
        if not Path(path).is_file():
            continue
        for index in range(6):  # a .ttc holds JP, KR, SC, TC, HK faces: pick SC, else any face with Chinese
            try:
                font = ImageFont.truetype(path, 20, index=index)
            except OSError:
                break
            if "SC" in font.getname()[0] or path.lower().endswith((".ttf", ".otf")) and font.getbbox("中")[2] > 0:
                return path, index
    return None


@lru_cache(maxsize=256)
def _font(size: int):
    from PIL import ImageFont

    path, index = find_font()
    return ImageFont.truetype(path, size, index=index)


def terms_of_posts(posts: pd.DataFrame, k: int = MAX_WORDS, stop_words: Sequence[str] = ()) -> pd.DataFrame:
    """keyword, posts (containing it), negative_ratio for a set of posts (an incident's), most frequent first;
    the office's stop words (setting keyword_stop_words) left out."""
    words = topics.extract_keywords(posts["text_norm"].fillna("").tolist())
    exploded = pd.DataFrame({"keyword": words, "negative": posts["sentiment_label"].eq("负面").to_numpy()})
    exploded = exploded.explode("keyword").dropna(subset=["keyword"])
    exploded = exploded[~exploded["keyword"].isin([*stop_words, *topics.NOT_WORDS])]
    if exploded.empty:
        return pd.DataFrame({"keyword": pd.Series(dtype=str), "posts": pd.Series(dtype="int64"),
                             "negative_ratio": pd.Series(dtype=float)})
    table = exploded.groupby("keyword", as_index=False).agg(posts=("negative", "size"),
                                                           negative_ratio=("negative", "mean"))
    return table.sort_values(["posts", "keyword"], ascending=[False, True], ignore_index=True).head(k)


def filter_terms(store: Store, f: Filters, stop_words: Sequence[str] = (), k: int = MAX_WORDS) -> pd.DataFrame:
    """The filtered posts' most frequent stored keywords (explore.top_keywords), for the cloud and its table."""
    return explore.top_keywords(store, f, k, stop_words)


def incident_terms(store: Store, incident_id: str, stop_words: Sequence[str] = (), k: int = MAX_WORDS) -> pd.DataFrame:
    """terms_of_posts() of an incident's posts."""
    from analysis import incidents

    return terms_of_posts(incidents.incident_posts(store, incident_id), k, stop_words)


def _colour(negative_ratio: float) -> str:
    return charts.NEGATIVE_RED if negative_ratio >= 0.5 else ("#1f4e79" if negative_ratio < 0.2 else "#6b6b6b")


def layout(terms: pd.DataFrame, width: int = WIDTH, height: int = HEIGHT) -> list[Placed]:
    """Place up to MAX_WORDS words (columns keyword, posts, negative_ratio); words that do not fit are left out."""
    if find_font() is None or terms.empty:
        return []
    top = terms.head(MAX_WORDS)
    heaviest, lightest = float(top["posts"].max()), float(top["posts"].min())
    grid = np.zeros((height // STEP + 1, width // STEP + 1), dtype=bool)
    placed: list[Placed] = []
    for row in top.itertuples():
        share = 0.0 if heaviest == lightest else (math.sqrt(row.posts) - math.sqrt(lightest)) / (
            math.sqrt(heaviest) - math.sqrt(lightest))
        size = int(round(SIZES[0] + share * (SIZES[1] - SIZES[0])))
        left, top_, right, bottom = _font(size).getbbox(row.keyword)
        w, h = right - left + 4, bottom - top_ + 4
        spot = _free_spot(grid, w, h, width, height)
        if spot is None:
            continue
        x, y = spot
        grid[y // STEP:(y + h) // STEP + 1, x // STEP:(x + w) // STEP + 1] = True
        placed.append(Placed(row.keyword, x - left + 2, y - top_ + 2, size, _colour(row.negative_ratio)))
    return placed


def _free_spot(grid: np.ndarray, w: int, h: int, width: int, height: int) -> tuple[int, int] | None:
    cx, cy = (width - w) / 2, (height - h) / 2
    for i in range(4000):
        angle = 0.35 * i
        radius = 2.2 * angle
        x, y = int(cx + radius * math.cos(angle) * width / height), int(cy + radius * math.sin(angle))
        if x < 0 or y < 0 or x + w > width or y + h > height:
            if radius > width:
                return None
            continue
        if not grid[y // STEP:(y + h) // STEP + 1, x // STEP:(x + w) // STEP + 1].any():
            return x, y
    return None


def render_png(terms: pd.DataFrame, width: int = WIDTH, height: int = HEIGHT, scale: int = 2) -> bytes | None:
    """The word cloud as PNG bytes (drawn at `scale` for sharp print), or None without a font or words."""
    from PIL import Image, ImageDraw

    placed = layout(terms, width, height)
    if not placed:
        return None
    image = Image.new("RGB", (width * scale, height * scale), "white")
    draw = ImageDraw.Draw(image)
    for p in placed:
        draw.text((p.x * scale, p.y * scale), p.word, fill=p.colour, font=_font(p.size * scale))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def figure(terms: pd.DataFrame, title: str = "词云") -> go.Figure | None:
    """The PNG inside a Plotly figure, so the page and the briefings (kaleido) show the same image."""
    png = render_png(terms)
    if png is None:
        return None
    fig = go.Figure()
    fig.add_layout_image(source="data:image/png;base64," + base64.b64encode(png).decode("ascii"), xref="paper",
                         yref="paper", x=0, y=1, sizex=1, sizey=1, xanchor="left", yanchor="top",
                         sizing="contain", layer="below")
    fig.update_xaxes(visible=False, range=[0, 1])
    fig.update_yaxes(visible=False, range=[0, 1])
    fig = charts._layout(fig, title, height=HEIGHT + 60)
    fig.update_layout(hovermode=False, showlegend=False)
    return fig
