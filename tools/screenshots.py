"""Screenshots of every page at 1280×800 for the README: starts the dashboard on a database, visits each page.

Usage: .venv/bin/python tools/screenshots.py [--db data/opinion.duckdb] [--out docs/screenshots] [--full] [PAGE …]
(PAGE: a page of PAGES or a section of SECTIONS, e.g. topic-opinions; all of them by default.)
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parent.parent
PAGES = {"overview": "", "incidents": "incidents", "heatmap": "heatmap", "topic": "topic", "alerts": "alerts",
         "import": "import", "briefing": "briefing", "corrections": "corrections", "settings": "settings",
         "schemes": "schemes"}
# Sections further down a page: (page, the heading scrolled to the top of the window).
SECTIONS = {"topic-wordcloud": ("topic", "词云与高频词"), "topic-opinions": ("topic", "网民主要观点"),
            "topic-media": ("topic", "媒体报道与意见领袖")}
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def settle(page, quiet_checks: int = 4) -> None:
    """Wait until Streamlit has been idle for a while: `/` runs twice (it opens /overview), a cold page longer."""
    idle = 0
    for _ in range(240):
        busy = page.evaluate("!!document.querySelector('[data-testid=\"stStatusWidget\"], "
                             "[data-testid=\"stSkeleton\"]')")
        idle = 0 if busy else idle + 1
        if idle >= quiet_checks:
            break
        page.wait_for_timeout(500)
    page.wait_for_timeout(1000)  # charts finish drawing


def optimise(png: Path) -> None:
    """Shrink a screenshot for the repository (about a third of its size) when Debian's pngquant and optipng are
    installed (apt-get install pngquant optipng); otherwise it is kept as taken."""
    if shutil.which("pngquant"):
        subprocess.run(["pngquant", "--quality=80-98", "--speed", "1", "--strip", "--force", "--output", str(png),
                        str(png)], check=False)
    if shutil.which("optipng"):
        subprocess.run(["optipng", "-quiet", "-o3", str(png)], check=False)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default=str(REPO / "data" / "opinion.duckdb"))
    parser.add_argument("--out", default=str(REPO / "docs" / "screenshots"))
    parser.add_argument("--full", action="store_true", help="whole page instead of the 1280×800 viewport")
    parser.add_argument("pages", nargs="*", default=[*PAGES, *SECTIONS], help="pages and sections (topic-…)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                               "--server.address", "127.0.0.1"], cwd=REPO, env={**os.environ, "OPINION_DB": args.db},
                              stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(180):
            try:
                urllib.request.urlopen(f"{base}/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
            for name in args.pages:
                path, heading = SECTIONS.get(name, (name, None))
                page.goto(f"{base}/{PAGES[path]}")
                page.wait_for_selector("[data-testid='stMain'] h1", timeout=60_000)
                settle(page)
                if heading:  # the page scrolls inside Streamlit's main container; keep the heading below its bar
                    page.locator("[data-testid='stMain'] h3", has_text=heading).first.evaluate(
                        "h => { h.scrollIntoView({block: 'start'}); "
                        "document.querySelector('[data-testid=\"stMain\"]').scrollBy(0, -70); }")
                    settle(page)
                elif args.full:  # the page scrolls inside Streamlit's main container, not the document
                    height = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
                    page.set_viewport_size({"width": 1280, "height": max(800, int(height))})
                    settle(page)
                page.screenshot(path=str(out / f"{name}.png"))
                optimise(out / f"{name}.png")
                page.set_viewport_size({"width": 1280, "height": 800})
                print(out / f"{name}.png")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
