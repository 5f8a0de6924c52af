"""词云: the Chinese font is found, words never overlap, the same terms give the same image, a missing font is said."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from analysis import wordcloud
from tests.conftest import shared_file


@pytest.fixture(scope="module")
def terms() -> pd.DataFrame:
    """Keywords of 600 real Weibo posts and reviews, with the share of negative posts containing each."""
    dev = pd.read_csv(shared_file("sentiment_dev.csv.gz")).sample(600, random_state=5)
    posts = pd.DataFrame({"text_norm": dev["text"], "sentiment_label": np.where(dev["label"] == 0, "负面", "正面")})
    return wordcloud.terms_of_posts(posts)


def test_the_simplified_chinese_face_of_noto_cjk_is_found():
    from PIL import ImageFont

    path, index = wordcloud.find_font()
    assert "SC" in ImageFont.truetype(path, 20, index=index).getname()[0]


def test_terms_count_posts_and_their_negative_share(terms):
    assert len(terms) == wordcloud.MAX_WORDS and terms["posts"].is_monotonic_decreasing
    assert terms["negative_ratio"].between(0, 1).all() and terms["keyword"].str.len().ge(2).all()
    hotel = terms.set_index("keyword")
    assert "酒店" in hotel.index and hotel.loc["酒店", "posts"] >= 10


def test_words_do_not_overlap_stay_inside_and_the_layout_is_deterministic(terms):
    placed = wordcloud.layout(terms)
    assert placed == wordcloud.layout(terms)
    assert len(placed) >= 0.8 * len(terms) and placed[0].word == terms["keyword"].iloc[0]
    assert placed[0].size == max(p.size for p in placed) == wordcloud.SIZES[1]
    boxes = []
    for p in placed:
        left, top, right, bottom = wordcloud._font(p.size).getbbox(p.word)
        box = (p.x + left, p.y + top, p.x + right, p.y + bottom)
        assert box[0] >= 0 and box[1] >= 0 and box[2] <= wordcloud.WIDTH and box[3] <= wordcloud.HEIGHT
        boxes.append(box)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)


def test_png_is_drawn_with_the_colours_of_negativity(terms):
    png = wordcloud.render_png(terms)
    assert png == wordcloud.render_png(terms)
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert image.shape == (wordcloud.HEIGHT * 2, wordcloud.WIDTH * 2, 3)
    assert (image < 250).any(axis=2).mean() > 0.05   # ink, not a blank canvas
    red = (image[..., 0] > 180) & (image[..., 1] < 90) & (image[..., 2] < 90)
    assert red.any() == (terms.head(len(wordcloud.layout(terms)))["negative_ratio"] >= 0.5).any()
    fig = wordcloud.figure(terms)
    assert fig.layout.images[0].source.startswith("data:image/png;base64,")


def test_without_a_chinese_font_there_is_no_image_and_a_clear_message(terms, monkeypatch):
    wordcloud.find_font.cache_clear()
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setenv(wordcloud.FONT_ENV_VAR, "/nonexistent/font.ttc")
    monkeypatch.setattr(wordcloud, "FONT_CANDIDATES", ())
    try:
        assert wordcloud.find_font() is None
        assert wordcloud.layout(terms) == [] and wordcloud.figure(terms) is None
        assert "fonts-noto-cjk" in wordcloud.NO_FONT_ZH
    finally:
        wordcloud.find_font.cache_clear()


def test_topic_page_shows_the_cloud_and_the_sortable_term_table(app_db):
    import dataclasses

    from analysis import settings
    from analysis.store import Store
    from tests.test_pages import latest_filters, run_app

    scoped = dataclasses.replace(latest_filters(app_db), topics=("食品药品",))
    with Store(app_db) as store:
        expected = wordcloud.filter_terms(store, scoped, settings.keyword_stop_words(store))  # the office's stop list
    at = run_app("topic.py", t="食品药品")
    assert "词云与高频词" in [h.value for h in at.subheader]
    table = next(d.value for d in at.dataframe if "keyword" in d.value.columns)
    pd.testing.assert_frame_equal(table.reset_index(drop=True), expected)
    assert any(wordcloud.COLOURS_ZH == c.value for c in at.caption)
