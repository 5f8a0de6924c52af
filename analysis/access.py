"""Who may do what: roles, their pages and actions, and the local password file for offices without an IdP.

Access control is off for the local demo (no users file) and on as soon as a users file exists
(`data/users.toml`, or $OPINION_USERS). Where an identity provider exists, Streamlit's own `st.login`
(OIDC, configured in .streamlit/secrets.toml [auth]) signs people in and the users file maps their
e-mail to a role; otherwise the file holds PBKDF2-SHA256 password hashes (Python's hashlib, 600,000
iterations, per-user salt, constant-time comparison) — no third-party crypto to keep up to date.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path

from analysis.config import REPO_ROOT

USERS_ENV_VAR = "OPINION_USERS"
DEFAULT_USERS_PATH = REPO_ROOT / "data" / "users.toml"
ITERATIONS = 600_000

LEADER, ANALYST, ADMIN = "领导", "分析员", "管理员"
ROLES = (LEADER, ANALYST, ADMIN)
# Each role sees its own pages plus those of the roles before it.
ROLE_PAGES: dict[str, tuple[str, ...]] = {
    LEADER: ("overview", "incidents", "briefing"),
    ANALYST: ("heatmap", "topic", "alerts", "schemes", "corrections", "import"),
    ADMIN: ("settings",),
}
# Actions inside pages (buttons and forms), by the least role that may perform them.
ACTIONS: dict[str, str] = {
    "incident_event": ANALYST, "grade_override": ANALYST, "alert_state": ANALYST, "sentiment_correction": ANALYST,
    "import": ANALYST, "scheme_edit": ANALYST, "rule_edit": ADMIN, "settings_edit": ADMIN,
}


@dataclass(frozen=True)
class User:
    login: str
    name: str
    role: str


def users_path() -> Path:
    return Path(os.environ.get(USERS_ENV_VAR) or DEFAULT_USERS_PATH)


def enabled() -> bool:
    """Access control is on when a users file exists."""
    return users_path().is_file()


def _rank(role: str) -> int:
    return ROLES.index(role)


def pages_for(role: str | None) -> list[str]:
    """Page keys a role may open; everything when access control is off (role None)."""
    allowed = [ROLES[i] for i in range(len(ROLES)) if role is None or i <= _rank(role)]
    return [page for r in allowed for page in ROLE_PAGES[r]]


def can(role: str | None, action: str) -> bool:
    return role is None or _rank(role) >= _rank(ACTIONS[action])


def hash_password(password: str, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), ITERATIONS).hex()
    return f"pbkdf2_sha256${ITERATIONS}${salt}${digest}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, iterations, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "pbkdf2_sha256":
        return False
    candidate = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), int(iterations)).hex()
    return hmac.compare_digest(candidate, digest)


def load_users(path: Path | None = None) -> dict[str, dict]:
    """{login: {name, role, password_hash?, email?}}; a bad file fails with a message naming the entry."""
    path = path or users_path()
    with path.open("rb") as fh:
        users = tomllib.load(fh).get("users", {})
    for login, entry in users.items():
        if entry.get("role") not in ROLES:
            raise ValueError(f"用户文件 {path} 中“{login}”的角色无效（可选：{'、'.join(ROLES)}）")
    return users


def authenticate(login: str, password: str, path: Path | None = None) -> User | None:
    entry = load_users(path).get(login.strip())
    if entry is None or "password_hash" not in entry or not verify_password(password, entry["password_hash"]):
        return None
    return User(login.strip(), entry.get("name", login), entry["role"])


def user_for_email(email: str, path: Path | None = None) -> User | None:
    """Map an identity-provider sign-in to a role through the users file."""
    for login, entry in load_users(path).items():
        if entry.get("email", "").lower() == email.lower():
            return User(login, entry.get("name", login), entry["role"])
    return None


def add_user(login: str, name: str, role: str, password: str, path: Path | None = None) -> None:
    """Append or replace one user in the TOML file (written by hand-rolled TOML: no writer dependency)."""
    if role not in ROLES:
        raise ValueError(f"角色无效：{role}（可选：{'、'.join(ROLES)}）")
    if not login.replace("_", "").replace("-", "").isalnum():
        raise ValueError("登录名只能包含字母、数字、下划线和连字符")
    if len(password) < 8:
        raise ValueError("密码至少8位")
    path = path or users_path()
    users = load_users(path) if path.is_file() else {}
    users[login] = {"name": name, "role": role, "password_hash": hash_password(password),
                    **({"email": users[login]["email"]} if "email" in users.get(login, {}) else {})}
    lines = []
    for user_login, entry in users.items():
        lines.append(f"[users.{user_login}]")
        lines += [f"{key} = {_toml_string(value)}" for key, value in entry.items()]
        lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def _toml_string(value: str) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def cli_users(argv: list[str]) -> int:
    """`users add LOGIN --name 张三 --role 分析员` (password asked twice) | `users list`."""
    import argparse
    import getpass
    import sys

    parser = argparse.ArgumentParser(prog="python -m analysis users", description="Manage dashboard users.")
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add")
    add.add_argument("login")
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin (scripts)")
    sub.add_parser("list")
    args = parser.parse_args(argv)
    if args.action == "list":
        for login, entry in (load_users() if enabled() else {}).items():
            print(f"{login}\t{entry.get('name', '')}\t{entry['role']}")
        return 0
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("密码：")
        if getpass.getpass("再次输入：") != password:
            print("两次输入的密码不一致", file=sys.stderr)
            return 1
    try:
        add_user(args.login, args.name, args.role, password)
    except ValueError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    print(f"{args.login}（{args.role}）已写入 {users_path()}")
    return 0
