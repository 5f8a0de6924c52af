"""Every deep link runs app.py first: with access control on, no page (at its own address, with its query, or by
the name of its file) shows anything before sign-in, and after sign-in the link opens its page.

The first request of the fresh server is a deep link on purpose. Re-checked with Streamlit 1.67: with the pages in
a `pages/` folder, until some session has called st.navigation, `/settings` ran pages/settings.py bare, without
app.py and so without sign-in (and the sign-in screen listed the folder's files): the pages stay in views/.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from analysis import access
from tests.conftest import REPO_ROOT, running_dashboard
from tests.e2e.test_surface import app_pages

PASSWORD = "deep-link-test-1"
SIGN_IN = "舆情态势监测 · 登录"


@pytest.fixture(scope="module")
def guarded(demo_db, tmp_path_factory):
    folder = tmp_path_factory.mktemp("guarded")
    db, users = folder / "guarded.duckdb", folder / "users.toml"
    shutil.copy(demo_db, db)
    access.add_user("chief", "主任", access.ADMIN, PASSWORD, path=users)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(access.USERS_ENV_VAR, str(users))
        with running_dashboard(db) as url:
            yield url


def links() -> list[str]:
    """A deep link first (the fresh server's first request), then every page at its address, with a query, by
    its file's name."""
    files = sorted({Path(path).stem for path in page_files()})
    return ["settings?channel=微博", "", *(key for key, _ in app_pages()), "incidents?incident=INC-1&from=2026-01-01",
            "heatmap?kind=topic_day&row=x", *files]


def page_files() -> list[str]:
    tree = ast.parse((REPO_ROOT / "app.py").read_text(encoding="utf-8"))
    table = next(node.value for node in tree.body if isinstance(node, ast.Assign)
                 and any(getattr(t, "id", None) == "PAGES" for t in node.targets))
    return [path for _, _, path, _, _ in ast.literal_eval(table)]


def first_heading(page) -> str:
    page.wait_for_selector("[data-testid='stMain'] h1", timeout=60_000)
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
    page.wait_for_timeout(500)
    return page.locator("[data-testid='stMain'] h1").first.inner_text()


@pytest.mark.parametrize("link", links())
def test_no_deep_link_skips_sign_in(guarded, page, link):
    page.goto(f"{guarded}/{link}")
    assert first_heading(page) == SIGN_IN, link
    sidebar = page.locator("[data-testid='stSidebar']")
    assert sidebar.count() == 0, (link, sidebar.first.inner_text())  # no list of page files, no sidebar
    assert page.locator("[data-testid='stMain'] h1").count() == 1, link  # and before any page drew


def test_after_sign_in_a_deep_link_opens_its_page_with_its_query(guarded, page):
    page.goto(f"{guarded}/settings?channel=微博")
    assert first_heading(page) == SIGN_IN
    page.get_by_label("用户名").fill("chief")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    assert first_heading(page) == "设置"
    assert page.url.split("?")[0].endswith("/settings") and "channel=" in page.url
    assert page.locator("[data-testid='stSidebar']").count() == 1  # through app.py: the shared sidebar is there
