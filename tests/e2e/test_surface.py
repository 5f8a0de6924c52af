"""What a Chinese office sees at 1280×800: every page at its own address, in Chinese, with nothing broken showing."""

from __future__ import annotations

import ast
import re

from tests.conftest import REPO_ROOT

ENGLISH_DATES = re.compile(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|January|February|March|April|June|"
                           r"July|August|September|October|November|December|Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b")
MISSING = re.compile(r"(?<![A-Za-z])(nan|NaN|None|NaT|null|undefined)(?![A-Za-z])")


def app_pages() -> list[tuple[str, str]]:
    """(url path, title) of every page, read from app.py's PAGES table so a page added there is visited here."""
    tree = ast.parse((REPO_ROOT / "app.py").read_text(encoding="utf-8"))
    table = next(node.value for node in tree.body if isinstance(node, ast.Assign)
                 and any(getattr(t, "id", None) == "PAGES" for t in node.targets))
    return [(key, title) for _, key, _, title, _ in ast.literal_eval(table)]


def settled(page) -> None:
    page.wait_for_selector("[data-testid='stMain'] h1", timeout=60_000)
    page.wait_for_timeout(800)
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
    # every chart drawn (its SVG present) before its text is read
    page.wait_for_function("[...document.querySelectorAll('[data-testid=\"stPlotlyChart\"]')]"
                           ".every(c => c.querySelector('.main-svg'))", timeout=60_000)


def shown_text(page) -> tuple[str, list[str]]:
    """The page's visible text (tables' cells included) and the text drawn on its charts."""
    text = page.locator("body").inner_text()
    cells = page.evaluate("[...document.querySelectorAll(\"[data-testid='stDataFrame'] td\")]"
                          ".map(c => c.textContent)")
    chart_text = page.evaluate("[...document.querySelectorAll('.js-plotly-plot text')].map(t => t.textContent)")
    return text + "\n" + "\n".join(cells), chart_text


def test_root_opens_the_overview_at_its_own_address_with_the_filters(server, page):
    page.goto(f"{server['url']}/?channel=12345热线")
    settled(page)
    assert re.search(r"/overview\?", page.url) and "channel=" in page.url
    assert page.locator("h1").first.inner_text() == "舆情总览"


def test_every_page_at_its_own_url_is_clean_chinese(server, page):
    pages = app_pages()
    assert len(pages) == 10  # with 研判 → 监测方案
    for path, title in pages:
        page.goto(f"{server['url']}/{path}")
        settled(page)
        where = f"/{path}"
        assert page.url.split("?")[0].endswith(where), (where, page.url)  # not sent elsewhere
        text, chart_text = shown_text(page)
        assert "Page not found" not in text and "页面不存在" not in text, where
        assert page.locator("[data-testid='stException']").count() == 0, where
        assert page.locator("[data-testid='stAppDeployButton']").count() == 0 and "Deploy" not in text, where
        assert page.title() == f"{title} · 舆情态势监测", where
        english = [t for t in chart_text if ENGLISH_DATES.search(t)]
        assert not english, (where, english)
        missing = sorted({m.group(0) for m in MISSING.finditer(text)})
        assert not missing, (where, missing, [line for line in text.splitlines() if MISSING.search(line)][:5])
