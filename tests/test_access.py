"""Access control: password hashing, roles → pages and actions, and AppTest sign-in for each role."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from analysis import access
from tests.conftest import REPO_ROOT

APP = str(REPO_ROOT / "app.py")
PASSWORD = "正确的密码-2026"


def test_password_hashes_verify_and_differ_by_salt():
    first, second = access.hash_password(PASSWORD), access.hash_password(PASSWORD)
    assert first != second and first.startswith("pbkdf2_sha256$600000$")
    assert access.verify_password(PASSWORD, first) and not access.verify_password("wrong", first)
    assert not access.verify_password(PASSWORD, "md5$1$x$y") and not access.verify_password(PASSWORD, "garbage")


def test_roles_grant_pages_and_actions_cumulatively():
    assert access.pages_for("领导") == ["overview", "incidents", "briefing"]
    assert "heatmap" in access.pages_for("分析员") and "settings" not in access.pages_for("分析员")
    assert "settings" in access.pages_for("管理员") and len(access.pages_for(None)) == 10
    assert not access.can("领导", "incident_event") and access.can("分析员", "incident_event")
    assert not access.can("分析员", "rule_edit") and access.can("管理员", "rule_edit") and access.can(None, "rule_edit")


@pytest.fixture()
def users_file(tmp_path, monkeypatch):
    path = tmp_path / "users.toml"
    monkeypatch.setenv(access.USERS_ENV_VAR, str(path))
    people = (("leader", "王局长", "领导"), ("analyst", "李分析", "分析员"), ("admin", "赵管理", "管理员"))
    for login, name, role in people:
        access.add_user(login, name, role, PASSWORD, path)
    return path


def test_users_file_is_private_and_validated(users_file):
    assert stat.S_IMODE(users_file.stat().st_mode) == 0o600
    assert access.authenticate("analyst", PASSWORD).role == "分析员"
    assert access.authenticate("analyst", "nope") is None and access.authenticate("ghost", PASSWORD) is None
    with pytest.raises(ValueError, match="密码至少8位"):
        access.add_user("x", "x", "分析员", "short", users_file)
    users_file.write_text(users_file.read_text().replace('role = "领导"', 'role = "皇帝"'), encoding="utf-8")
    with pytest.raises(ValueError, match="角色无效"):
        access.load_users(users_file)


def test_cli_adds_a_user_from_stdin(tmp_path):
    path = tmp_path / "cli-users.toml"
    result = subprocess.run([sys.executable, "-m", "analysis", "users", "add", "zhang", "--name", "张三", "--role",
                             "分析员", "--password-stdin"], input=PASSWORD + "\n", capture_output=True, text=True,
                            cwd=REPO_ROOT, env={"OPINION_USERS": str(path), "PATH": "/usr/bin:/bin"}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert access.authenticate("zhang", PASSWORD, path).name == "张三"


@pytest.fixture()
def secured_app(demo_db, users_file, tmp_path, monkeypatch):
    db = tmp_path / "secured.duckdb"
    shutil.copy(demo_db, db)
    monkeypatch.setenv("OPINION_DB", str(db))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def signed_in(login: str, password: str = PASSWORD) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert [t.label for t in at.text_input] == ["用户名", "密码"]  # nothing but the sign-in form
    assert not at.metric
    at.text_input[0].set_value(login)
    at.text_input[1].set_value(password)
    at.button[0].click()
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_wrong_password_is_refused(secured_app):
    at = signed_in("leader", "wrong password")
    assert any("用户名或密码错误" in e.value for e in at.error)
    assert not at.metric


def test_leader_sees_overview_timeline_and_briefings_only(secured_app):
    at = signed_in("leader")
    assert at.title[0].value == "舆情总览" and at.metric
    at.switch_page(str(REPO_ROOT / "views" / "incidents.py")).run()
    assert not at.exception and "记录" not in [b.label for b in at.button]  # leaders read, they do not act
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(str(REPO_ROOT / "views" / "heatmap.py"))


def test_analyst_acts_on_incidents_but_cannot_open_settings(secured_app):
    at = signed_in("analyst")
    at.switch_page(str(REPO_ROOT / "views" / "incidents.py")).run()
    assert "记录" in [b.label for b in at.button]
    at.switch_page(str(REPO_ROOT / "views" / "heatmap.py")).run()
    assert not at.exception
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(str(REPO_ROOT / "views" / "settings.py"))


def test_admin_reaches_settings_and_is_the_actor(secured_app):
    at = signed_in("admin")
    at.switch_page(str(REPO_ROOT / "views" / "settings.py")).run()
    assert not at.exception and at.title[0].value == "设置"
    assert any("赵管理" in c.value for c in at.sidebar.caption)
