"""Shared fixtures: the real shared data, temporary databases, and one demo database per test session."""

from __future__ import annotations

import os
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
