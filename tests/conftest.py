"""Shared fixtures: the real shared data, temporary databases, and one demo database per test session."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("OPINION_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def shared_file(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.fail(f"shared data file missing: {path} (set OPINION_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def real_posts() -> pd.DataFrame:
    """400 real Weibo posts and reviews (fixed sample) from the shared dev set."""
    dev = pd.read_csv(shared_file("sentiment_dev.csv.gz"))
    return dev.sample(n=400, random_state=11).reset_index(drop=True)


@pytest.fixture()
def db_path(tmp_path) -> Path:
    return tmp_path / "opinion.duckdb"


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> Path:
    """The demo database built once through the real CLI path (generate, score, store)."""
    from analysis.__main__ import main

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    assert main(["demo", "--db", str(path)]) == 0
    return path


@pytest.fixture()
def app_db(demo_db, tmp_path, monkeypatch):
    """A private copy of the demo database, opened by the app under test (Streamlit caches cleared)."""
    import streamlit as st

    path = tmp_path / "app.duckdb"
    shutil.copy(demo_db, path)
    monkeypatch.setenv("OPINION_DB", str(path))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield path
    st.cache_data.clear()
    st.cache_resource.clear()


# -- a real dashboard server and a real browser (Debian's Chromium) ---------------------------------------
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_dashboard(db: Path):
    """`streamlit run app.py` on `db` on a free port; yields the base URL."""
    port = _free_port()
    env = {**os.environ, "OPINION_DB": str(db)}
    log_path = db.parent / f"server-{port}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.headless",
             "true", "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            process.kill()
            pytest.fail("dashboard server did not start: " + log_path.read_text()[-2000:])
        try:
            yield url
        finally:
            process.terminate()
            process.wait(timeout=30)


@pytest.fixture(scope="session")
def server(demo_db, tmp_path_factory):
    """The dashboard on a copy of the demo database; `rumour` is the id of the incident still being handled
    (the demo is dated relative to today, and so are its incident ids)."""
    from analysis.store import Store

    db = tmp_path_factory.mktemp("e2e") / "e2e.duckdb"
    shutil.copy(demo_db, db)
    with Store(db, read_only=True) as store:
        rumour = store.scalar("SELECT incident_id FROM incidents WHERE title LIKE '%谣言%'")
    with running_dashboard(db) as url:
        yield {"url": url, "db": db, "rumour": rumour}


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}: install Debian's chromium (see README) to run browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture(scope="session")
def demo_lake(demo_db, tmp_path_factory) -> Path:
    """The demo database exported as the day-partitioned Parquet lake, through the real CLI."""
    from analysis.__main__ import main

    lake = tmp_path_factory.mktemp("lake") / "posts"
    assert main(["export-parquet", str(lake), "--db", str(demo_db)]) == 0
    return lake


@pytest.fixture(scope="session")
def spark_session():
    """One local Spark session (2 cores) for the whole test run: it takes 5–8 s and ~0.6 GB to start."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java runtime: install openjdk-17-jre-headless (.ci/run does, as root) to run the Spark tests")
    from analysis import spark as spark_backend

    session = spark_backend.session("local[2]", "opinion-tests")
    yield session
    session.stop()
